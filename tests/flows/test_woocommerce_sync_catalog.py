"""woocommerce-sync-catalog: products with variations and stock, and customers; incremental
re-runs change nothing; a customer is the same ledger customer as in orders."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from ledger.models import Customer, InventoryLevel, Product, ProductVariant
from tests.flows.test_woocommerce_sync_orders import make_woo_integration
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_products_and_customers(ledger_engine, sandbox):
    from flows.woocommerce import sync_catalog, sync_orders

    httpx.post(f"{sandbox.url}/__sandbox/woocommerce/control",
               json={"dataset": {"seed": 5, "size": 60}, "clear_faults": True})
    iid = make_woo_integration(ledger_engine, sandbox.url)
    products = sync_catalog(integration_id=iid, kind="products", sync_type="full")
    assert products["status"] == "completed", products
    created = products["counters"]["productsCreated"]
    assert created >= 12 and count(ledger_engine, Product) == created
    assert count(ledger_engine, ProductVariant) > created  # variable products' variations
    assert count(ledger_engine, InventoryLevel) > 0
    tables = ("products", "product_variants", "inventory_levels")
    before = dump(ledger_engine, tables)
    again = sync_catalog(integration_id=iid, kind="products")
    assert again["counters"].get("productsUpdated", 0) == 0
    assert dump(ledger_engine, tables) == before

    customers = sync_catalog(integration_id=iid, kind="customers", sync_type="full")
    assert customers["status"] == "completed"
    known = count(ledger_engine, Customer)
    assert known == customers["counters"]["customersCreated"] > 0
    sync_orders(integration_id=iid)  # the buyers of these orders are those customers
    with ledger_engine.connect() as conn:
        from ledger.models import SalesOrder

        orphans = conn.execute(select(func.count()).select_from(SalesOrder).where(
            SalesOrder.customer_id.is_(None))).scalar_one()
        total = conn.execute(select(func.count()).select_from(SalesOrder)).scalar_one()
    assert total == 60 and orphans < total
    assert count(ledger_engine, Customer) <= known + 1  # guests aside, no duplicates
