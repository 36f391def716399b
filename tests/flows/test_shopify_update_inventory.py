"""shopify-update-inventory: set and adjust per SKU and location, item by item, with the
ledger's stock following; unknown SKUs and locations reported without stopping the rest."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger.models import InventoryLevel, Location, ProductVariant, RecordError
from tests.conftest import make_shopify_integration

pytestmark = pytest.mark.usefixtures("prefect_api")


def stock(engine, sku: str, location: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(InventoryLevel.available)
            .join(ProductVariant, ProductVariant.id == InventoryLevel.variant_id)
            .join(Location, Location.id == InventoryLevel.location_id)
            .where(ProductVariant.sku == sku, Location.external_id == location)).scalar_one()


def test_set_adjust_and_bad_items(ledger_engine, sandbox):
    from flows.shopify import sync_products, update_inventory

    iid = make_shopify_integration(ledger_engine, sandbox.url)
    sync_products(integration_id=iid, sync_type="full")
    with ledger_engine.connect() as conn:
        sku, location, other_sku = None, None, None
        rows = conn.execute(
            select(ProductVariant.sku, Location.external_id)
            .join(InventoryLevel, InventoryLevel.variant_id == ProductVariant.id)
            .join(Location, Location.id == InventoryLevel.location_id)
            .order_by(ProductVariant.sku).limit(2)).all()
        (sku, location), (other_sku, other_location) = rows
    items = [
        {"sku": sku, "locationId": f"shopify_location_{location}", "quantity": 150,
         "updateType": "set"},
        {"sku": other_sku, "locationId": other_location, "quantity": -5,
         "updateType": "adjust"},
        {"sku": "NO-SUCH-SKU", "locationId": location, "quantity": 1, "updateType": "set"},
        {"sku": sku, "locationId": "999999", "quantity": 1, "updateType": "set"},
        {"sku": sku, "locationId": location, "quantity": -3, "updateType": "set"},
    ]
    before_other = stock(ledger_engine, other_sku, other_location)
    run = update_inventory(integration_id=iid, items=items)
    assert run["status"] == "completed_with_errors"
    results = run["result"]
    assert [r["applied"] for r in results] == [True, True, False, False, False]
    assert results[0]["newQuantity"] == 150
    assert [r["error"]["code"] for r in results[2:]] == [
        "UNKNOWN_SKU", "UNKNOWN_LOCATION", "NEGATIVE_QUANTITY"]
    assert run["counters"] == {"inventoryUpdated": 2, "inventoryFailed": 3}
    assert stock(ledger_engine, sku, location) == 150
    # Shopify's answer, not our arithmetic, is what the ledger records after an adjust
    assert stock(ledger_engine, other_sku, other_location) == results[1]["newQuantity"]
    assert results[1]["newQuantity"] == before_other - 5
    with ledger_engine.connect() as conn:
        assert len(conn.execute(select(RecordError)).all()) == 3
