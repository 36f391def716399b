"""Settings of one Stripe sandbox account: its generated balance history, keys and limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal

from bigledger.money import normalize_currency
from sandbox.shopify.config import parse_start

DEFAULT_SECRET_KEY = "sk_test_51BigLedgerSandbox0000000000000000"
DEFAULT_LIVE_KEY = "sk_live_51BigLedgerSandbox0000000000000000"
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)
# The account's pinned API version, echoed in `Stripe-Version` when the request sends none.
DEFAULT_API_VERSION = "2024-06-20"

# Fields POST /__sandbox/stripe/control {"dataset": {...}} may change.
DATASET_FIELDS = (
    "seed", "size", "start", "days", "currencies", "payout_schedule", "payout_delay_days",
    "refund_percent", "dispute_percent",
)  # fmt: skip


@dataclass(frozen=True)
class StripeSandboxConfig:
    """Everything that shapes one sandbox account.

    The balance history is a pure function of (seed, size, start, days, currencies and the
    payout/refund/dispute knobs): `size` charges spread over `days` days from `start`, their
    refunds, disputes and fees, and the automatic payouts that sweep the balance to zero.
    """

    seed: int = 1
    size: int = 200  # number of charges, over all currencies
    start: datetime = DEFAULT_START
    days: int = 30
    # Lower-case ISO codes, as Stripe writes them; each has its own balance and payouts.
    currencies: tuple[str, ...] = ("usd",)
    # Automatic payouts: "daily" or "weekly"; funds of a charge become available
    # `payout_delay_days` days after the day it was made (Stripe's default is 2 in the US).
    payout_schedule: Literal["daily", "weekly"] = "daily"
    payout_delay_days: int = 2
    refund_percent: int = 10  # share of charges refunded (fully or partly)
    dispute_percent: int = 4  # share of charges disputed (never also refunded)
    # Accepted secret or restricted keys; the prefix (sk_test_/sk_live_/rk_...) is the mode.
    secret_keys: tuple[str, ...] = (DEFAULT_SECRET_KEY, DEFAULT_LIVE_KEY)
    account_id: str = "acct_1BigLedgerSandbox"
    country: str = "US"
    email: str = "owner@bigledger-sandbox.example"
    business_name: str = "BigLedger Sandbox"
    api_version: str = DEFAULT_API_VERSION
    # Stripe's read limits per key mode (requests per second, a token bucket of one
    # second's worth). The real numbers are from docs.stripe.com/rate-limits.
    rate_limiting: bool = True
    test_rate: float = 25.0
    live_rate: float = 100.0
    # Injectable clocks: `clock` is wall time (balance status, created of POSTed objects),
    # `monotonic` drives the rate-limit bucket (tests share a fake one with the connector).
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", parse_start(self.start))
        if isinstance(self.currencies, str):
            object.__setattr__(self, "currencies", (self.currencies,))
        codes = tuple(normalize_currency(c).lower() for c in self.currencies)
        if not codes:
            raise ValueError("currencies must name at least one currency")
        if len(set(codes)) != len(codes):
            raise ValueError("currencies must not repeat")
        object.__setattr__(self, "currencies", codes)
        object.__setattr__(self, "secret_keys", tuple(str(k) for k in self.secret_keys))
        if self.size < 0:
            raise ValueError("size must be >= 0")
        if not 1 <= self.days <= 3660:
            raise ValueError("days must be between 1 and 3660")
        if self.payout_schedule not in ("daily", "weekly"):
            raise ValueError("payout_schedule must be 'daily' or 'weekly'")
        if not 0 <= self.payout_delay_days <= 30:
            raise ValueError("payout_delay_days must be between 0 and 30")
        if not 0 <= self.refund_percent <= 100 or not 0 <= self.dispute_percent <= 100:
            raise ValueError("refund_percent and dispute_percent must be between 0 and 100")
        if self.refund_percent + self.dispute_percent > 100:
            raise ValueError("refund_percent + dispute_percent must not exceed 100")
        if self.test_rate <= 0 or self.live_rate <= 0:
            raise ValueError("test_rate and live_rate must be positive")

    @property
    def default_currency(self) -> str:
        """The account's default (settlement) currency: the first one listed."""
        return self.currencies[0]

    def with_changes(self, **changes: Any) -> StripeSandboxConfig:
        """A copy with some fields replaced (validated like a new config)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return replace(self, **changes)

    def dataset_summary(self) -> dict[str, Any]:
        """The dataset-defining fields as JSON-ready values."""
        return {
            "seed": self.seed,
            "size": self.size,
            "start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "days": self.days,
            "currencies": list(self.currencies),
            "payout_schedule": self.payout_schedule,
            "payout_delay_days": self.payout_delay_days,
            "refund_percent": self.refund_percent,
            "dispute_percent": self.dispute_percent,
        }


def key_mode(key: str) -> Literal["test", "live"] | None:
    """'test' or 'live' from a secret/restricted key's prefix; None for anything else."""
    for prefix in ("sk_test_", "rk_test_"):
        if key.startswith(prefix):
            return "test"
    for prefix in ("sk_live_", "rk_live_"):
        if key.startswith(prefix):
            return "live"
    return None
