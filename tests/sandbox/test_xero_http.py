"""Xero sandbox over HTTP, in process: identity (rotation, grace, revocation), tenants and the
header rules, paging and filters, the rate limits with their headers, error bodies."""

from __future__ import annotations

import base64
import threading
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest

from bigledger.money import loads_exact
from sandbox.xero import XeroSandboxConfig, create_app
from sandbox.xero.config import (
    DEFAULT_AUTH_CODE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
    DEFAULT_REFRESH_TOKEN,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

API = "/api.xro/2.0"
BASIC = "Basic " + base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()
                                    ).decode()


class Clock:
    def __init__(self, now: float = 1_718_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Xero:
    """A sandbox app, its clock, and shortcuts for tokens and API calls."""

    def __init__(self, **config: Any) -> None:
        self.clock = Clock()
        config.setdefault("size", 60)
        self.app = create_app(XeroSandboxConfig(**config), clock=self.clock)
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app, base_url="https://api.xero.com")
        self.refresh = DEFAULT_REFRESH_TOKEN
        self.access = ""

    def token(self, refresh: str | None = None, auth: str = BASIC):
        return self.client.post("/connect/token", headers={"Authorization": auth},
                                data={"grant_type": "refresh_token",
                                      "refresh_token": refresh or self.refresh})

    def login(self) -> str:
        answer = self.token()
        assert answer.status_code == 200, answer.text
        body = answer.json()
        self.refresh, self.access = body["refresh_token"], body["access_token"]
        return self.access

    @property
    def tenants(self) -> list[str]:
        return [o.tenant_id for o in self.sandbox.organisations]

    def get(self, path: str, tenant: str | None = None, headers: dict[str, str] | None = None,
            **params: Any):
        sent = {"Authorization": f"Bearer {self.access or self.login()}",
                "xero-tenant-id": tenant or self.tenants[0], "Accept": "application/json",
                **(headers or {})}
        return self.client.get(f"{API}/{path}", params=params, headers=sent)

    def json(self, path: str, **kwargs: Any) -> Any:
        answer = self.get(path, **kwargs)
        assert answer.status_code == 200, answer.text
        return loads_exact(answer.content)

    def control(self, **spec: Any) -> dict[str, Any]:
        answer = self.client.post("/__sandbox/xero/control", json=spec)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def xero() -> Xero:
    return Xero()


# ---- identity ------------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_token_dies_at_once_without_grace():
    xero = Xero(refresh_grace_seconds=0)
    first = xero.token().json()
    assert (first["token_type"], first["expires_in"]) == ("Bearer", 1800)
    assert first["refresh_token"] != DEFAULT_REFRESH_TOKEN and "offline_access" in first["scope"]
    dead = xero.token(DEFAULT_REFRESH_TOKEN)
    assert (dead.status_code, dead.json()) == (400, {"error": "invalid_grant"})
    second = xero.token(first["refresh_token"])
    assert second.status_code == 200
    assert xero.token(first["refresh_token"]).status_code == 400
    assert xero.sandbox.stats.invalid_grants == 2


def test_a_used_refresh_token_works_again_only_within_the_grace_period(xero):
    first = xero.token().json()
    xero.clock.now += 600  # ten minutes: the response "was lost", the client retries
    again = xero.token(DEFAULT_REFRESH_TOKEN)
    assert again.status_code == 200 and xero.sandbox.stats.refresh_grace_reuses == 1
    newest = again.json()["refresh_token"]
    # The pair issued first is superseded by the retry's pair.
    assert xero.token(first["refresh_token"]).status_code == 400
    xero.clock.now += 1800  # past the 30-minute grace
    assert xero.token(DEFAULT_REFRESH_TOKEN).status_code == 400
    assert xero.token(newest).status_code == 200


def test_access_tokens_expire_and_refresh_tokens_expire_unused():
    xero = Xero(access_token_ttl=60, refresh_token_ttl=3600)
    xero.login()
    assert xero.get("Organisation").status_code == 200
    xero.clock.now += 61
    expired = xero.get("Organisation")
    assert expired.status_code == 401
    assert expired.json()["Detail"].startswith("TokenExpired: token expired at")
    xero.clock.now += 3600
    assert xero.token().status_code == 400  # the refresh token went unused too long


def test_authorization_code_grant_once_with_the_right_redirect(xero):
    def exchange(code: str, redirect: str = DEFAULT_REDIRECT_URI):
        return xero.client.post("/connect/token", headers={"Authorization": BASIC},
                                data={"grant_type": "authorization_code", "code": code,
                                      "redirect_uri": redirect})

    assert exchange(DEFAULT_AUTH_CODE, "https://evil.example/cb").status_code == 400
    answer = exchange(DEFAULT_AUTH_CODE)
    assert answer.status_code == 200 and answer.json()["refresh_token"]
    assert exchange(DEFAULT_AUTH_CODE).json() == {"error": "invalid_grant"}


def test_client_authentication_and_grant_types(xero):
    wrong = "Basic " + base64.b64encode(b"someone:else").decode()
    assert xero.token(auth=wrong).json() == {"error": "invalid_client"}
    body = {"grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN,
            "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
    assert xero.client.post("/connect/token", data=body).status_code == 200
    other = xero.client.post("/connect/token", headers={"Authorization": BASIC},
                             data={"grant_type": "password"})
    assert other.json() == {"error": "unsupported_grant_type"}


def test_revocation_kills_every_token_and_disconnects(xero):
    xero.login()
    answer = xero.client.post("/connect/revocation", headers={"Authorization": BASIC},
                              data={"token": xero.refresh})
    assert answer.status_code == 200
    assert xero.token().json() == {"error": "invalid_grant"}
    assert xero.get("Organisation").status_code == 401
    xero.control(add_refresh_token="xrt_reconnected")
    xero.refresh = "xrt_reconnected"
    xero.login()
    assert xero.get("Organisation").status_code == 200


# ---- tenants and headers -----------------------------------------------------------------


def test_connections_list_two_tenants(xero):
    xero.login()
    answer = xero.client.get("/connections", headers={"Authorization": f"Bearer {xero.access}"})
    tenants = answer.json()
    assert [t["tenantType"] for t in tenants] == ["ORGANISATION", "ORGANISATION"]
    assert {t["tenantId"] for t in tenants} == set(xero.tenants)
    assert all(t["tenantName"] and t["id"] and t["createdDateUtc"] for t in tenants)
    names = [xero.json("Organisation", tenant=t)["Organisations"][0]["Name"]
             for t in xero.tenants]
    assert names[0] != names[1]
    assert xero.client.get("/connections").status_code == 401


def test_tenant_header_rules(xero):
    xero.login()
    bare = xero.client.get(f"{API}/Accounts", headers={"Authorization": f"Bearer {xero.access}",
                                                       "Accept": "application/json"})
    assert bare.status_code == 403
    body = bare.json()
    assert (body["Title"], body["Status"], body["Detail"]) == ("Forbidden", 403,
                                                               "AuthenticationUnsuccessful")
    assert body["Instance"] and body["Extensions"] == {} and body["Type"] is None
    assert xero.get("Accounts", tenant="00000000-0000-0000-0000-000000000000"
                    ).status_code == 403
    # Header names are case-insensitive, tenant ids too.
    upper = xero.get("Accounts", tenant=xero.tenants[1].upper())
    assert upper.status_code == 200
    xero.control(disconnect_tenant=xero.tenants[1])
    assert xero.get("Accounts", tenant=xero.tenants[1]).status_code == 403
    assert xero.get("Accounts", tenant=xero.tenants[0]).status_code == 200


def test_bearer_token_rules(xero):
    missing = xero.client.get(f"{API}/Accounts", headers={"xero-tenant-id": xero.tenants[0]})
    assert missing.status_code == 401
    assert missing.json()["Title"] == "Unauthorized"
    xero.login()
    xero.control(expire_access_tokens=True)
    assert xero.get("Accounts").status_code == 401


def test_json_only_by_default_or_served_anyway():
    xero = Xero()
    refused = xero.get("Accounts", headers={"Accept": "application/xml"})
    assert refused.status_code == 406 and "application/json" in refused.text
    assert xero.get("Accounts", headers={"Accept": "*/*"}).status_code == 406
    lenient = Xero(not_json="json")
    assert lenient.get("Accounts", headers={"Accept": "text/xml"}).status_code == 200


# ---- resources, paging, filters ------------------------------------------------------------


def test_envelope_dates_and_exact_numbers(xero):
    answer = xero.get("Invoices", page=1)
    body = loads_exact(answer.content)
    assert body["Status"] == "OK" and body["ProviderName"] and body["Id"]
    assert body["DateTimeUTC"].startswith("/Date(")
    invoice = body["Invoices"][0]
    assert invoice["Date"].startswith("/Date(") and invoice["Date"].endswith("+0000)/")
    assert invoice["DateString"].endswith("T00:00:00")
    assert b'"Total":' in answer.content and b'"Total":"' not in answer.content
    assert str(invoice["Total"]).count(".") == 1 and len(str(invoice["Total"]).split(".")[1]) == 2


def test_page_and_page_size_with_pagination_block():
    xero = Xero(size=150, max_page_size=70)
    first = xero.json("Invoices", page=1, pageSize=40)
    total = first["pagination"]["itemCount"]
    assert first["pagination"] == {"page": 1, "pageSize": 40, "pageCount": -(-total // 40),
                                   "itemCount": total}
    assert len(first["Invoices"]) == 40 and "LineItems" in first["Invoices"][0]
    seen = []
    page = 1
    while True:
        body = xero.json("Invoices", page=page, pageSize=500)  # clamped to 70
        assert body["pagination"]["pageSize"] == 70
        seen += [i["InvoiceID"] for i in body["Invoices"]]
        if page >= body["pagination"]["pageCount"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == total
    assert xero.json("Invoices", page=99)["Invoices"] == []
    # Without `page`: every invoice, but no line items (as Xero lists them).
    summary = xero.json("Invoices")
    assert len(summary["Invoices"]) == total and "pagination" not in summary
    assert "LineItems" not in summary["Invoices"][0]
    one = xero.json(f"Invoices/{seen[0]}")
    assert one["Invoices"][0]["LineItems"]


def test_contacts_hide_archived_unless_asked(xero):
    active = xero.json("Contacts", page=1)["Contacts"]
    everyone = xero.json("Contacts", page=1, includeArchived="true")["Contacts"]
    archived = [c for c in everyone if c["ContactStatus"] == "ARCHIVED"]
    assert archived and len(everyone) == len(active) + len(archived)
    assert all(c["ContactStatus"] == "ACTIVE" for c in active)


def test_statuses_where_order_and_if_modified_since(xero):
    paid = xero.json("Invoices", page=1, Statuses="PAID,VOIDED")["Invoices"]
    assert paid and {i["Status"] for i in paid} <= {"PAID", "VOIDED"}
    where = 'Type=="ACCPAY" AND Status=="AUTHORISED" AND Date>=DateTime(2024,02,01)'
    bills = xero.json("Invoices", page=1, where=where)["Invoices"]
    assert bills and all(b["Type"] == "ACCPAY" and b["Status"] == "AUTHORISED" for b in bills)
    assert all(b["DateString"] >= "2024-02-01" for b in bills)
    contact = paid[0]["Contact"]["ContactID"]
    mine = xero.json("Invoices", page=1, where=f'Contact.ContactID==Guid("{contact}")')
    assert {i["Contact"]["ContactID"] for i in mine["Invoices"]} == {contact}
    ordered = xero.json("Invoices", page=1, order="Total DESC")["Invoices"]
    totals = [i["Total"] for i in ordered]
    assert totals == sorted(totals, reverse=True)
    names = xero.json("Contacts", page=1, where='Name.Contains("ltd") OR IsSupplier==true')
    assert all("ltd" in c["Name"].lower() or c["IsSupplier"] for c in names["Contacts"])
    everything = xero.json("Payments", page=1, pageSize=1000)["Payments"]
    middle = sorted(p["UpdatedDateUTC"] for p in everything)[len(everything) // 2]
    millis = int(middle[6:19])
    stamp = datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    recent = xero.json("Payments", page=1, pageSize=1000,
                       headers={"If-Modified-Since": stamp})["Payments"]
    assert 0 < len(recent) < len(everything)
    assert all(int(p["UpdatedDateUTC"][6:19]) >= millis - 1000 for p in recent)


def test_bad_where_and_bad_parameters_are_refused_in_xeros_shapes(xero):
    bad = xero.get("Invoices", where='Status=="PAID" AND')
    assert bad.status_code == 400
    assert bad.json()["Type"] == "QueryParseException" and bad.json()["ErrorNumber"] == 16
    status = xero.get("Invoices", Statuses="PAID,BOGUS")
    assert status.status_code == 400 and status.json()["Type"] == "ValidationException"
    assert "BOGUS" in status.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    assert xero.get("Invoices", page="two").status_code == 400
    assert xero.get("Reports/TrialBalance", date="31/03/2024").status_code == 400
    assert xero.get("Quotes").status_code == 404


def test_journals_page_by_offset():
    xero = Xero(journals_page_size=50)
    numbers: list[int] = []
    offset = 0
    while True:
        journals = xero.json("Journals", offset=offset)["Journals"]
        if not journals:
            break
        assert len(journals) <= 50
        numbers += [j["JournalNumber"] for j in journals]
        offset = journals[-1]["JournalNumber"]
    org = xero.sandbox.organisations[0]
    assert numbers == list(range(1, len(org.journals) + 1))


def test_validation_errors_in_xeros_shape_and_a_created_invoice(xero):
    org = xero.sandbox.organisations[0]
    contact = org.contacts[0]
    xero.login()
    headers = {"Authorization": f"Bearer {xero.access}", "xero-tenant-id": org.tenant_id,
               "Accept": "application/json"}
    bad = xero.client.put(f"{API}/Invoices", headers=headers, json={"Invoices": [
        {"Type": "ACCREC", "Contact": {"ContactID": contact.id},
         "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10,
                        "AccountCode": "494"}]},
        {"Type": "ACCREC", "LineItems": []}]})
    assert bad.status_code == 400
    body = bad.json()
    assert (body["ErrorNumber"], body["Type"], body["Message"]) == (
        10, "ValidationException", "A validation exception occurred")
    first, second = body["Elements"]
    assert first["ValidationErrors"] == [{"Message": "Account code '494' has been archived, or "
                                          "has been deleted. Each line item must reference a "
                                          "valid account."}]
    assert {e["Message"] for e in second["ValidationErrors"]} == {
        "A Contact must be specified for this type of transaction",
        "An invoice must have at least one line item"}
    journals = len(org.journals)
    good = xero.client.put(f"{API}/Invoices", headers=headers, json={
        "Type": "ACCREC", "Status": "AUTHORISED", "Contact": {"ContactID": contact.id},
        "Date": "2024-03-01", "LineItems": [{"Description": "Widget", "Quantity": 3,
                                             "UnitAmount": 10.55, "AccountCode": "200"}]})
    assert good.status_code == 200, good.text
    created = loads_exact(good.content)["Invoices"][0]
    assert (created["Status"], str(created["SubTotal"]), str(created["TotalTax"]),
            str(created["Total"])) == ("AUTHORISED", "31.65", "4.75", "36.40")
    assert len(org.journals) == journals + 1 and org.journals[-1].source_id == \
        created["InvoiceID"]


# ---- rate limits ---------------------------------------------------------------------------


def test_minute_limit_headers_and_429():
    xero = Xero(minute_limit=3)
    remaining = [xero.get("Accounts").headers["X-MinLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = xero.get("Accounts")
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert refused.headers["Retry-After"] == "60"
    assert xero.get("Accounts", tenant=xero.tenants[1]).status_code == 200  # per tenant
    xero.clock.now += 60
    ok = xero.get("Accounts")
    assert ok.status_code == 200 and ok.headers["X-DayLimit-Remaining"] == "4996"
    assert xero.sandbox.stats.rate_limited["minute"] == 1


def test_day_limit_and_app_limit():
    xero = Xero(day_limit=4, app_minute_limit=6)
    for _ in range(4):
        assert xero.get("Accounts").status_code == 200
    day = xero.get("Accounts")
    assert (day.status_code, day.headers["X-Rate-Limit-Problem"]) == (429, "day")
    assert 86_000 < int(day.headers["Retry-After"]) <= 86_400
    assert day.headers["X-DayLimit-Remaining"] == "0"
    assert xero.get("Accounts", tenant=xero.tenants[1]).status_code == 200
    app = xero.get("Accounts", tenant=xero.tenants[1])
    assert app.status_code == 200 and app.headers["X-AppMinLimit-Remaining"] == "0"
    refused = xero.get("Accounts", tenant=xero.tenants[1])
    assert refused.headers["X-Rate-Limit-Problem"] == "appminute"


def test_concurrent_limit_with_parallel_slow_calls():
    xero = Xero(concurrent_limit=2)
    xero.login()
    xero.control(faults={"slow": {"count": 3, "delay_ms": 400}})
    statuses: list[tuple[int, str | None]] = []

    def call() -> None:
        answer = xero.get("Organisation")
        statuses.append((answer.status_code, answer.headers.get("X-Rate-Limit-Problem")))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(statuses, key=str) == sorted([(200, None), (200, None),
                                                (429, "concurrent")], key=str)


def test_forced_faults_and_throttling_off(xero):
    xero.control(faults={"http_429": {"count": 1, "problem": "day", "retry_after": 7200},
                         "http_5xx": {"count": 1, "status": 503}})
    assert xero.get("Accounts").status_code == 503
    refused = xero.get("Accounts")
    assert (refused.status_code, refused.headers["X-Rate-Limit-Problem"],
            refused.headers["Retry-After"]) == (429, "day", "7200")
    assert xero.get("Accounts").status_code == 200
    xero.control(throttling=False, limits={"minute_limit": 1})
    assert all(xero.get("Accounts").status_code == 200 for _ in range(3))
    assert "X-MinLimit-Remaining" not in xero.get("Accounts").headers


def test_routes_do_not_collide_with_the_other_sandboxes():
    from sandbox.server import create_sandbox_app

    combined = create_sandbox_app(size=10)  # Xero's routes among every other platform's
    xero = Xero()
    ours = {r.path for r in xero.sandbox.routes()}
    routes = [(r.path, m) for r in combined.routes for m in sorted(r.methods or ())]
    assert len(routes) == len(set(routes))  # no platform's route shadows another's
    assert all(p.startswith(("/connect/", "/connections", "/api.xro/", "/__sandbox/xero/"))
               for p in ours)
    client = TestClient(combined)
    assert client.get("/__sandbox/health").status_code == 200
    assert client.get("/__sandbox/xero/control").json()["tenants"]
    assert client.get(f"{API}/Accounts").status_code == 401  # ours, asking for a token
