"""Sending the outbox: due deliveries POSTed to their subscribers, signed, every attempt
recorded, retried on the backoff of connectors.outbound until delivered or given up.

Resources are sent side by side (a bounded thread pool); within one subscription and
resource, events go strictly one after the other: a worker owns the resource's line and
moves to its next event only when the previous one is no longer pending."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

import httpx
from prefect import task
from prefect.cache_policies import NO_CACHE

from bigledger.errors import ValidationFailed
from bigledger.secrets import decrypt_json
from connectors.outbound import (
    EndpointPolicy,
    Resolver,
    SendResult,
    delivery_headers,
    endpoint_policy,
    pin_endpoint,
    post_event,
    retry_delay,
)
from ledger.db import transaction
from ledger.migrate import ensure_schema
from ledger.models import utcnow
from ledger.outbox import (
    DELIVERED,
    FAILED,
    ClaimedDelivery,
    claim_delivery,
    count_pending,
    due_deliveries,
    record_attempt,
)

# A subscriber slower than this (to connect, or to answer after the body is sent) has
# failed the attempt; it is retried later. Receivers should answer first and work after.
SEND_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 3.0
# Deliveries in flight at once (across subscriptions and resources).
MAX_CONCURRENT_SENDS = 8
# A claimed delivery is hidden from other senders this long: far longer than one attempt
# can take, short enough that a sender that died mid-attempt delays the event only briefly.
LEASE_SECONDS = 60.0

try:
    USER_AGENT = f"BigLedger-Webhooks/{version('bigledger-integrations')}"
except PackageNotFoundError:  # running from a checkout that is not installed
    USER_AGENT = "BigLedger-Webhooks"


def deliver_due(now: datetime | None = None, limit: int = 500, *,
                resolve: Resolver | None = None) -> dict[str, int]:
    """Send what is due at `now` (default: the clock), at most `limit` attempts; counts of
    this run (delivered, failed_attempts, gave_up) and the deliveries still pending."""
    now = now or utcnow()
    with transaction() as conn:
        heads = due_deliveries(conn, now, limit)
    run = _Run(now=now, budget=limit, policy=endpoint_policy(), resolve=resolve)
    if heads:
        timeout = httpx.Timeout(SEND_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
        limits = httpx.Limits(max_connections=MAX_CONCURRENT_SENDS * 2)
        with httpx.Client(timeout=timeout, limits=limits, trust_env=False) as client, \
                ThreadPoolExecutor(MAX_CONCURRENT_SENDS,
                                   thread_name_prefix="outbound") as pool:
            for done in [pool.submit(run.follow_line, client, head) for head in heads]:
                done.result()  # a database error in a worker fails the run, not silently
    with transaction() as conn:
        pending = count_pending(conn)
    return {**run.counts, "pending": pending}


@task(name="deliver-due-events", cache_policy=NO_CACHE, persist_result=False)
def deliver_due_events(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Claim the deliveries due now and send them (see deliver_due)."""
    ensure_schema()
    return deliver_due(now, limit)


class _Run:
    """One sending pass: its clock, its budget of attempts and its counts (shared by the
    workers, under a lock)."""

    def __init__(self, *, now: datetime, budget: int, policy: EndpointPolicy,
                 resolve: Resolver | None) -> None:
        self.now, self.budget, self.policy, self.resolve = now, budget, policy, resolve
        self.counts = {"delivered": 0, "failed_attempts": 0, "gave_up": 0}
        self._lock = threading.Lock()

    def follow_line(self, client: httpx.Client, delivery_id: int) -> None:
        """Send a due delivery, then the next ones of its subscription and resource while
        each one is settled (delivered or given up) and the budget lasts."""
        if not self._take_budget():
            return
        with transaction() as conn:
            claimed = claim_delivery(conn, delivery_id, self.now, LEASE_SECONDS)
        if claimed is None:  # another sender has it, or it is no longer first in line
            self._return_budget()
        while claimed is not None:
            result = _send(client, claimed, self.policy, self.resolve)
            # The attempt is recorded and the line's next event claimed in one transaction:
            # one commit per delivery, and the line is never left unowned in between.
            following = None
            with transaction() as conn:
                status = record_attempt(
                    conn, claimed, now=self.now, duration_ms=result.duration_ms,
                    status_code=result.status_code, error=result.error,
                    succeeded=result.succeeded, retry_delay=retry_delay)
                if status in (DELIVERED, FAILED):
                    ids = due_deliveries(conn, self.now, 1, claimed.subscription_id,
                                         claimed.resource_key)
                    if ids and self._take_budget():
                        following = claim_delivery(conn, ids[0], self.now, LEASE_SECONDS)
                        if following is None:
                            self._return_budget()
            self._count(status)
            claimed = following

    def _count(self, status: str) -> None:
        with self._lock:
            if status == DELIVERED:
                self.counts["delivered"] += 1
            elif status:  # "": the subscription was deleted meanwhile, nothing to count
                self.counts["failed_attempts"] += 1
                if status == FAILED:
                    self.counts["gave_up"] += 1

    def _take_budget(self) -> bool:
        with self._lock:
            if self.budget <= 0:
                return False
            self.budget -= 1
            return True

    def _return_budget(self) -> None:
        with self._lock:
            self.budget += 1


def _send(client: httpx.Client, claimed: ClaimedDelivery, policy: EndpointPolicy,
          resolve: Resolver | None) -> SendResult:
    """One attempt: the endpoint checked again now (its name may resolve elsewhere than
    when it was subscribed), the body signed, POSTed to the checked address."""
    started = time.monotonic()
    try:
        endpoint = pin_endpoint(claimed.endpoint, policy, resolve)
    except ValidationFailed as exc:
        return SendResult(False, None, f"endpoint refused: {exc.message}",
                          int((time.monotonic() - started) * 1000))
    body = json.dumps(claimed.payload, separators=(",", ":"), ensure_ascii=False).encode()
    # The secret exists in clear only for this signature; it is not kept, logged or raised.
    headers = delivery_headers(body, decrypt_json(claimed.secret_encrypted)["secret"],
                               int(time.time()), claimed.event_id, claimed.event_type,
                               USER_AGENT)
    return post_event(client, endpoint, body, headers)
