"""/v1/webhooks/{platform}/{integrationId}: where platforms deliver their webhooks.

No API key here: the platform's own signature over the raw body is the authentication,
checked in constant time with the integration's webhook secret. A bad or missing signature
answers 401 WEBHOOK_VERIFICATION_FAILED and stores nothing; a good delivery is written to the
inbox (deduplicated by the platform's event id) before the 2xx, and processed later."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Path, Request
from fastapi.responses import Response

from api.envelope import ok
from api.inbox_writer import writer
from api.orchestrator import request_inbox_processing
from bigledger.errors import NotFound, WebhookVerificationFailed
from ledger.db import transaction
from ledger.inbox import IncomingDelivery
from ledger.integrations import find_integration

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks (inbound)"])

# Which credential of an integration holds its webhook secret, per platform.
SECRET_FIELDS = {"shopify": "webhookSecret", "woocommerce": "webhookSecret",
                 "stripe": "webhookEndpointSecret", "quickbooks": "webhookVerifierToken",
                 "xero": "webhookKey"}


@router.post("/{platform}/{integrationId}", summary="Receive a platform's webhook delivery")
async def receive(request: Request, background: BackgroundTasks,
                  platform: str = Path(pattern="^(shopify|woocommerce|stripe|quickbooks|xero)$"),
                  integrationId: str = Path(min_length=1, max_length=64,  # noqa: N803
                                            pattern=r"^[A-Za-z0-9_\-]+$")) -> Any:
    from connectors.webhook_signatures import verify_webhook
    from transforms.webhook_events import normalize_delivery

    body = await request.body()
    secret = await _secret(platform, integrationId)
    try:
        try:
            verified = verify_webhook(platform, body, request.headers, secret, now=time.time())
        except WebhookVerificationFailed:
            # The secret may have changed since it was cached: check once with the stored one.
            fresh = await _secret(platform, integrationId, fresh=True)
            if fresh == secret:
                raise
            verified = verify_webhook(platform, body, request.headers, fresh, now=time.time())
    except WebhookVerificationFailed:
        if platform == "xero":  # Xero's intent-to-receive check wants an empty 401
            return Response(status_code=401)
        raise
    if not verified.is_event:  # WooCommerce's ping, Xero's intent to receive
        return Response(status_code=200) if platform == "xero" else ok({"received": True})
    events = [e.to_spec() for e in normalize_delivery(
        verified, integration_id=integrationId, received_at=datetime.now(UTC))]
    stored = await writer().store(IncomingDelivery(
        integrationId, platform, verified.dedup_key, verified.topic, events, body))
    if stored:  # processed soon by a flow run, started after the platform has its answer
        background.add_task(request_inbox_processing)
    if platform == "xero":  # Xero wants an empty 200 for events too
        return Response(status_code=200)
    return ok({"received": True, "duplicate": not stored, "events": len(events)})


# integration id -> (platform, webhook secret, when read). A burst of deliveries must not
# read and decrypt the integration once per delivery; a secret changed meanwhile is caught
# by the fresh read a failed verification makes.
_secrets: dict[str, tuple[str, str, float]] = {}
SECRET_CACHE_SECONDS = 30.0


async def _secret(platform: str, integration_id: str, fresh: bool = False) -> str:
    """The integration's webhook secret; NotFound when it is not a `platform` integration."""
    cached = _secrets.get(integration_id)
    if fresh or cached is None or time.monotonic() - cached[2] > SECRET_CACHE_SECONDS:
        cached = await asyncio.to_thread(_read_secret, integration_id)
        if cached is None:
            _secrets.pop(integration_id, None)
            raise NotFound(f"no {platform} integration {integration_id!r}")
        _secrets[integration_id] = cached
    if cached[0] != platform:
        raise NotFound(f"no {platform} integration {integration_id!r}")
    return cached[1]


def _read_secret(integration_id: str) -> tuple[str, str, float] | None:
    with transaction() as conn:
        integration = find_integration(conn, integration_id)
    if integration is None:
        return None
    field = SECRET_FIELDS.get(integration.platform)
    secret = integration.credentials().get(field) or "" if field else ""
    return integration.platform, secret, time.monotonic()
