"""Xero Accounting API 2.0 connector: OAuth 2 with rotating refresh tokens, tenant selection,
paged reads of every migration resource, the Trial Balance report, and Xero's rate limits.

* Auth: connectors.auth.OAuth2RefreshToken against identity.xero.com/connect/token. Xero
  rotates the refresh token on every refresh and the old one dies (after a 30-minute grace);
  the new one reaches `on_tokens` synchronously, the moment the token response arrives and
  before the new access token is used, so the caller can persist it in the same transaction
  as the work. A dead refresh token is InvalidCredentials: the user must reconnect Xero.
* Tenants: GET /connections lists the organisations the grant covers; every API call carries
  `xero-tenant-id`. A given tenant must be connected; without one, the only tenant is used;
  several and none chosen is InvalidCredentials listing them.
* Limits: 60 calls a minute, 5,000 a day and 5 in flight per tenant, 10,000 a minute per app.
  The client paces itself on X-MinLimit-Remaining and X-AppMinLimit-Remaining (slowing down
  before Xero refuses), honours Retry-After on a 429, and never retries a day-limit 429
  (X-Rate-Limit-Problem: day): that is RateLimitExceeded saying when the limit resets.
* Paging: `page`/`pageSize` (pagination.pageCount) for documents, `offset` = the last
  JournalNumber for Journals; `Page.end_cursor` is where the next page starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx

from bigledger.errors import (
    AuthFailed,
    InvalidCredentials,
    PlatformError,
    RateLimitExceeded,
)
from bigledger.money import loads_exact
from connectors.auth import OAuth2RefreshToken
from connectors.http import ApiResponse, HttpClient, RetryDecision
from connectors.ratelimit import (
    CompositePolicy,
    HeaderBudgetPolicy,
    RateBudget,
    RateLimitPolicy,
    parse_retry_after,
)
from connectors.webhook_registration import WebhookRegistration, portal_registration

DEFAULT_BASE_URL = "https://api.xero.com"
DEFAULT_IDENTITY_URL = "https://identity.xero.com"
API_PREFIX = "/api.xro/2.0"
TOKEN_PATH = "/connect/token"
CONNECTIONS_PATH = "/connections"
MAX_PAGE_SIZE = 1000
MINUTE_LIMIT = 60
DAY_LIMIT = 5000
APP_MINUTE_LIMIT = 10_000
RECONNECT = "Reconnect Xero in BigLedger (Integrations > Xero > Reconnect) to continue."

TokenCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Resource:
    """How one Accounting API resource is listed."""

    name: str  # path segment, e.g. "Invoices"
    key: str  # the list in the response envelope
    paging: str | None  # "page", "offset" (Journals) or None (one answer holds all)


RESOURCES: dict[str, Resource] = {r.name.lower(): r for r in (
    Resource("Organisation", "Organisations", None),
    Resource("Accounts", "Accounts", None),
    Resource("TaxRates", "TaxRates", None),
    Resource("Contacts", "Contacts", "page"),
    Resource("Invoices", "Invoices", "page"),
    Resource("CreditNotes", "CreditNotes", "page"),
    Resource("Payments", "Payments", "page"),
    Resource("BankTransactions", "BankTransactions", "page"),
    Resource("ManualJournals", "ManualJournals", "page"),
    Resource("Overpayments", "Overpayments", "page"),
    Resource("Prepayments", "Prepayments", "page"),
    Resource("Journals", "Journals", "offset"),
)}  # fmt: skip
# The order a full migration reads them in: what later records refer to comes first.
MIGRATION_ORDER = ("Accounts", "TaxRates", "Contacts", "Invoices", "CreditNotes",
                   "Overpayments", "Prepayments", "Payments", "BankTransactions",
                   "ManualJournals")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a resource as Xero sends it (amounts exact: Decimal, never float).

    `end_cursor` is where the next page starts (a page number, or for Journals the last
    JournalNumber, which is also where a later incremental read resumes); `item_count` is
    Xero's pagination.itemCount when it sends one.
    """

    records: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool
    item_count: int | None = None


class XeroRefreshToken(OAuth2RefreshToken):
    """OAuth2RefreshToken whose refusals say what the user must do: reconnect Xero."""

    def _accept(self, response: httpx.Response) -> None:
        try:
            super()._accept(response)
        except AuthFailed as exc:
            if "invalid_client" in exc.message:
                raise InvalidCredentials(
                    "Xero refused the app's client id or secret (invalid_client): check the "
                    "Xero app's credentials, then reconnect Xero.", details=exc.details,
                ) from None
            raise InvalidCredentials(
                "Xero refused the refresh token (invalid_grant): it was revoked, went unused "
                f"for 60 days, or was already used. {RECONNECT}", details=exc.details,
            ) from None


class DayLimitPolicy(RateLimitPolicy):
    """Reads X-DayLimit-Remaining for health reporting. It never paces: waiting for a
    rolling 24-hour window is the orchestrator's call, not a sleep inside a request."""

    def __init__(self, *, limit: int = DAY_LIMIT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit = limit
        self.remaining: float | None = None

    def observe(self, response: ApiResponse) -> None:
        """Remember the day's remaining calls."""
        raw = response.headers.get("X-DayLimit-Remaining")
        try:
            value = float(raw) if raw is not None else None
        except ValueError:
            value = None
        if value is not None:
            with self._lock:
                self.remaining = value
                self._mark_observed()

    def budget(self) -> RateBudget:
        """The day's remaining calls."""
        return RateBudget(remaining=self.remaining, limit=self.limit,
                          observed_at=self._observed_at())


class XeroHttpClient(HttpClient):
    """HttpClient with Xero's two special answers: a day-limit 429 (never retried) and a
    400 ValidationException (its messages, not just "A validation exception occurred")."""

    wall_clock: Callable[[], float] = staticmethod(time.time)  # type: ignore[assignment]

    def classify(self, raw: httpx.Response, *, method: str, parse: bool,
                 idempotent: bool) -> ApiResponse | RetryDecision:  # fmt: skip
        """Xero's day-limit refusals and validation errors; everything else as usual."""
        path = raw.request.url.path
        status = raw.status_code
        if status == 400 and parse and raw.content:
            try:
                body = loads_exact(raw.content)
            except ValueError:
                body = None
            if isinstance(body, dict) and body.get("Type") == "ValidationException":
                messages = validation_messages(body)
                text = "; ".join(messages) or str(body.get("Message") or "validation failed")
                raise PlatformError(self.scrub(f"xero refused {method} {path}: {text}"),
                                    details={"status": 400, "type": "ValidationException",
                                             "errorNumber": body.get("ErrorNumber"),
                                             "validationErrors": messages})  # fmt: skip
        outcome = super().classify(raw, method=method, parse=parse, idempotent=idempotent)
        if status == 429 and raw.headers.get("X-Rate-Limit-Problem", "").lower() == "day":
            # Never retried: the rolling day frees calls over hours, not seconds.
            raise self._day_limit(raw, path)
        return outcome

    def _day_limit(self, raw: httpx.Response, path: str) -> RateLimitExceeded:
        seconds = parse_retry_after(raw.headers.get("Retry-After"))
        resets = (datetime.fromtimestamp(self.wall_clock() + seconds, UTC)
                  if seconds is not None else None)  # fmt: skip
        when = (f"it resets in about {seconds / 3600:.1f} hours "
                f"({resets.strftime('%Y-%m-%d %H:%M UTC')})" if resets is not None
                else "it resets within 24 hours")  # fmt: skip
        return RateLimitExceeded(
            f"xero: this organisation's daily API limit ({DAY_LIMIT:,} calls) is used up; "
            f"{when}. Resume the migration then.", retry_after=seconds,
            details={"status": 429, "problem": "day", "path": path,
                     "resetsAt": resets.isoformat() if resets else None})


def validation_messages(body: Mapping[str, Any]) -> list[str]:
    """Every ValidationErrors[].Message of a Xero ValidationException, in order, once each."""
    found: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for error in value.get("ValidationErrors") or ():
                message = error.get("Message") if isinstance(error, dict) else None
                if isinstance(message, str) and message and message not in found:
                    found.append(message)
            for child in value.values():
                if isinstance(child, list | dict):
                    collect(child)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(body.get("Elements") or [])
    collect({"ValidationErrors": body.get("ValidationErrors") or []})
    return found


def _epoch(value: float | datetime | str | None) -> float | None:
    """Epoch seconds from a stored expiry: a number, a numeric string, or an ISO datetime
    (naive means UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)


def _modified_header(moment: datetime) -> str:
    # Xero's SDKs send If-Modified-Since as a UTC timestamp without offset.
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class XeroConnector:
    """One Xero app connection (a refresh-token grant) and the organisation it reads."""

    platform = "xero"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        tenant_id: str | None = None,
        access_token: str | None = None,
        access_token_expires_at: float | datetime | str | None = None,
        base_url: str | None = None,
        identity_url: str | None = None,
        on_tokens: TokenCallback | None = None,
        *,
        page_size: int = 100,
        min_remaining: int = 1,
        timeout: float | httpx.Timeout | None = None,
        budget_seconds: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] | None = None,
        acquire: Callable[[], None] | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self.page_size = page_size
        self._tenant_id = tenant_id.strip().lower() if tenant_id else None
        self._tenant_checked = False
        self._tenant_name: str | None = None
        self._on_tokens = on_tokens
        base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        identity = (identity_url or base_url or DEFAULT_IDENTITY_URL).rstrip("/")
        token: dict[str, Any] | None = None
        if access_token:
            token = {"access_token": access_token,
                     "expires_at": _epoch(access_token_expires_at)}
        self.auth = XeroRefreshToken(
            f"{identity}{TOKEN_PATH}", client_id, client_secret, refresh_token,
            token=token, on_token=self._tokens_arrived, clock=wall_clock,
            allow_insecure_http=allow_insecure_http,
        )  # fmt: skip
        self.minute_policy = HeaderBudgetPolicy(
            "X-MinLimit-Remaining", window_seconds=60, limit=MINUTE_LIMIT,
            min_remaining=min_remaining, clock=clock, wall_clock=wall_clock)
        self.app_policy = HeaderBudgetPolicy(
            "X-AppMinLimit-Remaining", window_seconds=60, limit=APP_MINUTE_LIMIT,
            min_remaining=min_remaining, clock=clock, wall_clock=wall_clock)
        self.day_policy = DayLimitPolicy(clock=clock, wall_clock=wall_clock)
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        self.http = XeroHttpClient(
            base, platform=self.platform, auth=self.auth, timeout=timeout,
            rate_limit=CompositePolicy([self.minute_policy, self.app_policy, self.day_policy],
                                       clock=clock, wall_clock=wall_clock),
            budget_seconds=budget_seconds, transport=transport, sleep=sleep, clock=clock,
            acquire=acquire, allow_insecure_http=allow_insecure_http, **extra,
        )  # fmt: skip
        self.http.wall_clock = wall_clock

    def __repr__(self) -> str:
        return (f"XeroConnector(tenant_id={self._tenant_id!r}, "
                f"base_url={str(self.http.base_url)!r}, auth={self.auth!r})")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> XeroConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tokens and tenants ----------------------------------------------------------------

    def _tokens_arrived(self, token: dict[str, Any]) -> None:
        # Called inside the token exchange, before the new access token is used: a rotated
        # refresh token is handed over before anything else can fail.
        if self._on_tokens is not None:
            # The keys connectors.factory.merge_tokens folds into stored credentials.
            self._on_tokens({"refresh_token": token.get("refresh_token"),
                             "access_token": token.get("access_token"),
                             "expires_at": token.get("expires_at"),
                             "scope": token.get("scope")})  # fmt: skip

    @property
    def refresh_token(self) -> str:
        """The refresh token in force (the newest one Xero issued)."""
        return self.auth.refresh_token

    def connections(self) -> list[dict[str, Any]]:
        """GET /connections: the organisations (tenants) this grant may read."""
        response = self.http.get(CONNECTIONS_PATH)
        if not isinstance(response.data, list):
            raise PlatformError("xero /connections did not answer with a list")
        return [c for c in response.data if isinstance(c, dict)]

    @property
    def tenant_id(self) -> str:
        """The organisation every call reads (resolved and checked on first use)."""
        if not self._tenant_checked:
            self._select_tenant()
        assert self._tenant_id is not None
        return self._tenant_id

    def _select_tenant(self) -> None:
        tenants = [c for c in self.connections()
                   if str(c.get("tenantType") or "ORGANISATION").upper() == "ORGANISATION"]
        listed = [{"tenantId": str(c.get("tenantId", "")).lower(),
                   "tenantName": c.get("tenantName")} for c in tenants]  # fmt: skip
        names = ", ".join(f"{t['tenantName']} ({t['tenantId']})" for t in listed) or "none"
        if self._tenant_id is not None:
            match = next((t for t in listed if t["tenantId"] == self._tenant_id), None)
            if match is None:
                raise InvalidCredentials(
                    f"Xero organisation {self._tenant_id} is not connected to this app "
                    f"(connected: {names}). Choose one of those, or {RECONNECT[0].lower()}"
                    f"{RECONNECT[1:]}", details={"tenants": listed})
            self._tenant_name = match["tenantName"]
        elif len(listed) == 1:
            self._tenant_id, self._tenant_name = listed[0]["tenantId"], listed[0]["tenantName"]
        elif not listed:
            raise InvalidCredentials(f"No Xero organisation is connected to this app. {RECONNECT}",
                                     details={"tenants": []})
        else:
            raise InvalidCredentials(
                f"Several Xero organisations are connected ({names}); choose one "
                "(settings.tenantId).", details={"tenants": listed})
        self._tenant_checked = True

    # -- reads -----------------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None) -> ApiResponse:  # fmt: skip
        tenant = self.tenant_id
        return self.http.get(f"{API_PREFIX}/{path}", params=params,
                             headers={"xero-tenant-id": tenant, **(headers or {})})

    def check_connection(self) -> dict[str, Any]:
        """The Organisation record of the selected tenant (proves token, tenant and scope)."""
        response = self._get("Organisation")
        organisations = response.data.get("Organisations") if isinstance(response.data, dict) \
            else None  # fmt: skip
        if not organisations or not isinstance(organisations[0], dict):
            raise PlatformError("xero Organisation answered without an organisation")
        return organisations[0]

    def fetch_page(
        self,
        resource: str,
        page: int | None = None,
        offset: int | None = None,
        modified_since: datetime | None = None,
        where: str | None = None,
        *,
        statuses: Sequence[str] | None = None,
        order: str | None = None,
        page_size: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Page:
        """One page of `resource`: `page` (1-based) for documents, `offset` (the last
        JournalNumber read) for Journals; unpaged resources come whole. Contacts include
        archived ones (a migration needs the contacts old documents name)."""
        spec = _resource(resource)
        query: dict[str, Any] = dict(params or {})
        headers: dict[str, str] = {}
        if modified_since is not None:
            headers["If-Modified-Since"] = _modified_header(modified_since)
        if where:
            query["where"] = where
        if statuses:
            query["Statuses"] = ",".join(statuses)
        if order:
            query["order"] = order
        if spec.paging == "page":
            number = 1 if page is None else int(page)
            size = page_size or self.page_size
            if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
                raise ValueError(f"page must be >= 1 and page_size 1..{MAX_PAGE_SIZE}")
            query.update(page=number, pageSize=size)
            if spec.name == "Contacts":
                query.setdefault("includeArchived", "true")
            response = self._get(spec.name, query, headers)
            records = self._records(response, spec)
            pagination = response.data.get("pagination") or {}
            count = pagination.get("pageCount")
            if isinstance(count, int):
                more = number < count
            else:  # no pagination block: only an empty page proves the end
                more = bool(records)
            total = pagination.get("itemCount")
            return Page(records, str(number + 1) if more else None, more,
                        total if isinstance(total, int) else None)
        if spec.paging == "offset":
            start = 0 if offset is None else int(offset)
            response = self._get(spec.name, {**query, "offset": start}, headers)
            records = self._records(response, spec)
            numbers = [r.get("JournalNumber") for r in records
                       if isinstance(r.get("JournalNumber"), int)]  # fmt: skip
            last = max(numbers, default=start)
            if records and last <= start:
                raise PlatformError(f"xero Journals did not advance past offset {start}")
            # Journals only grow: an empty page is the end, and its offset is where a later
            # read picks up what was posted since.
            return Page(records, str(last), bool(records))
        response = self._get(spec.name, query, headers)
        return Page(self._records(response, spec), None, False)

    def iter_resource(
        self,
        resource: str,
        *,
        modified_since: datetime | None = None,
        where: str | None = None,
        statuses: Sequence[str] | None = None,
        order: str | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Iterator[Page]:
        """Every page of `resource` from `cursor` (a previous Page.end_cursor) on."""
        spec = _resource(resource)
        position = cursor
        while True:
            kwargs: dict[str, Any] = {"modified_since": modified_since, "where": where,
                                      "statuses": statuses, "order": order,
                                      "page_size": page_size}  # fmt: skip
            if spec.paging == "page":
                result = self.fetch_page(spec.name, page=int(position or 1), **kwargs)
            elif spec.paging == "offset":
                result = self.fetch_page(spec.name, offset=int(position or 0), **kwargs)
            else:
                result = self.fetch_page(spec.name, **kwargs)
            yield result
            if not result.has_next_page:
                return
            position = result.end_cursor

    def trial_balance(self, as_of: date, *, payments_only: bool = False) -> dict[str, Any]:
        """Xero's Trial Balance report as of `as_of` (the report dict, Rows and all)."""
        params: dict[str, Any] = {"date": as_of.isoformat()}
        if payments_only:
            params["paymentsOnly"] = "true"
        response = self._get("Reports/TrialBalance", params)
        reports = response.data.get("Reports") if isinstance(response.data, dict) else None
        if not reports or not isinstance(reports[0], dict):
            raise PlatformError("xero Reports/TrialBalance answered without a report")
        return reports[0]

    def rate_budget(self) -> dict[str, Any]:
        """The limits as last seen: calls left this minute (tenant and app) and today."""
        return {"minute": self.minute_policy.budget().as_dict(),
                "appMinute": self.app_policy.budget().as_dict(),
                "day": self.day_policy.budget().as_dict()}  # fmt: skip

    # -- webhooks (configured in Xero's developer portal, not through the API) -------------

    def register_webhooks(self, callback_url: str, topics: list[str] | None = None
                          ) -> WebhookRegistration:  # fmt: skip
        """Xero has no API to register webhooks: the result says where to enter
        `callback_url` (the app's Webhooks page at developer.xero.com, which then runs its
        Intent to Receive check against it) and which secret to keep (the webhook key).
        `topics` (INVOICE, CONTACT ...) are chosen there too."""
        return portal_registration("xero", callback_url,
                                   portal="Xero developer portal (My Apps > Webhooks)",
                                   secret_name="webhook key")  # fmt: skip

    def unregister_webhooks(self, callback_url: str) -> WebhookRegistration:
        """As `register_webhooks`: the subscription is removed in the developer portal."""
        return portal_registration("xero", callback_url,
                                   portal="Xero developer portal (My Apps > Webhooks)",
                                   secret_name="webhook key", removing=True)  # fmt: skip

    @staticmethod
    def _records(response: ApiResponse, spec: Resource) -> list[dict[str, Any]]:
        data = response.data
        records = data.get(spec.key) if isinstance(data, dict) else None
        if not isinstance(records, list) or any(not isinstance(r, dict) for r in records):
            raise PlatformError(f"xero {spec.name} answered without a {spec.key} list")
        return records


def _resource(name: str) -> Resource:
    spec = RESOURCES.get(name.replace("_", "").lower())
    if spec is None:
        raise ValueError(f"unknown Xero resource {name!r} (known: "
                         f"{', '.join(r.name for r in RESOURCES.values())})")
    return spec
