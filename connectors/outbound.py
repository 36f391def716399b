"""Outbound event deliveries to subscribers: how a delivery is signed (so a receiver can
verify it), which endpoints may receive one (no server-side request forgery), and when a
failed delivery is tried again.

Signature, documented for receivers: header `BigLedger-Signature: t=<unix seconds>,v1=<hex>`
where v1 = HMAC-SHA256(key = the subscription's secret, message = "<t>.<raw body>"), hex. A
receiver recomputes it over the raw body, compares in constant time and refuses a `t` more
than five minutes away from its clock (the scheme Stripe uses, familiar to most receivers).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from bigledger.errors import ValidationFailed

SIGNATURE_HEADER = "BigLedger-Signature"
TOLERANCE_SECONDS = 300
# Attempts after the first, in seconds: quick retries for a blip, then hours for an outage.
RETRY_DELAYS = (10, 30, 120, 600, 1_800, 3_600, 6 * 3_600, 12 * 3_600)

Resolver = Callable[[str, int], Iterable[str]]


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The BigLedger-Signature header value for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(body: bytes, header: str, secret: str, now: int,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: True when a v1 signature of the header matches the body and its
    timestamp is within the tolerance of `now`."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k.strip() == "t"]
    signatures = [v.strip() for k, v in parts if k.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or not signatures:
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, s) for s in signatures)


def retry_delay(attempt: int) -> int | None:
    """Seconds to wait before attempt `attempt + 1` (attempt 1 is the first try); None when
    the delivery has used every attempt."""
    index = attempt - 1
    return RETRY_DELAYS[index] if 0 <= index < len(RETRY_DELAYS) else None


@dataclass(frozen=True, slots=True)
class EndpointPolicy:
    """What subscriber endpoints may be: https only unless http is allowed, and never an
    address on this machine or its private networks unless that is allowed (tests)."""

    allow_http: bool = False
    allow_private: bool = False


def endpoint_policy() -> EndpointPolicy:
    """The policy the settings ask for (BIGLEDGER_ALLOW_INSECURE_HTTP,
    BIGLEDGER_ALLOW_PRIVATE_WEBHOOK_ENDPOINTS): one for subscribing and for sending."""
    from bigledger.settings import get_settings

    settings = get_settings()
    return EndpointPolicy(allow_http=settings.allow_insecure_http,
                          allow_private=settings.allow_private_webhook_endpoints)


def _default_resolver(host: str, port: int) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def check_endpoint(url: str, policy: EndpointPolicy,
                   resolve: Resolver | None = None) -> httpx.URL:
    """The endpoint as a URL, or ValidationFailed saying why it may not receive deliveries.

    Every address the host resolves to is checked (a name resolving to 127.0.0.1 or to the
    cloud metadata address 169.254.169.254 is refused like the literal). The delivery should
    connect to the checked address, so a second lookup cannot be steered elsewhere."""
    try:
        parsed = httpx.URL(url)
    except Exception as exc:
        raise ValidationFailed(f"endpoint is not a URL: {exc}") from None
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise ValidationFailed("endpoint must be an https:// URL")
    if parsed.scheme == "http" and not policy.allow_http:
        raise ValidationFailed("endpoint must use https (http is allowed only by the "
                               "BIGLEDGER_ALLOW_INSECURE_HTTP setting)")
    if parsed.userinfo:
        raise ValidationFailed("endpoint must not carry credentials in the URL")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = list((resolve or _default_resolver)(parsed.host, port))
    except OSError as exc:
        raise ValidationFailed(f"endpoint host {parsed.host} does not resolve: {exc}") from None
    if not addresses:
        raise ValidationFailed(f"endpoint host {parsed.host} does not resolve")
    if not policy.allow_private:
        for address in addresses:
            if _internal(address):
                raise ValidationFailed(
                    f"endpoint host {parsed.host} resolves to {address}, an address inside "
                    "this network; deliveries go to public endpoints only",
                    details={"host": parsed.host})
    return parsed


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


# -- sending ---------------------------------------------------------------------------------

EVENT_ID_HEADER = "BigLedger-Event-Id"
EVENT_HEADER = "BigLedger-Event"


@dataclass(frozen=True, slots=True)
class PinnedEndpoint:
    """An endpoint checked at send time with the addresses the check saw: the request
    connects to one of these, never to what a second lookup might answer (DNS rebinding)."""

    url: httpx.URL
    addresses: tuple[str, ...]


def pin_endpoint(url: str, policy: EndpointPolicy,
                 resolve: Resolver | None = None) -> PinnedEndpoint:
    """check_endpoint, keeping the addresses it checked (ValidationFailed when refused)."""
    seen: list[str] = []

    def remembering(host: str, port: int) -> list[str]:
        addresses = list((resolve or _default_resolver)(host, port))
        seen.extend(addresses)
        return addresses

    checked = check_endpoint(url, policy, remembering)
    return PinnedEndpoint(checked, tuple(dict.fromkeys(seen)))


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one delivery attempt came to."""

    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: int


def delivery_headers(body: bytes, secret: str, timestamp: int, event_id: str, event: str,
                     user_agent: str) -> dict[str, str]:
    """The headers of a delivery: signature over timestamp and body, the event's id (what a
    receiver deduplicates on: delivery is at least once) and name."""
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret, timestamp),
            EVENT_ID_HEADER: event_id, EVENT_HEADER: event, "User-Agent": user_agent}


def post_event(client: httpx.Client, endpoint: PinnedEndpoint, body: bytes,
               headers: dict[str, str]) -> SendResult:
    """POST a delivery to the pinned addresses in turn (the next one only when a connection
    cannot be made). A 2xx succeeds; any other answer, a timeout or no connection fails.
    Redirects are not followed: a redirect could point inside the network. The answer's
    body is not read, so a subscriber cannot hold the sender by streaming it slowly."""
    started = time.monotonic()
    error = "no address to connect to"
    for address in endpoint.addresses:
        url = endpoint.url.copy_with(host=address)
        extensions = {"sni_hostname": endpoint.url.host} if url.scheme == "https" else {}
        try:
            with client.stream("POST", url, content=body,
                               headers={**headers, "Host": _host_header(endpoint.url)},
                               extensions=extensions, follow_redirects=False) as response:
                code = response.status_code
            return SendResult(200 <= code < 300, code, None, _elapsed_ms(started))
        except httpx.ConnectError as exc:
            error = f"connection failed: {exc}" if str(exc) else "connection failed"
        except httpx.TimeoutException as exc:
            return SendResult(False, None, f"timed out ({type(exc).__name__})",
                              _elapsed_ms(started))
        except httpx.HTTPError as exc:
            return SendResult(False, None, f"{type(exc).__name__}: {exc}", _elapsed_ms(started))
    return SendResult(False, None, error, _elapsed_ms(started))


def _host_header(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port else host


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
