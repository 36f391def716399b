"""/v1/integrations/{integrationId}/webhooks: outbound subscriptions to an integration's
normalized events (the spec's "Register Webhook Endpoints"), with list, read, update and
delete, and each subscription's deliveries with every attempt. Endpoints must be https and
public (no server-side request forgery); the secret is stored encrypted and never shown again."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from fastapi import APIRouter, Query

from api.envelope import ok
from api.routes.integrations import id_path
from api.schemas import WebhookSubscriptionRequest, WebhookSubscriptionUpdate
from api.views import iso
from connectors.outbound import SIGNATURE_HEADER, check_endpoint, endpoint_policy
from ledger.db import transaction
from ledger.integrations import get_integration
from ledger.outbox import list_deliveries
from ledger.subscriptions import (
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    update_subscription,
)

router = APIRouter(prefix="/v1/integrations", tags=["webhooks"])


def _view(sub: dict[str, Any]) -> dict[str, Any]:
    return {"webhookId": sub["id"], "integrationId": sub["integration_id"],
            "events": sub["events"], "endpoint": sub["endpoint"], "active": sub["active"],
            "secret": "****", "signatureHeader": SIGNATURE_HEADER,
            "createdAt": iso(sub["created_at"]), "updatedAt": iso(sub["updated_at"])}


@router.post("/{integrationId}/webhooks", summary="Subscribe an endpoint to events")
def create(body: WebhookSubscriptionRequest,
           integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    endpoint = str(check_endpoint(body.endpoint, endpoint_policy()))
    # Without a secret (the spec's client example sends none) one is made and shown in this
    # answer only: the subscriber needs it to verify deliveries.
    secret = body.secret or secrets.token_urlsafe(32)
    with transaction() as conn:
        integration = get_integration(conn, integrationId)
        sub = create_subscription(conn, integration.id, list(dict.fromkeys(body.events)),
                                  endpoint, secret, body.active)
    view = _view(sub)
    if body.secret is None:
        view["secret"] = secret
    return ok(view)


@router.get("/{integrationId}/webhooks", summary="List an integration's subscriptions")
def list_all(integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    with transaction() as conn:
        integration = get_integration(conn, integrationId)
        return ok([_view(s) for s in list_subscriptions(conn, integration.id)])


@router.get("/{integrationId}/webhooks/{webhookId}", summary="A subscription")
def read(integrationId: str = id_path(), webhookId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    with transaction() as conn:
        return ok(_view(get_subscription(conn, integrationId, webhookId)))


@router.patch("/{integrationId}/webhooks/{webhookId}", summary="Change a subscription")
def change(body: WebhookSubscriptionUpdate, integrationId: str = id_path(),  # noqa: N803
           webhookId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    endpoint = str(check_endpoint(body.endpoint, endpoint_policy())) if body.endpoint else None
    with transaction() as conn:
        sub = update_subscription(conn, integrationId, webhookId, events=body.events,
                                  endpoint=endpoint, secret=body.secret, active=body.active)
    return ok(_view(sub))


@router.delete("/{integrationId}/webhooks/{webhookId}", summary="Delete a subscription")
def remove(integrationId: str = id_path(), webhookId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    with transaction() as conn:
        delete_subscription(conn, integrationId, webhookId)
    return ok({"webhookId": webhookId, "deleted": True})


@router.get("/{integrationId}/webhooks/{webhookId}/deliveries",
            summary="A subscription's deliveries with their attempts, newest first")
def deliveries(integrationId: str = id_path(), webhookId: str = id_path(),  # noqa: N803
               limit: int = Query(50, ge=1, le=200),
               before: int | None = Query(None, ge=1, description="Page on: deliveries older "
                                          "than this deliveryId (the previous nextBefore)."),
               status: Literal["pending", "delivered", "failed"] | None = Query(None),
               ) -> dict[str, Any]:
    with transaction() as conn:
        get_subscription(conn, integrationId, webhookId)
        rows = list_deliveries(conn, webhookId, limit=limit + 1, before=before, status=status)
    page, more = rows[:limit], len(rows) > limit
    return ok({"items": [_delivery_view(d) for d in page], "limit": limit, "hasMore": more,
               "nextBefore": page[-1]["id"] if more else None})


def _delivery_view(d: dict[str, Any]) -> dict[str, Any]:
    return {"deliveryId": d["id"], "eventId": d["event_id"], "event": d["event_type"],
            "resource": d["resource_key"], "occurredAt": iso(d["occurred_at"]),
            "status": d["status"], "attempts": d["attempts"],
            "nextAttemptAt": iso(d["next_attempt_at"]),
            "lastStatusCode": d["last_status_code"], "lastError": d["last_error"],
            "createdAt": iso(d["created_at"]), "deliveredAt": iso(d["delivered_at"]),
            "attemptHistory": [
                {"attempt": a["attempt"], "attemptedAt": iso(a["attempted_at"]),
                 "durationMs": a["duration_ms"], "statusCode": a["status_code"],
                 "error": a["error"], "succeeded": a["succeeded"]}
                for a in d["attempt_list"]]}
