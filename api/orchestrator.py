"""Starting flow runs: the API triggers the deployments Prefect serves, and waits for nothing."""

from __future__ import annotations

from typing import Any

from bigledger.errors import OrchestratorUnavailable
from bigledger.settings import get_settings


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
