"""The shopify-sync-orders flow against the sandbox and a real Prefect server, on SQLite and
PostgreSQL: complete, idempotent, incremental, resilient, and failing cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from ledger.models import JournalEntry, RecordError, SalesOrder, SyncRun
from ledger.reports import trial_balance, unbalanced_entries
from tests.conftest import make_shopify_integration
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")
ALL = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}


def run_flow(**params):
    from flows.shopify import sync_orders

    return sync_orders(**params)


def count(engine, model, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def assert_books_balance(engine):
    with engine.connect() as conn:
        assert trial_balance(conn)["balanced"]
        assert unbalanced_entries(conn) == []


def test_sync_loads_every_order_once_with_balanced_books(ledger_engine, sandbox):
    iid = make_shopify_integration(ledger_engine, sandbox.url)
    run = run_flow(integration_id=iid, date_range=ALL, batch_size=120)
    assert run["status"] == "completed"
    assert run["counters"] == {"ordersProcessed": 300, "ordersCreated": 300,
                               "ordersUpdated": 0, "ordersFailed": 0}
    assert run["records_to_process"] == 300
    assert count(ledger_engine, SalesOrder) == 300
    # one original entry per order that has something on the books (voided ones have none)
    with ledger_engine.connect() as conn:
        sources = conn.execute(select(JournalEntry.source_id, func.count())
                               .group_by(JournalEntry.source_id)).all()
    assert all(n == 1 for _, n in sources) and 250 < len(sources) <= 300
    assert_books_balance(ledger_engine)
    assert_summary_artifact(run["id"], {"ordersCreated": 300, "status": "completed"})


def assert_summary_artifact(sync_id: str, expected: dict) -> None:
    """The sync's summary is a table artifact in Prefect, keyed by the sync id."""
    import json

    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    key = f"{sync_id.replace('_', '-').lower()}-summary"
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert artifact.type == "table"
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    table = {row["counter"]: row["value"] for row in rows}
    for name, value in expected.items():
        assert table[name] == value


def test_the_same_sync_twice_leaves_the_ledger_identical(ledger_engine, sandbox):
    iid = make_shopify_integration(ledger_engine, sandbox.url)
    run_flow(integration_id=iid, date_range=ALL)
    before = dump(ledger_engine)
    again = run_flow(integration_id=iid, date_range=ALL)
    assert again["counters"]["ordersCreated"] == again["counters"]["ordersUpdated"] == 0
    assert dump(ledger_engine) == before


def test_incremental_sync_posts_an_adjustment_for_a_refund(ledger_engine, sandbox):
    import httpx

    iid = make_shopify_integration(ledger_engine, sandbox.url)
    first = run_flow(integration_id=iid)  # no dateRange: incremental from the beginning
    assert first["counters"]["ordersCreated"] == 300
    paid = next(o for o in sandbox_orders(sandbox) if o["displayFinancialStatus"] == "PAID")
    legacy = paid["legacyResourceId"]
    r = httpx.post(f"{sandbox.url}/__sandbox/orders/{legacy}/update", json={"action": "refund"})
    assert r.status_code == 200, r.text
    second = run_flow(integration_id=iid)
    assert second["counters"]["ordersUpdated"] == 1
    assert second["counters"]["ordersCreated"] == 0
    with ledger_engine.connect() as conn:
        kinds = [k for (k,) in conn.execute(select(JournalEntry.kind).where(
            JournalEntry.source_id == legacy).order_by(JournalEntry.sequence))]
        status = conn.execute(select(SalesOrder.financial_status).where(
            SalesOrder.external_id == legacy)).scalar_one()
    assert kinds == ["original", "adjustment"] and status == "refunded"
    assert_books_balance(ledger_engine)


def sandbox_orders(sandbox) -> list[dict]:
    from connectors.shopify import OrderFilter, ShopifyConnector

    conn = ShopifyConnector("sandbox.myshopify.com", "shpat_sandbox_token", base_url=sandbox.url)
    return [o for page in conn.iter_order_pages(OrderFilter()) for o in page.records]


def test_throttling_and_server_errors_are_survived(ledger_engine, sandbox):
    # A small bucket refilling fast: the connector must pace itself by what it reads back.
    sandbox.control(throttling=True, bucket={"maximum_available": 2000, "restore_rate": 20000},
                    faults={"throttle_storm": 2,
                            "http_5xx": {"count": 2, "status": 502, "after": 6},
                            "http_429": {"count": 2, "retry_after": 0, "after": 14}})
    iid = make_shopify_integration(ledger_engine, sandbox.url)
    run = run_flow(integration_id=iid, date_range=ALL)
    assert run["status"] == "completed" and run["counters"]["ordersCreated"] == 300
    served = sandbox.stats()["faults_served"]
    assert served["throttle_storm"] == 2 and served["http_5xx"] == 2 and served["http_429"] == 2
    assert_books_balance(ledger_engine)


def test_a_refused_token_fails_with_auth_failed_and_loads_nothing(ledger_engine, sandbox):
    from prefect import get_client

    iid = make_shopify_integration(ledger_engine, sandbox.url, token="shpat_revoked_token_1")
    from flows.shopify import sync_orders

    state = sync_orders(integration_id=iid, date_range=ALL, return_state=True)
    assert state.is_failed()
    assert "AUTH_FAILED" in state.message
    with ledger_engine.connect() as conn:
        run = conn.execute(select(SyncRun.status, SyncRun.error_code)).one()
    assert tuple(run) == ("failed", "AUTH_FAILED")
    assert count(ledger_engine, SalesOrder) == 0 and count(ledger_engine, JournalEntry) == 0
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(state.state_details.flow_run_id)
    assert "shpat_revoked_token_1" not in str(flow_run.parameters)
    assert "shpat_revoked_token_1" not in state.message


def test_a_record_that_cannot_be_mapped_is_captured_and_the_sync_carries_on(
        ledger_engine, sandbox, monkeypatch):
    import tasks.map as task_map
    from bigledger.errors import DataMappingError

    real = task_map.MAPPERS["shopify.order"]()
    victim = sandbox_orders(sandbox)[17]["legacyResourceId"]

    def transform(order, accounts):
        if order["legacyResourceId"] == victim:
            raise DataMappingError(f"cannot map order {victim}")
        return real.transform(order, accounts)

    monkeypatch.setitem(task_map.MAPPERS, "shopify.order",
                        lambda: task_map.RecordMapper("order", transform, real.external_id))
    iid = make_shopify_integration(ledger_engine, sandbox.url)
    run = run_flow(integration_id=iid, date_range=ALL)
    assert run["status"] == "completed_with_errors"
    assert run["counters"]["ordersFailed"] == 1 and run["counters"]["ordersCreated"] == 299
    with ledger_engine.connect() as conn:
        err = conn.execute(select(RecordError)).mappings().one()
    assert (err["external_id"], err["code"]) == (victim, "DATA_MAPPING_ERROR")
    assert err["payload"]["legacyResourceId"] == victim  # kept for a retry
    assert_books_balance(ledger_engine)


def test_a_sync_killed_half_way_and_run_again_has_every_order_once(
        ledger_engine, ledger_url, sandbox, prefect_api):
    iid = make_shopify_integration(ledger_engine, sandbox.url)
    from ledger.db import transaction
    from ledger.syncs import create_sync_run

    with transaction(ledger_engine) as conn:
        sync_id = create_sync_run(conn, iid, "shopify.sync_orders", {})["id"]
    # Slow pages so the kill lands mid-sync, after some batches have committed.
    sandbox.control(faults={"slow": {"count": 1000, "delay_ms": 40}})
    code = ("from flows.shopify import sync_orders; "
            f"sync_orders(integration_id={iid!r}, date_range={ALL!r}, batch_size=20, "
            f"sync_id={sync_id!r})")
    env = {**os.environ, "BIGLEDGER_DATABASE_URL": ledger_url, "PREFECT_API_URL": prefect_api}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while count(ledger_engine, SalesOrder) < 60:
            assert proc.poll() is None, "the sync finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.kill()  # SIGKILL: no cleanup, no goodbye
    finally:
        proc.wait()
    loaded = count(ledger_engine, SalesOrder)
    assert 60 <= loaded < 300
    sandbox.control(clear_faults=True)
    run = run_flow(integration_id=iid, date_range=ALL, batch_size=20, sync_id=sync_id)
    assert run["status"] == "completed"
    assert count(ledger_engine, SalesOrder) == 300
    with ledger_engine.connect() as conn:
        per_order = conn.execute(select(JournalEntry.source_id, func.count())
                                 .group_by(JournalEntry.source_id)).all()
    assert all(n == 1 for _, n in per_order)
    # the resumed run continued after the last committed batch instead of starting over
    assert run["counters"]["ordersProcessed"] < 300 + loaded
    assert_books_balance(ledger_engine)


def test_a_large_backfill_goes_through_a_bulk_operation(ledger_engine, sandbox, monkeypatch):
    from bigledger.settings import get_settings

    monkeypatch.setenv("BIGLEDGER_SHOPIFY_BULK_THRESHOLD", "100")
    get_settings.cache_clear()
    sandbox.control(bulk={"queue_seconds": 0, "objects_per_second": 1_000_000})
    iid = make_shopify_integration(ledger_engine, sandbox.url)
    run = run_flow(integration_id=iid, date_range=ALL, batch_size=70)
    get_settings.cache_clear()
    assert run["status"] == "completed"
    assert run["counters"]["bulkOperations"] == 1
    assert run["counters"]["ordersCreated"] == 300
    assert count(ledger_engine, SalesOrder) == 300
    assert_books_balance(ledger_engine)
    assert not list((get_settings().home / "bulk").glob("*.jsonl"))  # the file is cleaned up
