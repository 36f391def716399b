"""Credentials at rest: Fernet encryption, and masking for anything shown to a person."""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from bigledger.settings import get_settings


def _key() -> bytes:
    settings = get_settings()
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.home / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    return path.read_bytes().strip()


def encrypt_json(data: dict[str, Any]) -> str:
    """Encrypt a credentials dict into a Fernet token (text)."""
    return Fernet(_key()).encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    """Decrypt a Fernet token written by encrypt_json."""
    try:
        return json.loads(Fernet(_key()).decrypt(token.encode()))
    except InvalidToken as exc:
        raise RuntimeError(
            "stored credentials cannot be decrypted: BIGLEDGER_SECRET_KEY differs from the key "
            "they were saved with"
        ) from exc


def mask(value: Any) -> str:
    """Show only enough of a secret to recognise it: 'shpat_****cdef'."""
    text = str(value)
    if len(text) <= 8:
        return "****"
    prefix = text.split("_", 1)[0] + "_" if "_" in text[:8] else ""
    return f"{prefix}****{text[-4:]}"


# Credential fields that are identifiers, not secrets: shown in clear.
PUBLIC_CREDENTIAL_FIELDS = {"shopDomain", "siteUrl", "sellerId", "marketplaceId", "companyId",
                            "clientId", "tenantId", "realmId"}


def mask_credentials(credentials: dict[str, Any]) -> dict[str, str]:
    """Credentials as the API may show them: identifiers clear, secrets masked."""
    return {
        name: (str(value) if name in PUBLIC_CREDENTIAL_FIELDS else mask(value))
        for name, value in credentials.items()
    }
