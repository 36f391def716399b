"""Real time at setup: an integration whose platform sends webhooks gets them registered
there, pointing at this API, plus an hourly sweep (incremental syncs) that brings in
whatever a lost delivery would have announced.

Registration needs an address the platform can reach (BIGLEDGER_PUBLIC_URL); without one,
or if the platform refuses, the integration is still set up and the answer says why it has
no webhooks. QuickBooks and Xero register in their developer portals: the answer names the
URL to enter there."""

from __future__ import annotations

from typing import Any

from bigledger.errors import IntegrationError
from bigledger.settings import get_settings
from ledger.db import transaction
from ledger.integrations import IntegrationRecord, update_integration
from ledger.schedules import SWEEP_OPERATIONS

# Platforms that deliver webhooks (api.routes.inbound receives them).
REGISTERING = {"shopify", "woocommerce", "stripe", "quickbooks", "xero"}
SWEEP_FREQUENCY = "hourly"


def callback_url(platform: str, integration_id: str) -> str | None:
    base = get_settings().public_url
    return f"{base.rstrip('/')}/v1/webhooks/{platform}/{integration_id}" if base else None


def connect_realtime(record: IntegrationRecord, connector: Any,
                     wanted: bool = True) -> dict[str, Any] | None:
    """Register the integration's webhooks and its sweep; what happened, for the setup
    answer (None for platforms without webhooks)."""
    if record.platform not in REGISTERING:
        return None
    if not wanted:
        return {"registered": False, "reason": "settings.webhooks is false"}
    url = callback_url(record.platform, record.id)
    if url is None:
        return {"registered": False,
                "reason": "BIGLEDGER_PUBLIC_URL is not set: the platform has no address to "
                          "deliver to (syncs and schedules work without webhooks)"}
    credentials = record.credentials()
    if record.platform == "shopify" and not credentials.get("webhookSecret"):
        return {"registered": False, "callbackUrl": url,
                "reason": "credentials.webhookSecret (the app's client secret, which signs "
                          "Shopify's deliveries) is needed to verify them"}
    try:
        if record.platform == "woocommerce" and credentials.get("webhookSecret"):
            registration = connector.register_webhooks(url, secret=credentials["webhookSecret"])
        else:
            registration = connector.register_webhooks(url)
    except IntegrationError as exc:
        return {"registered": False, "callbackUrl": url,
                "error": {"code": str(exc.code), "message": exc.message}}
    _keep_secret(record, registration.secret)
    answer: dict[str, Any] = {"registered": not registration.manual, **registration.to_dict()}
    answer["sweep"] = _sweep(record)
    return answer


def _keep_secret(record: IntegrationRecord, secret: str | None) -> None:
    """Store the signing secret the platform issued (Stripe) or accepted (WooCommerce),
    encrypted with the other credentials, before any delivery can arrive for it."""
    field = {"woocommerce": "webhookSecret", "stripe": "webhookEndpointSecret"}.get(
        record.platform)
    if field and secret:
        with transaction() as conn:
            update_integration(conn, record.id,
                               credentials={**record.credentials(), field: secret})


def _sweep(record: IntegrationRecord) -> list[dict[str, Any]]:
    """Hourly incremental syncs of the streams webhooks announce (kind "sweep")."""
    from api.routes.schedules import schedule_operation, schedule_view

    out = []
    for operation in SWEEP_OPERATIONS.get(record.platform, []):
        try:
            out.append(schedule_view(schedule_operation(
                record.id, record.platform, operation, SWEEP_FREQUENCY, kind="sweep")))
        except IntegrationError as exc:
            out.append({"operation": operation,
                        "error": {"code": str(exc.code), "message": exc.message}})
    return out
