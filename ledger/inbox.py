"""The webhook inbox: a verified delivery is written here, in its own short transaction,
before the platform gets its 2xx; the same delivery again (platforms deliver at least once)
finds its row and is acknowledged without a second one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from ledger.models import WebhookDelivery, utcnow


def store_delivery(conn: Connection, integration_id: str, platform: str, dedup_key: str,
                   topic: str | None, events: list[dict[str, Any]], body: bytes) -> bool:
    """Keep a delivery; False when it was already kept (a duplicate)."""
    if _exists(conn, integration_id, dedup_key):
        return False
    try:
        with conn.begin_nested():  # a concurrent copy may win the insert: that is fine
            conn.execute(WebhookDelivery.__table__.insert().values(
                integration_id=integration_id, platform=platform, dedup_key=dedup_key,
                topic=topic, events=events, body=body.decode("utf-8", "replace"),
                received_at=utcnow(), status="received", attempts=0))
    except IntegrityError:
        return False
    return True


def _exists(conn: Connection, integration_id: str, dedup_key: str) -> bool:
    return conn.execute(select(WebhookDelivery.id).where(
        WebhookDelivery.integration_id == integration_id,
        WebhookDelivery.dedup_key == dedup_key)).first() is not None

