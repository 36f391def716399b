"""Switchable, deterministic faults and the counters that prove they were served.

Every fault is a count-down ("the next N requests", optionally after letting K through),
so a test that arms one knows exactly which requests fail and can assert on recovery.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FAULT_NAMES = ("throttle_storm", "http_5xx", "http_429", "slow", "malformed", "bulk_failed")


@dataclass
class Countdown:
    """Fires on `count` eligible requests after `after` of them have passed untouched."""

    count: int = 0
    after: int = 0

    def fire(self) -> bool:
        if self.count <= 0:
            return False
        if self.after > 0:
            self.after -= 1
            return False
        self.count -= 1
        return True


@dataclass
class FaultPlan:
    """The armed faults of one sandbox."""

    throttle_storm: Countdown = field(default_factory=Countdown)
    http_5xx: Countdown = field(default_factory=Countdown)
    status_5xx: int = 503
    body_5xx: str = "html"
    http_429: Countdown = field(default_factory=Countdown)
    retry_after: float | str = 1.0
    slow: Countdown = field(default_factory=Countdown)
    delay_ms: int = 1000
    malformed: Countdown = field(default_factory=Countdown)
    malformed_mode: str = "truncated"
    token_revoked: bool = False
    # Counts bulk operations started, not requests: the next one ends FAILED.
    bulk_failed: Countdown = field(default_factory=Countdown)
    bulk_error_code: str = "INTERNAL_SERVER_ERROR"
    bulk_fail_after_objects: int = 0

    def describe(self) -> dict[str, Any]:
        """JSON view of what is armed (remaining counts)."""
        return {
            "throttle_storm": asdict(self.throttle_storm),
            "http_5xx": {**asdict(self.http_5xx), "status": self.status_5xx, "body": self.body_5xx},
            "http_429": {**asdict(self.http_429), "retry_after": self.retry_after},
            "slow": {**asdict(self.slow), "delay_ms": self.delay_ms},
            "malformed": {**asdict(self.malformed), "mode": self.malformed_mode},
            "token_revoked": self.token_revoked,
            "bulk_failed": {**asdict(self.bulk_failed), "error_code": self.bulk_error_code,
                            "after_objects": self.bulk_fail_after_objects},
        }

    def retry_after_header(self) -> str:
        """Retry-After as sent: a string is echoed verbatim, a number in its shortest form."""
        value = self.retry_after
        if isinstance(value, str):
            return value
        return str(int(value)) if float(value).is_integer() else repr(float(value))


# ---- control-endpoint models --------------------------------------------------------------


class CountdownSpec(BaseModel):
    """`{"count": N, "after": K}`; a bare integer N means `{"count": N}`."""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(1, ge=0)
    after: int = Field(0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _bare_count(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"count": value}
        return value


class Http5xxSpec(CountdownSpec):
    status: Literal[500, 502, 503, 504] = 503
    body: Literal["html", "json"] = "html"


class Http429Spec(CountdownSpec):
    retry_after: float | str = Field(1.0, description="seconds; a string is sent verbatim")


class SlowSpec(CountdownSpec):
    delay_ms: int = Field(1000, ge=0, le=600_000)


class MalformedSpec(CountdownSpec):
    mode: Literal["truncated", "invalid", "empty"] = "truncated"


class BulkFailedSpec(CountdownSpec):
    """The next `count` bulk operations (after `after`) fail with `error_code` once they
    have written `after_objects` lines (then `partialDataUrl` serves those)."""

    error_code: Literal["INTERNAL_SERVER_ERROR", "TIMEOUT", "ACCESS_DENIED"] = (
        "INTERNAL_SERVER_ERROR"
    )
    after_objects: int = Field(0, ge=0)


class FaultsSpec(BaseModel):
    """The `faults` object of POST /__sandbox/control; absent keys leave a fault as is."""

    model_config = ConfigDict(extra="forbid")
    throttle_storm: CountdownSpec | None = None
    http_5xx: Http5xxSpec | None = None
    http_429: Http429Spec | None = None
    slow: SlowSpec | None = None
    malformed: MalformedSpec | None = None
    token_revoked: bool | None = None
    bulk_failed: BulkFailedSpec | None = None

    def apply(self, plan: FaultPlan) -> None:
        if self.throttle_storm is not None:
            plan.throttle_storm = Countdown(self.throttle_storm.count, self.throttle_storm.after)
        if self.http_5xx is not None:
            spec = self.http_5xx
            plan.http_5xx = Countdown(spec.count, spec.after)
            plan.status_5xx, plan.body_5xx = spec.status, spec.body
        if self.http_429 is not None:
            spec429 = self.http_429
            plan.http_429 = Countdown(spec429.count, spec429.after)
            plan.retry_after = spec429.retry_after
        if self.slow is not None:
            plan.slow = Countdown(self.slow.count, self.slow.after)
            plan.delay_ms = self.slow.delay_ms
        if self.malformed is not None:
            plan.malformed = Countdown(self.malformed.count, self.malformed.after)
            plan.malformed_mode = self.malformed.mode
        if self.token_revoked is not None:
            plan.token_revoked = self.token_revoked
        if self.bulk_failed is not None:
            spec_bulk = self.bulk_failed
            plan.bulk_failed = Countdown(spec_bulk.count, spec_bulk.after)
            plan.bulk_error_code = spec_bulk.error_code
            plan.bulk_fail_after_objects = spec_bulk.after_objects


# ---- fault bodies -------------------------------------------------------------------------

_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}  # fmt: skip
RATE_LIMIT_BODY = {
    "errors": "Exceeded 2 calls per second for api client. "
    "Reduce request rates to resume uninterrupted service."
}


def server_error_body(status: int, style: str) -> tuple[bytes, str]:
    """(body, media type) of an upstream failure page."""
    reason = _REASONS.get(status, "Server Error")
    if style == "json":
        return json.dumps({"errors": reason}).encode(), "application/json; charset=utf-8"
    html = (
        f"<!DOCTYPE html><html><head><title>{status} {reason}</title></head>"
        f"<body><h1>{reason}</h1><p>There was a problem loading this page "
        f"(sandbox fault).</p></body></html>"
    )
    return html.encode(), "text/html; charset=utf-8"


def corrupt(payload: bytes, mode: str) -> bytes:
    """A 200 body a client cannot parse as JSON."""
    if mode == "empty":
        return b""
    if mode == "invalid":
        return b"<html><body>upstream returned garbage</body></html>"
    return payload[: max(1, len(payload) // 2)]


@dataclass
class Stats:
    """Counters since start or the last reset (GET /__sandbox/stats)."""

    requests: int = 0  # hits on the GraphQL endpoint
    executed: int = 0  # queries that ran
    throttled: int = 0  # THROTTLED answers, from the bucket or a storm
    max_cost_exceeded: int = 0
    unauthorized: int = 0
    invalid_queries: int = 0  # parse or validation errors
    orders_served: int = 0
    actual_cost: int = 0
    faults_served: dict[str, int] = field(
        default_factory=lambda: {name: 0 for name in (*FAULT_NAMES, "token_revoked")}
    )

    def describe(self) -> dict[str, Any]:
        return asdict(self)
