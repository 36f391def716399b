"""Webhooks end to end on loopback: each connector registers with the composite sandbox the
way the real platform takes it, the sandbox's own events then arrive at a real HTTP
receiver signed as the platform signs them, and every delivery passes
connectors.webhook_signatures.verify_webhook with the registered secret and normalizes with
transforms.webhook_events.normalize_delivery. Also: WooCommerce's unsigned ping, Xero's
intent to receive, duplicates, out-of-order delivery and a retry after a 500."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.shopify import ShopifyConnector
from connectors.stripe import StripeConnector
from connectors.webhook_signatures import Verified, verify_webhook
from connectors.woocommerce import WooCommerceConnector
from sandbox.quickbooks import QuickBooksSandboxConfig
from sandbox.shopify.config import DEFAULT_APP_CLIENT_SECRET
from sandbox.stripe import StripeSandboxConfig
from sandbox.stripe.config import DEFAULT_SECRET_KEY
from sandbox.woocommerce import WooCommerceSandboxConfig
from sandbox.woocommerce.config import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET
from sandbox.xero import XeroSandboxConfig
from sandbox.xero.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
from tests.conftest import Sandbox
from tests.sandbox.test_webhook_sender import Received, Receiver
from transforms.webhook_events import WebhookEvent, normalize_delivery

SHOP = "sandbox.myshopify.com"
TOKEN = "shpat_sandbox_token"
WOO_SITE = "https://bigledger-sandbox.example"


@pytest.fixture(scope="module")
def sandbox():
    server = Sandbox(size=40, seed=5, currency="MYR", throttling=False, max_query_cost=None,
                     woocommerce=WooCommerceSandboxConfig(size=40, seed=5),
                     stripe=StripeSandboxConfig(size=20, seed=5),
                     quickbooks=QuickBooksSandboxConfig(size=40, seed=5, throttling=False),
                     xero=XeroSandboxConfig(size=30, seed=5, throttling=False))  # fmt: skip
    yield server
    server.stop()


@pytest.fixture(scope="module")
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture(autouse=True)
def fresh(sandbox):
    """Every test starts with no registrations, default delivery settings and a clean log."""
    for name in ("shopify", "woocommerce", "stripe", "quickbooks", "xero"):
        sandbox.platform(name).webhooks.sender.reset()
    yield


def verified(platform: str, got: Received, secret: str) -> Verified:
    return verify_webhook(platform, got.body, got.headers, secret, now=time.time())


def normalized(delivery: Verified) -> list[WebhookEvent]:
    return normalize_delivery(delivery, integration_id="int_test", received_at=datetime.now(UTC))


def got_json(got: Received) -> Any:
    return json.loads(got.body)


def idle(sandbox, platform: str) -> None:
    assert sandbox.platform(platform).webhooks.sender.wait_idle(10)


# ---- Shopify ----------------------------------------------------------------------------------


@pytest.fixture
def shopify(sandbox):
    conn = ShopifyConnector(SHOP, TOKEN, base_url=sandbox.url)
    yield conn
    conn.close()


def test_shopify_registration_then_a_new_order_arrives_signed(sandbox, receiver, shopify):
    url = f"{receiver.url}/shopify-orders"
    receiver.verify["shopify-orders"] = ("shopify", DEFAULT_APP_CLIENT_SECRET)
    registration = shopify.register_webhooks(url)
    assert registration.secret is None and len(registration.created) == 9
    assert "orders/create" in registration.topics

    created = httpx.post(f"{sandbox.url}/__sandbox/orders/create", json={}).json()
    first, second = receiver.wait_for(2, "shopify-orders")
    assert {first.headers["x-shopify-topic"], second.headers["x-shopify-topic"]} == {
        "orders/create", "orders/paid"}
    assert first.status == second.status == 200
    for got in (first, second):
        assert got.headers["x-shopify-shop-domain"] == sandbox.platform("shopify").config \
            .shop_domain
        assert got.headers["x-shopify-api-version"] == shopify.api_version
        assert got.headers["x-shopify-webhook-id"] and got.headers["x-shopify-triggered-at"]
    # Each topic is its own event; each delivery its own webhook id.
    assert first.headers["x-shopify-event-id"] != second.headers["x-shopify-event-id"]
    event = next(e for got in (first, second) for e in normalized(
        verified("shopify", got, DEFAULT_APP_CLIENT_SECRET)) if e.event == "order.created")
    assert event.resource_id == created["legacyResourceId"]
    assert event.data["orderNumber"] == created["name"]
    assert event.data["total"] == created["totalPrice"]
    assert Decimal(event.data["total"]) == sum(
        Decimal(i["price"]) * i["quantity"] for i in event.payload["line_items"]) - sum(
        Decimal(i["total_discount"]) for i in event.payload["line_items"]) + Decimal(
        event.payload["total_shipping_price_set"]["shop_money"]["amount"]) + (
        Decimal(0) if event.payload["taxes_included"] else Decimal(event.payload["total_tax"]))
    # The current state is what the API shows for the same order.
    (current,) = shopify.fetch_orders_by_ids([created["legacyResourceId"]])
    assert current["updatedAt"] == created["updatedAt"]


def test_shopify_order_refund_product_customer_and_inventory_events(sandbox, receiver,
                                                                    shopify):
    url = f"{receiver.url}/shopify-all"
    receiver.verify["shopify-all"] = ("shopify", DEFAULT_APP_CLIENT_SECRET)
    shopify.register_webhooks(url)
    shop = sandbox.platform("shopify")
    order_id = next(int(h.order_id) for h in map(shop.store.header, range(40))
                    if h.financial == "PAID" and not h.cancelled)  # fmt: skip
    assert httpx.post(f"{sandbox.url}/__sandbox/orders/{order_id}/update",
                      json={"action": "refund", "amount": "1.00"}).status_code == 200
    product = shop.catalog.product_list()[0]
    assert httpx.post(f"{sandbox.url}/__sandbox/products/{product['_legacy']}/update",
                      json={"title": "Renamed"}).status_code == 200
    customer = shop.customers.customer_list()[0]
    assert httpx.post(f"{sandbox.url}/__sandbox/customers/{customer['_legacy']}/update",
                      json={"firstName": "Ada"}).status_code == 200
    variant = product["_variants"][0]
    location = shop.catalog.locations[0]
    results = shopify.adjust_inventory([(variant["inventoryItem"]["id"], location["id"], 3)])
    assert all(r.applied for r in results)

    found = receiver.wait_for(5, "shopify-all")
    assert all(r.status == 200 for r in found)
    events = {e.event: e for got in found for e in normalized(
        verified("shopify", got, DEFAULT_APP_CLIENT_SECRET))}
    assert set(events) == {"refund.created", "order.updated", "product.updated",
                           "customer.updated", "inventory.updated"}
    assert events["refund.created"].data["orderId"] == str(order_id)
    assert events["order.updated"].resource_id == str(order_id)
    assert events["product.updated"].data["title"] == "Renamed"
    level = events["inventory.updated"]
    assert level.data["inventoryItemId"] == str(variant["inventoryItem"]["_legacy"])
    assert level.data["available"] == next(
        lv for lv in variant["inventoryItem"]["_levels"]
        if lv["_legacy"] == location["_legacy"])["_q"]["available"]  # fmt: skip


def test_shopify_duplicates_share_their_event_id(sandbox, receiver, shopify):
    url = f"{receiver.url}/shopify-dup"
    shopify.register_webhooks(url, ["orders/updated"])
    sandbox.control(webhooks={"duplicate": True})
    order_id = 5_500_000_000_001
    httpx.post(f"{sandbox.url}/__sandbox/orders/{order_id}/update", json={"action": "touch"})
    one, two = receiver.wait_for(2, "shopify-dup")
    assert one.body == two.body
    assert one.headers["x-shopify-event-id"] == two.headers["x-shopify-event-id"]
    assert one.headers["x-shopify-webhook-id"] == two.headers["x-shopify-webhook-id"]
    keys = {verified("shopify", got, DEFAULT_APP_CLIENT_SECRET).dedup_key for got in (one, two)}
    assert len(keys) == 1  # the inbox keeps it once


def test_shopify_out_of_order_delivery_after_a_pause(sandbox, receiver, shopify):
    url = f"{receiver.url}/shopify-order"
    shopify.register_webhooks(url, ["orders/updated"])
    sandbox.control(webhooks={"paused": True, "order": "reverse"})
    order_id = 5_500_000_000_002
    for note in ("first", "second", "third"):
        httpx.post(f"{sandbox.url}/__sandbox/orders/{order_id}/update",
                   json={"action": "touch", "note": note})
    time.sleep(0.3)
    assert not [r for r in receiver.received if r.path == "shopify-order"]
    assert sandbox.control()["webhooks"]["held"] == 3
    sandbox.control(webhooks={"paused": False})
    found = receiver.wait_for(3, "shopify-order")
    notes = [normalized(verified("shopify", got, DEFAULT_APP_CLIENT_SECRET))[0].payload["note"]
             for got in found]  # fmt: skip
    assert notes == ["third", "second", "first"]


def test_shopify_rejects_a_second_subscription_and_bad_addresses(sandbox, shopify):
    query = """mutation($t: WebhookSubscriptionTopic!, $u: URL!) {
      webhookSubscriptionCreate(topic: $t, webhookSubscription: {callbackUrl: $u, format: JSON})
      { webhookSubscription { id } userErrors { field message } } }"""
    post = lambda url: httpx.post(  # noqa: E731
        f"{sandbox.url}/admin/api/2025-01/graphql.json",
        json={"query": query, "variables": {"t": "ORDERS_CREATE", "u": url}},
        headers={"X-Shopify-Access-Token": TOKEN}).json()["data"]["webhookSubscriptionCreate"]
    assert post("http://127.0.0.1:1/a")["userErrors"] == []
    assert post("http://127.0.0.1:1/a")["userErrors"] == [{
        "field": ["webhookSubscription", "callbackUrl"],
        "message": "Address for this topic has already been taken"}]
    assert post("not a url")["userErrors"][0]["message"] == "Address is invalid"


# ---- WooCommerce ------------------------------------------------------------------------------


@pytest.fixture
def woo(sandbox):
    conn = WooCommerceConnector(WOO_SITE, DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET,
                                base_url=sandbox.url)  # fmt: skip
    yield conn
    conn.close()


def test_woocommerce_ping_then_signed_product_and_order_updates(sandbox, receiver, woo):
    url = f"{receiver.url}/woo"
    registration = woo.register_webhooks(url)
    assert registration.secret and len(registration.secret) >= 40
    receiver.verify["woo"] = ("woocommerce", registration.secret)
    pings = receiver.wait_for(5, "woo")  # one per webhook created
    for ping in pings:
        check = verified("woocommerce", ping, registration.secret)
        assert check.ping and not check.is_event and normalized(check) == []
        assert "x-wc-webhook-signature" not in ping.headers
        assert ping.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert sorted(p.body.decode() for p in pings) == sorted(
        f"webhook_id={i}" for i in registration.ids)

    store = sandbox.platform("woocommerce")
    product = next(p for p in map(store.catalog.product, store.catalog.product_ids())
                   if p and p["manage_stock"] is True and p["type"] == "simple")  # fmt: skip
    (result,) = woo.set_stock([(product["sku"], 7)])
    assert result.applied
    order = store.data.order(3)
    answer = httpx.post(f"{sandbox.url}/__sandbox/woocommerce/orders/{order['id']}/update",
                        json={"status": "completed" if order["status"] != "completed"
                              else "on-hold"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    found = receiver.wait_for(7, "woo")[5:]
    assert all(r.status == 200 for r in found)
    events = {e.event: (e, got) for got in found
              for e in normalized(verified("woocommerce", got, registration.secret))}
    assert set(events) == {"product.updated", "order.updated"}
    product_event, got = events["product.updated"]
    assert product_event.resource_id == str(product["id"])
    assert got.headers["x-wc-webhook-source"] == WOO_SITE + "/"
    assert (got.headers["x-wc-webhook-resource"], got.headers["x-wc-webhook-event"]) == (
        "product", "updated")
    assert b"\\/" in got.body or b"/" not in got.body  # wp_json_encode escapes slashes
    order_event, _ = events["order.updated"]
    assert order_event.data["orderId"] == str(order["id"])
    assert order_event.data["status"] == answer.json()["status"]
    assert order_event.data["total"] == order["total"]


def test_woocommerce_disables_a_webhook_after_five_failures_in_a_row(sandbox, receiver, woo):
    url = f"{receiver.url}/woo-down"
    registration = woo.register_webhooks(url, ["order.updated"])
    receiver.wait_for(1, "woo-down")  # the ping
    receiver.fail["woo-down"] = 100
    sandbox.control_platform("woocommerce", webhooks={"max_attempts": 1})
    for _ in range(6):
        httpx.post(f"{sandbox.url}/__sandbox/woocommerce/orders/1004/update",
                   json={"status": "on-hold"})
        idle(sandbox, "woocommerce")
    hooks = woo.list_webhooks(url)
    assert [h["status"] for h in hooks] == ["disabled"]
    receiver.fail["woo-down"] = 0
    # Registering again re-activates it (and keeps the secret).
    again = woo.register_webhooks(url, ["order.updated"])
    assert again.reused == registration.created and again.secret == registration.secret
    assert [h["status"] for h in woo.list_webhooks(url)] == ["active"]


# ---- Stripe -----------------------------------------------------------------------------------


@pytest.fixture
def stripe(sandbox):
    conn = StripeConnector(DEFAULT_SECRET_KEY, base_url=sandbox.url)
    yield conn
    conn.close()


def stripe_post(sandbox, path: str, **data: Any) -> dict[str, Any]:
    answer = httpx.post(f"{sandbox.url}{path}", data=data,
                        headers={"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_stripe_charge_and_refund_events_signed_with_the_endpoint_secret(sandbox, receiver,
                                                                         stripe):
    url = f"{receiver.url}/stripe"
    registration = stripe.register_webhooks(url)
    assert registration.secret and registration.secret.startswith("whsec_")
    receiver.verify["stripe"] = ("stripe", registration.secret)
    receiver.fail["stripe"] = 1  # the first attempt meets a 500: Stripe tries again
    currency = sandbox.platform("stripe").config.currencies[0]
    charge = stripe_post(sandbox, "/v1/charges", amount="2000", currency=currency,
                         source="tok_visa")
    stripe_post(sandbox, "/v1/refunds", charge=charge["id"], amount="500")
    found = receiver.wait_for(4, "stripe")
    assert [r.status for r in found[:1]] == [500]
    idle(sandbox, "stripe")
    delivered = [r for r in receiver.received if r.path == "stripe" and r.status == 200]
    events = {e.event: e for got in delivered
              for e in normalized(verified("stripe", got, registration.secret))}
    assert set(events) == {"charge.succeeded", "charge.refunded", "refund.created"}
    assert events["charge.succeeded"].resource_id == charge["id"]
    assert events["charge.succeeded"].data["amount"] == 2000
    assert events["charge.refunded"].data["previousAttributes"]["amount_refunded"] == 0
    assert events["refund.created"].data["charge"] == charge["id"]
    log = sandbox.control_platform("stripe")["webhooks"]["log"]
    retried = next(d for d in log if len(d["attempts"]) == 2)
    assert [a["status"] for a in retried["attempts"]] == [500, 200]


# ---- QuickBooks -------------------------------------------------------------------------------


def test_quickbooks_portal_settings_then_signed_change_notifications(sandbox, receiver):
    qbo = sandbox.platform("quickbooks")
    portal = httpx.post(f"{sandbox.url}/__sandbox/quickbooks/webhooks",
                        json={"url": f"{receiver.url}/qbo"}).json()  # fmt: skip
    token = portal["verifier_token"]
    receiver.verify["qbo"] = ("quickbooks", token)
    invoice, other = qbo.company.txns["Invoice"][:2]
    before = invoice["SyncToken"]
    sandbox.control_platform("quickbooks", touch={"entity": "Invoice", "id": invoice["Id"]})
    sandbox.control_platform("quickbooks", delete={"entity": "Invoice", "id": other["Id"]})
    found = receiver.wait_for(2, "qbo")
    assert all(r.status == 200 for r in found)
    events = [e for got in found for e in normalized(verified("quickbooks", got, token))]
    assert [(e.event, e.resource_id) for e in events] == [
        ("invoice.updated", invoice["Id"]), ("invoice.deleted", other["Id"])]
    assert events[0].data["realmId"] == qbo.config.realm_id
    assert int(invoice["SyncToken"]) == int(before) + 1
    # Intuit's newer CloudEvents envelope, chosen in the portal, normalizes the same way.
    httpx.post(f"{sandbox.url}/__sandbox/quickbooks/webhooks", json={
        "url": f"{receiver.url}/qbo", "verifier_token": token, "format": "cloudevents"})
    customer = qbo.company.lists["Customer"][0]
    sandbox.control_platform("quickbooks", touch={"entity": "Customer", "id": customer["Id"]})
    (got,) = receiver.wait_for(3, "qbo")[2:]
    check = verified("quickbooks", got, token)
    (event,) = normalized(check)
    assert (event.event, event.resource_id) == ("customer.updated", customer["Id"])
    assert event.event_id == check.event_id == got_json(got)[0]["id"]


# ---- Xero -------------------------------------------------------------------------------------


def xero_token(sandbox) -> str:
    answer = httpx.post(f"{sandbox.url}/connect/token", auth=(DEFAULT_CLIENT_ID,
                        DEFAULT_CLIENT_SECRET), data={"grant_type": "refresh_token",
                        "refresh_token": DEFAULT_REFRESH_TOKEN})  # fmt: skip
    assert answer.status_code == 200, answer.text
    # Refresh tokens are single-use: put the default back for whoever needs it next.
    sandbox.control_platform("xero", add_refresh_token=DEFAULT_REFRESH_TOKEN)
    return answer.json()["access_token"]


def wait_status(sandbox, wanted: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        view = httpx.get(f"{sandbox.url}/__sandbox/xero/webhooks").json()
        if view["status"] in wanted:
            return view
        time.sleep(0.05)
    raise AssertionError(f"xero subscription never reached {wanted}: {view}")


def test_xero_intent_to_receive_then_a_created_invoice_arrives(sandbox, receiver):
    key = "xero-webhook-key-for-tests"
    receiver.verify["xero"] = ("xero", key)
    saved = httpx.post(f"{sandbox.url}/__sandbox/xero/webhooks",
                       json={"url": f"{receiver.url}/xero", "key": key}).json()
    assert saved["status"] in ("INTENT_TO_RECEIVE_PENDING", "OK")
    view = wait_status(sandbox, {"OK", "INTENT_TO_RECEIVE_FAILED"})
    assert view["status"] == "OK"
    assert [(i["signed"], i["status"]) for i in view["intentToReceive"]] == [
        (True, 200), (False, 401)]
    handshake = receiver.wait_for(2, "xero")
    assert verified("xero", handshake[0], key).intent_to_receive
    assert handshake[0].body != handshake[1].body  # fresh entropy each time

    org = sandbox.platform("xero").organisations[0]
    access = xero_token(sandbox)
    answer = httpx.put(f"{sandbox.url}/api.xro/2.0/Invoices", headers={
        "Authorization": f"Bearer {access}", "xero-tenant-id": org.tenant_id,
        "Accept": "application/json"}, json={"Invoices": [
            {"Type": "ACCREC", "Contact": {"ContactID": org.contacts[0].id},
             "LineItems": [{"Description": "Widget", "Quantity": 1, "UnitAmount": 10,
                            "AccountCode": "200"}]} for _ in range(2)]})
    assert answer.status_code == 200, answer.text
    ids = [i["InvoiceID"] for i in answer.json()["Invoices"]]
    (got,) = receiver.wait_for(3, "xero")[2:]
    assert got.status == 200
    events = normalized(verified("xero", got, key))
    assert [(e.event, e.resource_id) for e in events] == [("invoice.created", i) for i in ids]
    assert {e.data["tenantId"] for e in events} == {org.tenant_id}


def test_xero_intent_to_receive_fails_for_an_endpoint_that_accepts_anything(sandbox,
                                                                           receiver):
    httpx.post(f"{sandbox.url}/__sandbox/xero/webhooks",
               json={"url": f"{receiver.url}/xero-lax"})  # this path never checks
    view = wait_status(sandbox, {"OK", "INTENT_TO_RECEIVE_FAILED"})
    assert view["status"] == "INTENT_TO_RECEIVE_FAILED"
    assert [i["status"] for i in view["intentToReceive"]] == [200, 200]
    org = sandbox.platform("xero").organisations[0]
    assert sandbox.platform("xero").webhooks.events(org, "INVOICE", "CREATE",
                                                    [("x", "Invoices")]) == []
