"""A large Shopify backfill relayed through several bulk operations (one per created_at
slice): every order once, a killed run resumes inside the slice it stopped in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ledger.models import JournalEntry, SalesOrder
from tasks.bulk import slice_bounds
from tests.conftest import make_shopify_integration
from tests.flows.test_shopify_sync_orders import ALL, assert_books_balance, count, run_flow


def test_slices_are_contiguous_and_cover_the_span():
    first = datetime(2024, 1, 1, tzinfo=UTC)
    last = datetime(2024, 3, 1, 12, 30, 5, tzinfo=UTC)
    slices = slice_bounds(first, last, 100_000)
    assert len(slices) == 4
    assert slices[0][0] == int(first.timestamp()) and slices[-1][1] == int(last.timestamp())
    assert all(b + 1 == c for (_, b), (c, _) in zip(slices, slices[1:], strict=False))
    assert slice_bounds(first, first, 100_000) == [(int(first.timestamp()),) * 2]
    assert len(slice_bounds(first, last, 10)) == 1


@pytest.fixture
def small_slices(monkeypatch, sandbox):
    from bigledger.settings import get_settings

    monkeypatch.setenv("BIGLEDGER_SHOPIFY_BULK_THRESHOLD", "100")
    monkeypatch.setattr("tasks.bulk.BULK_SLICE_ORDERS", 100)
    get_settings.cache_clear()
    sandbox.control(bulk={"queue_seconds": 0, "objects_per_second": 1_000_000})
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("prefect_api", "small_slices")
def test_a_backfill_in_three_slices_loads_every_order_once(ledger_engine, sandbox):
    from bigledger.settings import get_settings

    iid = make_shopify_integration(ledger_engine, sandbox.url)
    run = run_flow(integration_id=iid, date_range=ALL, batch_size=40)
    assert run["status"] == "completed"
    assert run["counters"]["bulkOperations"] == 3
    assert run["counters"]["ordersProcessed"] == 300
    assert run["counters"]["ordersCreated"] == 300
    assert count(ledger_engine, SalesOrder) == 300
    assert_books_balance(ledger_engine)
    assert not list((get_settings().home / "bulk").glob(f"{run['id']}*"))


@pytest.mark.usefixtures("prefect_api", "small_slices")
def test_a_bulk_backfill_stopped_mid_slice_resumes_there(ledger_engine, sandbox, monkeypatch):
    import flows.shopify as shopify_flows
    from ledger.db import transaction
    from ledger.syncs import create_sync_run, get_sync_run

    iid = make_shopify_integration(ledger_engine, sandbox.url)
    with transaction(ledger_engine) as conn:
        sync_id = create_sync_run(conn, iid, "shopify.sync_orders", {})["id"]
    real_load, calls = shopify_flows.load_orders, []

    def dying_load(*args, **kwargs):
        calls.append(kwargs["resume_cursor"])
        if len(calls) == 5:  # the second batch of the second slice
            raise RuntimeError("worker killed")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(shopify_flows, "load_orders", dying_load)
    with pytest.raises(RuntimeError):
        run_flow(integration_id=iid, date_range=ALL, batch_size=40, sync_id=sync_id)
    loaded = count(ledger_engine, SalesOrder)
    assert 100 < loaded < 300
    with transaction(ledger_engine) as conn:
        cursor = get_sync_run(conn, sync_id)["resume_cursor"]
    assert cursor.startswith("bulk:1:") and not cursor.startswith("bulk:1:0:")

    monkeypatch.setattr(shopify_flows, "load_orders", real_load)
    run = run_flow(integration_id=iid, date_range=ALL, batch_size=40, sync_id=sync_id)
    assert run["status"] == "completed"
    assert count(ledger_engine, SalesOrder) == 300
    with ledger_engine.connect() as conn:
        per_order = conn.execute(select(JournalEntry.source_id, func.count())
                                 .group_by(JournalEntry.source_id)).all()
    assert all(n == 1 for _, n in per_order)
    # it went on inside slice 2 from the saved offset: slice 1 was not read again
    assert run["counters"]["ordersProcessed"] < 300 + 100
    # slice 2's file was kept, not rebuilt: only slice 3 was asked for again (the killed run
    # had started it while loading slice 2)
    assert run["counters"]["bulkOperations"] == 4
    assert_books_balance(ledger_engine)
