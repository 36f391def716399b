"""Integration monitoring and analytics (the spec's "Integration Monitoring" and
"Integration Analytics"): status with statistics from the sync runs, a live health check,
and performance figures across integrations."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query

from api.envelope import ok
from api.routes.integrations import id_path
from api.views import iso
from bigledger.errors import IntegrationError
from connectors.factory import check_connection
from ledger.db import transaction
from ledger.imports import IMPORT_PLATFORM
from ledger.inbox import last_delivery
from ledger.integrations import IntegrationRecord, get_integration
from ledger.models import utcnow
from ledger.monitoring import (
    FINISHED,
    average_seconds,
    failed_deliveries,
    health,
    integrations,
    statistics,
    success_rate,
    sync_runs_since,
)
from ledger.schedules import list_schedules, next_run
from ledger.syncs import list_failures
from tasks.connections import connector_for

router = APIRouter(prefix="/v1/integrations", tags=["monitoring"])


@router.get("/analytics", summary="Performance metrics across integrations")
def analytics(days: int = Query(30, ge=1, le=366,
                                description="The period: the last this many days")) -> dict:
    """Summary and per-integration figures over the period. A sync succeeded when it
    completed with every record loaded; averageProcessingTime is the mean duration of the
    finished syncs, in seconds."""
    since = utcnow() - timedelta(days=days)
    with transaction() as conn:
        runs = sync_runs_since(conn, since)
        rows = integrations(conn)
        failing_inbox = {row.id: failed_deliveries(conn, row.id) for row in rows}
    by_integration = []
    for row in rows:
        own = [r for r in runs if r["integration_id"] == row.id]
        figures = statistics(own)
        finished = [r for r in own if r["status"] in FINISHED]
        last = max((r["finished_at"] for r in finished if r["finished_at"]), default=None)
        by_integration.append({
            "integrationId": row.id, "name": row.name, "type": row.platform,
            "status": health(row.status, finished, failing_inbox[row.id]),
            "syncs": len(own), "successRate": _sync_success(finished),
            "lastSync": iso(last),
            "dataVolume": {k: figures[k] for k in (
                "ordersProcessed", "productsUpdated", "customersCreated", "paymentsProcessed",
                "inventoryUpdated", "recordsProcessed", "recordsFailed")},
        })
    finished = [r for r in runs if r["status"] in FINISHED]
    return ok({
        "period": {"days": days, "from": iso(since), "to": iso(utcnow())},
        "summary": {
            "activeIntegrations": sum(1 for row in rows if row.status != "disconnected"),
            "totalSyncs": len(runs),
            "successRate": _sync_success(finished),
            "averageProcessingTime": average_seconds(finished),
        },
        "byIntegration": by_integration,
    })


def _sync_success(finished: list[dict[str, Any]]) -> float:
    return success_rate(len(finished),
                        sum(1 for r in finished if r["status"] != "completed"))


@router.get("/{integrationId}/status", summary="Integration status and statistics")
def integration_status(integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    """Health from the newest syncs and the inbox; statistics of the last 24 hours and the
    last week from the sync runs' counters; nextSync/syncFrequency from the schedules."""
    with transaction() as conn:
        record = get_integration(conn, integrationId)
        week = sync_runs_since(conn, utcnow() - timedelta(days=7), record.id)
        errors = list_failures(conn, integration_id=record.id, limit=10)
        schedules = [s for s in list_schedules(conn, record.id) if s["active"]]
        inbox_failures = failed_deliveries(conn, record.id)
    day_cutoff = utcnow() - timedelta(days=1)
    finished = [r for r in week if r["status"] in FINISHED]
    last = max((r["finished_at"] for r in finished if r["finished_at"]), default=None)
    return ok({
        "integrationId": record.id,
        "status": health(record.status, finished, inbox_failures),
        "lastSync": iso(last),
        **_schedule_summary(schedules),
        "statistics": {"last24Hours": statistics([r for r in week
                                                  if r["created_at"] >= day_cutoff]),
                       "lastWeek": statistics(week)},
        "recentErrors": [
            {"timestamp": iso(e["last_attempt_at"]), "type": e["code"].lower(),
             "code": e["code"], "message": e["message"], "recordType": e["object_type"],
             "recordId": e["external_id"],
             **({"orderId": e["external_id"]} if e["object_type"] == "order" else {}),
             "attempts": e["attempts"], "syncId": e["sync_id"]}
            for e in errors
        ],
    })


def _schedule_summary(schedules: list[dict[str, Any]]) -> dict[str, Any]:
    """nextSync: the soonest run of the integration's schedules; syncFrequency: the frequency
    of that schedule ("manual" with none)."""
    if not schedules:
        return {"nextSync": None, "syncFrequency": "manual"}
    soonest = min(schedules, key=lambda s: next_run(s["cron"], s["timezone"]))
    return {"nextSync": iso(next_run(soonest["cron"], soonest["timezone"])),
            "syncFrequency": soonest["frequency"]}


@router.get("/{integrationId}/health", summary="Live health check of an integration")
def integration_health(integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    """Checks: the connection (one authenticated call now, its response time), the webhook
    endpoint (the last delivery received), and the rate-limit budget the platform reported
    on that call. The status is the worst of them."""
    with transaction() as conn:
        record = get_integration(conn, integrationId)
        delivery = last_delivery(conn, record.id)
        inbox_failures = failed_deliveries(conn, record.id)
    connection, budget = _connection_check(record)
    checks = [connection, _webhook_check(record, delivery, inbox_failures),
              _rate_check(budget)]
    order = ["healthy", "unknown", "degraded", "failing", "disconnected"]
    worst = max((c["status"] for c in checks), key=order.index)
    return ok({"integrationId": record.id,
               "status": "healthy" if worst == "unknown" else worst, "checks": checks})


def _connection_check(record: IntegrationRecord) -> tuple[dict[str, Any], Any]:
    if record.platform == IMPORT_PLATFORM:  # transform-data loads: no platform behind them
        return {"name": "connection", "status": "unknown", "responseTime": None,
                "lastChecked": iso(utcnow()), "note": "file imports have no platform"}, None
    started = time.perf_counter()
    connector = None
    try:
        # The integration's own connector (as its syncs use it): a rotated QuickBooks or
        # Xero refresh token is stored the moment it arrives, and its rate budget is the
        # one this call just read from the platform.
        connector = connector_for(record)
        check_connection(connector)
        status, error = "healthy", None
    except IntegrationError as exc:
        status = ("disconnected" if str(exc.code) in {"AUTH_FAILED", "INVALID_CREDENTIALS"}
                  else "failing")
        error = {"code": str(exc.code), "message": exc.message}
    elapsed = round((time.perf_counter() - started) * 1000)
    budget = getattr(connector, "rate_budget", None)
    budget = budget() if callable(budget) and status == "healthy" else None
    check = {"name": "connection", "status": status, "responseTime": elapsed,
             "lastChecked": iso(utcnow())}
    if error:
        check["error"] = error
    return check, budget


def _webhook_check(record: IntegrationRecord, delivery: dict[str, Any] | None,
                   inbox_failures: int) -> dict[str, Any]:
    check: dict[str, Any] = {"name": "webhook_endpoint",
                             "lastReceived": iso(delivery["received_at"]) if delivery else None}
    if delivery is None:
        check["status"] = "unknown"  # nothing received yet (or no webhooks registered)
    elif inbox_failures:
        check["status"] = "degraded"
        check["failedDeliveries"] = inbox_failures
    else:
        check["status"] = "healthy"
    return check


def _rate_check(budget: Any) -> dict[str, Any]:
    """The budget as the platform last stated it (None: it states none)."""
    if isinstance(budget, dict):  # Xero: several windows; the per-minute one binds first
        budget = budget.get("minute")
    elif budget is not None:
        budget = budget.as_dict()
    check: dict[str, Any] = {"name": "rate_limits", "status": "unknown", "remaining": None,
                             "resetTime": None}
    if not budget or budget.get("remaining") is None:
        return check
    remaining, limit = budget["remaining"], budget.get("limit")
    check["remaining"] = int(remaining)
    check["limit"] = int(limit) if limit is not None else None
    reset_after = budget.get("reset_after_seconds")
    if reset_after is None and limit and budget.get("restore_rate"):
        reset_after = (limit - remaining) / budget["restore_rate"]  # full again
    if reset_after is not None:
        check["resetTime"] = iso(utcnow() + timedelta(seconds=float(reset_after)))
    low = limit is not None and limit > 0 and remaining < 0.1 * limit
    check["status"] = "degraded" if low else "healthy"
    return check
