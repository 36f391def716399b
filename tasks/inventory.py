"""Inventory updates pushed to a channel, item by item: one bad item never stops the others."""

from __future__ import annotations

import re
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from ledger.catalog import write_inventory_levels
from ledger.db import transaction
from ledger.syncs import RecordFailure, add_counters, record_failures, update_sync_run
from tasks.connections import connector_for, load_integration
from tasks.retry import retry_if_transient
from transforms.documents import InventoryLevelDoc


def shopify_location_gid(location_id: str) -> str | None:
    """'gid://shopify/Location/123', '123' or 'shopify_location_123' -> the location's gid."""
    match = re.fullmatch(r"(?:gid://shopify/Location/|shopify_location_)?(\d+)",
                         location_id.strip())
    return f"gid://shopify/Location/{match.group(1)}" if match else None


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


@task(name="push-shopify-inventory", retries=2, retry_delay_seconds=[5, 20],
      retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE, persist_result=False)
def push_shopify_inventory(integration_id: str, items: list[dict[str, Any]]) -> list[dict]:
    """Set or adjust `available` per (SKU, location); one result per item, in order."""
    connector = connector_for(load_integration(integration_id))
    skus = connector.resolve_skus([i["sku"] for i in items])
    locations = {loc["id"] for loc in connector.list_locations()}
    results: list[dict[str, Any]] = [dict(item, applied=False, newQuantity=None, error=None)
                                     for item in items]
    batches: dict[str, list[int]] = {"set": [], "adjust": []}
    rows: dict[int, tuple[str, str, int]] = {}
    for n, item in enumerate(items):
        sku_match = skus.get(item["sku"])
        location = shopify_location_gid(item["locationId"])
        if sku_match is None:
            results[n]["error"] = _error("UNKNOWN_SKU", f"no variant with SKU {item['sku']!r}")
        elif location is None or location not in locations:
            results[n]["error"] = _error("UNKNOWN_LOCATION",
                                         f"no location {item['locationId']!r} in this shop")
        elif item["updateType"] == "set" and item["quantity"] < 0:
            results[n]["error"] = _error("NEGATIVE_QUANTITY",
                                         "a stock level cannot be set below zero")
        else:
            rows[n] = (sku_match["inventory_item_id"], location, item["quantity"])
            batches[item["updateType"]].append(n)
    for kind, positions in batches.items():
        if not positions:
            continue
        send = [rows[n] for n in positions]
        done = (connector.set_inventory(send) if kind == "set"
                else connector.adjust_inventory(send))
        for n, outcome in zip(positions, done, strict=True):
            results[n].update(applied=outcome.applied, newQuantity=outcome.quantity,
                              inventoryItemId=outcome.inventory_item_id,
                              location=outcome.location_id,
                              error=None if outcome.applied else {
                                  "code": (outcome.error or {}).get("code") or "REJECTED",
                                  "message": (outcome.error or {}).get("message")
                                  or "rejected by the platform"})
    return results


@task(name="record-inventory-results", cache_policy=NO_CACHE, persist_result=False)
def record_inventory_results(integration_id: str, sync_id: str,
                             results: list[dict[str, Any]]) -> dict[str, int]:
    """The ledger's stock follows what the channel applied; failures are kept per item."""
    applied = [r for r in results if r["applied"] and r["newQuantity"] is not None]
    levels = [InventoryLevelDoc(r["inventoryItemId"].rsplit("/", 1)[-1],
                                r["location"].rsplit("/", 1)[-1], r["newQuantity"], None)
              for r in applied]
    failures = [RecordFailure("inventory_item", f"{r['sku']}@{r['locationId']}",
                              r["error"]["code"], r["error"]["message"],
                              {k: r[k] for k in ("sku", "locationId", "quantity", "updateType")})
                for r in results if r["error"]]
    with transaction() as conn:
        write_inventory_levels(conn, integration_id, levels)
        record_failures(conn, sync_id, integration_id, failures)
        counters = add_counters(conn, sync_id, {"inventoryUpdated": len(applied),
                                                "inventoryFailed": len(failures)})
        public = [{k: v for k, v in r.items() if k not in ("inventoryItemId", "location")}
                  for r in results]
        update_sync_run(conn, sync_id, result=public)
    return counters
