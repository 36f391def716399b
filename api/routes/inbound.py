"""/v1/webhooks/{platform}/{integrationId}: where platforms deliver their webhooks.

No API key here: the platform's own signature over the raw body is the authentication,
checked in constant time with the integration's webhook secret. A bad or missing signature
answers 401 WEBHOOK_VERIFICATION_FAILED and stores nothing; a good delivery is written to the
inbox (deduplicated by the platform's event id) before the 2xx, and processed later."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.envelope import ok
from bigledger.errors import NotFound, WebhookVerificationFailed
from ledger.db import transaction
from ledger.inbox import store_delivery
from ledger.integrations import find_integration

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks (inbound)"])

# Which credential of an integration holds its webhook secret, per platform.
SECRET_FIELDS = {"shopify": "webhookSecret", "woocommerce": "webhookSecret",
                 "stripe": "webhookEndpointSecret", "quickbooks": "webhookVerifierToken",
                 "xero": "webhookKey"}


@router.post("/{platform}/{integrationId}", summary="Receive a platform's webhook delivery")
async def receive(request: Request,
                  platform: str = Path(pattern="^(shopify|woocommerce|stripe|quickbooks|xero)$"),
                  integrationId: str = Path(min_length=1, max_length=64,  # noqa: N803
                                            pattern=r"^[A-Za-z0-9_\-]+$")) -> Any:
    from connectors.webhook_signatures import verify_webhook
    from transforms.webhook_events import normalize_delivery

    body = await request.body()
    with transaction() as conn:
        integration = find_integration(conn, integrationId)
    if integration is None or integration.platform != platform:
        raise NotFound(f"no {platform} integration {integrationId!r}")
    secret = integration.credentials().get(SECRET_FIELDS[platform]) or ""
    try:
        verified = verify_webhook(platform, body, request.headers, secret, now=time.time())
    except WebhookVerificationFailed:
        if platform == "xero":  # Xero's intent-to-receive check wants an empty 401
            return Response(status_code=401)
        raise
    if not verified.is_event:  # WooCommerce's ping, Xero's intent to receive
        return Response(status_code=200) if platform == "xero" else ok({"received": True})
    events = [e.to_spec() for e in normalize_delivery(
        verified, integration_id=integration.id, received_at=datetime.now(UTC))]
    with transaction() as conn:
        stored = store_delivery(conn, integration.id, platform, verified.dedup_key,
                                verified.topic, events, body)
    return ok({"received": True, "duplicate": not stored, "events": len(events)})
