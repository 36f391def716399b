"""Xero webhooks in the sandbox: the developer portal's subscription, its Intent to Receive
check, and signed event deliveries.

Xero has no API to register webhooks: the delivery URL is entered in the app's developer
portal, which shows the *webhook key* that signs deliveries. The sandbox plays the portal
at `/__sandbox/xero/webhooks`: `POST {"url", "key"?, "categories"?}` saves the subscription
(a key is generated when none is given) and starts **Intent to Receive**, as Xero does when a
URL is created or changed: two POSTs of `{"events": [], "firstEventSequence": 0,
"lastEventSequence": 0, "entropy": "..."}`, the first signed with the key (the endpoint must
answer 200), the second with a wrong key (it must answer 401). Only then is the subscription
`OK` and events are delivered; otherwise it stays `INTENT_TO_RECEIVE_FAILED` (answers
recorded in `intentToReceive`) until the URL is saved again or `POST .../webhooks/verify`
re-runs the check. `GET` shows the subscription (status, key), `DELETE` removes it.

Events: invoices created through `PUT/POST /Invoices` give one delivery per request with an
`INVOICE`/`CREATE` event each (`resourceUrl`, `resourceId`, `eventDateUtc`, `eventType`,
`eventCategory`, `tenantId`, `tenantType: ORGANISATION`), `firstEventSequence` /
`lastEventSequence` numbering the events and a random `entropy`, signed in
`x-xero-signature`: base64 HMAC-SHA256 over the exact body with the webhook key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox.webhook_sender import Delivery, Subscription, WebhookSender, iso_utc

PORTAL_ID = "portal"
CATEGORIES = ("INVOICE", "CONTACT", "CREDITNOTE", "SUBSCRIPTION")
API_BASE = "https://api.xero.com/api.xro/2.0"


class PortalSubscription(BaseModel):
    """Body of POST /__sandbox/xero/webhooks: the portal's webhook subscription."""

    model_config = ConfigDict(extra="forbid")
    url: str
    key: str | None = Field(None, min_length=1)
    categories: list[str] | None = None  # None: every category

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an absolute http(s) URL")
        return value

    @field_validator("categories")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        unknown = set(value or ()) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}; one of {CATEGORIES}")
        return value


def signature(key: str, body: bytes) -> str:
    """`x-xero-signature`: base64 HMAC-SHA256(webhook key, raw body)."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _entropy() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


class XeroWebhooks:
    """The app's webhook subscription (one per app, as in Xero) and its deliveries."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.sender = WebhookSender("xero", user_agent="Xero-Webhooks/1.0")
        self._sequence = 0

    def configure(self, spec: PortalSubscription) -> dict[str, Any]:
        """Save the subscription and start Intent to Receive; answers the portal view."""
        now = self.sandbox.now()
        sub = Subscription(
            id=PORTAL_ID, url=spec.url, topics=tuple(spec.categories or ("*",)),
            secret=spec.key or base64.b64encode(secrets.token_bytes(48)).decode(),
            created_at=now, updated_at=now, active=False,
            extra={"status": "INTENT_TO_RECEIVE_REQUIRED", "intent": []},
        )  # fmt: skip
        self.sender.add(sub)
        self.verify()
        return self.describe()

    def remove(self) -> None:
        self.sender.remove(PORTAL_ID)

    def describe(self, with_key: bool = True) -> dict[str, Any]:
        sub = self.sender.subscriptions.get(PORTAL_ID)
        if sub is None:
            return {"configured": False}
        out: dict[str, Any] = {
            "configured": True, "url": sub.url, "status": sub.extra["status"],
            "categories": None if "*" in sub.topics else list(sub.topics),
            "intentToReceive": list(sub.extra["intent"]),
        }  # fmt: skip
        if with_key:
            out["key"] = sub.secret
        return out

    def verify(self) -> bool:
        """(Re)start Intent to Receive; False when there is no subscription."""
        sub = self.sender.subscriptions.get(PORTAL_ID)
        if sub is None:
            return False
        sub.active = False
        sub.extra.update(status="INTENT_TO_RECEIVE_PENDING", intent=[])
        key = sub.secret or ""
        wrong = key + "-not-the-key"
        results: dict[str, int | None] = {}

        def done(delivery: Delivery) -> None:
            results[delivery.kind] = delivery.last_status
            sub.extra["intent"].append({"signed": delivery.kind == "itr_correct",
                                        "status": delivery.last_status,
                                        "error": delivery.attempts[-1].error
                                        if delivery.attempts else None})  # fmt: skip
            if len(results) == 2 and self.sender.subscriptions.get(PORTAL_ID) is sub:
                passed = results.get("itr_correct") == 200 and results.get("itr_wrong") == 401
                sub.extra["status"] = "OK" if passed else "INTENT_TO_RECEIVE_FAILED"
                sub.active = passed

        deliveries = []
        for kind, signing_key in (("itr_correct", key), ("itr_wrong", wrong)):
            body = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
                               "entropy": _entropy()}, separators=(",", ":")).encode()
            headers = {"x-xero-signature": signature(signing_key, body)}
            deliveries.append(Delivery(
                url=sub.url, body=body, sign=lambda _b, _t, h=headers: h,
                topic="intent_to_receive", subscription_id=sub.id, kind=kind, handshake=True,
                on_done=done,
            ))  # fmt: skip
        self.sender.emit(deliveries)
        return True

    def events(self, org: Any, category: str, event_type: str,
               resources: list[tuple[str, str]]) -> list[Delivery]:  # fmt: skip
        """One delivery of `event_type` events for `resources` [(resource id, endpoint)]."""
        sub = self.sender.subscriptions.get(PORTAL_ID)
        if sub is None or not resources or not sub.matches(category):
            return []
        when = iso_utc(self.sandbox.now()).removesuffix("Z")  # Xero: UTC, no zone
        first = self._sequence + 1
        events = []
        for resource_id, endpoint in resources:
            self._sequence += 1
            events.append({
                "resourceUrl": f"{API_BASE}/{endpoint}/{resource_id}",
                "resourceId": resource_id,
                "eventDateUtc": when,
                "eventType": event_type,
                "eventCategory": category,
                "tenantId": org.tenant_id,
                "tenantType": "ORGANISATION",
            })  # fmt: skip
        body = json.dumps({"events": events, "firstEventSequence": first,
                           "lastEventSequence": self._sequence, "entropy": _entropy()},
                          separators=(",", ":")).encode()  # fmt: skip
        headers = {"x-xero-signature": signature(sub.secret or "", body)}
        return self.sender.emit([Delivery(
            url=sub.url, body=body, sign=lambda _b, _t: headers,
            topic=f"{category}.{event_type}", subscription_id=sub.id,
        )])  # fmt: skip
