"""What the status, health and analytics answers are computed from: the sync runs' counters,
their outcomes and durations, and the inbox. Pure arithmetic over rows, so the answers can be
checked against hand-counted figures.

Counters are named "<kind><Outcome>" by the loaders (ordersProcessed, productsUpdated,
paymentsFailed ...). Record-level figures add up the primary kinds only: refunds, payouts and
chargebacks are also counted as payments, suppliers as customers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ledger.models import Integration, SyncRun, WebhookDelivery, utcnow

PRIMARY_KINDS = ("orders", "products", "customers", "payments", "transactions",
                 "settlements", "accounts", "inventory")
FINISHED = ("completed", "completed_with_errors", "failed", "cancelled")


def counter_totals(runs: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Every counter summed over the runs."""
    totals: dict[str, int] = {}
    for run in runs:
        for key, value in (run.get("counters") or {}).items():
            if isinstance(value, int | float):
                totals[key] = totals.get(key, 0) + int(value)
    return totals


def success_rate(processed: int, failed: int) -> float:
    """Percent of records processed without failure, one decimal (100.0 with none)."""
    if processed <= 0:
        return 100.0
    return round(100 * (processed - failed) / processed, 1)


def statistics(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The spec's statistics block for a period: orders, products and inventory figures,
    every record kind together, syncs, and the records' success rate."""
    totals = counter_totals(runs)

    def total(kind: str, *outcomes: str) -> int:
        return sum(totals.get(f"{kind}{o}", 0) for o in outcomes)

    processed = sum(total(k, "Processed") for k in PRIMARY_KINDS)
    failed = sum(total(k, "Failed") for k in PRIMARY_KINDS)
    return {
        "ordersProcessed": total("orders", "Processed"),
        "ordersCreated": total("orders", "Created"),
        "ordersUpdated": total("orders", "Updated"),
        "ordersFailed": total("orders", "Failed"),
        "productsUpdated": total("products", "Created", "Updated"),
        "inventoryUpdated": total("inventory", "Updated"),
        "customersCreated": total("customers", "Created"),
        "paymentsProcessed": total("payments", "Processed"),
        "recordsProcessed": processed,
        "recordsFailed": failed,
        "syncs": len(runs),
        "syncsFailed": sum(1 for r in runs if r["status"] == "failed"),
        "successRate": success_rate(processed, failed),
    }


def health(integration_status: str, runs: list[dict[str, Any]],
           failed_deliveries: int = 0) -> str:
    """healthy, degraded, failing or disconnected, from the newest finished syncs (newest
    first) and the inbox: credentials refused -> disconnected; the last sync failed ->
    failing; records failing in the last sync, or webhook deliveries that could not be
    processed -> degraded."""
    if integration_status == "disconnected":
        return "disconnected"
    finished = [r for r in runs if r["status"] in FINISHED]
    last = finished[0] if finished else None
    if last is not None and last["status"] == "failed":
        if last.get("error_code") in {"AUTH_FAILED", "INVALID_CREDENTIALS"}:
            return "disconnected"
        return "failing"
    if (last is not None and last["status"] == "completed_with_errors") or failed_deliveries:
        return "degraded"
    return "healthy"


def sync_runs_since(conn: Connection, since: datetime,
                    integration_id: str | None = None) -> list[dict[str, Any]]:
    """Sync runs created since a moment, newest first (one integration or all)."""
    stmt = select(SyncRun).where(SyncRun.created_at >= since).order_by(
        SyncRun.created_at.desc())
    if integration_id:
        stmt = stmt.where(SyncRun.integration_id == integration_id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def failed_deliveries(conn: Connection, integration_id: str,
                      since: timedelta = timedelta(days=1)) -> int:
    """Inbound webhook deliveries of the last day that could not be processed."""
    return conn.execute(select(func.count()).select_from(WebhookDelivery).where(
        WebhookDelivery.integration_id == integration_id,
        WebhookDelivery.status == "failed",
        WebhookDelivery.received_at >= utcnow() - since)).scalar_one()


def average_seconds(runs: Iterable[dict[str, Any]]) -> float:
    """Mean duration of the finished runs, in seconds (one decimal; 0.0 with none)."""
    durations = [(r["finished_at"] - r["started_at"]).total_seconds() for r in runs
                 if r.get("finished_at") and r.get("started_at")]
    return round(sum(durations) / len(durations), 1) if durations else 0.0


def integrations(conn: Connection) -> list[Any]:
    return list(conn.execute(select(Integration).order_by(Integration.created_at)))
