"""Settings of one Xero sandbox: its two generated organisations, the app's OAuth client and
the API's rules. Fields marked (assumption) are behaviours Xero does not document precisely;
they are configurable so a test can take either side."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from bigledger.money import normalize_currency
from sandbox.shopify.config import parse_start

DEFAULT_CLIENT_ID = "XEROSANDBOXCLIENTID00000000000000"
DEFAULT_CLIENT_SECRET = "xero_sandbox_client_secret_0000000000000000000000"
DEFAULT_REFRESH_TOKEN = "xero_rt_sandbox_initial_000000000000000000000000000000"
DEFAULT_AUTH_CODE = "xero_auth_code_sandbox_0000000000"
DEFAULT_REDIRECT_URI = "https://app.bigledger.example/oauth/xero/callback"
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)
DEFAULT_SCOPES = (
    "openid profile email offline_access accounting.transactions.read "
    "accounting.journals.read accounting.settings.read accounting.contacts.read "
    "accounting.reports.read"
)

# Fields that define the generated organisations; changing one regenerates them.
DATASET_FIELDS = ("seed", "size", "start", "days", "base_currency", "second_base_currency",
                  "financial_year_end_month", "financial_year_end_day")  # fmt: skip

NotJson = Literal["406", "json"]


@dataclass(frozen=True)
class XeroSandboxConfig:
    """Everything that shapes one sandbox Xero app connection.

    Two organisations (tenants) are connected: the first trades in `base_currency` with
    `size` sales invoices, the second in `second_base_currency` with `size // 2`, both over
    `[start, start + days)`. Each is a pure function of the DATASET_FIELDS.
    """

    seed: int = 1
    size: int = 200
    start: datetime = DEFAULT_START
    days: int = 180
    base_currency: str = "NZD"
    second_base_currency: str = "AUD"
    # The organisations' financial year end (Organisation.FinancialYearEndDay/Month): the
    # Trial Balance shows profit and loss accounts for the year to date and rolls earlier
    # years into Retained Earnings.
    financial_year_end_month: int = 12
    financial_year_end_day: int = 31

    # -- the app and its tokens ------------------------------------------------------------
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    # Refresh tokens valid when the sandbox starts (as if the user had just connected).
    refresh_tokens: tuple[str, ...] = (DEFAULT_REFRESH_TOKEN,)
    # Codes the authorization_code grant accepts once each, with their redirect URI.
    auth_codes: tuple[str, ...] = (DEFAULT_AUTH_CODE,)
    redirect_uri: str = DEFAULT_REDIRECT_URI
    scopes: str = DEFAULT_SCOPES
    provider_name: str = "BigLedger Sandbox App"
    access_token_ttl: int = 1800  # expires_in: 30 minutes
    refresh_token_ttl: int = 60 * 86_400  # an unused refresh token dies after 60 days
    # A used refresh token may be used again for this long ("in case the response was
    # lost"; Xero staff state 30 minutes). 0 makes rotation strictly single-use.
    refresh_grace_seconds: int = 1800

    # -- rate limits (Xero's published numbers; tests shrink them) ---------------------------
    throttling: bool = True
    minute_limit: int = 60  # per tenant, rolling window of minute_window_seconds
    minute_window_seconds: float = 60.0
    day_limit: int = 5000  # per tenant, rolling window of day_window_seconds
    day_window_seconds: float = 86_400.0
    concurrent_limit: int = 5  # requests in flight per tenant
    app_minute_limit: int = 10_000  # per app, across tenants
    # Retry-After sent with a "concurrent" 429 (assumption: Xero sends one; 1 second).
    concurrent_retry_after: int = 1

    # -- API behaviour -----------------------------------------------------------------------
    default_page_size: int = 100
    max_page_size: int = 1000  # pageSize above this is clamped (assumption: Xero clamps)
    journals_page_size: int = 100
    # What a request that does not accept application/json gets: "406" Not Acceptable, or
    # "json" served anyway. Xero's own default is XML, which this sandbox does not speak.
    not_json: NotJson = "406"
    # Lists requested without `page` omit LineItems on Invoices and CreditNotes, as Xero
    # does (assumption: Xero's docs say line items come back only when paging or by id).
    summary_without_page: bool = True
    # "Now" for token expiry and the Trial Balance's default date; None = real clock.
    now: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", parse_start(self.start))
        if self.now is not None:
            object.__setattr__(self, "now", parse_start(self.now))
        object.__setattr__(self, "base_currency", normalize_currency(self.base_currency))
        object.__setattr__(self, "second_base_currency",
                           normalize_currency(self.second_base_currency))  # fmt: skip
        for name in ("refresh_tokens", "auth_codes"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        if self.size < 0:
            raise ValueError("size must be >= 0")
        if self.days < 1:
            raise ValueError("days must be >= 1")
        try:
            date(2023, self.financial_year_end_month, self.financial_year_end_day)
        except ValueError as exc:
            raise ValueError("financial year end is not a valid day of a year") from exc
        positive = ("access_token_ttl", "refresh_token_ttl", "minute_limit", "day_limit",
                    "concurrent_limit", "app_minute_limit", "default_page_size",
                    "max_page_size", "journals_page_size")  # fmt: skip
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.refresh_grace_seconds < 0:
            raise ValueError("refresh_grace_seconds must be >= 0")
        if self.minute_window_seconds <= 0 or self.day_window_seconds <= 0:
            raise ValueError("rate-limit windows must be positive")
        if self.not_json not in ("406", "json"):
            raise ValueError("not_json must be '406' or 'json'")

    def with_changes(self, **changes: Any) -> XeroSandboxConfig:
        """A copy with some fields replaced (validated like a new config)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return replace(self, **changes)

    def dataset_key(self) -> tuple[Any, ...]:
        """The values the generated organisations depend on."""
        return tuple(getattr(self, name) for name in DATASET_FIELDS)

    def dataset_summary(self) -> dict[str, Any]:
        """The dataset-defining fields as JSON-ready values."""
        out = {name: getattr(self, name) for name in DATASET_FIELDS}
        out["start"] = self.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        return out
