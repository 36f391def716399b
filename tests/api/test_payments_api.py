"""The payment endpoints: Stripe sync-payments exactly as the spec (counters, totals as
exact JSON numbers), PayPal sync-transactions designed like it; credentials in the body are
checked with the platform and stored encrypted, a refused key stores nothing."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.db import transaction
from ledger.integrations import create_integration, find_integration
from ledger.syncs import add_counters
from sandbox.paypal.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from sandbox.stripe.config import DEFAULT_SECRET_KEY
from tests.conftest import TEST_API_KEY

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
SPEC_STRIPE_BODY = {
    "integrationId": "int_stripe_321",
    "credentials": {"secretKey": "sk_live_1234567890abcdef",
                    "webhookEndpointSecret": "whsec_1234567890abcdef"},
    "dateRange": {"from": "2024-01-01T00:00:00Z", "to": "2024-01-31T23:59:59Z"},
    "includeRefunds": True, "includeChargebacks": True, "includeFees": True,
}


@pytest.fixture
def client(ledger_engine, monkeypatch):
    import api.orchestrator as orchestrator

    started: list = []
    monkeypatch.setattr(orchestrator, "start_flow_run",
                        lambda name, params, tags: started.append((name, params)) or "fr-1")
    monkeypatch.setattr(orchestrator, "flow_run_state", lambda _id: "RUNNING")
    with TestClient(create_app()) as c:
        c.started = started
        yield c


def existing(engine, platform: str, iid: str, credentials: dict, url: str) -> None:
    """An integration already pointing at the sandbox (tests never reach the real APIs)."""
    with engine.begin() as conn:
        create_integration(conn, platform, platform, credentials, {"baseUrl": url}, {},
                           integration_id=iid)


def test_the_spec_stripe_body_with_a_refused_key_stores_nothing(client, ledger_engine,
                                                                 sandbox):
    existing(ledger_engine, "stripe", "int_stripe_321", {"secretKey": DEFAULT_SECRET_KEY},
             sandbox.url)
    r = client.post("/v1/integrations/stripe/sync-payments", headers=AUTH,
                    json=SPEC_STRIPE_BODY)
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTH_FAILED"
    assert "sk_live_1234567890abcdef" not in r.text
    with transaction(ledger_engine) as conn:
        kept = find_integration(conn, "int_stripe_321").credentials()
    assert kept["secretKey"] == DEFAULT_SECRET_KEY  # the refused key was not saved
    assert client.started == []


def test_stripe_sync_answers_with_the_spec_counters_and_exact_totals(client, ledger_engine,
                                                                     sandbox):
    existing(ledger_engine, "stripe", "int_stripe_321", {"secretKey": "sk_test_old"},
             sandbox.url)
    body = {**SPEC_STRIPE_BODY, "credentials": {"secretKey": DEFAULT_SECRET_KEY},
            "includeChargebacks": False}
    r = client.post("/v1/integrations/stripe/sync-payments", headers=AUTH, json=body)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    for name in ("paymentsProcessed", "paymentsCreated", "paymentsUpdated",
                 "refundsProcessed", "chargebacksProcessed", "feesRecorded"):
        assert data[name] == 0
    assert data["totalAmount"] == 0 and data["totalFees"] == 0
    (name, params), = client.started
    assert name == "stripe-sync-payments"
    assert params["integration_id"] == "int_stripe_321"
    assert params["include_chargebacks"] is False and "credentials" not in json.dumps(params)
    assert DEFAULT_SECRET_KEY not in json.dumps(params)
    with transaction(ledger_engine) as conn:  # the working key replaced the old one
        assert find_integration(conn, "int_stripe_321").credentials()["secretKey"] == \
            DEFAULT_SECRET_KEY
        add_counters(conn, data["syncId"], {"paymentsProcessed": 245, "paymentsCreated": 203,
                                            "paymentsUpdated": 42, "feesRecorded": 247,
                                            "chargesGrossMinor:USD": 12_500_050,
                                            "feesMinor:USD": 375_015})
    polled = client.get(f"/v1/integrations/syncs/{data['syncId']}", headers=AUTH)
    # money as JSON numbers with exactly their digits, never through a float
    assert '"totalAmount":125000.50' in polled.text
    assert '"totalFees":3750.15' in polled.text
    assert polled.json()["data"]["paymentsCreated"] == 203


def test_several_currencies_are_totalled_per_currency(client, ledger_engine, sandbox):
    existing(ledger_engine, "stripe", "int_stripe_1", {"secretKey": DEFAULT_SECRET_KEY},
             sandbox.url)
    r = client.post("/v1/integrations/stripe/sync-payments", headers=AUTH,
                    json={"integrationId": "int_stripe_1"})
    sync_id = r.json()["data"]["syncId"]
    with transaction(ledger_engine) as conn:
        add_counters(conn, sync_id, {"chargesGrossMinor:JPY": 12_000,
                                     "chargesGrossMinor:KWD": 1_250,
                                     "feesMinor:JPY": 432})
    data = client.get(f"/v1/integrations/syncs/{sync_id}", headers=AUTH).json()["data"]
    assert data["totalAmount"] is None
    assert {t["currency"]: t["totalAmountMinor"] for t in data["totals"]} == {
        "JPY": 12_000, "KWD": 1_250}
    text = client.get(f"/v1/integrations/syncs/{sync_id}", headers=AUTH).text
    assert '"totalAmount":12000' in text and '"totalAmount":1.250' in text


@pytest.mark.parametrize(("body", "field"), [
    ({"integrationId": "int_x", "includeRefunds": "yes"}, "includeRefunds"),
    ({"integrationId": "int_x", "credentials": {"secretKey": ""}}, "credentials.secretKey"),
    ({"integrationId": "int_x", "credentials": {"apiKey": "sk_test_x"}}, "credentials"),
    ({"integrationId": "../etc"}, "integrationId"),
])
def test_bad_stripe_bodies_are_refused_without_echoing_secrets(client, body, field):
    r = client.post("/v1/integrations/stripe/sync-payments", headers=AUTH, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert any(d["field"].startswith(field) for d in r.json()["error"]["details"])
    assert "sk_test_x" not in r.text


def test_an_unknown_stripe_integration_without_credentials_says_what_to_send(client):
    r = client.post("/v1/integrations/stripe/sync-payments", headers=AUTH,
                    json={"integrationId": "int_stripe_new"})
    assert r.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert "secretKey" in r.json()["error"]["message"]


def test_paypal_sync_checks_the_client_and_starts_the_flow(client, ledger_engine, sandbox):
    existing(ledger_engine, "paypal", "int_paypal_1",
             {"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET},
             sandbox.url)
    wrong = client.post("/v1/integrations/paypal/sync-transactions", headers=AUTH, json={
        "integrationId": "int_paypal_1",
        "credentials": {"clientId": DEFAULT_CLIENT_ID, "clientSecret": "wrong-secret"}})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "AUTH_FAILED"
    assert "wrong-secret" not in wrong.text
    r = client.post("/v1/integrations/paypal/sync-transactions", headers=AUTH, json={
        "integrationId": "int_paypal_1", "dateRange": {"from": "2024-01-01", "to": "2024-03-31"},
        "includeFees": False})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["operation"] == "paypal.sync_transactions"
    (name, params), = client.started
    assert name == "paypal-sync-transactions" and params["include_fees"] is False
    assert params["date_range"]["to"].startswith("2024-03-31T23:59:59")
