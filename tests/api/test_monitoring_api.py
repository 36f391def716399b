"""Status, health and analytics: the spec's shapes, with figures checked against runs whose
counters, outcomes and durations are known."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from ledger.db import transaction
from ledger.inbox import IncomingDelivery, mark_attempt_failed, store_deliveries
from ledger.integrations import create_integration
from ledger.models import WebhookDelivery, utcnow
from ledger.syncs import (
    RecordFailure,
    add_counters,
    create_sync_run,
    record_failures,
    update_sync_run,
)
from tests.conftest import TEST_API_KEY, make_shopify_integration

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}


@pytest.fixture
def client(ledger_engine):
    with TestClient(create_app()) as c:
        yield c


def run(iid: str, counters: dict, status: str, *, hours_ago: float, seconds: float = 10,
        error_code: str | None = None) -> str:
    """A finished sync with known counters, created `hours_ago`, lasting `seconds`."""
    created = utcnow() - timedelta(hours=hours_ago)
    with transaction() as conn:
        sync = create_sync_run(conn, iid, "shopify.sync_orders", {})
        add_counters(conn, sync["id"], counters)
        update_sync_run(conn, sync["id"], status=status, created_at=created,
                        started_at=created, finished_at=created + timedelta(seconds=seconds),
                        error_code=error_code)
    return sync["id"]


def test_status_statistics_add_up_the_runs_of_each_period(client, ledger_engine):
    iid = make_shopify_integration(ledger_engine, "http://127.0.0.1:9", integration_id="int_m1")
    run(iid, {"ordersProcessed": 45, "ordersCreated": 42, "ordersFailed": 3,
              "productsCreated": 5, "productsUpdated": 10, "inventoryUpdated": 25},
        "completed_with_errors", hours_ago=2)
    old = run(iid, {"ordersProcessed": 242, "ordersCreated": 236, "ordersFailed": 6},
              "completed_with_errors", hours_ago=72)
    run(iid, {"ordersProcessed": 1000}, "completed", hours_ago=24 * 9)  # older than a week
    latest = run(iid, {"ordersProcessed": 0}, "completed", hours_ago=1)
    with transaction() as conn:
        record_failures(conn, old, iid, [RecordFailure("order", "shopify_order_789",
                                                       "VALIDATION_ERROR",
                                                       "Customer email already exists")])
    data = client.get(f"/v1/integrations/{iid}/status", headers=AUTH).json()["data"]
    day, week = data["statistics"]["last24Hours"], data["statistics"]["lastWeek"]
    assert (day["ordersProcessed"], day["ordersCreated"], day["ordersFailed"]) == (45, 42, 3)
    assert (day["productsUpdated"], day["inventoryUpdated"], day["syncs"]) == (15, 25, 2)
    assert (week["ordersProcessed"], week["ordersCreated"], week["ordersFailed"]) == \
        (287, 278, 9)
    assert week["successRate"] == 96.9  # the spec's example: (287 - 9) / 287
    assert data["status"] == "healthy"  # the newest sync completed
    error, = data["recentErrors"]
    assert (error["type"], error["orderId"], error["message"]) == \
        ("validation_error", "shopify_order_789", "Customer email already exists")
    assert data["lastSync"] is not None and latest


@pytest.mark.parametrize(("status", "code", "expected"), [
    ("completed_with_errors", None, "degraded"), ("failed", "PLATFORM_UNAVAILABLE", "failing"),
    ("failed", "AUTH_FAILED", "disconnected"), ("completed", None, "healthy")])
def test_status_follows_the_newest_sync(client, ledger_engine, status, code, expected):
    iid = make_shopify_integration(ledger_engine, "http://127.0.0.1:9", integration_id="int_m2")
    run(iid, {}, "failed", hours_ago=5, error_code="PLATFORM_UNAVAILABLE")
    run(iid, {}, status, hours_ago=1, error_code=code)
    data = client.get(f"/v1/integrations/{iid}/status", headers=AUTH).json()["data"]
    assert data["status"] == expected


def test_webhooks_that_cannot_be_processed_degrade_the_status(client, ledger_engine):
    iid = make_shopify_integration(ledger_engine, "http://127.0.0.1:9", integration_id="int_m3")
    run(iid, {}, "completed", hours_ago=1)
    with transaction() as conn:
        store_deliveries(conn, [IncomingDelivery(iid, "shopify", "evt-1", "orders/create",
                                                 [], b"{}")])
        (delivery_id,) = conn.execute(select(WebhookDelivery.id)).scalars()
        for _ in range(10):  # given up after the last attempt
            mark_attempt_failed(conn, [delivery_id], "platform down")
    data = client.get(f"/v1/integrations/{iid}/status", headers=AUTH).json()["data"]
    assert data["status"] == "degraded"


def test_health_checks_the_connection_live(client, ledger_engine, sandbox):
    iid = make_shopify_integration(ledger_engine, sandbox.url, integration_id="int_m4")
    data = client.get(f"/v1/integrations/{iid}/health", headers=AUTH).json()["data"]
    checks = {c["name"]: c for c in data["checks"]}
    assert data["status"] == "healthy"
    assert checks["connection"]["status"] == "healthy"
    assert isinstance(checks["connection"]["responseTime"], int)
    assert checks["webhook_endpoint"] == {"name": "webhook_endpoint", "status": "unknown",
                                          "lastReceived": None}
    rate = checks["rate_limits"]
    assert rate["status"] == "healthy" and 0 < rate["remaining"] <= rate["limit"]
    assert rate["resetTime"] is not None

    with transaction() as conn:
        store_deliveries(conn, [IncomingDelivery(iid, "shopify", "evt-h", "orders/create",
                                                 [], b"{}")])
    sandbox.control(faults={"token_revoked": True})
    try:
        data = client.get(f"/v1/integrations/{iid}/health", headers=AUTH).json()["data"]
    finally:
        sandbox.control(clear_faults=True)
    checks = {c["name"]: c for c in data["checks"]}
    assert data["status"] == "disconnected"
    assert checks["connection"]["error"]["code"] in ("AUTH_FAILED", "INVALID_CREDENTIALS")
    assert checks["webhook_endpoint"]["status"] == "healthy"
    assert checks["webhook_endpoint"]["lastReceived"] is not None
    assert "shpat_sandbox_token" not in str(data)


def test_analytics_summarises_every_integration(client, ledger_engine):
    shop = make_shopify_integration(ledger_engine, "http://127.0.0.1:9", integration_id="int_a1")
    with transaction() as conn:
        create_integration(conn, "stripe", "Stripe", {"secretKey": "sk_test_x"}, {}, {},
                           integration_id="int_a2")
    run(shop, {"ordersProcessed": 100, "ordersFailed": 2, "customersCreated": 7},
        "completed_with_errors", hours_ago=3, seconds=4)
    run(shop, {"ordersProcessed": 50, "productsUpdated": 9}, "completed", hours_ago=2,
        seconds=2)
    run("int_a2", {"paymentsProcessed": 30}, "completed", hours_ago=1, seconds=3)
    run("int_a2", {}, "failed", hours_ago=0.5, seconds=1, error_code="PLATFORM_UNAVAILABLE")
    run(shop, {"ordersProcessed": 999}, "completed", hours_ago=24 * 40)  # outside 30 days
    r = client.get("/v1/integrations/analytics", headers=AUTH)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["summary"] == {"activeIntegrations": 2, "totalSyncs": 4,
                               "successRate": 50.0,  # 2 of 4 loaded every record
                               "averageProcessingTime": 2.5}
    by_id = {i["integrationId"]: i for i in data["byIntegration"]}
    assert by_id["int_a1"]["type"] == "shopify" and by_id["int_a1"]["syncs"] == 2
    assert by_id["int_a1"]["dataVolume"]["ordersProcessed"] == 150
    assert by_id["int_a1"]["dataVolume"]["productsUpdated"] == 9
    assert by_id["int_a1"]["dataVolume"]["customersCreated"] == 7
    assert by_id["int_a1"]["status"] == "healthy" and by_id["int_a1"]["successRate"] == 50.0
    assert by_id["int_a2"]["status"] == "failing"
    assert by_id["int_a2"]["dataVolume"]["paymentsProcessed"] == 30
    week = client.get("/v1/integrations/analytics?days=0", headers=AUTH)
    assert week.status_code == 422
