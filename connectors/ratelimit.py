"""Rate-limit policies: read each platform's own budget signals and slow down before a refusal.

A policy never sleeps itself. The HTTP client asks it before every attempt how long to wait
(`delay_before`), shows it every response (`observe`), and asks whether a response was a
throttle refusal and how long to back off (`throttle`). Keeping the sleeping in one place
(the client, with its injectable sleep) keeps policies pure arithmetic over an injectable
clock, and lets one policy serve a health endpoint through `budget()`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from connectors.paths import get_path

if TYPE_CHECKING:
    from connectors.http import ApiResponse

Clock = Callable[[], float]

# Floating-point slack when comparing projected budgets, so that waiting exactly the computed
# time never triggers a second, femtosecond-long wait.
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class RateBudget:
    """What a policy last knew about the platform's budget (for health reporting)."""

    remaining: float | None = None
    limit: float | None = None
    reset_after_seconds: float | None = None
    restore_rate: float | None = None
    observed_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (ISO timestamp)."""
        out = asdict(self)
        out["observed_at"] = self.observed_at.isoformat() if self.observed_at else None
        return out


@dataclass(frozen=True, slots=True)
class Throttle:
    """A rate-limit refusal; `delay` None means "no usable hint: back off"."""

    delay: float | None
    reason: str


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After value: delta seconds (fractional allowed) or an HTTP-date."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _to_float(value: Any) -> float | None:
    # Budget numbers arrive as int or Decimal (exact JSON parsing); they are not money, and the
    # timing arithmetic below wants floats.
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class RateLimitPolicy:
    """Base policy: no pacing, and the shared 429 + Retry-After handling every platform needs."""

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        min_retry_after: float = 1.0,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        # A Retry-After below this (notably "0") is treated as "no hint", so the client falls
        # back to exponential backoff instead of hammering the platform in a tight loop.
        self.min_retry_after = min_retry_after
        self._lock = threading.Lock()
        self._observed_wall: float | None = None

    def delay_before(self, cost: float = 1.0) -> float:
        """Seconds to wait before sending a request of this cost (and reserve the cost)."""
        return 0.0

    def observe(self, response: ApiResponse) -> None:
        """Update the budget from a response's headers or body."""

    def throttle(self, response: ApiResponse) -> Throttle | None:
        """A Throttle if this response is a rate-limit refusal, else None."""
        if response.status_code != 429:
            return None
        return Throttle(self.retry_after(response), "429 Too Many Requests")

    def retry_after(self, response: ApiResponse) -> float | None:
        """The response's Retry-After in seconds, or None when absent or below the minimum."""
        seconds = parse_retry_after(response.headers.get("Retry-After"), now=self._wall_clock())
        if seconds is None or seconds < self.min_retry_after:
            return None
        return seconds

    def budget(self) -> RateBudget:
        """The last observed budget; empty when the platform sends no signals."""
        return RateBudget(observed_at=self._observed_at())

    def _mark_observed(self) -> None:
        self._observed_wall = self._wall_clock()

    def _observed_at(self) -> datetime | None:
        if self._observed_wall is None:
            return None
        return datetime.fromtimestamp(self._observed_wall, tz=UTC)


class RetryAfterPolicy(RateLimitPolicy):
    """Only honour 429 + Retry-After: for platforms that publish no budget headers."""


class CallLimitHeaderPolicy(RateLimitPolicy):
    """Leaky bucket read from a `used/size` header such as `X-Shopify-Shop-Api-Call-Limit: 32/40`.

    Paces requests so the bucket stays at or below `threshold` of its size; the bucket drains
    at `leak_rate` requests per second (Shopify: 2 standard, 4 Advanced, 20 Plus).
    """

    def __init__(
        self,
        header: str = "X-Shopify-Shop-Api-Call-Limit",
        *,
        leak_rate: float = 2.0,
        threshold: float = 0.8,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if leak_rate <= 0:
            raise ValueError("leak_rate must be positive")
        self.header = header
        self.leak_rate = leak_rate
        self.threshold = threshold
        self._used: float | None = None
        self._size: float | None = None
        self._seen_at = 0.0

    def _level(self, now: float) -> float:
        assert self._used is not None
        return max(0.0, self._used - self.leak_rate * (now - self._seen_at))

    def delay_before(self, cost: float = 1.0) -> float:
        """Wait until the projected bucket level leaves room under the threshold."""
        with self._lock:
            if self._used is None or self._size is None:
                return 0.0
            now = self._clock()
            level = self._level(now)
            allowed = self._size * self.threshold
            wait = max(0.0, (level + cost - allowed) / self.leak_rate)
            if wait < _EPSILON:
                wait = 0.0
            # Count our own request so back-to-back calls pace even before the next header.
            self._used = max(0.0, level - self.leak_rate * wait) + cost
            self._seen_at = now + wait
            return wait

    def observe(self, response: ApiResponse) -> None:
        """Read `used/size` from the header."""
        raw = response.headers.get(self.header)
        if not raw or "/" not in raw:
            return
        used_text, _, size_text = raw.partition("/")
        try:
            used, size = float(used_text), float(size_text)
        except ValueError:
            return
        with self._lock:
            self._used, self._size = used, size
            self._seen_at = self._clock()
            self._mark_observed()

    def throttle(self, response: ApiResponse) -> Throttle | None:
        """429: the bucket is full; mark it so, and wait Retry-After (or back off)."""
        found = super().throttle(response)
        if found is None:
            return None
        with self._lock:
            if self._size is not None:
                self._used, self._seen_at = self._size, self._clock()
        return found

    def budget(self) -> RateBudget:
        """Remaining calls in the bucket, its size, and seconds until it is empty."""
        with self._lock:
            if self._used is None or self._size is None:
                return super().budget()
            level = self._level(self._clock())
            return RateBudget(
                remaining=self._size - level,
                limit=self._size,
                reset_after_seconds=level / self.leak_rate,
                restore_rate=self.leak_rate,
                observed_at=self._observed_at(),
            )


class GraphQLCostPolicy(RateLimitPolicy):
    """Calculated-cost budget (Shopify GraphQL): reads `extensions.cost.throttleStatus`.

    Before a query, projects the available points (restored at `restoreRate` since last seen)
    and waits just long enough for the query's estimated cost. A THROTTLED error waits
    (requested - available) / restoreRate and is retried as a throttle, not as a failure.
    """

    def __init__(self, *, cost_path: str = "extensions.cost", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cost_path = cost_path
        self._maximum: float | None = None
        self._available: float | None = None
        self._restore: float | None = None
        self._seen_at = 0.0
        self._last_requested: float | None = None
        self.last_cost: dict[str, float | None] | None = None

    def _projected(self, now: float) -> float:
        assert self._available is not None and self._restore is not None
        projected = self._available + self._restore * max(0.0, now - self._seen_at)
        return min(self._maximum, projected) if self._maximum is not None else projected

    def delay_before(self, cost: float = 1.0) -> float:
        """Seconds until the projected available points cover `cost` (0 if unknown yet)."""
        with self._lock:
            self._last_requested = cost
            if self._available is None or not self._restore:
                return 0.0
            now = self._clock()
            projected = self._projected(now)
            # A query costing more than the bucket can ever hold is rejected by the platform
            # anyway; waiting for a full bucket is the most that can help.
            target = min(cost, self._maximum) if self._maximum is not None else cost
            wait = max(0.0, (target - projected) / self._restore)
            if wait * self._restore < _EPSILON:
                wait = 0.0
            # Reserve the cost now; the response's throttleStatus replaces the estimate.
            self._available = max(0.0, projected + wait * self._restore - cost)
            self._seen_at = now + wait
            return wait

    def observe(self, response: ApiResponse) -> None:
        """Read throttleStatus and the query's requested/actual cost."""
        cost = get_path(response.data, self.cost_path) if response.data is not None else None
        if not isinstance(cost, dict):
            return
        status = cost.get("throttleStatus") or {}
        with self._lock:
            maximum = _to_float(status.get("maximumAvailable"))
            available = _to_float(status.get("currentlyAvailable"))
            restore = _to_float(status.get("restoreRate"))
            if available is not None and restore is not None:
                self._maximum, self._available, self._restore = maximum, available, restore
                self._seen_at = self._clock()
            requested = _to_float(cost.get("requestedQueryCost"))
            if requested is not None:
                self._last_requested = requested
            self.last_cost = {
                "requested_query_cost": requested,
                "actual_query_cost": _to_float(cost.get("actualQueryCost")),
                "maximum_available": maximum,
                "currently_available": available,
                "restore_rate": restore,
            }
            self._mark_observed()

    def throttle(self, response: ApiResponse) -> Throttle | None:
        """THROTTLED in the GraphQL errors (HTTP 200) or a plain 429."""
        if response.status_code == 429:
            return super().throttle(response)
        if not _has_error_code(response.data, "THROTTLED"):
            return None
        with self._lock:
            requested, available, restore = self._last_requested, self._available, self._restore
        if requested is None or available is None or not restore:
            return Throttle(None, "THROTTLED")
        wait = (requested - available) / restore
        # available >= requested yet throttled: the projection is off; let the client back off.
        return Throttle(wait if wait > 0 else None, "THROTTLED")

    def budget(self) -> RateBudget:
        """Projected available points, bucket size, restore rate, seconds until full."""
        with self._lock:
            if self._available is None or self._restore is None:
                return super().budget()
            projected = self._projected(self._clock())
            reset = (
                (self._maximum - projected) / self._restore
                if self._maximum is not None and self._restore
                else None
            )
            return RateBudget(
                remaining=projected,
                limit=self._maximum,
                reset_after_seconds=reset,
                restore_rate=self._restore,
                observed_at=self._observed_at(),
            )


def _has_error_code(data: Any, code: str) -> bool:
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return False
    return any(isinstance(err, dict) and get_path(err, "extensions.code") == code for err in errors)


class TokenBucketPolicy(RateLimitPolicy):
    """Token bucket for published limits (Amazon SP-API usage plans: rate per second + burst).

    `rate_header` (e.g. `x-amzn-RateLimit-Limit`) updates the rate when the platform states
    the caller's actual plan. `headroom` < 1 paces a little under the rate: the platform
    meters arrivals and we meter departures, and network jitter alone makes a client that
    runs at exactly the rate draw an occasional 429.
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        rate_header: str | None = None,
        headroom: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        self.headroom = headroom
        self.rate = rate
        self.burst = burst
        self.rate_header = rate_header
        self._tokens = float(burst)
        self._last = self._clock()

    @property
    def pace(self) -> float:
        """The rate we actually send at (the platform's, less the headroom)."""
        return self.rate * self.headroom

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + self.pace * max(0.0, now - self._last))
        self._last = now

    def delay_before(self, cost: float = 1.0) -> float:
        """Take `cost` tokens, returning how long to wait until they exist."""
        with self._lock:
            self._refill(self._clock())
            wait = max(0.0, (cost - self._tokens) / self.pace)
            # Tokens may go negative: that is a reservation the next caller waits out.
            self._tokens -= cost
            return wait if wait >= _EPSILON else 0.0

    def observe(self, response: ApiResponse) -> None:
        """Adopt the platform's stated rate when the header is present."""
        if self.rate_header:
            rate = _to_float(response.headers.get(self.rate_header))
            if rate and rate > 0:
                with self._lock:
                    self.rate = rate
        with self._lock:
            self._mark_observed()

    def throttle(self, response: ApiResponse) -> Throttle | None:
        """429: the platform's bucket is empty, so empty ours and wait for one token."""
        found = super().throttle(response)
        if found is None:
            return None
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self._tokens, 0.0)
            delay = found.delay if found.delay is not None else 1.0 / self.pace
        return Throttle(delay, found.reason)

    def budget(self) -> RateBudget:
        """Tokens available now, burst, rate, seconds until the bucket is full."""
        with self._lock:
            self._refill(self._clock())
            return RateBudget(
                remaining=max(0.0, self._tokens),
                limit=self.burst,
                reset_after_seconds=max(0.0, (self.burst - self._tokens) / self.rate),
                restore_rate=self.rate,
                observed_at=self._observed_at(),
            )


class HeaderBudgetPolicy(RateLimitPolicy):
    """A "calls remaining in this window" header (Xero `X-MinLimit-Remaining`, 60 s window).

    When the remaining count reaches `min_remaining`, waits out the rest of the window (or the
    seconds given by `reset_header`).
    """

    def __init__(
        self,
        remaining_header: str,
        *,
        window_seconds: float,
        limit: float | None = None,
        reset_header: str | None = None,
        min_remaining: float = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.remaining_header = remaining_header
        self.window_seconds = window_seconds
        self.limit = limit
        self.reset_header = reset_header
        self.min_remaining = min_remaining
        self._remaining: float | None = None
        self._reset_at: float | None = None

    def delay_before(self, cost: float = 1.0) -> float:
        """Wait for the window to reset when the remaining count is exhausted."""
        with self._lock:
            if self._remaining is None or self._reset_at is None:
                return 0.0
            now = self._clock()
            if now >= self._reset_at:
                self._remaining, self._reset_at = None, None
                return 0.0
            if self._remaining - cost >= self.min_remaining - _EPSILON:
                self._remaining -= cost
                return 0.0
            wait = self._reset_at - now
            self._remaining, self._reset_at = None, None
            return wait

    def observe(self, response: ApiResponse) -> None:
        """Read the remaining count (and the reset seconds when the platform sends them)."""
        remaining = _to_float(response.headers.get(self.remaining_header))
        if remaining is None:
            return
        reset = _to_float(response.headers.get(self.reset_header)) if self.reset_header else None
        with self._lock:
            now = self._clock()
            if self._reset_at is None or now >= self._reset_at or reset is not None:
                self._reset_at = now + (reset if reset is not None else self.window_seconds)
            self._remaining = remaining
            self._mark_observed()

    def budget(self) -> RateBudget:
        """Remaining calls in the window and seconds until it resets."""
        with self._lock:
            if self._remaining is None or self._reset_at is None:
                return super().budget()
            return RateBudget(
                remaining=self._remaining,
                limit=self.limit,
                reset_after_seconds=max(0.0, self._reset_at - self._clock()),
                observed_at=self._observed_at(),
            )


class CompositePolicy(RateLimitPolicy):
    """Several policies at once (e.g. a published token bucket plus a remaining-calls header)."""

    def __init__(self, policies: Iterable[RateLimitPolicy], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policies = list(policies)
        if not self.policies:
            raise ValueError("CompositePolicy needs at least one policy")

    def delay_before(self, cost: float = 1.0) -> float:
        """The longest wait any member asks for."""
        return max(policy.delay_before(cost) for policy in self.policies)

    def observe(self, response: ApiResponse) -> None:
        """Every member sees every response."""
        for policy in self.policies:
            policy.observe(response)

    def throttle(self, response: ApiResponse) -> Throttle | None:
        """Throttled if any member says so; the longest hinted delay wins."""
        found = [t for t in (p.throttle(response) for p in self.policies) if t is not None]
        if not found:
            return None
        delays = [t.delay for t in found if t.delay is not None]
        return Throttle(max(delays) if delays else None, found[0].reason)

    def budget(self) -> RateBudget:
        """The tightest member budget (lowest remaining fraction), else the first."""
        budgets = [p.budget() for p in self.policies]
        known = [b for b in budgets if b.remaining is not None and b.limit]
        if known:
            return min(known, key=lambda b: b.remaining / b.limit)  # type: ignore[operator]
        return budgets[0]


# ---- budgets shared by several processes ---------------------------------------------------

# Slots per second a shared limit decays at, at least. An orchestrator that decays whole slots
# only (Prefect floors `rate x seconds since the last change`) loses up to one slot per
# acquisition; scaling a slow budget (Amazon's getOrders: 0.0167 calls/s) to this many slots a
# second keeps that loss to a twentieth of a second's budget instead of a whole minute's.
SLOT_RESOLUTION = 20.0


@dataclass(frozen=True, slots=True)
class SharedLimit:
    """One platform budget that every worker draws on: a token bucket of `burst` units (calls
    or cost points) refilled at `rate` units a second, counted in whole slots of 1/`scale`."""

    name: str
    rate: float
    burst: float

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"shared limit {self.name!r} needs rate > 0 and burst >= 1")

    @property
    def scale(self) -> int:
        """Slots per unit, so the bucket decays at least SLOT_RESOLUTION slots a second."""
        return max(1, math.ceil(SLOT_RESOLUTION / self.rate))

    @property
    def slots(self) -> int:
        """The bucket's size in slots (the orchestrator's limit)."""
        return max(1, math.floor(self.burst * self.scale))

    @property
    def slot_decay_per_second(self) -> float:
        """Slots restored per second."""
        return self.rate * self.scale

    def occupy(self, cost: float) -> int:
        """Slots a request of this cost takes; never more than the bucket holds (a request
        costing more than the platform's whole bucket is refused by the platform anyway)."""
        return min(self.slots, max(1, math.ceil(cost * self.scale - _EPSILON)))


# acquire(limit name, slots): block until the slots are taken from the shared bucket.
SlotAcquirer = Callable[[str, int], None]


class SharedRateLimit(RateLimitPolicy):
    """Wraps a process's own policy and also takes each request's cost from a budget shared
    by every worker (an orchestrator's rate limit, injected as `acquire`).

    The process's own policy still paces (it knows the platform's headers, 429 handling and
    the budget for health), and the shared budget is taken *after* its wait, right before
    the request leaves: a slot taken early and spent late would let requests bunch up at
    the platform beyond its burst. That is why this policy, unlike the others, blocks in
    `delay_before` (with an injectable sleep) and then answers 0.
    `limit_for()` names the shared limit of the request about to be sent (None: not shared,
    e.g. a presigned download outside any metered operation).
    """

    def __init__(
        self,
        inner: RateLimitPolicy,
        acquire: SlotAcquirer,
        limit_for: Callable[[], SharedLimit | None],
        *,
        sleep: Callable[[float], None] = time.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.inner = inner
        self._acquire = acquire
        self.limit_for = limit_for
        self._sleep = sleep
        self.acquired_slots = 0  # slots taken so far (for tests and progress reporting)

    def delay_before(self, cost: float = 1.0) -> float:
        """Wait out the own policy, then block until the shared budget has `cost`."""
        wait = self.inner.delay_before(cost)
        limit = self.limit_for()
        if limit is None:
            return wait
        if wait > 0:
            self._sleep(wait)
        slots = limit.occupy(cost)
        self._acquire(limit.name, slots)
        with self._lock:
            self.acquired_slots += slots
        return 0.0

    def observe(self, response: ApiResponse) -> None:
        """The own policy reads the platform's signals."""
        self.inner.observe(response)

    def throttle(self, response: ApiResponse) -> Throttle | None:
        """The own policy decides what a refusal is and how long to back off."""
        return self.inner.throttle(response)

    def budget(self) -> RateBudget:
        """The own policy's view of the platform's budget."""
        return self.inner.budget()
