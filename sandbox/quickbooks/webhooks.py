"""QuickBooks Online webhooks in the sandbox: the developer portal's settings and signed
change notifications.

Intuit has no API to register webhooks: an app's endpoint URL, the entities it wants and
the *verifier token* that signs deliveries are set in the developer portal. The sandbox
plays the portal at `/__sandbox/quickbooks/webhooks`: `POST {"url", "verifier_token"?,
"entities"?, "format"?}` saves the settings (a token is generated when none is given, as
the portal shows one) and answers them, token included; `GET` shows them; `DELETE`
removes them.

Changes the sandbox makes (the control's `touch` -> Update, `delete` -> Delete) are
delivered to the URL: the classic body `{"eventNotifications": [{"realmId", "dataChangeEvent":
{"entities": [{"name", "id", "operation", "lastUpdated"}]}}]}` (or, with `format:
"cloudevents"`, a list of CloudEvents `qbo.<entity>.<verb>.v1`), signed in `intuit-signature`:
base64 HMAC-SHA256 over the exact body with the verifier token. Notifications carry ids
only; the receiver fetches the entity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox.webhook_sender import Delivery, Subscription, WebhookSender, iso_utc

PORTAL_ID = "portal"
_VERBS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided",
          "Merge": "merged", "Emailed": "emailed"}  # fmt: skip


class PortalSettings(BaseModel):
    """Body of POST /__sandbox/quickbooks/webhooks: what the developer portal holds."""

    model_config = ConfigDict(extra="forbid")
    url: str
    verifier_token: str | None = Field(None, min_length=1)
    entities: list[str] | None = None  # None: every entity
    format: Literal["classic", "cloudevents"] = "classic"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an absolute http(s) URL")
        return value


def signature(token: str, body: bytes) -> str:
    """`intuit-signature`: base64 HMAC-SHA256(verifier token, raw body)."""
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


class QuickBooksWebhooks:
    """The portal's webhook settings for this app and the notifications it sends."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.sender = WebhookSender("quickbooks", user_agent="Intuit-Webhooks/1.0")

    def configure(self, settings: PortalSettings) -> dict[str, Any]:
        """Save the portal settings (replacing earlier ones); answers them."""
        now = self.sandbox.now()
        sub = Subscription(
            id=PORTAL_ID, url=settings.url, topics=tuple(settings.entities or ("*",)),
            secret=settings.verifier_token or secrets.token_urlsafe(24),
            created_at=now, updated_at=now, extra={"format": settings.format},
        )  # fmt: skip
        self.sender.add(sub)
        return self.describe(with_token=True)

    def remove(self) -> None:
        self.sender.remove(PORTAL_ID)

    def describe(self, with_token: bool = True) -> dict[str, Any]:
        sub = self.sender.subscriptions.get(PORTAL_ID)
        if sub is None:
            return {"configured": False}
        out: dict[str, Any] = {
            "configured": True, "url": sub.url, "format": sub.extra["format"],
            "entities": None if "*" in sub.topics else list(sub.topics),
            "realmId": self.sandbox.config.realm_id,
        }  # fmt: skip
        if with_token:
            out["verifier_token"] = sub.secret
        return out

    def notify(self, entity: str, record_id: str, operation: str) -> list[Delivery]:
        """One change notification (`operation`: Create, Update, Delete, Void, Merge)."""
        sub = self.sender.subscriptions.get(PORTAL_ID)
        if sub is None or not sub.matches(entity):
            return []
        realm = self.sandbox.config.realm_id
        when = iso_utc(self.sandbox.now())
        event_id: str | None = None
        if sub.extra["format"] == "cloudevents":
            event_id = str(uuid.uuid4())
            payload: Any = [{
                "specversion": "1.0", "id": event_id, "source": "intuit.quickbooks.sandbox",
                "type": f"qbo.{entity.lower()}.{_VERBS.get(operation, operation.lower())}.v1",
                "datacontenttype": "application/json", "time": when,
                "intuitentityid": record_id, "intuitaccountid": realm, "data": {},
            }]  # fmt: skip
        else:
            payload = {"eventNotifications": [{
                "realmId": realm,
                "dataChangeEvent": {"entities": [{
                    "name": entity, "id": record_id, "operation": operation,
                    "lastUpdated": when,
                }]},
            }]}  # fmt: skip
        body = json.dumps(payload, separators=(",", ":")).encode()
        token = sub.secret or ""
        headers = {"intuit-signature": signature(token, body)}
        return self.sender.emit([Delivery(
            url=sub.url, body=body, sign=lambda _b, _t: headers, topic=f"{entity}.{operation}",
            event_id=event_id, subscription_id=sub.id,
        )])  # fmt: skip
