"""The webhook inbox: verified deliveries are written here (the API commits those arriving
together in one statement) before the platform gets its 2xx; the same delivery again
(platforms deliver at least once) finds its row and is acknowledged without a second one.
The process-webhooks flow takes them from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger.models import WebhookDelivery, utcnow


@dataclass(frozen=True, slots=True)
class IncomingDelivery:
    """A verified delivery waiting for its inbox row."""

    integration_id: str
    platform: str
    dedup_key: str
    topic: str | None
    events: list[dict[str, Any]]
    body: bytes


def store_deliveries(conn: Connection, deliveries: list[IncomingDelivery]) -> list[bool]:
    """Keep many deliveries in one statement (the API's group commit); for each, whether it
    was new (False: a duplicate, already kept or earlier in the same batch)."""
    first: dict[tuple[str, str], int] = {}
    for index, d in enumerate(deliveries):
        first.setdefault((d.integration_id, d.dedup_key), index)
    now = utcnow()
    rows = [{"integration_id": d.integration_id, "platform": d.platform,
             "dedup_key": d.dedup_key, "topic": d.topic, "events": d.events,
             "body": d.body.decode("utf-8", "replace"), "received_at": now,
             "status": "received", "attempts": 0}
            for index, d in enumerate(deliveries)
            if first[(d.integration_id, d.dedup_key)] == index]
    insert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(
        WebhookDelivery.__table__)
    # ON CONFLICT DO NOTHING: a copy already kept (or kept this instant by another API
    # process) is skipped without an error; RETURNING names the rows really inserted.
    stored = {(r.integration_id, r.dedup_key) for r in conn.execute(
        insert.on_conflict_do_nothing(index_elements=["integration_id", "dedup_key"])
        .returning(WebhookDelivery.integration_id, WebhookDelivery.dedup_key), rows)}
    return [first[(d.integration_id, d.dedup_key)] == index
            and (d.integration_id, d.dedup_key) in stored
            for index, d in enumerate(deliveries)]



# Deliveries whose processing failed this often stop being retried (status "failed"); the
# sweep's incremental syncs still bring in what they announced.
MAX_PROCESSING_ATTEMPTS = 10


def pending_deliveries(conn: Connection, limit: int,
                       integration_id: str | None = None) -> list[dict[str, Any]]:
    """Deliveries waiting to be processed, oldest first."""
    stmt = (select(WebhookDelivery.id, WebhookDelivery.integration_id,
                   WebhookDelivery.platform, WebhookDelivery.events,
                   WebhookDelivery.attempts)
            .where(WebhookDelivery.status == "received")
            .order_by(WebhookDelivery.id).limit(limit))
    if integration_id:
        stmt = stmt.where(WebhookDelivery.integration_id == integration_id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def mark_processed(conn: Connection, delivery_ids: list[int]) -> None:
    if delivery_ids:
        conn.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(delivery_ids))
                     .values(status="processed", processed_at=utcnow(),
                             attempts=WebhookDelivery.attempts + 1, error=None))


def mark_attempt_failed(conn: Connection, delivery_ids: list[int], error: str) -> None:
    """Count a failed attempt; the delivery is tried again on the next pass, or given up
    (status failed, with its error) after MAX_PROCESSING_ATTEMPTS."""
    if not delivery_ids:
        return
    conn.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(delivery_ids))
                 .values(attempts=WebhookDelivery.attempts + 1, error=error[:2000]))
    conn.execute(update(WebhookDelivery).where(
        WebhookDelivery.id.in_(delivery_ids),
        WebhookDelivery.attempts >= MAX_PROCESSING_ATTEMPTS).values(status="failed"))


def last_delivery(conn: Connection, integration_id: str) -> dict[str, Any] | None:
    """The integration's newest inbound delivery (for health and status)."""
    row = conn.execute(select(WebhookDelivery.received_at, WebhookDelivery.status,
                              WebhookDelivery.topic)
                       .where(WebhookDelivery.integration_id == integration_id)
                       .order_by(WebhookDelivery.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None
