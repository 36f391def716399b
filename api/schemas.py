"""Request bodies of the spec, validated with pydantic (camelCase on the wire)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows.params import (
    DateRange,
    InventoryUpdate,
    ShopifyFinancialStatus,
    ShopifyFulfillmentStatus,
)


class SpecModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", str_strip_whitespace=True)


class SetupRequest(SpecModel):
    """POST /v1/integrations/{integrationId}/setup."""

    name: str = Field(min_length=1, max_length=200)
    credentials: dict[str, Any]
    settings: dict[str, Any] = Field(default_factory=dict)
    mapping: dict[str, Any] = Field(default_factory=dict)

    @field_validator("credentials")
    @classmethod
    def _flat_strings(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [k for k, v in value.items() if not isinstance(v, str)]
        if bad:
            raise ValueError(f"credential fields must be strings: {', '.join(sorted(bad))}")
        return value


class ShopifySyncOrdersRequest(SpecModel):
    """POST /v1/integrations/shopify/sync-orders."""

    integration_id: str = Field(alias="integrationId", min_length=1, max_length=64)
    date_range: DateRange | None = Field(default=None, alias="dateRange")
    order_status: list[ShopifyFinancialStatus] | None = Field(
        default=None, alias="orderStatus", max_length=20)
    fulfillment_status: list[ShopifyFulfillmentStatus] | None = Field(
        default=None, alias="fulfillmentStatus", max_length=20)
    batch_size: int | None = Field(default=None, alias="batchSize", ge=1, le=1000)


class ShopifySyncProductsRequest(SpecModel):
    """POST /v1/integrations/shopify/sync-products."""

    integration_id: str = Field(alias="integrationId", min_length=1, max_length=64)
    sync_type: Literal["incremental", "full"] = Field(default="incremental", alias="syncType")
    include_variants: bool = Field(default=True, alias="includeVariants")
    include_inventory: bool = Field(default=True, alias="includeInventory")
    published_status: Literal["published", "unpublished", "any"] = Field(
        default="any", alias="publishedStatus")


class WooCommerceCredentials(SpecModel):
    site_url: str = Field(alias="siteUrl", min_length=1, max_length=500)
    consumer_key: str = Field(alias="consumerKey", min_length=1, max_length=200)
    consumer_secret: str = Field(alias="consumerSecret", min_length=1, max_length=200)


class DayOrTimeRange(SpecModel):
    """The spec's WooCommerce dateRange: whole days ("2024-01-01") or exact times."""

    from_: date | datetime = Field(alias="from")
    to: date | datetime

    def as_date_range(self) -> DateRange:
        """Days become [00:00:00Z of from, 00:00:00Z of the day after to) — inclusive days."""
        start = self.from_ if isinstance(self.from_, datetime) else datetime.combine(
            self.from_, time.min, UTC)
        end = self.to if isinstance(self.to, datetime) else datetime.combine(
            self.to, time.min, UTC) + timedelta(days=1) - timedelta(seconds=1)
        return DateRange.model_validate({"from": start, "to": end})


class WooCommerceSyncOrdersRequest(SpecModel):
    """POST /v1/integrations/woocommerce/sync-orders."""

    integration_id: str = Field(alias="integrationId", min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9_\-]+$")
    credentials: WooCommerceCredentials | None = None
    date_range: DayOrTimeRange | None = Field(default=None, alias="dateRange")
    order_status: list[Literal["any", "pending", "processing", "on-hold", "completed",
                               "cancelled", "refunded", "failed"]] | None = Field(
        default=None, alias="orderStatus", max_length=20)
    batch_size: int | None = Field(default=None, alias="batchSize", ge=1, le=1000)


class ShopifyUpdateInventoryRequest(SpecModel):
    """POST /v1/integrations/shopify/update-inventory."""

    integration_id: str = Field(alias="integrationId", min_length=1, max_length=64)
    items: list[InventoryUpdate] = Field(min_length=1, max_length=500)


class ShopifySyncCustomersRequest(SpecModel):
    """POST /v1/integrations/shopify/sync-customers."""

    integration_id: str = Field(alias="integrationId", min_length=1, max_length=64)
    sync_type: Literal["incremental", "full"] = Field(default="incremental", alias="syncType")
