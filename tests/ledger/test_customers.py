"""Customers: matched by platform id, then by email; rewritten only when they change."""

from __future__ import annotations

from sqlalchemy import func, select

from ledger.customers import load_customer_batch, upsert_customers
from ledger.ids import stable_id
from ledger.models import Customer
from ledger.syncs import create_sync_run, get_sync_run
from tests.ledger.helpers import make_integration
from transforms.documents import CustomerDoc


def doc(ext: str, email: str | None, first: str = "Ann") -> CustomerDoc:
    return CustomerDoc(ext, email, first, "Lee", f"{first} Lee")


def test_matched_by_id_then_email_and_counted(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        sync = create_sync_run(conn, iid, "shopify.sync_customers", {})
        first = load_customer_batch(conn, iid, [doc("1", "ann@example.com"),
                                                doc("2", "bob@example.com", "Bob")],
                                    sync_id=sync["id"])
        # same person under another platform id (guest checkout): matched by email
        ids, counts = upsert_customers(conn, iid, [doc("3", "ANN@example.com")])
        again = load_customer_batch(conn, iid, [doc("1", "ann@example.com", "Annie"),
                                                doc("2", "bob@example.com", "Bob")],
                                    sync_id=sync["id"])
        total = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
        run = get_sync_run(conn, sync["id"])
    assert (first.created, first.updated) == (2, 0)
    assert counts.created == 0 and ids["3"] == stable_id("cus", iid, "1") and total == 2
    assert (again.created, again.updated, again.matched) == (0, 1, 1)
    assert run["counters"] == {"customersProcessed": 4, "customersCreated": 2,
                               "customersUpdated": 1, "customersFailed": 0}
