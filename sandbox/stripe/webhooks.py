"""Stripe webhooks in the sandbox: `/v1/webhook_endpoints` and signed event deliveries.

`POST /v1/webhook_endpoints` (form: `url`, `enabled_events[]`, `description`,
`metadata[...]`, `api_version`) answers the endpoint object with its signing `secret`
(`whsec_...`) only this once, as Stripe does; `GET /v1/webhook_endpoints` (newest first,
`limit`, `starting_after`, `ending_before`) and `GET /v1/webhook_endpoints/{id}` never show it.
`POST /v1/webhook_endpoints/{id}` changes `url`, `enabled_events`, `description` or
`disabled`; `DELETE` answers `{"id", "object": "webhook_endpoint", "deleted": true}`.
`enabled_events` takes event types from `EVENT_TYPES` or `"*"`; anything else is Stripe's
400 `Invalid enabled_events[n]`.

Events the sandbox writes cause deliveries to every enabled endpoint that wants them:
`POST /v1/charges` -> `charge.succeeded`; `POST /v1/refunds` -> `charge.refunded` (the
charge, with `previous_attributes`) and `refund.created`; `POST /v1/payouts` ->
`payout.created`. The body is the event object (`id` evt_..., `object: "event"`, `type`,
`data.object`, `created`, `livemode`, `api_version`, `pending_webhooks`, `request`); the
header `Stripe-Signature: t=<unix>,v1=<hex>` is hex HMAC-SHA256 of `"{t}.{body}"` with the
endpoint's secret, computed afresh at every attempt (a retry carries a new `t`, as Stripe's
do, so the receiver's 300 s tolerance holds). One event id goes to every endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
from typing import Any
from urllib.parse import urlsplit

from sandbox.stripe.data import stripe_id
from sandbox.webhook_sender import Delivery, Subscription, WebhookSender

# Event types an endpoint may enable (those the sandbox sends, and their usual neighbours).
EVENT_TYPES = frozenset({
    "balance.available", "charge.captured", "charge.dispute.closed", "charge.dispute.created",
    "charge.dispute.funds_reinstated", "charge.dispute.funds_withdrawn",
    "charge.dispute.updated", "charge.expired", "charge.failed", "charge.pending",
    "charge.refund.updated", "charge.refunded", "charge.succeeded", "charge.updated",
    "customer.created", "customer.updated", "payment_intent.canceled",
    "payment_intent.created", "payment_intent.payment_failed", "payment_intent.succeeded",
    "payout.canceled", "payout.created", "payout.failed", "payout.paid",
    "payout.reconciliation_completed", "payout.updated", "refund.created", "refund.failed",
    "refund.updated",
})  # fmt: skip
_ALNUM = string.ascii_letters + string.digits


def signature_header(secret: str, body: bytes, now: float) -> str:
    """`Stripe-Signature` for `body` signed at unix time `now`."""
    t = str(int(now))
    digest = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


class StripeWebhooks:
    """Webhook endpoints of one sandbox account and the events it delivers."""

    def __init__(self, sandbox: Any, error_type: type[Exception]) -> None:
        self.sandbox = sandbox
        self._error_type = error_type  # the sandbox's StripeError(status, message, ...)
        self.sender = WebhookSender("stripe",
                                    user_agent="Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        self._events = 0

    # ---- the API resource (called inside the sandbox's request pipeline) ----------------

    def _error(self, message: str, param: str | None = None, status: int = 400,
               code: str | None = None) -> Exception:  # fmt: skip
        return self._error_type(status, message, param=param, code=code)

    def render(self, sub: Subscription, with_secret: bool = False) -> dict[str, Any]:
        """The webhook_endpoint object; `secret` only when just created."""
        body = {
            "id": sub.id, "object": "webhook_endpoint", "api_version": sub.extra["api_version"],
            "application": None, "created": int(sub.created_at),
            "description": sub.extra["description"], "enabled_events": list(sub.topics),
            "livemode": sub.extra["livemode"], "metadata": dict(sub.extra["metadata"]),
            "status": "enabled" if sub.active else "disabled", "url": sub.url,
        }  # fmt: skip
        if with_secret:
            body["secret"] = sub.secret
        return body

    def _known(self, params: dict[str, Any], allowed: set[str]) -> None:
        for name in params:
            if name not in allowed:
                raise self._error(f"Received unknown parameter: {name}", name)

    def _events_param(self, params: dict[str, Any]) -> tuple[str, ...]:
        events = params.get("enabled_events")
        if isinstance(events, str):
            events = [events]
        if not isinstance(events, list) or not events:
            raise self._error("Missing required param: enabled_events.", "enabled_events",
                              code="parameter_missing")  # fmt: skip
        for n, event in enumerate(events):
            if event != "*" and event not in EVENT_TYPES:
                raise self._error(f"Invalid enabled_events[{n}]: must be one of "
                                  f"{', '.join(sorted(EVENT_TYPES))}, or *",
                                  f"enabled_events[{n}]")  # fmt: skip
        return tuple(dict.fromkeys(events))

    def _url_param(self, params: dict[str, Any]) -> str:
        url = params.get("url")
        if not isinstance(url, str) or not url:
            raise self._error("Missing required param: url.", "url", code="parameter_missing")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self._error(f"Invalid URL: {url}", "url", code="url_invalid")
        return url

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/webhook_endpoints (through the sandbox's idempotent write path)."""
        mode = self.sandbox.write_mode
        self._known(params, {"url", "enabled_events", "description", "metadata",
                             "api_version", "connect", "expand"})  # fmt: skip
        url, events = self._url_param(params), self._events_param(params)
        now = self.sandbox.config.clock()
        seed = self.sandbox.config.seed
        sub = Subscription(
            id=stripe_id("we_", seed, "webhook-endpoint", self.sender.next_number()),
            url=url, topics=events, created_at=now, updated_at=now,
            secret="whsec_" + "".join(secrets.choice(_ALNUM) for _ in range(32)),
            extra={"description": params.get("description"),
                   "metadata": self.sandbox._metadata(params),
                   "api_version": params.get("api_version"), "livemode": mode == "live"},
        )  # fmt: skip
        self.sender.add(sub)
        return self.render(sub, with_secret=True)

    def _get(self, endpoint_id: str) -> Subscription:
        sub = self.sender.subscriptions.get(endpoint_id)
        if sub is None:
            raise self._error(f"No such webhook endpoint: '{endpoint_id}'", "id", 404,
                              "resource_missing")  # fmt: skip
        return sub

    def update(self, endpoint_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/webhook_endpoints/{id}."""
        params.pop("__mode", None)
        self._known(params, {"url", "enabled_events", "description", "metadata", "disabled",
                             "expand"})  # fmt: skip
        sub = self._get(endpoint_id)
        if "url" in params:
            sub.url = self._url_param(params)
        if "enabled_events" in params:
            sub.topics = self._events_param(params)
        if "description" in params:
            sub.extra["description"] = params["description"] or None
        if "metadata" in params:
            sub.extra["metadata"].update(self.sandbox._metadata(params))
        if "disabled" in params:
            sub.active = str(params["disabled"]).lower() != "true"
        sub.updated_at = self.sandbox.config.clock()
        self.sandbox.stats.writes += 1
        return self.render(sub)

    def delete(self, endpoint_id: str) -> dict[str, Any]:
        sub = self._get(endpoint_id)
        self.sender.remove(sub.id)
        return {"id": sub.id, "object": "webhook_endpoint", "deleted": True}

    def listing(self, params: dict[str, Any]) -> dict[str, Any]:
        """GET /v1/webhook_endpoints, newest first."""
        self._known(params, {"limit", "starting_after", "ending_before", "expand"})
        limit = int(params.get("limit", 10))
        if not 1 <= limit <= 100:
            raise self._error("This value must be between 1 and 100.", "limit")
        subs = list(self.sender.subscriptions.values())[::-1]
        ids = [s.id for s in subs]
        start, end = 0, len(subs)
        for param in ("starting_after", "ending_before"):
            cursor = params.get(param)
            if cursor is not None:
                if cursor not in ids:
                    raise self._error(f"No such webhook endpoint: '{cursor}'", param, 400,
                                      "resource_missing")  # fmt: skip
                if param == "starting_after":
                    start = ids.index(cursor) + 1
                else:
                    end = ids.index(cursor)
        window = subs[start:end]
        if params.get("ending_before") is not None and params.get("starting_after") is None:
            page = window[-limit:]
            has_more = len(window) > limit
        else:
            page = window[:limit]
            has_more = len(window) > limit
        return {"object": "list", "data": [self.render(s) for s in page], "has_more": has_more,
                "url": "/v1/webhook_endpoints"}  # fmt: skip

    # ---- events -------------------------------------------------------------------------

    def event(self, event_type: str, obj: dict[str, Any],
              previous: dict[str, Any] | None = None,
              idempotency_key: str | None = None) -> list[Delivery]:  # fmt: skip
        """Deliver one event about `obj` (a rendered API object) to the endpoints on it."""
        subs = self.sender.matching(event_type)
        if not subs:
            return []
        config = self.sandbox.config
        self._events += 1
        data: dict[str, Any] = {"object": obj}
        if previous:
            data["previous_attributes"] = previous
        event_id = stripe_id("evt_", config.seed, "event", self._events, obj.get("id"))
        event = {
            "id": event_id, "object": "event", "api_version": config.api_version,
            "created": int(config.clock()), "data": data, "livemode": False,
            "pending_webhooks": len(subs),
            "request": {"id": None, "idempotency_key": idempotency_key}, "type": event_type,
        }  # fmt: skip
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        deliveries = [Delivery(
            url=sub.url, body=body, topic=event_type, event_id=event_id, subscription_id=sub.id,
            sign=lambda b, now, key=sub.secret: {"Stripe-Signature":
                                                 signature_header(key or "", b, now)},
        ) for sub in subs]  # fmt: skip
        return self.sender.emit(deliveries)
