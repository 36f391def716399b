"""External references: the idempotency key of every imported row, one per (integration,
object type, external id), with the hash of its mapped documents so an unchanged record is
skipped without a write. Every loader keeps them the same way, here."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from ledger.bulk import bulk_insert
from ledger.models import ExternalRef, utcnow


def content_hash(doc: object) -> str:
    """Fingerprint of mapped documents; dataclass reprs are deterministic."""
    return hashlib.blake2b(repr(doc).encode(), digest_size=16).hexdigest()


def existing_refs(conn: Connection, integration_id: str, object_type: str,
                  external_ids: Sequence[str]) -> dict[str, tuple[str, datetime | None]]:
    """external id -> (content hash, source time) of the ones already imported, their rows
    locked on PostgreSQL until the caller commits: two workers loading the same record take
    turns, and the second compares against what the first wrote."""
    found: dict[str, tuple[str, datetime | None]] = {}
    ids = list(external_ids)
    for start in range(0, len(ids), 500):
        stmt = select(ExternalRef.external_id, ExternalRef.content_hash,
                      ExternalRef.source_updated_at).where(
            ExternalRef.integration_id == integration_id,
            ExternalRef.object_type == object_type,
            ExternalRef.external_id.in_(ids[start:start + 500]))
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        found.update({ext: (h, upd) for ext, h, upd in conn.execute(stmt)})
    return found


def is_older(candidate: datetime | None, stored: datetime | None) -> bool:
    """True when a record's version is older than the one already imported (both known):
    loading it would take the books back in time."""
    return candidate is not None and stored is not None and candidate < stored


def write_refs(conn: Connection, integration_id: str, object_type: str,
               new: Sequence[str], changed: Sequence[str], local_ids: Mapping[str, str],
               hashes: Mapping[str, str],
               updated_at: Mapping[str, datetime | None] | None = None) -> None:
    """Insert the references of new records and move the hash (and source time) of changed
    ones, in the caller's transaction."""
    now = utcnow()
    updated_at = updated_at or {}
    bulk_insert(conn, ExternalRef.__table__, [
        {"integration_id": integration_id, "object_type": object_type, "external_id": e,
         "local_id": local_ids[e], "content_hash": hashes[e],
         "source_updated_at": updated_at.get(e), "created_at": now, "updated_at": now}
        for e in new])
    if changed:
        conn.execute(
            update(ExternalRef)
            .where(ExternalRef.integration_id == integration_id,
                   ExternalRef.object_type == object_type,
                   ExternalRef.external_id == bindparam("b_ext"))
            .values(content_hash=bindparam("b_hash"), source_updated_at=bindparam("b_upd"),
                    updated_at=now),
            [{"b_ext": e, "b_hash": hashes[e], "b_upd": updated_at.get(e)} for e in changed])
