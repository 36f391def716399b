"""The QuickBooks sandbox over HTTP (in-process): OAuth with rotating refresh tokens, expiry
and revocation, minorversion and Accept rules, the query language and its paging, COUNT,
reads, CDC, Fault bodies, throttling by rate and by concurrency, and server faults."""

from __future__ import annotations

import asyncio
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bigledger.money import loads_exact
from sandbox.quickbooks import QuickBooksSandboxConfig, create_app
from sandbox.quickbooks.config import (
    DEFAULT_AUTH_CODE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REALM_ID,
    DEFAULT_REFRESH_TOKEN,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "https://sandbox-quickbooks.api.intuit.com"
TOKEN = "/oauth2/v1/tokens/bearer"
REVOKE = "/v2/oauth2/tokens/revoke"
CONTROL = "/__sandbox/quickbooks/control"
API = f"/v3/company/{DEFAULT_REALM_ID}"
NOW = datetime(2024, 7, 15, 12, tzinfo=UTC)


class Company:
    """A sandbox company with a client that holds an access token."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("now", NOW)
        config.setdefault("size", 300)
        self.app = create_app(QuickBooksSandboxConfig(**config))
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app, base_url=BASE)
        answer = self.refresh(DEFAULT_REFRESH_TOKEN)
        assert answer.status_code == 200, answer.text
        self.refresh_token = answer.json()["refresh_token"]
        self.access = answer.json()["access_token"]

    def refresh(self, token: str, client: tuple[str, str] = (DEFAULT_CLIENT_ID,
                                                             DEFAULT_CLIENT_SECRET)):
        return self.client.post(TOKEN, data={"grant_type": "refresh_token",
                                             "refresh_token": token}, auth=client)

    def get(self, path: str, *, token: str | None = None, minorversion: Any = 75,
            accept: str = "application/json", **params: Any) -> httpx.Response:
        if minorversion is not None:
            params["minorversion"] = minorversion
        headers = {"Authorization": f"Bearer {token or self.access}", "Accept": accept}
        return self.client.get(f"{API}{path}", params=params, headers=headers)

    def query(self, statement: str, **kw: Any) -> httpx.Response:
        return self.get("/query", query=statement, **kw)

    def rows(self, statement: str, entity: str) -> list[dict[str, Any]]:
        response = self.query(statement)
        assert response.status_code == 200, response.text
        return loads_exact(response.content)["QueryResponse"].get(entity, [])

    def control(self, **spec: Any) -> dict[str, Any]:
        response = self.client.post(CONTROL, json=spec)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def company() -> Company:
    """A shared company for read-only tests (throttling off)."""
    return Company(throttling=False, size=500)


def fault(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"Fault", "time"}
    assert isinstance(body["Fault"]["Error"], list) and body["Fault"]["type"]
    return {"type": body["Fault"]["type"], **body["Fault"]["Error"][0]}


# ---- OAuth -----------------------------------------------------------------------------


def test_token_answer_has_intuits_fields():
    co = Company()
    answer = co.refresh(co.refresh_token).json()
    assert answer["token_type"] == "bearer"
    assert answer["expires_in"] == 3600
    assert 0 < answer["x_refresh_token_expires_in"] <= 8_726_400
    assert answer["access_token"] and answer["refresh_token"]


def test_every_refresh_rotates_and_the_old_token_works_until_the_new_one_is_used():
    co = Company()
    old = co.refresh_token
    first = co.refresh(old).json()
    new = first["refresh_token"]
    assert new != old
    # Before the new one is used, the old one still answers (with the newest).
    again = co.refresh(old)
    assert again.status_code == 200 and again.json()["refresh_token"] == new
    assert co.refresh(new).status_code == 200  # the new one used: the old one dies
    dead = co.refresh(old)
    assert dead.status_code == 400 and dead.json() == {"error": "invalid_grant"}


def test_immediate_policy_kills_the_old_refresh_token_at_rotation():
    co = Company(old_refresh_token_policy="immediate")
    old = co.refresh_token
    assert co.refresh(old).status_code == 200
    assert co.refresh(old).json() == {"error": "invalid_grant"}


def test_interval_rotation_keeps_the_token_for_a_day():
    co = Company(refresh_token_rotation="interval", rotation_interval_seconds=86_400)
    token = co.refresh_token
    assert co.refresh(token).json()["refresh_token"] == token
    co.control(advance_seconds=86_401)
    rotated = co.refresh(token).json()["refresh_token"]
    assert rotated != token


def test_idle_refresh_token_expires_and_revocation_kills_the_grant():
    co = Company(refresh_token_ttl_seconds=1000)
    co.control(advance_seconds=1001)
    assert co.refresh(co.refresh_token).json() == {"error": "invalid_grant"}
    other = Company()
    response = other.client.post(REVOKE, json={"token": other.refresh_token},
                                 auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))
    assert response.status_code == 200
    assert other.refresh(other.refresh_token).json() == {"error": "invalid_grant"}
    assert other.query("SELECT COUNT(*) FROM Account").status_code == 401


def test_bad_client_and_unknown_grant_type_and_auth_code_once():
    co = Company()
    assert co.refresh(co.refresh_token, ("nope", "wrong")).status_code == 401
    response = co.client.post(TOKEN, data={"grant_type": "password"},
                              auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))
    assert response.json() == {"error": "unsupported_grant_type"}
    body = {"grant_type": "authorization_code", "code": DEFAULT_AUTH_CODE,
            "redirect_uri": "https://app.example/callback"}
    first = co.client.post(TOKEN, data=body, auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))
    assert first.status_code == 200 and first.json()["refresh_token"]
    second = co.client.post(TOKEN, data=body, auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))
    assert second.json() == {"error": "invalid_grant"}


@pytest.mark.parametrize("shape", ["Fault", "fault"])
def test_expired_access_token_is_a_401_authentication_fault(shape):
    co = Company(auth_fault_shape=shape)
    assert co.query("SELECT COUNT(*) FROM Account").status_code == 200
    co.control(expire_access_tokens=True)
    response = co.query("SELECT COUNT(*) FROM Account")
    assert response.status_code == 401
    body = response.json()
    if shape == "Fault":
        error = fault(response)
        assert error["type"] == "AUTHENTICATION" and error["code"] == "3200"
        assert "AuthenticationFailed" in error["Message"]
    else:
        assert body["fault"]["type"] == "AUTHENTICATION"
        assert body["fault"]["error"][0]["code"] == "3200"
    # A fresh access token from the refresh token works again.
    co.access = co.refresh(co.refresh_token).json()["access_token"]
    assert co.query("SELECT COUNT(*) FROM Account").status_code == 200
    co.control(advance_seconds=3600)
    assert co.query("SELECT COUNT(*) FROM Account").status_code == 401


def test_unknown_token_and_wrong_realm(company):
    assert company.query("SELECT * FROM Account", token="forged").status_code == 401
    response = company.client.get("/v3/company/123/query",
                                  params={"query": "SELECT * FROM Account", "minorversion": 75},
                                  headers={"Authorization": f"Bearer {company.access}",
                                           "Accept": "application/json"})
    assert response.status_code == 403 and fault(response)["type"] == "AuthorizationFault"


# ---- request rules -------------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, 74, "abc"])
def test_minorversion_below_75_is_a_validation_fault(company, version):
    response = company.query("SELECT * FROM Account", minorversion=version)
    assert response.status_code == 400
    error = fault(response)
    assert error["type"] == "ValidationFault" and error["element"] == "minorversion"


def test_minorversion_upgrade_policy_serves_old_versions():
    co = Company(minor_version_policy="upgrade", throttling=False)
    assert co.query("SELECT COUNT(*) FROM Account", minorversion=None).status_code == 200


def test_json_needs_the_accept_header(company):
    response = company.query("SELECT * FROM Account", accept="application/xml")
    assert response.status_code == 406 and b"IntuitResponse" in response.content


# ---- query language --------------------------------------------------------------------


def test_paging_covers_every_record_once_in_id_order(company):
    total = loads_exact(company.query("SELECT COUNT(*) FROM Invoice").content)
    count = total["QueryResponse"]["totalCount"]
    assert count > 50
    seen, position = [], 1
    while True:
        body = loads_exact(company.query(f"SELECT * FROM Invoice STARTPOSITION {position} "
                                         "MAXRESULTS 20").content)["QueryResponse"]
        rows = body.get("Invoice", [])
        if rows:
            assert body["startPosition"] == position and body["maxResults"] == len(rows)
        seen.extend(r["Id"] for r in rows)
        if len(rows) < 20:
            break
        position += 20
    assert len(seen) == count == len(set(seen))
    assert seen == sorted(seen, key=int)
    past = loads_exact(company.query(f"SELECT * FROM Invoice STARTPOSITION {count + 1}").content)
    assert past["QueryResponse"] == {}


def test_default_and_maximum_maxresults(company):
    rows = company.rows("SELECT * FROM Invoice", "Invoice")
    assert len(rows) == 100
    response = company.query("SELECT * FROM Invoice MAXRESULTS 1001")
    assert response.status_code == 400 and fault(response)["code"] == "4001"


def test_where_filters_and_orderby(company):
    rows = company.rows("select * from Invoice where TxnDate >= '2024-03-01' and "
                        "TxnDate <= '2024-03-31' orderby TxnDate desc maxresults 1000",
                        "Invoice")
    assert rows and all("2024-03-01" <= r["TxnDate"] <= "2024-03-31" for r in rows)
    dates = [r["TxnDate"] for r in rows]
    assert dates == sorted(dates, reverse=True)
    some = [r["Id"] for r in rows[:3]]
    by_id = company.rows(f"SELECT * FROM Invoice WHERE Id IN ({', '.join(repr(i) for i in some)})",
                         "Invoice")
    assert sorted(r["Id"] for r in by_id) == sorted(some)
    changed = company.rows("SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= "
                           "'2024-06-01T00:00:00-00:00' MAXRESULTS 1000", "Invoice")
    cut = datetime(2024, 6, 1, tzinfo=UTC)
    assert changed and all(datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]) >= cut
                           for r in changed)
    named = company.rows("SELECT * FROM Account WHERE Name LIKE '%Receivable%'", "Account")
    assert named and all("receivable" in r["Name"].lower() for r in named)
    big = company.rows("SELECT * FROM Invoice WHERE TotalAmt > 1000 MAXRESULTS 1000", "Invoice")
    assert all(r["TotalAmt"] > 1000 for r in big)


def test_inactive_records_only_when_asked(company):
    active = company.rows("SELECT * FROM Account MAXRESULTS 1000", "Account")
    everything = company.rows("SELECT * FROM Account WHERE Active IN (true, false) "
                              "MAXRESULTS 1000", "Account")
    inactive = company.rows("SELECT * FROM Account WHERE Active = false", "Account")
    assert all(a["Active"] for a in active)
    assert [a["Name"] for a in inactive] == ["Old Savings"]
    assert len(everything) == len(active) + 1


def test_count_and_projection_and_post_form(company):
    count = loads_exact(company.query("SELECT COUNT(*) FROM Customer WHERE Active IN "
                                      "(true, false)").content)
    customers = company.rows("SELECT * FROM Customer WHERE Active IN (true, false) "
                             "MAXRESULTS 1000", "Customer")
    assert count["QueryResponse"]["totalCount"] == len(customers)
    sparse = company.rows("SELECT Id, DisplayName FROM Customer MAXRESULTS 2", "Customer")
    assert set(sparse[0]) == {"Id", "DisplayName", "domain", "sparse"}
    headers = {"Authorization": f"Bearer {company.access}", "Accept": "application/json"}
    posted = company.client.post(f"{API}/query", params={"minorversion": 75},
                                 content=b"SELECT COUNT(*) FROM Vendor",
                                 headers={**headers, "Content-Type": "application/text"})
    assert posted.status_code == 200 and posted.json()["QueryResponse"]["totalCount"] > 0
    wrong = company.client.post(f"{API}/query", params={"minorversion": 75},
                                json={"query": "SELECT * FROM Vendor"}, headers=headers)
    assert wrong.status_code == 400 and fault(wrong)["type"] == "ValidationFault"


@pytest.mark.parametrize("statement, code", [
    ("SELECT * FROM", "4000"),
    ("SELECT * FROM Invoice WHERE TotalAmt > 5 OR TotalAmt < 2", "4000"),
    ("SELECT * FROM Invoice WHERE TotalAmt != 5", "4000"),
    ("SELECT * FROM Invoice ORDERBY", "4000"),
    ("SELECT * FROM Invoice MAXRESULTS ten", "4000"),
    ("SELEKT * FROM Invoice", "4000"),
    ("SELECT * FROM Unicorn", "4001"),
    ("SELECT * FROM Invoice WHERE Colour = 'red'", "4001"),
])
def test_bad_queries_are_validation_faults(company, statement, code):
    response = company.query(statement)
    assert response.status_code == 400
    error = fault(response)
    assert error["type"] == "ValidationFault" and error["code"] == code
    assert error["Detail"].startswith(("QueryParserError", "QueryValidationError"))


def test_amounts_are_exact_json_numbers(company):
    response = company.query("SELECT * FROM Invoice MAXRESULTS 5")
    assert b'"TotalAmt":"' not in response.content  # numbers, not strings
    invoice = loads_exact(response.content)["QueryResponse"]["Invoice"][0]
    assert isinstance(invoice["TotalAmt"], Decimal)
    assert invoice["TotalAmt"].as_tuple().exponent == -2


def test_read_one_and_deleted_object(company):
    invoice = company.rows("SELECT * FROM Invoice MAXRESULTS 1", "Invoice")[0]
    one = company.get(f"/invoice/{invoice['Id']}")
    assert one.status_code == 200 and loads_exact(one.content)["Invoice"] == invoice
    gone = company.sandbox.company.deleted[0]
    response = company.get(f"/{gone.entity.lower()}/{gone.id}")
    assert response.status_code == 400 and fault(response)["code"] == "610"
    info = company.get(f"/companyinfo/{DEFAULT_REALM_ID}").json()["CompanyInfo"]
    assert info["CompanyName"] and info["FiscalYearStartMonth"] == "January"
    prefs = company.get("/preferences").json()["Preferences"]
    assert prefs["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"
    assert company.get("/estimate/1").status_code == 400


def test_deleted_records_leave_queries_and_appear_in_cdc(company):
    deleted = company.sandbox.company.deleted
    assert deleted
    gone = deleted[0]
    ids = {r["Id"] for r in company.rows(f"SELECT * FROM {gone.entity} MAXRESULTS 1000",
                                         gone.entity)}
    assert gone.id not in ids
    since = gone.deleted_at.astimezone(UTC)
    company.sandbox.reconfigure(now=since + timedelta(days=1))  # inside CDC's 30 days
    try:
        body = company.get("/cdc", entities=f"{gone.entity},Customer",
                           changedSince=since.isoformat()).json()
    finally:
        company.sandbox.reconfigure(now=NOW)
    parts = body["CDCResponse"][0]["QueryResponse"]
    stubs = [r for p in parts for r in p.get(gone.entity, []) if r.get("status") == "Deleted"]
    assert {"Id": gone.id, "status": "Deleted"}.items() <= stubs[0].items()


def test_cdc_lookback_is_thirty_days(company):
    response = company.get("/cdc", entities="Invoice", changedSince="2024-01-01T00:00:00Z")
    assert response.status_code == 400 and fault(response)["element"] == "changedSince"
    recent = company.get("/cdc", entities="Invoice,Payment",
                         changedSince="2024-06-20T00:00:00-07:00")
    assert recent.status_code == 200
    parts = recent.json()["CDCResponse"][0]["QueryResponse"]
    assert len(parts) == 2 and parts[0].get("Invoice")


def test_trial_balance_report_shape(company):
    response = company.get("/reports/TrialBalance", start_date="2024-01-01",
                           end_date="2024-06-30", accounting_method="Accrual")
    report = loads_exact(response.content)
    assert report["Header"]["ReportName"] == "TrialBalance"
    assert report["Header"]["Currency"] == "USD"
    assert [c["ColTitle"] for c in report["Columns"]["Column"]] == ["", "Debit", "Credit"]
    rows = report["Rows"]["Row"]
    assert rows[-1]["group"] == "GrandTotal"
    assert rows[-1]["Summary"]["ColData"][0]["value"] == "TOTAL"
    assert all(r["ColData"][0]["id"] for r in rows[:-1])
    assert company.get("/reports/TrialBalance", accounting_method="Cash").status_code == 400


# ---- throttling and faults ---------------------------------------------------------------


def test_rate_limit_per_realm_and_its_window():
    co = Company(requests_per_minute=5)
    codes = [co.query("SELECT COUNT(*) FROM Account").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    error = fault(co.query("SELECT COUNT(*) FROM Account"))
    assert error["code"] == "3001" and "ThrottleExceeded" in error["Message"]
    assert co.sandbox.stats.throttled == 2
    co.control(advance_seconds=61)
    assert co.query("SELECT COUNT(*) FROM Account").status_code == 200


def test_retry_after_only_when_configured():
    co = Company(requests_per_minute=1)
    co.query("SELECT COUNT(*) FROM Account")
    assert "Retry-After" not in co.query("SELECT COUNT(*) FROM Account").headers
    co.control(config={"retry_after_seconds": 60})
    assert co.query("SELECT COUNT(*) FROM Account").headers["Retry-After"] == "60"


def test_more_than_ten_in_flight_are_refused():
    co = Company()
    co.control(faults={"slow": {"count": 12, "delay_ms": 200}})

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=co.app)
        headers = {"Authorization": f"Bearer {co.access}", "Accept": "application/json"}
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            calls = [client.get(f"{API}/query", headers=headers, params={
                "query": "SELECT COUNT(*) FROM Account", "minorversion": 75})
                for _ in range(12)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    codes = asyncio.run(burst())
    assert codes.count(200) == 10 and codes.count(429) == 2
    assert co.sandbox.stats.max_in_flight == 10


def test_armed_faults_5xx_and_429():
    co = Company(throttling=False)
    co.control(faults={"http_5xx": {"count": 1, "status": 503}, "http_429": {"count": 1,
                                                                              "after": 1}})
    first = co.query("SELECT COUNT(*) FROM Account")
    assert first.status_code == 503 and fault(first)["type"] == "SystemFault"
    assert co.query("SELECT COUNT(*) FROM Account").status_code == 429
    assert co.query("SELECT COUNT(*) FROM Account").status_code == 200
    state = co.control(clear_faults=True)
    assert state["faults"]["http_5xx"]["count"] == 0


def test_control_regenerates_the_dataset():
    co = Company(throttling=False)
    state = co.control(config={"seed": 99, "size": 60})
    assert state["dataset"]["seed"] == 99 and state["dataset"]["size"] == 60
    count = loads_exact(co.query("SELECT COUNT(*) FROM Invoice").content)
    assert count["QueryResponse"]["totalCount"] < 40
    bad = co.client.post(CONTROL, json={"config": {"colour": "red"}})
    assert bad.status_code == 422


def test_routes_mount_beside_the_other_sandboxes():
    from sandbox.quickbooks import QuickBooksSandbox
    from sandbox.server import create_sandbox_app

    app = create_sandbox_app(quickbooks=QuickBooksSandboxConfig(size=50, now=NOW))
    mine = {route.path for route in QuickBooksSandbox(QuickBooksSandboxConfig(size=5)).routes()}
    routes = [(r.path, method) for r in app.routes for method in sorted(r.methods or ())]
    assert len(routes) == len(set(routes))  # no platform's route shadows another's
    assert mine <= {path for path, _ in routes}
    assert all(p.startswith(("/v3/company/", "/oauth2/", "/v2/oauth2/", "/__sandbox/quickbooks/"))
               for p in mine)
    client = TestClient(app, base_url=BASE)
    token = client.post(TOKEN, data={"grant_type": "refresh_token",
                                     "refresh_token": DEFAULT_REFRESH_TOKEN},
                        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)).json()["access_token"]
    answer = client.get(f"{API}/query", params={"query": "SELECT COUNT(*) FROM Account",
                                                 "minorversion": 75},
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    assert answer.status_code == 200
    assert client.get("/__sandbox/health").status_code == 200
