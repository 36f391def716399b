"""Sync requests that may carry credentials (the spec's WooCommerce, Amazon and Stripe
bodies): check them against the platform, store them encrypted on the integration (created
under the request's id if new) and hand the flow only the id."""

from __future__ import annotations

from typing import Any

from bigledger.errors import InvalidCredentials
from connectors.factory import (
    build_connector,
    check_connection,
    check_credentials,
    merge_tokens,
    storable_credentials,
)
from ledger.db import transaction
from ledger.integrations import (
    IntegrationRecord,
    create_integration,
    find_integration,
    update_integration,
)


def integration_for_sync(platform: str, integration_id: str,
                         credentials: dict[str, Any] | None, name: str,
                         needed: str, settings: dict[str, Any] | None = None
                         ) -> IntegrationRecord:  # fmt: skip
    """The integration a sync runs on. Credentials in the body are validated (a refused key
    answers AUTH_FAILED and stores nothing) and saved; without them the integration must
    exist already (`needed` names the fields in the error)."""
    with transaction() as conn:
        integration = find_integration(conn, integration_id)
    if integration is not None and integration.platform != platform:
        raise InvalidCredentials(f"integration {integration.id} is a {integration.platform} "
                                 f"integration, not {platform}")
    if credentials is None:
        if integration is None:
            raise InvalidCredentials(
                f"integration {integration_id!r} does not exist: send credentials ({needed}) "
                "or set it up first")
        if settings and any(integration.settings.get(k) != v for k, v in settings.items()):
            with transaction() as conn:
                integration = update_integration(conn, integration.id,
                                                 settings={**integration.settings, **settings})
        return integration
    check_credentials(platform, credentials)  # before anything is dropped or stored
    credentials = storable_credentials(platform, credentials)
    settings = {**(integration.settings if integration else {}), **(settings or {})}
    rotated: dict[str, Any] = {}  # a rotating refresh token used by the check is kept
    connector = build_connector(platform, credentials, settings, on_tokens=rotated.update)
    try:
        check_connection(connector)
    finally:
        close = getattr(connector, "close", None)
        if close:
            close()
    credentials = merge_tokens(credentials, rotated) if rotated else credentials
    with transaction() as conn:
        if integration is None:
            return create_integration(conn, platform, name, credentials, settings, {},
                                      integration_id=integration_id)
        return update_integration(conn, integration.id, credentials=credentials,
                                  settings=settings)
