"""The sandboxes' shared webhook sender against a real loopback receiver: signed bytes go
out as built, a receiver that fails is retried, and the test controls (duplicate, pause,
reverse order, delay) change what arrives exactly as documented.

`Receiver` is imported by the other webhook tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.webhook_signatures import WebhookVerificationFailed, verify_webhook
from sandbox.webhook_sender import (
    Delivery,
    DeliverySettings,
    Subscription,
    WebhookControl,
    WebhookSender,
)
from tests.conftest import LiveServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int
    at: float


class Receiver:
    """A loopback HTTP endpoint that keeps every POST and answers as told: 500 for the next
    `fail[path]` requests, else (when `verify[path] = (platform, secret)`) 200 or 401 by the
    platform's signature check, else 200. Answers have an empty body (Xero's rule)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.fail: dict[str, int] = {}
        self.verify: dict[str, tuple[str, str]] = {}
        self._cond = threading.Condition()
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        self.server = LiveServer(app)
        self.url = self.server.url

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.path_params["path"]
        status = 200
        if self.fail.get(path, 0) > 0:
            self.fail[path] -= 1
            status = 500
        elif path in self.verify:
            platform, secret = self.verify[path]
            try:
                verify_webhook(platform, body, request.headers, secret, now=time.time())
            except WebhookVerificationFailed:
                status = 401
        with self._cond:
            self.received.append(Received(path, {k.lower(): v for k, v in
                                                 request.headers.items()}, body, status,
                                          time.monotonic()))  # fmt: skip
            self._cond.notify_all()
        return Response(status_code=status)

    def wait_for(self, count: int, path: str | None = None, timeout: float = 10) -> list[Received]:
        """The first `count` requests (to `path` when given), waiting for them to arrive."""

        def matching() -> list[Received]:
            return [r for r in self.received if path is None or r.path == path]

        with self._cond:
            self._cond.wait_for(lambda: len(matching()) >= count, timeout)
            found = matching()
        assert len(found) >= count, f"{len(found)} of {count} deliveries arrived at {path}"
        return found

    def settle(self, seconds: float = 0.3) -> None:
        """Let stragglers (duplicates, retries) arrive."""
        time.sleep(seconds)

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(scope="module")
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture
def sender():
    out = WebhookSender("test", settings=DeliverySettings(backoff_seconds=0.05))
    yield out
    out.reset()


def delivery(receiver: Receiver, path: str, n: int, **extra: Any) -> Delivery:
    body = f'{{"n":{n}}}'.encode()
    return Delivery(url=f"{receiver.url}/{path}", body=body, topic="thing/changed",
                    event_id=f"evt-{n}", sign=lambda b, now: {"X-Signed-At": str(int(now)),
                                                              "X-Body-Length": str(len(b))},
                    **extra)  # fmt: skip


def bodies(found: list[Received]) -> list[bytes]:
    return [r.body for r in found]


def test_a_delivery_arrives_as_built_and_is_logged(receiver, sender):
    sender.emit([delivery(receiver, "plain", 1)])
    (got,) = receiver.wait_for(1, "plain")
    assert got.body == b'{"n":1}'
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-body-length"] == "7"
    assert abs(int(got.headers["x-signed-at"]) - time.time()) < 5
    assert sender.wait_idle(5)
    (logged,) = sender.describe()["log"]
    assert logged["state"] == "delivered" and logged["eventId"] == "evt-1"
    assert [a["status"] for a in logged["attempts"]] == [200]
    assert sender.describe()["counters"]["delivered"] == 1


def test_a_failed_delivery_is_retried_with_the_same_bytes(receiver, sender):
    receiver.fail["flaky"] = 1
    sender.emit([delivery(receiver, "flaky", 2)])
    first, second = receiver.wait_for(2, "flaky")
    assert (first.status, second.status) == (500, 200)
    assert first.body == second.body
    # The first retry waits backoff_seconds (0.05 s) after the failure.
    assert second.at - first.at >= 0.04
    assert sender.wait_idle(5)
    (logged,) = sender.describe()["log"]
    assert [a["status"] for a in logged["attempts"]] == [500, 200]
    assert logged["state"] == "delivered"
    assert sender.describe()["counters"]["retries"] == 1


def test_a_receiver_that_never_answers_2xx_gives_up_after_max_attempts(receiver, sender):
    receiver.fail["down"] = 10
    sender.apply(WebhookControl(max_attempts=3, backoff_seconds=0.01))
    sender.emit([delivery(receiver, "down", 3)])
    assert sender.wait_idle(5)
    assert len(receiver.wait_for(3, "down")) == 3
    receiver.settle(0.2)
    assert len([r for r in receiver.received if r.path == "down"]) == 3
    assert sender.deliveries()[0].state == "failed"
    receiver.fail["down"] = 0


def test_duplicate_sends_every_delivery_twice(receiver, sender):
    sender.apply(WebhookControl(duplicate=True))
    sender.emit([delivery(receiver, "dup", 4)])
    one, two = receiver.wait_for(2, "dup")
    assert one.body == two.body and one.headers["x-body-length"] == two.headers["x-body-length"]
    logged = sender.describe()["log"]
    assert [d["duplicateOf"] for d in logged] == [None, logged[0]["number"]]
    assert {d["eventId"] for d in logged} == {"evt-4"}


def test_paused_deliveries_wait_and_resume_in_reverse_order(receiver, sender):
    sender.apply(WebhookControl(paused=True, order="reverse"))
    for n in (5, 6, 7):
        sender.emit([delivery(receiver, "paused", n)])
    receiver.settle(0.3)
    assert not [r for r in receiver.received if r.path == "paused"]
    assert sender.describe()["held"] == 3
    sender.apply(WebhookControl(paused=False))
    found = receiver.wait_for(3, "paused")
    assert bodies(found) == [b'{"n":7}', b'{"n":6}', b'{"n":5}']


def test_a_delayed_delivery_is_overtaken(receiver, sender):
    sender.apply(WebhookControl.model_validate({"delay_next": {"count": 1, "delay_ms": 300}}))
    sender.emit([delivery(receiver, "late", 8)])
    sender.emit([delivery(receiver, "late", 9)])
    found = receiver.wait_for(2, "late")
    assert bodies(found) == [b'{"n":9}', b'{"n":8}']


def test_handshakes_ignore_the_test_controls_and_are_sent_once(receiver, sender):
    answers: list[int | None] = []
    sender.apply(WebhookControl(paused=True, duplicate=True))
    receiver.fail["hello"] = 1
    sender.emit([delivery(receiver, "hello", 10, handshake=True, kind="ping",
                          on_done=lambda d: answers.append(d.last_status))])  # fmt: skip
    (got,) = receiver.wait_for(1, "hello")
    assert sender.wait_idle(5)
    receiver.settle(0.2)
    assert [r.status for r in receiver.received if r.path == "hello"] == [500]
    assert answers == [500]


def test_reset_drops_registrations_held_deliveries_and_settings(receiver, sender):
    sender.add(Subscription(id="s1", url=receiver.url, topics=("*",), secret="k"))
    sender.apply(WebhookControl(paused=True, duplicate=True))
    sender.emit([delivery(receiver, "gone", 11)])
    sender.reset()
    assert sender.subscriptions == {} and sender.describe()["held"] == 0
    assert sender.settings == DeliverySettings(backoff_seconds=0.05)
    sender.resume()
    receiver.settle(0.2)
    assert not [r for r in receiver.received if r.path == "gone"]


def test_the_view_never_shows_secrets_or_signatures(receiver, sender):
    sender.add(Subscription(id="s1", url=receiver.url, topics=("a",), secret="very-secret"))
    sender.emit([Delivery(url=f"{receiver.url}/sig", body=b"{}", topic="a",
                          sign=lambda b, t: {"X-Shopify-Hmac-Sha256": "c2lnbmF0dXJl"})])
    receiver.wait_for(1, "sig")
    assert sender.wait_idle(5)
    text = repr(sender.describe())
    assert "very-secret" not in text and "c2lnbmF0dXJl" not in text
    assert sender.describe()["subscriptions"][0]["hasSecret"] is True


def test_a_connection_error_is_logged_and_retried():
    sender = WebhookSender("test", settings=DeliverySettings(max_attempts=2,
                                                             backoff_seconds=0.01))
    # Port 9 (discard) has no listener on loopback here.
    sender.emit([Delivery(url="http://127.0.0.1:9/closed", body=b"{}", topic="t",
                          sign=lambda b, t: {})])
    assert sender.wait_idle(10)
    (logged,) = sender.describe()["log"]
    assert logged["state"] == "failed" and len(logged["attempts"]) == 2
    assert all(a["status"] is None and a["error"] for a in logged["attempts"])
