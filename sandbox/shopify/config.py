"""Settings of one Shopify sandbox: the generated shop, its tokens and its rate limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sandbox.shopify.currencies import CURRENCY_CODES, profile_for

DEFAULT_TOKEN = "shpat_sandbox_token"
# The app's client secret (API secret key): the key of every webhook's HMAC. A fixed
# sandbox value, so a test or demo can verify deliveries without being told it.
DEFAULT_APP_CLIENT_SECRET = "shpss_sandbox_client_secret"
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

# Fields a caller may change at runtime with POST /__sandbox/control {"dataset": {...}}.
DATASET_FIELDS = (
    "seed", "size", "currency", "start", "interval_seconds", "customer_pool", "products",
)  # fmt: skip


def parse_start(value: datetime | str) -> datetime:
    """A timezone-aware datetime from a datetime or ISO string (naive means UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class ShopifySandboxConfig:
    """Everything that shapes one sandbox shop. Order i depends only on (seed, i, currency,
    start, interval_seconds, customer_pool), so a smaller dataset is a prefix of a larger one."""

    seed: int = 1
    size: int = 10_000
    currency: str = "MYR"
    # Order 0 is created at `start`; order i about i * interval_seconds later.
    start: datetime = DEFAULT_START
    interval_seconds: int = 300
    customer_pool: int = 5_000
    # Catalog size; None: size // 10, at least the 160 products orders sell, at most 5,000.
    products: int | None = None
    timezone: str | None = None  # default: a zone that fits the currency
    shop_name: str = "BigLedger Sandbox"
    shop_domain: str = "bigledger-sandbox.myshopify.com"
    shop_email: str = "owner@bigledger-sandbox.example"
    plan_name: str = "Basic"
    access_tokens: tuple[str, ...] = (DEFAULT_TOKEN,)
    app_client_secret: str = field(default=DEFAULT_APP_CLIENT_SECRET, repr=False)
    # Leaky bucket of query cost points; throttling=False keeps the bucket full.
    throttling: bool = True
    maximum_available: float = 2000.0
    restore_rate: float = 100.0
    # Largest requested cost of one query; None lifts the limit.
    max_query_cost: int | None = 1000
    max_page_size: int = 250
    # "fixed": amounts with the currency's decimals ("10.00", JPY "4990");
    # "trimmed": Shopify's BigDecimal style ("10.0", "49.99", JPY "4990.0").
    money_format: Literal["fixed", "trimmed"] = "fixed"
    # Bulk operations: time in CREATED, pace while RUNNING (None: as fast as it goes) and
    # how long a result URL works after completion (Shopify: seven days). Config clock.
    bulk_queue_seconds: float = 0.0
    bulk_objects_per_second: float | None = None
    bulk_url_ttl_seconds: float = 7 * 86_400.0
    # Injectable clocks so tests can control "now" (order updates) and the bucket refill.
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", parse_start(self.start))
        object.__setattr__(self, "currency", str(self.currency).strip().upper())
        object.__setattr__(self, "access_tokens", tuple(self.access_tokens))
        if self.currency not in CURRENCY_CODES:
            raise ValueError(f"currency {self.currency!r} is not a Shopify CurrencyCode")
        if self.size < 0:
            raise ValueError("size must be >= 0")
        if self.interval_seconds < 1:
            raise ValueError("interval_seconds must be >= 1")
        if self.products is not None and self.products < 0:
            raise ValueError("products must be >= 0")
        if self.customer_pool < 1:
            raise ValueError("customer_pool must be >= 1")
        if not 1 <= self.max_page_size:
            raise ValueError("max_page_size must be >= 1")
        if self.maximum_available <= 0 or self.restore_rate < 0:
            raise ValueError("maximum_available must be > 0 and restore_rate >= 0")
        if self.money_format not in ("fixed", "trimmed"):
            raise ValueError("money_format must be 'fixed' or 'trimmed'")
        if not self.app_client_secret:
            raise ValueError("app_client_secret must not be empty (it signs webhooks)")

    @property
    def iana_timezone(self) -> str:
        """The shop's time zone: the configured one or the currency's usual one."""
        return self.timezone or profile_for(self.currency).timezone

    def with_changes(self, **changes: Any) -> ShopifySandboxConfig:
        """A copy with some fields replaced (validated like a new config)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return replace(self, **changes)

    def dataset_summary(self) -> dict[str, Any]:
        """The dataset-defining fields as JSON-ready values."""
        return {
            "seed": self.seed,
            "size": self.size,
            "currency": self.currency,
            "start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "interval_seconds": self.interval_seconds,
            "customer_pool": self.customer_pool,
            "products": self.products,
            "timezone": self.iana_timezone,
            "money_format": self.money_format,
        }
