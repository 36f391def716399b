"""Rate-limit policies: each reads its platform's signals and paces before being refused."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from connectors.http import ApiResponse
from connectors.ratelimit import (
    CallLimitHeaderPolicy,
    CompositePolicy,
    GraphQLCostPolicy,
    HeaderBudgetPolicy,
    TokenBucketPolicy,
    parse_retry_after,
)
from tests.connectors.fakes import FakeTime, make_client, reply


def response(status=200, data=None, headers=None) -> ApiResponse:
    return ApiResponse(
        status_code=status,
        headers=httpx.Headers(headers or {}),
        data=data,
        content=b"",
        method="GET",
        url=httpx.URL("https://x.example.com/p"),
    )


def cost_body(
    available, restore=Decimal("50.0"), maximum=Decimal("1000.0"), requested=100, throttled=False
):
    body = {
        "extensions": {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": None if throttled else requested,
                "throttleStatus": {
                    "maximumAvailable": maximum,
                    "currentlyAvailable": available,
                    "restoreRate": restore,
                },
            }
        }
    }
    if throttled:
        body["errors"] = [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
    else:
        body["data"] = {}
    return body


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        ("2.0", 2.0),
        (" 0.5 ", 0.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("soon", None),
        (None, None),
        ("", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value, expected):
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after(value, now=now) == expected


def test_call_limit_header_paces_near_full_bucket():
    time = FakeTime()
    policy = CallLimitHeaderPolicy(leak_rate=2.0, threshold=0.8, clock=time.clock)
    assert policy.delay_before() == 0.0  # nothing known yet
    policy.observe(response(headers={"X-Shopify-Shop-Api-Call-Limit": "20/40"}))
    assert policy.delay_before() == 0.0  # 21 of 32 allowed
    policy.observe(response(headers={"X-Shopify-Shop-Api-Call-Limit": "32/40"}))
    # 32 + 1 > 32 allowed: wait for one call to leak at 2/s.
    assert policy.delay_before() == pytest.approx(0.5)
    budget = policy.budget()
    assert budget.limit == 40 and budget.restore_rate == 2.0
    assert budget.remaining == pytest.approx(7.0)


def test_call_limit_header_slows_client_before_a_429():
    time = FakeTime()
    calls = {"n": 0}

    def shop(request):
        calls["n"] += 1
        return reply(200, {}, {"X-Shopify-Shop-Api-Call-Limit": "39/40"})

    client = make_client(shop, time, rate_limit=CallLimitHeaderPolicy(clock=time.clock))
    client.get("/admin/api/2024-04/orders.json")
    client.get("/admin/api/2024-04/orders.json")
    # 39 used, 32 allowed: (39 + 1 - 32) / 2 = 4 s before the second call.
    assert time.sleeps == [pytest.approx(4.0)]


def test_graphql_cost_waits_just_long_enough_before_an_expensive_query():
    time = FakeTime()
    policy = GraphQLCostPolicy(clock=time.clock)
    policy.observe(response(data=cost_body(Decimal("100.0"))))
    assert policy.delay_before(50) == 0.0  # cheap enough now
    time.now += 1.0  # 50 left + 1 s x 50 restored = 100 available
    assert policy.delay_before(600) == pytest.approx((600 - 100) / 50)


def test_graphql_cost_throttled_wait_and_budget():
    time = FakeTime()
    policy = GraphQLCostPolicy(clock=time.clock)
    throttled = response(data=cost_body(Decimal("100.0"), requested=502, throttled=True))
    policy.observe(throttled)
    found = policy.throttle(throttled)
    assert found is not None and found.delay == pytest.approx((502 - 100) / 50)
    assert policy.throttle(response(data=cost_body(500))) is None
    budget = policy.budget()
    assert budget.remaining == 100 and budget.limit == 1000 and budget.restore_rate == 50
    assert budget.reset_after_seconds == pytest.approx(18.0)
    assert budget.as_dict()["observed_at"] is not None
    assert policy.last_cost["requested_query_cost"] == 502


def test_token_bucket_burst_then_rate():
    time = FakeTime()
    policy = TokenBucketPolicy(rate=0.5, burst=2, clock=time.clock)
    assert policy.delay_before() == 0.0
    assert policy.delay_before() == 0.0
    assert policy.delay_before() == pytest.approx(2.0)  # one token every 2 s
    assert policy.delay_before() == pytest.approx(4.0)  # queued behind the reservation
    time.now += 6  # the 4th call went out at +4 s; 2 s later one token is back
    assert policy.budget().remaining == pytest.approx(1.0)


def test_token_bucket_headroom_paces_under_the_stated_rate():
    time = FakeTime()
    policy = TokenBucketPolicy(rate=100, burst=1, headroom=0.95, clock=time.clock)
    assert policy.delay_before() == 0.0
    assert policy.delay_before() == pytest.approx(1 / 95)  # not 1/100: jitter has room
    with pytest.raises(ValueError):
        TokenBucketPolicy(rate=1, burst=1, headroom=1.5)


def test_token_bucket_429_drains_and_waits_one_token():
    time = FakeTime()
    policy = TokenBucketPolicy(rate=0.0167, burst=20, clock=time.clock)
    found = policy.throttle(response(429))
    assert found is not None and found.delay == pytest.approx(1 / 0.0167)
    assert policy.delay_before() == pytest.approx(1 / 0.0167)


def test_token_bucket_adopts_rate_header():
    time = FakeTime()
    policy = TokenBucketPolicy(
        rate=0.0167, burst=20, rate_header="x-amzn-RateLimit-Limit", clock=time.clock
    )
    policy.observe(response(headers={"x-amzn-RateLimit-Limit": "0.5"}))
    assert policy.rate == 0.5


def test_header_budget_waits_out_the_window():
    time = FakeTime()
    policy = HeaderBudgetPolicy(
        "X-MinLimit-Remaining", window_seconds=60, limit=60, clock=time.clock
    )
    policy.observe(response(headers={"X-MinLimit-Remaining": "2"}))
    assert policy.delay_before() == 0.0
    time.now += 10
    assert policy.delay_before() == pytest.approx(50.0)
    assert policy.budget().remaining is None  # forgotten after the window


def test_composite_takes_the_longest_wait():
    time = FakeTime()
    bucket = TokenBucketPolicy(rate=1, burst=1, clock=time.clock)
    header = CallLimitHeaderPolicy(clock=time.clock)
    header.observe(response(headers={"X-Shopify-Shop-Api-Call-Limit": "40/40"}))
    policy = CompositePolicy([bucket, header], clock=time.clock)
    assert policy.delay_before() == pytest.approx(4.5)
    assert policy.budget().limit == 40
