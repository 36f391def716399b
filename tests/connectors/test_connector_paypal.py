"""PayPalConnector against the PayPal sandbox, in process (no port): windows, splitting on
RESULTSET_TOO_LARGE, resumable cursors, the publication lag, token reuse, 429s and errors."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bigledger.errors import AuthFailed, InvalidCredentials, PlatformError, PlatformUnavailable
from connectors.paypal import (
    PUBLICATION_LAG,
    PayPalConnector,
    settled_until,
    windows,
)
from sandbox.paypal import PayPalSandboxConfig, create_app
from sandbox.paypal.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.connectors.fakes import FakeTime, reply

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "https://api-m.sandbox.paypal.com"
CONTROL = "/__sandbox/paypal/control"
START = datetime(2024, 1, 1, tzinfo=UTC)
LATER = datetime(2024, 9, 1, tzinfo=UTC)


class WallClock:
    """A settable wall clock for the token's expiry."""

    def __init__(self, now: float = 1_720_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Account:
    """A sandbox account and connectors wired to it through an in-process transport."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("now", LATER)
        self.app = create_app(PayPalSandboxConfig(**config))
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app, base_url=BASE)
        self.requests: list[httpx.Request] = []
        self.time = FakeTime()
        self.wall = WallClock()
        self.tokens: dict[str, dict] = {}  # this account's own token cache

    def _forward(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.client.request(request.method, str(request.url),
                                       headers=request.headers, content=request.content)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=response.content)  # fmt: skip

    def connector(self, client_id=DEFAULT_CLIENT_ID, secret=DEFAULT_CLIENT_SECRET, **kw):
        kw.setdefault("budget_seconds", 120.0)
        kw.setdefault("token_cache", self.tokens)
        return PayPalConnector(client_id, secret, BASE, transport=httpx.MockTransport(
            self._forward), sleep=self.time.sleep, clock=self.time.clock,
            wall_clock=self.wall, rand=lambda: 0.5, **kw)  # fmt: skip

    def control(self, **spec: Any) -> None:
        assert self.client.post(CONTROL, json=spec).status_code == 200

    def searches(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/v1/reporting/transactions"]

    def expected_ids(self, start: datetime, end: datetime) -> list[str]:
        """The sandbox's own list: balance-affecting records with start <= time < end."""
        lo, hi = start.timestamp(), end.timestamp()
        refreshed = self.sandbox.last_refreshed()
        return [t.id for t in self.sandbox.data.affecting
                if lo <= t.ts < hi and t.ts <= refreshed]  # fmt: skip


def ids(pages) -> list[str]:
    return [r["transaction_info"]["transaction_id"] for p in pages for r in p.records]


def test_a_90_day_range_is_three_contiguous_windows():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    parts = windows(start, start + timedelta(days=90))
    assert len(parts) == 3
    assert parts[0][0] == start and parts[-1][1] == start + timedelta(days=90)
    for (_, end), (following, _) in zip(parts, parts[1:], strict=False):
        assert end == following  # no gap, no overlap: [start, end) half-open
    assert all(end - begin <= timedelta(days=31) for begin, end in parts)
    assert windows(start, start) == [] and len(windows(start, start + timedelta(days=31))) == 1
    # A sub-second end is rounded up, so its last second is still covered.
    (only,) = windows(start, start + timedelta(hours=1, microseconds=5))
    assert only[1] == start + timedelta(hours=1, seconds=1)
    with pytest.raises(ValueError):
        windows(datetime(2024, 1, 1), start)


def test_whole_range_read_once_with_end_dates_one_second_before_the_window_end():
    acct = Account(size=300, seed=2, days=90, currencies=("USD", "EUR"))
    start, end = START, START + timedelta(days=120)
    with acct.connector() as paypal:
        assert len(paypal.windows(start, end)) == 4
        pages = list(paypal.iter_transaction_pages(start, end))
    got = ids(pages)
    assert got == acct.expected_ids(start, end) and len(got) == len(set(got))
    sent = [(r.url.params["start_date"], r.url.params["end_date"]) for r in acct.searches()]
    assert sent[0] == ("2024-01-01T00:00:00Z", "2024-01-31T23:59:59Z")
    assert sent[1][0] == "2024-02-01T00:00:00Z"
    assert {r.url.params["page_size"] for r in acct.searches()} == {"500"}
    assert pages[-1].has_next_page is False
    assert all(p.last_refreshed == LATER - PUBLICATION_LAG for p in pages)


def test_too_large_windows_are_halved_and_read_without_gap_or_duplicate():
    acct = Account(size=400, seed=6, days=62, max_result_items=60)
    start, end = START, START + timedelta(days=75)
    with acct.connector(page_size=25) as paypal:
        pages = list(paypal.iter_transaction_pages(start, end))
    got = ids(pages)
    expected = acct.expected_ids(start, end)
    assert len(expected) > 300
    assert len(got) == len(set(got)) and got == expected
    assert acct.sandbox.stats.too_large > 0
    # The windows actually read never exceed the cap and tile the range exactly.
    spans = []
    for request in acct.searches():
        if request.url.params["page"] == "1":
            spans.append((request.url.params["start_date"], request.url.params["end_date"]))
    read = []
    for s, e in spans:
        lo = datetime.fromisoformat(s.replace("Z", "+00:00"))
        hi = datetime.fromisoformat(e.replace("Z", "+00:00")) + timedelta(seconds=1)
        n = sum(1 for t in acct.sandbox.data.affecting
                if lo.timestamp() <= t.ts < hi.timestamp())  # fmt: skip
        read.append((lo, hi, n))
    good = [(lo, hi) for lo, hi, n in read if n <= 60]
    assert good[0][0] == start and good[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(good, good[1:], strict=False))


def test_a_window_that_cannot_be_split_is_an_error():
    """More results than the cap within one second: halving ends at one second and fails."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/v1/oauth2/token":
            return reply(200, {"access_token": "A21AAtoken0000000", "token_type": "Bearer",
                               "expires_in": 32400})
        return reply(400, {"name": "RESULTSET_TOO_LARGE", "message": "Result set size is "
                           "greater than the maximum limit.", "debug_id": "d1",
                           "maximum_items": 10000})  # fmt: skip

    paypal = PayPalConnector("client", "secret-value-123", BASE, token_cache={},
                             transport=httpx.MockTransport(handler), sleep=lambda s: None)
    with paypal, pytest.raises(PlatformError, match="cannot split") as caught:
        paypal.fetch_transactions_page(START, START + timedelta(days=1))
    searches = [r for r in sent if r.url.path == "/v1/reporting/transactions"]
    # 86,400 seconds halve down to one second: 17 windows asked for, all from the start.
    assert len(searches) == 17
    assert {r.url.params["start_date"] for r in searches} == {"2024-01-01T00:00:00Z"}
    assert searches[-1].url.params["end_date"] == "2024-01-01T00:00:00Z"
    assert "10000" in caught.value.message


def test_cursor_resumes_where_a_crashed_run_stopped():
    acct = Account(size=200, seed=3, days=60)
    start, end = START, START + timedelta(days=70)
    with acct.connector(page_size=40) as first:
        page1 = first.fetch_transactions_page(start, end)
        page2 = first.fetch_transactions_page(start, end, page1.end_cursor)
    assert page1.has_next_page and isinstance(page1.end_cursor, str)
    with acct.connector(page_size=40) as second:
        rest = list(second.iter_transaction_pages(start, end, page2.end_cursor))
        with pytest.raises(PlatformError):
            second.fetch_transactions_page(start, end, "not-a-cursor")
        with pytest.raises(PlatformError):
            second.fetch_transactions_page(start, start + timedelta(days=1), page2.end_cursor)
        # The last page's cursor resumes to nothing.
        done = second.fetch_transactions_page(start, end, rest[-1].end_cursor)
        assert (done.records, done.has_next_page) == ([], False)
    assert ids([page1, page2, *rest]) == acct.expected_ids(start, end)


def test_publication_lag_ends_the_walk_and_a_later_run_resumes():
    now = START + timedelta(days=40, hours=5)
    acct = Account(size=300, seed=9, days=90, now=now)
    start, end = START, START + timedelta(days=90)
    with acct.connector() as paypal:
        pages = list(paypal.iter_transaction_pages(start, end))
    refreshed = now - PUBLICATION_LAG
    # The window holding the refresh point is read up to it, then the walk stops.
    assert pages[-1].has_next_page is False and pages[-1].last_refreshed == refreshed
    assert ids(pages) == acct.expected_ids(start, end)
    assert all(t.ts <= refreshed.timestamp() for t in acct.sandbox.data.affecting
               if t.id in set(ids(pages)))  # fmt: skip
    assert settled_until(now, pages[-1].last_refreshed) == refreshed
    later_windows = {r.url.params["start_date"] for r in acct.searches()}
    assert "2024-03-03T00:00:00Z" not in later_windows  # never asked past the refresh
    # A week later the last cursor picks up exactly what was published since.
    acct.control(now=(now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    with acct.connector() as paypal:
        later = list(paypal.iter_transaction_pages(start, end, pages[-1].end_cursor))
    assert later[0].records
    assert ids(pages) + ids(later) == acct.expected_ids(start, end)
    assert len(set(ids(pages)) & set(ids(later))) == 0


def test_a_range_not_published_yet_is_an_empty_last_page():
    now = START + timedelta(days=40)
    acct = Account(size=100, days=60, now=now)
    start = now - timedelta(hours=1)
    with acct.connector() as paypal:
        page = paypal.fetch_transactions_page(start, start + timedelta(days=5))
    assert (page.records, page.has_next_page) == ([], False)
    # Nothing is known complete at or after the range's start: the cursor must not move.
    assert page.last_refreshed == start - timedelta(seconds=1)
    assert settled_until(now, page.last_refreshed) < start
    assert acct.sandbox.stats.not_available == 1


def test_settled_until_never_passes_the_lag_or_the_refresh():
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert settled_until(now, None) == now - timedelta(hours=3)
    assert settled_until(now, now - timedelta(hours=5)) == now - timedelta(hours=5)
    assert settled_until(now, now) == now - timedelta(hours=3)


def test_one_token_for_many_calls_and_a_new_one_after_expiry():
    acct = Account(size=100, days=30)
    start, end = START, START + timedelta(days=40)
    with acct.connector(page_size=20) as paypal:
        list(paypal.iter_transaction_pages(start, end))
        paypal.check_connection()
    # A connector built later in the same process (the next task run) reuses the token.
    with acct.connector(page_size=20) as again:
        again.check_connection()
    assert acct.sandbox.stats.token_requests == 1
    assert len(acct.searches()) > 5
    # Close to the 9-hour lifetime, the next call fetches a new token first.
    acct.wall.now += 32_400 - 200
    with acct.connector() as paypal:
        paypal.check_connection()
        paypal.check_connection()
    assert acct.sandbox.stats.token_requests == 2


def test_a_token_refused_by_paypal_is_replaced_once():
    acct = Account(size=20)
    with acct.connector() as paypal:
        paypal.check_connection()
        acct.control(expire_tokens=True)
        assert paypal.check_connection()["balances"] == {"USD": "0.00"}
    assert acct.sandbox.stats.token_requests == 2


def test_rate_limit_answers_are_waited_out():
    acct = Account(size=50, days=20)
    acct.control(faults={"http_429": {"count": 3, "retry_after": 2}})
    with acct.connector() as paypal:
        pages = list(paypal.iter_transaction_pages(START, START + timedelta(days=20)))
    assert ids(pages) == acct.expected_ids(START, START + timedelta(days=20))
    assert acct.time.sleeps.count(2.0) == 3
    assert acct.sandbox.stats.faults_served["http_429"] == 3


def test_server_errors_are_retried_then_reported_as_unavailable():
    acct = Account(size=20)
    acct.control(faults={"http_5xx": {"count": 2}})
    with acct.connector() as paypal:
        assert paypal.check_connection()["account_id"] == "XZXSPECPDZHZU"
    acct.control(faults={"http_5xx": {"count": 1000}})
    with acct.connector(budget_seconds=5.0) as paypal, pytest.raises(PlatformUnavailable):
        paypal.fetch_transactions_page(START, START + timedelta(days=1))


def test_bad_client_is_refused_without_leaking_the_secret():
    acct = Account(size=5)
    secret = "EbWrongSecretValue1234567890"
    with acct.connector(secret=secret) as paypal, pytest.raises(AuthFailed) as caught:
        paypal.check_connection()
    assert "invalid_client" in caught.value.message
    assert secret not in str(caught.value) and secret not in repr(caught.value.details)


def test_secret_and_token_never_in_repr():
    acct = Account(size=5)
    with acct.connector() as paypal:
        paypal.check_connection()
        token = paypal.auth.access_token
        assert token
        for text in (repr(paypal), repr(paypal.auth), repr(paypal.http.auth)):
            assert DEFAULT_CLIENT_SECRET not in text and token not in text
    # The shared cache keys by a hash, never by the secret.
    assert all(DEFAULT_CLIENT_SECRET not in key for key in acct.tokens)


def test_missing_credentials_are_invalid():
    with pytest.raises(InvalidCredentials):
        PayPalConnector("", "secret")
    with pytest.raises(InvalidCredentials):
        PayPalConnector("client", "  ")


def test_amounts_stay_strings_never_floats():
    acct = Account(size=40, days=10, currencies=("JPY", "KWD"))
    with acct.connector() as paypal:
        pages = list(paypal.iter_transaction_pages(START, START + timedelta(days=40)))
    values = [r["transaction_info"]["transaction_amount"]["value"]
              for p in pages for r in p.records]  # fmt: skip
    assert values and all(isinstance(v, str) for v in values)


def test_over_real_http_on_loopback():
    """baseUrl pointing at a sandbox on 127.0.0.1 (plain http is allowed on loopback)."""
    from tests.conftest import LiveServer

    server = LiveServer(create_app(PayPalSandboxConfig(size=60, days=20, now=LATER)))
    try:
        with PayPalConnector(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, server.url,
                             token_cache={}) as paypal:  # fmt: skip
            assert paypal.check_connection()["balances"] == {"USD": "0.00"}
            pages = list(paypal.iter_transaction_pages(START, START + timedelta(days=40)))
    finally:
        server.stop()
    assert len(ids(pages)) == len(set(ids(pages))) > 60
