"""QuickBooksConnector against the QuickBooks sandbox, in process (no port): every page once,
rotating refresh tokens handed to the callback before use, refresh before expiry and on a
401, a dead refresh token, 429s waited out, pacing within the per-minute and concurrency
limits, fault mapping, and secrets kept out of repr, errors and logs."""

from __future__ import annotations

import logging
import threading
import warnings
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from bigledger.errors import (
    AuthFailed,
    InvalidCredentials,
    PlatformUnavailable,
    RateLimitExceeded,
)
from connectors.quickbooks import (
    QuickBooksConnector,
    QuickBooksFault,
    QuickBooksRatePolicy,
    quote,
    updated_since,
)
from sandbox.quickbooks import QuickBooksSandbox, QuickBooksSandboxConfig
from sandbox.quickbooks.app import ControlRequest
from sandbox.quickbooks.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REALM_ID,
    DEFAULT_REFRESH_TOKEN,
)
from tests.connectors.fakes import FakeTime
from transforms.quickbooks_reports import parse_trial_balance

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

BASE = "https://sandbox-quickbooks.api.intuit.com"
NOW = datetime(2024, 7, 15, 12, tzinfo=UTC)


class Company:
    """A sandbox company sharing a fake clock with the connectors wired to it."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("now", NOW)
        config.setdefault("size", 300)
        self.time = FakeTime()
        self.sandbox = QuickBooksSandbox(QuickBooksSandboxConfig(**config),
                                         monotonic=self.time.clock)
        self.app = Starlette(routes=self.sandbox.routes())
        self.client = TestClient(self.app, base_url=BASE)
        self.requests: list[httpx.Request] = []
        self.saved: list[dict[str, Any]] = []  # what on_tokens received, in order
        self.lock = threading.Lock()

    def _forward(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
        client = TestClient(self.app, base_url=BASE)  # one per thread: its own event loop
        response = client.request(request.method, str(request.url), headers=request.headers,
                                  content=request.content)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=response.content)

    def connector(self, refresh_token: str = DEFAULT_REFRESH_TOKEN, **kw: Any
                  ) -> QuickBooksConnector:
        kw.setdefault("budget_seconds", 300.0)
        kw.setdefault("on_tokens", self.saved.append)
        kw.setdefault("rand", lambda: 0.5)
        return QuickBooksConnector(DEFAULT_REALM_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
                                   refresh_token, base_url=BASE,
                                   transport=httpx.MockTransport(self._forward),
                                   sleep=self.time.sleep, clock=self.time.clock,
                                   wall_clock=self.sandbox.now, **kw)

    def control(self, **spec: Any) -> None:
        self.sandbox.apply_control(ControlRequest(**spec))

    def token_requests(self) -> list[dict[str, str]]:
        return [dict(parse_qsl(r.content.decode())) for r in self.requests
                if r.url.path.endswith("/tokens/bearer")]

    def api_tokens(self) -> list[str]:
        return [r.headers["Authorization"][7:] for r in self.requests
                if r.url.path.startswith("/v3/")]


@pytest.fixture(scope="module")
def shared() -> Company:
    return Company(size=500, throttling=False)


# ---- paging and reads ------------------------------------------------------------------


def test_every_page_once_and_a_cursor_resumes(shared):
    qbo = shared.connector()
    total = qbo.count("Invoice")
    pages = list(qbo.iter_pages("Invoice", page_size=37))
    ids = [r["Id"] for p in pages for r in p.records]
    assert len(ids) == total == len(set(ids)) > 37 * 2
    assert [p.has_next_page for p in pages][-1] is False
    assert all(len(p.records) == 37 for p in pages[:-1])
    resumed = list(qbo.iter_pages("Invoice", page_size=37,
                                  start_position=int(pages[1].end_cursor)))
    assert [r["Id"] for p in resumed for r in p.records] == ids[74:]
    everything = [r["Id"] for r in qbo.iter_query("Invoice", page_size=1000)]
    assert everything == ids


def test_where_clauses_and_helpers(shared):
    qbo = shared.connector()
    since = datetime(2024, 5, 1, tzinfo=UTC)
    recent = list(qbo.iter_query("Invoice", where=updated_since(since)))
    assert recent and len(recent) < qbo.count("Invoice")
    assert qbo.count("Invoice", updated_since(since)) == len(recent)
    name = "Kaur's Garden Supply"
    found = list(qbo.iter_query("Customer", where=f"DisplayName = {quote(name)}"))
    assert [c["DisplayName"] for c in found] == [name]
    with pytest.raises(ValueError):
        qbo.query_page("Invoice; DROP", None)
    with pytest.raises(ValueError):
        qbo.query_page("Invoice", max_results=1001)


def test_company_reads_report_and_cdc(shared):
    qbo = shared.connector()
    assert qbo.check_connection()["CompanyName"] == "Sandbox Trading Co."
    assert qbo.preferences()["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"
    invoice = next(qbo.iter_query("Invoice", page_size=1))
    assert qbo.read("Invoice", invoice["Id"]) == invoice
    lines = parse_trial_balance(qbo.trial_balance(date(2024, 1, 1), date(2024, 6, 30)))
    assert sum(line.net_minor for line in lines) == 0 and len(lines) > 10
    gone = shared.sandbox.company.deleted[0]
    with pytest.raises(QuickBooksFault) as caught:
        qbo.read(gone.entity, gone.id)
    assert caught.value.details["code"] == "610"
    changes = qbo.changes_since(["Invoice", "Payment"], NOW - timedelta(days=25))
    assert set(changes) == {"Invoice", "Payment"} and changes["Invoice"]


def test_validation_faults_carry_code_and_message(shared):
    qbo = shared.connector()
    with pytest.raises(QuickBooksFault) as caught:
        qbo.query("SELECT * FROM Invoice WHERE Colour = 'red'")
    error = caught.value
    assert error.code == "PLATFORM_ERROR" and error.details["code"] == "4001"
    assert "ValidationFault 4001" in error.message and "Colour" in error.message
    with pytest.raises(QuickBooksFault, match="4000"):
        qbo.query("SELECT * FROM")


def test_wrong_realm_is_auth_failed(shared):
    qbo = shared.connector()
    qbo.realm_id = "123456"
    with pytest.raises(AuthFailed, match="003100"):
        qbo.count("Account")


# ---- tokens ----------------------------------------------------------------------------


def test_rotated_tokens_reach_the_callback_and_the_newest_is_used_next():
    co = Company()
    qbo = co.connector()
    qbo.count("Account")
    assert len(co.saved) == 1
    first = co.saved[0]
    assert first["refresh_token"] != DEFAULT_REFRESH_TOKEN
    assert first["access_token"] == co.api_tokens()[-1]
    assert first["expires_at"] == pytest.approx(co.sandbox.now() + 3600)
    co.control(expire_access_tokens=True)
    qbo.count("Account")
    sent = [t["refresh_token"] for t in co.token_requests()]
    assert sent == [DEFAULT_REFRESH_TOKEN, first["refresh_token"]]
    assert len(co.saved) == 2 and co.saved[1]["refresh_token"] not in sent
    assert qbo.tokens["refresh_token"] == co.saved[1]["refresh_token"]


def test_callback_runs_before_the_new_access_token_is_used():
    co = Company()
    seen: list[int] = []

    def save(token: dict[str, Any]) -> None:
        seen.append(len(co.api_tokens()))  # API calls made with the token so far

    co.connector(on_tokens=save).count("Account")
    assert seen == [0]


def test_a_failing_callback_keeps_the_rotated_token_in_memory():
    co = Company(old_refresh_token_policy="immediate")

    def broken(token: dict[str, Any]) -> None:
        raise RuntimeError("database down")

    qbo = co.connector(on_tokens=broken)
    with pytest.raises(RuntimeError):
        qbo.count("Account")
    rotated = qbo.tokens["refresh_token"]
    assert rotated != DEFAULT_REFRESH_TOKEN
    # The caller can still save it, and this connector keeps working with it.
    qbo._user_callback = co.saved.append
    assert qbo.count("Account") > 0


def test_refresh_shortly_before_expiry_without_a_401():
    co = Company()
    bootstrap = co.connector()
    bootstrap.count("Account")
    token = co.saved[-1]
    co.requests.clear()
    co.control(advance_seconds=3600 - 120)  # two minutes left, inside the 5-minute margin
    qbo = co.connector(refresh_token=token["refresh_token"],
                       access_token=token["access_token"],
                       access_token_expires_at=token["expires_at"])
    qbo.count("Account")
    assert len(co.token_requests()) == 1
    assert co.sandbox.stats.unauthorized == 0
    assert co.api_tokens()[-1] == co.saved[-1]["access_token"] != token["access_token"]


def test_a_valid_stored_access_token_is_used_as_is():
    co = Company()
    co.connector().count("Account")
    token = co.saved[-1]
    co.requests.clear()
    qbo = co.connector(refresh_token=token["refresh_token"], access_token=token["access_token"],
                       access_token_expires_at=datetime.fromtimestamp(token["expires_at"], UTC))
    qbo.count("Account")
    assert co.token_requests() == []


def test_refresh_once_on_a_401():
    co = Company()
    qbo = co.connector()
    qbo.count("Account")
    co.control(expire_access_tokens=True)
    assert qbo.count("Account") > 0
    assert co.sandbox.stats.unauthorized == 1
    assert len(co.token_requests()) == 2


@pytest.mark.parametrize("how", ["revoked", "unknown", "superseded"])
def test_a_dead_refresh_token_asks_the_user_to_reconnect(how):
    co = Company(old_refresh_token_policy="immediate")
    token = DEFAULT_REFRESH_TOKEN
    if how == "revoked":
        co.control(revoke_all=True)
    elif how == "unknown":
        token = "AB11-never-issued-token-000000000"
    else:
        co.connector().count("Account")  # rotates: the original dies
    with pytest.raises(InvalidCredentials) as caught:
        co.connector(refresh_token=token).count("Account")
    assert "reconnect QuickBooks" in caught.value.message
    assert caught.value.details["error"] == "invalid_grant"
    assert token not in caught.value.message


def test_revoke_disconnects():
    co = Company()
    qbo = co.connector()
    qbo.count("Account")
    qbo.revoke()
    co.control(expire_access_tokens=True)
    with pytest.raises(InvalidCredentials, match="reconnect"):
        qbo.count("Account")


def test_constructor_checks():
    with pytest.raises(InvalidCredentials):
        QuickBooksConnector(DEFAULT_REALM_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "")
    with pytest.raises(InvalidCredentials):
        QuickBooksConnector("acme", DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "x" * 20)
    with pytest.raises(ValueError):
        QuickBooksConnector(DEFAULT_REALM_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
                            "x" * 20, minor_version=70)


# ---- limits and failures ---------------------------------------------------------------


def test_429s_are_waited_out_sixty_seconds_each():
    co = Company(throttling=False)
    qbo = co.connector()
    qbo.count("Account")
    co.control(faults={"http_429": {"count": 2}})
    assert qbo.count("Account") > 0
    assert [s for s in co.time.sleeps if s >= 1] == [60.0, 60.0]


def test_a_throttle_storm_longer_than_the_budget_is_rate_limit_exceeded():
    co = Company(throttling=False)
    qbo = co.connector(budget_seconds=150.0)
    qbo.count("Account")
    co.control(faults={"http_429": {"count": 50}})
    with pytest.raises(RateLimitExceeded):
        qbo.count("Account")


def test_pacing_stays_within_the_per_minute_limit():
    co = Company(requests_per_minute=60)
    policy = QuickBooksRatePolicy(60, clock=co.time.clock)
    qbo = co.connector(rate_limit=policy)
    start = co.time.now
    for _ in range(130):
        qbo.count("Account")
    assert co.sandbox.stats.throttled == 0
    assert co.time.now - start >= (130 - 60) * 0.9  # paced, not refused


def test_server_errors_are_retried_then_platform_unavailable():
    co = Company(throttling=False)
    qbo = co.connector(budget_seconds=10.0)
    qbo.count("Account")
    co.control(faults={"http_5xx": {"count": 1, "status": 503}})
    assert qbo.count("Account") > 0
    co.control(faults={"http_5xx": {"count": 100, "status": 500, "body": "html"}})
    with pytest.raises(PlatformUnavailable):
        qbo.count("Account")


def test_concurrency_is_capped_per_realm():
    co = Company(throttling=False)
    co.control(faults={"slow": {"count": 40, "delay_ms": 30}})
    connectors = [co.connector(max_concurrency=3) for _ in range(8)]

    def work(qbo: QuickBooksConnector) -> None:
        qbo.count("Account")
        qbo.count("Vendor")

    threads = [threading.Thread(target=work, args=(q,)) for q in connectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert co.sandbox.stats.max_in_flight <= 3
    assert co.sandbox.stats.throttled == 0


# ---- secrets ---------------------------------------------------------------------------


def test_secrets_never_in_repr_errors_or_logs(caplog):
    co = Company(throttling=False, old_refresh_token_policy="immediate")
    caplog.set_level(logging.DEBUG)
    qbo = co.connector()
    qbo.count("Account")
    co.control(expire_access_tokens=True, faults={"http_429": {"count": 1},
                                                  "http_5xx": {"count": 1, "after": 1}})
    qbo.count("Account")
    errors = []
    for call in (lambda: qbo.query("SELECT * FROM Nope"),
                 lambda: co.connector().count("Account")):  # the original token is dead now
        try:
            call()
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{exc} {exc.details}")
    assert len(errors) == 2
    secrets = [DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN,
               *(t["refresh_token"] for t in co.saved), *(t["access_token"] for t in co.saved)]
    text = " ".join([repr(qbo), repr(qbo.auth), repr(qbo.http.auth), caplog.text, *errors])
    for secret in secrets:
        assert secret not in text


def test_token_urls_follow_the_base_url():
    intuit = QuickBooksConnector(DEFAULT_REALM_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
                                 "x" * 20, base_url="https://sandbox-quickbooks.api.intuit.com")
    assert intuit.auth.token_url == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    emulator = QuickBooksConnector(DEFAULT_REALM_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
                                   "x" * 20, base_url="http://127.0.0.1:8765",
                                   access_token="a" * 20,
                                   access_token_expires_at="2030-01-01T00:00:00Z")
    assert emulator.auth.token_url == "http://127.0.0.1:8765/oauth2/v1/tokens/bearer"
    assert emulator.revoke_url == "http://127.0.0.1:8765/v2/oauth2/tokens/revoke"
    assert emulator.auth.expires_at == datetime(2030, 1, 1, tzinfo=UTC).timestamp()


def test_over_real_http_on_loopback():
    from sandbox.quickbooks import create_app
    from tests.conftest import LiveServer

    server = LiveServer(create_app(QuickBooksSandboxConfig(size=120, now=NOW)))
    try:
        saved: list[dict[str, Any]] = []
        with QuickBooksConnector(DEFAULT_REALM_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
                                 DEFAULT_REFRESH_TOKEN, base_url=server.url,
                                 on_tokens=saved.append) as qbo:
            assert qbo.count("Invoice") == len(list(qbo.iter_query("Invoice", page_size=10)))
            assert len(saved) == 1
    finally:
        server.stop()
