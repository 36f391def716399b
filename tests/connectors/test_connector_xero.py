"""XeroConnector against the Xero sandbox, in process (no port), on one fake clock shared by
the connector (sleeps, token expiry) and the sandbox (rate windows, token expiry)."""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from bigledger.errors import AuthFailed, InvalidCredentials, PlatformError, RateLimitExceeded
from connectors.factory import merge_tokens
from connectors.xero import MIGRATION_ORDER, XeroConnector, validation_messages
from sandbox.xero import XeroSandboxConfig, create_app
from sandbox.xero.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
from tests.connectors.fakes import FakeTime
from transforms.xero_reports import parse_trial_balance

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

API_HOST = "https://api.xero.com"
IDENTITY_HOST = "https://identity.xero.com"


class Harness:
    """A sandbox and connectors wired to it through an in-process transport."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("size", 60)
        self.time = FakeTime(start=1_718_000_000.0)
        self.app = create_app(XeroSandboxConfig(**config), clock=self.time.clock)
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app, base_url=API_HOST)
        self.requests: list[httpx.Request] = []
        self.tokens: list[dict[str, Any]] = []

    def _forward(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.client.request(request.method, str(request.url),
                                       headers=request.headers, content=request.content)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=response.content)

    def connector(self, refresh_token: str = DEFAULT_REFRESH_TOKEN, **kwargs: Any
                  ) -> XeroConnector:  # fmt: skip
        kwargs.setdefault("budget_seconds", 300.0)
        kwargs.setdefault("on_tokens", self.tokens.append)
        return XeroConnector(
            DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, refresh_token,
            base_url=API_HOST, identity_url=IDENTITY_HOST,
            transport=httpx.MockTransport(self._forward), sleep=self.time.sleep,
            clock=self.time.clock, wall_clock=self.time.clock, rand=lambda: 0.5, **kwargs)

    @property
    def tenants(self) -> list[str]:
        return [o.tenant_id for o in self.sandbox.organisations]

    def control(self, **spec: Any) -> None:
        assert self.client.post("/__sandbox/xero/control", json=spec).status_code == 200

    def token_requests(self) -> list[dict[str, list[str]]]:
        return [parse_qs(r.content.decode()) for r in self.requests
                if r.url.path == "/connect/token"]


@pytest.fixture
def xero() -> Harness:
    return Harness()


def test_every_page_of_every_resource(xero):
    org = xero.sandbox.organisations[0]
    with xero.connector(tenant_id=xero.tenants[0], page_size=25) as conn:
        pages = list(conn.iter_resource("Invoices"))
        ids = [r["InvoiceID"] for p in pages for r in p.records]
        assert ids == [d.id for d in org.invoices]
        assert [p.has_next_page for p in pages] == [True] * (len(pages) - 1) + [False]
        assert [p.end_cursor for p in pages[:-1]] == [str(n) for n in range(2, len(pages) + 1)]
        assert pages[0].item_count == len(org.invoices)
        assert all("LineItems" in r for p in pages for r in p.records)
        contacts = [r for p in conn.iter_resource("contacts") for r in p.records]
        assert len(contacts) == len(org.contacts)  # archived ones included
        accounts = list(conn.iter_resource("Accounts"))
        assert len(accounts) == 1 and len(accounts[0].records) == len(org.accounts)
        journals = list(conn.iter_resource("Journals"))
        numbers = [r["JournalNumber"] for p in journals for r in p.records]
        assert numbers == list(range(1, len(org.journals) + 1))
        assert journals[-1].records == [] and journals[-1].end_cursor == str(numbers[-1])
        # A later read resumes where the last one ended: nothing new, one call.
        again = list(conn.iter_resource("Journals", cursor=journals[-1].end_cursor))
        assert [p.records for p in again] == [[]]
        assert conn.check_connection()["Name"] == org.name
    sent = [r for r in xero.requests if r.url.path.startswith("/api.xro")]
    assert all(r.headers["xero-tenant-id"] == org.tenant_id for r in sent)
    assert all(r.headers["Accept"] == "application/json" for r in sent)


def test_filters_reach_xero(xero):
    with xero.connector(tenant_id=xero.tenants[0]) as conn:
        paid = conn.fetch_page("Invoices", page=1, statuses=["PAID"], page_size=1000)
        assert paid.records and {r["Status"] for r in paid.records} == {"PAID"}
        bills = conn.fetch_page("Invoices", 1, where='Type=="ACCPAY"', order="Total DESC")
        assert {r["Type"] for r in bills.records} == {"ACCPAY"}
        everything = conn.fetch_page("Payments", 1, page_size=1000).records
        since = datetime(2024, 4, 1, tzinfo=UTC)
        recent = conn.fetch_page("Payments", 1, modified_since=since, page_size=1000).records
        assert 0 < len(recent) < len(everything)
    sent = xero.requests[-1]
    assert sent.headers["If-Modified-Since"] == "2024-04-01T00:00:00"
    assert sent.url.params["pageSize"] == "1000"


def test_rotated_refresh_tokens_reach_the_callback_and_the_newest_is_used_next():
    xero = Harness(access_token_ttl=300, refresh_grace_seconds=0)
    seen_at_callback: list[int] = []
    tokens: list[dict[str, Any]] = []

    def save(token: dict[str, Any]) -> None:
        # Synchronously, inside the token exchange: nothing else has been sent since.
        seen_at_callback.append(len(xero.requests))
        tokens.append(token)

    with xero.connector(tenant_id=xero.tenants[0], on_tokens=save) as conn:
        for _ in range(4):
            conn.fetch_page("Invoices", 1)
            xero.time.sleep(250)  # past the refresh margin of the 300-second token
        assert conn.refresh_token == tokens[-1]["refresh_token"]
    assert len(tokens) >= 4
    sent = xero.token_requests()
    assert len(sent) == len(tokens)
    assert sent[0]["refresh_token"] == [DEFAULT_REFRESH_TOKEN]
    for previous, request in zip(tokens, sent[1:], strict=False):
        assert request["refresh_token"] == [previous["refresh_token"]]
    assert all(t["access_token"] and t["expires_at"] for t in tokens)
    # Each callback ran right after its token response, before the next API call.
    for position, token in zip(seen_at_callback, tokens, strict=True):
        assert xero.requests[position - 1].url.path == "/connect/token"
        after = [r for r in xero.requests[position:] if r.url.path.startswith("/api.xro")]
        assert after[0].headers["Authorization"] == f"Bearer {token['access_token']}"
    # Rotation is single use: every token but the newest is dead at Xero.
    assert sum(not t.dead for t in xero.sandbox.refresh_tokens.values()) == 1


def test_a_token_refused_mid_run_is_refreshed_once_and_the_call_repeated(xero):
    with xero.connector(tenant_id=xero.tenants[0], page_size=50) as conn:
        conn.fetch_page("Invoices", 1)
        xero.control(expire_access_tokens=True)
        assert conn.fetch_page("Invoices", 2).records
    assert len(xero.tokens) == 2 and xero.sandbox.stats.unauthorized == 1


def test_stored_access_token_is_used_until_it_expires(xero):
    with xero.connector(tenant_id=xero.tenants[0]) as conn:
        conn.check_connection()
    stored = xero.tokens[-1]
    xero.requests.clear()
    with xero.connector(stored["refresh_token"], tenant_id=xero.tenants[0],
                        access_token=stored["access_token"],
                        access_token_expires_at=stored["expires_at"]) as conn:
        conn.check_connection()
    assert xero.token_requests() == []
    # Stored as connectors.factory.merge_tokens stores it, the expiry may be text.
    expiry = datetime.fromtimestamp(stored["expires_at"], UTC).isoformat()
    with xero.connector(stored["refresh_token"], tenant_id=xero.tenants[0],
                        access_token=stored["access_token"],
                        access_token_expires_at=expiry) as conn:
        conn.check_connection()
    assert xero.token_requests() == []
    merged = merge_tokens({"refreshToken": "old"}, stored)
    assert merged["refreshToken"] == stored["refresh_token"]
    assert merged["accessTokenExpiresAt"] == stored["expires_at"]


@pytest.mark.parametrize("how", ["unknown", "revoked", "reused"])
def test_a_dead_refresh_token_asks_the_user_to_reconnect(how):
    xero = Harness(refresh_grace_seconds=0)
    token = "xrt_never_issued_0000000000"
    if how == "revoked":
        token = DEFAULT_REFRESH_TOKEN
        xero.control(revoke=True)
    elif how == "reused":
        with xero.connector(tenant_id=xero.tenants[0]) as conn:
            conn.check_connection()
        token = DEFAULT_REFRESH_TOKEN  # already rotated away
    with xero.connector(token, tenant_id=xero.tenants[0]) as conn:
        with pytest.raises(InvalidCredentials, match="[Rr]econnect Xero") as caught:
            conn.check_connection()
    assert "invalid_grant" in caught.value.message
    assert token not in caught.value.message and token not in str(caught.value.details)


def test_a_wrong_client_secret_is_invalid_credentials(xero):
    conn = XeroConnector(DEFAULT_CLIENT_ID, "not-the-secret-at-all", DEFAULT_REFRESH_TOKEN,
                         base_url=API_HOST, identity_url=IDENTITY_HOST,
                         transport=httpx.MockTransport(xero._forward),
                         sleep=xero.time.sleep, clock=xero.time.clock,
                         wall_clock=xero.time.clock)
    with pytest.raises(InvalidCredentials, match="client id or secret"):
        conn.connections()


def test_tenant_selection(xero):
    first, second = xero.tenants
    with xero.connector(tenant_id=second.upper()) as conn:
        assert conn.tenant_id == second
        assert conn.check_connection()["BaseCurrency"] == "AUD"
    with xero.connector(tenant_id="00000000-0000-0000-0000-000000000000") as conn:
        with pytest.raises(InvalidCredentials, match="not connected") as caught:
            conn.check_connection()
        assert {t["tenantId"] for t in caught.value.details["tenants"]} == {first, second}
    with xero.connector() as conn:
        assert len(conn.connections()) == 2
        with pytest.raises(InvalidCredentials, match="Several Xero organisations") as caught:
            conn.fetch_page("Invoices", 1)
        assert first in caught.value.message and second in caught.value.message
    xero.control(disconnect_tenant=second)
    with xero.connector() as conn:
        assert conn.tenant_id == first  # the only one left
    xero.control(disconnect_tenant=first)
    with xero.connector() as conn, pytest.raises(InvalidCredentials, match="No Xero"):
        conn.check_connection()


def test_a_disconnected_tenant_is_refused(xero):
    with xero.connector(tenant_id=xero.tenants[0]) as conn:
        conn.check_connection()
        xero.control(disconnect_tenant=xero.tenants[0])
        with pytest.raises(AuthFailed, match="AuthenticationUnsuccessful"):
            conn.fetch_page("Invoices", 1)


def test_slows_down_on_low_minute_budget_instead_of_hitting_429():
    xero = Harness(minute_limit=5, size=80)
    with xero.connector(tenant_id=xero.tenants[0], page_size=10) as conn:
        records = [r for p in conn.iter_resource("Invoices") for r in p.records]
        assert conn.rate_budget()["minute"]["limit"] == 60
    assert len(records) == len(xero.sandbox.organisations[0].invoices)
    assert xero.sandbox.stats.rate_limited == {"minute": 0, "day": 0, "concurrent": 0,
                                               "appminute": 0}
    waits = [s for s in xero.time.sleeps if s > 30]
    assert len(waits) >= 2  # waited out the minute window instead of being refused


def test_minute_and_concurrency_429s_are_retried_after_retry_after(xero):
    xero.control(faults={"http_429": {"count": 2, "problem": "minute", "retry_after": 7}})
    with xero.connector(tenant_id=xero.tenants[0]) as conn:
        assert conn.fetch_page("Invoices", 1).records
        xero.control(faults={"http_429": {"count": 1, "problem": "concurrent",
                                          "retry_after": 1}})
        assert conn.fetch_page("Invoices", 1).records
    assert xero.time.sleeps.count(7.0) == 2 and 1.0 in xero.time.sleeps
    assert xero.sandbox.stats.faults_served["http_429"] == 3


def test_a_day_limit_429_is_not_retried_and_says_when_it_resets():
    xero = Harness(day_limit=3)
    with xero.connector(tenant_id=xero.tenants[0]) as conn:
        for page in (1, 2, 3):
            conn.fetch_page("Contacts", page)
        assert conn.rate_budget()["day"]["remaining"] == 0
        with pytest.raises(RateLimitExceeded, match="daily API limit") as caught:
            conn.fetch_page("Contacts", 4)
    error = caught.value
    assert 86_000 < error.retry_after <= 86_400
    assert error.details["problem"] == "day" and error.details["resetsAt"].startswith("2024-06")
    assert "resets in about 24.0 hours" in error.message
    assert xero.sandbox.stats.rate_limited["day"] == 1  # one refusal: no retry
    assert all(s < 60 for s in xero.time.sleeps)


def test_server_errors_are_retried(xero):
    xero.control(faults={"http_5xx": {"count": 2, "status": 503}})
    with xero.connector(tenant_id=xero.tenants[0]) as conn:
        assert conn.fetch_page("Invoices", 1).records
    assert xero.sandbox.stats.faults_served["http_5xx"] == 2


def test_validation_exception_becomes_a_platform_error_with_its_messages(xero):
    with xero.connector(tenant_id=xero.tenants[0]) as conn:
        with pytest.raises(PlatformError, match="Status code 'BOGUS' is not a valid") as caught:
            conn.fetch_page("Invoices", 1, statuses=["PAID", "BOGUS"])
        assert caught.value.details["type"] == "ValidationException"
        with pytest.raises(PlatformError, match="QueryParseException"):
            conn.fetch_page("Invoices", 1, where='Status=="PAID" AND')
        with pytest.raises(ValueError):
            conn.fetch_page("Quotes")
    body = {"ErrorNumber": 10, "Type": "ValidationException", "Elements": [
        {"ValidationErrors": [{"Message": "Please enter a unique Name."}],
         "LineItems": [{"ValidationErrors": [{"Message": "Account code '9' is not valid."}]}]},
        {"ValidationErrors": [{"Message": "Please enter a unique Name."}]}]}
    assert validation_messages(body) == ["Please enter a unique Name.",
                                         "Account code '9' is not valid."]


def test_trial_balance_report(xero):
    with xero.connector(tenant_id=xero.tenants[0]) as conn:
        report = conn.trial_balance(date(2024, 3, 31))
    assert report["ReportID"] == "TrialBalance"
    lines = parse_trial_balance(report, "NZD")
    assert sum(x.debit_minor for x in lines) == sum(x.credit_minor for x in lines) > 0
    assert xero.requests[-1].url.params["date"] == "2024-03-31"


def test_secrets_never_in_repr_errors_or_logs(xero, caplog):
    caplog.set_level(logging.DEBUG)
    with xero.connector(tenant_id=xero.tenants[0]) as conn:
        conn.check_connection()
        xero.control(expire_access_tokens=True, faults={"http_5xx": {"count": 1}})
        conn.fetch_page("Invoices", 1)
        text = repr(conn) + repr(conn.auth)
        errors = []
        xero.control(revoke=True)
        try:
            conn.fetch_page("Invoices", 1)
        except Exception as exc:  # noqa: BLE001 - collecting whatever surfaced
            errors.append(f"{exc} {getattr(exc, 'details', '')}")
    assert errors
    secrets = [DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN]
    for token in xero.tokens:
        secrets += [token["refresh_token"], token["access_token"]]
    haystack = text + " ".join(errors) + caplog.text
    for secret in secrets:
        assert secret not in haystack
    assert "XeroConnector(tenant_id=" in text


def test_migration_order_names_known_resources(xero):
    with xero.connector(tenant_id=xero.tenants[1]) as conn:
        for resource in MIGRATION_ORDER:
            assert isinstance(next(iter(conn.iter_resource(resource))).records, list)
