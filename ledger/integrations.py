"""Integrations: stored settings and mapping, credentials encrypted at rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bigledger.errors import NotFound
from bigledger.secrets import decrypt_json, encrypt_json
from ledger.ids import new_id
from ledger.models import Account, Integration, TaxCode, utcnow


@dataclass(frozen=True, slots=True)
class IntegrationRecord:
    """An integration as the rest of the code sees it: credentials stay encrypted until asked."""

    id: str
    platform: str
    name: str
    status: str
    settings: dict[str, Any]
    mapping: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    credentials_encrypted: str

    def credentials(self) -> dict[str, Any]:
        """Decrypt the stored credentials (call only where they are used, never to show them)."""
        return decrypt_json(self.credentials_encrypted)

    def __repr__(self) -> str:  # never show the ciphertext either
        return f"IntegrationRecord(id={self.id!r}, platform={self.platform!r}, name={self.name!r})"


def create_integration(
    conn: Connection, platform: str, name: str, credentials: dict[str, Any],
    settings: dict[str, Any], mapping: dict[str, Any], integration_id: str | None = None,
) -> IntegrationRecord:
    """Store a new integration with its credentials encrypted."""
    now = utcnow()
    iid = integration_id or new_id(f"int_{platform}")
    conn.execute(
        insert(Integration).values(
            id=iid, platform=platform, name=name, status="active", settings=settings,
            mapping=mapping, credentials_encrypted=encrypt_json(credentials),
            created_at=now, updated_at=now,
        )
    )
    return get_integration(conn, iid)


def update_integration(
    conn: Connection, integration_id: str, *, name: str | None = None,
    credentials: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
    mapping: dict[str, Any] | None = None, status: str | None = None,
) -> IntegrationRecord:
    """Change an integration's stored fields (credentials re-encrypted)."""
    values: dict[str, Any] = {"updated_at": utcnow()}
    if name is not None:
        values["name"] = name
    if credentials is not None:
        values["credentials_encrypted"] = encrypt_json(credentials)
    if settings is not None:
        values["settings"] = settings
    if mapping is not None:
        values["mapping"] = mapping
    if status is not None:
        values["status"] = status
    conn.execute(update(Integration).where(Integration.id == integration_id).values(**values))
    return get_integration(conn, integration_id)


def get_integration(conn: Connection, integration_id: str) -> IntegrationRecord:
    """Load one integration or raise NotFound."""
    row = conn.execute(select(Integration).where(Integration.id == integration_id)).first()
    if row is None:
        raise NotFound(f"integration {integration_id!r} does not exist")
    return _record(row)


def find_integration(conn: Connection, integration_id: str) -> IntegrationRecord | None:
    """Load one integration or None."""
    try:
        return get_integration(conn, integration_id)
    except NotFound:
        return None


def list_integrations(conn: Connection, platform: str | None = None) -> list[IntegrationRecord]:
    """All integrations, optionally of one platform."""
    stmt = select(Integration).order_by(Integration.created_at)
    if platform:
        stmt = stmt.where(Integration.platform == platform)
    return [_record(r) for r in conn.execute(stmt)]


def _record(i: Any) -> IntegrationRecord:
    # Rows from Core execution carry the columns as attributes.
    return IntegrationRecord(
        id=i.id, platform=i.platform, name=i.name, status=i.status,
        settings=dict(i.settings or {}), mapping=dict(i.mapping or {}),
        created_at=i.created_at, updated_at=i.updated_at,
        credentials_encrypted=i.credentials_encrypted,
    )


def account_ids(conn: Connection) -> set[str]:
    """Ids of the active accounts in the chart."""
    return {r[0] for r in conn.execute(select(Account.id).where(Account.is_active.is_(True)))}


def tax_code_accounts(conn: Connection) -> dict[str, str]:
    """Tax code -> payable account."""
    return {code: acc for code, acc in conn.execute(select(TaxCode.code, TaxCode.account_id))}
