"""retry-failed: the records a sync could not load are replayed (orders fetched again from
the platform and mapped with the current mapping); attempts are counted on each record's
error, records that now load leave the error list, the others keep their last error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from ledger.models import RecordError, SalesOrder
from ledger.reports import trial_balance
from tests.conftest import TEST_API_KEY, make_shopify_integration

pytestmark = pytest.mark.usefixtures("prefect_api")
ALL = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}


@pytest.fixture
def broken(monkeypatch, sandbox):
    """A mapping that cannot map two of the sandbox's orders until `fixed` is called."""
    import tasks.map as task_map
    from bigledger.errors import DataMappingError
    from connectors.shopify import OrderFilter, ShopifyConnector

    conn = ShopifyConnector("sandbox.myshopify.com", "shpat_sandbox_token", base_url=sandbox.url)
    orders = next(iter(conn.iter_order_pages(OrderFilter(), first=30))).records
    victims = {orders[3]["legacyResourceId"], orders[7]["legacyResourceId"]}
    real = task_map.MAPPERS["shopify.order"]()
    cause = {"present": True}

    def transform(order, accounts):
        if cause["present"] and order["legacyResourceId"] in victims:
            raise DataMappingError(f"no account for the gateway of {order['legacyResourceId']}")
        return real.transform(order, accounts)

    monkeypatch.setitem(task_map.MAPPERS, "shopify.order",
                        lambda: task_map.RecordMapper("order", transform, real.external_id))
    return victims, lambda: cause.update(present=False)


def errors(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["external_id"]: dict(r) for r in conn.execute(select(RecordError)).mappings()}


def test_failed_records_are_replayed_after_the_cause_is_fixed(ledger_engine, sandbox, broken):
    from flows.retry import retry_failed
    from flows.shopify import sync_orders

    victims, fix = broken
    iid = make_shopify_integration(ledger_engine, sandbox.url)
    first = sync_orders(integration_id=iid, date_range=ALL)
    assert first["status"] == "completed_with_errors"
    assert set(errors(ledger_engine)) == victims

    # Still broken: each record is tried max_retries times more, and keeps its last error.
    still = retry_failed(integration_id=iid, source_sync_id=first["id"], max_retries=2)
    assert still["status"] == "completed_with_errors"
    assert still["counters"]["recordsStillFailing"] == 2
    assert still["counters"]["recordsRecovered"] == 0
    for error in errors(ledger_engine).values():
        assert error["attempts"] == 3 and error["resolved_at"] is None
        assert error["code"] == "DATA_MAPPING_ERROR" and "no account" in error["message"]

    fix()
    done = retry_failed(integration_id=iid, source_sync_id=first["id"], max_retries=3)
    assert done["status"] == "completed"
    assert done["counters"]["recordsRecovered"] == 2
    after = errors(ledger_engine)
    assert all(e["resolved_at"] is not None and e["attempts"] == 4 for e in after.values())
    with ledger_engine.connect() as conn:
        loaded = set(conn.execute(select(SalesOrder.external_id).where(
            SalesOrder.external_id.in_(victims))).scalars())
        assert trial_balance(conn)["balanced"]
        total = conn.execute(select(func.count()).select_from(SalesOrder)).scalar_one()
    assert loaded == victims
    # "all" checks every record that failed in the sync again, recovered ones included:
    # nothing changes, nothing is loaded twice.
    again = retry_failed(integration_id=iid, source_sync_id=first["id"], retry_type="all",
                         max_retries=1)
    assert again["status"] == "completed" and again["counters"]["recordsRecovered"] == 2
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SalesOrder)).scalar_one() == total


def test_the_api_starts_a_retry_of_a_sync_of_the_integration(ledger_engine, sandbox,
                                                              monkeypatch):
    import api.orchestrator as orchestrator
    from ledger.db import transaction
    from ledger.syncs import RecordFailure, create_sync_run, record_failures

    iid = make_shopify_integration(ledger_engine, sandbox.url)
    with transaction() as conn:
        source = create_sync_run(conn, iid, "shopify.sync_orders", {})
        record_failures(conn, source["id"], iid,
                        [RecordFailure("order", "1", "DATA_MAPPING_ERROR", "x")])
    started = []
    monkeypatch.setattr(orchestrator, "start_flow_run",
                        lambda name, params, tags: started.append((name, params)) or "fr-9")
    with TestClient(create_app()) as client:
        r = client.post(f"/v1/integrations/{iid}/retry-failed", headers=AUTH,
                        json={"syncId": source["id"], "retryType": "failed_only",
                              "maxRetries": 3})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["status"] == "processing"
        (name, params), = started
        assert name == "retry-failed" and params["source_sync_id"] == source["id"]
        assert params["max_retries"] == 3 and params["retry_type"] == "failed_only"
        missing = client.post(f"/v1/integrations/{iid}/retry-failed", headers=AUTH,
                              json={"syncId": "sync_nope"})
        assert missing.status_code == 404
        for bad in ({"syncId": source["id"], "retryType": "everything"},
                    {"syncId": source["id"], "maxRetries": 0},
                    {"syncId": source["id"], "maxRetries": "3"}, {}):
            r = client.post(f"/v1/integrations/{iid}/retry-failed", headers=AUTH, json=bad)
            assert r.status_code == 422, (bad, r.text)


def test_payments_are_replayed_from_the_payload_kept_with_their_error(ledger_engine, sandbox,
                                                                      monkeypatch):
    """Stripe movements the mapping refused are mapped again from their kept payload."""
    import tasks.payments as task_payments
    from bigledger.errors import DataMappingError
    from flows.retry import retry_failed
    from flows.stripe import sync_payments
    from ledger.integrations import create_integration
    from ledger.models import Payment
    from sandbox.stripe.config import DEFAULT_SECRET_KEY

    sandbox.control_platform("stripe", clear_faults=True, secret_keys=[DEFAULT_SECRET_KEY])
    real = task_payments.PAYMENT_MAPPERS["stripe"]()
    cause = {"present": True}

    def transform(txn, accounts):
        if cause["present"] and txn.get("type") == "payout":
            raise DataMappingError(f"no bank account mapped for payout {txn['id']}")
        return real.transform(txn, accounts)

    monkeypatch.setitem(task_payments.PAYMENT_MAPPERS, "stripe",
                        lambda: task_map_mapper(transform, real))
    with ledger_engine.begin() as conn:
        create_integration(conn, "stripe", "Stripe", {"secretKey": DEFAULT_SECRET_KEY},
                           {"baseUrl": sandbox.url}, {}, integration_id="int_stripe_retry")
    first = sync_payments(integration_id="int_stripe_retry", batch_size=200,
                          date_range={"from": "2024-01-01T00:00:00Z",
                                      "to": "2024-12-31T00:00:00Z"})
    assert first["status"] == "completed_with_errors"
    payouts = set(errors(ledger_engine))
    assert payouts and all(e.startswith("txn_") for e in payouts)

    cause["present"] = False
    done = retry_failed(integration_id="int_stripe_retry", source_sync_id=first["id"],
                        max_retries=1)
    assert done["status"] == "completed"
    assert done["counters"]["recordsRecovered"] == len(payouts)
    with ledger_engine.connect() as conn:
        loaded = set(conn.execute(select(Payment.external_id)).scalars())
        assert trial_balance(conn)["balanced"]
    assert payouts <= loaded
    assert all(e["resolved_at"] is not None for e in errors(ledger_engine).values())


def task_map_mapper(transform, real):
    from tasks.map import RecordMapper

    return RecordMapper(real.object_type, transform, real.external_id)
