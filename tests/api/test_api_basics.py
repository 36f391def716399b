"""The API's edges: bearer auth, the spec's envelope and codes, bad input, ledger views."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import TEST_API_KEY
from tests.ledger.helpers import docs, make_integration, order_with_id

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}


@pytest.fixture
def client(ledger_engine):
    with TestClient(create_app()) as c:
        yield c


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": TEST_API_KEY},
                                     {"Authorization": "Basic abc"}])
def test_every_route_needs_the_bearer_key(client, headers):
    for method, path in [("GET", "/v1/integrations/available"),
                         ("GET", "/v1/ledger/trial-balance"),
                         ("POST", "/v1/integrations/shopify/sync-orders"),
                         ("GET", "/v1/integrations/syncs/sync_x")]:
        r = client.request(method, path, headers=headers)
        assert r.status_code == 401, path
        assert r.json()["success"] is False
        assert r.json()["error"]["code"] == "UNAUTHORIZED"


def test_catalog_is_the_spec(client):
    r = client.get("/v1/integrations/available", headers=AUTH)
    data = r.json()["data"]
    assert r.json()["success"] is True
    assert set(data) == {"ecommerce", "marketplaces", "payment_gateways", "accounting"}
    shopify = data["ecommerce"][0]
    assert shopify == {
        "id": "shopify", "name": "Shopify",
        "description": "Connect your Shopify store for automated order sync",
        "category": "ecommerce", "status": "active",
        "features": ["order_sync", "product_sync", "customer_sync", "inventory_sync"],
        "setupRequired": True, "webhookSupport": True, "realTimeSync": True,
    }


@pytest.mark.parametrize(("body", "status", "field"), [
    ({}, 422, "integrationId"),
    ({"integrationId": 5}, 422, "integrationId"),
    ({"integrationId": "int_x", "batchSize": 0}, 422, "batchSize"),
    ({"integrationId": "int_x", "batchSize": "fifty"}, 422, "batchSize"),
    ({"integrationId": "int_x", "orderStatus": ["shipped-ish"]}, 422, "orderStatus.0"),
    ({"integrationId": "int_x", "dateRange": {"from": "2024-02-01T00:00:00Z",
                                              "to": "2024-01-01T00:00:00Z"}}, 422, "dateRange"),
    ({"integrationId": "int_x", "dateRange": {"from": "yesterday", "to": "today"}}, 422,
     "dateRange.from"),
    ({"integrationId": "int_x", "surprise": True}, 422, "surprise"),
])
def test_bad_sync_bodies_get_validation_errors(client, body, status, field):
    r = client.post("/v1/integrations/shopify/sync-orders", json=body, headers=AUTH)
    assert r.status_code == status
    error = r.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert any(d["field"].startswith(field) for d in error["details"]), error


def test_malformed_json_and_huge_bodies(client):
    r = client.post("/v1/integrations/shopify/sync-orders", content=b'{"integrationId": ',
                    headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = client.post("/v1/integrations/shopify/sync-orders", content=b"x" * 2_000_000,
                    headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_unknown_integration_and_sync_are_not_found(client):
    r = client.post("/v1/integrations/shopify/sync-orders", json={"integrationId": "int_nope"},
                    headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    r = client.get("/v1/integrations/syncs/sync_nope", headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    r = client.get("/v1/no/such/route", headers=AUTH)
    assert r.status_code == 404 and r.json()["success"] is False


def test_setup_validation_never_echoes_credentials(client):
    r = client.post("/v1/integrations/shopify/setup", headers=AUTH, json={
        "name": "x", "credentials": {"shopDomain": "a.myshopify.com",
                                     "accessToken": {"nested": "shpat_leak_me"}}})
    assert r.status_code == 422
    assert "shpat_leak_me" not in r.text
    r = client.post("/v1/integrations/shopify/setup", headers=AUTH, json={
        "name": "x", "credentials": {"shopDomain": "a.myshopify.com"}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert "accessToken" in r.json()["error"]["message"]


def test_setup_refuses_a_mapping_to_unknown_accounts(client):
    r = client.post("/v1/integrations/shopify/setup", headers=AUTH, json={
        "name": "x", "credentials": {"shopDomain": "a.myshopify.com", "accessToken": "shpat_1"},
        "mapping": {"shippingAccount": "acc_nope", "defaultTaxCode": "XYZ"}})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "DATA_MAPPING_ERROR"
    assert "mapping.shippingAccount" in error["message"] and "defaultTaxCode" in error["message"]


def test_ledger_views_show_what_was_loaded(client, ledger_engine):
    from ledger.orders import load_order_batch

    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        load_order_batch(conn, iid, "shopify.order", docs(order_with_id(1), order_with_id(2)))
    tb = client.get("/v1/ledger/trial-balance", headers=AUTH).json()["data"]
    assert tb["balanced"] is True
    assert tb["totals"]["MYR"]["debit"] == {"amount": "230.76", "minor": 23076}
    assert tb["totals"]["MYR"]["difference"]["minor"] == 0
    page = client.get("/v1/ledger/sales-orders", headers=AUTH,
                      params={"integrationId": iid, "pageSize": 1}).json()["data"]
    assert (page["total"], len(page["items"]), page["hasMore"]) == (2, 1, True)
    order = page["items"][0]
    assert (order["total"], order["tax"], order["currency"]) == ("105.38", "5.40", "MYR")
    entries = client.get("/v1/ledger/journal-entries", headers=AUTH,
                         params={"sourceId": "2"}).json()["data"]
    [entry] = entries["items"]
    debits = sum(int(line["debitMinor"]) for line in entry["lines"])
    credits = sum(int(line["creditMinor"]) for line in entry["lines"])
    assert debits == credits == 10538 + 1000  # total plus the discount
    status = client.get(f"/v1/integrations/{iid}/status", headers=AUTH).json()["data"]
    assert status["status"] == "healthy" and status["integrationId"] == iid


@pytest.mark.parametrize(("body", "field"), [
    ({"integrationId": "int_x", "syncType": "sometimes"}, "syncType"),
    ({"integrationId": "int_x", "publishedStatus": "hidden"}, "publishedStatus"),
    ({"integrationId": "int_x", "includeVariants": "maybe"}, "includeVariants"),
    ({"syncType": "full"}, "integrationId"),
])
def test_bad_product_sync_bodies_get_validation_errors(client, body, field):
    r = client.post("/v1/integrations/shopify/sync-products", json=body, headers=AUTH)
    assert r.status_code == 422
    assert any(d["field"].startswith(field) for d in r.json()["error"]["details"])


def test_inventory_sync_validates_and_fans_out_to_stock_channels(client, ledger_engine,
                                                                 monkeypatch):
    import api.orchestrator as orchestrator

    started = []
    monkeypatch.setattr(orchestrator, "start_flow_run",
                        lambda name, params, tags: started.append((name, params)) or "fr-9")
    monkeypatch.setattr(orchestrator, "flow_run_state", lambda _id: "COMPLETED")
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
    body = {"items": [{"sku": "WIDGET-001", "quantity": 150, "locations": [
        {"externalId": "shopify_location_123", "quantity": 100},
        {"externalId": "amazon_warehouse_456", "quantity": 50}]}]}
    bad = client.post("/v1/integrations/inventory-sync", headers=AUTH,
                      json={"items": [{"sku": "X", "quantity": -1}]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    missing = client.post("/v1/integrations/int_nope/inventory-sync", headers=AUTH, json=body)
    assert missing.status_code == 404
    one = client.post(f"/v1/integrations/{iid}/inventory-sync", headers=AUTH, json=body)
    assert one.status_code == 200, one.text
    every = client.post("/v1/integrations/inventory-sync", headers=AUTH, json=body)
    assert every.status_code == 200, every.text
    assert [name for name, _ in started] == ["inventory-fan-out", "inventory-fan-out"]
    assert started[1][1]["integration_ids"] == [iid]
    assert started[1][1]["items"][0]["locations"][1]["externalId"] == "amazon_warehouse_456"


def test_woocommerce_catalog_sync_needs_a_woocommerce_integration(client, ledger_engine):
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)  # a Shopify one
    r = client.post("/v1/integrations/woocommerce/sync-products", headers=AUTH,
                    json={"integrationId": iid, "syncType": "full"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_CREDENTIALS"
    r = client.post("/v1/integrations/woocommerce/sync-customers", headers=AUTH,
                    json={"integrationId": iid, "syncType": "sometimes"})
    assert r.status_code == 422
