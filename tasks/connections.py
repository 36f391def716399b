"""Connectors for integrations, built from credentials loaded here (never from parameters).

One connector per integration and process is kept, so HTTP connections and the platform's
rate-limit state carry over from page to page.
"""

from __future__ import annotations

import threading
from typing import Any

from connectors.factory import build_connector
from ledger.db import transaction
from ledger.integrations import IntegrationRecord, get_integration
from ledger.migrate import ensure_schema

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
            connector = build_connector(
                integration.platform, integration.credentials(), integration.settings
            )
            _cache[key] = connector
        return connector
