"""HttpClient: exact JSON, error mapping, 429/5xx retries within a budget, secrets kept out."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest

from bigledger.errors import (
    AuthFailed,
    PlatformError,
    PlatformUnavailable,
    RateLimitExceeded,
    ValidationFailed,
)
from connectors.auth import ApiKeyHeader, ApiKeyQuery
from connectors.http import HttpClient, platform_error_message
from connectors.ratelimit import RetryAfterPolicy
from tests.connectors.fakes import BASE, FakeTime, Recorder, make_client, reply, walk

TOKEN = "shpat_0123456789abcdef"


def test_json_is_parsed_exactly_never_float():
    time = FakeTime()
    handler = Recorder(reply(raw=b'{"amount": 19.99, "rate": 0.06, "qty": 2, "big": 1e400}'))
    client = make_client(handler, time)
    data = client.get("/orders").data
    assert data["amount"] == Decimal("19.99") and isinstance(data["amount"], Decimal)
    assert data["qty"] == 2 and isinstance(data["qty"], int)
    assert not any(isinstance(v, float) for v in walk(data))


def test_429_honours_fractional_retry_after():
    time = FakeTime()
    handler = Recorder(reply(429, {"errors": "Throttled"}, {"Retry-After": "2.5"}), reply(200, {}))
    make_client(handler, time).get("/orders")
    assert handler.calls == 2
    assert time.sleeps == [2.5]


def test_429_honours_http_date_retry_after():
    time = FakeTime()
    wall_now = 1_700_000_000.0
    when = format_datetime(datetime.fromtimestamp(wall_now + 30, tz=UTC), usegmt=True)
    handler = Recorder(reply(429, {}, {"Retry-After": when}), reply(200, {}))
    policy = RetryAfterPolicy(clock=time.clock, wall_clock=lambda: wall_now)
    make_client(handler, time, rate_limit=policy).get("/orders")
    assert time.sleeps == [30.0]


def test_retry_after_zero_is_not_a_hot_loop():
    time = FakeTime()
    handler = Recorder(reply(429, {"errors": "slow down"}, {"Retry-After": "0"}))
    client = make_client(handler, time, budget_seconds=20.0)
    with pytest.raises(RateLimitExceeded) as caught:
        client.get("/orders")
    # Exponential backoff from 0.375 s (0.5 with equal jitter at rand 0.5), doubling.
    assert time.sleeps[:4] == [0.375, 0.75, 1.5, 3.0]
    assert all(s > 0 for s in time.sleeps)
    assert handler.calls <= 7
    assert caught.value.retryable and caught.value.retry_after is not None


def test_5xx_then_success_retries_with_backoff():
    time = FakeTime()
    handler = Recorder(
        reply(503, {"errors": "down"}),
        reply(502, raw=b"<html>bad gateway"),
        reply(200, {"ok": True}),
    )
    response = make_client(handler, time).get("/orders")
    assert response.data == {"ok": True}
    assert time.sleeps == [0.375, 0.75]


def test_5xx_budget_exhaustion_raises_platform_unavailable():
    time = FakeTime()
    handler = Recorder(reply(500, {"errors": "Internal error"}))
    client = make_client(handler, time, budget_seconds=5.0)
    with pytest.raises(PlatformUnavailable) as caught:
        client.get("/orders")
    assert "Internal error" in caught.value.message
    assert sum(time.sleeps) <= 5.0
    assert handler.calls == len(time.sleeps) + 1


def test_retry_after_beyond_budget_gives_up_at_once_with_the_hint():
    time = FakeTime()
    handler = Recorder(reply(429, {}, {"Retry-After": "120"}))
    client = make_client(handler, time, budget_seconds=60.0)
    with pytest.raises(RateLimitExceeded) as caught:
        client.get("/orders")
    assert handler.calls == 1 and time.sleeps == []
    assert caught.value.retry_after == 120.0


def test_401_is_auth_failed_and_never_shows_the_token():
    time = FakeTime()
    body = {"errors": f"[API] Invalid API key or access token {TOKEN}"}
    handler = Recorder(reply(401, body))
    client = make_client(handler, time, auth=ApiKeyHeader("X-Shopify-Access-Token", TOKEN))
    with pytest.raises(AuthFailed) as caught:
        client.get("/admin/api/2025-01/shop.json")
    exc = caught.value
    assert handler.calls == 1
    assert handler.requests[0].headers["X-Shopify-Access-Token"] == TOKEN
    assert "Invalid API key" in str(exc)
    for text in (str(exc), repr(exc), repr(exc.details), repr(exc.to_dict()), repr(client.auth)):
        assert TOKEN not in text


def test_query_string_key_is_kept_out_of_error_messages():
    time = FakeTime()
    secret = "cs_supersecretvalue"
    handler = Recorder(reply(404, {"code": "rest_no_route", "message": "No route"}))
    client = make_client(handler, time, auth=ApiKeyQuery("consumer_secret", secret))
    with pytest.raises(PlatformError) as caught:
        client.get("/wp-json/wc/v3/nope")
    assert handler.requests[0].url.params["consumer_secret"] == secret
    assert secret not in str(caught.value) and "rest_no_route: No route" in str(caught.value)


def test_403_is_auth_failed():
    time = FakeTime()
    handler = Recorder(reply(403, {"errors": [{"code": "Unauthorized", "message": "denied"}]}))
    with pytest.raises(AuthFailed, match="denied"):
        make_client(handler, time).get("/orders")


def test_other_4xx_fails_fast_with_the_platform_message():
    time = FakeTime()
    handler = Recorder(reply(422, {"errors": {"email": ["is invalid"]}}))
    with pytest.raises(PlatformError, match="email: is invalid") as caught:
        make_client(handler, time).get("/orders")
    assert handler.calls == 1 and not caught.value.retryable
    assert caught.value.details["status"] == 422


def test_malformed_json_on_2xx_is_retried_then_succeeds():
    time = FakeTime()
    handler = Recorder(reply(200, raw=b'{"orders": ['), reply(200, {"orders": []}))
    assert make_client(handler, time).get("/orders").data == {"orders": []}
    assert handler.calls == 2


def test_malformed_json_forever_is_a_platform_error():
    time = FakeTime()
    handler = Recorder(reply(200, raw=b"<html>maintenance</html>"))
    with pytest.raises(PlatformError, match="not valid JSON"):
        make_client(handler, time, budget_seconds=3.0).get("/orders")
    assert handler.calls > 1


def test_timeout_on_get_is_retried():
    time = FakeTime()
    handler = Recorder(httpx.ReadTimeout("read timed out"), reply(200, {"ok": 1}))
    assert make_client(handler, time).get("/orders").data == {"ok": 1}
    assert handler.calls == 2


def test_read_timeout_on_a_write_is_not_retried():
    time = FakeTime()
    handler = Recorder(httpx.ReadTimeout("read timed out"), reply(200, {}))
    with pytest.raises(PlatformUnavailable):
        make_client(handler, time).post("/inventory_levels/set.json", json={"available": 1})
    assert handler.calls == 1


def test_connect_error_on_a_write_is_retried():
    time = FakeTime()
    handler = Recorder(httpx.ConnectError("refused"), reply(200, {"ok": 1}))
    make_client(handler, time).post("/inventory_levels/set.json", json={})
    assert handler.calls == 2


def test_5xx_on_a_write_is_not_retried_unless_idempotent():
    time = FakeTime()
    handler = Recorder(reply(503, {}), reply(200, {"data": {}}))
    with pytest.raises(PlatformUnavailable):
        make_client(handler, time).post("/refunds", json={})
    handler = Recorder(reply(503, {}), reply(200, {"data": {}}))
    make_client(handler, time).post("/graphql.json", json={}, idempotent=True)
    assert handler.calls == 2


def test_redirect_is_not_followed():
    time = FakeTime()
    handler = Recorder(reply(302, None, {"Location": "https://evil.example/x"}))
    with pytest.raises(PlatformError, match="redirect"):
        make_client(handler, time).get("/orders")


def test_http_base_url_refused_unless_loopback_or_allowed():
    time = FakeTime()
    handler = Recorder(reply(200, {}))
    with pytest.raises(ValidationFailed):
        make_client(handler, time, base_url="http://shop.example.com", allow_insecure_http=False)
    make_client(handler, time, base_url="http://127.0.0.1:8765", allow_insecure_http=False)
    make_client(handler, time, base_url="http://localhost:8765", allow_insecure_http=False)
    make_client(handler, time, base_url="http://[::1]:8765", allow_insecure_http=False)
    make_client(handler, time, base_url="http://shop.example.com", allow_insecure_http=True)


def test_credentials_never_follow_an_absolute_url_to_another_host():
    time = FakeTime()
    handler = Recorder(reply(200, {}))
    client = make_client(handler, time, auth=ApiKeyHeader("X-Key", "secret-value"))
    with pytest.raises(ValidationFailed):
        client.get("https://elsewhere.example.com/next")
    client.get(f"{BASE}/next?page_info=abc")  # same origin is fine
    client.get("https://files.example.net/doc.gz", auth=None, parse=False)  # presigned, no auth
    assert "X-Key" not in handler.requests[-1].headers
    assert handler.calls == 2


def test_raw_bodies_are_returned_unparsed():
    time = FakeTime()
    handler = Recorder(reply(200, raw=b"settlement-id\tamount\n1\t2.50\n"))
    response = make_client(handler, time).get("/report", parse=False)
    assert response.data == b"settlement-id\tamount\n1\t2.50\n"


def test_acquire_hook_runs_before_every_attempt():
    time = FakeTime()
    taken: list[int] = []
    handler = Recorder(reply(500, {}), reply(200, {}))
    make_client(handler, time, acquire=lambda: taken.append(1)).get("/orders")
    assert len(taken) == 2


def test_platform_error_message_shapes():
    assert platform_error_message({"error": {"message": "No such charge", "type": "x"}}) == (
        "No such charge"
    )
    assert platform_error_message({"error": "invalid_grant", "error_description": "expired"}) == (
        "invalid_grant: expired"
    )
    assert (
        platform_error_message(
            {"Fault": {"Error": [{"Message": "Stale", "Detail": "SyncToken", "code": "5010"}]}}
        )
        == "5010: Stale (SyncToken)"
    )
    assert platform_error_message({"name": "RESULTSET_TOO_LARGE", "message": "too many"}) == (
        "RESULTSET_TOO_LARGE: too many"
    )
    assert platform_error_message({"Title": "Unauthorized", "Detail": "TokenExpired"}) == (
        "TokenExpired"
    )


def test_client_is_reused_and_closable():
    time = FakeTime()
    handler = Recorder(reply(200, {}))
    with make_client(handler, time) as client:
        assert isinstance(client, HttpClient)
        client.get("/a")
        client.get("/b")
    assert handler.calls == 2
