"""/v1/integrations/{integrationId}/webhooks: outbound subscriptions to an integration's
normalized events (the spec's "Register Webhook Endpoints"), with list, read, update and
delete. Endpoints must be https and public (no server-side request forgery); the secret is
stored encrypted and never shown again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.envelope import ok
from api.routes.integrations import id_path
from api.schemas import WebhookSubscriptionRequest, WebhookSubscriptionUpdate
from api.views import iso
from bigledger.settings import get_settings
from connectors.outbound import SIGNATURE_HEADER, EndpointPolicy, check_endpoint
from ledger.db import transaction
from ledger.integrations import get_integration
from ledger.subscriptions import (
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    update_subscription,
)

router = APIRouter(prefix="/v1/integrations", tags=["webhooks"])


def _policy() -> EndpointPolicy:
    settings = get_settings()
    return EndpointPolicy(allow_http=settings.allow_insecure_http,
                          allow_private=settings.allow_private_webhook_endpoints)


def _view(sub: dict[str, Any]) -> dict[str, Any]:
    return {"webhookId": sub["id"], "integrationId": sub["integration_id"],
            "events": sub["events"], "endpoint": sub["endpoint"], "active": sub["active"],
            "secret": "****", "signatureHeader": SIGNATURE_HEADER,
            "createdAt": iso(sub["created_at"]), "updatedAt": iso(sub["updated_at"])}


@router.post("/{integrationId}/webhooks", summary="Subscribe an endpoint to events")
def create(body: WebhookSubscriptionRequest,
           integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    endpoint = str(check_endpoint(body.endpoint, _policy()))
    with transaction() as conn:
        integration = get_integration(conn, integrationId)
        sub = create_subscription(conn, integration.id, list(dict.fromkeys(body.events)),
                                  endpoint, body.secret, body.active)
    return ok(_view(sub))


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
    endpoint = str(check_endpoint(body.endpoint, _policy())) if body.endpoint else None
    with transaction() as conn:
        sub = update_subscription(conn, integrationId, webhookId, events=body.events,
                                  endpoint=endpoint, secret=body.secret, active=body.active)
    return ok(_view(sub))


@router.delete("/{integrationId}/webhooks/{webhookId}", summary="Delete a subscription")
def remove(integrationId: str = id_path(), webhookId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    with transaction() as conn:
        delete_subscription(conn, integrationId, webhookId)
    return ok({"webhookId": webhookId, "deleted": True})
