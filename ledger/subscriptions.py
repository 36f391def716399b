"""Outbound webhook subscriptions: which normalized events of an integration go to which
endpoint, signed with which secret (kept encrypted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select, update

from bigledger.errors import NotFound
from bigledger.secrets import encrypt_json
from ledger.ids import new_id
from ledger.models import WebhookSubscription, utcnow
from ledger.outbox import delete_deliveries


def create_subscription(conn: Connection, integration_id: str, events: list[str],
                        endpoint: str, secret: str, active: bool) -> dict[str, Any]:
    """Store a subscription (its secret encrypted)."""
    sid = new_id("whk")
    now = utcnow()
    conn.execute(WebhookSubscription.__table__.insert().values(
        id=sid, integration_id=integration_id, events=list(events), endpoint=endpoint,
        secret_encrypted=encrypt_json({"secret": secret}), active=active, created_at=now,
        updated_at=now))
    return get_subscription(conn, integration_id, sid)


def get_subscription(conn: Connection, integration_id: str, sid: str) -> dict[str, Any]:
    row = conn.execute(select(WebhookSubscription).where(
        WebhookSubscription.id == sid,
        WebhookSubscription.integration_id == integration_id)).first()
    if row is None:
        raise NotFound(f"no webhook subscription {sid!r} on integration {integration_id!r}")
    return _view(row)


def list_subscriptions(conn: Connection, integration_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(WebhookSubscription).where(
        WebhookSubscription.integration_id == integration_id)
        .order_by(WebhookSubscription.created_at))
    return [_view(r) for r in rows]


def update_subscription(conn: Connection, integration_id: str, sid: str,
                        **changes: Any) -> dict[str, Any]:
    """Change events, endpoint, secret (re-encrypted) or active."""
    get_subscription(conn, integration_id, sid)
    values: dict[str, Any] = {"updated_at": utcnow()}
    for key in ("events", "endpoint", "active"):
        if changes.get(key) is not None:
            values[key] = changes[key]
    if changes.get("secret") is not None:
        values["secret_encrypted"] = encrypt_json({"secret": changes["secret"]})
    conn.execute(update(WebhookSubscription).where(WebhookSubscription.id == sid)
                 .values(**values))
    return get_subscription(conn, integration_id, sid)


def delete_subscription(conn: Connection, integration_id: str, sid: str) -> None:
    """Remove a subscription with its deliveries and their attempts."""
    get_subscription(conn, integration_id, sid)
    delete_deliveries(conn, sid)
    conn.execute(delete(WebhookSubscription).where(WebhookSubscription.id == sid))


def _view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "integration_id": row.integration_id, "events": list(row.events),
            "endpoint": row.endpoint, "active": bool(row.active),
            "created_at": row.created_at, "updated_at": row.updated_at}
