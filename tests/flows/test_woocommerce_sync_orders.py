"""The woocommerce-sync-orders flow and its endpoint against the WooCommerce sandbox."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.models import Integration, SalesOrder, SyncRun
from ledger.reports import trial_balance, unbalanced_entries
from tests.conftest import TEST_API_KEY
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")
KEYS = {"siteUrl": "https://bigledger-sandbox.example",
        "consumerKey": "ck_sandbox0000000000000000000000000000000000",
        "consumerSecret": "cs_sandbox0000000000000000000000000000000000"}


@pytest.fixture
def woo(sandbox):
    import httpx

    r = httpx.post(f"{sandbox.url}/__sandbox/woocommerce/control",
                   json={"dataset": {"seed": 5, "size": 240}, "clear_faults": True})
    assert r.status_code == 200, r.text
    return sandbox


def make_woo_integration(engine, sandbox_url: str) -> str:
    from ledger.integrations import create_integration

    with engine.begin() as conn:
        create_integration(conn, "woocommerce", "Woo shop", KEYS, {"baseUrl": sandbox_url},
                           {"defaultTaxCode": "SST"}, integration_id="int_woocommerce_test")
    return "int_woocommerce_test"


def test_woocommerce_orders_load_once_with_balanced_books(ledger_engine, woo):
    from flows.woocommerce import sync_orders

    iid = make_woo_integration(ledger_engine, woo.url)
    run = sync_orders(integration_id=iid, batch_size=70)
    assert run["status"] == "completed", run
    assert run["counters"]["ordersCreated"] == run["records_to_process"] == 240
    before = dump(ledger_engine)
    again = sync_orders(integration_id=iid)  # incremental: nothing changed
    assert again["counters"].get("ordersCreated", 0) == 0
    assert again["counters"].get("ordersUpdated", 0) == 0
    assert dump(ledger_engine) == before
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SalesOrder)).scalar_one() == 240
        assert trial_balance(conn)["balanced"] and unbalanced_entries(conn) == []


def test_endpoint_stores_the_keys_encrypted_and_refuses_wrong_ones(ledger_engine, woo,
                                                                   monkeypatch):
    import api.orchestrator as orchestrator
    from api.app import create_app

    started = []
    monkeypatch.setattr(orchestrator, "start_flow_run",
                        lambda name, params, tags: started.append((name, params)) or "fr-1")
    auth = {"Authorization": f"Bearer {TEST_API_KEY}"}
    with TestClient(create_app()) as client:
        # the sandbox is behind a plain-http loopback URL: the integration must point there
        r = client.post("/v1/integrations/woocommerce/setup", headers=auth, json={
            "name": "Woo", "credentials": KEYS, "settings": {"baseUrl": woo.url}})
        assert r.status_code == 200, r.text
        iid = r.json()["data"]["id"]
        with ledger_engine.connect() as conn:
            stored_before = conn.execute(select(Integration.credentials_encrypted)).scalar_one()
        bad = client.post("/v1/integrations/woocommerce/sync-orders", headers=auth, json={
            "integrationId": iid, "credentials": {**KEYS, "consumerSecret": "cs_wrong_one"},
            "dateRange": {"from": "2024-01-01", "to": "2024-01-31"}})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "AUTH_FAILED"
        with ledger_engine.connect() as conn:  # the wrong keys replaced nothing
            assert conn.execute(select(Integration.credentials_encrypted)).scalar_one() \
                == stored_before
            assert conn.execute(select(func.count()).select_from(SyncRun)).scalar_one() == 0
        r = client.post("/v1/integrations/woocommerce/sync-orders", headers=auth, json={
            "integrationId": iid, "credentials": KEYS, "orderStatus": ["processing", "completed"],
            "dateRange": {"from": "2024-01-01", "to": "2024-01-31"}})
        assert r.status_code == 200, r.text
        data = r.json()["data"]
    assert data["status"] == "processing" and data["ordersToProcess"] > 0
    assert KEYS["consumerSecret"] not in r.text
    [(name, params)] = started
    assert name == "woocommerce-sync-orders"
    assert params["date_range"] == {"from": "2024-01-01T00:00:00Z", "to": "2024-01-31T23:59:59Z"}
    assert not any(KEYS["consumerSecret"] in str(v) for v in params.values())
    with ledger_engine.connect() as conn:
        stored = conn.execute(select(Integration.credentials_encrypted)).scalar_one()
        assert KEYS["consumerSecret"] not in stored
        assert conn.execute(select(SyncRun.flow_run_id)).scalar_one() == "fr-1"
