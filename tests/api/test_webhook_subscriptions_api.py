"""POST /v1/integrations/{integrationId}/webhooks as the spec, with list, read, update and
delete: endpoints must be https and public, the secret is never shown again."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import TEST_API_KEY
from tests.ledger.helpers import make_integration

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
SPEC = {"events": ["order.created", "order.updated", "product.updated", "inventory.updated"],
        "endpoint": "https://mystore.com/bigledger-webhook",
        "secret": "webhook_verification_secret", "active": True}


@pytest.fixture
def client(ledger_engine, monkeypatch):
    import connectors.outbound as outbound

    # Public name resolution without the network: mystore.com is a public address.
    monkeypatch.setattr(outbound, "_default_resolver", lambda host, port: (
        ["127.0.0.1"] if host in ("localhost", "127.0.0.1") else
        ["169.254.169.254"] if host == "169.254.169.254" else ["93.184.215.14"]))
    with ledger_engine.begin() as conn:
        make_integration(conn)
    with TestClient(create_app()) as c:
        yield c


def test_the_spec_body_subscribes_and_the_secret_is_never_shown(client):
    r = client.post("/v1/integrations/int_shopify_test/webhooks", headers=AUTH, json=SPEC)
    assert r.status_code == 200, r.text
    sub = r.json()["data"]
    assert sub["events"] == SPEC["events"] and sub["active"] is True
    assert "webhook_verification_secret" not in r.text and sub["secret"] == "****"
    wid = sub["webhookId"]
    listed = client.get("/v1/integrations/int_shopify_test/webhooks", headers=AUTH)
    assert [s["webhookId"] for s in listed.json()["data"]] == [wid]
    assert "webhook_verification_secret" not in listed.text
    changed = client.patch(f"/v1/integrations/int_shopify_test/webhooks/{wid}", headers=AUTH,
                           json={"active": False, "events": ["order.created"]})
    assert changed.json()["data"]["active"] is False
    assert changed.json()["data"]["events"] == ["order.created"]
    assert client.delete(f"/v1/integrations/int_shopify_test/webhooks/{wid}",
                         headers=AUTH).status_code == 200
    assert client.get(f"/v1/integrations/int_shopify_test/webhooks/{wid}",
                      headers=AUTH).status_code == 404


@pytest.mark.parametrize("endpoint", [
    "http://mystore.com/hook",                       # not https
    "https://127.0.0.1/hook",                        # loopback
    "https://169.254.169.254/latest/meta-data/",     # cloud metadata
    "https://localhost/hook",
])
def test_endpoints_that_could_reach_inside_are_refused(client, endpoint):
    r = client.post("/v1/integrations/int_shopify_test/webhooks", headers=AUTH,
                    json={**SPEC, "endpoint": endpoint})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("body", [
    {**SPEC, "events": ["order.exploded"]},
    {**SPEC, "events": []},
    {**SPEC, "secret": "short"},
    {**SPEC, "active": "yes"},
])
def test_bad_subscription_bodies(client, body):
    r = client.post("/v1/integrations/int_shopify_test/webhooks", headers=AUTH, json=body)
    assert r.status_code == 422
    assert "webhook_verification_secret" not in r.text


def test_an_unknown_integration_is_not_found(client):
    r = client.post("/v1/integrations/int_nope/webhooks", headers=AUTH, json=SPEC)
    assert r.status_code == 404


def test_without_a_secret_one_is_made_and_shown_once(client):
    body = {k: v for k, v in SPEC.items() if k != "secret"}  # as the spec's client example
    r = client.post("/v1/integrations/int_shopify_test/webhooks", headers=AUTH, json=body)
    assert r.status_code == 200, r.text
    sub = r.json()["data"]
    assert len(sub["secret"]) >= 32 and sub["secret"] != "****"
    again = client.get(f"/v1/integrations/int_shopify_test/webhooks/{sub['webhookId']}",
                       headers=AUTH)
    assert again.json()["data"]["secret"] == "****" and sub["secret"] not in again.text
