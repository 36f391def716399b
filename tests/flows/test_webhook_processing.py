"""The webhook inbox into the ledger: deliveries kept by the API are processed by the
process-webhooks flow — an order event loads the order as Shopify has it now, so repeated,
late and out-of-order deliveries load the same current state; a stream event starts that
stream's incremental sync; a pass that cannot reach the platform leaves the deliveries in
the inbox for the next one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from ledger.models import SalesOrder, WebhookDelivery
from ledger.reports import trial_balance
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")
SECRET = "shopify-app-secret-for-tests"
TABLES = ("sales_orders", "sales_order_lines", "journal_entries", "journal_lines",
          "external_refs")


@pytest.fixture
def shop(ledger_engine, sandbox):
    from ledger.integrations import create_integration

    iid = f"int_hooks_{uuid.uuid4().hex[:8]}"  # Prefect's runs outlive the ledger's rows

    with ledger_engine.begin() as conn:
        create_integration(conn, "shopify", "Hooked shop",
                           {"shopDomain": "sandbox.myshopify.com",
                            "accessToken": "shpat_sandbox_token", "webhookSecret": SECRET},
                           {"baseUrl": sandbox.url},
                           {"defaultTaxCode": "SST", "defaultPaymentAccount": "acc_stripe"},
                           integration_id=iid)
    with TestClient(create_app()) as client:
        yield iid, client


def deliver(client, iid: str, topic: str, body: dict, event_id: str) -> dict:
    raw = json.dumps(body).encode()
    digest = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest())
    r = client.post(f"/v1/webhooks/shopify/{iid}", content=raw, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest.decode(), "X-Shopify-Event-Id": event_id,
        "X-Shopify-Shop-Domain": "sandbox.myshopify.com",
        "X-Shopify-Triggered-At": body.get("updated_at", "2026-01-01T00:00:00Z")})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def order_ids(sandbox, n: int) -> list[str]:
    from connectors.shopify import OrderFilter, ShopifyConnector

    conn = ShopifyConnector("sandbox.myshopify.com", "shpat_sandbox_token", base_url=sandbox.url)
    page = next(iter(conn.iter_order_pages(OrderFilter(), first=n)))
    return [o["legacyResourceId"] for o in page.records[:n]]


def inbox(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(
            WebhookDelivery.status, WebhookDelivery.attempts, WebhookDelivery.error)
            .order_by(WebhookDelivery.id)).mappings()]


def test_order_events_load_the_current_orders_once(shop, sandbox, ledger_engine):
    from flows.webhooks import process_webhooks

    iid, client = shop
    first, second = order_ids(sandbox, 2)
    # A stale body (old total) and a newer one, delivered newest first, one of them twice.
    stale = {"id": int(first), "total_price": "1.00", "updated_at": "2020-01-01T00:00:00Z"}
    deliver(client, iid, "orders/updated", {**stale, "updated_at": "2020-01-02T00:00:00Z"},
            "evt-2")
    deliver(client, iid, "orders/create", stale, "evt-1")
    assert deliver(client, iid, "orders/create", stale, "evt-1")["duplicate"] is True
    deliver(client, iid, "orders/paid", {"id": int(second)}, "evt-3")

    result = process_webhooks(deliver=False)
    assert result["deliveries_processed"] == 3 and result["orders_fetched"] == 2
    with ledger_engine.connect() as conn:
        orders = {o.external_id: o for o in conn.execute(select(SalesOrder))}
        assert trial_balance(conn)["balanced"]
    assert set(orders) == {first, second}
    assert orders[first].total_minor != 100  # the platform's current order, not the stale body
    assert [d["status"] for d in inbox(ledger_engine)] == ["processed"] * 3

    # A refund upstream, then a late delivery of the first event again: the books follow the
    # platform (the refund is in), and processing the same state again changes nothing.
    loaded = dump(ledger_engine, TABLES)
    httpx.post(f"{sandbox.url}/__sandbox/orders/{first}/update", json={"action": "refund"})
    deliver(client, iid, "refunds/create", {"id": 1, "order_id": int(first)}, "evt-4")
    deliver(client, iid, "orders/updated", stale, "evt-late")
    process_webhooks(deliver=False)
    with ledger_engine.connect() as conn:
        assert trial_balance(conn)["balanced"]
        refunded = conn.execute(select(SalesOrder.refunded_minor).where(
            SalesOrder.external_id == first)).scalar_one()
    assert refunded == orders[first].total_minor
    assert dump(ledger_engine, TABLES) != loaded
    before = dump(ledger_engine, TABLES)
    deliver(client, iid, "orders/updated", stale, "evt-5")
    process_webhooks(deliver=False)
    assert dump(ledger_engine, TABLES) == before


def test_a_pass_that_cannot_reach_the_platform_keeps_the_deliveries(shop, sandbox,
                                                                    ledger_engine):
    from flows.webhooks import process_webhooks

    iid, client = shop
    (first,) = order_ids(sandbox, 1)
    deliver(client, iid, "orders/create", {"id": int(first)}, "evt-down")
    sandbox.control(faults={"token_revoked": True})
    try:
        result = process_webhooks(deliver=False)
    finally:
        sandbox.control(clear_faults=True)
    assert result["deliveries_failed"] == 1
    (row,) = inbox(ledger_engine)
    assert row["status"] == "received" and row["attempts"] == 1 and row["error"]
    assert process_webhooks(deliver=False)["deliveries_processed"] == 1
    with ledger_engine.connect() as conn:
        assert [o.external_id for o in conn.execute(select(SalesOrder))] == [first]


def test_stream_events_start_the_incremental_sync_once(shop, ledger_engine):
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    from flows.serve import build_deployments
    from flows.webhooks import process_webhooks

    for deployment in build_deployments():
        if deployment.flow_name == "shopify-sync-products":
            deployment.apply()
    iid, client = shop
    for n in range(3):  # three product events: one incremental products sync
        deliver(client, iid, "products/update", {"id": 632910392 + n, "title": "Widget"},
                f"evt-p{n}")
    deliver(client, iid, "app/uninstalled", {"id": 1}, "evt-app")
    result = process_webhooks(deliver=False)
    assert result["syncs_started"] == 1 and result["events_ignored"] == 1
    with get_client(sync_client=True) as prefect:
        runs = prefect.read_flow_runs(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=["default"])))
    started = [r for r in runs if r.parameters.get("integration_id") == iid]
    assert len(started) == 1 and "webhook" in started[0].tags
