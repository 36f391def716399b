"""The Amazon endpoints: the spec's MWS body refused with what SP-API needs; SP-API
credentials checked with Amazon and stored encrypted; sync-fees on an Amazon integration."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.db import transaction
from ledger.integrations import create_integration, find_integration
from sandbox.amazon.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
)
from tests.conftest import TEST_API_KEY

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
SPEC_BODY = {
    "integrationId": "int_amazon_789",
    "credentials": {"sellerId": "A1234567890123", "mwsAccessKey": "AKIAI1234567890ABCDEF",
                    "mwsSecretKey": "secret_key_1234567890abcdef",
                    "marketplaceId": "ATVPDKIKX0DER"},
    "dateRange": {"from": "2024-01-01T00:00:00Z", "to": "2024-01-31T23:59:59Z"},
    "orderStatus": ["Shipped", "Delivered"],
}
SP_API = {"sellerId": DEFAULT_SELLER_ID, "marketplaceId": "ATVPDKIKX0DER",
          "clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
          "refreshToken": DEFAULT_REFRESH_TOKEN}


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


def test_the_spec_mws_body_is_refused_with_what_sp_api_needs(client, ledger_engine):
    r = client.post("/v1/integrations/amazon/sync-orders", headers=AUTH, json=SPEC_BODY)
    error = r.json()["error"]
    assert error["code"] == "INVALID_CREDENTIALS"
    assert "MWS" in error["message"]
    for field in ("clientId", "clientSecret", "refreshToken"):
        assert field in error["message"]
    assert "secret_key_1234567890abcdef" not in r.text
    with transaction(ledger_engine) as conn:
        assert find_integration(conn, "int_amazon_789") is None
    assert client.started == []


def test_sp_api_credentials_are_checked_stored_and_the_flow_gets_only_the_id(
        client, ledger_engine, sandbox):
    with ledger_engine.begin() as conn:  # points at the sandbox (tests never reach Amazon)
        create_integration(conn, "amazon", "Seller", {**SP_API, "refreshToken": "Atzr|old"},
                           {"baseUrl": sandbox.url}, {}, integration_id="int_amazon_789")
    body = {**SPEC_BODY, "credentials": {**SP_API, "mwsAccessKey": "AKIAOLD"}}
    r = client.post("/v1/integrations/amazon/sync-orders", headers=AUTH, json=body)
    assert r.status_code == 200, r.text
    (name, params), = client.started
    assert name == "amazon-sync-orders"
    assert params["order_status"] == ["Shipped", "Delivered"]
    assert DEFAULT_REFRESH_TOKEN not in json.dumps(params)
    with transaction(ledger_engine) as conn:
        stored = find_integration(conn, "int_amazon_789").credentials()
    assert stored["refreshToken"] == DEFAULT_REFRESH_TOKEN
    assert "mwsAccessKey" not in stored  # retired keys are never kept

    fees = client.post("/v1/integrations/amazon/sync-fees", headers=AUTH, json={
        "integrationId": "int_amazon_789", "reportType": "settlement",
        "dateRange": {"from": "2024-01-01", "to": "2024-01-31"}})
    assert fees.status_code == 200, fees.text
    assert fees.json()["data"]["operation"] == "amazon.sync_fees"
    assert client.started[1][1]["date_range"]["to"].startswith("2024-01-31T23:59:59")


def test_a_revoked_refresh_token_stores_nothing(client, ledger_engine, sandbox):
    with ledger_engine.begin() as conn:
        create_integration(conn, "amazon", "Seller", SP_API, {"baseUrl": sandbox.url}, {},
                           integration_id="int_amazon_1")
    body = {"integrationId": "int_amazon_1",
            "credentials": {**SP_API, "refreshToken": "Atzr|revoked"}}
    r = client.post("/v1/integrations/amazon/sync-orders", headers=AUTH, json=body)
    assert r.json()["success"] is False
    assert r.json()["error"]["code"] in ("AUTH_FAILED", "INVALID_CREDENTIALS")
    assert "Atzr|revoked" not in r.text
    with transaction(ledger_engine) as conn:
        assert find_integration(conn, "int_amazon_1").credentials() == SP_API


@pytest.mark.parametrize("body", [
    {"integrationId": "int_x", "reportType": "inventory"},
    {"integrationId": "int_x", "dateRange": {"from": "2024-02-01", "to": "2024-01-01"}},
])
def test_bad_fee_bodies_are_validation_errors(client, body):
    r = client.post("/v1/integrations/amazon/sync-fees", headers=AUTH, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_fees_on_a_non_amazon_integration_are_refused(client, ledger_engine):
    with ledger_engine.begin() as conn:
        create_integration(conn, "stripe", "S", {"secretKey": "sk_test_x"}, {}, {},
                           integration_id="int_stripe_9")
    r = client.post("/v1/integrations/amazon/sync-fees", headers=AUTH,
                    json={"integrationId": "int_stripe_9"})
    assert r.json()["error"]["code"] == "INVALID_CREDENTIALS"
