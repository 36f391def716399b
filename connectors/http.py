"""The one HTTP path every connector uses: exact JSON, error mapping, throttling and retries.

Retries are a small explicit loop rather than tenacity: the loop needs three different waits
(a platform's own throttle hint, exponential backoff for failures, and a pre-emptive pause
from the rate-limit policy) and one time budget over all of them, which reads more plainly
as code than as tenacity's composed stop/wait/retry predicates.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bigledger.errors import (
    AuthFailed,
    IntegrationError,
    PlatformError,
    PlatformUnavailable,
    RateLimitExceeded,
    ValidationFailed,
)
from bigledger.money import loads_exact
from bigledger.settings import get_settings
from connectors.ratelimit import RateBudget, RateLimitPolicy, RetryAfterPolicy

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO; some URLs are credentials (Amazon's and Shopify's
# presigned download links, WooCommerce keys in a query string), and secrets are never logged.
logging.getLogger("httpx").setLevel(logging.WARNING)

USER_AGENT = "bigledger-integrations/0.1"
_MAX_MESSAGE = 500
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Transport errors after which the request surely never reached the server: safe to retry
# even a non-idempotent write.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class _UseClientAuth:
    """Sentinel: use the client's own auth for this request."""


USE_CLIENT_AUTH = _UseClientAuth()


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """A platform response with its body parsed exactly (Decimal for fractions, never float).

    `url` may carry a query-string credential (ApiKeyQuery): never log it; use `path`.
    """

    status_code: int
    headers: httpx.Headers
    data: Any
    content: bytes
    method: str
    url: httpx.URL

    @property
    def path(self) -> str:
        """The URL path without query string: safe to show in messages."""
        return self.url.path


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: `initial * factor**(n-1)`, capped, `jitter` part random.

    jitter=0.5 is "equal jitter": never less than half the step, so it cannot collapse to a
    hot loop the way full jitter can.
    """

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        step = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        return step * (1.0 - self.jitter) + step * self.jitter * rand()


@dataclass(slots=True)
class RetryDecision:
    """A response or failure worth retrying: what to raise on giving up, and how long to wait."""

    error: IntegrationError  # raised if we give up
    hint: float | None  # the platform's or policy's wait; None = use backoff
    throttle: bool  # rate refusal: request was not processed, safe to resend any method


def platform_error_message(data: Any) -> str | None:
    """Best human message from the error bodies of the platforms we integrate with."""
    if isinstance(data, str):
        return data or None
    if isinstance(data, list):
        parts = [m for m in (platform_error_message(item) for item in data) if m]
        return "; ".join(parts) or None
    if not isinstance(data, dict):
        return None
    # Shopify {"errors": "..."|{...}|[...]}, GraphQL/Amazon {"errors": [{"message"}]}.
    if "errors" in data and data["errors"]:
        errors = data["errors"]
        if isinstance(errors, dict):
            return "; ".join(f"{k}: {_join(v)}" for k, v in errors.items())
        return platform_error_message(errors)
    # Stripe {"error": {"message"}}; OAuth {"error": "...", "error_description": "..."}.
    error = data.get("error")
    if isinstance(error, dict):
        return platform_error_message(error)
    if isinstance(error, str):
        desc = data.get("error_description")
        return f"{error}: {desc}" if desc else error
    # QuickBooks {"Fault": {"Error": [{"Message", "Detail"}]}}.
    fault = data.get("Fault")
    if isinstance(fault, dict):
        return platform_error_message(fault.get("Error"))
    # PayPal {"name", "message"}, WooCommerce {"code", "message"}, Xero/problem {"Title","Detail"}.
    for key in ("message", "Message", "detail", "Detail", "title", "Title"):
        value = data.get(key)
        if isinstance(value, str) and value:
            label = data.get("name") or data.get("code") or data.get("Type")
            detail = data.get("Detail") if key == "Message" else None
            text = f"{label}: {value}" if isinstance(label, str) and label else value
            return f"{text} ({detail})" if isinstance(detail, str) and detail else text
    return None


def _join(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback IPs (where plain http cannot leak anything)."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url_security(url: str | httpx.URL, *, allow_insecure_http: bool) -> httpx.URL:
    """Refuse non-https URLs except on loopback (or when explicitly allowed)."""
    parsed = httpx.URL(str(url))
    if parsed.scheme == "https":
        return parsed
    if parsed.scheme == "http" and (allow_insecure_http or is_loopback_host(parsed.host)):
        return parsed
    raise ValidationFailed(
        f"refusing insecure URL scheme {parsed.scheme or '(none)'}://{parsed.host}: "
        "use https, a loopback host, or set BIGLEDGER_ALLOW_INSECURE_HTTP",
        details={"host": parsed.host},
    )


class HttpClient:
    """One pooled httpx.Client per connector, with the retry, throttle and error rules.

    `budget_seconds` bounds how long one `request()` keeps retrying 429/5xx/timeouts;
    `acquire` (optional) is called before every attempt, e.g. to take a shared rate-limit
    slot from an orchestrator without this package knowing it.
    """

    def __init__(
        self,
        base_url: str,
        *,
        platform: str = "platform",
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        rate_limit: RateLimitPolicy | None = None,
        budget_seconds: float | None = None,
        backoff: Backoff | None = None,
        max_attempts: int = 100,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        acquire: Callable[[], None] | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        settings = get_settings()
        self.platform = platform
        self._allow_insecure = (
            settings.allow_insecure_http if allow_insecure_http is None else allow_insecure_http
        )
        self.base_url = check_url_security(base_url, allow_insecure_http=self._allow_insecure)
        self.auth = auth
        self.policy = rate_limit or RetryAfterPolicy(clock=clock)
        self.budget_seconds = (
            settings.max_retry_seconds if budget_seconds is None else budget_seconds
        )
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._acquire = acquire
        if timeout is None:
            total = settings.http_timeout_seconds
            timeout = httpx.Timeout(total, connect=min(10.0, total))
        default_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        default_headers.update(headers or {})
        self._client = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            headers=default_headers,
            timeout=timeout,
            transport=transport,
            # Custom credential headers (X-Shopify-Access-Token, x-amz-access-token) are not
            # stripped on redirect by httpx, so never follow one blindly.
            follow_redirects=False,
            http2=False,
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
        )

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rate_budget(self) -> RateBudget:
        """The rate-limit policy's last observed budget (for health reporting)."""
        return self.policy.budget()

    # -- requests --------------------------------------------------------------------------

    def get(self, url: str, **kwargs: Any) -> ApiResponse:
        """GET through `request()`."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> ApiResponse:
        """POST through `request()` (retried on 5xx only when `idempotent=True`)."""
        return self.request("POST", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        cost: float = 1.0,
        idempotent: bool | None = None,
        parse: bool = True,
        auth: httpx.Auth | None | _UseClientAuth = USE_CLIENT_AUTH,
        budget_seconds: float | None = None,
    ) -> ApiResponse:
        """Send with pacing and retries; return the parsed response or raise an IntegrationError.

        `cost` is what the rate-limit policy reserves (GraphQL query cost, tokens).
        `idempotent` defaults by method; non-idempotent requests are retried only when the
        platform surely did not process them (throttled, or never connected).
        """
        method = method.upper()
        target = self._target(url, auth)
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        budget = self.budget_seconds if budget_seconds is None else budget_seconds
        deadline = self._clock() + budget
        failures = throttles = attempts = 0
        while True:
            attempts += 1
            pause = self.policy.delay_before(cost)
            if pause > 0:
                log.debug(
                    "%s: pacing %.3fs before %s %s", self.platform, pause, method, target.path
                )
                self._sleep(pause)
                # Pacing is not failure: it does not eat into the retry budget.
                deadline += pause
            if self._acquire is not None:
                self._acquire()
            outcome = self._attempt(
                method,
                target,
                params=params,
                json=json,
                data=data,
                content=content,
                headers=headers,
                parse=parse,
                auth=auth,
                idempotent=idempotent,
            )
            if isinstance(outcome, ApiResponse):
                return outcome
            if outcome.throttle:
                throttles += 1
                wait = outcome.hint
                if wait is None:
                    wait = self.backoff.delay(throttles, self._rand)
            else:
                failures += 1
                wait = self.backoff.delay(failures, self._rand)
                if outcome.hint is not None:
                    wait = max(wait, outcome.hint)
            remaining = deadline - self._clock()
            if wait > remaining or attempts >= self.max_attempts:
                error = outcome.error
                if isinstance(error, RateLimitExceeded):
                    error.retry_after = wait
                log.warning(
                    "%s: giving up on %s %s after %d attempts: %s",
                    self.platform,
                    method,
                    target.path,
                    attempts,
                    error.message,
                )
                raise error
            log.info(
                "%s: %s on %s %s; retrying in %.2fs (attempt %d)",
                self.platform,
                outcome.error.code,
                method,
                target.path,
                wait,
                attempts,
            )
            self._sleep(wait)

    def _target(self, url: str, auth: Any) -> httpx.URL:
        parsed = httpx.URL(url)
        if not parsed.is_absolute_url:
            return parsed
        check_url_security(parsed, allow_insecure_http=self._allow_insecure)
        sends_credentials = self.auth is not None and isinstance(auth, _UseClientAuth)
        same_origin = (parsed.scheme, parsed.host, parsed.port) == (
            self.base_url.scheme,
            self.base_url.host,
            self.base_url.port,
        )
        if sends_credentials and not same_origin:
            # A cursor URL from a response must not be able to redirect our credentials.
            raise ValidationFailed(
                f"refusing to send {self.platform} credentials to another host ({parsed.host})",
                details={"host": parsed.host},
            )
        return parsed

    def _attempt(
        self,
        method: str,
        target: httpx.URL,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        parse: bool,
        auth: Any,
        idempotent: bool,
    ) -> ApiResponse | RetryDecision:
        kwargs: dict[str, Any] = {}
        if not isinstance(auth, _UseClientAuth):
            kwargs["auth"] = auth
        try:
            raw = self._client.request(
                method,
                target,
                params=params,
                json=json,
                data=data,
                content=content,
                headers=headers,
                **kwargs,
            )
        except IntegrationError as exc:
            # Raised by an auth flow (token endpoint refused, throttled or down).
            self._scrub_error(exc)
            if not exc.retryable:
                raise
            return RetryDecision(
                exc, getattr(exc, "retry_after", None), isinstance(exc, RateLimitExceeded)
            )
        except _TRANSIENT as exc:
            error = PlatformUnavailable(
                self.scrub(
                    f"{self.platform}: {type(exc).__name__} on {method} {target.path}: {exc}"
                ),
                details={"method": method, "path": target.path},
            )
            if not idempotent and not isinstance(exc, _NOT_SENT):
                raise error from None
            return RetryDecision(error, None, False)
        except httpx.HTTPError as exc:
            raise PlatformError(
                self.scrub(
                    f"{self.platform}: {type(exc).__name__} on {method} {target.path}: {exc}"
                ),
                details={"method": method, "path": target.path},
            ) from None
        return self.classify(raw, method=method, parse=parse, idempotent=idempotent)

    def classify(
        self, raw: httpx.Response, *, method: str, parse: bool, idempotent: bool
    ) -> ApiResponse | RetryDecision:
        """Turn an httpx response into an ApiResponse, a retry decision, or a raised error.

        Connectors for platforms with unusual signals (Stripe-Should-Retry) can override this.
        """
        status = raw.status_code
        body: Any = None
        malformed = False
        if parse and raw.content:
            try:
                # Exact parsing: JSON fractions become Decimal. response.json() would give float.
                body = loads_exact(raw.content)
            except ValueError:
                malformed = True
        response = ApiResponse(
            status_code=status,
            headers=raw.headers,
            data=raw.content if not parse else body,
            content=raw.content,
            method=method,
            url=raw.request.url,
        )
        self.policy.observe(response)
        path = raw.request.url.path
        details = {"status": status, "method": method, "path": path}

        if status in (401, 403):
            raise AuthFailed(self._message(status, method, path, body, raw), details=details)
        throttle = self.policy.throttle(response)
        if throttle is not None or status == 429:
            hint = throttle.delay if throttle is not None else self.policy.retry_after(response)
            reason = throttle.reason if throttle is not None else "429"
            error = RateLimitExceeded(
                self.scrub(f"{self.platform} throttled {method} {path} ({reason})"),
                retry_after=hint,
                details=details,
            )
            return RetryDecision(error, hint, True)
        if status >= 500:
            error = PlatformUnavailable(
                self._message(status, method, path, body, raw), details=details
            )
            if not idempotent:
                raise error
            return RetryDecision(error, self.policy.retry_after(response), False)
        if 200 <= status < 300 or status == 304:
            if malformed:
                error = PlatformError(
                    f"{self.platform} {status} on {method} {path}: response is not valid JSON",
                    details=details,
                )
                if not idempotent:
                    raise error
                return RetryDecision(error, None, False)
            return response
        if 300 <= status < 400:
            raise PlatformError(
                f"{self.platform} {status} on {method} {path}: unexpected redirect", details=details
            )
        raise PlatformError(self._message(status, method, path, body, raw), details=details)

    # -- secrets ---------------------------------------------------------------------------

    def _message(self, status: int, method: str, path: str, body: Any, raw: httpx.Response) -> str:
        text = platform_error_message(body)
        if text is None and raw.content:
            text = raw.content[:_MAX_MESSAGE].decode("utf-8", "replace").strip()
        text = (text or raw.reason_phrase or "no message")[:_MAX_MESSAGE]
        return self.scrub(f"{self.platform} {status} on {method} {path}: {text}")

    def _secrets(self) -> list[str]:
        values = getattr(self.auth, "secret_values", None)
        found = values() if callable(values) else []
        # Short strings would blank out ordinary words; real credentials are long.
        return sorted((s for s in found if s and len(s) >= 6), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """`text` with every credential of this client replaced by ***."""
        for secret in self._secrets():
            text = text.replace(secret, "***")
        return text

    def _scrub_error(self, exc: IntegrationError) -> None:
        clean = self.scrub(exc.message)
        if clean != exc.message:
            exc.message = clean
            exc.args = (clean,)
