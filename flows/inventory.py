"""`inventory-fan-out`: one set of stock levels pushed to every connected channel at once.

Each channel is its own task run (Prefect maps over the channels), retried on its own; a
channel that still fails is reported failed without holding back the others.
"""

from __future__ import annotations

from typing import Annotated, Any

from prefect import flow, unmapped
from prefect.runtime import flow_run
from pydantic import BaseModel, ConfigDict, Field

from tasks.fanout import push_channel_stock, unrouted_locations
from tasks.sync_runs import finish_sync_run, open_sync_run, record_sync_result


class LocationLevel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    external_id: str = Field(alias="externalId", min_length=1, max_length=100)
    quantity: int = Field(ge=0, le=1_000_000_000)


class StockLevel(BaseModel):
    """The spec's inventory-sync item: a SKU's total and its per-location quantities."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    sku: str = Field(min_length=1, max_length=200)
    quantity: int = Field(ge=0, le=1_000_000_000)
    locations: list[LocationLevel] = Field(default_factory=list, max_length=100)


@flow(name="inventory-fan-out", log_prints=False, validate_parameters=True)
def fan_out(
    integration_ids: list[str],
    items: Annotated[list[StockLevel], Field(min_length=1, max_length=1000)],
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Push stock levels to several channels at once; each channel and SKU gets a result.

    Args:
        integration_ids: The channels (integrations) to update.
        items: Per SKU the total and the per-location quantities by the channel's
            location externalId.
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    payload = [i.model_dump(by_alias=True) for i in items]
    run = open_sync_run(integration_ids[0], "inventory.fan_out",
                        {"integrationIds": integration_ids, "skus": len(payload)}, sync_id,
                        flow_run.get_id())
    sync_id = run["id"]
    futures = push_channel_stock.map(integration_ids, unmapped(payload))
    channels = []
    for integration_id, future in zip(integration_ids, futures, strict=True):
        future.wait()
        state = future.state
        if state.is_completed():
            channels.append(future.result())
        else:
            message = state.message or "failed"
            channels.append({"integrationId": integration_id, "status": "failed",
                             "error": message, "results": []})
    failed = [c for c in channels if c["status"] == "failed"]
    platforms = {c.get("platform") for c in channels if c.get("platform")}
    unrouted = unrouted_locations(payload, platforms)
    record_sync_result(sync_id, {"channels": channels, "unrouted": unrouted}, {
        "channelsUpdated": sum(c["status"] == "completed" for c in channels),
        "channelsFailed": sum(c["status"] == "failed" for c in channels),
        "inventoryUpdated": sum(r["applied"] for c in channels for r in c["results"]),
        "inventoryFailed": sum(not r["applied"] for c in channels for r in c["results"]),
    }, [(c["integrationId"], c["error"]) for c in failed])
    if failed and len(failed) == len(channels):
        return finish_sync_run(sync_id, "PLATFORM_UNAVAILABLE",
                               "; ".join(f"{c['integrationId']}: {c['error']}" for c in failed))
    return finish_sync_run(sync_id)  # completed, or completed_with_errors for failed channels

