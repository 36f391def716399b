"""One set of stock levels pushed to one channel (a task per channel; the fan-out flow maps
it over every connected channel). Setting absolute levels makes a re-send harmless."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from ledger.catalog import write_inventory_levels
from ledger.db import transaction
from tasks.connections import connector_for, load_integration
from tasks.inventory import shopify_location_gid
from tasks.retry import retry_if_transient
from transforms.documents import InventoryLevelDoc

INVENTORY_PLATFORMS = {"shopify", "woocommerce"}


@task(name="push-channel-stock", retries=2, retry_delay_seconds=[2, 10],
      retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE, persist_result=False)
def push_channel_stock(integration_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Set each SKU's stock on one channel; returns {integrationId, platform, results[]}.

    Shopify takes the per-location quantities whose externalId names one of its locations
    (`shopify_location_123`, `123` or a gid); WooCommerce has no locations and takes the
    SKU's total."""
    integration = load_integration(integration_id)
    connector = connector_for(integration)
    if integration.platform == "shopify":
        results = _push_shopify(connector, integration_id, items)
    elif integration.platform == "woocommerce":
        results = _push_woocommerce(connector, integration_id, items)
    else:
        raise ValueError(f"{integration.platform} does not take stock updates")
    return {"integrationId": integration_id, "platform": integration.platform,
            "status": "completed", "results": results}


def location_platform(external_id: str) -> str | None:
    """Which platform's location an externalId names (Shopify's `shopify_location_123`,
    `123` or gid), None when no connected kind of channel has it (an Amazon warehouse)."""
    return "shopify" if shopify_location_gid(external_id) is not None else None


def unrouted_locations(items: list[dict[str, Any]], platforms: set[str]) -> list[dict]:
    """The per-location quantities none of the pushed channels takes: reported, so a caller
    sees that `amazon_warehouse_456` went nowhere rather than silence."""
    out = []
    for item in items:
        for loc in item.get("locations") or []:
            if location_platform(str(loc["externalId"])) not in platforms:
                out.append({"sku": item["sku"], "location": loc["externalId"],
                            "quantity": loc["quantity"], "applied": False,
                            "error": {"code": "NO_CHANNEL",
                                      "message": "no channel in this push has this location; "
                                                 "its quantity counts only in the SKU's total"}})
    return out


def _push_shopify(connector: Any, integration_id: str, items: list[dict]) -> list[dict]:
    skus = connector.resolve_skus([i["sku"] for i in items])
    known = {loc["id"] for loc in connector.list_locations()}
    results, rows, owners = [], [], []
    for item in items:
        match = skus.get(item["sku"])
        for loc in item.get("locations") or []:
            gid = shopify_location_gid(str(loc["externalId"]))
            if gid is None:
                continue  # another channel's location
            entry = {"sku": item["sku"], "location": loc["externalId"], "applied": False,
                     "quantity": None, "error": None}
            if match is None:
                entry["error"] = {"code": "UNKNOWN_SKU", "message": "no variant with this SKU"}
            elif gid not in known:
                entry["error"] = {"code": "UNKNOWN_LOCATION", "message": "no such location"}
            else:
                rows.append((match["inventory_item_id"], gid, int(loc["quantity"])))
                owners.append(entry)
            results.append(entry)
    levels = []
    for entry, outcome in zip(owners, connector.set_inventory(rows) if rows else [],
                              strict=True):
        entry.update(applied=outcome.applied, quantity=outcome.quantity,
                     error=None if outcome.applied else outcome.error)
        if outcome.applied and outcome.quantity is not None:
            levels.append(InventoryLevelDoc(outcome.inventory_item_id.rsplit("/", 1)[-1],
                                            outcome.location_id.rsplit("/", 1)[-1],
                                            outcome.quantity, None))
    with transaction() as conn:
        write_inventory_levels(conn, integration_id, levels)
    return results


def _push_woocommerce(connector: Any, integration_id: str, items: list[dict]) -> list[dict]:
    found = connector.find_by_sku([i["sku"] for i in items])
    outcomes = connector.set_stock([(i["sku"], int(i["quantity"])) for i in items])
    levels, results = [], []
    for outcome in outcomes:
        results.append({"sku": outcome.sku, "location": "default", "applied": outcome.applied,
                        "quantity": outcome.quantity,
                        "error": None if outcome.applied else {"code": outcome.error,
                                                               "message": outcome.message}})
        ids = found.get(outcome.sku)
        if outcome.applied and ids and outcome.quantity is not None:
            item = str(ids.get("variation_id") or ids["product_id"])
            levels.append(InventoryLevelDoc(item, "default", outcome.quantity, None))
    with transaction() as conn:
        write_inventory_levels(conn, integration_id, levels)
    return results
