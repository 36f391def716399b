"""Auth classes: static keys, Basic, and OAuth2 tokens fetched, refreshed and rotated."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from bigledger.errors import AuthFailed, InvalidCredentials
from connectors.auth import (
    ApiKeyHeader,
    ApiKeyQuery,
    Basic,
    Bearer,
    OAuth2ClientCredentials,
    OAuth2RefreshToken,
)
from tests.connectors.fakes import FakeTime, make_client, reply

TOKEN_URL = "https://auth.example.com/oauth2/token"


class WallClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeOAuthServer:
    """Token endpoint plus an API that accepts only the latest access token."""

    def __init__(self, *, expires_in: int = 3600, rotate: bool = False) -> None:
        self.expires_in = expires_in
        self.rotate = rotate
        self.issued = 0
        self.valid: set[str] = set()
        self.token_forms: list[dict[str, list[str]]] = []
        self.token_auth: list[str | None] = []
        self.api_calls: list[httpx.Request] = []
        self.refresh_tokens = {"rt-0"}
        self.token_status: list[int] = []
        self.reject_all = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return self._token(request)
        self.api_calls.append(request)
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
        presented = presented or request.headers.get("x-amz-access-token", "")
        if presented in self.valid and not self.reject_all:
            return reply(200, {"ok": True})
        return reply(401, {"error": {"message": "token expired"}})

    def _token(self, request: httpx.Request) -> httpx.Response:
        if self.token_status:
            status = self.token_status.pop(0)
            if status != 200:
                body = {"error": "invalid_grant", "error_description": "Refresh token revoked"}
                return reply(status, body)
        form = parse_qs(request.content.decode())
        self.token_forms.append(form)
        self.token_auth.append(request.headers.get("Authorization"))
        if form.get("grant_type") == ["refresh_token"]:
            presented = form["refresh_token"][0]
            if presented not in self.refresh_tokens:
                return reply(400, {"error": "invalid_grant", "error_description": "used"})
        self.issued += 1
        access = f"at-{self.issued}-xxxxxxxx"
        self.valid = {access}
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.rotate:
            new = f"rt-{self.issued}"
            self.refresh_tokens = {new}
            body["refresh_token"] = new
        return reply(200, body)


def _client(server: FakeOAuthServer, auth: httpx.Auth, time: FakeTime | None = None):
    return make_client(server, time or FakeTime(), auth=auth)


def test_api_key_header_and_repr_hides_value():
    auth = ApiKeyHeader("X-Shopify-Access-Token", "shpat_secret_value")
    request = httpx.Request("GET", "https://x.example.com/")
    flow = auth.sync_auth_flow(request)
    sent = next(flow)
    assert sent.headers["X-Shopify-Access-Token"] == "shpat_secret_value"
    assert "shpat_secret_value" not in repr(auth)
    assert auth.secret_values() == ["shpat_secret_value"]


def test_api_key_query_bearer_and_basic():
    request = httpx.Request("GET", "https://x.example.com/orders?per_page=10")
    sent = next(ApiKeyQuery("consumer_key", "ck_123456").sync_auth_flow(request))
    assert sent.url.params["consumer_key"] == "ck_123456"
    assert sent.url.params["per_page"] == "10"

    sent = next(Bearer("sk_test_abcdef").sync_auth_flow(httpx.Request("GET", "https://x.io/")))
    assert sent.headers["Authorization"] == "Bearer sk_test_abcdef"

    basic = Basic("ck_user", "cs_password")
    sent = next(basic.sync_auth_flow(httpx.Request("GET", "https://x.io/")))
    assert (
        sent.headers["Authorization"]
        == "Basic " + base64.b64encode(b"ck_user:cs_password").decode()
    )
    assert "cs_password" not in repr(basic)


def test_empty_credentials_are_invalid():
    with pytest.raises(InvalidCredentials):
        ApiKeyHeader("X-Shopify-Access-Token", "  ")
    with pytest.raises(InvalidCredentials):
        OAuth2ClientCredentials(TOKEN_URL, "id", "")


def test_client_credentials_fetches_once_and_reuses():
    server = FakeOAuthServer()
    saved: list[dict[str, Any]] = []
    wall = WallClock()
    auth = OAuth2ClientCredentials(
        TOKEN_URL,
        "client-id",
        "client-secret-123",
        scope="read",
        on_token=saved.append,
        clock=wall,
    )
    client = _client(server, auth)
    client.get("/v1/reporting/transactions")
    client.get("/v1/reporting/transactions")
    assert server.issued == 1 and len(server.api_calls) == 2
    assert server.token_forms[0] == {"grant_type": ["client_credentials"], "scope": ["read"]}
    assert (
        server.token_auth[0] == "Basic " + base64.b64encode(b"client-id:client-secret-123").decode()
    )
    assert saved[0]["access_token"] == "at-1-xxxxxxxx"
    assert saved[0]["expires_at"] == wall.now + 3600


def test_token_is_refreshed_before_expiry_without_a_401():
    server = FakeOAuthServer(expires_in=3600)
    wall = WallClock()
    auth = OAuth2ClientCredentials(
        TOKEN_URL, "client-id", "client-secret-123", clock=wall, refresh_margin_seconds=60
    )
    client = _client(server, auth)
    client.get("/a")
    wall.now += 3600 - 61  # still inside the margin: no refresh
    client.get("/b")
    assert server.issued == 1
    wall.now += 2  # 59 s before expiry: refresh first
    client.get("/c")
    assert server.issued == 2
    assert [r.headers.get("Authorization") for r in server.api_calls] == [
        "Bearer at-1-xxxxxxxx",
        "Bearer at-1-xxxxxxxx",
        "Bearer at-2-xxxxxxxx",
    ]


def test_401_refreshes_once_and_retries():
    server = FakeOAuthServer()
    auth = OAuth2ClientCredentials(TOKEN_URL, "client-id", "client-secret-123")
    client = _client(server, auth)
    client.get("/a")
    server.valid = set()  # the platform revokes the token early
    assert client.get("/b").data == {"ok": True}
    assert server.issued == 2
    assert len(server.api_calls) == 3  # /a, /b refused, /b again


def test_persistent_401_becomes_auth_failed_after_one_retry():
    server = FakeOAuthServer()
    auth = OAuth2ClientCredentials(TOKEN_URL, "client-id", "client-secret-123")
    client = _client(server, auth)
    server.reject_all = True
    with pytest.raises(AuthFailed) as caught:
        client.get("/a")
    assert server.issued == 2 and len(server.api_calls) == 2
    assert "client-secret-123" not in str(caught.value)
    assert "at-2-xxxxxxxx" not in str(caught.value)


def test_cached_token_is_used_without_fetching():
    server = FakeOAuthServer()
    server.valid = {"cached-token-123"}
    wall = WallClock()
    auth = OAuth2ClientCredentials(
        TOKEN_URL,
        "client-id",
        "client-secret-123",
        clock=wall,
        token={"access_token": "cached-token-123", "expires_at": wall.now + 3000},
    )
    _client(server, auth).get("/a")
    assert server.issued == 0


def test_refresh_token_rotation_is_persisted_and_used():
    server = FakeOAuthServer(expires_in=1800, rotate=True)
    saved: list[dict[str, Any]] = []
    wall = WallClock()
    auth = OAuth2RefreshToken(
        TOKEN_URL,
        "xero-client",
        "xero-secret-123",
        "rt-0",
        on_token=saved.append,
        clock=wall,
    )
    client = _client(server, auth)
    client.get("/api.xro/2.0/Invoices")
    assert saved[-1]["refresh_token"] == "rt-1" and auth.refresh_token == "rt-1"
    wall.now += 1800
    client.get("/api.xro/2.0/Invoices")
    assert server.token_forms[1]["refresh_token"] == ["rt-1"]
    assert saved[-1]["refresh_token"] == "rt-2"
    assert [s["access_token"] for s in saved] == ["at-1-xxxxxxxx", "at-2-xxxxxxxx"]


def test_refresh_token_not_rotated_keeps_the_old_one_and_body_client_auth():
    server = FakeOAuthServer(rotate=False)
    saved: list[dict[str, Any]] = []
    auth = OAuth2RefreshToken(
        TOKEN_URL,
        "amzn-client",
        "amzn-secret-123",
        "rt-0",
        client_auth="body",
        header="x-amz-access-token",
        template="{token}",
        on_token=saved.append,
    )
    _client(server, auth).get("/orders/v0/orders")
    form = server.token_forms[0]
    assert form["client_id"] == ["amzn-client"] and form["client_secret"] == ["amzn-secret-123"]
    assert server.token_auth[0] is None
    assert saved[0]["refresh_token"] == "rt-0"
    assert server.api_calls[0].headers["x-amz-access-token"] == "at-1-xxxxxxxx"
    assert "Authorization" not in server.api_calls[0].headers


def test_revoked_refresh_token_is_auth_failed_without_retry():
    server = FakeOAuthServer()
    server.token_status = [400]
    auth = OAuth2RefreshToken(TOKEN_URL, "qbo-client", "qbo-secret-123", "rt-revoked-123")
    client = _client(server, auth)
    with pytest.raises(AuthFailed, match="invalid_grant") as caught:
        client.get("/v3/company/1/query")
    assert server.api_calls == []
    for secret in ("qbo-secret-123", "rt-revoked-123"):
        assert secret not in str(caught.value) and secret not in repr(auth)


def test_token_endpoint_outage_is_retried_by_the_client():
    server = FakeOAuthServer()
    server.token_status = [503]
    time = FakeTime()
    auth = OAuth2ClientCredentials(TOKEN_URL, "client-id", "client-secret-123")
    assert _client(server, auth, time).get("/a").data == {"ok": True}
    assert server.issued == 1 and len(time.sleeps) == 1


def test_insecure_token_url_is_refused():
    from bigledger.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        OAuth2ClientCredentials(
            "http://auth.example.com/token", "id", "secret", allow_insecure_http=False
        )
