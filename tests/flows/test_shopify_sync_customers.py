"""shopify-sync-customers: from their own query, one ledger customer per person whether met
first in orders or in the customers list; incremental picks up a renamed customer."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from ledger.models import Customer
from tests.conftest import make_shopify_integration
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")
ALL = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}


def test_customers_from_orders_and_their_own_query_are_one(ledger_engine, sandbox):
    from flows.shopify import sync_customers, sync_orders

    iid = make_shopify_integration(ledger_engine, sandbox.url)
    sync_orders(integration_id=iid, date_range=ALL)
    with ledger_engine.connect() as conn:
        from_orders = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
    full = sync_customers(integration_id=iid, sync_type="full")
    assert full["status"] == "completed"
    with ledger_engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
    # every buyer already known stays one customer; the rest of the pool is added
    assert full["counters"]["customersCreated"] == total - from_orders
    before = dump(ledger_engine, ("customers",))
    again = sync_customers(integration_id=iid)
    assert again["counters"].get("customersUpdated", 0) == 0
    assert dump(ledger_engine, ("customers",)) == before

    with ledger_engine.connect() as conn:
        ext = conn.execute(select(Customer.external_id).order_by(Customer.external_id)
                           .limit(1)).scalar_one()
    r = httpx.post(f"{sandbox.url}/__sandbox/customers/{ext}/update",
                   json={"firstName": "Renamed"})
    assert r.status_code == 200, r.text
    later = sync_customers(integration_id=iid)
    assert later["counters"]["customersUpdated"] == 1
    with ledger_engine.connect() as conn:
        name = conn.execute(select(Customer.first_name)
                            .where(Customer.external_id == ext)).scalar_one()
    assert name == "Renamed"
