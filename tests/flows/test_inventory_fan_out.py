"""inventory-fan-out: one set of stock levels to Shopify and WooCommerce at once; a channel
that is down is reported without holding the other back, and re-sending changes nothing."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from ledger.models import InventoryLevel, Location, ProductVariant
from tests.conftest import make_shopify_integration
from tests.flows.test_woocommerce_sync_orders import make_woo_integration
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_fan_out_with_one_channel_down_then_back(ledger_engine, sandbox):
    from flows.inventory import fan_out
    from flows.shopify import sync_products

    shop = make_shopify_integration(ledger_engine, sandbox.url)
    woo = make_woo_integration(ledger_engine, sandbox.url)
    httpx.post(f"{sandbox.url}/__sandbox/woocommerce/control",
               json={"dataset": {"seed": 5, "size": 50}, "clear_faults": True})
    sync_products(integration_id=shop, sync_type="full", include_inventory=True)
    with ledger_engine.connect() as conn:
        sku, location = conn.execute(
            select(ProductVariant.sku, Location.external_id)
            .join(InventoryLevel, InventoryLevel.variant_id == ProductVariant.id)
            .join(Location, Location.id == InventoryLevel.location_id).limit(1)).one()
    items = [
        {"sku": sku, "quantity": 150, "locations": [
            {"externalId": f"shopify_location_{location}", "quantity": 100},
            {"externalId": "amazon_warehouse_456", "quantity": 50}]},
        {"sku": "SKU-0010", "quantity": 42, "locations": []},
    ]
    httpx.post(f"{sandbox.url}/__sandbox/woocommerce/control",
               json={"faults": {"token_revoked": True}})
    down = fan_out(integration_ids=[shop, woo], items=items)
    channels = {c["integrationId"]: c for c in down["result"]["channels"]}
    # the Amazon warehouse belongs to no channel of this push: said so, not dropped
    assert [(u["location"], u["error"]["code"]) for u in down["result"]["unrouted"]] == [
        ("amazon_warehouse_456", "NO_CHANNEL")]
    assert down["status"] == "completed_with_errors"
    assert channels[woo]["status"] == "failed" and "AUTH_FAILED" in channels[woo]["error"]
    shop_results = channels[shop]["results"]
    assert [(r["sku"], r["applied"], r["quantity"]) for r in shop_results] == [
        (sku, True, 100)]  # the Amazon location is another channel's, so not sent here

    httpx.post(f"{sandbox.url}/__sandbox/woocommerce/control", json={"clear_faults": True})
    back = fan_out(integration_ids=[shop, woo], items=items)
    assert back["status"] == "completed"
    woo_results = {c["integrationId"]: c for c in back["result"]["channels"]}[woo]["results"]
    assert {r["sku"]: (r["applied"], r["quantity"]) for r in woo_results} == {
        sku: (False, None), "SKU-0010": (True, 42)}  # each channel knows its own SKUs

    before = dump(ledger_engine, ("inventory_levels", "locations", "product_variants"))
    again = fan_out(integration_ids=[shop, woo], items=items)
    assert again["status"] == "completed"
    assert dump(ledger_engine, ("inventory_levels", "locations", "product_variants")) == before
