"""Outbound deliveries to a real subscriber on loopback (uvicorn) that verifies every
signature: down, failing, slow, then up; order per resource; giving up; a name that
resolves inside the network at send time; two senders at once; the Prefect flow."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import tasks.outbound as outbound_tasks
from bigledger.settings import get_settings
from connectors.outbound import RETRY_DELAYS, PinnedEndpoint, post_event, verify
from ledger.models import OutboundAttempt, OutboundDelivery
from ledger.outbox import enqueue_events, list_deliveries
from ledger.subscriptions import create_subscription
from tasks.outbound import deliver_due
from tests.ledger.helpers import make_integration
from tests.ledger.test_outbox import event

SECRET = "whsec_subscriber_secret_1"


class Receiver:
    """A subscriber on a fixed loopback port that can be down, fail, be slow or accept.
    Every request is recorded with whether its signature verified."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.mode = "ok"  # ok | fail | slow
        self.fail_once: set[str] = set()  # event ids answered 500 the first time
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        header = request.headers.get("BigLedger-Signature", "")
        event_id = request.headers.get("BigLedger-Event-Id")
        with self._lock:
            answer = 200 if self.mode == "ok" else 500 if self.mode == "fail" else None
            if answer == 200 and event_id in self.fail_once:
                self.fail_once.discard(event_id)
                answer = 500
            self.requests.append({
                "event_id": event_id, "event": request.headers.get("BigLedger-Event"),
                "verified": verify(body, header, SECRET, int(time.time())),
                "body_event_id": json.loads(body)["eventId"],
                "content_type": request.headers.get("content-type"),
                "user_agent": request.headers.get("user-agent"),
                "host": request.headers.get("host"),
                "answer": answer or "late"})
        if answer is None:  # slower than the sender waits
            await asyncio.sleep(1.0)
            answer = 200
        return Response(status_code=answer)

    def start(self) -> None:
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", lifespan="off"))
        thread = threading.Thread(target=self._server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "receiver did not start"
            time.sleep(0.02)
        self._thread = thread

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None

    def accepted(self) -> list[str]:
        """Event ids answered 2xx in time, in arrival order."""
        return [r["event_id"] for r in self.requests if r["answer"] == 200]


@pytest.fixture
def loopback_allowed(monkeypatch):
    """The settings the tests' loopback subscriber needs (http, private addresses)."""
    monkeypatch.setenv("BIGLEDGER_ALLOW_INSECURE_HTTP", "true")
    monkeypatch.setenv("BIGLEDGER_ALLOW_PRIVATE_WEBHOOK_ENDPOINTS", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def subscribe(engine, endpoint: str, events: list[str] | None = None) -> str:
    with engine.begin() as conn:
        make_integration(conn)
        return create_subscription(conn, "int_shopify_test", events or ["*"], endpoint,
                                   SECRET, True)["id"]


def enqueue(engine, events: list[dict], now: datetime) -> int:
    with engine.begin() as conn:
        return enqueue_events(conn, "int_shopify_test", events, now=now)


def deliveries(engine, sid: str) -> dict[str, dict]:
    with engine.connect() as conn:
        return {d["event_id"]: d for d in list_deliveries(conn, sid, limit=500)}


def test_a_subscriber_down_failing_slow_then_up_gets_each_event_once(
        ledger_engine, loopback_allowed, receiver, monkeypatch):
    monkeypatch.setattr(outbound_tasks, "SEND_TIMEOUT_SECONDS", 0.3)
    sid = subscribe(ledger_engine, receiver.url)
    t0 = datetime.now(UTC)
    enqueue(ledger_engine, [event("a1", minute=1), event("a2", minute=2),
                            event("b1", resource="2002")], t0)

    # down: nothing listens on the port
    assert deliver_due(t0) == {"delivered": 0, "failed_attempts": 2, "gave_up": 0,
                               "pending": 3}
    # back, but answering 500; not retried before the first delay has passed
    receiver.mode = "fail"
    receiver.start()
    assert deliver_due(t0 + timedelta(seconds=5))["failed_attempts"] == 0
    assert deliver_due(t0 + timedelta(seconds=10))["failed_attempts"] == 2
    receiver.mode = "slow"
    assert deliver_due(t0 + timedelta(seconds=40))["failed_attempts"] == 2
    receiver.mode = "ok"
    assert deliver_due(t0 + timedelta(seconds=160)) == {
        "delivered": 3, "failed_attempts": 0, "gave_up": 0, "pending": 0}
    assert deliver_due(t0 + timedelta(days=2))["delivered"] == 0  # nothing sent twice

    assert sorted(receiver.accepted()) == ["a1", "a2", "b1"]
    assert all(r["verified"] for r in receiver.requests)
    assert all(r["event_id"] == r["body_event_id"] for r in receiver.requests)
    assert {r["content_type"] for r in receiver.requests} == {"application/json"}
    assert all(r["user_agent"].startswith("BigLedger-Webhooks") for r in receiver.requests)
    assert [r["answer"] for r in receiver.requests if r["event_id"] == "a1"] == [
        500, "late", 200]
    assert receiver.accepted().index("a1") < receiver.accepted().index("a2")

    found = deliveries(ledger_engine, sid)
    assert {e: d["status"] for e, d in found.items()} == {
        "a1": "delivered", "a2": "delivered", "b1": "delivered"}
    a1 = found["a1"]["attempt_list"]
    assert [(a["attempt"], a["status_code"], a["succeeded"]) for a in a1] == [
        (1, None, False), (2, 500, False), (3, None, False), (4, 200, True)]
    assert a1[0]["error"].startswith("connection failed")
    assert a1[2]["error"].startswith("timed out") and a1[2]["duration_ms"] >= 250
    assert found["a2"]["attempts"] == 1  # it waited for a1 instead of failing with it


def test_one_resource_arrives_in_order_while_another_is_not_held_back(
        ledger_engine, loopback_allowed, receiver):
    receiver.start()
    sid = subscribe(ledger_engine, receiver.url)
    t0 = datetime.now(UTC)
    # order 1001's events enqueued out of order; its first one fails once
    enqueue(ledger_engine, [event("a3", minute=3), event("a2", minute=2)], t0)
    enqueue(ledger_engine, [event("b1", resource="2002", minute=1),
                            event("b2", resource="2002", minute=4), event("a1", minute=1)], t0)
    receiver.fail_once.add("a1")

    first = deliver_due(t0)
    assert first["failed_attempts"] == 1 and first["delivered"] == 2
    assert receiver.accepted() == ["b1", "b2"]  # order 2002 was not blocked by 1001
    assert deliver_due(t0 + timedelta(seconds=10))["delivered"] == 3
    order_1001 = [e for e in receiver.accepted() if e.startswith("a")]
    assert order_1001 == ["a1", "a2", "a3"]
    assert [r["event_id"] for r in receiver.requests if r["answer"] == 500] == ["a1"]
    assert deliveries(ledger_engine, sid)["a1"]["attempts"] == 2


def test_a_subscriber_that_never_recovers_is_given_up_on_after_the_last_retry(
        ledger_engine, loopback_allowed, receiver):
    receiver.mode = "fail"
    receiver.start()
    sid = subscribe(ledger_engine, receiver.url)
    t0 = datetime.now(UTC)
    enqueue(ledger_engine, [event("doomed"), event("next", minute=1)], t0)
    now = t0
    for delay in RETRY_DELAYS:
        assert deliver_due(now)["failed_attempts"] == 1
        now += timedelta(seconds=delay)
    receiver.mode = "ok"
    receiver.fail_once.add("doomed")  # the last attempt fails too
    last = deliver_due(now)
    assert last["gave_up"] == 1 and last["delivered"] == 1  # "next" went right after
    found = deliveries(ledger_engine, sid)
    assert found["doomed"]["status"] == "failed"
    assert found["doomed"]["attempts"] == len(RETRY_DELAYS) + 1
    assert len(found["doomed"]["attempt_list"]) == len(RETRY_DELAYS) + 1
    assert found["next"]["status"] == "delivered"
    assert deliver_due(now + timedelta(days=3))["failed_attempts"] == 0  # no more tries


def test_only_subscribed_event_names_are_sent(ledger_engine, loopback_allowed, receiver):
    receiver.start()
    subscribe(ledger_engine, receiver.url, events=["order.updated"])
    t0 = datetime.now(UTC)
    enqueue(ledger_engine, [event("c1"), event("u1", name="order.updated", minute=1),
                            event("p1", name="product.updated", resource="9")], t0)
    assert deliver_due(t0)["delivered"] == 1
    assert [(r["event_id"], r["event"]) for r in receiver.requests] == [
        ("u1", "order.updated")]


@pytest.mark.parametrize("inside", ["127.0.0.1", "169.254.169.254"])
def test_a_name_that_now_resolves_inside_the_network_is_refused_at_send_time(
        ledger_engine, receiver, monkeypatch, inside):
    monkeypatch.setenv("BIGLEDGER_ALLOW_INSECURE_HTTP", "true")
    monkeypatch.delenv("BIGLEDGER_ALLOW_PRIVATE_WEBHOOK_ENDPOINTS", raising=False)
    get_settings.cache_clear()
    receiver.start()
    # subscribed while hooks.example.test resolved to a public address; now it rebinds
    endpoint = f"http://hooks.example.test:{receiver.port}/hook"
    sid = subscribe(ledger_engine, endpoint)
    t0 = datetime.now(UTC)
    enqueue(ledger_engine, [event("e1")], t0)

    def rebound(host: str, port: int) -> list[str]:
        return [inside]

    assert deliver_due(t0, resolve=rebound)["failed_attempts"] == 1
    assert receiver.requests == []
    (attempt,) = deliveries(ledger_engine, sid)["e1"]["attempt_list"]
    assert attempt["error"].startswith("endpoint refused") and inside in attempt["error"]

    # With private endpoints allowed (tests, closed networks) the same name is delivered
    # to, at the address that was checked: the name itself resolves nowhere.
    monkeypatch.setenv("BIGLEDGER_ALLOW_PRIVATE_WEBHOOK_ENDPOINTS", "true")
    get_settings.cache_clear()
    if inside == "127.0.0.1":
        assert deliver_due(t0 + timedelta(seconds=10), resolve=rebound)["delivered"] == 1
        assert [(r["event_id"], r["host"], r["verified"]) for r in receiver.requests] == [
            ("e1", f"hooks.example.test:{receiver.port}", True)]
    get_settings.cache_clear()


def test_two_senders_at_once_send_each_event_once_in_order(
        ledger_engine, loopback_allowed, receiver):
    receiver.start()
    subscribe(ledger_engine, receiver.url)
    t0 = datetime.now(UTC)
    events = [event(f"r{r}-{n}", resource=f"r{r}", minute=n) for n in range(6) for r in range(8)]
    enqueue(ledger_engine, events, t0)
    results, errors = [], []

    def sender() -> None:
        try:
            results.append(deliver_due(t0))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r["delivered"] for r in results) == 48
    accepted = receiver.accepted()
    assert sorted(accepted) == sorted(e["eventId"] for e in events)  # each exactly once
    for r in range(8):
        assert [e for e in accepted if e.startswith(f"r{r}-")] == [
            f"r{r}-{n}" for n in range(6)]
    with ledger_engine.connect() as conn:
        assert len(conn.execute(select(OutboundAttempt.id)).all()) == 48
        assert {s for (s,) in conn.execute(select(OutboundDelivery.status))} == {"delivered"}


def test_the_limit_bounds_a_run_and_the_rest_waits_for_the_next(
        ledger_engine, loopback_allowed, receiver):
    receiver.start()
    subscribe(ledger_engine, receiver.url)
    t0 = datetime.now(UTC)
    enqueue(ledger_engine, [event(f"r{r}-{n}", resource=f"r{r}", minute=n)
                            for n in range(3) for r in range(8)], t0)
    assert deliver_due(t0, limit=5) == {"delivered": 5, "failed_attempts": 0, "gave_up": 0,
                                        "pending": 19}
    assert deliver_due(t0, limit=19) == {"delivered": 19, "failed_attempts": 0, "gave_up": 0,
                                         "pending": 0}
    assert sorted(receiver.accepted()) == sorted(f"r{r}-{n}" for n in range(3) for r in range(8))


@pytest.mark.usefixtures("prefect_api")
def test_the_flow_delivers_what_is_due(ledger_engine, loopback_allowed, receiver):
    from flows.outbound import deliver_webhook_events

    receiver.start()
    subscribe(ledger_engine, receiver.url)
    enqueue(ledger_engine, [event(f"e{n}", resource=str(n % 3), minute=n) for n in range(9)],
            datetime.now(UTC) - timedelta(seconds=1))
    counts = deliver_webhook_events(limit=4)
    assert counts["delivered"] == 9 and counts["pending"] == 0 and counts["rounds"] >= 3
    assert sorted(receiver.accepted()) == sorted(f"e{n}" for n in range(9))
    assert deliver_webhook_events()["delivered"] == 0


def _certificate_for(name: str, folder) -> tuple[str, str]:
    """A self-signed certificate for `name` (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_https_to_the_checked_address_still_verifies_the_name(tmp_path):
    """The request goes to the pinned IP, yet TLS checks the certificate against the
    endpoint's name (SNI), so pinning does not weaken https."""
    cert, key = _certificate_for("hooks.example.test", tmp_path)
    seen = []

    async def hook(request: Request) -> Response:
        seen.append(request.headers["host"])
        return Response(status_code=204)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", ssl_certfile=cert, ssl_keyfile=key))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        trusted = ssl.create_default_context(cafile=cert)
        pinned = PinnedEndpoint(httpx.URL(f"https://hooks.example.test:{port}/hook"),
                                ("127.0.0.1",))
        with httpx.Client(verify=trusted, timeout=5) as client:
            result = post_event(client, pinned, b"{}", {"Content-Type": "application/json"})
            assert (result.succeeded, result.status_code) == (True, 204)
            assert seen == [f"hooks.example.test:{port}"]
            wrong_name = PinnedEndpoint(httpx.URL(f"https://other.example.test:{port}/hook"),
                                        ("127.0.0.1",))
            refused = post_event(client, wrong_name, b"{}", {})
            assert not refused.succeeded and "CERTIFICATE_VERIFY_FAILED" in refused.error
    finally:
        server.should_exit = True
        thread.join(timeout=10)
