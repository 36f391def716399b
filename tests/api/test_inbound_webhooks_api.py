"""Inbound webhooks: a platform's signature over the raw body is checked with the
integration's secret; forged, missing and stale ones answer 401 and store nothing; a good one
is kept in the inbox once however often it is delivered."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from ledger.integrations import create_integration
from ledger.models import WebhookDelivery

ORDER = json.dumps({"id": 820982911946154508, "email": "jon@example.com", "name": "#1001",
                    "updated_at": "2024-01-15T10:30:00Z", "total_price": "105.98",
                    "currency": "MYR", "financial_status": "paid", "line_items": []}).encode()


@pytest.fixture
def client(ledger_engine):
    with ledger_engine.begin() as conn:
        create_integration(conn, "shopify", "Shop", {"shopDomain": "s.myshopify.com",
                           "accessToken": "shpat_x", "webhookSecret": "hush"}, {}, {},
                           integration_id="int_shop")
        create_integration(conn, "stripe", "Stripe", {"secretKey": "sk_test_x",
                           "webhookEndpointSecret": "whsec_test_secret"}, {}, {},
                           integration_id="int_stripe")
        create_integration(conn, "woocommerce", "Woo", {"siteUrl": "https://w.example",
                           "consumerKey": "ck_x", "consumerSecret": "cs_x",
                           "webhookSecret": "woo-secret"}, {}, {}, integration_id="int_woo")
        create_integration(conn, "xero", "Xero", {"clientId": "a", "clientSecret": "b",
                           "refreshToken": "c", "webhookKey": "xero-key"}, {}, {},
                           integration_id="int_xero")
    with TestClient(create_app()) as c:
        yield c


def b64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one()


def shopify_headers(signature: str) -> dict[str, str]:
    return {"X-Shopify-Hmac-Sha256": signature, "X-Shopify-Topic": "orders/create",
            "X-Shopify-Event-Id": "evt-1", "X-Shopify-Shop-Domain": "s.myshopify.com",
            "Content-Type": "application/json"}


def test_a_signed_delivery_is_kept_once(client, ledger_engine):
    headers = shopify_headers(b64("hush", ORDER))
    first = client.post("/v1/webhooks/shopify/int_shop", content=ORDER, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["data"] == {"received": True, "duplicate": False, "events": 1}
    again = client.post("/v1/webhooks/shopify/int_shop", content=ORDER, headers=headers)
    assert again.json()["data"]["duplicate"] is True
    assert stored(ledger_engine) == 1
    with ledger_engine.connect() as conn:
        events = conn.execute(select(WebhookDelivery.events)).scalar_one()
    assert events[0]["event"] == "order.created" and events[0]["source"] == "shopify"
    assert events[0]["integrationId"] == "int_shop"


@pytest.mark.parametrize("headers", [
    shopify_headers(b64("wrong", ORDER)),                      # forged
    {k: v for k, v in shopify_headers("x").items() if "Hmac" not in k},  # missing
    shopify_headers("not base64 at all"),
])
def test_forged_or_missing_signatures_store_nothing(client, ledger_engine, headers):
    r = client.post("/v1/webhooks/shopify/int_shop", content=ORDER, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "WEBHOOK_VERIFICATION_FAILED"
    assert "hush" not in r.text
    assert stored(ledger_engine) == 0


def test_stripe_signatures_outside_the_tolerance_are_refused(client, ledger_engine):
    body = json.dumps({"id": "evt_1", "object": "event", "type": "charge.succeeded",
                       "created": 1700000000,
                       "data": {"object": {"id": "ch_1", "object": "charge",
                                           "amount": 1000, "currency": "usd"}}}).encode()

    def header(t: int) -> str:
        sig = hmac.new(b"whsec_test_secret", f"{t}.".encode() + body, hashlib.sha256)
        return f"t={t},v1={sig.hexdigest()}"

    stale = client.post("/v1/webhooks/stripe/int_stripe", content=body,
                        headers={"Stripe-Signature": header(int(time.time()) - 301)})
    assert stale.status_code == 401 and stored(ledger_engine) == 0
    fresh = client.post("/v1/webhooks/stripe/int_stripe", content=body,
                        headers={"Stripe-Signature": header(int(time.time()))})
    assert fresh.status_code == 200 and stored(ledger_engine) == 1


def test_the_woocommerce_ping_and_xero_intent_to_receive(client, ledger_engine):
    ping = client.post("/v1/webhooks/woocommerce/int_woo", content=b"webhook_id=12",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert ping.status_code == 200
    itr = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
                      "entropy": "S0M3R4ND0M"}).encode()
    right = client.post("/v1/webhooks/xero/int_xero", content=itr,
                        headers={"x-xero-signature": b64("xero-key", itr)})
    assert right.status_code == 200 and right.content == b""
    wrong = client.post("/v1/webhooks/xero/int_xero", content=itr,
                        headers={"x-xero-signature": b64("other", itr)})
    assert wrong.status_code == 401 and wrong.content == b""
    assert stored(ledger_engine) == 0


def test_an_unknown_integration_is_not_found(client):
    r = client.post("/v1/webhooks/shopify/int_nope", content=ORDER,
                    headers=shopify_headers(b64("hush", ORDER)))
    assert r.status_code == 404
