"""Settings of one QuickBooks Online sandbox company: its generated books, OAuth app and limits.

Fields marked (assumption) are behaviours Intuit does not document precisely; they are
configurable so a test can take either side.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from bigledger.money import normalize_currency
from sandbox.shopify.config import parse_start

DEFAULT_REALM_ID = "9341452731066184"
DEFAULT_CLIENT_ID = "ABsandboxQuickBooksClientId00000000000000000000000"
DEFAULT_CLIENT_SECRET = "sandboxQuickBooksClientSecret000000000000"
DEFAULT_REFRESH_TOKEN = "AB11sandboxRefreshToken0000000000000000000000000000"
DEFAULT_AUTH_CODE = "AB11sandboxAuthorizationCode000000000000"
DEFAULT_START = date(2024, 1, 1)

# Fields that define the generated company; changing one regenerates it.
DATASET_FIELDS = ("seed", "size", "start", "days", "home_currency", "foreign_currencies",
                  "void_percent", "delete_percent")  # fmt: skip

Rotation = Literal["always", "interval"]
OldTokenPolicy = Literal["until_new_used", "immediate"]
MinorVersionPolicy = Literal["fault", "upgrade"]
PnlPeriod = Literal["fiscal_year", "report_period"]
AuthFaultShape = Literal["Fault", "fault"]


def parse_day(value: date | datetime | str) -> date:
    """A date from a date, a datetime or an ISO string."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = value.strip()
    return date.fromisoformat(text[:10])


@dataclass(frozen=True)
class QuickBooksSandboxConfig:
    """Everything that shapes one sandbox company. The books are a pure function of the
    DATASET_FIELDS; `size` counts transactions (the opening journal entries come on top)."""

    seed: int = 1
    size: int = 400
    start: date = DEFAULT_START  # first transaction date
    days: int = 180  # transactions spread over [start, start + days)
    home_currency: str = "USD"
    # Currencies some customers buy in (multicurrency on when non-empty); None picks EUR (or
    # USD when the home currency is EUR).
    foreign_currencies: tuple[str, ...] | None = None
    void_percent: int = 3  # of voidable transactions (invoices, payments, receipts, checks)
    delete_percent: int = 2  # of deletable transactions that nothing links to

    realm_id: str = DEFAULT_REALM_ID
    company_name: str = "Sandbox Trading Co."
    fiscal_year_start_month: int = 1
    # MetaData times carry this fixed offset (QuickBooks answers in the company's zone).
    utc_offset_minutes: int = -480

    # -- OAuth ----------------------------------------------------------------------------
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    # Grants that exist when the sandbox starts (each its own connection to the company).
    refresh_tokens: tuple[str, ...] = (DEFAULT_REFRESH_TOKEN,)
    authorization_codes: tuple[str, ...] = (DEFAULT_AUTH_CODE,)
    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 8_726_400  # idle lifetime, ~100 days
    refresh_token_max_lifetime_seconds: int = 5 * 365 * 86_400  # hard cap since 2025
    # "always": every refresh returns a new refresh token; "interval": only when the one used
    # is older than rotation_interval_seconds (Intuit: about every 24 hours).
    refresh_token_rotation: Rotation = "always"
    rotation_interval_seconds: int = 86_400
    # (assumption) "until_new_used": the old refresh token keeps working (and answers with
    # the newest one) until the new one has been used once; "immediate": it dies at rotation.
    old_refresh_token_policy: OldTokenPolicy = "until_new_used"
    # (assumption) The 401 body: Intuit's documented {"Fault": ...} or the lower-case
    # {"fault": {"error": [...]}} envelope its gateway is reported to send.
    auth_fault_shape: AuthFaultShape = "Fault"

    # -- API rules ------------------------------------------------------------------------
    min_minor_version: int = 75
    # (assumption) "fault": a missing or older minorversion is a ValidationFault;
    # "upgrade": it is served as min_minor_version (what Intuit announced for 2025).
    minor_version_policy: MinorVersionPolicy = "fault"
    max_results: int = 1000
    default_max_results: int = 100
    cdc_lookback_days: int = 30
    cdc_max_per_entity: int = 1000
    # (assumption) P&L accounts in the Trial Balance: "fiscal_year" = from the start of the
    # fiscal year that holds end_date (earlier years closed into Retained Earnings), as the
    # QuickBooks UI shows it; "report_period" = from start_date (earlier P&L closed).
    trial_balance_pnl: PnlPeriod = "fiscal_year"
    # "now" for token expiry, CDC lookback and report defaults; None = the real clock.
    now: datetime | None = None

    # -- throttling -----------------------------------------------------------------------
    throttling: bool = True
    requests_per_minute: int = 500  # per realm
    throttle_window_seconds: float = 60.0
    max_concurrent: int = 10  # per realm + app
    # Intuit sends no Retry-After (assumption); a number here adds the header to 429s.
    retry_after_seconds: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", parse_day(self.start))
        if self.now is not None:
            object.__setattr__(self, "now", parse_start(self.now))
        home = normalize_currency(self.home_currency)
        object.__setattr__(self, "home_currency", home)
        foreign = self.foreign_currencies
        if foreign is None:
            foreign = ("USD",) if home == "EUR" else ("EUR",)
        elif isinstance(foreign, str):
            foreign = (foreign,)
        codes = tuple(dict.fromkeys(normalize_currency(c) for c in foreign))
        object.__setattr__(self, "foreign_currencies", tuple(c for c in codes if c != home))
        object.__setattr__(self, "refresh_tokens", tuple(self.refresh_tokens))
        object.__setattr__(self, "authorization_codes", tuple(self.authorization_codes))
        if self.size < 0:
            raise ValueError("size must be >= 0")
        if self.days < 1:
            raise ValueError("days must be >= 1")
        if not 0 <= self.void_percent <= 50 or not 0 <= self.delete_percent <= 50:
            raise ValueError("void_percent and delete_percent must be between 0 and 50")
        if not 1 <= self.fiscal_year_start_month <= 12:
            raise ValueError("fiscal_year_start_month must be 1..12")
        if not -720 <= self.utc_offset_minutes <= 840:
            raise ValueError("utc_offset_minutes must be between -720 and 840")
        if min(self.access_token_ttl_seconds, self.refresh_token_ttl_seconds,
               self.refresh_token_max_lifetime_seconds, self.rotation_interval_seconds) < 1:
            raise ValueError("token lifetimes must be >= 1 second")  # fmt: skip
        if self.requests_per_minute < 1 or self.max_concurrent < 1:
            raise ValueError("requests_per_minute and max_concurrent must be >= 1")
        if self.throttle_window_seconds <= 0:
            raise ValueError("throttle_window_seconds must be positive")
        if not 1 <= self.default_max_results <= self.max_results:
            raise ValueError("default_max_results must be between 1 and max_results")

    def with_changes(self, **changes: Any) -> QuickBooksSandboxConfig:
        """A copy with some fields replaced (validated like a new config)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return replace(self, **changes)

    def dataset_key(self) -> tuple[Any, ...]:
        """The values the generated company depends on."""
        return tuple(getattr(self, name) for name in DATASET_FIELDS) + (
            self.realm_id, self.company_name, self.utc_offset_minutes)  # fmt: skip

    def dataset_summary(self) -> dict[str, Any]:
        """The dataset-defining fields as JSON-ready values."""
        out = {name: getattr(self, name) for name in DATASET_FIELDS}
        out["start"] = self.start.isoformat()
        out["foreign_currencies"] = list(self.foreign_currencies or ())
        out["realm_id"] = self.realm_id
        return out
