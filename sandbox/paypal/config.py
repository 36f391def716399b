"""Settings of one PayPal sandbox account: its generated history, credentials and API rules.

Fields marked (assumption) are behaviours PayPal does not document; they are configurable
so a test can take either side.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal

from bigledger.money import normalize_currency
from sandbox.shopify.config import parse_start

DEFAULT_CLIENT_ID = "AbSandboxClientId0000000000000000000000000000000000000000000000000000000"
DEFAULT_CLIENT_SECRET = "EbSandboxClientSecret00000000000000000000000000000000000000000000000000"
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)
SEARCH_SCOPE = "https://uri.paypal.com/services/reporting/search/read"
BALANCES_SCOPE = "https://uri.paypal.com/services/reporting/balances/read"
DEFAULT_SCOPES = (
    SEARCH_SCOPE,
    BALANCES_SCOPE,
    "https://uri.paypal.com/services/payments/payment/authcapture",
    "openid",
)

# Fields that define the generated history; changing one regenerates it.
DATASET_FIELDS = (
    "seed", "size", "start", "days", "currencies", "withdrawal_interval_days",
    "refund_percent", "chargeback_percent", "dispute_won_percent", "pending_percent",
    "denied_percent", "refund_fee_policy",
)  # fmt: skip

RefundFeePolicy = Literal["variable", "full", "none"]


@dataclass(frozen=True)
class PayPalSandboxConfig:
    """Everything that shapes one sandbox PayPal account. The history is a pure function of
    the DATASET_FIELDS; `size` counts customer payments (refunds, disputes, holds, fees and
    withdrawals to the bank come on top)."""

    seed: int = 1
    size: int = 1_000
    start: datetime = DEFAULT_START
    days: int = 90  # customer payments spread evenly over [start, start + days)
    currencies: tuple[str, ...] = ("USD",)
    # Withdrawals (T0400) sweep each currency's balance to the bank this often, and once
    # more after the last movement so every balance ends at zero.
    withdrawal_interval_days: int = 7
    refund_percent: int = 8  # of successful payments; half of them partial
    chargeback_percent: int = 2  # hold, then chargeback lost (T1110, T1111, T1201, T0106)
    dispute_won_percent: int = 2  # hold, then released (T1110, T1111)
    pending_percent: int = 3  # status P (not balance-affecting)
    denied_percent: int = 2  # status D (not balance-affecting)
    # Fee returned on a refund (assumption: PayPal's rule varies by country and year):
    # "variable" returns the percentage part pro rata and keeps the fixed fee, "full"
    # returns the fee pro rata, "none" keeps it all (the US rule since 2018).
    refund_fee_policy: RefundFeePolicy = "variable"

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    expires_in: int = 32_400  # token lifetime in seconds (docs: "typically 9 hours")
    app_id: str = "APP-80W284485P519543T"
    account_number: str = "XZXSPECPDZHZU"

    # "Now" for the publication lag, token expiry and the history limit; None = real clock.
    now: datetime | None = None
    publication_lag_seconds: int = 3 * 3600  # transactions appear up to 3 hours late
    # last_refreshed_datetime is floored to this step (assumption: 1 = to the second).
    refresh_interval_seconds: int = 1
    history_days: int = 3 * 365  # start_date may go back 3 years
    max_range_days: int = 31
    max_result_items: int = 10_000  # RESULTSET_TOO_LARGE above this many results
    # end_date includes its own second (assumption, as clients send ...T23:59:59).
    end_inclusive: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", parse_start(self.start))
        if self.now is not None:
            object.__setattr__(self, "now", parse_start(self.now))
        currencies = (self.currencies,) if isinstance(self.currencies, str) else self.currencies
        codes = tuple(dict.fromkeys(normalize_currency(c) for c in currencies))
        if not codes:
            raise ValueError("currencies must name at least one currency")
        object.__setattr__(self, "currencies", codes)
        object.__setattr__(self, "scopes", tuple(self.scopes))
        if self.size < 0:
            raise ValueError("size must be >= 0")
        if self.days < 1:
            raise ValueError("days must be >= 1")
        if self.withdrawal_interval_days < 1:
            raise ValueError("withdrawal_interval_days must be >= 1")
        rates = (self.refund_percent, self.chargeback_percent, self.dispute_won_percent)
        if any(r < 0 for r in rates) or sum(rates) > 100:
            raise ValueError("refund, chargeback and dispute percentages must add up to <= 100")
        if not 0 <= self.pending_percent + self.denied_percent <= 100 or min(
                self.pending_percent, self.denied_percent) < 0:  # fmt: skip
            raise ValueError("pending and denied percentages must add up to <= 100")
        if self.refund_fee_policy not in ("variable", "full", "none"):
            raise ValueError("refund_fee_policy must be variable, full or none")
        if self.expires_in < 1:
            raise ValueError("expires_in must be >= 1")
        if self.publication_lag_seconds < 0 or self.refresh_interval_seconds < 1:
            raise ValueError("publication lag must be >= 0 and refresh interval >= 1")
        if self.max_range_days < 1 or self.max_result_items < 1 or self.history_days < 1:
            raise ValueError("max_range_days, max_result_items and history_days must be >= 1")

    def with_changes(self, **changes: Any) -> PayPalSandboxConfig:
        """A copy with some fields replaced (validated like a new config)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return replace(self, **changes)

    def dataset_key(self) -> tuple[Any, ...]:
        """The values the generated history depends on."""
        return tuple(getattr(self, name) for name in DATASET_FIELDS)

    def dataset_summary(self) -> dict[str, Any]:
        """The dataset-defining fields as JSON-ready values."""
        out = {name: getattr(self, name) for name in DATASET_FIELDS}
        out["start"] = self.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        out["currencies"] = list(self.currencies)
        return out
