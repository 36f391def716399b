"""Small composable httpx.Auth classes, one per credential style our platforms use.

Every class hides its secrets from repr() and lists them in `secret_values()`, so the HTTP
client can scrub them out of any message it puts into an exception.
OAuth2 token requests travel through the connector's own httpx client (the auth flow yields
them), so they share its transport, timeouts and retry loop.
"""

from __future__ import annotations

import base64
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx

from bigledger.errors import (
    AuthFailed,
    InvalidCredentials,
    PlatformError,
    PlatformUnavailable,
    RateLimitExceeded,
)
from bigledger.money import loads_exact
from bigledger.settings import get_settings
from connectors.http import check_url_security, platform_error_message
from connectors.ratelimit import parse_retry_after

TokenCallback = Callable[[dict[str, Any]], None]


def _required(value: str | None, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCredentials(f"{what} is missing")
    return value


class _SecretAuth(httpx.Auth):
    """Shared repr that never shows a secret."""

    _public: tuple[str, ...] = ()

    def secret_values(self) -> list[str]:
        """Every secret string this auth may put on the wire (for scrubbing messages)."""
        return []

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._public)
        return f"{type(self).__name__}({shown}{', ' if shown else ''}secret='***')"


class ApiKeyHeader(_SecretAuth):
    """A static key in a header, e.g. Shopify's `X-Shopify-Access-Token`."""

    _public = ("name",)

    def __init__(self, name: str, value: str) -> None:
        self.name = _required(name, "header name")
        self._value = _required(value, f"{name} value")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set the header."""
        request.headers[self.name] = self._value
        yield request

    def secret_values(self) -> list[str]:
        """The key."""
        return [self._value]


class ApiKeyQuery(_SecretAuth):
    """A key in the query string (WooCommerce `consumer_key`/`consumer_secret` fallback).

    The URL then carries the secret: httpx's own INFO log line shows URLs, so keep the
    `httpx` logger at WARNING where this is used.
    """

    _public = ("param",)

    def __init__(self, param: str, value: str) -> None:
        self.param = _required(param, "query parameter name")
        self._value = _required(value, f"{param} value")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add (or replace) the query parameter."""
        request.url = request.url.copy_merge_params({self.param: self._value})
        yield request

    def secret_values(self) -> list[str]:
        """The key."""
        return [self._value]


class Bearer(_SecretAuth):
    """`Authorization: Bearer <token>` (Stripe secret keys, a stored OAuth access token)."""

    def __init__(
        self, token: str, *, header: str = "Authorization", scheme: str = "Bearer"
    ) -> None:
        self._token = _required(token, "token")
        self.header = header
        self.scheme = scheme

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set the header."""
        request.headers[self.header] = (
            f"{self.scheme} {self._token}" if self.scheme else self._token
        )
        yield request

    def secret_values(self) -> list[str]:
        """The token."""
        return [self._token]


class Basic(_SecretAuth):
    """HTTP Basic (WooCommerce consumer key/secret over https), wrapping httpx.BasicAuth."""

    _public = ("username",)

    def __init__(self, username: str, password: str) -> None:
        self.username = _required(username, "username")
        self._password = _required(password, "password")
        self._inner = httpx.BasicAuth(self.username, self._password)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Delegate to httpx.BasicAuth."""
        yield from self._inner.auth_flow(request)

    def secret_values(self) -> list[str]:
        """The password and the encoded header value that contains it."""
        return [self._password, _basic_value(self.username, self._password)]


def _basic_value(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


class _OAuth2Token(_SecretAuth, ABC):
    """Shared machinery: cached access token, refresh before expiry, one retry on 401."""

    requires_request_body = True  # the original request may be re-sent after a 401
    requires_response_body = True  # token responses are read inside the flow

    _public = ("token_url", "client_id")

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        client_auth: str = "basic",
        extra_params: Mapping[str, str] | None = None,
        token: Mapping[str, Any] | None = None,
        on_token: TokenCallback | None = None,
        refresh_margin_seconds: float = 60.0,
        header: str = "Authorization",
        template: str = "Bearer {token}",
        clock: Callable[[], float] = time.time,
        allow_insecure_http: bool | None = None,
    ) -> None:
        if client_auth not in ("basic", "body"):
            raise ValueError("client_auth must be 'basic' or 'body'")
        allow = (
            get_settings().allow_insecure_http
            if allow_insecure_http is None
            else allow_insecure_http
        )
        self.token_url = str(
            check_url_security(_required(token_url, "token URL"), allow_insecure_http=allow)
        )
        self.client_id = _required(client_id, "client id")
        self._client_secret = _required(client_secret, "client secret")
        self.scope = scope
        self.client_auth = client_auth
        self.extra_params = dict(extra_params or {})
        self.on_token = on_token
        self.refresh_margin_seconds = refresh_margin_seconds
        self.header = header
        self.template = template
        self._clock = clock
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._refresh_at: float | None = None
        self.expires_at: float | None = None
        if token:
            self._load(token)

    # -- token state -----------------------------------------------------------------------

    def _load(self, token: Mapping[str, Any]) -> None:
        access = token.get("access_token")
        self._access_token = access if isinstance(access, str) and access else None
        expires_at = _seconds(token.get("expires_at"))
        self.expires_at = expires_at
        self._refresh_at = (
            expires_at - self.refresh_margin_seconds if expires_at is not None else None
        )

    def _needs_token(self) -> bool:
        if self._access_token is None:
            return True
        return self._refresh_at is not None and self._clock() >= self._refresh_at

    @abstractmethod
    def _grant_params(self) -> dict[str, str]:
        """The grant's own form fields (grant_type and what it needs)."""

    def _token_request(self) -> httpx.Request:
        params = {**self._grant_params(), **self.extra_params}
        if self.scope:
            params["scope"] = self.scope
        headers = {"Accept": "application/json"}
        if self.client_auth == "basic":
            headers["Authorization"] = f"Basic {_basic_value(self.client_id, self._client_secret)}"
        else:
            params["client_id"] = self.client_id
            params["client_secret"] = self._client_secret
        return httpx.Request("POST", self.token_url, data=params, headers=headers)

    def _refresh(self) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield self._token_request()
        self._accept(response)

    def _accept(self, response: httpx.Response) -> None:
        status = response.status_code
        try:
            body = loads_exact(response.content) if response.content else None
        except ValueError:
            body = None
        where = f"token endpoint {httpx.URL(self.token_url).host}"
        message = self._scrub(platform_error_message(body) or response.reason_phrase or "")
        details = {"status": status, "tokenEndpoint": where}
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RateLimitExceeded(
                f"{where} throttled: {message}", retry_after=retry_after, details=details
            )
        if status >= 500:
            raise PlatformUnavailable(f"{where} {status}: {message}", details=details)
        if status in (400, 401, 403):
            # invalid_grant / invalid_client: the grant is revoked or expired; a person must
            # reconnect the integration. Retrying cannot help.
            raise AuthFailed(f"{where} refused the credentials: {message}", details=details)
        if (
            status != 200
            or not isinstance(body, dict)
            or not isinstance(body.get("access_token"), str)
        ):
            error = PlatformError(f"{where} {status}: unusable token response", details=details)
            error.retryable = 200 <= status < 300  # garbage on a 2xx: a retry may get a good one
            raise error
        token = dict(body)
        now = self._clock()
        expires_in = _seconds(token.get("expires_in"))
        self._access_token = token["access_token"]
        if expires_in is not None:
            self.expires_at = now + expires_in
            # Refresh a margin early, but never so early that a short-lived token is
            # refreshed on every request.
            self._refresh_at = now + max(expires_in - self.refresh_margin_seconds, expires_in / 2)
            token["expires_at"] = self.expires_at
        else:
            self.expires_at = self._refresh_at = None
        self._absorb(token)
        if self.on_token is not None:
            # Before the new token is used: a rotated refresh token must be persisted before
            # anything else can fail, or the integration is locked out.
            self.on_token(token)

    def _absorb(self, token: dict[str, Any]) -> None:
        """Hook for grant-specific state carried in the token response."""

    # -- flow ------------------------------------------------------------------------------

    def _apply(self, request: httpx.Request) -> None:
        assert self._access_token is not None
        request.headers[self.header] = self.template.format(token=self._access_token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Fetch or refresh the token when due, send, and on a 401 refresh once and resend."""
        if self._needs_token():
            with self._lock:
                # Another thread sharing this auth may have refreshed while we waited.
                if self._needs_token():
                    yield from self._refresh()
        sent_with = self._access_token
        self._apply(request)
        response = yield request
        if response.status_code != 401:
            return
        with self._lock:
            if self._access_token == sent_with:
                yield from self._refresh()
        self._apply(request)
        yield request

    @property
    def access_token(self) -> str | None:
        """The current access token (None before the first request)."""
        return self._access_token

    def secret_values(self) -> list[str]:
        """Client secret and current token(s)."""
        values = [self._client_secret, _basic_value(self.client_id, self._client_secret)]
        if self._access_token:
            values.append(self._access_token)
        return values

    def _scrub(self, text: str) -> str:
        for secret in self.secret_values():
            if secret and len(secret) >= 6:
                text = text.replace(secret, "***")
        return text


class OAuth2ClientCredentials(_OAuth2Token):
    """client_credentials grant (PayPal, Xero custom connections, Amazon grantless).

    Pass a cached `token` ({"access_token", "expires_at"}) to avoid fetching one per run:
    PayPal counts needless token requests against its rate limits.
    """

    def _grant_params(self) -> dict[str, str]:
        return {"grant_type": "client_credentials"}


class OAuth2RefreshToken(_OAuth2Token):
    """refresh_token grant (QuickBooks, Xero, Amazon LWA); `on_token` gets every rotated token.

    QuickBooks may and Xero always rotate the refresh token; the new one is kept in memory
    and handed to `on_token` before the new access token is first used.
    """

    _public = ("token_url", "client_id")

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        **kwargs: Any,
    ) -> None:
        self._refresh_token = _required(refresh_token, "refresh token")
        super().__init__(token_url, client_id, client_secret, **kwargs)

    def _grant_params(self) -> dict[str, str]:
        return {"grant_type": "refresh_token", "refresh_token": self._refresh_token}

    def _absorb(self, token: dict[str, Any]) -> None:
        rotated = token.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            self._refresh_token = rotated
        # Always hand the caller the refresh token in force, rotated or not.
        token["refresh_token"] = self._refresh_token

    @property
    def refresh_token(self) -> str:
        """The refresh token currently in force."""
        return self._refresh_token

    def secret_values(self) -> list[str]:
        """Client secret, access token and refresh token."""
        return [*super().secret_values(), self._refresh_token]


def _seconds(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
