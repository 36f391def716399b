"""What every sync flow shares: the pipelined batch loop and the high-water mark of a batch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from prefect.artifacts import update_progress_artifact

from bigledger.errors import IntegrationError
from tasks.sync_runs import finish_sync_run


@contextmanager
def closing_on_error(sync_id: str) -> Iterator[None]:
    """Close the sync as failed with the error's code when the flow body raises (the run then
    fails in Prefect with the code in its state message)."""
    try:
        yield
    except IntegrationError as exc:
        finish_sync_run(sync_id, str(exc.code), exc.message)
        raise
    except Exception as exc:
        finish_sync_run(sync_id, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
        raise


def pipeline(fetch: Callable[[str | None], Any], process: Callable[[dict[str, Any]], None],
             after: str | None, total: int, progress_id: Any, *,
             process_last_page: bool = False, done: int = 0) -> int:
    """Fetch batch n+1 (a submitted task) while batch n is mapped and loaded, until the
    platform says there is no next page; progress is reported as a Prefect artifact.

    With process_last_page the final page is processed even when empty (a flow that moves
    its mark with the last batch must see it). Batches travel wrapped in quote(): Prefect
    would otherwise walk every nested dict of a batch looking for futures, which costs more
    than mapping it. `done` counts records already processed (for progress); the new count
    is returned.
    """
    pending = fetch(after)
    while True:
        page = pending.result()
        if page["has_next_page"]:
            pending = fetch(page["end_cursor"])
        if page["records"] or (process_last_page and not page["has_next_page"]):
            done += len(page["records"])  # counted first: process may free the records
            process(page)
            forget_task_results()
            if total:
                update_progress_artifact(progress_id, progress=min(100.0, 100.0 * done / total))
        if not page["has_next_page"]:
            return done


def forget_task_results() -> None:
    """Drop the flow run's links from task results to their states.

    Prefect keeps, for the whole flow run, a state copy per task result and per first-level
    piece of it (FlowRunContext.run_results), to draw dependencies when a result is passed
    to another task. Our batches travel quoted, so no link is ever looked up, and over the
    thousands of batches of a large backfill they add up to tens of megabytes. Called once a
    batch is loaded, when nothing of it is passed on any more.
    """
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is not None:
        context.run_results.clear()


def resume_point(cursor: str | None, parts: list[str]) -> tuple[int, str | None]:
    """Where a run over several parts (entities, resources) resumes: the index of the part
    named in a '<part>:<position>' cursor and the position in it; (0, None) to start over."""
    if not cursor or ":" not in cursor:
        return 0, None
    part, position = cursor.split(":", 1)
    return (parts.index(part), position) if part in parts else (0, None)


def high_water(records: list[dict], field: str = "updatedAt") -> str | None:
    """The newest timestamp of `field` in a batch, as UTC ISO 8601 (a time without a zone,
    as WordPress's *_gmt fields, is UTC)."""
    stamps = [r.get(field) for r in records if r.get(field)]
    if not stamps:
        return None
    newest = max(_utc(s) for s in stamps)
    return newest.isoformat()


def _utc(stamp: str) -> datetime:
    value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
