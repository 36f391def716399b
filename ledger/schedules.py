"""Recurring operations of an integration ("sync_orders hourly"): which operations each
platform can repeat, how a frequency becomes a cron, and the rows that list the schedules.

The ledger row is the record of what the user asked for; Prefect runs it (api.orchestrator
mirrors each row as a schedule of the operation's deployment)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from sqlalchemy import Connection, delete, select, update

from bigledger.errors import NotFound, ValidationFailed
from ledger.ids import new_id
from ledger.models import SyncSchedule, utcnow


@dataclass(frozen=True, slots=True)
class Operation:
    """A repeatable operation: the flow that does it and its parameters besides the
    integration (always incremental: a scheduled run picks up what changed since the last)."""

    flow_name: str
    parameters: dict[str, Any] = field(default_factory=dict)


# What each platform can run on a schedule. sync_inventory reads stock levels, which come
# with the products (Shopify: per location; WooCommerce: per product/variation).
OPERATIONS: dict[str, dict[str, Operation]] = {
    "shopify": {
        "sync_orders": Operation("shopify-sync-orders"),
        "sync_products": Operation("shopify-sync-products"),
        "sync_inventory": Operation("shopify-sync-products", {"include_inventory": True}),
        "sync_customers": Operation("shopify-sync-customers"),
    },
    "woocommerce": {
        "sync_orders": Operation("woocommerce-sync-orders"),
        "sync_products": Operation("woocommerce-sync-catalog", {"kind": "products"}),
        "sync_inventory": Operation("woocommerce-sync-catalog", {"kind": "products"}),
        "sync_customers": Operation("woocommerce-sync-catalog", {"kind": "customers"}),
    },
    "amazon": {
        "sync_orders": Operation("amazon-sync-orders"),
        "sync_fees": Operation("amazon-sync-fees"),
    },
    "stripe": {"sync_payments": Operation("stripe-sync-payments")},
    "paypal": {"sync_payments": Operation("paypal-sync-transactions"),
               "sync_transactions": Operation("paypal-sync-transactions")},
    "quickbooks": {"sync_transactions": Operation("quickbooks-migrate-transactions"),
                   "sync_customers": Operation("quickbooks-migrate-customers")},
    "xero": {"sync_transactions": Operation("xero-full-migration")},
    "custom": {"sync": Operation("custom-sync")},
}

# What an integration's webhook sweep repeats: the incremental syncs that catch every change a
# lost delivery would otherwise miss.
SWEEP_OPERATIONS: dict[str, list[str]] = {
    "shopify": ["sync_orders", "sync_products"],
    "woocommerce": ["sync_orders", "sync_products"],
    "stripe": ["sync_payments"],
    "quickbooks": ["sync_transactions"],
    "xero": ["sync_transactions"],
}
MAX_SCHEDULES_PER_INTEGRATION = 50


def operation_for(platform: str, name: str) -> Operation:
    """The operation `name` of a platform, or ValidationFailed listing the ones it has."""
    known = OPERATIONS.get(platform, {})
    if name not in known:
        raise ValidationFailed(
            f"{platform} has no schedulable operation {name!r}; it has {sorted(known)}",
            details={"operation": name, "supported": sorted(known)})
    return known[name]


def cron_for(frequency: str, integration_id: str, operation: str) -> str:
    """hourly / daily / a 5-field cron expression -> a cron expression.

    hourly and daily start at a minute (and daily at an hour of the night) taken from the
    integration and operation, so a thousand shops set to "hourly" do not all call their
    platforms at minute 0."""
    spread = int(hashlib.sha256(f"{integration_id}:{operation}".encode()).hexdigest(), 16)
    if frequency == "hourly":
        return f"{spread % 60} * * * *"
    if frequency == "daily":
        return f"{spread % 60} {1 + spread // 60 % 4} * * *"
    parts = frequency.split()
    if len(parts) != 5:
        raise ValidationFailed(
            f"frequency must be hourly, daily or a 5-field cron expression, got {frequency!r}",
            details={"frequency": frequency})
    try:
        CronSim(frequency, datetime.now(UTC))
    except CronSimError as exc:
        raise ValidationFailed(f"frequency {frequency!r} is not a valid cron expression: {exc}",
                               details={"frequency": frequency}) from None
    return frequency


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {name!r} (use an IANA name such as "
                               "Asia/Kuala_Lumpur)", details={"timezone": name}) from None
    return name


def next_run(cron: str, timezone: str, after: datetime | None = None) -> datetime:
    """When the cron next fires after `after` (now), in UTC — the schedule's nextSync."""
    zone = ZoneInfo(timezone)
    start = (after or datetime.now(UTC)).astimezone(zone).replace(tzinfo=None)
    # cronsim works on naive local times; the zone is applied back after.
    moment = next(CronSim(cron, start))
    return moment.replace(tzinfo=zone).astimezone(UTC)


def create_schedule(conn: Connection, integration_id: str, operation: str, frequency: str,
                    cron: str, timezone: str, flow_name: str, parameters: dict[str, Any],
                    kind: str = "user") -> dict[str, Any]:
    """Store a schedule (not yet mirrored in Prefect)."""
    count = len(list_schedules(conn, integration_id))
    if count >= MAX_SCHEDULES_PER_INTEGRATION:
        raise ValidationFailed(f"an integration has at most {MAX_SCHEDULES_PER_INTEGRATION} "
                               "schedules; delete one first")
    sid = new_id("sch")
    now = utcnow()
    conn.execute(SyncSchedule.__table__.insert().values(
        id=sid, integration_id=integration_id, operation=operation, frequency=frequency,
        cron=cron, timezone=timezone, flow_name=flow_name, parameters=parameters, kind=kind,
        active=True, created_at=now, updated_at=now))
    return get_schedule(conn, integration_id, sid)


def find_schedule(conn: Connection, integration_id: str, operation: str,
                  kind: str) -> dict[str, Any] | None:
    row = conn.execute(select(SyncSchedule).where(
        SyncSchedule.integration_id == integration_id, SyncSchedule.operation == operation,
        SyncSchedule.kind == kind)).first()
    return _view(row) if row else None


def get_schedule(conn: Connection, integration_id: str, sid: str) -> dict[str, Any]:
    row = conn.execute(select(SyncSchedule).where(
        SyncSchedule.id == sid, SyncSchedule.integration_id == integration_id)).first()
    if row is None:
        raise NotFound(f"no schedule {sid!r} on integration {integration_id!r}")
    return _view(row)


def list_schedules(conn: Connection, integration_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(SyncSchedule).where(
        SyncSchedule.integration_id == integration_id).order_by(SyncSchedule.created_at,
                                                                 SyncSchedule.id))
    return [_view(r) for r in rows]


def set_prefect_ids(conn: Connection, sid: str, deployment_id: str,
                    schedule_id: str) -> None:
    conn.execute(update(SyncSchedule).where(SyncSchedule.id == sid).values(
        prefect_deployment_id=deployment_id, prefect_schedule_id=schedule_id,
        updated_at=utcnow()))


def delete_schedule(conn: Connection, integration_id: str, sid: str) -> dict[str, Any]:
    found = get_schedule(conn, integration_id, sid)
    conn.execute(delete(SyncSchedule).where(SyncSchedule.id == sid))
    return found


def _view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "integration_id": row.integration_id, "operation": row.operation,
            "frequency": row.frequency, "cron": row.cron, "timezone": row.timezone,
            "flow_name": row.flow_name, "parameters": dict(row.parameters or {}),
            "kind": row.kind, "active": bool(row.active),
            "prefect_deployment_id": row.prefect_deployment_id,
            "prefect_schedule_id": row.prefect_schedule_id,
            "created_at": row.created_at, "updated_at": row.updated_at}
