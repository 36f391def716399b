"""Settings of one WooCommerce sandbox store: its generated orders and its API keys."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from bigledger.money import normalize_currency
from sandbox.shopify.config import parse_start

DEFAULT_CONSUMER_KEY = "ck_sandbox0000000000000000000000000000000000"
DEFAULT_CONSUMER_SECRET = "cs_sandbox0000000000000000000000000000000000"
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

# Fields POST /__sandbox/woocommerce/control {"dataset": {...}} may change.
DATASET_FIELDS = (
    "seed", "size", "currency", "start", "interval_seconds", "customer_pool",
    "utc_offset_minutes", "prices_include_tax", "catalog_size",
)  # fmt: skip


@dataclass(frozen=True)
class WooCommerceSandboxConfig:
    """Everything that shapes one sandbox store. Order i depends only on the dataset fields
    and i, so a smaller store is a prefix of a larger one."""

    seed: int = 1
    size: int = 10_000
    currency: str = "USD"
    start: datetime = DEFAULT_START
    interval_seconds: int = 300
    customer_pool: int = 2_000
    # The WordPress site's zone: `date_created` is local, `date_created_gmt` UTC.
    utc_offset_minutes: int = 0
    # WooCommerce > Settings > Tax "Prices entered with tax"; None mixes both per order.
    prices_include_tax: bool | None = None
    # Products in the catalog; the first 12 are the ones the generated orders sell.
    catalog_size: int = 40
    site_url: str = "https://bigledger-sandbox.example"
    # (consumer_key, consumer_secret) pairs with read access.
    credentials: tuple[tuple[str, str], ...] = ((DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET),)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", parse_start(self.start))
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        object.__setattr__(
            self, "credentials", tuple((str(k), str(s)) for k, s in self.credentials)
        )
        if self.size < 0:
            raise ValueError("size must be >= 0")
        if self.interval_seconds < 3:
            raise ValueError("interval_seconds must be >= 3")
        if self.catalog_size < 0:
            raise ValueError("catalog_size must be >= 0")
        if self.customer_pool < 1:
            raise ValueError("customer_pool must be >= 1")
        if not -720 <= self.utc_offset_minutes <= 840:
            raise ValueError("utc_offset_minutes must be between -720 and 840")

    def with_changes(self, **changes: Any) -> WooCommerceSandboxConfig:
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
            "currency": self.currency,
            "start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "interval_seconds": self.interval_seconds,
            "customer_pool": self.customer_pool,
            "utc_offset_minutes": self.utc_offset_minutes,
            "prices_include_tax": self.prices_include_tax,
        }
