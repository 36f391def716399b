"""/v1/integrations/{integrationId}/schedules: operations repeated at a frequency (the spec's
"Schedule regular syncs"). Each becomes a schedule of the operation's Prefect deployment, so
Prefect starts the runs and its UI shows them; the ledger keeps the list and answers
`nextSync`/`syncFrequency` in the status from it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from api.envelope import ok
from api.orchestrator import add_prefect_schedule, remove_prefect_schedule
from api.routes.integrations import id_path
from api.schemas import ScheduleRequest
from api.views import iso
from ledger.db import transaction
from ledger.integrations import get_integration
from ledger.schedules import (
    check_timezone,
    cron_for,
    delete_schedule,
    find_schedule,
    get_schedule,
    list_schedules,
    next_run,
    operation_for,
    set_prefect_ids,
)
from ledger.schedules import create_schedule as store_schedule

router = APIRouter(prefix="/v1/integrations", tags=["schedules"])


def schedule_view(schedule: dict[str, Any]) -> dict[str, Any]:
    return {"scheduleId": schedule["id"], "integrationId": schedule["integration_id"],
            "operation": schedule["operation"], "frequency": schedule["frequency"],
            "cron": schedule["cron"], "timezone": schedule["timezone"],
            "kind": schedule["kind"], "active": schedule["active"],
            "nextSync": iso(next_run(schedule["cron"], schedule["timezone"]))
            if schedule["active"] else None,
            "deployment": f"{schedule['flow_name']}/default",
            "createdAt": iso(schedule["created_at"])}


def schedule_operation(integration_id: str, platform: str, operation: str, frequency: str,
                       timezone: str = "UTC", kind: str = "user") -> dict[str, Any]:
    """Store a schedule and mirror it in Prefect; the same operation and kind scheduled
    again replaces the earlier schedule. If Prefect refuses, nothing is kept."""
    chosen = operation_for(platform, operation)
    cron = cron_for(frequency, integration_id, operation)
    with transaction() as conn:
        earlier = find_schedule(conn, integration_id, operation, kind)
    if earlier is not None:
        remove_prefect_schedule(earlier)
        with transaction() as conn:
            delete_schedule(conn, integration_id, earlier["id"])
    with transaction() as conn:
        schedule = store_schedule(conn, integration_id, operation, frequency, cron, timezone,
                                  chosen.flow_name, chosen.parameters, kind=kind)
    try:
        deployment_id, prefect_id = add_prefect_schedule(schedule)
    except Exception:
        with transaction() as conn:
            delete_schedule(conn, integration_id, schedule["id"])
        raise
    with transaction() as conn:
        set_prefect_ids(conn, schedule["id"], deployment_id, prefect_id)
        return get_schedule(conn, integration_id, schedule["id"])


@router.post("/{integrationId}/schedules", summary="Schedule regular syncs")
def create(body: ScheduleRequest, integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    with transaction() as conn:
        integration = get_integration(conn, integrationId)
    timezone = check_timezone(body.timezone)
    operations = list(dict.fromkeys(body.operations))
    for operation in operations:  # refuse the whole request before scheduling any of it
        operation_for(integration.platform, operation)
        cron_for(body.frequency, integration.id, operation)
    views = [schedule_view(schedule_operation(integration.id, integration.platform, op,
                                              body.frequency, timezone))
             for op in operations]
    return ok({"integrationId": integration.id, "frequency": body.frequency,
               "timezone": timezone, "operations": operations,
               "nextSync": min(v["nextSync"] for v in views), "schedules": views})


@router.get("/{integrationId}/schedules", summary="List an integration's schedules")
def list_all(integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    with transaction() as conn:
        integration = get_integration(conn, integrationId)
        return ok([schedule_view(s) for s in list_schedules(conn, integration.id)])


@router.delete("/{integrationId}/schedules/{scheduleId}", summary="Delete a schedule")
def remove(integrationId: str = id_path(),  # noqa: N803
           scheduleId: str = Path(min_length=1, max_length=64,  # noqa: N803
                                  pattern=r"^[A-Za-z0-9_\-]+$")) -> dict[str, Any]:
    with transaction() as conn:
        schedule = get_schedule(conn, integrationId, scheduleId)
    remove_prefect_schedule(schedule)
    with transaction() as conn:
        delete_schedule(conn, integrationId, scheduleId)
    return ok({"scheduleId": scheduleId, "deleted": True})
