"""Inbound webhook signature verification, one pure function per platform.

Each verifier takes the raw request body (bytes, exactly as received), the request headers
(any mapping; names are matched case-insensitively), the shared secret and, where time
matters, `now`. It returns a `Verified` delivery or raises `WebhookVerificationFailed`
(401). Digests are compared with `hmac.compare_digest` after decoding the header, so the
comparison is constant-time and a wrongly encoded header is refused before any comparison.

Refusal messages name the platform and the header, never the secret, the expected
signature or the signature that was sent.

A body that is correctly signed but is not the JSON the platform documents raises
`ValidationFailed` (422): the sender is authentic, the content is unusable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bigledger.errors import ErrorCode, IntegrationError, ValidationFailed
from bigledger.money import loads_exact

try:  # Prefer the shared class once bigledger/errors.py has one.
    from bigledger.errors import WebhookVerificationFailed  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the shared module's version

    class WebhookVerificationFailed(IntegrationError):  # type: ignore[no-redef]
        """A webhook delivery whose signature is missing, malformed, wrong or stale."""

        code = ErrorCode.WEBHOOK_VERIFICATION_FAILED
        http_status = 401


__all__ = [
    "DEFAULT_STRIPE_TOLERANCE",
    "PLATFORMS",
    "Verified",
    "WebhookVerificationFailed",
    "verify_quickbooks",
    "verify_shopify",
    "verify_stripe",
    "verify_webhook",
    "verify_woocommerce",
    "verify_xero",
]

DEFAULT_STRIPE_TOLERANCE = 300.0
_SHA256_LEN = 32
_PING_RE = re.compile(rb"webhook_id=(\d{1,20})")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")

Secret = str | bytes


@dataclass(frozen=True)
class Verified:
    """An authentic delivery: who sent it, what it is, and the parsed body.

    `event_id` is the platform's own id when it sends one (Shopify, WooCommerce, Stripe,
    QuickBooks CloudEvents); `dedup_key` is always set (the event id, else a SHA-256 of the
    body, which platforms re-send unchanged on retry).
    """

    platform: str
    event_id: str | None
    topic: str | None
    payload: Any = field(repr=False)
    body_sha256: str
    ping: bool = False
    intent_to_receive: bool = False
    source: str | None = None  # shop domain, store URL, realm id ...
    delivery_id: str | None = None
    webhook_id: str | None = None
    triggered_at: str | None = None
    signed_at: int | None = None  # Stripe's t=

    @property
    def dedup_key(self) -> str:
        """Key the inbox deduplicates on: `platform:event_id`, else `platform:sha256:<body>`."""
        if self.event_id:
            return f"{self.platform}:{self.event_id}"
        return f"{self.platform}:sha256:{self.body_sha256}"

    @property
    def is_event(self) -> bool:
        """False for handshakes (Woo ping, Xero intent-to-receive) that carry no event."""
        return not (self.ping or self.intent_to_receive)


# -- helpers ------------------------------------------------------------------------------


class _Headers:
    """Case-insensitive view of any header mapping (dict, Starlette or httpx Headers)."""

    def __init__(self, headers: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        items: Iterable[tuple[Any, Any]]
        if hasattr(headers, "multi_items"):  # Starlette keeps repeated headers apart
            items = headers.multi_items()  # type: ignore[union-attr]
        elif hasattr(headers, "items"):
            items = headers.items()  # type: ignore[union-attr]
        else:
            items = headers
        self._values: dict[str, list[str]] = {}
        for name, value in items:
            key = _text(name).strip().lower()
            self._values.setdefault(key, []).append(_text(value))

    def get(self, platform: str, name: str) -> str | None:
        """The single value of `name`; two different values are refused as ambiguous."""
        values = self._values.get(name.lower())
        if not values:
            return None
        if len(set(values)) > 1:
            raise _refuse(platform, f"header {name} is sent more than once with different values")
        return values[0].strip()


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def _refuse(platform: str, reason: str) -> WebhookVerificationFailed:
    return WebhookVerificationFailed(f"{platform} webhook refused: {reason}")


def _key(platform: str, secret: Any) -> bytes:
    # Accept pydantic SecretStr/SecretBytes without ever turning them into a repr.
    if hasattr(secret, "get_secret_value"):
        secret = secret.get_secret_value()
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes) or not secret:
        # An empty key would let anyone compute a valid signature.
        raise _refuse(platform, "no webhook secret is configured")
    return secret


def _body(platform: str, body: Any) -> bytes:
    if isinstance(body, bytearray | memoryview):
        body = bytes(body)
    if not isinstance(body, bytes):
        # Re-encoded text may differ from what was signed; only raw bytes are verifiable.
        raise TypeError(f"{platform} webhook body must be the raw request bytes")
    return body


def _require(platform: str, headers: _Headers, name: str) -> str:
    value = headers.get(platform, name)
    if not value:
        raise _refuse(platform, f"header {name} is missing")
    return value


def _check_base64_hmac(platform: str, header: str, sent: str, key: bytes, body: bytes) -> None:
    try:
        given = base64.b64decode(sent, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(platform, f"header {header} is not valid base64") from None
    if len(given) != _SHA256_LEN:
        raise _refuse(platform, f"header {header} is not a base64 HMAC-SHA256 (wrong length)")
    expected = hmac.new(key, body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given):
        raise _refuse(platform, f"header {header} does not match the body")


def _json(platform: str, body: bytes) -> Any:
    try:
        return loads_exact(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(f"{platform} webhook body is signed but is not valid JSON") from None


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# -- platforms ----------------------------------------------------------------------------

SHOPIFY_HMAC = "X-Shopify-Hmac-Sha256"


def verify_shopify(body: bytes, headers: Mapping[str, Any], secret: Secret) -> Verified:
    """Check `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the body, app client secret)."""
    platform = "shopify"
    body = _body(platform, body)
    hdr = _Headers(headers)
    sent = _require(platform, hdr, SHOPIFY_HMAC)
    _check_base64_hmac(platform, SHOPIFY_HMAC, sent, _key(platform, secret), body)
    webhook_id = hdr.get(platform, "X-Shopify-Webhook-Id")
    # Event-Id is shared by duplicates of one event across subscriptions; prefer it.
    event_id = hdr.get(platform, "X-Shopify-Event-Id") or webhook_id
    return Verified(
        platform=platform,
        event_id=event_id,
        topic=hdr.get(platform, "X-Shopify-Topic"),
        payload=_json(platform, body),
        body_sha256=_sha(body),
        source=hdr.get(platform, "X-Shopify-Shop-Domain"),
        delivery_id=webhook_id,
        triggered_at=hdr.get(platform, "X-Shopify-Triggered-At"),
    )


WOO_SIGNATURE = "X-WC-Webhook-Signature"

# wp_specialchars_decode($secret, ENT_QUOTES): only these entities, zero-padded numeric forms
# included, decoded in one pass (so "&amp;lt;" becomes "&lt;", as strtr does in PHP).
_WP_ENTITIES = re.compile(
    r"&(?:(lt|gt|amp|quot)|#0*(60|62|38|34|39)|#[xX]0*(26|22|27));"
)
_WP_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def wp_specialchars_decode(text: str) -> str:
    """WordPress's `wp_specialchars_decode(..., ENT_QUOTES)`, as Woo applies to the secret."""

    def one(match: re.Match[str]) -> str:
        named, dec, hexa = match.groups()
        if named:
            return _WP_NAMED[named]
        return chr(int(dec)) if dec else chr(int(hexa, 16))

    return _WP_ENTITIES.sub(one, text)


def verify_woocommerce(body: bytes, headers: Mapping[str, Any], secret: Secret) -> Verified:
    """Check `X-WC-Webhook-Signature` (base64 HMAC-SHA256, entity-decoded secret).

    The unsigned ping (`webhook_id=N`) is accepted as a ping, never as an event.
    """
    platform = "woocommerce"
    body = _body(platform, body)
    hdr = _Headers(headers)
    sent = hdr.get(platform, WOO_SIGNATURE)
    ping = _PING_RE.fullmatch(body.strip())
    if not sent:
        if ping:
            # Woo sends the creation ping unsigned; accept it, but it carries no event.
            return Verified(
                platform=platform, event_id=None, topic=None, payload=None,
                body_sha256=_sha(body), ping=True, webhook_id=ping.group(1).decode(),
                source=hdr.get(platform, "X-WC-Webhook-Source"),
            )
        raise _refuse(platform, f"header {WOO_SIGNATURE} is missing")
    if hasattr(secret, "get_secret_value"):
        secret = secret.get_secret_value()
    if isinstance(secret, str):
        secret = wp_specialchars_decode(secret)
    _check_base64_hmac(platform, WOO_SIGNATURE, sent, _key(platform, secret), body)
    source = hdr.get(platform, "X-WC-Webhook-Source")
    if ping:
        return Verified(
            platform=platform, event_id=None, topic=None, payload=None, body_sha256=_sha(body),
            ping=True, webhook_id=ping.group(1).decode(), source=source,
        )
    delivery_id = hdr.get(platform, "X-WC-Webhook-Delivery-ID")
    return Verified(
        platform=platform,
        event_id=delivery_id,
        topic=hdr.get(platform, "X-WC-Webhook-Topic"),
        payload=_json(platform, body),
        body_sha256=_sha(body),
        source=source,
        delivery_id=delivery_id,
        webhook_id=hdr.get(platform, "X-WC-Webhook-ID"),
    )


STRIPE_SIGNATURE = "Stripe-Signature"


def _unix(now: float | int | datetime) -> float:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now.timestamp()
    if isinstance(now, bool) or not isinstance(now, int | float):
        raise TypeError("now must be unix seconds or an aware datetime")
    return float(now)


def verify_stripe(
    body: bytes,
    headers: Mapping[str, Any],
    secret: Secret,
    *,
    now: float | int | datetime,
    tolerance: float = DEFAULT_STRIPE_TOLERANCE,
) -> Verified:
    """Check `Stripe-Signature` (`t=..,v1=..`): hex HMAC-SHA256 of `"{t}.{body}"`, any v1 may
    match, and |now - t| must be within `tolerance` seconds (past and future)."""
    platform = "stripe"
    body = _body(platform, body)
    moment = _unix(now)
    sent = _require(platform, _Headers(headers), STRIPE_SIGNATURE)
    timestamps: set[str] = set()
    v1: list[str] = []
    for part in sent.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            timestamps.add(value.strip())
        elif name == "v1":
            v1.append(value.strip())
    if not timestamps:
        raise _refuse(platform, f"header {STRIPE_SIGNATURE} has no timestamp (t=)")
    if len(timestamps) > 1:
        raise _refuse(platform, f"header {STRIPE_SIGNATURE} has more than one timestamp")
    t_text = timestamps.pop()
    if not t_text.isascii() or not t_text.isdigit():
        raise _refuse(platform, f"header {STRIPE_SIGNATURE} timestamp is not unix seconds")
    if not v1:
        raise _refuse(platform, f"header {STRIPE_SIGNATURE} has no v1 signature")
    candidates = [bytes.fromhex(sig) for sig in v1 if _HEX64_RE.fullmatch(sig)]
    if not candidates:
        raise _refuse(platform, f"header {STRIPE_SIGNATURE} v1 is not a hex HMAC-SHA256")
    key = _key(platform, secret)
    expected = hmac.new(key, t_text.encode("ascii") + b"." + body, hashlib.sha256).digest()
    # Compare against every candidate so the time taken does not reveal which one matched.
    matched = False
    for given in candidates:
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise _refuse(platform, f"header {STRIPE_SIGNATURE} does not match the body")
    signed_at = int(t_text)
    if abs(moment - signed_at) > tolerance:
        reason = f"timestamp is outside the {tolerance:g} s tolerance"
        raise _refuse(platform, f"header {STRIPE_SIGNATURE} {reason}")
    payload = _json(platform, body)
    event_id = payload.get("id") if isinstance(payload, dict) else None
    if not isinstance(event_id, str) or not event_id:
        raise ValidationFailed("stripe webhook body is signed but is not an event with an id")
    event_type = payload.get("type")
    return Verified(
        platform=platform,
        event_id=event_id,
        topic=event_type if isinstance(event_type, str) else None,
        payload=payload,
        body_sha256=_sha(body),
        source=payload.get("account") if isinstance(payload.get("account"), str) else None,
        signed_at=signed_at,
    )


QUICKBOOKS_SIGNATURE = "intuit-signature"


def verify_quickbooks(body: bytes, headers: Mapping[str, Any], secret: Secret) -> Verified:
    """Check `intuit-signature` (base64 HMAC-SHA256 of the body, webhook verifier token).

    Accepts the classic `eventNotifications` body and the CloudEvents form (one object or a
    list); a single CloudEvent's `id` becomes the event id.
    """
    platform = "quickbooks"
    body = _body(platform, body)
    hdr = _Headers(headers)
    sent = _require(platform, hdr, QUICKBOOKS_SIGNATURE)
    _check_base64_hmac(platform, QUICKBOOKS_SIGNATURE, sent, _key(platform, secret), body)
    payload = _json(platform, body)
    event_id = topic = source = None
    if isinstance(payload, dict) and "eventNotifications" in payload:
        topic = "eventNotifications"
        realms = {
            n.get("realmId") for n in payload.get("eventNotifications") or []
            if isinstance(n, dict)
        }
        if len(realms) == 1:
            source = next(iter(realms))
    elif isinstance(payload, dict) and "specversion" in payload:
        event_id, topic = payload.get("id"), payload.get("type")
        source = payload.get("intuitaccountid")
    elif isinstance(payload, list) and payload and all(
        isinstance(e, dict) and "specversion" in e for e in payload
    ):
        topic = "cloudevents"
        if len(payload) == 1:
            event_id, topic = payload[0].get("id"), payload[0].get("type")
    else:
        raise ValidationFailed(
            "quickbooks webhook body is signed but is neither eventNotifications nor CloudEvents"
        )
    return Verified(
        platform=platform,
        event_id=str(event_id) if event_id else None,
        topic=str(topic) if topic else None,
        payload=payload,
        body_sha256=_sha(body),
        source=str(source) if source else None,
    )


XERO_SIGNATURE = "x-xero-signature"


def verify_xero(body: bytes, headers: Mapping[str, Any], secret: Secret) -> Verified:
    """Check `x-xero-signature` (base64 HMAC-SHA256, signing key); empty `events` is the
    intent-to-receive handshake (answer 200 on success, 401 with an empty body on refusal)."""
    platform = "xero"
    body = _body(platform, body)
    hdr = _Headers(headers)
    sent = _require(platform, hdr, XERO_SIGNATURE)
    _check_base64_hmac(platform, XERO_SIGNATURE, sent, _key(platform, secret), body)
    payload = _json(platform, body)
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise ValidationFailed("xero webhook body is signed but has no events list")
    tenants = {e.get("tenantId") for e in events if isinstance(e, dict)}
    return Verified(
        platform=platform,
        event_id=None,  # Xero sends no delivery id; dedup_key falls back to the body hash
        topic="events",
        payload=payload,
        body_sha256=_sha(body),
        intent_to_receive=not events,
        source=str(next(iter(tenants))) if len(tenants) == 1 else None,
    )


# -- dispatcher ---------------------------------------------------------------------------

_VERIFIERS: dict[str, Callable[..., Verified]] = {
    "shopify": verify_shopify,
    "woocommerce": verify_woocommerce,
    "stripe": verify_stripe,
    "quickbooks": verify_quickbooks,
    "xero": verify_xero,
}
PLATFORMS = frozenset(_VERIFIERS)


def verify_webhook(
    platform: str,
    body: bytes,
    headers: Mapping[str, Any],
    secret: Secret,
    *,
    now: float | int | datetime,
    stripe_tolerance: float = DEFAULT_STRIPE_TOLERANCE,
) -> Verified:
    """Verify a delivery for `platform` (shopify, woocommerce, stripe, quickbooks, xero)."""
    verifier = _VERIFIERS.get(platform)
    if verifier is None:
        raise ValueError(f"no webhook verifier for platform {platform!r}")
    if platform == "stripe":
        return verifier(body, headers, secret, now=now, tolerance=stripe_tolerance)
    return verifier(body, headers, secret)
