"""Sync runs, their counters, per-record errors and the stream cursors (high-water marks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from bigledger.errors import NotFound
from ledger.ids import new_id
from ledger.models import RecordError, SyncCursor, SyncRun, utcnow

FINISHED = {"completed", "completed_with_errors", "failed", "cancelled"}


@dataclass(frozen=True, slots=True)
class RecordFailure:
    """One record that could not be mapped or loaded, kept with its payload for a retry."""

    object_type: str
    external_id: str
    code: str
    message: str
    payload: Any = None


def create_sync_run(
    conn: Connection, integration_id: str, operation: str, parameters: Mapping[str, Any],
    *, sync_id: str | None = None, flow_run_id: str | None = None, status: str = "pending",
) -> dict[str, Any]:
    """Open a sync run record (its id is the spec's syncId)."""
    sid = sync_id or new_id("sync")
    now = utcnow()
    conn.execute(
        insert(SyncRun).values(
            id=sid, integration_id=integration_id, operation=operation, status=status,
            parameters=dict(parameters), counters={}, flow_run_id=flow_run_id,
            created_at=now, updated_at=now,
        )
    )
    return get_sync_run(conn, sid)


def get_sync_run(conn: Connection, sync_id: str) -> dict[str, Any]:
    """One sync run as a dict of its columns, or NotFound."""
    row = conn.execute(select(SyncRun).where(SyncRun.id == sync_id)).mappings().first()
    if row is None:
        raise NotFound(f"sync {sync_id!r} does not exist")
    return dict(row)


def find_sync_run(conn: Connection, sync_id: str) -> dict[str, Any] | None:
    """One sync run, or None."""
    try:
        return get_sync_run(conn, sync_id)
    except NotFound:
        return None


def update_sync_run(conn: Connection, sync_id: str, **values: Any) -> None:
    """Set columns of a sync run (status, flow_run_id, records_to_process, ...)."""
    values["updated_at"] = utcnow()
    conn.execute(update(SyncRun).where(SyncRun.id == sync_id).values(**values))


def mark_started(conn: Connection, sync_id: str, flow_run_id: str | None) -> None:
    """The flow picked the sync up."""
    run = get_sync_run(conn, sync_id)
    update_sync_run(
        conn, sync_id, status="processing", flow_run_id=flow_run_id or run["flow_run_id"],
        started_at=run["started_at"] or utcnow(), finished_at=None,
        error_code=None, error_message=None,
    )


def mark_finished(
    conn: Connection, sync_id: str, status: str, *, error_code: str | None = None,
    error_message: str | None = None,
) -> None:
    """Close a sync run with its final status."""
    update_sync_run(conn, sync_id, status=status, finished_at=utcnow(),
                    error_code=error_code, error_message=error_message)


def add_counters(conn: Connection, sync_id: str, increments: Mapping[str, int],
                 resume_cursor: str | None = None) -> dict[str, int]:
    """Add to a sync's counters inside the caller's transaction (the batch's own)."""
    stmt = select(SyncRun.counters).where(SyncRun.id == sync_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    current = dict(conn.execute(stmt).scalar_one() or {})
    for key, value in increments.items():
        current[key] = int(current.get(key, 0)) + int(value)
    values: dict[str, Any] = {"counters": current, "updated_at": utcnow()}
    if resume_cursor is not None:
        values["resume_cursor"] = resume_cursor
    conn.execute(update(SyncRun).where(SyncRun.id == sync_id).values(**values))
    return current


def record_failures(conn: Connection, sync_id: str, integration_id: str,
                    failures: list[RecordFailure]) -> None:
    """Store per-record failures; a record failing again in the same sync counts an attempt."""
    if not failures:
        return
    now = utcnow()
    existing = {
        (r.object_type, r.external_id): r.id
        for r in conn.execute(
            select(RecordError.id, RecordError.object_type, RecordError.external_id).where(
                RecordError.sync_id == sync_id,
                RecordError.external_id.in_([f.external_id for f in failures]),
            )
        )
    }
    new_rows = []
    for f in failures:
        rid = existing.get((f.object_type, f.external_id))
        if rid is None:
            new_rows.append({
                "sync_id": sync_id, "integration_id": integration_id,
                "object_type": f.object_type, "external_id": f.external_id, "code": f.code,
                "message": f.message, "payload": f.payload, "attempts": 1,
                "created_at": now, "last_attempt_at": now,
            })
            existing[(f.object_type, f.external_id)] = -1
        elif rid > 0:
            conn.execute(
                update(RecordError).where(RecordError.id == rid).values(
                    code=f.code, message=f.message, payload=f.payload,
                    attempts=RecordError.attempts + 1, last_attempt_at=now, resolved_at=None,
                )
            )
    if new_rows:
        conn.execute(insert(RecordError), new_rows)


def resolve_failures(conn: Connection, integration_id: str, object_type: str,
                     external_ids: list[str]) -> None:
    """Records that loaded fine leave the open-error list."""
    if not external_ids:
        return
    conn.execute(
        update(RecordError)
        .where(
            RecordError.integration_id == integration_id,
            RecordError.object_type == object_type,
            RecordError.external_id.in_(external_ids),
            RecordError.resolved_at.is_(None),
        )
        .values(resolved_at=utcnow())
    )


def list_failures(conn: Connection, sync_id: str | None = None, integration_id: str | None = None,
                  limit: int = 50, open_only: bool = True) -> list[dict[str, Any]]:
    """Recent record errors, newest first."""
    stmt = select(RecordError).order_by(RecordError.last_attempt_at.desc()).limit(limit)
    if sync_id:
        stmt = stmt.where(RecordError.sync_id == sync_id)
    if integration_id:
        stmt = stmt.where(RecordError.integration_id == integration_id)
    if open_only:
        stmt = stmt.where(RecordError.resolved_at.is_(None))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def get_cursor(conn: Connection, integration_id: str, stream: str) -> str | None:
    """The stream's high-water mark, or None before its first sync."""
    return conn.execute(
        select(SyncCursor.value).where(
            and_(SyncCursor.integration_id == integration_id, SyncCursor.stream == stream)
        )
    ).scalar_one_or_none()


def set_cursor(conn: Connection, integration_id: str, stream: str, value: str) -> None:
    """Move the high-water mark (call in the same transaction as the batch it covers); the
    same value again writes nothing."""
    current = get_cursor(conn, integration_id, stream)
    if current == value:
        return
    if current is not None:
        conn.execute(
            update(SyncCursor)
            .where(SyncCursor.integration_id == integration_id, SyncCursor.stream == stream)
            .values(value=value, updated_at=utcnow())
        )
    else:
        conn.execute(insert(SyncCursor).values(integration_id=integration_id, stream=stream,
                                               value=value, updated_at=utcnow()))


def recent_sync_runs(conn: Connection, integration_id: str, since: timedelta) -> list[dict]:
    """Sync runs of an integration created within `since` of now."""
    cutoff: datetime = utcnow() - since
    rows = conn.execute(
        select(SyncRun)
        .where(SyncRun.integration_id == integration_id, SyncRun.created_at >= cutoff)
        .order_by(SyncRun.created_at.desc())
    ).mappings()
    return [dict(r) for r in rows]


def last_finished_sync(conn: Connection, integration_id: str) -> dict[str, Any] | None:
    """The newest finished sync of an integration."""
    row = conn.execute(
        select(SyncRun)
        .where(SyncRun.integration_id == integration_id, SyncRun.finished_at.is_not(None))
        .order_by(SyncRun.finished_at.desc())
        .limit(1)
    ).mappings().first()
    return dict(row) if row else None


def count_open_failures(conn: Connection, sync_id: str) -> int:
    """Open record errors of one sync."""
    return conn.execute(
        select(func.count()).select_from(RecordError).where(
            RecordError.sync_id == sync_id, RecordError.resolved_at.is_(None)
        )
    ).scalar_one()


def count_attempts(conn: Connection, sync_id: str, object_type: str,
                   external_ids: list[str]) -> None:
    """One more attempt on these records' errors of a sync (a replay that succeeded counts
    too; record_failures counts the ones that failed)."""
    if external_ids:
        conn.execute(update(RecordError).where(
            RecordError.sync_id == sync_id, RecordError.object_type == object_type,
            RecordError.external_id.in_(external_ids)).values(
            attempts=RecordError.attempts + 1, last_attempt_at=utcnow()))
