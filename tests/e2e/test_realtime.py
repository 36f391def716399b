"""Real time over real HTTP: setting up Shopify, WooCommerce and Stripe registers their
webhooks in the sandboxes (pointing at the API) and an hourly sweep in Prefect; events the
sandboxes generate arrive signed, are kept once, processed into the ledger by the
process-webhooks flow, and reach an outbound subscriber signed, once each."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.app import create_app
from connectors.outbound import verify
from ledger.db import transaction
from ledger.integrations import get_integration
from ledger.models import Integration, SalesOrder, WebhookDelivery
from ledger.reports import trial_balance
from sandbox.stripe.config import DEFAULT_SECRET_KEY
from sandbox.woocommerce.config import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET
from tests.conftest import TEST_API_KEY, LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]
AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
SUBSCRIBER_SECRET = "subscriber-secret-0123456789"


class Subscriber(LiveServer):
    """An outbound subscriber that keeps what it receives and checks every signature."""

    def __init__(self) -> None:
        self.received: list[dict] = []

        async def hook(request: Request) -> Response:
            body = await request.body()
            assert verify(body, request.headers["BigLedger-Signature"], SUBSCRIBER_SECRET,
                          int(time.time()))
            self.received.append(json.loads(body))
            return Response(status_code=204)

        super().__init__(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))


@pytest.fixture
def api(ledger_engine, ledger_url, sandbox, monkeypatch):
    from bigledger.settings import get_settings
    from flows.serve import build_deployments

    if ledger_url.startswith("sqlite"):  # inbox, loads and outbox run on both in their own tests
        pytest.skip("the real-time path runs on the PostgreSQL ledger, as in production")
    for deployment in build_deployments():  # what the sweeps and stream events start
        if deployment.flow_name in ("shopify-sync-orders", "shopify-sync-products",
                                    "woocommerce-sync-orders", "woocommerce-sync-catalog",
                                    "stripe-sync-payments"):
            deployment.apply()
    server = LiveServer(create_app())
    monkeypatch.setenv("BIGLEDGER_PUBLIC_URL", server.url)
    monkeypatch.setenv("BIGLEDGER_ALLOW_PRIVATE_WEBHOOK_ENDPOINTS", "true")
    monkeypatch.setenv("BIGLEDGER_ALLOW_INSECURE_HTTP", "true")
    get_settings.cache_clear()
    for name in ("woocommerce", "stripe"):
        sandbox.control_platform(name, webhooks={"reset": True})
    client = httpx.Client(base_url=server.url, headers=AUTH, timeout=30)
    try:
        yield client
    finally:
        client.close()
        server.stop()
        # Orders and charges made here must not reach other tests: same data, new history.
        for name in ("woocommerce", "stripe"):
            seed = sandbox.platform(name).config.seed
            sandbox.control_platform(name, webhooks={"reset": True}, dataset={"seed": seed})


def wait_for(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def kept(engine, integration_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.integration_id == integration_id)).scalar_one()


def test_shopify_orders_arrive_by_webhook_and_go_out_to_subscribers(api, sandbox,
                                                                     ledger_engine):
    from flows.webhooks import process_webhooks

    secret = sandbox.platform("shopify").config.app_client_secret
    r = api.post("/v1/integrations/shopify/setup", json={
        "name": "Hooked", "credentials": {"shopDomain": "sandbox.myshopify.com",
                                          "accessToken": "shpat_sandbox_token",
                                          "webhookSecret": secret},
        "settings": {"baseUrl": sandbox.url},
        "mapping": {"defaultTaxCode": "SST", "defaultPaymentAccount": "acc_stripe"}})
    assert r.status_code == 200, r.text
    setup = r.json()["data"]
    iid, hooks = setup["id"], setup["webhooks"]
    assert hooks["registered"] is True and secret not in r.text
    assert hooks["callbackUrl"].endswith(f"/v1/webhooks/shopify/{iid}")
    topics = {s["topic"].lower().replace("_", "/") for s in hooks["subscriptions"]}
    assert {"orders/create", "orders/updated", "refunds/create"} <= topics
    assert [s["operation"] for s in hooks["sweep"]] == ["sync_orders", "sync_products"]
    assert all(s["kind"] == "sweep" and s["nextSync"] for s in hooks["sweep"])

    subscriber = Subscriber()
    try:
        sub = api.post(f"/v1/integrations/{iid}/webhooks", json={
            "events": ["order.created", "order.paid"], "endpoint": f"{subscriber.url}/hook",
            "secret": SUBSCRIBER_SECRET})
        assert sub.status_code == 200, sub.text
        created = httpx.post(f"{sandbox.url}/__sandbox/orders/create",
                             json={"financial_status": "PAID"}).json()
        wait_for(lambda: kept(ledger_engine, iid) >= 1)
        result = process_webhooks()
        assert result["deliveries_processed"] >= 1 and result["orders_fetched"] >= 1
        with ledger_engine.connect() as conn:
            orders = set(conn.execute(select(SalesOrder.external_id).where(
                SalesOrder.integration_id == iid)).scalars())
            assert trial_balance(conn)["balanced"]
        order_id = str(created.get("legacyResourceId") or created.get("id"))
        assert order_id in orders
        wait_for(lambda: subscriber.received)
        events = [(e["event"], e["resourceId"]) for e in subscriber.received]
        assert ("order.created", order_id) in events
        assert len(events) == len(set(e["eventId"] for e in subscriber.received))
        process_webhooks()  # nothing new: nothing sent twice
        assert len(subscriber.received) == len(events)
    finally:
        subscriber.stop()


def test_woocommerce_and_stripe_issue_their_signing_secrets_at_setup(api, sandbox,
                                                                    ledger_engine):
    from flows.webhooks import process_webhooks

    woo = api.post("/v1/integrations/woocommerce/setup", json={
        "name": "Woo", "credentials": {"siteUrl": sandbox.url,
                                       "consumerKey": DEFAULT_CONSUMER_KEY,
                                       "consumerSecret": DEFAULT_CONSUMER_SECRET},
        "settings": {"baseUrl": sandbox.url}})
    assert woo.status_code == 200, woo.text
    woo_id = woo.json()["data"]["id"]
    assert woo.json()["data"]["webhooks"]["registered"] is True
    stripe = api.post("/v1/integrations/stripe/setup", json={
        "name": "Stripe", "credentials": {"secretKey": DEFAULT_SECRET_KEY},
        "settings": {"baseUrl": sandbox.url}})
    assert stripe.status_code == 200, stripe.text
    stripe_id = stripe.json()["data"]["id"]
    assert stripe.json()["data"]["webhooks"]["registered"] is True
    with ledger_engine.connect() as conn:
        records = {i.id: i for i in conn.execute(select(Integration))}
    with transaction() as conn:
        woo_secret = get_integration(conn, woo_id).credentials()["webhookSecret"]
        stripe_secret = get_integration(conn, stripe_id).credentials()["webhookEndpointSecret"]
    assert len(woo_secret) >= 32 and stripe_secret.startswith("whsec_")
    assert woo_secret not in woo.text and stripe_secret not in stripe.text
    assert woo_id in records and stripe_id in records

    order = httpx.post(f"{sandbox.url}/__sandbox/woocommerce/orders/create",
                       json={"status": "processing"}).json()
    charge = httpx.post(f"{sandbox.url}/v1/charges", auth=(DEFAULT_SECRET_KEY, ""),
                        data={"amount": "2500", "currency": "usd", "source": "tok_visa"})
    assert charge.status_code == 200, charge.text
    wait_for(lambda: kept(ledger_engine, woo_id) >= 1 and kept(ledger_engine, stripe_id) >= 1)
    result = process_webhooks()
    assert result["deliveries_processed"] >= 2 and result["syncs_started"] >= 1
    with ledger_engine.connect() as conn:
        woo_orders = set(conn.execute(select(SalesOrder.external_id).where(
            SalesOrder.integration_id == woo_id)).scalars())
    assert str(order["id"]) in woo_orders
