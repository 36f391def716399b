"""Bookkeeping of a sync run: open it (or pick up the one the API opened), close it, and
publish its summary in Prefect."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from ledger.db import transaction
from ledger.migrate import ensure_schema
from ledger.syncs import (
    RecordFailure,
    add_counters,
    count_open_failures,
    create_sync_run,
    find_sync_run,
    get_cursor,
    get_sync_run,
    mark_finished,
    mark_started,
    record_failures,
    update_sync_run,
)

TASK_OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="open-sync-run", **TASK_OPTIONS)
def open_sync_run(
    integration_id: str, operation: str, parameters: dict[str, Any], sync_id: str | None,
    flow_run_id: str | None,
) -> dict[str, Any]:
    """Start the sync record the API opened, or open one (a run started from the Prefect UI)."""
    ensure_schema()
    with transaction() as conn:
        run = (find_sync_run(conn, sync_id) if sync_id else None) or create_sync_run(
            conn, integration_id, operation, parameters, sync_id=sync_id,
            flow_run_id=flow_run_id, status="processing",
        )
        mark_started(conn, run["id"], flow_run_id)
        return get_sync_run(conn, run["id"])


@task(name="read-stream-cursor", **TASK_OPTIONS)
def read_stream_cursor(integration_id: str, stream: str) -> str | None:
    """The stream's high-water mark."""
    with transaction() as conn:
        return get_cursor(conn, integration_id, stream)


@task(name="set-records-to-process", **TASK_OPTIONS)
def set_records_to_process(sync_id: str, count: int) -> None:
    """Record how many records the sync expects (for progress and estimates)."""
    with transaction() as conn:
        update_sync_run(conn, sync_id, records_to_process=count)


@task(name="add-sync-counters", **TASK_OPTIONS)
def add_sync_counters(sync_id: str, increments: dict[str, int]) -> None:
    """Count something on the sync outside a batch (e.g. a bulk operation used)."""
    with transaction() as conn:
        add_counters(conn, sync_id, increments)


@task(name="record-sync-result", **TASK_OPTIONS)
def record_sync_result(sync_id: str, result: Any, increments: dict[str, int],
                       channel_failures: list[tuple[str, str]] = ()) -> None:
    """Keep a per-item/per-channel result and its counters on the sync; a channel that
    failed is an open record error of that channel's integration."""
    with transaction() as conn:
        add_counters(conn, sync_id, increments)
        update_sync_run(conn, sync_id, result=result)
        for integration_id, message in channel_failures:
            record_failures(conn, sync_id, integration_id, [
                RecordFailure("channel", integration_id, "PLATFORM_UNAVAILABLE", message)])


@task(name="finish-sync-run", **TASK_OPTIONS)
def finish_sync_run(sync_id: str, error_code: str | None = None,
                    error_message: str | None = None,
                    records_failed: bool = False) -> dict[str, Any]:
    """Close the sync: failed with its error, completed, or completed_with_errors when some
    records failed (its own, or `records_failed`: another sync's records, as a retry
    replays); publish the summary table artifact."""
    with transaction() as conn:
        if error_code:
            status = "failed"
        else:
            failed = records_failed or count_open_failures(conn, sync_id)
            status = "completed_with_errors" if failed else "completed"
        mark_finished(conn, sync_id, status, error_code=error_code, error_message=error_message)
        run = get_sync_run(conn, sync_id)
    table = [{"counter": k, "value": v} for k, v in sorted(run["counters"].items())]
    table.append({"counter": "status", "value": status})
    create_table_artifact(
        key=f"{sync_id.replace('_', '-').lower()}-summary", table=table,
        description=f"{run['operation']} {sync_id}: {status}",
    )
    return run
