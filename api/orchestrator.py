"""Starting flow runs: the API opens a sync record and triggers the deployment Prefect serves,
and waits for nothing."""

from __future__ import annotations

import threading
from typing import Any

from api.envelope import ok
from api.views import sync_view
from bigledger.errors import IntegrationError, OrchestratorUnavailable
from bigledger.settings import get_settings
from ledger.db import transaction
from ledger.integrations import IntegrationRecord
from ledger.syncs import create_sync_run, get_sync_run, mark_finished, update_sync_run


def deployment_name(flow_name: str) -> str:
    """'shopify-sync-orders' -> 'shopify-sync-orders/default' (the suffix is a setting)."""
    return f"{flow_name}/{get_settings().deployment_suffix}"


def start_flow_run(flow_name: str, parameters: dict[str, Any], tags: list[str]) -> str:
    """Create a run of the flow's deployment and return its id at once (timeout=0)."""
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    try:
        run = run_deployment(name=deployment_name(flow_name), parameters=parameters,
                             timeout=0, tags=tags)
    except ObjectNotFound as exc:
        raise OrchestratorUnavailable(
            f"deployment {deployment_name(flow_name)} is not registered in Prefect: start "
            "`bigledger worker` (or `prefect deploy --all` with a work pool)"
        ) from exc
    except Exception as exc:  # Prefect down, ...
        raise OrchestratorUnavailable(
            f"could not start {deployment_name(flow_name)} in Prefect: {type(exc).__name__}: "
            f"{exc}"
        ) from exc
    return str(run.id)


def flow_run_state(flow_run_id: str) -> str | None:
    """The Prefect state type of a flow run (COMPLETED, FAILED, CRASHED, ...), None if unknown."""
    from prefect import get_client

    try:
        with get_client(sync_client=True) as client:
            return client.read_flow_run(flow_run_id).state_type.value
    except Exception:
        return None


def wait_for_flow_run(flow_run_id: str, timeout: float) -> str | None:
    """Poll Prefect until the run is final or `timeout` seconds pass; its last state type."""
    import time

    deadline = time.monotonic() + timeout
    state = flow_run_state(flow_run_id)
    while state not in FINAL_STATES and time.monotonic() < deadline:
        time.sleep(0.5)
        state = flow_run_state(flow_run_id)
    return state


FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def start_sync(integration: IntegrationRecord, operation: str, flow_name: str,
               parameters: dict[str, Any], flow_parameters: dict[str, Any],
               to_process: int, wait_seconds: float = 0) -> dict[str, Any]:
    """Open the sync record, start a run of the flow's deployment, answer in the spec's shape
    (if Prefect cannot start it, the sync is closed as failed with that error); with
    `wait_seconds`, wait that long for the run to finish first."""
    with transaction() as conn:
        run = create_sync_run(conn, integration.id, operation, parameters)
        update_sync_run(conn, run["id"], records_to_process=to_process)
    try:
        flow_run_id = start_flow_run(flow_name, {**flow_parameters, "sync_id": run["id"]},
                                     tags=["api", integration.platform, integration.id])
    except IntegrationError as exc:
        with transaction() as conn:
            mark_finished(conn, run["id"], "failed", error_code=str(exc.code),
                          error_message=exc.message)
        raise
    with transaction() as conn:
        update_sync_run(conn, run["id"], flow_run_id=flow_run_id, status="processing")
        run = get_sync_run(conn, run["id"])
    if wait_seconds > 0:
        # Short operations (inventory pushes) answer with their results when they finish in
        # time; otherwise the caller polls the sync like any other.
        wait_for_flow_run(flow_run_id, wait_seconds)
        with transaction() as conn:
            run = get_sync_run(conn, run["id"])
    return ok(sync_view(run))


# --- schedules: a ledger schedule row mirrored as a schedule of the operation's deployment --


def _deployment(client: Any, flow_name: str) -> Any:
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(deployment_name(flow_name))
    except ObjectNotFound as exc:
        raise OrchestratorUnavailable(
            f"deployment {deployment_name(flow_name)} is not registered in Prefect: start "
            "`bigledger worker` (or `prefect deploy --all` with a work pool)") from exc


def add_prefect_schedule(schedule: dict[str, Any]) -> tuple[str, str]:
    """Create the Prefect schedule of a ledger schedule on its operation's deployment, with
    the integration and the operation's parameters as the schedule's own parameters (one
    deployment serves every integration). Its slug is the ledger id, so creating it again
    finds the first one instead of adding a second. Returns (deployment id, schedule id)."""
    from prefect import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule

    try:
        with get_client(sync_client=True) as client:
            deployment = _deployment(client, schedule["flow_name"])
            for existing in client.read_deployment_schedules(deployment.id):
                if existing.slug == schedule["id"]:
                    return str(deployment.id), str(existing.id)
            created = client.create_deployment_schedules(deployment.id, [
                DeploymentScheduleCreate(
                    schedule=CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"]),
                    active=schedule["active"], slug=schedule["id"],
                    parameters={**schedule["parameters"],
                                "integration_id": schedule["integration_id"]})])
            return str(deployment.id), str(created[0].id)
    except IntegrationError:
        raise
    except Exception as exc:
        raise OrchestratorUnavailable(
            f"could not create the schedule in Prefect: {type(exc).__name__}: {exc}") from exc


def remove_prefect_schedule(schedule: dict[str, Any]) -> None:
    """Delete the Prefect schedule mirroring a ledger schedule (gone already: fine). Prefect
    deletes the runs it had planned with it, so a deleted schedule starts nothing more."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    if not schedule.get("prefect_deployment_id"):
        return
    try:
        with get_client(sync_client=True) as client:
            client.delete_deployment_schedule(schedule["prefect_deployment_id"],
                                              schedule["prefect_schedule_id"])
    except ObjectNotFound:
        pass
    except Exception as exc:
        raise OrchestratorUnavailable(
            f"could not delete the schedule in Prefect: {type(exc).__name__}: {exc}") from exc


def prefect_schedule_slugs(flow_name: str) -> dict[str, dict[str, Any]]:
    """The schedules Prefect holds on a flow's deployment, by slug (for tests and checks)."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        deployment = _deployment(client, flow_name)
        return {s.slug: {"id": str(s.id), "active": s.active, "parameters": s.parameters,
                         "cron": getattr(s.schedule, "cron", None)}
                for s in client.read_deployment_schedules(deployment.id) if s.slug}


# --- the webhook inbox: a processing run soon after deliveries arrive ------------------------

INBOX_FLOW = "process-webhooks"
# At most one start request per this many seconds per API process: a burst of deliveries
# is processed by one run (which takes everything waiting), not one run per delivery.
INBOX_DEBOUNCE_SECONDS = 2.0
_inbox_lock = threading.Lock()
_inbox_last_request = [0.0]


def request_inbox_processing() -> str | None:
    """Start a run of process-webhooks unless one was asked for moments ago (by this process,
    or by another one: the run's idempotency key is the time window). The inbox is durable
    and the deployment also runs on an interval, so a start that fails loses nothing; it is
    logged and left to the next one. Returns the flow-run id when one was requested."""
    import logging
    import time

    now = time.monotonic()
    with _inbox_lock:
        if now - _inbox_last_request[0] < INBOX_DEBOUNCE_SECONDS:
            return None
        _inbox_last_request[0] = now
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():  # no Prefect server configured (tests of the API alone)
        return None
    window = int(time.time() // INBOX_DEBOUNCE_SECONDS)
    try:
        run = run_deployment(name=deployment_name(INBOX_FLOW), timeout=0, as_subflow=False,
                             tags=["webhook"], idempotency_key=f"inbox:{window}")
    except Exception as exc:
        logging.getLogger(__name__).warning(
            "could not start %s (the interval run will process the inbox): %s: %s",
            INBOX_FLOW, type(exc).__name__, exc)
        return None
    return str(run.id)
