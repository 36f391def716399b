"""Starting flow runs: the API opens a sync record and triggers the deployment Prefect serves,
and waits for nothing."""

from __future__ import annotations

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
