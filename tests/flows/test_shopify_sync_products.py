"""The shopify-sync-products flow: full, then incremental, deletions marked, stock stored."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from ledger.models import InventoryLevel, Location, Product, ProductVariant
from tests.conftest import make_shopify_integration
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")


def count(engine, model, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_full_then_incremental_products_with_stock_and_deletions(ledger_engine, sandbox):
    from flows.shopify import sync_products

    iid = make_shopify_integration(ledger_engine, sandbox.url)
    full = sync_products(integration_id=iid, sync_type="full", batch_size=60)
    products = full["records_to_process"]
    assert full["status"] == "completed" and products >= 160
    assert full["counters"]["productsCreated"] == products
    assert count(ledger_engine, Product) == products
    assert count(ledger_engine, ProductVariant) >= products
    assert count(ledger_engine, Location) >= 2 and count(ledger_engine, InventoryLevel) > 0

    before = dump(ledger_engine, ("products", "product_variants", "inventory_levels"))
    again = sync_products(integration_id=iid, sync_type="incremental")
    assert again["counters"].get("productsUpdated", 0) == 0
    assert dump(ledger_engine, ("products", "product_variants", "inventory_levels")) == before

    with ledger_engine.connect() as conn:
        first, second = conn.execute(select(Product.external_id)
                                     .order_by(Product.external_id).limit(2)).scalars().all()
    r = httpx.post(f"{sandbox.url}/__sandbox/products/{first}/update",
                   json={"title": "Renamed upstream"})
    assert r.status_code == 200, r.text
    r = httpx.post(f"{sandbox.url}/__sandbox/products/{second}/delete")
    assert r.status_code == 200, r.text
    later = sync_products(integration_id=iid, sync_type="incremental")
    assert later["counters"]["productsUpdated"] == 1
    assert later["counters"]["productsDeleted"] == 1
    assert later["records_to_process"] < products  # only what changed was fetched
    with ledger_engine.connect() as conn:
        rows = dict(conn.execute(select(Product.external_id, Product.status)
                                 .where(Product.external_id.in_([first, second]))).all())
        title = conn.execute(select(Product.title)
                             .where(Product.external_id == first)).scalar_one()
    assert rows == {first: "active", second: "deleted"} and title == "Renamed upstream"
    assert count(ledger_engine, Product) == products  # deleted is kept, never erased
