"""Connectors register webhooks on the platforms that have an API for it (Shopify GraphQL,
WooCommerce REST, Stripe), safely more than once, and remove them again; QuickBooks and Xero
say the developer portal is the place. Shopify and WooCommerce fetch orders by id as they
are now, for the inbox processor."""

from __future__ import annotations

import httpx
import pytest

from connectors.quickbooks import QuickBooksConnector
from connectors.shopify import DEFAULT_WEBHOOK_TOPICS, ShopifyConnector
from connectors.stripe import DEFAULT_WEBHOOK_EVENTS, StripeConnector
from connectors.webhook_registration import WebhookRegistration
from connectors.woocommerce import WooCommerceConnector
from connectors.xero import XeroConnector
from sandbox.stripe import StripeSandboxConfig
from sandbox.stripe.config import DEFAULT_SECRET_KEY
from sandbox.woocommerce import WooCommerceSandboxConfig
from sandbox.woocommerce.config import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET
from tests.conftest import Sandbox

CALLBACK = "https://hooks.example/v1/webhooks/{platform}/int_1"


@pytest.fixture(scope="module")
def sandbox():
    server = Sandbox(size=120, seed=8, currency="MYR", throttling=False, max_query_cost=None,
                     woocommerce=WooCommerceSandboxConfig(size=150, seed=8),
                     stripe=StripeSandboxConfig(size=20, seed=8))  # fmt: skip
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh(sandbox):
    for name in ("shopify", "woocommerce", "stripe"):
        sandbox.platform(name).webhooks.sender.reset()


@pytest.fixture
def shopify(sandbox):
    with ShopifyConnector("sandbox.myshopify.com", "shpat_sandbox_token",
                          base_url=sandbox.url) as conn:  # fmt: skip
        yield conn


@pytest.fixture
def woo(sandbox):
    with WooCommerceConnector("https://bigledger-sandbox.example", DEFAULT_CONSUMER_KEY,
                              DEFAULT_CONSUMER_SECRET, base_url=sandbox.url) as conn:
        yield conn


@pytest.fixture
def stripe(sandbox):
    with StripeConnector(DEFAULT_SECRET_KEY, base_url=sandbox.url) as conn:
        yield conn


# ---- registration -----------------------------------------------------------------------------


def test_shopify_registers_each_topic_once_and_unregisters(shopify):
    url = CALLBACK.format(platform="shopify")
    first = shopify.register_webhooks(url)
    assert first.topics == list(DEFAULT_WEBHOOK_TOPICS)
    assert len(first.created) == len(DEFAULT_WEBHOOK_TOPICS) and first.reused == ()
    assert first.secret is None and not first.manual
    again = shopify.register_webhooks(url, ["ORDERS_CREATE", "orders/updated",
                                            "orders/fulfilled"])  # fmt: skip
    assert again.created and len(again.created) == 1  # only the new topic
    assert set(again.reused) == set(first.ids[:2])
    assert again.topics == ["orders/create", "orders/updated", "orders/fulfilled"]
    listed = shopify.list_webhook_subscriptions(url)
    assert len(listed) == len(DEFAULT_WEBHOOK_TOPICS) + 1
    assert shopify.list_webhook_subscriptions("https://elsewhere.example/") == []
    removed = shopify.unregister_webhooks(url)
    assert sorted(removed.removed) == sorted(s["id"] for s in listed)
    assert shopify.list_webhook_subscriptions(url) == []
    assert shopify.unregister_webhooks(url).removed == ()


def test_shopify_topics_are_checked(shopify):
    with pytest.raises(ValueError):
        shopify.register_webhooks(CALLBACK.format(platform="shopify"), ["orders create"])


def test_woocommerce_registration_is_idempotent_and_keeps_one_secret(woo):
    url = CALLBACK.format(platform="woocommerce")
    first = woo.register_webhooks(url)
    assert len(first.created) == 5 and first.secret and len(first.secret) >= 40
    hooks = woo.list_webhooks(url)
    assert {h["topic"] for h in hooks} == set(first.topics)
    assert {h["secret"] for h in hooks} == {first.secret}
    assert all(h["status"] == "active" for h in hooks)
    again = woo.register_webhooks(url)
    assert again.created == () and sorted(again.reused) == sorted(first.created)
    assert again.secret == first.secret
    # An explicit secret (the one the integration stores) is pushed to every webhook.
    chosen = woo.register_webhooks(url, secret="integration-secret-&amp;-kept")
    assert chosen.secret == "integration-secret-&amp;-kept"
    assert {h["secret"] for h in woo.list_webhooks(url)} == {chosen.secret}
    removed = woo.unregister_webhooks(url)
    assert sorted(removed.removed) == sorted(first.created)
    assert woo.list_webhooks(url) == []


def test_woocommerce_removes_extra_copies_of_a_topic(woo, sandbox):
    url = CALLBACK.format(platform="woocommerce")
    auth = (DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)
    for _ in range(2):
        answer = httpx.post(f"{sandbox.url}/wp-json/wc/v3/webhooks", auth=auth, json={
            "topic": "order.updated", "delivery_url": url, "secret": "old"})
        assert answer.status_code == 201
    result = woo.register_webhooks(url, ["order.updated"])
    assert len(result.reused) == 1 and len(result.removed) == 1
    (hook,) = woo.list_webhooks(url)
    assert hook["secret"] == "old" == result.secret  # the secret they shared is kept


def test_stripe_secret_comes_once_and_a_reused_endpoint_is_updated(stripe, sandbox):
    url = CALLBACK.format(platform="stripe")
    first = stripe.register_webhooks(url)
    assert first.secret and first.secret.startswith("whsec_")
    assert first.topics == list(DEFAULT_WEBHOOK_EVENTS) and len(first.created) == 1
    (endpoint,) = stripe.list_webhook_endpoints(url)
    assert "secret" not in endpoint
    again = stripe.register_webhooks(url, ["charge.succeeded", "payout.paid"])
    assert again.secret is None and again.reused == first.created and again.created == ()
    (endpoint,) = stripe.list_webhook_endpoints(url)
    assert endpoint["enabled_events"] == ["charge.succeeded", "payout.paid"]
    # A stray second endpoint for the same URL would deliver everything twice: removed.
    stray = httpx.post(f"{sandbox.url}/v1/webhook_endpoints",
                       headers={"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"},
                       data={"url": url, "enabled_events[]": "*"}).json()
    third = stripe.register_webhooks(url, ["charge.succeeded", "payout.paid"])
    assert third.removed == (stray["id"],) and third.reused == first.created
    removed = stripe.unregister_webhooks(url)
    assert removed.removed == first.created
    assert stripe.list_webhook_endpoints(url) == []


def test_stripe_refuses_unknown_events(stripe):
    from bigledger.errors import IntegrationError

    with pytest.raises(IntegrationError):
        stripe.register_webhooks(CALLBACK.format(platform="stripe"), ["charge.bogus"])


def test_quickbooks_and_xero_point_to_the_developer_portal():
    qbo = QuickBooksConnector("9341452731066184", "client", "secret", "refresh-token",
                              base_url="https://sandbox-quickbooks.api.intuit.com")
    xero = XeroConnector("client", "secret", "refresh-token", tenant_id="tenant")
    for conn, platform, secret_name in ((qbo, "quickbooks", "verifier token"),
                                        (xero, "xero", "webhook key")):  # fmt: skip
        url = CALLBACK.format(platform=platform)
        result = conn.register_webhooks(url)
        assert result.manual and result.subscriptions == () and result.secret is None
        assert url in result.instructions and secret_name in result.instructions
        assert "developer portal" in result.instructions
        gone = conn.unregister_webhooks(url)
        assert gone.manual and url in gone.instructions
        conn.close()


def test_a_registration_never_shows_its_secret():
    result = WebhookRegistration("woocommerce", "https://h.example/", secret="s3cr3t-value")
    assert "s3cr3t-value" not in repr(result)
    assert "s3cr3t-value" not in repr(result.to_dict())
    assert result.to_dict()["secretIssued"] is True


# ---- current orders by id ---------------------------------------------------------------------


def test_shopify_fetches_current_orders_by_id_in_batches(shopify, sandbox):
    store = sandbox.platform("shopify").store
    paid = next(h.order_id for h in map(store.header, range(120))
                if h.financial == "PAID" and not h.cancelled)  # fmt: skip
    before = {o["legacyResourceId"]: o for o in shopify.fetch_orders_by_ids([str(paid)])}
    assert before[str(paid)]["totalRefundedSet"]["shopMoney"]["amount"] == "0.00"
    answer = httpx.post(f"{sandbox.url}/__sandbox/orders/{paid}/update",
                        json={"action": "refund", "amount": "2.00"})
    assert answer.status_code == 200, answer.text
    ids = [f"gid://shopify/Order/{5_500_000_000_000 + i}" for i in range(0, 120, 2)]
    ids += [str(paid), "5500000009999", str(paid)]  # unknown and repeated ids
    orders = shopify.fetch_orders_by_ids(ids)
    found = {o["legacyResourceId"]: o for o in orders}
    assert len(orders) == len(found) == 61  # 60 + the refunded one; unknown left out
    now = found[str(paid)]
    assert now["totalRefundedSet"]["shopMoney"]["amount"] == "2.00"
    assert now["updatedAt"] == answer.json()["updatedAt"]
    assert now["refunds"] and now["lineItems"]["pageInfo"]["hasNextPage"] is False
    with pytest.raises(ValueError):
        shopify.fetch_orders_by_ids(["#1001"])


def test_woocommerce_fetches_current_orders_by_id(woo, sandbox):
    store = sandbox.platform("woocommerce")
    ids = [str(store.data.order(i)["id"]) for i in range(0, 150, 1)]  # two requests
    orders = woo.fetch_orders_by_ids([*ids, "999999"])
    assert sorted(o["id"] for o in orders) == sorted(map(int, ids))
    target = store.data.order(7)
    status = "on-hold" if target["status"] != "on-hold" else "pending"
    answer = httpx.post(f"{sandbox.url}/__sandbox/woocommerce/orders/{target['id']}/update",
                        json={"status": status})
    assert answer.status_code == 200, answer.text
    (now,) = woo.fetch_orders_by_ids([str(target["id"])])
    assert now["status"] == status and now["date_modified_gmt"] == answer.json()[
        "date_modified_gmt"]
    assert now["total"] == target["total"]
    with pytest.raises(ValueError):
        woo.fetch_orders_by_ids(["abc"])
