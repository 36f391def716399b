"""The outbox: which events each subscription gets (once), the order they become due per
resource, the retry schedule to giving up, and claims two senders cannot both win."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from connectors.outbound import RETRY_DELAYS, retry_delay
from ledger.models import OutboundAttempt, OutboundDelivery
from ledger.outbox import (
    claim_delivery,
    count_pending,
    due_deliveries,
    enqueue_events,
    list_deliveries,
    record_attempt,
)
from ledger.subscriptions import create_subscription, delete_subscription, update_subscription
from tests.ledger.helpers import make_integration

T0 = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
ENDPOINT = "https://hooks.example.com/bigledger"


def event(event_id: str, resource: str = "1001", name: str = "order.created",
          minute: int = 0, resource_type: str = "order") -> dict:
    """A normalized event as WebhookEvent.to_spec() gives it."""
    at = (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
    return {"event": name, "source": "shopify", "integrationId": "int_shopify_test",
            "timestamp": at, "eventId": event_id, "resourceType": resource_type,
            "resourceId": resource, "topic": "orders/create", "data": {"orderId": resource}}


def subscribe(conn, events: list[str], active: bool = True) -> str:
    return create_subscription(conn, "int_shopify_test", events, ENDPOINT,
                               "whsec_subscriber_secret", active)["id"]


def enqueue(conn, events: list[dict]) -> int:
    return enqueue_events(conn, "int_shopify_test", events, now=T0)


def setup_integration(engine) -> None:
    with engine.begin() as conn:
        make_integration(conn)


def claim_due(engine, now: datetime):
    """Claim every delivery due at `now`, as a sender would (each claim committed)."""
    with engine.begin() as conn:
        ids = due_deliveries(conn, now, 100)
    claims = []
    for delivery_id in ids:
        with engine.begin() as conn:
            claims.append(claim_delivery(conn, delivery_id, now, 60))
    return [c for c in claims if c is not None]


def settle(engine, claimed, now: datetime, succeeded: bool, code: int | None = 200) -> str:
    with engine.begin() as conn:
        return record_attempt(conn, claimed, now=now, duration_ms=12, status_code=code,
                              error=None if code else "connection failed",
                              succeeded=succeeded, retry_delay=retry_delay)


def test_each_subscription_gets_its_event_names_once_and_inactive_ones_nothing(ledger_engine):
    setup_integration(ledger_engine)
    with ledger_engine.begin() as conn:
        orders = subscribe(conn, ["order.created", "order.updated"])
        everything = subscribe(conn, ["*"])
        paused = subscribe(conn, ["*"], active=False)
        batch = [event("e1"), event("e2", name="product.updated", resource="p9",
                                    resource_type="product"), event("e3", name="order.updated")]
        assert enqueue(conn, batch) == 5
        assert enqueue(conn, batch) == 0  # the same events again
        assert enqueue(conn, [batch[0], event("e4")]) == 2
        rows = conn.execute(select(OutboundDelivery.subscription_id, OutboundDelivery.event_id,
                                   OutboundDelivery.resource_key, OutboundDelivery.occurred_at,
                                   OutboundDelivery.status)
                            .order_by(OutboundDelivery.id)).all()
    by_sub = {}
    for sid, event_id, *_ in rows:
        by_sub.setdefault(sid, []).append(event_id)
    assert by_sub == {orders: ["e1", "e3", "e4"], everything: ["e1", "e2", "e3", "e4"]}
    assert paused not in by_sub
    assert {(r.event_id, r.resource_key) for r in rows} == {
        ("e1", "order:1001"), ("e2", "product:p9"), ("e3", "order:1001"), ("e4", "order:1001")}
    assert all(r.occurred_at == T0 and r.status == "pending" for r in rows)


def test_an_integration_without_subscribers_enqueues_nothing(ledger_engine):
    setup_integration(ledger_engine)
    with ledger_engine.begin() as conn:
        assert enqueue(conn, [event("e1")]) == 0
        assert conn.execute(select(func.count()).select_from(OutboundDelivery)).scalar() == 0


def test_the_same_events_enqueued_at_once_by_two_flows_give_one_row_each(ledger_engine):
    setup_integration(ledger_engine)
    with ledger_engine.begin() as conn:
        subscribe(conn, ["*"])
    batch = [event(f"e{n}", resource=str(n % 7)) for n in range(200)]
    start, added, errors = threading.Barrier(2), [], []

    def flow_enqueues() -> None:
        try:
            start.wait()
            with ledger_engine.begin() as conn:
                added.append(enqueue(conn, batch))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=flow_enqueues) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(added) == 200  # each row added by exactly one of them
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OutboundDelivery)).scalar() == 200


def test_one_resource_waits_for_its_earlier_events_the_others_do_not(ledger_engine):
    setup_integration(ledger_engine)
    with ledger_engine.begin() as conn:
        subscribe(conn, ["*"])
        # enqueued out of order: the later events of order 1001 arrive first
        enqueue(conn, [event("a3", minute=3), event("a2", minute=2)])
        enqueue(conn, [event("b1", resource="2002", minute=5),
                                                  event("a1", minute=1)])

    first = claim_due(ledger_engine, T0)
    assert sorted(c.event_id for c in first) == ["a1", "b1"]
    a1 = next(c for c in first if c.event_id == "a1")
    b1 = next(c for c in first if c.event_id == "b1")
    assert a1.attempt == 1 and a1.payload["eventId"] == "a1" and a1.endpoint == ENDPOINT
    assert claim_due(ledger_engine, T0) == []  # claimed: hidden from another sender

    assert settle(ledger_engine, b1, T0, True) == "delivered"
    assert settle(ledger_engine, a1, T0, False, code=500) == "pending"
    assert claim_due(ledger_engine, T0 + timedelta(seconds=9)) == []  # a2 still waits for a1
    retry = claim_due(ledger_engine, T0 + timedelta(seconds=10))
    assert [(c.event_id, c.attempt) for c in retry] == [("a1", 2)]
    settle(ledger_engine, retry[0], T0 + timedelta(seconds=10), True)
    later = T0 + timedelta(seconds=11)
    for expected in ("a2", "a3"):
        (claimed,) = claim_due(ledger_engine, later)
        assert claimed.event_id == expected
        settle(ledger_engine, claimed, later, True)
    with ledger_engine.connect() as conn:
        assert count_pending(conn) == 0


def test_failures_follow_the_retry_schedule_then_give_up_and_free_the_line(ledger_engine):
    setup_integration(ledger_engine)
    with ledger_engine.begin() as conn:
        sid = subscribe(conn, ["*"])
        enqueue(conn, [event("first"), event("second", minute=1)])
    now = T0
    for number, delay in enumerate(RETRY_DELAYS, start=1):
        (claimed,) = claim_due(ledger_engine, now)
        assert (claimed.event_id, claimed.attempt) == ("first", number)
        assert settle(ledger_engine, claimed, now, False, code=None) == "pending"
        assert claim_due(ledger_engine, now + timedelta(seconds=delay - 1)) == []
        now += timedelta(seconds=delay)
    (last,) = claim_due(ledger_engine, now)
    assert last.attempt == len(RETRY_DELAYS) + 1
    assert settle(ledger_engine, last, now, False, code=503) == "failed"
    (freed,) = claim_due(ledger_engine, now)  # the line moves on past the given-up event
    assert freed.event_id == "second"
    with ledger_engine.connect() as conn:
        listed = list_deliveries(conn, sid, limit=10)
    gave_up = next(d for d in listed if d["event_id"] == "first")
    assert gave_up["status"] == "failed" and gave_up["next_attempt_at"] is None
    assert gave_up["attempts"] == len(RETRY_DELAYS) + 1 and gave_up["last_status_code"] == 503
    assert [a["attempt"] for a in gave_up["attempt_list"]] == list(
        range(1, len(RETRY_DELAYS) + 2))
    assert [a["error"] for a in gave_up["attempt_list"]][:-1] == [
        "connection failed"] * len(RETRY_DELAYS)
    assert not any(a["succeeded"] for a in gave_up["attempt_list"])


def test_two_senders_never_claim_the_same_delivery(ledger_engine):
    setup_integration(ledger_engine)
    with ledger_engine.begin() as conn:
        subscribe(conn, ["*"])
        enqueue(conn, [event(f"e{n}", resource=str(n)) for n in range(60)])
        ids = due_deliveries(conn, T0, 100)
    assert len(ids) == 60
    start, won, errors = threading.Barrier(3), [], []

    def sender() -> None:
        try:
            start.wait()
            for delivery_id in ids:
                with ledger_engine.begin() as conn:
                    claimed = claim_delivery(conn, delivery_id, T0, 60)
                if claimed is not None:
                    won.append(claimed.id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(won) == sorted(ids)  # each claimed exactly once


def test_a_paused_subscription_keeps_its_deliveries_waiting(ledger_engine):
    setup_integration(ledger_engine)
    with ledger_engine.begin() as conn:
        sid = subscribe(conn, ["*"])
        enqueue(conn, [event("e1")])
        update_subscription(conn, "int_shopify_test", sid, active=False)
        assert due_deliveries(conn, T0, 10) == [] and count_pending(conn) == 0
        update_subscription(conn, "int_shopify_test", sid, active=True)
        assert len(due_deliveries(conn, T0, 10)) == 1 and count_pending(conn) == 1


def test_deleting_a_subscription_removes_its_deliveries_and_attempts(ledger_engine):
    setup_integration(ledger_engine)
    with ledger_engine.begin() as conn:
        gone, kept = subscribe(conn, ["*"]), subscribe(conn, ["*"])
        enqueue(conn, [event("e1"), event("e2", resource="9")])
    for claimed in claim_due(ledger_engine, T0):
        settle(ledger_engine, claimed, T0, False, code=500)
    with ledger_engine.begin() as conn:
        delete_subscription(conn, "int_shopify_test", gone)
    with ledger_engine.connect() as conn:
        left = conn.execute(select(OutboundDelivery.subscription_id)).scalars().all()
        assert set(left) == {kept} and len(left) == 2
        attempts = conn.execute(text(
            "SELECT d.subscription_id FROM outbound_attempts a "
            "JOIN outbound_deliveries d ON d.id = a.delivery_id")).scalars().all()
        assert set(attempts) == {kept}
        assert conn.execute(select(func.count()).select_from(OutboundAttempt)).scalar() == 2
