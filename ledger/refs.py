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


def existing_hashes(conn: Connection, integration_id: str, object_type: str,
                    external_ids: Sequence[str]) -> dict[str, str]:
    """external id -> content hash of the ones already imported."""
    found: dict[str, str] = {}
    ids = list(external_ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(ExternalRef.external_id, ExternalRef.content_hash).where(
            ExternalRef.integration_id == integration_id,
            ExternalRef.object_type == object_type,
            ExternalRef.external_id.in_(ids[start:start + 500])))
        found.update({ext: h for ext, h in rows})
    return found


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
