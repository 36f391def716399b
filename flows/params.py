"""Typed flow parameters shared by the flows; their descriptions make the Prefect UI's Run
form readable, and the API validates the same models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DateRange(BaseModel):
    """An inclusive time range, as the spec's dateRange {from, to}."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: datetime = Field(alias="from", description="Start, ISO 8601 (e.g. 2024-01-01T00:00:00Z)")
    to: datetime = Field(description="End, ISO 8601, inclusive")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.from_.tzinfo is None or self.to.tzinfo is None:
            raise ValueError("dateRange times need a timezone (e.g. a trailing Z for UTC)")
        if self.from_ > self.to:
            raise ValueError("dateRange.from is after dateRange.to")
        return self


ShopifyFinancialStatus = Literal[
    "any", "all", "paid", "partially_paid", "pending", "authorized", "refunded",
    "partially_refunded", "voided", "expired", "unpaid",
]
ShopifyFulfillmentStatus = Literal[
    "any", "all", "fulfilled", "shipped", "partial", "unfulfilled", "unshipped",
]


def shopify_order_filter(
    date_range: DateRange | None, order_status: list[str] | None,
    fulfillment_status: list[str] | None, high_water: str | None,
    lookback_seconds: int = 300,
) -> tuple[dict, bool]:
    """The Shopify connector's filter for a sync-orders request, and whether it is incremental.

    With a dateRange: orders created in it. Without: orders updated since the high-water mark,
    less a lookback, because Shopify's search index trails writes a little (re-reading is
    harmless; loads are idempotent).
    """
    from datetime import timedelta

    flt: dict = {
        "financial_statuses": [s for s in order_status or [] if s not in ("any", "all")],
        "fulfillment_statuses": [s for s in fulfillment_status or [] if s not in ("any", "all")],
    }
    if date_range is not None:
        flt.update(created_from=date_range.from_, created_to=date_range.to, sort_key="CREATED_AT")
        return flt, False
    if high_water:
        flt["updated_from"] = datetime.fromisoformat(high_water) - timedelta(
            seconds=lookback_seconds)
    flt["sort_key"] = "UPDATED_AT"
    return flt, True


class InventoryUpdate(BaseModel):
    """One stock change for a channel, as the spec's update-inventory items."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    sku: str = Field(min_length=1, max_length=200, description="The variant's SKU")
    location_id: str = Field(alias="locationId", min_length=1, max_length=100,
                             description="The channel's location id")
    quantity: int = Field(ge=-1_000_000_000, le=1_000_000_000,
                          description="New level (set) or change (adjust)")
    update_type: Literal["set", "adjust"] = Field(alias="updateType")
