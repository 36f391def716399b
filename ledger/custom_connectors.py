"""Custom connector definitions, kept with every version: an update adds a version, a delete
marks the connector deleted (its versions stay, so integrations built on one keep working
from what they were set up with)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update

from bigledger.errors import NotFound
from ledger.ids import new_id
from ledger.models import CustomConnector, utcnow


def create_connector(conn: Connection, name: str, definition: dict[str, Any]) -> dict[str, Any]:
    """Store a new connector at version 1."""
    connector_id = new_id("conn")
    now = utcnow()
    conn.execute(CustomConnector.__table__.insert().values(
        id=connector_id, version=1, name=name, definition=definition, created_at=now))
    return get_connector(conn, connector_id)


def add_version(conn: Connection, connector_id: str, name: str,
                definition: dict[str, Any]) -> dict[str, Any]:
    """Store the next version of an existing connector."""
    latest = get_connector(conn, connector_id)
    conn.execute(CustomConnector.__table__.insert().values(
        id=connector_id, version=latest["version"] + 1, name=name, definition=definition,
        created_at=utcnow()))
    return get_connector(conn, connector_id)


def get_connector(conn: Connection, connector_id: str,
                  version: int | None = None) -> dict[str, Any]:
    """The latest (or a given) version of a connector; NotFound when deleted or unknown."""
    stmt = select(CustomConnector).where(CustomConnector.id == connector_id)
    if version is not None:
        stmt = stmt.where(CustomConnector.version == version)
    row = conn.execute(stmt.order_by(CustomConnector.version.desc()).limit(1)).first()
    if row is None or (version is None and row.deleted_at is not None):
        raise NotFound(f"no custom connector {connector_id!r}"
                       + (f" version {version}" if version is not None else ""))
    return _view(row)


def list_connectors(conn: Connection) -> list[dict[str, Any]]:
    """The latest version of every connector not deleted."""
    latest = (select(CustomConnector.id, func.max(CustomConnector.version).label("v"))
              .group_by(CustomConnector.id).subquery())
    rows = conn.execute(select(CustomConnector).join(
        latest, (CustomConnector.id == latest.c.id) & (CustomConnector.version == latest.c.v))
        .where(CustomConnector.deleted_at.is_(None)).order_by(CustomConnector.created_at))
    return [_view(r) for r in rows]


def delete_connector(conn: Connection, connector_id: str) -> None:
    """Mark a connector deleted (every version)."""
    get_connector(conn, connector_id)
    conn.execute(update(CustomConnector).where(CustomConnector.id == connector_id)
                 .values(deleted_at=utcnow()))


def _view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "version": row.version, "name": row.name,
            "definition": row.definition, "created_at": row.created_at,
            "deleted_at": row.deleted_at}
