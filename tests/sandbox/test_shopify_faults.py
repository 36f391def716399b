"""Switchable faults: each one fires exactly as armed, is counted, and then stops."""

from __future__ import annotations

import json
import time

import pytest

from connectors.shopify_queries import SHOP_QUERY
from tests.sandbox.conftest import CONTROL_PATH


def statuses(shop, n: int) -> list[int]:
    return [shop.post(SHOP_QUERY).status_code for _ in range(n)]


def test_throttle_storm_ignores_a_full_bucket(make_shop):
    shop = make_shop(size=10, throttling=True)
    shop.control(faults={"throttle_storm": 2})
    first, second, third = (shop.gql(SHOP_QUERY) for _ in range(3))
    for body in (first, second):
        assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000
    assert third["data"]["shop"]["name"]
    stats = shop.stats()
    assert stats["faults_served"]["throttle_storm"] == 2
    assert stats["throttled"] == 2


@pytest.mark.parametrize(("status", "style"), [(502, "html"), (503, "json"), (500, "json")])
def test_server_errors(make_shop, status, style):
    shop = make_shop(size=10)
    shop.control(faults={"http_5xx": {"count": 2, "status": status, "body": style}})
    responses = [shop.post(SHOP_QUERY) for _ in range(3)]
    assert [r.status_code for r in responses] == [status, status, 200]
    if style == "html":
        assert responses[0].headers["content-type"].startswith("text/html")
        assert "<html>" in responses[0].text
    else:
        assert isinstance(responses[0].json()["errors"], str)
    assert shop.stats()["faults_served"]["http_5xx"] == 2


@pytest.mark.parametrize(
    ("retry_after", "header"), [(0, "0"), (0.5, "0.5"), (2, "2"), ("2.0", "2.0")]
)
def test_429_with_retry_after(make_shop, retry_after, header):
    shop = make_shop(size=10)
    shop.control(faults={"http_429": {"count": 1, "retry_after": retry_after}})
    limited = shop.post(SHOP_QUERY)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == header
    assert "errors" in limited.json()
    assert shop.post(SHOP_QUERY).status_code == 200


def test_faults_can_wait_for_their_turn(make_shop):
    shop = make_shop(size=10)
    shop.control(faults={"http_5xx": {"count": 1, "after": 2, "status": 503}})
    assert statuses(shop, 4) == [200, 200, 503, 200]


def test_slow_responses(make_shop):
    shop = make_shop(size=10)
    shop.control(faults={"slow": {"count": 1, "delay_ms": 150}})
    started = time.perf_counter()
    assert shop.post(SHOP_QUERY).status_code == 200
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    shop.post(SHOP_QUERY)
    assert time.perf_counter() - started < 0.15
    assert shop.stats()["faults_served"]["slow"] == 1


@pytest.mark.parametrize("mode", ["truncated", "invalid", "empty"])
def test_malformed_bodies(make_shop, mode):
    shop = make_shop(size=10)
    shop.control(faults={"malformed": {"count": 1, "mode": mode}})
    broken = shop.post(SHOP_QUERY)
    assert broken.status_code == 200
    assert broken.headers["content-type"].startswith("application/json")
    with pytest.raises(ValueError):
        json.loads(broken.content)
    assert shop.post(SHOP_QUERY).json()["data"]["shop"]
    assert shop.stats()["faults_served"]["malformed"] == 1


def test_revoked_token_until_cleared(make_shop):
    shop = make_shop(size=10)
    shop.control(faults={"token_revoked": True})
    assert statuses(shop, 3) == [401, 401, 401]
    shop.control(faults={"token_revoked": False})
    assert statuses(shop, 1) == [200]
    assert shop.stats()["faults_served"]["token_revoked"] == 3


def test_clear_faults_and_state(make_shop):
    shop = make_shop(size=10)
    state = shop.control(faults={"http_5xx": 5, "throttle_storm": {"count": 3}})
    assert state["faults"]["http_5xx"]["count"] == 5
    assert state["faults"]["throttle_storm"]["count"] == 3
    state = shop.control(clear_faults=True)
    assert state["faults"]["http_5xx"]["count"] == 0
    assert statuses(shop, 2) == [200, 200]
    assert shop.client.get(CONTROL_PATH).json()["faults"]["throttle_storm"]["count"] == 0


def test_control_rejects_unknown_keys(make_shop):
    shop = make_shop(size=10)
    assert shop.client.post(CONTROL_PATH, json={"faults": {"meteor": 1}}).status_code == 422
    assert shop.client.post(CONTROL_PATH, json={"dataset": {"currency": "ZZZ"}}).status_code == 422


def test_stats_count_and_reset(make_shop):
    shop = make_shop(size=10)
    statuses(shop, 3)
    stats = shop.stats()
    assert stats["requests"] == 3 and stats["executed"] == 3
    assert stats["throttleStatus"]["maximumAvailable"] == 2000.0
    shop.control(reset_stats=True)
    assert shop.stats()["requests"] == 0
