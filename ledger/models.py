"""The ledger schema as SQLAlchemy 2 models. Alembic migrations (ledger/migrations) create it.

Amounts are BigInteger minor units next to an ISO 4217 currency code; never floats.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
Money = BigInteger  # minor units


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# --- integrations and sync bookkeeping -------------------------------------------------


class Integration(Timestamps, Base):
    __tablename__ = "integrations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)
    mapping: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Fernet token of the credentials JSON; never returned, never logged.
    credentials_encrypted: Mapped[str] = mapped_column(Text)


class SyncRun(Timestamps, Base):
    __tablename__ = "sync_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"), index=True)
    operation: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="pending")
    flow_run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    parameters: Mapped[dict] = mapped_column(JSONType, default=dict)
    counters: Mapped[dict] = mapped_column(JSONType, default=dict)
    records_to_process: Mapped[int | None] = mapped_column(Integer)
    # Page cursor of the last committed batch: a resumed run continues after it.
    resume_cursor: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # Per-item outcome of operations that answer item by item (inventory updates).
    result: Mapped[Any] = mapped_column(JSONType, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SyncCursor(Base):
    __tablename__ = "sync_cursors"

    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RecordError(Base):
    __tablename__ = "record_errors"
    __table_args__ = (UniqueConstraint("sync_id", "object_type", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sync_id: Mapped[str] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    payload: Mapped[Any] = mapped_column(JSONType, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExternalRef(Timestamps, Base):
    """The idempotency key of every imported row: one per (integration, type, external id)."""

    __tablename__ = "external_refs"
    __table_args__ = (UniqueConstraint("integration_id", "object_type", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"))
    object_type: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    local_id: Mapped[str] = mapped_column(String(64))
    # Hash of the mapped documents: an unchanged record is skipped without a write.
    content_hash: Mapped[str] = mapped_column(String(64))
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- chart of accounts ---------------------------------------------------------------


class Account(Base):
    """A ledger account: the standard chart's, or one migrated from an accounting system
    (integration_id and external_id set), linked to the standard account it corresponds to."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("integration_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))  # asset liability equity income expense
    subtype: Mapped[str | None] = mapped_column(String(40))
    normal_balance: Mapped[str] = mapped_column(String(6))  # debit | credit
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Migrated accounts only:
    integration_id: Mapped[str | None] = mapped_column(ForeignKey("integrations.id"))
    external_id: Mapped[str | None] = mapped_column(String(128))
    source_code: Mapped[str | None] = mapped_column(String(40))  # the number users know
    full_name: Mapped[str | None] = mapped_column(String(500))
    source_type: Mapped[str | None] = mapped_column(String(64))
    source_subtype: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    standard_account_id: Mapped[str | None] = mapped_column(String(64))
    mapping_note: Mapped[str | None] = mapped_column(Text)


class TaxCode(Base):
    __tablename__ = "tax_codes"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    rate: Mapped[str] = mapped_column(String(12))  # percent as a decimal string, e.g. "6"
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))


# --- business documents -------------------------------------------------------------


class Customer(Timestamps, Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("integration_id", "external_id"),
        Index("ix_customers_integration_email", "integration_id", "email"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str | None] = mapped_column(ForeignKey("integrations.id"))
    external_id: Mapped[str | None] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(400))
    # What accounting migrations bring (contacts of QuickBooks and Xero):
    company_name: Mapped[str | None] = mapped_column(String(400))
    phone: Mapped[str | None] = mapped_column(String(64))
    billing_address: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    shipping_address: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    payment_terms: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str | None] = mapped_column(String(3))
    balance_minor: Mapped[int | None] = mapped_column(Money)
    is_customer: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    is_supplier: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class Product(Timestamps, Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("integration_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str | None] = mapped_column(ForeignKey("integrations.id"))
    external_id: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(500))
    # active | draft | archived | deleted (deleted upstream: kept, never erased)
    status: Mapped[str] = mapped_column(String(20), default="active")
    handle: Mapped[str | None] = mapped_column(String(500))
    vendor: Mapped[str | None] = mapped_column(String(200))
    product_type: Mapped[str | None] = mapped_column(String(200))
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProductVariant(Timestamps, Base):
    __tablename__ = "product_variants"
    __table_args__ = (UniqueConstraint("integration_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    integration_id: Mapped[str | None] = mapped_column(ForeignKey("integrations.id"))
    external_id: Mapped[str | None] = mapped_column(String(128))
    sku: Mapped[str | None] = mapped_column(String(200), index=True)
    title: Mapped[str | None] = mapped_column(String(500))
    price_minor: Mapped[int | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    compare_at_price_minor: Mapped[int | None] = mapped_column(Money)
    barcode: Mapped[str | None] = mapped_column(String(100))
    weight: Mapped[str | None] = mapped_column(String(32))  # exact decimal string
    weight_unit: Mapped[str | None] = mapped_column(String(16))
    inventory_item_external_id: Mapped[str | None] = mapped_column(String(128), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Location(Timestamps, Base):
    """A place stock is kept: a shop location, a warehouse, a marketplace fulfilment centre."""

    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("integration_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str | None] = mapped_column(ForeignKey("integrations.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))


class InventoryLevel(Base):
    """Units available of one variant at one location, as last seen or set."""

    __tablename__ = "inventory_levels"
    __table_args__ = (UniqueConstraint("variant_id", "location_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    variant_id: Mapped[str] = mapped_column(ForeignKey("product_variants.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), index=True)
    available: Mapped[int] = mapped_column(Integer)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SalesOrder(Timestamps, Base):
    __tablename__ = "sales_orders"
    __table_args__ = (UniqueConstraint("integration_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    order_number: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    order_date: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    financial_status: Mapped[str | None] = mapped_column(String(32))
    fulfillment_status: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    subtotal_minor: Mapped[int] = mapped_column(Money)
    discount_minor: Mapped[int] = mapped_column(Money)
    shipping_minor: Mapped[int] = mapped_column(Money)
    tax_minor: Mapped[int] = mapped_column(Money)
    total_minor: Mapped[int] = mapped_column(Money)
    refunded_minor: Mapped[int] = mapped_column(Money, default=0)
    outstanding_minor: Mapped[int] = mapped_column(Money, default=0)
    taxes_included: Mapped[bool] = mapped_column(Boolean, default=False)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"
    __table_args__ = (UniqueConstraint("sales_order_id", "line_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sales_order_id: Mapped[str] = mapped_column(ForeignKey("sales_orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(128))
    sku: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(Money)
    discount_minor: Mapped[int] = mapped_column(Money)
    tax_minor: Mapped[int] = mapped_column(Money)
    total_minor: Mapped[int] = mapped_column(Money)
    product_external_id: Mapped[str | None] = mapped_column(String(128))
    variant_external_id: Mapped[str | None] = mapped_column(String(128))


# --- money movements: processor balances and marketplace settlements ------------------


class Payment(Timestamps, Base):
    """One movement on a processor balance (Stripe balance transaction, PayPal transaction):
    charge, refund, dispute, fee, payout ... Its journal is posted under source_type
    '<platform>.payment' with the external id as source id."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("integration_id", "external_id"),
        Index("ix_payments_integration_occurred", "integration_id", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(Money)
    fee_minor: Mapped[int] = mapped_column(Money)
    net_minor: Mapped[int] = mapped_column(Money)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(128))
    order_ref: Mapped[str | None] = mapped_column(String(128))
    payout_id: Mapped[str | None] = mapped_column(String(128), index=True)
    description: Mapped[str | None] = mapped_column(Text)


class Settlement(Timestamps, Base):
    """A marketplace settlement (Amazon): posted when its lines add up to its total to the
    cent, flagged (and never posted) otherwise."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("integration_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deposit_date: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(Money)
    lines_total_minor: Mapped[int] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(20))  # posted | flagged
    by_category: Mapped[dict] = mapped_column(JSONType, default=dict)
    line_count: Mapped[int] = mapped_column(Integer, default=0)


class SettlementLine(Base):
    __tablename__ = "settlement_lines"
    __table_args__ = (UniqueConstraint("settlement_id", "line_no"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    settlement_id: Mapped[str] = mapped_column(ForeignKey("settlements.id", ondelete="CASCADE"),
                                               index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    transaction_type: Mapped[str] = mapped_column(String(64))
    amount_type: Mapped[str] = mapped_column(String(64))
    amount_description: Mapped[str] = mapped_column(String(200))
    order_id: Mapped[str | None] = mapped_column(String(64))
    sku: Mapped[str | None] = mapped_column(String(200))
    posted_date: Mapped[date | None] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(Money)
    category: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))


class SourceTransaction(Timestamps, Base):
    """A transaction migrated from an accounting system (invoice, bill, payment, journal...);
    its journal is posted under source_type '<platform>.transaction'."""

    __tablename__ = "source_transactions"
    __table_args__ = (
        UniqueConstraint("integration_id", "external_id"),
        Index("ix_source_transactions_integration_date", "integration_id", "txn_date"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    txn_type: Mapped[str] = mapped_column(String(40))
    number: Mapped[str | None] = mapped_column(String(64))
    txn_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(20))  # posted | voided | deleted | draft
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    memo: Mapped[str | None] = mapped_column(Text)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomConnector(Base):
    """One version of a custom connector definition (the spec's create-connector body,
    validated); the latest version not deleted is the connector."""

    __tablename__ = "custom_connectors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookSubscription(Timestamps, Base):
    """An outbound subscription: normalized events of one integration delivered to an
    endpoint, signed with its secret (stored encrypted, never returned)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"), index=True)
    events: Mapped[list] = mapped_column(JSONType)
    endpoint: Mapped[str] = mapped_column(Text)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookDelivery(Base):
    """The inbox: an inbound platform delivery, written durably before the platform gets
    its 2xx, deduplicated by the platform's event id, processed later by a flow."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("integration_id", "dedup_key"),
                      Index("ix_webhook_deliveries_status", "status", "received_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"))
    platform: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(300))
    topic: Mapped[str | None] = mapped_column(String(200))
    events: Mapped[list] = mapped_column(JSONType)  # normalized, the spec's shape
    body: Mapped[str] = mapped_column(Text)  # the raw body as received (UTF-8)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class OutboundDelivery(Base):
    """The outbox: one normalized event due to one subscriber. Sent in the order the events
    happened per resource (an event waits while an earlier one of its resource is undelivered),
    retried on the subscription's backoff until delivered or out of attempts."""

    __tablename__ = "outbound_deliveries"
    __table_args__ = (UniqueConstraint("subscription_id", "event_id"),
                      Index("ix_outbound_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_outbound_deliveries_resource", "subscription_id",
                            "resource_key", "occurred_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(300))
    event_type: Mapped[str] = mapped_column(String(100))
    resource_key: Mapped[str] = mapped_column(String(300))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict] = mapped_column(JSONType)  # the normalized event, the spec's shape
    status: Mapped[str] = mapped_column(String(20), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboundAttempt(Base):
    """Every attempt to deliver an outbound event: when, how long, what the subscriber said."""

    __tablename__ = "outbound_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_deliveries.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncSchedule(Timestamps, Base):
    """A recurring operation of an integration. The ledger keeps the list; each schedule is
    mirrored as a schedule of the operation's Prefect deployment (with the integration as its
    parameter), which is what runs it and what the Prefect UI shows."""

    __tablename__ = "sync_schedules"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id"), index=True)
    operation: Mapped[str] = mapped_column(String(64))
    frequency: Mapped[str] = mapped_column(String(100))  # hourly | daily | a cron expression
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    flow_name: Mapped[str] = mapped_column(String(100))
    parameters: Mapped[dict] = mapped_column(JSONType, default=dict)
    kind: Mapped[str] = mapped_column(String(20), default="user")  # user | sweep | connector
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    prefect_deployment_id: Mapped[str | None] = mapped_column(String(64))
    prefect_schedule_id: Mapped[str | None] = mapped_column(String(64))


# --- the books -----------------------------------------------------------------------


class JournalEntry(Base):
    """A posted entry: immutable. Changes upstream post a further entry (sequence + 1)."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        UniqueConstraint("integration_id", "source_type", "source_id", "sequence"),
        Index("ix_journal_entries_source", "integration_id", "source_type", "source_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    integration_id: Mapped[str | None] = mapped_column(ForeignKey("integrations.id"))
    source_type: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(128))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20))  # original | adjustment | reversal
    entry_date: Mapped[date] = mapped_column(Date, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    memo: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint(
            "debit_minor >= 0 AND credit_minor >= 0 AND (debit_minor = 0 OR credit_minor = 0)",
            name="one_side",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    debit_minor: Mapped[int] = mapped_column(Money, default=0)
    credit_minor: Mapped[int] = mapped_column(Money, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    memo: Mapped[str | None] = mapped_column(Text)
