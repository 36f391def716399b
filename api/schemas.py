"""Request bodies of the spec, validated with pydantic (camelCase on the wire)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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

    @model_validator(mode="after")
    def _ordered(self) -> DayOrTimeRange:
        self.as_date_range()  # from after to, or a time without a zone: a clear 422
        return self

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


AmazonOrderStatusName = Literal["PendingAvailability", "Pending", "Unshipped",
                                "PartiallyShipped", "Shipped", "InvoiceUnconfirmed",
                                "Canceled", "Unfulfillable", "Delivered"]


class AmazonCredentials(SpecModel):
    """SP-API credentials (Login with Amazon). The spec's MWS keys are accepted only so the
    answer can say clearly that MWS is retired and what SP-API needs instead."""

    seller_id: str | None = Field(default=None, alias="sellerId", max_length=100)
    marketplace_id: str | None = Field(default=None, alias="marketplaceId", max_length=40)
    client_id: str | None = Field(default=None, alias="clientId", max_length=500)
    client_secret: str | None = Field(default=None, alias="clientSecret", max_length=500)
    refresh_token: str | None = Field(default=None, alias="refreshToken", max_length=2000)
    mws_access_key: str | None = Field(default=None, alias="mwsAccessKey", max_length=200)
    mws_secret_key: str | None = Field(default=None, alias="mwsSecretKey", max_length=200)
    mws_auth_token: str | None = Field(default=None, alias="mwsAuthToken", max_length=200)


class AmazonSyncOrdersRequest(SpecModel):
    """POST /v1/integrations/amazon/sync-orders."""

    integration_id: str = Field(alias="integrationId", min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9_\-]+$")
    credentials: AmazonCredentials | None = None
    date_range: DayOrTimeRange | None = Field(default=None, alias="dateRange")
    order_status: list[AmazonOrderStatusName] | None = Field(default=None, alias="orderStatus",
                                                             max_length=20)


class AmazonSyncFeesRequest(SpecModel):
    """POST /v1/integrations/amazon/sync-fees."""

    integration_id: str = Field(alias="integrationId", min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9_\-]+$")
    report_type: Literal["settlement"] = Field(default="settlement", alias="reportType")
    date_range: DayOrTimeRange | None = Field(default=None, alias="dateRange")


class StripeCredentials(SpecModel):
    secret_key: str = Field(alias="secretKey", min_length=1, max_length=500)
    webhook_endpoint_secret: str | None = Field(default=None, alias="webhookEndpointSecret",
                                                max_length=500)


class PaymentSyncSwitches(SpecModel):
    """The include* switches shared by the payment syncs."""

    include_refunds: bool = Field(default=True, alias="includeRefunds", strict=True)
    include_chargebacks: bool = Field(default=True, alias="includeChargebacks", strict=True)
    include_fees: bool = Field(default=True, alias="includeFees", strict=True)


class StripeSyncPaymentsRequest(PaymentSyncSwitches):
    """POST /v1/integrations/stripe/sync-payments."""

    integration_id: str = Field(alias="integrationId", min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9_\-]+$")
    credentials: StripeCredentials | None = None
    date_range: DayOrTimeRange | None = Field(default=None, alias="dateRange")
    batch_size: int | None = Field(default=None, alias="batchSize", ge=1, le=1000)


class PayPalCredentials(SpecModel):
    client_id: str = Field(alias="clientId", min_length=1, max_length=500)
    client_secret: str = Field(alias="clientSecret", min_length=1, max_length=500)
    webhook_id: str | None = Field(default=None, alias="webhookId", max_length=200)


class PayPalSyncTransactionsRequest(PaymentSyncSwitches):
    """POST /v1/integrations/paypal/sync-transactions (designed in the style of Stripe's
    sync-payments; the spec leaves it TODO)."""

    integration_id: str = Field(alias="integrationId", min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9_\-]+$")
    credentials: PayPalCredentials | None = None
    date_range: DayOrTimeRange | None = Field(default=None, alias="dateRange")


class QuickBooksCredentials(SpecModel):
    """The spec's QuickBooks credentials: the app's client id and secret, the company's
    OAuth tokens and its id (companyId, QuickBooks' realmId)."""

    client_id: str = Field(alias="clientId", min_length=1, max_length=500)
    client_secret: str = Field(alias="clientSecret", min_length=1, max_length=500)
    refresh_token: str = Field(alias="refreshToken", min_length=1, max_length=2000)
    access_token: str | None = Field(default=None, alias="accessToken", max_length=5000)
    company_id: str | None = Field(default=None, alias="companyId", pattern=r"^\d{1,32}$")
    realm_id: str | None = Field(default=None, alias="realmId", pattern=r"^\d{1,32}$")

    @model_validator(mode="after")
    def _company(self) -> QuickBooksCredentials:
        if not (self.company_id or self.realm_id):
            raise ValueError("credentials need companyId (the QuickBooks realm id)")
        return self

    def stored(self) -> dict[str, str]:
        """The credentials as the integration keeps them (realmId names the company)."""
        out = {"realmId": self.company_id or self.realm_id or "", "clientId": self.client_id,
               "clientSecret": self.client_secret, "refreshToken": self.refresh_token}
        if self.access_token:
            out["accessToken"] = self.access_token
        return out


class QuickBooksRequest(SpecModel):
    """What every QuickBooks migration body carries: the integration (or the company's
    credentials, which create it under int_quickbooks_<companyId>)."""

    integration_id: str | None = Field(default=None, alias="integrationId", min_length=1,
                                       max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    credentials: QuickBooksCredentials | None = None

    @model_validator(mode="after")
    def _who(self) -> QuickBooksRequest:
        if not (self.integration_id or self.credentials):
            raise ValueError("send integrationId or credentials")
        return self


class ExportCoaOptions(SpecModel):
    include_inactive: bool = Field(default=False, alias="includeInactive", strict=True)
    map_to_standard: bool = Field(default=True, alias="mapToStandard", strict=True)


class QuickBooksExportCoaRequest(QuickBooksRequest):
    """POST /v1/integrations/quickbooks/export-coa."""

    options: ExportCoaOptions = Field(default_factory=ExportCoaOptions)


class CustomerMigrationOptions(SpecModel):
    include_vendors: bool = Field(default=True, alias="includeVendors", strict=True)


class QuickBooksMigrateCustomersRequest(QuickBooksRequest):
    """POST /v1/integrations/quickbooks/migrate-customers."""

    options: CustomerMigrationOptions = Field(default_factory=CustomerMigrationOptions)


class QuickBooksMigrateTransactionsRequest(QuickBooksRequest):
    """POST /v1/integrations/quickbooks/migrate-transactions."""

    date_range: DayOrTimeRange | None = Field(default=None, alias="dateRange")
    transaction_types: list[Literal[
        "journal_entry", "invoice", "credit_memo", "sales_receipt", "refund_receipt",
        "payment", "bill", "vendor_credit", "bill_payment", "purchase", "deposit",
        "transfer"]] | None = Field(default=None, alias="transactionTypes", max_length=12)
    batch_size: int | None = Field(default=None, alias="batchSize", ge=1, le=1000)


class XeroCredentials(SpecModel):
    client_id: str = Field(alias="clientId", min_length=1, max_length=500)
    client_secret: str = Field(alias="clientSecret", min_length=1, max_length=500)
    refresh_token: str = Field(alias="refreshToken", min_length=1, max_length=2000)
    access_token: str | None = Field(default=None, alias="accessToken", max_length=5000)


class XeroFullMigrationRequest(SpecModel):
    """POST /v1/integrations/xero/full-migration (designed here; the spec leaves it TODO)."""

    integration_id: str | None = Field(default=None, alias="integrationId", min_length=1,
                                       max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    credentials: XeroCredentials | None = None
    tenant_id: str | None = Field(default=None, alias="tenantId",
                                  pattern=r"^[0-9A-Fa-f\-]{8,64}$")
    date_range: DayOrTimeRange | None = Field(default=None, alias="dateRange")
    include: list[Literal["accounts", "contacts", "invoices", "credit_notes", "payments",
                          "bank_transactions", "manual_journals"]] | None = Field(
        default=None, max_length=7)
    dry_run: bool = Field(default=False, alias="dryRun", strict=True)
    batch_size: int | None = Field(default=None, alias="batchSize", ge=1, le=1000)

    @model_validator(mode="after")
    def _who(self) -> XeroFullMigrationRequest:
        if not (self.integration_id or (self.credentials and self.tenant_id)):
            raise ValueError("send integrationId, or credentials with tenantId")
        return self


class TransformDataRequest(SpecModel):
    """POST /v1/integrations/transform-data: the spec's body, plus `load` (write the valid
    records into the ledger), `integrationId` (whose records they become; default the
    built-in import integration) and `delimiter` (when sniffing cannot tell)."""

    source_format: Literal["csv", "json", "jsonl", "xlsx"] = Field(alias="sourceFormat")
    target_format: str = Field(alias="targetFormat", min_length=1, max_length=64)
    mapping: dict[str, Any] = Field(min_length=1, max_length=500)
    data: str | list[dict[str, Any]]
    load: bool = Field(default=False, strict=True)
    integration_id: str | None = Field(default=None, alias="integrationId", min_length=1,
                                       max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)


WebhookEventName = Literal[
    "*", "order.created", "order.updated", "order.cancelled", "order.paid", "refund.created",
    "product.created", "product.updated", "product.deleted", "inventory.updated",
    "customer.created", "customer.updated", "payment.succeeded", "payment.refunded",
    "dispute.created", "payout.paid", "invoice.created", "invoice.updated", "sync.completed",
    "sync.failed"]


class WebhookSubscriptionRequest(SpecModel):
    """POST /v1/integrations/{integrationId}/webhooks (the spec's body)."""

    events: list[WebhookEventName] = Field(min_length=1, max_length=50)
    endpoint: str = Field(min_length=8, max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=500,
                               description="Signing secret; omitted: one is generated and "
                               "returned once")
    active: bool = Field(default=True, strict=True)


class WebhookSubscriptionUpdate(SpecModel):
    """PATCH /v1/integrations/{integrationId}/webhooks/{webhookId}: any of the fields."""

    events: list[WebhookEventName] | None = Field(default=None, min_length=1, max_length=50)
    endpoint: str | None = Field(default=None, min_length=8, max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=500)
    active: bool | None = Field(default=None, strict=True)


class ScheduleRequest(SpecModel):
    """POST /v1/integrations/{integrationId}/schedules: operations repeated at a frequency."""

    frequency: str = Field(min_length=1, max_length=100,
                           description="hourly, daily or a 5-field cron expression")
    operations: list[str] = Field(min_length=1, max_length=10)
    timezone: str = Field(default="UTC", min_length=1, max_length=64,
                          description="IANA time zone the cron expression is read in")


class RetryFailedRequest(SpecModel):
    """POST /v1/integrations/{integrationId}/retry-failed (the spec's body)."""

    sync_id: str = Field(alias="syncId", min_length=1, max_length=64,
                         pattern=r"^[A-Za-z0-9_\-]+$")
    retry_type: Literal["failed_only", "all"] = Field(default="failed_only", alias="retryType")
    max_retries: int = Field(default=3, alias="maxRetries", ge=1, le=10, strict=True)
