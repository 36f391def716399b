"""The Stripe sandbox over HTTP (in-process): keys, list rules, filters, expand, rate
limits, faults, payout listings, test-mode writes, and its place beside other sandboxes."""

from __future__ import annotations

import base64
import warnings

import pytest
from starlette.applications import Starlette

from bigledger.money import loads_exact
from sandbox.stripe import StripeSandbox, StripeSandboxConfig, create_app
from sandbox.stripe.app import parse_params
from sandbox.stripe.config import DEFAULT_LIVE_KEY, DEFAULT_SECRET_KEY
from sandbox.woocommerce import WooCommerceSandbox
from tests.connectors.fakes import FakeTime

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TXNS = "/v1/balance_transactions"
CONTROL = "/__sandbox/stripe/control"
AUTH = {"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"}


class Account:
    """A sandbox app, its state, a client with the test key, and the fake clock it paces by."""

    def __init__(self, **config) -> None:
        self.time = FakeTime()
        config.setdefault("monotonic", self.time.clock)
        self.app = create_app(StripeSandboxConfig(**config))
        self.sandbox: StripeSandbox = self.app.state.sandbox
        self.client = TestClient(self.app)
        self.client.headers.update(AUTH)

    def get(self, path: str, **params):
        return self.client.get(path, params=params)

    def walk(self, path: str = TXNS, **params) -> list[dict]:
        """Every object of a list, page by page with starting_after."""
        out, after = [], None
        while True:
            query = {**params, **({"starting_after": after} if after else {})}
            body = self.get(path, **query).json()
            out.extend(body["data"])
            if not body["has_more"]:
                return out
            after = body["data"][-1]["id"]


@pytest.fixture
def account() -> Account:
    return Account(seed=21, size=120, currencies=("usd", "jpy"), rate_limiting=False)


def newest_first(objects):
    return [o.id for o in sorted(objects, key=lambda o: (o.created, o.seq), reverse=True)]


def test_keys_bearer_basic_live_and_refusals(account):
    client = account.client
    ok = client.get(TXNS)
    assert ok.status_code == 200 and ok.headers["Request-Id"].startswith("req_")
    assert ok.headers["Stripe-Version"] == "2024-06-20"
    assert client.get(TXNS, headers={"Stripe-Version": "2025-01-27.acacia"}).headers[
        "Stripe-Version"] == "2025-01-27.acacia"  # fmt: skip
    basic = base64.b64encode(f"{DEFAULT_SECRET_KEY}:".encode()).decode()
    assert client.get(TXNS, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    live = client.get(TXNS, headers={"Authorization": f"Bearer {DEFAULT_LIVE_KEY}"})
    assert live.status_code == 200

    missing = client.get(TXNS, headers={"Authorization": ""})
    assert missing.status_code == 401 and missing.headers["Request-Id"]
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in missing.json()["error"]["message"]
    wrong = client.get(TXNS, headers={"Authorization": "Bearer sk_test_wrongwrongwrong1234"})
    assert wrong.status_code == 401
    message = wrong.json()["error"]["message"]
    assert message.startswith("Invalid API Key provided: sk_test_") and message.endswith("1234")
    assert "wrongwrong" not in message
    publishable = client.get(TXNS, headers={"Authorization": "Bearer pk_test_abc123456"})
    assert publishable.status_code == 401 and "publishable" in publishable.json()["error"][
        "message"]  # fmt: skip
    assert account.sandbox.stats.unauthorized == 3


def test_list_envelope_and_pages_with_starting_after_and_ending_before(account):
    data = account.sandbox.data
    expected = newest_first(data.txns.items)
    first = account.get(TXNS).json()
    assert set(first) == {"object", "data", "has_more", "url"}
    assert (first["object"], first["url"], first["has_more"]) == ("list", TXNS, True)
    assert [t["id"] for t in first["data"]] == expected[:10]  # default limit 10, newest first
    walked = account.walk(limit=7)
    assert [t["id"] for t in walked] == expected
    # ending_before: the page just newer than the cursor, still newest first.
    back = account.get(TXNS, limit=5, ending_before=expected[12]).json()
    assert [t["id"] for t in back["data"]] == expected[7:12] and back["has_more"] is True
    top = account.get(TXNS, limit=5, ending_before=expected[3]).json()
    assert [t["id"] for t in top["data"]] == expected[:3] and top["has_more"] is False
    last = account.get(TXNS, limit=100, starting_after=expected[-2]).json()
    assert [t["id"] for t in last["data"]] == expected[-1:] and last["has_more"] is False


def test_created_filters_are_unix_seconds_with_bracket_operators(account):
    txns = account.sandbox.data.txns.items
    times = sorted({t.created for t in txns})
    low, high = times[10], times[-10]

    def ids(**params):
        return {t["id"] for t in account.walk(limit=100, **params)}

    assert ids(**{"created[gte]": low, "created[lte]": high}) == {
        t.id for t in txns if low <= t.created <= high}  # fmt: skip
    assert ids(**{"created[gt]": low, "created[lt]": high}) == {
        t.id for t in txns if low < t.created < high}  # fmt: skip
    assert ids(created=low) == {t.id for t in txns if t.created == low}
    assert ids(**{"created[gte]": times[-1] + 1}) == set()
    bad = account.get(TXNS, **{"created[gte]": "yesterday"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "created[gte]"
    assert bad.json()["error"]["code"] == "parameter_invalid_integer"


def test_type_currency_and_source_filters(account):
    data = account.sandbox.data
    charges = account.walk(limit=100, type="charge")
    assert {t["type"] for t in charges} == {"charge"}
    assert len(charges) == len(data.charges)
    yen = account.walk(limit=100, currency="jpy")
    assert yen and {t["currency"] for t in yen} == {"jpy"}
    disputed = next(c for c in data.charges.items if c.dispute)
    dispute = data.by_id[disputed.dispute]
    by_source = account.walk(source=dispute.id)
    assert sorted(t["id"] for t in by_source) == sorted(dispute.txns)
    assert account.get(TXNS, type="nonsense").status_code == 400


def test_expand_data_source_and_single_objects(account):
    body = account.get(TXNS, limit=100, **{"expand[]": "data.source"}).json()
    prefixes = {"charge": "ch_", "refund": "re_", "payout": "po_", "adjustment": "dp_"}
    for txn in body["data"]:
        source = txn["source"]
        if txn["type"] == "stripe_fee":
            assert source is None
            continue
        assert isinstance(source, dict) and source["id"].startswith(prefixes[txn["type"]])
        assert source["object"] in {"charge", "refund", "payout", "dispute"}
    plain = account.get(TXNS, limit=3).json()["data"]
    assert all(isinstance(t["source"], str) for t in plain if t["source"])
    charge = account.sandbox.data.charges.items[0]
    one = account.get(f"/v1/charges/{charge.id}", **{"expand[]": "balance_transaction"}).json()
    assert one["balance_transaction"]["id"] == charge.txn
    assert one["balance_transaction"]["source"] == charge.id
    # Indexed bracket form and two levels deep.
    two = account.get(f"{TXNS}/{charge.txn}", **{"expand[0]": "source.balance_transaction"})
    assert two.json()["source"]["balance_transaction"]["id"] == charge.txn
    bad = account.get(TXNS, **{"expand[]": "data.nothing"})
    assert bad.status_code == 400 and "cannot be expanded" in bad.json()["error"]["message"]
    too_deep = account.get(TXNS, **{"expand[]": "data.source.a.b.c"})
    assert too_deep.status_code == 400


def test_payout_listing_carries_exactly_what_the_payout_swept(account):
    data = account.sandbox.data
    assert data.payouts.items
    for payout in data.payouts.items[:6]:
        listed = account.walk(payout=payout.id, limit=3)
        assert {t["id"] for t in listed} == set(payout.members)
        own = [t for t in listed if t["type"] == "payout"]
        assert len(own) == 1 and own[0]["amount"] == -payout.amount
        assert sum(t["net"] for t in listed) == 0
    missing = account.get(TXNS, payout="po_missing")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "resource_missing"


def test_every_currency_nets_to_zero_over_http():
    account = Account(seed=2, size=200, currencies=("usd", "jpy", "kwd"), rate_limiting=False)
    totals: dict[str, int] = {}
    for txn in account.walk(limit=100):
        assert txn["net"] == txn["amount"] - txn["fee"]
        totals[txn["currency"]] = totals.get(txn["currency"], 0) + txn["net"]
    assert totals == {"usd": 0, "jpy": 0, "kwd": 0}
    balance = account.get("/v1/balance").json()
    assert {b["currency"]: b["amount"] for b in balance["available"]} == {
        "usd": 0, "jpy": 0, "kwd": 0}  # fmt: skip


def test_rate_limit_is_a_token_bucket_per_key_mode_and_recovers():
    account = Account(seed=1, size=20, test_rate=25.0, live_rate=100.0)
    statuses = [account.get(TXNS, limit=1).status_code for _ in range(26)]
    assert statuses[:25] == [200] * 25 and statuses[25] == 429
    refused = account.get(TXNS)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limit" and "rate limit" in error["message"].lower()
    assert refused.headers["Request-Id"]
    # Live keys have their own, larger bucket.
    live = {"Authorization": f"Bearer {DEFAULT_LIVE_KEY}"}
    assert [account.client.get(TXNS, headers=live).status_code for _ in range(100)] == [200] * 100
    account.time.sleep(0.2)  # five tokens back at 25/s
    assert [account.get(TXNS).status_code for _ in range(6)] == [200] * 5 + [429]
    account.time.sleep(1.0)
    assert account.get(TXNS).status_code == 200
    assert account.sandbox.stats.rate_limited == 3


def test_faults_429_storm_5xx_invalid_key_and_malformed(account):
    client = account.client
    assert client.post(CONTROL, json={"faults": {"throttle_storm": 2}}).status_code == 200
    assert [account.get(TXNS).status_code for _ in range(3)] == [429, 429, 200]
    client.post(CONTROL, json={"faults": {"http_5xx": {"count": 1, "status": 500}}})
    failed = account.get(TXNS)
    assert failed.status_code == 500 and failed.headers["Stripe-Should-Retry"] == "true"
    assert failed.json()["error"]["type"] == "api_error"
    client.post(CONTROL, json={"faults": {"http_5xx": 1}, "should_retry_5xx": False})
    assert account.get(TXNS).headers["Stripe-Should-Retry"] == "false"
    client.post(CONTROL, json={"faults": {"token_revoked": True}})
    revoked = account.get(TXNS)
    assert revoked.status_code == 401 and "Invalid API Key" in revoked.json()["error"]["message"]
    client.post(CONTROL, json={"clear_faults": True, "faults": {"malformed": 1}})
    mangled = account.get(TXNS)
    assert mangled.status_code == 200
    with pytest.raises(ValueError):
        loads_exact(mangled.content)
    assert account.get(TXNS).status_code == 200
    stats = client.get("/__sandbox/stripe/stats").json()
    assert stats["faults_served"]["http_429"] == 2 and stats["faults_served"]["http_5xx"] == 2


def test_parameter_errors_like_stripe(account):
    def error(**params):
        response = account.get(TXNS, **params)
        assert response.status_code == 400, response.text
        return response.json()["error"]

    assert error(limit=0)["param"] == "limit"
    assert error(limit=101)["message"] == "This value must be less than or equal to 100."
    assert error(limit="ten")["message"] == "Invalid integer: ten"
    assert error(color="red")["message"] == "Received unknown parameter: color"
    both = error(starting_after="txn_a", ending_before="txn_b")
    assert "only specify one" in both["message"]
    assert error(starting_after="txn_nope")["code"] == "resource_missing"
    missing = account.get(f"{TXNS}/txn_nope")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "message": "No such balance transaction: 'txn_nope'", "type": "invalid_request_error",
        "code": "resource_missing", "param": "id",
        "doc_url": "https://stripe.com/docs/error-codes/resource-missing"}  # fmt: skip


def test_charges_refunds_disputes_payouts_lists_and_objects(account):
    data = account.sandbox.data
    for path, objects in (("/v1/charges", data.charges), ("/v1/refunds", data.refunds),
                          ("/v1/disputes", data.disputes), ("/v1/payouts", data.payouts)):
        listed = account.walk(path, limit=40)
        assert [o["id"] for o in listed] == newest_first(objects.items), path
        one = account.get(f"{path}/{listed[0]['id']}").json()
        assert one == listed[0]
    refund = data.refunds.items[0]
    charge = account.get(f"/v1/charges/{refund.charge}").json()
    assert refund.id in {r["id"] for r in charge["refunds"]["data"]}
    assert charge["amount_refunded"] == sum(r["amount"] for r in charge["refunds"]["data"])
    assert [r["id"] for r in account.walk("/v1/refunds", charge=refund.charge)] == [
        r["id"] for r in charge["refunds"]["data"]]  # fmt: skip
    dispute = account.get(f"/v1/disputes/{data.disputes.items[0].id}").json()
    assert dispute["balance_transactions"][0]["reporting_category"] == "dispute"
    paid = account.walk("/v1/payouts", status="paid", limit=100)
    assert len(paid) == len(data.payouts)
    account_info = account.get("/v1/account").json()
    assert (account_info["object"], account_info["default_currency"]) == ("account", "usd")
    assert account.get("/v1/charges/txn_wrongkind").status_code == 404


def test_test_mode_writes_with_idempotency_keys(account):
    client = account.client
    key = {"Idempotency-Key": "order-1001-charge"}
    form = {"amount": "2500", "currency": "usd", "source": "tok_visa",
            "metadata[order_id]": "1001"}  # fmt: skip
    made = client.post("/v1/charges", data=form, headers=key)
    assert made.status_code == 200
    charge = made.json()
    assert (charge["amount"], charge["metadata"], charge["status"]) == (
        2500, {"order_id": "1001"}, "succeeded")  # fmt: skip
    again = client.post("/v1/charges", data=form, headers=key)
    assert again.json() == charge and again.headers["Idempotent-Replayed"] == "true"
    changed = client.post("/v1/charges", data={**form, "amount": "2600"}, headers=key)
    assert changed.status_code == 400 and changed.json()["error"]["type"] == "idempotency_error"
    assert account.get(f"{TXNS}/{charge['balance_transaction']}").json()["status"] == "pending"

    refund = client.post("/v1/refunds", data={"charge": charge["id"], "amount": "1000"})
    assert refund.status_code == 200 and refund.json()["amount"] == 1000
    too_much = client.post("/v1/refunds", data={"charge": charge["id"], "amount": "2000"})
    assert too_much.status_code == 400 and too_much.json()["error"]["code"] == "amount_too_large"
    rest = client.post("/v1/refunds", data={"charge": charge["id"]}).json()
    assert rest["amount"] == 1500
    assert client.post("/v1/refunds", data={"charge": charge["id"]}).json()["error"][
        "code"] == "charge_already_refunded"  # fmt: skip
    assert client.post("/v1/charges", data={**form, "currency": "kwd"}).status_code == 400
    # The new charge's net is still pending: nothing to pay out but the refunds' debit.
    broke = client.post("/v1/payouts", data={"amount": "100", "currency": "usd"})
    assert broke.status_code == 400 and broke.json()["error"]["code"] == "balance_insufficient"
    listed = account.get("/v1/refunds", charge=charge["id"]).json()["data"]
    assert [r["id"] for r in listed] == [rest["id"], refund.json()["id"]]


def test_manual_payout_of_available_funds():
    clock = [1_704_067_200]  # 2024-01-01: the generated history lies in the future
    account = Account(seed=3, size=0, rate_limiting=False, clock=lambda: clock[0])
    client = account.client
    charge = client.post("/v1/charges", data={"amount": "10000", "currency": "usd",
                                              "source": "tok_visa"}).json()  # fmt: skip
    clock[0] += 3 * 86_400
    available = account.get("/v1/balance").json()["available"][0]["amount"]
    net = account.get(f"{TXNS}/{charge['balance_transaction']}").json()["net"]
    assert available == net > 0
    payout = client.post("/v1/payouts", data={"amount": str(net), "currency": "usd"},
                         headers={"Idempotency-Key": "p1"}).json()  # fmt: skip
    assert payout["automatic"] is False and payout["amount"] == net
    own = account.walk(payout=payout["id"])
    assert [t["id"] for t in own] == [payout["balance_transaction"]]
    assert account.get("/v1/balance").json()["available"][0]["amount"] == 0


def test_bracket_params_parse_into_nested_values():
    assert parse_params([("created[gte]", "1"), ("created[lt]", "9"), ("expand[]", "a"),
                         ("expand[]", "b"), ("metadata[order_id]", "7"), ("limit", "3")]) == {
        "created": {"gte": "1", "lt": "9"}, "expand": ["a", "b"],
        "metadata": {"order_id": "7"}, "limit": "3"}  # fmt: skip
    assert parse_params([("expand[1]", "b"), ("expand[0]", "a")]) == {"expand": ["a", "b"]}


def test_control_changes_dataset_keys_and_limits(account):
    client = account.client
    state = client.post(CONTROL, json={"dataset": {"size": 10, "currencies": ["eur"]},
                                       "secret_keys": ["sk_test_othersecretkey99"]}).json()
    assert state["dataset"]["size"] == 10 and state["dataset"]["currencies"] == ["eur"]
    assert client.get(TXNS).status_code == 401
    other = {"Authorization": "Bearer sk_test_othersecretkey99"}
    body = client.get(TXNS, headers=other, params={"limit": 100}).json()
    assert {t["currency"] for t in body["data"]} == {"eur"}
    assert client.post(CONTROL, json={"dataset": {"size": -1}}).status_code == 422


def test_mounts_beside_another_platform_on_one_app():
    stripe = StripeSandbox(StripeSandboxConfig(size=5, rate_limiting=False))
    woo = WooCommerceSandbox()
    client = TestClient(Starlette(routes=[*woo.routes(), *stripe.routes()]))
    assert client.get(TXNS, headers=AUTH).status_code == 200
    assert client.get("/wp-json/wc/v3").status_code == 200
    assert client.get("/__sandbox/stripe/control").json()["dataset"]["size"] == 5
