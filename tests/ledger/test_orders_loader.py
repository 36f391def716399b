"""Loading orders: idempotent, atomic with its cursor, adjusting entries for changes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bigledger.errors import UnbalancedEntry
from ledger.models import Customer, JournalEntry, SalesOrder, SyncRun
from ledger.orders import load_order_batch
from ledger.posting import EntryToPost
from ledger.reports import trial_balance
from ledger.syncs import RecordFailure, create_sync_run, get_cursor, get_sync_run, list_failures
from tests.ledger.helpers import docs, dump, make_integration, order_with_id


def count(conn, model) -> int:
    return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_same_batch_twice_leaves_ledger_identical(ledger_engine):
    batch = docs(order_with_id(1), order_with_id(2), order_with_id(3))
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        first = load_order_batch(conn, iid, "shopify.order", batch)
    before = dump(ledger_engine)
    with ledger_engine.begin() as conn:
        second = load_order_batch(conn, iid, "shopify.order", batch)
    assert (first.created, first.entries_posted) == (3, 3)
    assert (second.created, second.updated, second.unchanged, second.entries_posted) == (0, 0, 3, 0)
    assert dump(ledger_engine) == before


def test_one_customer_across_many_orders(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        load_order_batch(conn, iid, "shopify.order", docs(order_with_id(1), order_with_id(2)))
        load_order_batch(conn, iid, "shopify.order", docs(order_with_id(3)))
        assert count(conn, Customer) == 1
        customers = conn.execute(select(SalesOrder.customer_id).distinct()).all()
        assert len(customers) == 1


def test_refund_posts_an_adjusting_entry_and_keeps_the_original(ledger_engine):
    original = order_with_id(7)
    refunded = order_with_id(
        7, displayFinancialStatus="REFUNDED", updatedAt="2024-02-03T09:00:00Z",
        totalRefundedSet={"shopMoney": {"amount": "105.38", "currencyCode": "MYR"}},
        refunds=[{"id": "gid://shopify/Refund/1", "createdAt": "2024-02-03T09:00:00Z",
                  "note": None,
                  "totalRefundedSet": {"shopMoney": {"amount": "105.38", "currencyCode": "MYR"}}}],
    )
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        load_order_batch(conn, iid, "shopify.order", docs(original))
        original_rows = dump(ledger_engine)["journal_lines"]
        result = load_order_batch(conn, iid, "shopify.order", docs(refunded))
        assert (result.updated, result.entries_posted) == (1, 1)
        kinds = conn.execute(
            select(JournalEntry.sequence, JournalEntry.kind, JournalEntry.entry_date)
            .order_by(JournalEntry.sequence)).all()
        assert [(s, k) for s, k, _ in kinds] == [(0, "original"), (1, "adjustment")]
        assert str(kinds[1][2]) == "2024-02-03"
        status = conn.execute(select(SalesOrder.financial_status)).scalar_one()
        assert status == "refunded"
        assert trial_balance(conn)["balanced"]
    after = dump(ledger_engine)["journal_lines"]
    assert set(original_rows) <= set(after)  # history untouched


def test_batch_counters_cursor_and_failures_commit_together(ledger_engine):
    failure = RecordFailure("order", "99", "DATA_MAPPING_ERROR", "totals do not reconcile",
                            {"id": "gid://shopify/Order/99"})
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        sync = create_sync_run(conn, iid, "shopify.sync_orders", {})
        load_order_batch(conn, iid, "shopify.order", docs(order_with_id(1), order_with_id(2)),
                         sync_id=sync["id"], failures=[failure],
                         cursor=("shopify.orders", "2024-01-15T10:31:12+00:00"),
                         resume_cursor="page-1")
        run = get_sync_run(conn, sync["id"])
        assert run["counters"] == {"ordersProcessed": 3, "ordersCreated": 2, "ordersUpdated": 0,
                                   "ordersFailed": 1}
        assert run["resume_cursor"] == "page-1"
        assert get_cursor(conn, iid, "shopify.orders") == "2024-01-15T10:31:12+00:00"
        [err] = list_failures(conn, sync_id=sync["id"])
        assert (err["external_id"], err["code"], err["payload"]["id"]) == (
            "99", "DATA_MAPPING_ERROR", "gid://shopify/Order/99")


def test_a_failing_batch_writes_nothing(ledger_engine, monkeypatch):
    import ledger.orders as orders

    def broken_plan(*args, **kwargs):
        return [EntryToPost(None, "x", "x", 0, "original", None, "MYR", "", [])]

    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        sync = create_sync_run(conn, iid, "shopify.sync_orders", {})
    monkeypatch.setattr(orders, "plan_entries", broken_plan)
    with pytest.raises(UnbalancedEntry), ledger_engine.begin() as conn:
        load_order_batch(conn, iid, "shopify.order", docs(order_with_id(1)), sync_id=sync["id"],
                         cursor=("shopify.orders", "x"), resume_cursor="p")
    with ledger_engine.connect() as conn:
        assert count(conn, SalesOrder) == 0 and count(conn, Customer) == 0
        assert get_cursor(conn, iid, "shopify.orders") is None
        run = conn.execute(select(SyncRun.counters, SyncRun.resume_cursor)).one()
        assert run == ({}, None)


def test_a_customer_row_changes_only_when_the_customer_does(ledger_engine):
    renamed_customer = {"id": "gid://shopify/Customer/7890", "email": "customer@example.com",
                        "firstName": "Jonathan", "lastName": "Doe"}
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        load_order_batch(conn, iid, "shopify.order", docs(order_with_id(1)))
        first = conn.execute(select(Customer.updated_at, Customer.first_name)).one()
        load_order_batch(conn, iid, "shopify.order", docs(order_with_id(2)))  # same customer
        assert conn.execute(select(Customer.updated_at, Customer.first_name)).one() == first
        load_order_batch(conn, iid, "shopify.order",
                         docs(order_with_id(3, customer=renamed_customer)))
        later = conn.execute(select(Customer.updated_at, Customer.first_name)).one()
    assert later.first_name == "Jonathan" and later.updated_at > first.updated_at


def test_statistics_are_refreshed_once_a_table_has_grown(ledger_engine):
    from ledger.maintenance import refresh_statistics

    batch = docs(*(order_with_id(n) for n in range(1, 1201)))
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        load_order_batch(conn, iid, "shopify.order", batch)
    import time

    # PostgreSQL publishes a session's row counts shortly after its commit, not at once, and
    # tables other tests churned may be analyzed along the way.
    expected = {"external_refs", "sales_orders", "journal_lines"}
    postgres = ledger_engine.dialect.name == "postgresql"
    analyzed: set[str] = set()
    deadline = time.monotonic() + 15
    while True:
        with ledger_engine.begin() as conn:
            analyzed |= set(refresh_statistics(conn))
        if not postgres or expected <= analyzed or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # Once analyzed, nothing is analyzed again (counts that arrive late may take one more
    # round, never an endless series).
    again = ["pending"]
    deadline = time.monotonic() + 10
    while again and time.monotonic() < deadline:
        with ledger_engine.begin() as conn:
            again = refresh_statistics(conn)
        time.sleep(0.2)
    if postgres:
        assert expected <= analyzed
        assert again == []
    else:
        assert analyzed == set() and again == []
