"""GET /v1/integrations/{integrationId}/webhooks/{webhookId}/deliveries: a subscription's
deliveries newest first with every attempt, paged; deleting the subscription removes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from connectors.outbound import retry_delay
from ledger.models import OutboundAttempt, OutboundDelivery
from ledger.outbox import claim_delivery, due_deliveries, enqueue_events, record_attempt
from tests.conftest import TEST_API_KEY
from tests.ledger.helpers import make_integration
from tests.ledger.test_outbox import event

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
SECRET = "webhook_verification_secret"
T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def client(ledger_engine, monkeypatch):
    import connectors.outbound as outbound

    monkeypatch.setattr(outbound, "_default_resolver", lambda host, port: ["93.184.215.14"])
    with ledger_engine.begin() as conn:
        make_integration(conn)
        make_integration(conn, "int_other")
    with TestClient(create_app()) as c:
        yield c


def subscribe(client, integration: str = "int_shopify_test") -> str:
    r = client.post(f"/v1/integrations/{integration}/webhooks", headers=AUTH,
                    json={"events": ["*"], "endpoint": "https://mystore.com/hook",
                          "secret": SECRET, "active": True})
    assert r.status_code == 200, r.text
    return r.json()["data"]["webhookId"]


def attempt(engine, now: datetime, outcomes: dict[str, tuple[int | None, str | None, bool]]):
    """Claim what is due at `now` and record the given outcome per event id."""
    with engine.begin() as conn:
        ids = due_deliveries(conn, now, 100)
    for delivery_id in ids:
        with engine.begin() as conn:
            claimed = claim_delivery(conn, delivery_id, now, 60)
            code, error, ok = outcomes[claimed.event_id]
            record_attempt(conn, claimed, now=now, duration_ms=40, status_code=code,
                           error=error, succeeded=ok, retry_delay=retry_delay)


def test_deliveries_newest_first_with_their_attempts(client, ledger_engine):
    wid = subscribe(client)
    with ledger_engine.begin() as conn:
        enqueue_events(conn, "int_shopify_test", [event("e1", resource="1"),
                                                  event("e2", resource="2")], now=T0)
        enqueue_events(conn, "int_shopify_test", [event("e3", resource="3")], now=T0)
    attempt(ledger_engine, T0, {"e1": (None, "connection failed: refused", False),
                                "e2": (200, None, True), "e3": (500, None, False)})
    attempt(ledger_engine, T0 + timedelta(seconds=10), {"e1": (200, None, True),
                                                        "e3": (503, None, False)})

    r = client.get(f"/v1/integrations/int_shopify_test/webhooks/{wid}/deliveries",
                   headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["data"]["hasMore"] is False
    items = body["data"]["items"]
    assert [d["eventId"] for d in items] == ["e3", "e2", "e1"]
    e3, e2, e1 = items
    assert (e3["status"], e3["attempts"], e3["lastStatusCode"]) == ("pending", 2, 503)
    assert e3["nextAttemptAt"] == "2030-01-01T00:00:40Z"  # 10 s + the second delay (30 s)
    assert [(a["attempt"], a["statusCode"], a["succeeded"]) for a in e3["attemptHistory"]] == [
        (1, 500, False), (2, 503, False)]
    assert (e2["status"], e2["deliveredAt"], e2["nextAttemptAt"]) == (
        "delivered", "2030-01-01T00:00:00Z", None)
    assert e1["status"] == "delivered" and e1["attempts"] == 2
    assert e1["attemptHistory"][0] == {
        "attempt": 1, "attemptedAt": "2030-01-01T00:00:00Z", "durationMs": 40,
        "statusCode": None, "error": "connection failed: refused", "succeeded": False}
    assert e1["event"] == "order.created" and e1["resource"] == "order:1"
    assert SECRET not in r.text

    pending = client.get(f"/v1/integrations/int_shopify_test/webhooks/{wid}/deliveries",
                         headers=AUTH, params={"status": "pending"}).json()["data"]["items"]
    assert [d["eventId"] for d in pending] == ["e3"]


def test_paging_with_limit_and_before(client, ledger_engine):
    wid = subscribe(client)
    with ledger_engine.begin() as conn:
        enqueue_events(conn, "int_shopify_test",
                       [event(f"e{n}", resource=str(n)) for n in range(5)], now=T0)
    url = f"/v1/integrations/int_shopify_test/webhooks/{wid}/deliveries"
    seen, before = [], None
    while True:
        params = {"limit": 2} | ({"before": before} if before else {})
        page = client.get(url, headers=AUTH, params=params).json()["data"]
        seen += [d["eventId"] for d in page["items"]]
        assert len(page["items"]) <= 2
        if not page["hasMore"]:
            break
        before = page["nextBefore"]
    assert seen == ["e4", "e3", "e2", "e1", "e0"]
    assert client.get(url, headers=AUTH, params={"limit": 0}).status_code == 422
    assert client.get(url, headers=AUTH, params={"status": "lost"}).status_code == 422


def test_another_integrations_subscription_is_not_found(client):
    wid = subscribe(client, "int_other")
    r = client.get(f"/v1/integrations/int_shopify_test/webhooks/{wid}/deliveries",
                   headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    assert client.get("/v1/integrations/int_shopify_test/webhooks/whk_nope/deliveries",
                      headers=AUTH).status_code == 404


def test_deleting_the_subscription_removes_its_deliveries(client, ledger_engine):
    wid, kept = subscribe(client), subscribe(client)
    with ledger_engine.begin() as conn:
        enqueue_events(conn, "int_shopify_test", [event("e1")], now=T0)
    attempt(ledger_engine, T0, {"e1": (500, None, False)})
    assert client.delete(f"/v1/integrations/int_shopify_test/webhooks/{wid}",
                         headers=AUTH).status_code == 200
    with ledger_engine.connect() as conn:
        assert conn.execute(select(OutboundDelivery.subscription_id)).scalars().all() == [kept]
        assert conn.execute(select(func.count()).select_from(OutboundAttempt)).scalar() == 1
    assert client.get(f"/v1/integrations/int_shopify_test/webhooks/{wid}/deliveries",
                      headers=AUTH).status_code == 404
