"""The PayPal sandbox over HTTP (in-process): OAuth, Transaction Search with PayPal's rules
(31-day range, result cap, 3-hour lag, paging, +0000 times), balances, faults, and the
consistency of the generated history."""

from __future__ import annotations

import re
import warnings
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bigledger.money import loads_exact, to_minor
from sandbox.paypal import PayPalSandboxConfig, create_app
from sandbox.paypal.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from sandbox.paypal.data import TransactionDataset, stamp

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "/v1/oauth2/token"
SEARCH = "/v1/reporting/transactions"
BALANCES = "/v1/reporting/balances"
CONTROL = "/__sandbox/paypal/control"
START = datetime(2024, 1, 1, tzinfo=UTC)
LATER = datetime(2024, 9, 1, tzinfo=UTC)  # long after every generated movement
PAYPAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0000$")


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Account:
    """A sandbox account with a client holding a token."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("now", LATER)
        self.app = create_app(PayPalSandboxConfig(**config))
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app, base_url="https://api-m.sandbox.paypal.com")
        self.token = self.grant().json()["access_token"]

    def grant(self, client_id: str = DEFAULT_CLIENT_ID, secret: str = DEFAULT_CLIENT_SECRET,
              body: str = "grant_type=client_credentials"):  # fmt: skip
        return self.client.post(TOKEN, content=body, auth=(client_id, secret),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})

    def get(self, path: str, token: str | None = None, **params: Any):
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self.client.get(path, params=params, headers=headers)

    def search(self, start: datetime, end: datetime, **params: Any):
        return self.get(SEARCH, start_date=z(start), end_date=z(end), **params)

    def control(self, **spec: Any) -> dict[str, Any]:
        response = self.client.post(CONTROL, json=spec)
        assert response.status_code == 200, response.text
        return response.json()

    def everything(self, **params: Any) -> list[dict[str, Any]]:
        """Every record of the history, window by window and page by page."""
        out: list[dict[str, Any]] = []
        lo = START
        while lo < LATER:
            hi = min(lo + timedelta(days=31), LATER)
            page = 1
            while True:
                response = self.search(lo, hi - timedelta(seconds=1), page_size=500, page=page,
                                       **params)  # fmt: skip
                assert response.status_code == 200, response.text
                body = loads_exact(response.content)
                out.extend(body["transaction_details"])
                if page >= body["total_pages"]:
                    break
                page += 1
            lo = hi
        return out


@pytest.fixture(scope="module")
def account() -> Account:
    return Account(size=240, seed=4, days=60, currencies=("USD", "JPY", "KWD"))


def test_token_grant_and_its_use(account):
    response = account.grant()
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 32400
    assert set(body) == {"scope", "access_token", "token_type", "app_id", "expires_in", "nonce"}
    assert "https://uri.paypal.com/services/reporting/search/read" in body["scope"].split()
    assert account.get(BALANCES, token=body["access_token"]).status_code == 200


@pytest.mark.parametrize(("client_id", "secret"), [(DEFAULT_CLIENT_ID, "wrong-secret"),
                                                   ("someone-else", DEFAULT_CLIENT_SECRET)])
def test_bad_client_gets_invalid_client(account, client_id, secret):
    response = account.grant(client_id, secret)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client",
                               "error_description": "Client Authentication failed"}


def test_token_request_without_grant_type(account):
    response = account.grant(body="")
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_missing_unknown_and_expired_tokens_get_authentication_failure():
    acct = Account(size=10, expires_in=60, now=LATER)
    no_header = acct.client.get(BALANCES)
    assert no_header.status_code == 401
    body = no_header.json()
    assert body["name"] == "AUTHENTICATION_FAILURE"
    assert body["message"].startswith("Authentication failed due to missing authorization")
    assert body["debug_id"] and no_header.headers["Paypal-Debug-Id"] == body["debug_id"]
    assert acct.get(BALANCES, token="A21AAnot-a-token").status_code == 401
    assert acct.get(BALANCES).status_code == 200
    # The clock passes the token's lifetime.
    acct.control(now=z(LATER + timedelta(seconds=61)))
    assert acct.get(BALANCES).status_code == 401
    fresh = acct.grant().json()["access_token"]
    assert acct.get(BALANCES, token=fresh).status_code == 200
    # Expire every token now.
    acct.control(expire_tokens=True)
    assert acct.get(BALANCES, token=fresh).json()["name"] == "AUTHENTICATION_FAILURE"


def test_token_without_the_search_scope_is_not_authorized():
    acct = Account(size=10, scopes=("https://uri.paypal.com/services/reporting/balances/read",))
    response = acct.search(START, START + timedelta(days=1))
    assert response.status_code == 403 and response.json()["name"] == "NOT_AUTHORIZED"


def test_range_of_at_most_31_days(account):
    ok = account.search(START, START + timedelta(days=31))
    assert ok.status_code == 200
    too_long = account.search(START, START + timedelta(days=31, seconds=1))
    assert too_long.status_code == 400
    body = too_long.json()
    assert body["name"] == "INVALID_REQUEST"
    assert body["message"] == ("Request is not well-formed, syntactically incorrect, or violates "
                               "schema.")  # fmt: skip
    (detail,) = body["details"]
    assert detail["field"] == "end_date" and detail["location"] == "query"
    assert "31 days" in detail["description"]


@pytest.mark.parametrize(("params", "field"), [
    ({"end_date": "2024-01-02T00:00:00Z"}, "start_date"),
    ({"start_date": "2024-01-01T00:00:00Z"}, "end_date"),
    ({"start_date": "2024-01-01T00:00Z", "end_date": "2024-01-02T00:00:00Z"}, "start_date"),
    ({"start_date": "2024-01-01", "end_date": "2024-01-02T00:00:00Z"}, "start_date"),
    ({"start_date": "2024-01-02T00:00:00Z", "end_date": "2024-01-01T00:00:00Z"}, "end_date"),
])  # fmt: skip
def test_dates_are_required_rfc3339_with_seconds(account, params, field):
    response = account.get(SEARCH, **params)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == field


@pytest.mark.parametrize(("params", "field"), [
    ({"page_size": 501}, "page_size"), ({"page_size": 0}, "page_size"), ({"page": 0}, "page"),
    ({"fields": "everything"}, "fields"), ({"balance_affecting_records_only": "maybe"},
                                           "balance_affecting_records_only"),
    ({"transaction_id": "short"}, "transaction_id"), ({"transaction_type": "6"},
                                                      "transaction_type"),
])  # fmt: skip
def test_bad_parameters(account, params, field):
    response = account.search(START, START + timedelta(days=2), **params)
    assert response.status_code == 400 and response.json()["details"][0]["field"] == field


def test_history_is_limited_to_three_years(account):
    response = account.search(LATER - timedelta(days=3 * 365 + 1),
                              LATER - timedelta(days=3 * 365 - 1))  # fmt: skip
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "start_date"


def test_result_set_too_large_with_a_small_cap():
    acct = Account(size=300, days=30, max_result_items=50)
    whole = acct.search(START, START + timedelta(days=30))
    assert whole.status_code == 400
    body = whole.json()
    assert body["name"] == "RESULTSET_TOO_LARGE" and body["maximum_items"] == 50
    # A day holds about ten: under the cap.
    day = acct.search(START, START + timedelta(days=1) - timedelta(seconds=1))
    assert day.status_code == 200 and 0 < day.json()["total_items"] <= 50
    # The cap counts what the filters leave.
    refunds = acct.search(START, START + timedelta(days=30), transaction_type="T1107")
    assert refunds.status_code == 200


def test_three_hour_publication_lag_with_a_fixed_now():
    data = TransactionDataset(PayPalSandboxConfig(size=200, days=30))
    data.ensure()
    payment = data.events[100]
    now = datetime.fromtimestamp(payment.ts, tz=UTC) + timedelta(hours=2)
    acct = Account(size=200, days=30, now=now)
    lo = now - timedelta(days=2)
    response = acct.search(lo, now + timedelta(days=1))
    assert response.status_code == 200
    body = response.json()
    refreshed = now - timedelta(hours=3)
    assert body["last_refreshed_datetime"] == stamp(int(refreshed.timestamp()))
    assert body["end_date"] == body["last_refreshed_datetime"]
    times = [datetime.fromisoformat(d["transaction_info"]["transaction_initiation_date"])
             for d in body["transaction_details"]]  # fmt: skip
    assert times and max(times) <= refreshed
    assert payment.id not in {d["transaction_info"]["transaction_id"]
                              for d in body["transaction_details"]}  # fmt: skip
    # Nothing is published after the refresh point yet.
    early = acct.search(refreshed + timedelta(seconds=1), now)
    assert early.status_code == 400
    assert early.json()["message"] == "Data for the given start date is not available."
    # Three hours later the payment is there.
    acct.control(now=z(now + timedelta(hours=3)))
    later = acct.search(lo, now + timedelta(days=1)).json()
    assert payment.id in {d["transaction_info"]["transaction_id"]
                          for d in later["transaction_details"]}  # fmt: skip


def test_paging_walks_every_record_once(account):
    lo, hi = START, START + timedelta(days=20)
    first = account.search(lo, hi, page_size=7).json()
    total, pages = first["total_items"], first["total_pages"]
    assert total > 14 and pages == -(-total // 7) and first["page"] == 1
    rels = {link["rel"]: link["href"] for link in first["links"]}
    assert {"self", "next", "last"} <= set(rels) and "page=2" in rels["next"]
    seen = []
    for page in range(1, pages + 1):
        body = account.search(lo, hi, page_size=7, page=page).json()
        seen += [d["transaction_info"]["transaction_id"] for d in body["transaction_details"]]
    assert len(seen) == len(set(seen)) == total
    expected = [t.id for t in account.sandbox.data.affecting
                if lo.timestamp() <= t.ts <= hi.timestamp()]  # fmt: skip
    assert seen == expected
    beyond = account.search(lo, hi, page_size=7, page=pages + 1).json()
    assert beyond["transaction_details"] == [] and beyond["total_items"] == total


def test_times_money_and_ids_look_like_paypal(account):
    body = loads_exact(account.search(START, START + timedelta(days=31), page_size=500).content)
    assert PAYPAL_TIME.match(body["last_refreshed_datetime"])
    assert PAYPAL_TIME.match(body["start_date"]) and PAYPAL_TIME.match(body["end_date"])
    decimals = {"USD": 2, "JPY": 0, "KWD": 3}
    for detail in body["transaction_details"]:
        info = detail["transaction_info"]
        assert set(detail) == {"transaction_info"}
        assert PAYPAL_TIME.match(info["transaction_initiation_date"])
        assert PAYPAL_TIME.match(info["transaction_updated_date"])
        assert re.fullmatch(r"[0-9A-Z]{17}", info["transaction_id"])
        for key in ("transaction_amount", "fee_amount", "ending_balance"):
            money = info.get(key)
            if money is None:
                continue
            value = money["value"]
            assert isinstance(value, str)
            places = decimals[money["currency_code"]]
            assert re.fullmatch(r"-?\d+" + (rf"\.\d{{{places}}}" if places else ""), value)
        if info["transaction_event_code"] in ("T0006", "T0007", "T0002"):
            assert info["invoice_id"].startswith("INV-")
            assert info["fee_amount"]["value"].startswith("-")


def test_fields_all_and_filters(account):
    lo, hi = START, START + timedelta(days=31)
    full = account.search(lo, hi, fields="all", page_size=5).json()["transaction_details"]
    assert set(full[0]) == {"transaction_info", "payer_info", "shipping_info", "cart_info",
                            "store_info", "auction_info", "incentive_info"}  # fmt: skip
    payments = [d for d in full if d["transaction_info"]["transaction_event_code"] == "T0006"]
    if payments:
        assert payments[0]["payer_info"]["email_address"].endswith("@example.com")
        item = payments[0]["cart_info"]["item_details"][0]
        assert item["item_amount"] == payments[0]["transaction_info"]["transaction_amount"]
    refunds = account.search(lo, hi, transaction_type="T1107").json()
    assert refunds["total_items"] > 0
    assert {d["transaction_info"]["transaction_event_code"]
            for d in refunds["transaction_details"]} == {"T1107"}  # fmt: skip
    # Any filter blanks ending_balance, as PayPal documents.
    assert all("ending_balance" not in d["transaction_info"]
               for d in refunds["transaction_details"])  # fmt: skip
    one = refunds["transaction_details"][0]["transaction_info"]
    by_id = account.search(lo, hi, transaction_id=one["transaction_id"]).json()
    assert [d["transaction_info"]["transaction_id"] for d in by_id["transaction_details"]] == [
        one["transaction_id"]]  # fmt: skip
    usd = account.search(lo, hi, transaction_currency="USD", page_size=500).json()
    assert {d["transaction_info"]["transaction_amount"]["currency_code"]
            for d in usd["transaction_details"]} == {"USD"}  # fmt: skip


def test_pending_and_denied_only_without_balance_affecting_filter(account):
    lo, hi = START, START + timedelta(days=31)
    default = account.search(lo, hi, page_size=500).json()
    everything = account.search(lo, hi, page_size=500, balance_affecting_records_only="N").json()
    statuses = Counter(d["transaction_info"]["transaction_status"]
                       for d in everything["transaction_details"])  # fmt: skip
    assert statuses["P"] + statuses["D"] > 0
    assert everything["total_items"] == default["total_items"] + statuses["P"] + statuses["D"]
    assert {d["transaction_info"]["transaction_status"]
            for d in default["transaction_details"]} <= {"S", "V"}  # fmt: skip


def test_history_is_consistent(account):
    records = account.everything()
    ids = [d["transaction_info"]["transaction_id"] for d in records]
    assert len(ids) == len(set(ids)) == len(account.sandbox.data.affecting)
    by_id = {d["transaction_info"]["transaction_id"]: d["transaction_info"] for d in records}
    running: dict[str, int] = defaultdict(int)
    codes = Counter()
    for detail in records:
        info = detail["transaction_info"]
        currency = info["transaction_amount"]["currency_code"]
        amount = to_minor(info["transaction_amount"]["value"], currency)
        fee = to_minor(info["fee_amount"]["value"], currency) if "fee_amount" in info else 0
        running[currency] += amount + fee
        assert to_minor(info["ending_balance"]["value"], currency) == running[currency]
        assert info["available_balance"] == info["ending_balance"]
        code = info["transaction_event_code"]
        codes[code] += 1
        if code in ("T1107", "T1110", "T1111", "T1201", "T0106"):
            payment = by_id[info["paypal_reference_id"]]
            assert payment["transaction_event_code"] in ("T0006", "T0007", "T0002")
            assert info["paypal_reference_id_type"] == "TXN"
        if code == "T1107":
            assert amount < 0 and fee >= 0  # part of the fee may come back, never more
            original = by_id[info["paypal_reference_id"]]
            gross = to_minor(original["transaction_amount"]["value"], currency)
            assert -amount <= gross
            assert fee <= -to_minor(original["fee_amount"]["value"], currency)
            if -amount == gross:
                assert original["transaction_status"] == "V"
        if code == "T1201":
            assert by_id[info["paypal_reference_id"]]["transaction_status"] == "V"
        if code in ("T0006", "T0007", "T0002"):
            assert amount > 0 and fee < 0
        if code == "T0400":
            assert amount < 0
    # Every currency's balance ends at zero: the sum of amount + fee is 0 per currency.
    assert dict(running) == {"USD": 0, "JPY": 0, "KWD": 0}
    assert codes["T1110"] == codes["T1111"] and codes["T1201"] == codes["T0106"] > 0
    assert codes["T1107"] > 0 and codes["T0400"] > 0
    balances = account.get(BALANCES).json()
    assert {b["currency"]: b["total_balance"]["value"] for b in balances["balances"]} == {
        "USD": "0.00", "JPY": "0", "KWD": "0.000"}  # fmt: skip


def test_balances_as_of_a_time_include_open_holds(account):
    data = account.sandbox.data
    hold = next(t for t in data.events if t.code == "T1110")
    at = datetime.fromtimestamp(hold.ts, tz=UTC)
    body = account.get(BALANCES, as_of_time=z(at), currency_code=hold.currency).json()
    (balance,) = body["balances"]
    money = data.currencies[hold.currency]
    available, withheld = data.balance_at(hold.currency, hold.ts)
    assert withheld >= -hold.amount > 0
    assert balance["available_balance"]["value"] == money.fmt(available)
    assert balance["withheld_balance"]["value"] == money.fmt(withheld)
    assert balance["total_balance"]["value"] == money.fmt(available + withheld)
    assert body["as_of_time"] == stamp(hold.ts)


def test_rate_limit_and_server_error_faults():
    acct = Account(size=20)
    acct.control(faults={"http_429": {"count": 2, "retry_after": 3}})
    for _ in range(2):
        throttled = acct.get(BALANCES)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
        assert throttled.json()["name"] == "RATE_LIMIT_REACHED"
    assert acct.get(BALANCES).status_code == 200
    acct.control(faults={"http_5xx": {"count": 1}})
    failed = acct.get(BALANCES)
    assert failed.status_code == 500 and failed.json()["name"] == "INTERNAL_SERVER_ERROR"
    assert acct.get(BALANCES).status_code == 200
    stats = acct.client.get("/__sandbox/paypal/stats").json()
    assert stats["faults_served"] == {"http_429": 2, "http_5xx": 1, "slow": 0}
    assert stats["dataset"]["final_balances"] == {"USD": "0.00"}


def test_same_seed_same_history_and_a_new_seed_another():
    def records(seed: int) -> list[dict]:
        data = TransactionDataset(PayPalSandboxConfig(seed=seed, size=50, days=10))
        data.ensure()
        return [data.render(t, ("transaction_info", "payer_info"), 2**40, True)
                for t in data.events]  # fmt: skip

    assert records(8) == records(8)
    assert records(8) != records(9)


def test_control_changes_the_dataset_and_keeps_money_exact():
    acct = Account(size=20)
    state = acct.control(dataset={"size": 30, "currencies": ["JPY"], "seed": 5})
    assert state["dataset"]["size"] == 30 and state["dataset"]["currencies"] == ["JPY"]
    records = acct.everything()
    assert {d["transaction_info"]["transaction_amount"]["currency_code"] for d in records} == {
        "JPY"}  # fmt: skip
    assert all(Decimal(d["transaction_info"]["transaction_amount"]["value"]) % 1 == 0
               for d in records)  # fmt: skip
    bad = acct.client.post(CONTROL, json={"dataset": {"size": -1}})
    assert bad.status_code == 422


def test_routes_stay_out_of_stripes_way():
    paths = [route.path for route in create_app().routes]
    stripe = ("/v1/account", "/v1/balance", "/v1/balance_transactions", "/v1/charges",
              "/v1/refunds", "/v1/disputes", "/v1/payouts")  # fmt: skip
    assert not set(paths) & set(stripe)
    assert all(p.startswith(("/v1/oauth2/", "/v1/reporting/", "/__sandbox/paypal/"))
               for p in paths)  # fmt: skip
