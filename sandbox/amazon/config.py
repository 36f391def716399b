"""Settings of one Amazon SP-API sandbox: the seller, its LWA app, its data and its limits."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.amazon.marketplaces import marketplace
from sandbox.shopify.config import parse_start

DEFAULT_SELLER_ID = "A2SANDBOXSELLER01"
DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.sandbox0000000000000000000000"
DEFAULT_CLIENT_SECRET = "amzn1.oa2-cs.v1.sandbox-client-secret-0000000000000000000000000000"
DEFAULT_REFRESH_TOKEN = "Atzr|IwEBIsandbox-refresh-token-000000000000000000000000000000000000"
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

# Published default usage plans: operation -> (requests per second, burst). The header
# x-amzn-RateLimit-Limit reports rate × rate_multiplier (a seller's faster or slower plan).
DEFAULT_USAGE_PLANS: dict[str, tuple[Decimal, int]] = {
    "getMarketplaceParticipations": (Decimal("0.016"), 15),
    "getOrders": (Decimal("0.0167"), 20),
    "getOrder": (Decimal("0.5"), 30),
    "getOrderItems": (Decimal("0.5"), 30),
    "getReports": (Decimal("0.0222"), 10),
    "getReport": (Decimal(2), 15),
    "getReportDocument": (Decimal("0.0167"), 15),
}

# Fields POST /__sandbox/amazon/control {"dataset": {...}} may change.
DATASET_FIELDS = (
    "seed", "size", "start", "marketplace_id", "interval_seconds", "settlement_days",
    "mismatch_settlements", "cancelled_settlements", "buyer_pool",
)  # fmt: skip


@dataclass(frozen=True)
class AmazonSandboxConfig:
    """Everything that shapes one sandbox seller. Order i depends only on (seed, marketplace,
    start, interval_seconds, buyer_pool) and i, so a smaller dataset is a prefix of a larger
    one; settlement k depends on the orders whose shipment or refund falls in its period."""

    seed: int = 1
    size: int = 2_000
    start: datetime = DEFAULT_START
    marketplace_id: str = "ATVPDKIKX0DER"
    # Order i is created about i * interval_seconds after start.
    interval_seconds: int = 600
    buyer_pool: int = 500
    # Settlement periods: [start + k·days, start + (k+1)·days).
    settlement_days: int = 14
    # Settlement numbers k (0-based) whose total-amount is one minor unit off (never ties out).
    mismatch_settlements: tuple[int, ...] = ()
    # Settlement numbers k listed as CANCELLED, without a document.
    cancelled_settlements: tuple[int, ...] = ()

    # -- the seller and its LWA application --
    seller_id: str = DEFAULT_SELLER_ID
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    # (refresh_token, seller_id): every seller authorised this app; the data is shared.
    refresh_tokens: tuple[tuple[str, str], ...] = ((DEFAULT_REFRESH_TOKEN, DEFAULT_SELLER_ID),)
    access_token_ttl: int = 3600

    # -- rate limits: one token bucket per (seller, operation) --
    throttling: bool = True
    rate_multiplier: Decimal = Decimal(1)
    # operation -> (rate, burst) replacing the published default (before the multiplier).
    usage_plans: tuple[tuple[str, Decimal, int], ...] = ()

    # -- report documents --
    document_url_ttl: int = 300  # presigned link lifetime, seconds
    compress_documents: bool = True  # compressionAlgorithm GZIP
    document_encoding: str = "utf-8"  # or cp1252, as some EU downloads are
    # Presigned links point here; None means the host the request came to.
    document_base_url: str | None = None
    # Refuse createdSince more than 90 days back (Amazon keeps reports 90 days). Off by
    # default: the default dataset lies in the past.
    enforce_retention: bool = False
    # Order items per getOrderItems page.
    order_items_page_size: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", parse_start(self.start))
        marketplace(self.marketplace_id)
        object.__setattr__(self, "rate_multiplier", Decimal(str(self.rate_multiplier)))
        object.__setattr__(self, "mismatch_settlements", tuple(self.mismatch_settlements))
        object.__setattr__(self, "cancelled_settlements", tuple(self.cancelled_settlements))
        object.__setattr__(
            self, "refresh_tokens", tuple((str(t), str(s)) for t, s in self.refresh_tokens)
        )
        object.__setattr__(
            self,
            "usage_plans",
            tuple((str(op), Decimal(str(rate)), int(burst))
                  for op, rate, burst in self.usage_plans),
        )
        if self.size < 0:
            raise ValueError("size must be >= 0")
        if self.interval_seconds < 4:
            raise ValueError("interval_seconds must be >= 4")
        if self.settlement_days < 1:
            raise ValueError("settlement_days must be >= 1")
        if self.buyer_pool < 1:
            raise ValueError("buyer_pool must be >= 1")
        if self.access_token_ttl < 1 or self.document_url_ttl < 1:
            raise ValueError("token and link lifetimes must be >= 1 second")
        if self.rate_multiplier <= 0:
            raise ValueError("rate_multiplier must be positive")
        if not 1 <= self.order_items_page_size <= 100:
            raise ValueError("order_items_page_size must be between 1 and 100")
        if self.document_encoding not in ("utf-8", "cp1252"):
            raise ValueError("document_encoding must be utf-8 or cp1252")
        for op, rate, burst in self.usage_plans:
            if op not in DEFAULT_USAGE_PLANS:
                raise ValueError(f"unknown operation {op!r} in usage_plans")
            if rate <= 0 or burst < 1:
                raise ValueError(f"usage plan of {op} needs a positive rate and burst")

    def with_changes(self, **changes: Any) -> AmazonSandboxConfig:
        """A copy with some fields replaced (validated like a new config)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return replace(self, **changes)

    def plan(self, operation: str) -> tuple[Decimal, int]:
        """(rate per second, burst) the seller has for an operation, multiplier applied."""
        rate, burst = DEFAULT_USAGE_PLANS[operation]
        for op, custom_rate, custom_burst in self.usage_plans:
            if op == operation:
                rate, burst = custom_rate, custom_burst
        return rate * self.rate_multiplier, burst

    def dataset_summary(self) -> dict[str, Any]:
        """The dataset-defining fields as JSON-ready values."""
        return {
            "seed": self.seed,
            "size": self.size,
            "start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "marketplace_id": self.marketplace_id,
            "interval_seconds": self.interval_seconds,
            "buyer_pool": self.buyer_pool,
            "settlement_days": self.settlement_days,
            "mismatch_settlements": list(self.mismatch_settlements),
            "cancelled_settlements": list(self.cancelled_settlements),
        }
