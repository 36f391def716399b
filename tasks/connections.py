"""Connectors for integrations, built from credentials loaded here (never from parameters).

One connector per integration and process is kept, so HTTP connections and the platform's
rate-limit state carry over from page to page.
"""

from __future__ import annotations

import threading
from typing import Any

from connectors.factory import ROTATING_TOKENS, build_connector, merge_tokens
from ledger.db import transaction
from ledger.integrations import IntegrationRecord, get_integration, update_integration
from ledger.migrate import ensure_schema
from tasks.limits import share_rate_limits, shared_limits_enabled

_lock = threading.Lock()
_cache: dict[tuple[str, str], Any] = {}


def load_integration(integration_id: str) -> IntegrationRecord:
    """The integration row (schema created first if this is a fresh database)."""
    ensure_schema()
    with transaction() as conn:
        return get_integration(conn, integration_id)


def connector_for(integration: IntegrationRecord) -> Any:
    """The cached connector of an integration; rebuilt when its credentials change."""
    key = (integration.id, integration.credentials_encrypted)
    with _lock:
        connector = _cache.get(key)
        if connector is None:
            for old in [k for k in _cache if k[0] == integration.id]:
                _cache.pop(old)
            saver = (_token_saver(integration.id)
                     if integration.platform in ROTATING_TOKENS else None)
            connector = build_connector(
                integration.platform, integration.credentials(), integration.settings,
                on_tokens=saver,
            )
            if shared_limits_enabled():  # several workers: one budget per platform account
                connector = share_rate_limits(connector, integration)
            _cache[key] = connector
        return connector


def _token_saver(integration_id: str):
    """Store a rotated refresh token (encrypted) the moment it arrives, in its own committed
    transaction before the new token is used: a crash after this loses nothing, and the
    token the platform has already retired is never the one left on file."""

    def save(tokens: dict[str, Any]) -> None:
        with transaction() as conn:
            current = get_integration(conn, integration_id)
            record = update_integration(conn, integration_id,
                                        credentials=merge_tokens(current.credentials(), tokens))
        with _lock:
            # The same connector keeps serving: re-key it under the new credentials.
            for key in [k for k in _cache if k[0] == integration_id]:
                _cache[(integration_id, record.credentials_encrypted)] = _cache.pop(key)

    return save
