"""Stock levels out to the channels: one integration, or every connected one at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from api.orchestrator import start_sync
from api.routes.integrations import id_path
from api.schemas import SpecModel
from bigledger.errors import InvalidCredentials
from bigledger.settings import get_settings
from flows.inventory import StockLevel
from ledger.db import transaction
from ledger.integrations import get_integration, list_integrations
from tasks.fanout import INVENTORY_PLATFORMS

router = APIRouter(prefix="/v1/integrations", tags=["inventory"])


class InventorySyncRequest(SpecModel):
    """The spec's inventory-sync body; `integrationIds` (fan-out only) limits the channels."""

    items: list[StockLevel] = Field(min_length=1, max_length=1000)
    integration_ids: list[str] | None = Field(default=None, alias="integrationIds",
                                              max_length=50)


@router.post("/inventory-sync", summary="Push stock levels to every connected channel")
def fan_out(body: InventorySyncRequest) -> dict[str, Any]:
    with transaction() as conn:
        if body.integration_ids:
            channels = [get_integration(conn, i) for i in body.integration_ids]
        else:
            channels = [i for i in list_integrations(conn)
                        if i.platform in INVENTORY_PLATFORMS and i.status == "active"]
    bad = [c.id for c in channels if c.platform not in INVENTORY_PLATFORMS]
    if bad or not channels:
        raise InvalidCredentials("no channel takes stock updates" if not channels else
                                 f"these integrations take no stock updates: {bad}")
    return _start(channels, body)


@router.post("/{integrationId}/inventory-sync", summary="Push stock levels to one channel")
def one_channel(body: InventorySyncRequest,
                integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    with transaction() as conn:
        channel = get_integration(conn, integrationId)
    if channel.platform not in INVENTORY_PLATFORMS:
        raise InvalidCredentials(f"{channel.platform} integrations take no stock updates")
    return _start([channel], body)


def _start(channels: list, body: InventorySyncRequest) -> dict[str, Any]:
    items = [i.model_dump(by_alias=True) for i in body.items]
    ids = [c.id for c in channels]
    return start_sync(channels[0], "inventory.fan_out", "inventory-fan-out",
                      {"integrationIds": ids, "skus": len(items)},
                      {"integration_ids": ids, "items": items}, len(items) * len(ids),
                      wait_seconds=get_settings().inventory_wait_seconds)
