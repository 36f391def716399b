"""WooCommerce webhooks in the sandbox: the REST `/webhooks` resource and signed deliveries.

`POST /wp-json/wc/v3/webhooks` {name, topic, delivery_url, secret, status} creates one (201,
the webhook object, `secret` included, as WooCommerce's edit context shows it; a missing
secret is generated); `GET /webhooks` lists (`status=all|active|paused|disabled`, paged like
every collection), `GET|PUT /webhooks/{id}` read and change, `DELETE /webhooks/{id}?force=true`
deletes (without `force` WooCommerce answers 501: webhooks cannot be trashed). Topics are
`order|product|customer|coupon` x `created|updated|deleted|restored`; anything else is 400.

On creation an active webhook is pinged as WooCommerce does: a form body `webhook_id=N`
with no signature and none of the X-WC headers. Events are delivered to active webhooks
with X-WC-Webhook-Source (site URL + "/"), -Topic, -Resource, -Event, -ID, -Delivery-ID and
-Signature: base64 HMAC-SHA256 over the exact body, keyed with the secret after
`wp_specialchars_decode` (as `WC_Webhook::generate_signature`). The body is what
`wp_json_encode` writes: no spaces, `/` escaped as `\\/`, non-ASCII as `\\uXXXX`.

A webhook whose deliveries fail more than 5 times in a row is set to `disabled`, as
`WC_Webhook::failed_delivery` does. (WooCommerce itself does not retry a failed delivery;
the sandbox's shared sender retries unless `max_attempts: 1` is set in the control.)
The sandbox delivers to http:// and loopback URLs, which WordPress's `wp_safe_remote_post`
would refuse, so receivers on 127.0.0.1 can listen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from sandbox.webhook_sender import Delivery, Subscription, WebhookSender

RESOURCES = ("coupon", "customer", "order", "product")
EVENTS = ("created", "updated", "deleted", "restored")
STATUSES = ("active", "paused", "disabled")
MAX_FAILURES = 5
WEBHOOK_ID_BASE = 100
_HOOKS = {
    "created": {"order": ["woocommerce_new_order"],
                "product": ["woocommerce_new_product", "woocommerce_new_product_variation"],
                "customer": ["user_register", "woocommerce_created_customer"],
                "coupon": ["woocommerce_new_coupon"]},
    "updated": {"order": ["woocommerce_update_order", "woocommerce_order_refunded"],
                "product": ["woocommerce_update_product", "woocommerce_update_product_variation"],
                "customer": ["profile_update", "woocommerce_update_customer"],
                "coupon": ["woocommerce_update_coupon"]},
    "deleted": {"order": ["wp_trash_post"], "product": ["wp_trash_post"],
                "customer": ["delete_user"], "coupon": ["wp_trash_post"]},
    "restored": {"order": ["untrashed_post"], "product": ["untrashed_post"],
                 "customer": [], "coupon": ["untrashed_post"]},
}  # fmt: skip

# wp_specialchars_decode($text, ENT_QUOTES): these entities (numeric ones zero-padded too),
# one pass, so "&amp;lt;" becomes "&lt;".
_ENTITIES = re.compile(r"&(?:(lt|gt|amp|quot)|#0*(60|62|38|34|39)|#[xX]0*(26|22|27));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def specialchars_decode(text: str) -> str:
    """WordPress's `wp_specialchars_decode(..., ENT_QUOTES)`."""

    def one(match: re.Match[str]) -> str:
        named, dec, hexa = match.groups()
        if named:
            return _NAMED[named]
        return chr(int(dec)) if dec else chr(int(hexa, 16))

    return _ENTITIES.sub(one, text)


def signature(secret: str, body: bytes) -> str:
    """X-WC-Webhook-Signature for `body`."""
    key = specialchars_decode(secret).encode()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def wp_json_encode(payload: Any) -> bytes:
    """PHP json_encode with default flags: compact, ASCII only, slashes escaped."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace(
        "/", "\\/").encode()  # fmt: skip


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(ts)))


class _Invalid(Exception):
    def __init__(self, code: str, message: str, status: int = 400, **data: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.data = code, message, status, data


class WooWebhooks:
    """Webhooks of one sandbox store and the deliveries its events cause."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.sender = WebhookSender("woocommerce",
                                    user_agent="WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)")

    def _now(self) -> float:
        return self.sandbox.catalog.clock()

    # ---- the REST resource --------------------------------------------------------------

    def record(self, sub: Subscription) -> dict[str, Any]:
        """The webhook as WooCommerce's REST API (edit context) shows it."""
        resource, _, event = sub.extra["topic"].partition(".")
        offset = self.sandbox.config.utc_offset_minutes * 60
        site = self.sandbox.config.site_url
        number = int(sub.id)
        return {
            "id": number,
            "name": sub.extra["name"],
            "status": sub.extra["status"],
            "topic": sub.extra["topic"],
            "resource": resource,
            "event": event,
            "hooks": list(_HOOKS.get(event, {}).get(resource, [])),
            "delivery_url": sub.url,
            "secret": sub.secret,
            "date_created": _stamp(sub.created_at + offset),
            "date_created_gmt": _stamp(sub.created_at),
            "date_modified": _stamp(sub.updated_at + offset),
            "date_modified_gmt": _stamp(sub.updated_at),
            "_links": {
                "self": [{"href": f"{site}/wp-json/wc/v3/webhooks/{number}"}],
                "collection": [{"href": f"{site}/wp-json/wc/v3/webhooks"}],
            },
        }

    def _validate(self, body: Any, creating: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Invalid("rest_invalid_json", "Invalid JSON body passed.")
        if creating:
            missing = [k for k in ("topic", "delivery_url") if not body.get(k)]
            if missing:
                raise _Invalid("rest_missing_callback_param",
                               f"Missing parameter(s): {', '.join(missing)}",
                               params=missing)  # fmt: skip
        if "topic" in body:
            resource, _, event = str(body["topic"]).partition(".")
            if resource not in RESOURCES or event not in EVENTS:
                raise _Invalid("woocommerce_rest_webhook_invalid_topic",
                               "Webhook topic is required and must be valid.")  # fmt: skip
        if "delivery_url" in body:
            parts = urlsplit(str(body["delivery_url"]))
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _Invalid("rest_invalid_param", "Invalid parameter(s): delivery_url",
                               params={"delivery_url": "Invalid URL."})  # fmt: skip
        if "status" in body and body["status"] not in STATUSES:
            raise _Invalid("rest_invalid_param", "Invalid parameter(s): status",
                           params={"status": f"status is not one of {', '.join(STATUSES)}."})
        if "secret" in body and not isinstance(body["secret"], str):
            raise _Invalid("rest_invalid_param", "Invalid parameter(s): secret",
                           params={"secret": "secret is not of type string."})  # fmt: skip
        return body

    def create(self, body: Any) -> Subscription:
        body = self._validate(body, creating=True)
        now = self._now()
        number = WEBHOOK_ID_BASE + self.sender.next_number()
        topic = str(body["topic"])
        sub = Subscription(
            id=str(number), url=str(body["delivery_url"]), topics=(topic,),
            # WooCommerce generates a secret when none is given.
            secret=body.get("secret") or secrets.token_urlsafe(36),
            created_at=now, updated_at=now,
            extra={"topic": topic, "status": body.get("status") or "active",
                   "name": body.get("name") or f"Webhook created on {_stamp(now)}",
                   "failures": 0},
        )  # fmt: skip
        sub.active = sub.extra["status"] == "active"
        self.sender.add(sub)
        if sub.active:
            self.ping(sub)
        return sub

    def update(self, sub: Subscription, body: Any) -> Subscription:
        body = self._validate(body, creating=False)
        if "topic" in body:
            sub.extra["topic"] = str(body["topic"])
            sub.topics = (sub.extra["topic"],)
        if "delivery_url" in body:
            sub.url = str(body["delivery_url"])
        if body.get("secret"):
            sub.secret = body["secret"]
        if "name" in body:
            sub.extra["name"] = str(body["name"])
        if "status" in body:
            sub.extra["status"] = body["status"]
            if body["status"] == "active":
                sub.extra["failures"] = 0
        sub.active = sub.extra["status"] == "active"
        sub.updated_at = self._now()
        return sub

    async def collection(self, request: Request) -> Response:
        """GET (list) and POST (create) /wp-json/wc/v3/webhooks."""
        sandbox = self.sandbox
        creating = request.method == "POST"
        denied = await sandbox._guard(
            request, "Sorry, you are not allowed to create resources." if creating
            else "Sorry, you cannot list resources.")  # fmt: skip
        if denied is not None:
            return denied
        if creating:
            try:
                sub = self.create(await self._body(request))
            except _Invalid as exc:
                return self._error(exc)
            return sandbox._json(self.record(sub), 201)
        status = request.query_params.get("status", "all")
        if status not in ("all", *STATUSES):
            return self._error(_Invalid("rest_invalid_param", "Invalid parameter(s): status",
                                        params={"status": "status is not one of all, active, "
                                                "paused, disabled."}))  # fmt: skip
        records = [self.record(s) for s in self.sender.subscriptions.values()
                   if status == "all" or s.extra["status"] == status]  # fmt: skip
        records.sort(key=lambda r: r["id"], reverse=request.query_params.get("order") != "asc")
        return sandbox._paged(request, records)

    async def item(self, request: Request) -> Response:
        """GET, PUT/PATCH and DELETE /wp-json/wc/v3/webhooks/{id}."""
        sandbox = self.sandbox
        denied = await sandbox._guard(request, "Sorry, you cannot view this resource.")
        if denied is not None:
            return denied
        sub = self.sender.subscriptions.get(str(request.path_params["webhook_id"]))
        if sub is None:
            return self._error(_Invalid("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404))
        if request.method == "DELETE":
            force = request.query_params.get("force", "").lower() in ("1", "true")
            if not force:
                return self._error(_Invalid("woocommerce_rest_trash_not_supported",
                                            "Webhooks do not support trashing.", 501))
            record = self.record(sub)
            self.sender.remove(sub.id)
            return sandbox._json(record)
        if request.method in ("PUT", "PATCH", "POST"):
            try:
                self.update(sub, await self._body(request))
            except _Invalid as exc:
                return self._error(exc)
        return sandbox._json(self.record(sub))

    @staticmethod
    async def _body(request: Request) -> Any:
        raw = await request.body()
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise _Invalid("rest_invalid_json", "Invalid JSON body passed.") from None

    def _error(self, exc: _Invalid) -> Response:
        if exc.status == 400:
            self.sandbox.stats.bad_requests += 1
        body = {"code": exc.code, "message": exc.message,
                "data": {"status": exc.status, **exc.data}}  # WordPress's REST error shape
        return self.sandbox._json(body, exc.status)

    # ---- deliveries ---------------------------------------------------------------------

    def ping(self, sub: Subscription) -> None:
        """WooCommerce's creation ping: `webhook_id=N`, unsigned, no X-WC headers."""
        self.sender.emit([Delivery(
            url=sub.url, body=f"webhook_id={sub.id}".encode(), sign=lambda _b, _t: {},
            topic="ping", subscription_id=sub.id, kind="ping", handshake=True,
            content_type="application/x-www-form-urlencoded",
        )])  # fmt: skip

    def deliver(self, topic: str, payload: dict[str, Any]) -> list[Delivery]:
        """One event: `payload` (the resource's REST JSON) to every active webhook on it."""
        subs = self.sender.matching(topic)
        if not subs:
            return []
        body = wp_json_encode(payload)
        resource, _, event = topic.partition(".")
        source = self.sandbox.config.site_url.rstrip("/") + "/"
        deliveries = []
        for sub in subs:
            delivery_id = uuid.uuid4().hex
            headers = {
                "X-WC-Webhook-Source": source,
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": signature(sub.secret or "", body),
                "X-WC-Webhook-ID": sub.id,
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
            deliveries.append(Delivery(
                url=sub.url, body=body, sign=lambda _b, _t, h=headers: h, topic=topic,
                event_id=delivery_id, subscription_id=sub.id, on_done=self._count,
            ))  # fmt: skip
        return self.sender.emit(deliveries)

    def _count(self, delivery: Delivery) -> None:
        """WC_Webhook::failed_delivery: more than 5 failures in a row disable the webhook."""
        sub = self.sender.subscriptions.get(delivery.subscription_id or "")
        if sub is None:
            return
        if delivery.state == "delivered":
            sub.extra["failures"] = 0
            return
        sub.extra["failures"] += 1
        if sub.extra["failures"] > MAX_FAILURES:
            sub.extra["status"] = "disabled"
            sub.active = False
