"""Signed webhook deliveries from the platform sandboxes: one machinery shared by all five.

Each sandbox keeps its registrations here (`Subscription`), renders its platform's body and
signing headers, and hands `Delivery` objects to its `WebhookSender`. The sender posts them
from a background event loop (one daemon thread shared by every sender) with
`httpx.AsyncClient`, so the request that caused an event never waits for a receiver.

* Deliveries made while a sandbox request is handled leave only after its response was
  sent: routes wrapped with `deliver_after_response` collect them and release them from a
  Starlette background task (a real platform answers the API call, then delivers).
* A failed attempt (non-2xx, connection error, timeout) is retried up to `max_attempts`
  with `backoff_seconds * backoff_factor ** n` between attempts, the same bytes each time
  (a signer may re-sign, as Stripe does with a fresh `t=`). Real platforms retry for hours
  (Shopify 8 times over 4 h, Stripe up to 3 days, Xero 24 h); the sandbox defaults to 4
  attempts 0.2 s, 0.4 s, 0.8 s apart so tests see a retry within about a second.
* Test controls (`WebhookControl`, the `webhooks` key of each sandbox's control body):
  `duplicate` sends every delivery twice (same bytes and ids, as a platform re-sending);
  `paused` holds deliveries until it is lifted; `order: "reverse"` sends each batch (one
  request's deliveries, or everything held when resuming) last first; `delay_ms` holds
  every delivery back, `delay_next` only the next N, so later ones overtake them.
* Every delivery and every attempt's answer (status, error, time, a short excerpt of the
  answer body) is logged for the sandbox's control and stats views. Signature headers and
  subscription secrets are never logged.

First attempts go out one at a time in release order, so "reverse" and "delay" produce a
deterministic arrival order; retries and delayed deliveries wait on timers and rejoin the
queue, so they never block the deliveries behind them.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import functools
import hashlib
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)

# Headers whose values prove authenticity: kept out of the log.
_SIGNATURE_HEADERS = frozenset({
    "x-shopify-hmac-sha256", "x-wc-webhook-signature", "stripe-signature", "intuit-signature",
    "x-xero-signature",
})  # fmt: skip
_ANSWER_EXCERPT = 200

# (headers for this attempt) = sign(body, unix time now)
Signer = Callable[[bytes, float], Mapping[str, str]]


def iso_utc(moment: float) -> str:
    """Unix seconds as ISO 8601 UTC with milliseconds and a `Z`."""
    text = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z"


# ---- registrations ---------------------------------------------------------------------


@dataclass
class Subscription:
    """One registration: where to deliver which topics, and the key that signs them.

    `topics` holds the platform's own topic names; `"*"` matches every topic. `extra`
    keeps the platform's other fields (format, API version, name, description ...)."""

    id: str
    url: str
    topics: tuple[str, ...]
    secret: str | None = field(default=None, repr=False)
    active: bool = True
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)

    def matches(self, topic: str) -> bool:
        """True when this active subscription wants `topic`."""
        return self.active and ("*" in self.topics or topic in self.topics)

    def describe(self) -> dict[str, Any]:
        """JSON view without the secret."""
        return {"id": self.id, "url": self.url, "topics": list(self.topics),
                "active": self.active, "hasSecret": bool(self.secret)}  # fmt: skip


# ---- deliveries ------------------------------------------------------------------------


@dataclass
class Attempt:
    """One POST of a delivery and what came back."""

    at: float
    status: int | None
    error: str | None
    elapsed_ms: float
    answer: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # as sent, signatures masked

    def describe(self) -> dict[str, Any]:
        return {"at": iso_utc(self.at), "status": self.status, "error": self.error,
                "ms": round(self.elapsed_ms, 1), "answer": self.answer,
                "headers": self.headers}  # fmt: skip


@dataclass(eq=False)
class Delivery:
    """One signed POST to one URL. `handshake` deliveries (WooCommerce's ping, Xero's intent
    to receive) are exempt from the test controls and sent once; `on_done` is called with
    the delivery when it is finished (delivered, failed, or answered for a handshake)."""

    url: str
    body: bytes = field(repr=False)
    sign: Signer = field(repr=False)
    topic: str
    event_id: str | None = None
    subscription_id: str | None = None
    kind: str = "event"
    handshake: bool = False
    content_type: str = "application/json"
    on_done: Callable[[Delivery], None] | None = field(default=None, repr=False)
    # set by the sender
    number: int = 0
    duplicate_of: int | None = None
    state: str = "new"
    attempts: list[Attempt] = field(default_factory=list)
    delay: float = 0.0
    generation: int = 0

    @property
    def last_status(self) -> int | None:
        """HTTP status of the latest attempt (None: none yet, or no answer)."""
        return self.attempts[-1].status if self.attempts else None

    def twin(self, number: int) -> Delivery:
        """A copy sent again: same bytes, headers and ids (a platform's duplicate)."""
        return replace(self, number=number, duplicate_of=self.number, attempts=[],
                       state="new", delay=0.0)  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """JSON view for the log (no body, no signature)."""
        return {
            "number": self.number, "kind": self.kind, "topic": self.topic,
            "eventId": self.event_id, "subscriptionId": self.subscription_id, "url": self.url,
            "duplicateOf": self.duplicate_of, "state": self.state, "bytes": len(self.body),
            "bodySha256": hashlib.sha256(self.body).hexdigest(),
            "attempts": [a.describe() for a in self.attempts],
        }  # fmt: skip


# ---- settings and their control body ---------------------------------------------------


@dataclass
class DeliverySettings:
    """How one sender delivers; see the module docstring for each knob."""

    max_attempts: int = 4
    backoff_seconds: float = 0.2
    backoff_factor: float = 2.0
    timeout_seconds: float = 5.0
    duplicate: bool = False
    order: str = "fifo"
    paused: bool = False
    delay_ms: int = 0
    delay_next_count: int = 0
    delay_next_ms: int = 0

    def retry_wait(self, failed_attempts: int) -> float:
        """Seconds before the attempt after `failed_attempts` failures."""
        return self.backoff_seconds * self.backoff_factor ** (failed_attempts - 1)


class DelayNextSpec(BaseModel):
    """Hold the next `count` deliveries back by `delay_ms` (later ones overtake them)."""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(1, ge=0)
    delay_ms: int = Field(500, ge=0, le=60_000)


class WebhookControl(BaseModel):
    """The `webhooks` key of a sandbox's control body; every field optional.

    Applied in this order: `reset` (drop registrations, queued and held deliveries, the log,
    and restore the default settings), `clear_log`, the settings, then `paused: false`
    releases what was held."""

    model_config = ConfigDict(extra="forbid")
    reset: bool = False
    clear_log: bool = False
    paused: bool | None = None
    order: Literal["fifo", "reverse"] | None = None
    duplicate: bool | None = None
    delay_ms: int | None = Field(None, ge=0, le=60_000)
    delay_next: DelayNextSpec | None = None
    max_attempts: int | None = Field(None, ge=1, le=20)
    backoff_seconds: float | None = Field(None, ge=0, le=60)
    backoff_factor: float | None = Field(None, ge=1, le=10)
    timeout_seconds: float | None = Field(None, gt=0, le=120)


# ---- the background loop ---------------------------------------------------------------


class _LoopThread:
    """One event loop on a daemon thread, shared by every sender in the process."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            alive = cls._thread is not None and cls._thread.is_alive()
            if cls._loop is None or cls._loop.is_closed() or not alive:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=run, name="sandbox-webhooks", daemon=True)
                thread.start()
                ready.wait(10)
                if cls._loop is None:
                    atexit.register(cls.shutdown)
                cls._loop, cls._thread = loop, thread
            return cls._loop

    @classmethod
    def shutdown(cls) -> None:
        """Cancel what is still pending and stop the loop (at interpreter exit)."""
        loop, thread = cls._loop, cls._thread
        if loop is None or loop.is_closed() or thread is None or not thread.is_alive():
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(2)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(2)


# ---- deliveries made during a request leave after its response -------------------------

_PENDING: contextvars.ContextVar[list[tuple[WebhookSender, list[Delivery]]] | None] = (
    contextvars.ContextVar("sandbox_webhook_pending", default=None)
)

Endpoint = Callable[[Request], Awaitable[Response]]


def deliver_after_response(endpoint: Endpoint) -> Endpoint:
    """Wrap a route endpoint: deliveries emitted while it runs are released only after its
    response has been sent (a background task), never inside the request."""

    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        pending: list[tuple[WebhookSender, list[Delivery]]] = []
        token = _PENDING.set(pending)
        try:
            response = await endpoint(request)
        finally:
            _PENDING.reset(token)
        if pending:
            task = BackgroundTask(_release_pending, pending)
            previous = response.background
            response.background = task if previous is None else BackgroundTasks([previous, task])
        return response

    return wrapped


async def _release_pending(pending: list[tuple[WebhookSender, list[Delivery]]]) -> None:
    for sender, batch in pending:
        sender.release(batch)


# ---- the sender ------------------------------------------------------------------------


class WebhookSender:
    """Registrations, queue, async sender, retries, test controls and log of one sandbox."""

    def __init__(
        self,
        platform: str,
        *,
        user_agent: str = "Sandbox-Webhooks/1.0",
        settings: DeliverySettings | None = None,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        log_size: int = 1000,
        success: Callable[[int], bool] | None = None,
    ) -> None:
        self.platform = platform
        self.user_agent = user_agent
        self._defaults = settings or DeliverySettings()
        self.settings = replace(self._defaults)
        self.clock = clock
        self.transport = transport
        self.success = success or (lambda status: 200 <= status < 300)
        self.subscriptions: dict[str, Subscription] = {}
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._held: list[Delivery] = []
        self._log: deque[Delivery] = deque(maxlen=log_size)
        self._numbers = itertools.count(1)
        self._ids = itertools.count(1)
        self._active = 0  # queued, sending, waiting to retry or delayed
        self._generation = 0  # bumps on reset: older deliveries are dropped
        self.counters = self._zero_counters()
        # Live on the background loop only.
        self._queue: asyncio.Queue[Delivery] | None = None
        self._client: httpx.AsyncClient | None = None
        self._consumer: asyncio.Task[None] | None = None

    @staticmethod
    def _zero_counters() -> dict[str, int]:
        return {"emitted": 0, "duplicates": 0, "attempts": 0, "delivered": 0, "failed": 0,
                "retries": 0, "dropped": 0}  # fmt: skip

    # ---- registrations ------------------------------------------------------------------

    def next_number(self) -> int:
        """A fresh number for a platform's subscription id."""
        return next(self._ids)

    def add(self, subscription: Subscription) -> Subscription:
        with self._lock:
            self.subscriptions[subscription.id] = subscription
        return subscription

    def remove(self, subscription_id: str) -> Subscription | None:
        with self._lock:
            return self.subscriptions.pop(subscription_id, None)

    def matching(self, topic: str) -> list[Subscription]:
        """Active subscriptions that want `topic`, oldest first."""
        with self._lock:
            return [s for s in self.subscriptions.values() if s.matches(topic)]

    # ---- emitting -----------------------------------------------------------------------

    def emit(self, deliveries: Iterable[Delivery]) -> list[Delivery]:
        """Queue deliveries: after the current sandbox response when inside a wrapped route,
        else at once."""
        batch = list(deliveries)
        if not batch:
            return batch
        pending = _PENDING.get()
        if pending is not None:
            pending.append((self, batch))
        else:
            self.release(batch)
        return batch

    def release(self, batch: list[Delivery]) -> None:
        """Hand a batch to the background loop, applying duplicate / pause / order / delay."""
        with self._lock:
            settings = self.settings
            ready: list[Delivery] = []
            for delivery in batch:
                delivery.number = next(self._numbers)
                delivery.generation = self._generation
                self._log.append(delivery)
                self.counters["emitted"] += 1
                ready.append(delivery)
                if settings.duplicate and not delivery.handshake:
                    twin = delivery.twin(next(self._numbers))
                    self._log.append(twin)
                    self.counters["duplicates"] += 1
                    ready.append(twin)
            handshakes = [d for d in ready if d.handshake]
            events = [d for d in ready if not d.handshake]
            if settings.paused:
                for delivery in events:
                    delivery.state = "held"
                self._held.extend(events)
                events = []
            to_send = handshakes + self._arrange(events)
            for delivery in to_send:
                delivery.state = "queued"
            self._active += len(to_send)
        if to_send:
            self._submit(to_send)

    def _arrange(self, events: list[Delivery]) -> list[Delivery]:
        """Order a batch and give the deliveries their delays (lock held)."""
        settings = self.settings
        if settings.order == "reverse":
            events = events[::-1]
        for delivery in events:
            if settings.delay_next_count > 0:
                settings.delay_next_count -= 1
                delivery.delay = settings.delay_next_ms / 1000
            elif settings.delay_ms:
                delivery.delay = settings.delay_ms / 1000
        return events

    def _submit(self, deliveries: list[Delivery]) -> None:
        loop = _LoopThread.get()
        loop.call_soon_threadsafe(self._enqueue, deliveries)

    # ---- on the background loop ---------------------------------------------------------

    def _enqueue(self, deliveries: list[Delivery]) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
        for delivery in deliveries:
            self._queue.put_nowait(delivery)
        # The consumer runs while there is work and ends when the queue is empty, so an
        # idle (or forgotten) sender leaves no task behind.
        if self._consumer is None or self._consumer.done():
            self._consumer = asyncio.get_running_loop().create_task(self._consume())

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self.transport, trust_env=False, follow_redirects=False,
                headers={"User-Agent": self.user_agent},
            )  # fmt: skip
        return self._client

    async def _consume(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while not self._queue.empty():
            delivery = self._queue.get_nowait()
            try:
                with self._lock:
                    if delivery.generation != self._generation:
                        self.counters["dropped"] += 1
                        self._finish(delivery, "dropped")
                        continue
                    if self.settings.paused and not delivery.handshake:
                        # Paused while it waited: hold it with the others.
                        delivery.state = "held"
                        self._held.append(delivery)
                        self._finish(delivery, "held")
                        continue
                    wait, delivery.delay = delivery.delay, 0.0
                if wait > 0:
                    delivery.state = "delayed"
                    loop.call_later(wait, self._enqueue, [delivery])
                    continue
                await self._attempt(delivery)
            except Exception:  # noqa: BLE001 - the consumer must outlive any one delivery
                log.exception("%s webhook delivery %s failed in the sandbox", self.platform,
                              delivery.number)  # fmt: skip
                with self._lock:
                    self._finish(delivery, "failed")

    async def _attempt(self, delivery: Delivery) -> None:
        settings = self.settings
        delivery.state = "sending"
        now = self.clock()
        headers = {"Content-Type": delivery.content_type, **delivery.sign(delivery.body, now)}
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        answer: str | None = None
        try:
            response = await self._http().post(delivery.url, content=delivery.body,
                                               headers=headers,
                                               timeout=settings.timeout_seconds)  # fmt: skip
            status = response.status_code
            answer = response.text[:_ANSWER_EXCERPT] if response.content else None
        except httpx.TimeoutException:
            error = f"timeout after {settings.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:_ANSWER_EXCERPT]
        elapsed = (time.monotonic() - started) * 1000
        final: str | None = None
        with self._lock:
            delivery.attempts.append(
                Attempt(now, status, error, elapsed, answer, loggable_headers(headers)))
            self.counters["attempts"] += 1
            if delivery.generation != self._generation:
                self._finish(delivery, "dropped")
                return
            ok = status is not None and self.success(status)
            if delivery.handshake:
                final = "answered" if status is not None else "failed"
            elif ok:
                final = "delivered"
                self.counters["delivered"] += 1
            elif len(delivery.attempts) >= settings.max_attempts:
                final = "failed"
                self.counters["failed"] += 1
            else:
                self.counters["retries"] += 1
                delivery.state = "retrying"
                retry_in = settings.retry_wait(len(delivery.attempts))
        if final is None:
            asyncio.get_running_loop().call_later(retry_in, self._enqueue, [delivery])
            return
        delivery.state = final
        # The callback runs before the delivery stops counting as active, so whoever waits
        # for the sender to be idle sees its effect (a Xero check's verdict, a Woo counter).
        if delivery.on_done is not None:
            try:
                delivery.on_done(delivery)
            except Exception:  # noqa: BLE001 - a callback bug must not stop the sender
                log.exception("%s webhook callback failed", self.platform)
        with self._lock:
            self._finish(delivery, final)

    def _finish(self, delivery: Delivery, state: str) -> None:
        """Leave the active count (lock held)."""
        delivery.state = state
        self._active -= 1
        self._idle.notify_all()

    # ---- controls -----------------------------------------------------------------------

    def apply(self, control: WebhookControl) -> None:
        """Apply the `webhooks` key of a control body."""
        if control.reset:
            self.reset()
        if control.clear_log:
            with self._lock:
                self._log.clear()
                self.counters = self._zero_counters()
        with self._lock:
            settings = self.settings
            for name in ("order", "duplicate", "delay_ms", "max_attempts", "backoff_seconds",
                         "backoff_factor", "timeout_seconds"):  # fmt: skip
                value = getattr(control, name)
                if value is not None:
                    setattr(settings, name, value)
            if control.delay_next is not None:
                settings.delay_next_count = control.delay_next.count
                settings.delay_next_ms = control.delay_next.delay_ms
        if control.paused is True:
            self.pause()
        elif control.paused is False:
            self.resume()

    def pause(self) -> None:
        """Hold every new delivery (and queued ones when they come up) until `resume`."""
        with self._lock:
            self.settings.paused = True

    def resume(self) -> None:
        """Send what was held, in emission order (reversed under `order: reverse`)."""
        with self._lock:
            self.settings.paused = False
            held, self._held = self._held, []
            held = [d for d in held if d.generation == self._generation]
            to_send = self._arrange(held)
            for delivery in to_send:
                delivery.state = "queued"
            self._active += len(to_send)
        if to_send:
            self._submit(to_send)

    def reset(self) -> None:
        """Forget registrations, queued and held deliveries and the log; default settings."""
        with self._lock:
            self._generation += 1
            self.subscriptions.clear()
            self._held.clear()
            self._log.clear()
            self.settings = replace(self._defaults)
            self.counters = self._zero_counters()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued, sending, delayed or waiting to retry (held
        deliveries do not count); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active <= 0, timeout)

    # ---- views --------------------------------------------------------------------------

    def deliveries(self) -> list[Delivery]:
        """The logged deliveries, oldest first (at most `log_size`)."""
        with self._lock:
            return list(self._log)

    def describe(self, limit: int = 50) -> dict[str, Any]:
        """JSON view: settings, registrations (no secrets), counters and the latest log."""
        with self._lock:
            settings = asdict(self.settings)
            recent = list(self._log)[-limit:] if limit else []
            return {
                "settings": settings,
                "subscriptions": [s.describe() for s in self.subscriptions.values()],
                "counters": dict(self.counters),
                "inFlight": self._active,
                "held": len(self._held),
                "log": [d.describe() for d in recent],
            }


def loggable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with the signature values masked (for debugging output)."""
    return {k: ("***" if k.lower() in _SIGNATURE_HEADERS else v) for k, v in headers.items()}
