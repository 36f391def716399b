"""StripeConnector against the Stripe sandbox in process (no port), plus scripted answers
for the signals the sandbox does not send on its own."""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from bigledger.errors import (
    AuthFailed,
    InvalidCredentials,
    PlatformError,
    PlatformUnavailable,
    RateLimitExceeded,
)
from connectors.stripe import LIVE_RATE, TEST_RATE, StripeConnector, created_params, key_mode
from sandbox.stripe import StripeSandboxConfig, create_app
from sandbox.stripe.config import DEFAULT_SECRET_KEY
from tests.connectors.fakes import FakeTime, Recorder, reply

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "https://api.stripe.test"
CONTROL = "/__sandbox/stripe/control"
SECRET = DEFAULT_SECRET_KEY


class Account:
    """A sandbox account and connectors wired to it through an in-process transport; the
    sandbox's rate-limit clock is the connectors' fake clock."""

    def __init__(self, **config) -> None:
        self.time = FakeTime()
        self.app = create_app(StripeSandboxConfig(monotonic=self.time.clock, **config))
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app, base_url=BASE)
        self.requests: list[httpx.Request] = []

    def _forward(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.client.request(request.method, str(request.url),
                                       headers=request.headers, content=request.content)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=response.content)  # fmt: skip

    def connector(self, key: str = SECRET, **kw) -> StripeConnector:
        kw.setdefault("budget_seconds", 60.0)
        return StripeConnector(key, base_url=BASE, transport=httpx.MockTransport(self._forward),
                               sleep=self.time.sleep, clock=self.time.clock, rand=lambda: 0.5,
                               **kw)  # fmt: skip

    def control(self, **spec) -> None:
        assert self.client.post(CONTROL, json=spec).status_code == 200


@pytest.fixture
def account() -> Account:
    return Account(seed=12, size=260, currencies=("usd", "jpy"))


def expected_ids(account: Account, keep=lambda t: True) -> list[str]:
    items = account.sandbox.data.txns.items
    return [t.id for t in sorted(items, key=lambda t: (t.created, t.seq), reverse=True)
            if keep(t)]  # fmt: skip


def scripted(*answers, **kw) -> tuple[StripeConnector, Recorder, FakeTime]:
    recorder, time = Recorder(*answers), FakeTime()
    kw.setdefault("budget_seconds", 30.0)
    conn = StripeConnector(SECRET, base_url=BASE, transport=httpx.MockTransport(recorder),
                           sleep=time.sleep, clock=time.clock, rand=lambda: 0.5, **kw)
    return conn, recorder, time


LIST = {"object": "list", "data": [], "has_more": False, "url": "/v1/balance_transactions"}


def test_every_page_exactly_once_newest_first_with_sources(account):
    with account.connector(api_version="2024-06-20") as stripe:
        pages = list(stripe.iter_balance_transaction_pages())
    ids = [t["id"] for p in pages for t in p.records]
    assert ids == expected_ids(account) and len(ids) == len(set(ids)) > 300
    assert [p.has_next_page for p in pages] == [True] * (len(pages) - 1) + [False]
    assert all(p.end_cursor == p.records[-1]["id"] for p in pages)
    assert all(len(p.records) == 100 for p in pages[:-1])
    for txn in (t for p in pages for t in p.records):
        if txn["type"] != "stripe_fee":
            assert isinstance(txn["source"], dict) and txn["source"]["id"]
    sent = account.requests[-1]
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"
    assert sent.headers["Stripe-Version"] == "2024-06-20"
    assert sent.url.params.get_list("expand[]") == ["data.source"]
    assert sent.url.params["limit"] == "100"
    assert sent.url.params["starting_after"] == pages[-2].end_cursor


def test_inclusive_created_range_and_one_page_fetch(account):
    txns = account.sandbox.data.txns.items
    times = sorted({t.created for t in txns})
    low, high = times[40], times[120]
    start = datetime.fromtimestamp(low, UTC) - timedelta(microseconds=300_000)
    end = datetime.fromtimestamp(high, UTC) + timedelta(microseconds=700_000)
    # A sub-second bound never widens the range to a neighbouring second.
    assert created_params(start, end) == {"created[gte]": low, "created[lte]": high}
    with account.connector() as stripe:
        got = [t["id"] for p in stripe.iter_balance_transaction_pages(start, end, limit=30)
               for t in p.records]  # fmt: skip
        assert got == expected_ids(account, lambda t: low <= t.created <= high)
        page = stripe.fetch_balance_transactions_page(start, end, None, limit=7)
        assert [t["id"] for t in page.records] == got[:7] and page.has_next_page
        following = stripe.fetch_balance_transactions_page(start, end, page.end_cursor, 7)
        assert [t["id"] for t in following.records] == got[7:14]
        nothing = stripe.fetch_balance_transactions_page(
            datetime(2031, 1, 1, tzinfo=UTC), None, None)
        assert (nothing.records, nothing.end_cursor, nothing.has_next_page) == ([], None, False)
        with pytest.raises(ValueError):
            stripe.fetch_balance_transactions_page(datetime(2024, 1, 1), None, None)
        with pytest.raises(ValueError):
            stripe.fetch_balance_transactions_page(None, None, None, limit=101)


def test_type_filters_server_side_for_one_client_side_for_several(account):
    with account.connector() as stripe:
        charges = [t for p in stripe.iter_balance_transaction_pages(types=["charge"])
                   for t in p.records]  # fmt: skip
        assert account.requests[-1].url.params["type"] == "charge"
        assert len(charges) == len(account.sandbox.data.charges)
        wanted = {"refund", "adjustment"}
        pages = list(stripe.iter_balance_transaction_pages(types=wanted, limit=50))
        assert "type" not in account.requests[-1].url.params
        got = [t["id"] for p in pages for t in p.records]
        assert got == expected_ids(account, lambda t: t.type in wanted)
        # The cursor still moves over the records it dropped.
        assert len(pages) > 1 and all(p.end_cursor for p in pages)


def test_resume_from_an_end_cursor(account):
    with account.connector() as stripe:
        first = next(stripe.iter_balance_transaction_pages(limit=50))
        rest = [t["id"] for p in stripe.iter_balance_transaction_pages(
            limit=50, starting_after=first.end_cursor) for t in p.records]  # fmt: skip
    assert [t["id"] for t in first.records] + rest == expected_ids(account)


def test_paced_by_the_key_mode_rate_so_the_sandbox_never_refuses(account):
    with account.connector() as stripe:
        assert stripe.rate == TEST_RATE
        pages = list(stripe.iter_balance_transaction_pages(limit=5))
    assert len(pages) > 60
    assert account.sandbox.stats.rate_limited == 0
    # 25 in the first second's burst, then 1/25 s each.
    assert sum(account.time.sleeps) == pytest.approx((len(pages) - 25) / TEST_RATE, abs=0.05)
    live = account.connector(key="sk_live_51BigLedgerSandbox0000000000000000")
    assert (live.mode, live.rate) == ("live", LIVE_RATE)


def test_a_429_storm_is_survived_with_exponential_backoff(account):
    account.control(faults={"throttle_storm": 5})
    with account.connector() as stripe:
        ids = [t["id"] for p in stripe.iter_balance_transaction_pages() for t in p.records]
    assert ids == expected_ids(account)
    assert account.sandbox.stats.faults_served["http_429"] == 5
    # Stripe sends no Retry-After: 0.5 s doubling, capped at 5 s, with equal jitter (rand .5).
    assert account.time.sleeps[:5] == [0.375, 0.75, 1.5, 3.0, 3.75]


def test_an_endless_429_storm_ends_in_rate_limited(account):
    account.control(faults={"throttle_storm": 1000})
    with account.connector(budget_seconds=10.0) as stripe, pytest.raises(RateLimitExceeded):
        stripe.fetch_balance_transactions_page(None, None, None)


def test_5xx_retried_unless_stripe_says_not_to(account):
    account.control(faults={"http_5xx": {"count": 2, "status": 500}})
    with account.connector() as stripe:
        assert stripe.fetch_balance_transactions_page(None, None, None, limit=3).records
        before = len(account.requests)
        account.control(faults={"http_5xx": {"count": 3, "status": 503}}, should_retry_5xx=False)
        with pytest.raises(PlatformUnavailable) as caught:
            stripe.fetch_balance_transactions_page(None, None, None, limit=3)
    assert len(account.requests) - before == 1  # no retry against Stripe's advice
    assert "An unknown error occurred" in caught.value.message


def test_401_is_auth_failed_and_the_secret_never_shows(account, caplog):
    caplog.set_level(logging.DEBUG)
    bad = "sk_test_thisKeyIsNotKnownToTheSandbox0042"
    stripe = account.connector(key=bad)
    with pytest.raises(AuthFailed) as caught:
        stripe.check_connection()
    error = caught.value
    assert error.code == "AUTH_FAILED" and "Invalid API Key" in error.message
    texts = [str(error), repr(error), error.message, str(error.to_dict()), repr(stripe),
             repr(stripe.http.auth), caplog.text]
    assert all(bad not in text for text in texts)
    assert "mode='test'" in repr(stripe)
    account.control(faults={"token_revoked": True})
    with account.connector() as good, pytest.raises(AuthFailed) as revoked:
        good.fetch_balance_transactions_page(None, None, None)
    assert SECRET not in str(revoked.value)


def test_keys_that_cannot_work_are_refused_before_any_request():
    assert key_mode("rk_test_abc") == "test" and key_mode("rk_live_abc") == "live"
    for key in ("pk_test_123456", "whsec_abc", "", "  "):
        with pytest.raises(InvalidCredentials):
            StripeConnector(key, base_url=BASE)
    with pytest.raises(InvalidCredentials) as caught:
        key_mode("pk_live_123456")
    assert "publishable" in caught.value.message


def test_garbage_json_is_a_clear_error_and_a_malformed_page_is_retried(account):
    account.control(faults={"malformed": 1})
    with account.connector() as stripe:
        assert stripe.fetch_balance_transactions_page(None, None, None, limit=2).records
    conn, recorder, _ = scripted(reply(200, raw=b"<html>oops</html>"), budget_seconds=3.0)
    with conn, pytest.raises(PlatformError) as caught:
        conn.fetch_balance_transactions_page(None, None, None)
    assert "not valid JSON" in caught.value.message and recorder.calls > 1
    conn, _, _ = scripted(reply(200, {"object": "balance_transaction", "id": "txn_1"}))
    with conn, pytest.raises(PlatformError) as caught:
        conn.fetch_balance_transactions_page(None, None, None)
    assert "list object" in caught.value.message


def test_amounts_parse_exactly_and_should_retry_true_retries_a_409():
    txn = {"id": "txn_1", "object": "balance_transaction", "amount": 1000, "fee": 59,
           "net": 941, "exchange_rate": 1.2345678901234567, "type": "charge"}  # fmt: skip
    body = {**LIST, "data": [txn]}
    conflict = reply(409, {"error": {"type": "invalid_request_error", "code": "lock_timeout",
                                     "message": "lock timeout"}},
                     headers={"Stripe-Should-Retry": "true"})  # fmt: skip
    legacy = reply(400, {"error": {"type": "invalid_request_error", "code": "rate_limit",
                                   "message": "Too many requests"}})  # fmt: skip
    conn, recorder, time = scripted(conflict, legacy, reply(200, body))
    with conn:
        page = conn.fetch_balance_transactions_page(None, None, None)
    record = page.records[0]
    assert record["exchange_rate"] == Decimal("1.2345678901234567")
    assert type(record["amount"]) is int
    assert recorder.calls == 3 and len(time.sleeps) == 2


def test_a_4xx_is_not_retried_and_names_stripes_message():
    answer = reply(400, {"error": {"type": "invalid_request_error", "param": "limit",
                                   "message": "This value must be less than or equal to 100."}})
    conn, recorder, _ = scripted(answer)
    with conn, pytest.raises(PlatformError) as caught:
        conn.fetch_balance_transactions_page(None, None, None)
    assert recorder.calls == 1 and "less than or equal to 100" in caught.value.message


def test_check_connection_balance_and_payout_contents(account):
    with account.connector() as stripe:
        info = stripe.check_connection()
        assert info == {"account_id": "acct_1BigLedgerSandbox", "default_currency": "usd",
                        "country": "US", "business_name": "BigLedger Sandbox",
                        "livemode": False}  # fmt: skip
        assert stripe.fetch_balance()["object"] == "balance"
        payouts = [p for page in stripe.iter_payout_pages(limit=20) for p in page.records]
        data = account.sandbox.data
        assert [p["id"] for p in payouts] == [
            p.id for p in sorted(data.payouts.items, key=lambda p: (p.created, p.seq),
                                 reverse=True)]  # fmt: skip
        first = data.payouts.items[0]
        assert sorted(stripe.payout_transaction_ids(first.id)) == sorted(first.members)
        chosen = [p.id for p in data.payouts.items[:4]]
        mapping = stripe.payout_map(chosen + chosen[:1])
        assert mapping == {t: p.id for p in data.payouts.items[:4] for t in p.members}
        with pytest.raises(ValueError):
            stripe.payout_transaction_ids("txn_123")


def test_over_real_http_on_loopback_with_the_real_clock():
    from tests.conftest import LiveServer

    app = create_app(StripeSandboxConfig(seed=4, size=90, currencies=("usd",)))
    server = LiveServer(app)
    try:
        with StripeConnector(SECRET, base_url=server.url, budget_seconds=20.0) as stripe:
            assert stripe.check_connection()["default_currency"] == "usd"
            ids = [t["id"] for p in stripe.iter_balance_transaction_pages(limit=10)
                   for t in p.records]  # fmt: skip
            sandbox = app.state.sandbox
            assert len(ids) == len(set(ids)) == len(sandbox.data.txns)
            assert sandbox.stats.rate_limited == 0
    finally:
        server.stop()
