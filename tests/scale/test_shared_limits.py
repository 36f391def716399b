"""Platform rate limits shared by every worker: the policy that takes them, their names and
sizes, and Prefect's rate limits behind them (a real test server)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from connectors.ratelimit import SharedLimit, SharedRateLimit, TokenBucketPolicy
from tasks.limits import (
    PrefectSlots,
    SharedLimitMissing,
    ensure_rate_limits,
    limit_name,
    limits_for,
)

# ---- the policy (no orchestrator: the acquirer is a plain function) --------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.events: list[tuple[str, float]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.events.append(("sleep", seconds))
        self.now += seconds


def test_a_slow_budget_is_counted_in_fine_slots():
    orders = SharedLimit("x", rate=0.0167, burst=20)
    assert orders.scale == 1198 and orders.slot_decay_per_second == pytest.approx(20.0066)
    assert orders.slots == 20 * 1198
    assert orders.occupy(1) == 1198
    points = SharedLimit("y", rate=100, burst=2000)
    assert (points.scale, points.slots, points.slot_decay_per_second) == (1, 2000, 100)
    assert points.occupy(152.4) == 153
    assert points.occupy(5000) == 2000  # never more than the bucket: the platform refuses it
    with pytest.raises(ValueError):
        SharedLimit("z", rate=0, burst=1)


def test_own_pacing_first_then_the_shared_budget_right_before_sending():
    clock = Clock()
    inner = TokenBucketPolicy(rate=2, burst=1, clock=clock)
    taken: list[tuple[str, int, float]] = []
    limit = SharedLimit("bigledger-rate:amazon:s1:getOrderItems", rate=2, burst=1)
    policy = SharedRateLimit(inner, lambda name, slots: taken.append((name, slots, clock.now)),
                             lambda: limit, sleep=clock.sleep)
    assert policy.delay_before() == 0.0  # the bucket's one token: no wait
    assert policy.delay_before() == 0.0  # the wait (0.5 s) was slept by the policy itself...
    assert clock.events == [("sleep", 0.5)]
    # ...and the shared slots were taken after it, at the moment of sending.
    assert [(n, s, t) for n, s, t in taken] == [(limit.name, 10, 0.0), (limit.name, 10, 0.5)]
    assert policy.acquired_slots == 20
    assert policy.budget().limit == 1  # health still reads the own policy


def test_requests_outside_a_shared_budget_only_pace():
    clock = Clock()
    inner = TokenBucketPolicy(rate=1, burst=1, clock=clock)
    policy = SharedRateLimit(inner, lambda *_: pytest.fail("nothing to share"), lambda: None,
                             sleep=clock.sleep)
    policy.delay_before()
    assert policy.delay_before() == pytest.approx(1.0)  # returned for the client to sleep
    assert clock.events == []


# ---- names and sizes -----------------------------------------------------------------------


def test_limits_are_per_account_and_per_operation_where_the_platform_meters_so():
    shop = limits_for("shopify", {"shopDomain": "Acme.myshopify.com"}, {}, "int_1")
    assert list(shop) == [None]
    assert shop[None].name == "bigledger-rate:shopify:acme.myshopify.com"
    assert (shop[None].rate, shop[None].burst) == (95.0, 1900.0)  # 5 % under the platform

    amazon = limits_for("amazon", {"sellerId": "A1SELLER"},
                        {"rateLimits": {"getOrderItems": {"rate": 4, "burst": 6}}}, "int_2")
    items = amazon["getOrderItems"]
    assert items.name == "bigledger-rate:amazon:a1seller:getOrderItems"
    assert (items.rate, items.burst) == pytest.approx((3.8, 5.7))
    assert amazon["getOrders"].rate == pytest.approx(0.0167 * 0.95)

    # Stripe's account is not known without a call: the integration stands for it, and the
    # secret key never appears in a name.
    stripe = limits_for("stripe", {"secretKey": "sk_test_abc"}, {}, "int_3")
    assert stripe[None].name == "bigledger-rate:stripe:int_3"
    assert stripe[None].rate == pytest.approx(25 * 0.95)
    assert limits_for("woocommerce", {"siteUrl": "https://x"}, {}, "int_4") == {}
    assert limit_name("xero", "a/b c%d") == "bigledger-rate:xero:a_b_c_d"


# ---- against a Prefect server --------------------------------------------------------------


def test_ensure_creates_once_and_resizes(prefect_api):
    limit = SharedLimit(f"bigledger-rate:test:{uuid.uuid4().hex[:8]}", rate=5, burst=10)
    first = ensure_rate_limits([limit])
    assert first[0]["action"] == "created" and first[0]["slots"] == 40
    assert ensure_rate_limits([limit])[0]["action"] == "unchanged"
    bigger = SharedLimit(limit.name, rate=10, burst=10)
    assert ensure_rate_limits([bigger])[0]["action"] == "updated"
    # A worker still sized for the old plan refuses to run at the wrong pace.
    with pytest.raises(SharedLimitMissing, match="differs"):
        PrefectSlots([limit])(limit.name, 4)


def test_a_missing_limit_is_a_clear_error_not_a_silent_no_op(prefect_api):
    name = f"bigledger-rate:test:missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(SharedLimitMissing, match="bigledger limits") as caught:
        PrefectSlots([SharedLimit(name, rate=1, burst=1)])(name, 1)
    assert name in caught.value.message


def test_two_threads_on_one_limit_never_exceed_its_rate(prefect_api):
    rate, burst, per_thread = 8.0, 3.0, 10
    limit = SharedLimit(f"bigledger-rate:test:{uuid.uuid4().hex[:8]}", rate=rate, burst=burst)
    ensure_rate_limits([limit])
    slots = PrefectSlots([limit], timeout_seconds=60)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(per_thread):
            slots(limit.name, limit.occupy(1))
            with lock:
                stamps.append(time.monotonic())

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert len(stamps) == 2 * per_thread
    stamps.sort()
    # In every window, no more calls than the bucket plus what it restores meanwhile (one of
    # slack: the stamps are taken when the answer arrives, not when the server decided).
    worst = max(j - i + 1 - (burst + rate * (stamps[j] - stamps[i]))
                for i in range(len(stamps)) for j in range(i, len(stamps)))
    assert worst <= 1.0, f"a window saw {worst:.2f} calls more than the limit allows"
    assert stamps[-1] - start >= (2 * per_thread - burst) / rate * 0.9


# ---- wired into a connector ----------------------------------------------------------------


def test_an_amazon_connector_takes_each_call_from_its_operation_budget(ledger_engine, sandbox):
    """The wiring tasks/connections.py does when BIGLEDGER_SHARED_RATE_LIMITS is on, with a
    recording acquirer instead of Prefect: each SP-API call takes its operation's slots."""
    from connectors.factory import build_connector
    from ledger.db import transaction
    from ledger.integrations import create_integration
    from sandbox.amazon.config import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_REFRESH_TOKEN,
        DEFAULT_SELLER_ID,
    )
    from tasks.limits import share_rate_limits

    sandbox.control_platform("amazon", clear_faults=True, reset_stats=True, reset_buckets=True)
    with transaction() as conn:
        record = create_integration(conn, "amazon", "Seller", {
            "sellerId": DEFAULT_SELLER_ID, "marketplaceId": "ATVPDKIKX0DER",
            "clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
            "refreshToken": DEFAULT_REFRESH_TOKEN}, {"baseUrl": sandbox.url}, {},
            integration_id="int_amazon_shared")  # fmt: skip
    taken: list[tuple[str, int]] = []
    connector = build_connector("amazon", record.credentials(), record.settings)
    share_rate_limits(connector, record, acquire=lambda name, slots: taken.append((name, slots)))
    page = connector.fetch_orders_page(_filter(), max_results=2)  # with each order's items
    assert len(page.records) == 2
    seller = DEFAULT_SELLER_ID.lower()
    assert [name for name, _ in taken] == [f"bigledger-rate:amazon:{seller}:getOrders",
                                           *[f"bigledger-rate:amazon:{seller}:getOrderItems"] * 2]
    assert taken[1][1] == SharedLimit("x", 0.5 * 0.95, 30 * 0.95).occupy(1)
    assert connector.rate_budget().limit is not None  # health still reads the own buckets


def _filter():
    from datetime import UTC, datetime, timedelta

    from connectors.amazon import OrderFilter

    return OrderFilter(created_after=datetime.now(UTC) - timedelta(days=100))
