"""The outbox of outbound webhooks: normalized events waiting for their subscribers.

An event is enqueued once per subscription that wants it (idempotent on the event id), and
sent in the order the events happened per resource: a delivery is due only when no earlier
delivery of the same subscription and resource is still pending. A sender claims a due
delivery by moving its next_attempt_at forward by a lease in one conditional UPDATE, so two
senders never send it at once; a sender that dies leaves it to be claimed again when the
lease ends (delivery is at least once, receivers deduplicate by the event id).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ledger.models import OutboundAttempt, OutboundDelivery, WebhookSubscription

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
ALL_EVENTS = "*"
_INSERT_CHUNK = 500


def enqueue_events(conn: Connection, integration_id: str, events: Iterable[dict[str, Any]],
                   *, now: datetime | None = None) -> int:
    """One pending delivery, due at `now` (default: the clock), per event and active
    subscription of the integration listing its name (or "*"); an event already enqueued
    for a subscription is skipped, also when a concurrent transaction inserts it. Returns
    how many deliveries were added."""
    subscriptions = conn.execute(select(WebhookSubscription.id, WebhookSubscription.events)
                                 .where(WebhookSubscription.integration_id == integration_id,
                                        WebhookSubscription.active.is_(True))).all()
    if not subscriptions:
        return 0
    now = now or datetime.now(UTC)
    rows = []
    for event in events:
        name, event_id = event["event"], event["eventId"]
        occurred_at = _parse_timestamp(event["timestamp"])
        for sid, wanted in subscriptions:
            if name in wanted or ALL_EVENTS in wanted:
                rows.append({
                    "subscription_id": sid, "integration_id": integration_id,
                    "event_id": event_id, "event_type": name,
                    "resource_key": resource_key(event), "occurred_at": occurred_at,
                    "payload": event, "status": PENDING, "attempts": 0,
                    "next_attempt_at": now, "created_at": now})
    insert = _insert_ignoring_duplicates(conn)
    added = 0
    for start in range(0, len(rows), _INSERT_CHUNK):
        added += len(conn.execute(insert.returning(OutboundDelivery.id),
                                  rows[start:start + _INSERT_CHUNK]).all())
    return added


def resource_key(event: dict[str, Any]) -> str:
    """What a delivery is ordered within: its resource ("order:1001"), or the event alone
    when it names no resource (nothing to keep in order with)."""
    if event.get("resourceId"):
        return f"{event.get('resourceType') or 'resource'}:{event['resourceId']}"
    return f"event:{event['eventId']}"


def _insert_ignoring_duplicates(conn: Connection):
    # ON CONFLICT DO NOTHING, rather than look-then-insert: two flows enqueueing the same
    # event at once both succeed and leave one row (PostgreSQL waits for the other insert).
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(OutboundDelivery).on_conflict_do_nothing(
        index_elements=["subscription_id", "event_id"])


def _parse_timestamp(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a sender holds for one attempt, with what it needs to send it."""

    id: int
    subscription_id: str
    resource_key: str
    event_id: str
    event_type: str
    payload: dict[str, Any]
    attempt: int  # the number of the attempt about to be made (1 = first try)
    endpoint: str
    secret_encrypted: str


def _earlier_pending():
    """An earlier (occurred_at, then id) pending delivery of the same subscription and
    resource exists: the delivery must wait for it."""
    earlier = OutboundDelivery.__table__.alias("earlier")
    this = OutboundDelivery.__table__
    return exists().where(
        earlier.c.subscription_id == this.c.subscription_id,
        earlier.c.resource_key == this.c.resource_key,
        earlier.c.status == PENDING,
        or_(earlier.c.occurred_at < this.c.occurred_at,
            and_(earlier.c.occurred_at == this.c.occurred_at, earlier.c.id < this.c.id)))


def _due(now: datetime):
    return and_(OutboundDelivery.status == PENDING, OutboundDelivery.next_attempt_at <= now,
                ~_earlier_pending())


def due_deliveries(conn: Connection, now: datetime, limit: int,
                   subscription_id: str | None = None,
                   resource: str | None = None) -> list[int]:
    """Ids of deliveries due at `now` (oldest due first): pending, their time come, their
    subscription active, and first in line for their resource. Narrowed to one
    subscription's resource, it is the next in that line (if due)."""
    query = (select(OutboundDelivery.id)
             .join(WebhookSubscription, WebhookSubscription.id == OutboundDelivery.subscription_id)
             .where(_due(now), WebhookSubscription.active.is_(True)))
    if subscription_id is not None:
        query = query.where(OutboundDelivery.subscription_id == subscription_id,
                            OutboundDelivery.resource_key == resource)
    query = query.order_by(OutboundDelivery.next_attempt_at, OutboundDelivery.id).limit(limit)
    return list(conn.execute(query).scalars())


def claim_delivery(conn: Connection, delivery_id: int, now: datetime,
                   lease_seconds: float) -> ClaimedDelivery | None:
    """Take a due delivery for one attempt, or None when it is no longer due (another
    sender took it, or an earlier event of its resource is pending again).

    The claim is one conditional UPDATE pushing next_attempt_at past `now` by the lease:
    on PostgreSQL a second sender's UPDATE waits for the first and then finds the row no
    longer due; SQLite runs writers one at a time. Commit the claim before sending."""
    claimed = conn.execute(
        update(OutboundDelivery)
        .where(OutboundDelivery.id == delivery_id, _due(now))
        .values(next_attempt_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return None
    row = conn.execute(
        select(OutboundDelivery.id, OutboundDelivery.subscription_id,
               OutboundDelivery.resource_key, OutboundDelivery.event_id,
               OutboundDelivery.event_type, OutboundDelivery.payload, OutboundDelivery.attempts,
               WebhookSubscription.endpoint, WebhookSubscription.secret_encrypted)
        .join(WebhookSubscription, WebhookSubscription.id == OutboundDelivery.subscription_id)
        .where(OutboundDelivery.id == delivery_id)).one()
    return ClaimedDelivery(
        id=row.id, subscription_id=row.subscription_id, resource_key=row.resource_key,
        event_id=row.event_id, event_type=row.event_type, payload=row.payload,
        attempt=row.attempts + 1, endpoint=row.endpoint,
        secret_encrypted=row.secret_encrypted)


def record_attempt(conn: Connection, delivery: ClaimedDelivery, *, now: datetime,
                   duration_ms: int, status_code: int | None, error: str | None,
                   succeeded: bool, retry_delay: Callable[[int], int | None]) -> str:
    """Write the attempt and move the delivery on: delivered; pending again after
    retry_delay(attempt) seconds; or failed when retry_delay has no more attempts.
    Returns the new status ("" when the delivery is gone: its subscription was deleted
    while the attempt was in flight)."""
    if succeeded:
        status, values = DELIVERED, {"delivered_at": now}
    else:
        delay = retry_delay(delivery.attempt)
        status = PENDING if delay is not None else FAILED
        values = {"next_attempt_at": now + timedelta(seconds=delay)} if delay is not None else {}
    moved = conn.execute(
        update(OutboundDelivery)
        .where(OutboundDelivery.id == delivery.id, OutboundDelivery.status == PENDING)
        .values(status=status, attempts=delivery.attempt, last_status_code=status_code,
                last_error=error, **values)
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        return ""
    conn.execute(OutboundAttempt.__table__.insert().values(
        delivery_id=delivery.id, attempt=delivery.attempt, attempted_at=now,
        duration_ms=duration_ms, status_code=status_code, error=error, succeeded=succeeded))
    return status


def count_pending(conn: Connection) -> int:
    """Deliveries still waiting (or retrying) for active subscriptions."""
    return conn.execute(
        select(func.count()).select_from(OutboundDelivery)
        .join(WebhookSubscription, WebhookSubscription.id == OutboundDelivery.subscription_id)
        .where(OutboundDelivery.status == PENDING,
               WebhookSubscription.active.is_(True))).scalar_one()


# -- reading and removing ----------------------------------------------------------------------


def list_deliveries(conn: Connection, subscription_id: str, *, limit: int,
                    before: int | None = None,
                    status: str | None = None) -> list[dict[str, Any]]:
    """A subscription's deliveries, newest first (by id; `before` pages on), each with its
    attempts in order."""
    query = select(OutboundDelivery).where(OutboundDelivery.subscription_id == subscription_id)
    if before is not None:
        query = query.where(OutboundDelivery.id < before)
    if status is not None:
        query = query.where(OutboundDelivery.status == status)
    deliveries = conn.execute(query.order_by(OutboundDelivery.id.desc()).limit(limit))
    rows = [_delivery_view(d) for d in deliveries]
    attempts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        for a in conn.execute(select(OutboundAttempt)
                              .where(OutboundAttempt.delivery_id.in_([r["id"] for r in rows]))
                              .order_by(OutboundAttempt.delivery_id, OutboundAttempt.attempt,
                                        OutboundAttempt.id)):
            attempts[a.delivery_id].append({
                "attempt": a.attempt, "attempted_at": a.attempted_at,
                "duration_ms": a.duration_ms, "status_code": a.status_code,
                "error": a.error, "succeeded": bool(a.succeeded)})
    for row in rows:
        row["attempt_list"] = attempts[row["id"]]
    return rows


def delete_deliveries(conn: Connection, subscription_id: str) -> None:
    """Remove a subscription's deliveries and their attempts (explicitly: SQLite enforces
    ON DELETE CASCADE only with its foreign keys on)."""
    ids = select(OutboundDelivery.id).where(OutboundDelivery.subscription_id == subscription_id)
    conn.execute(delete(OutboundAttempt).where(OutboundAttempt.delivery_id.in_(ids)))
    conn.execute(delete(OutboundDelivery)
                 .where(OutboundDelivery.subscription_id == subscription_id))


def _delivery_view(d: Any) -> dict[str, Any]:
    return {"id": d.id, "subscription_id": d.subscription_id, "event_id": d.event_id,
            "event_type": d.event_type, "resource_key": d.resource_key,
            "occurred_at": d.occurred_at, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at if d.status == PENDING else None,
            "last_status_code": d.last_status_code, "last_error": d.last_error,
            "created_at": d.created_at, "delivered_at": d.delivered_at}
