"""QuickBooks Online connector: OAuth 2 with rotating refresh tokens, the query endpoint,
reports and change data capture, within Intuit's limits.

Tokens. The refresh-token grant goes through connectors.auth.OAuth2RefreshToken: the access
token is refreshed `refresh_margin_seconds` before it expires and once more on a 401. Every
token response is handed to `on_tokens` synchronously, before the new access token is used:
Intuit rotates refresh tokens (the newest must be kept), so the caller saves it, encrypted,
in the same transaction as the work that used it. If the callback raises, the call fails but
the connector keeps the rotated token in memory (`tokens`) for the caller's error path. A
refresh token Intuit no longer accepts (invalid_grant: expired, revoked, or replaced by a
newer one) raises InvalidCredentials telling the user to reconnect QuickBooks.

Limits. 500 requests a minute per company (realm) and 10 in flight per company and app:
a token bucket paces at 90 % of the rate with a burst of the remaining 10 %, so no minute
can exceed 500 even from a full bucket, and a per-realm semaphore caps concurrency. Both
are shared by every connector of the realm in this process; across workers the lead's
`acquire` hook (a Prefect global concurrency slot) adds the rest. A 429 waits
`throttle_wait_seconds` (Intuit asks for 60 s; Retry-After wins when sent) and is retried
within the client's time budget, then RateLimitExceeded.

Faults. `{"Fault": {"Error": [...], "type": ...}}` (or the gateway's lower-case `fault`):
AUTHENTICATION -> AuthFailed, AuthorizationFault (403) -> AuthFailed, ValidationFault and
the rest -> QuickBooksFault (a PlatformError whose message and details carry the fault's
code, message, detail and element), 5xx -> PlatformUnavailable after retries.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx

from bigledger.errors import (
    AuthFailed,
    InvalidCredentials,
    PlatformError,
)
from bigledger.money import loads_exact
from connectors.auth import Basic, OAuth2RefreshToken, TokenCallback
from connectors.http import ApiResponse, HttpClient, RetryDecision
from connectors.ratelimit import RateLimitPolicy, Throttle, TokenBucketPolicy
from connectors.webhook_registration import WebhookRegistration, portal_registration

log = logging.getLogger(__name__)

LIVE_BASE_URL = "https://quickbooks.api.intuit.com"
SANDBOX_BASE_URL = "https://sandbox-quickbooks.api.intuit.com"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
MIN_MINOR_VERSION = 75
MAX_RESULTS = 1000
REQUESTS_PER_MINUTE = 500
MAX_CONCURRENCY = 10
THROTTLE_WAIT_SECONDS = 60.0
REFRESH_MARGIN_SECONDS = 300.0
CDC_MAX_PER_ENTITY = 1000
RECONNECT_MESSAGE = ("QuickBooks no longer accepts the saved authorization (invalid_grant: "
                     "the refresh token expired, was revoked or was replaced by a newer one): "
                     "reconnect QuickBooks to authorize BigLedger again")  # fmt: skip
_ENTITY = re.compile(r"^[A-Za-z]+$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")


@dataclass(frozen=True, slots=True)
class Page:
    """One query page: records as QuickBooks sends them (amounts Decimal), the cursor
    (the STARTPOSITION of the next page) and whether another page may follow."""

    records: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool


class QuickBooksFault(PlatformError):
    """A QuickBooks Fault other than authentication: `details` holds faultType, code,
    message, detail and element of its first error."""


class QuickBooksRatePolicy(TokenBucketPolicy):
    """Intuit's per-realm budget as a token bucket; a 429 empties it and waits
    `throttle_wait` (Intuit sends no Retry-After and asks for 60 s)."""

    def __init__(self, requests_per_minute: float = REQUESTS_PER_MINUTE, *,
                 headroom: float = 0.9, throttle_wait: float = THROTTLE_WAIT_SECONDS,
                 **kwargs: Any) -> None:  # fmt: skip
        rate = requests_per_minute / 60.0
        # Bucket + a minute at the paced rate never exceeds the per-minute limit.
        burst = max(1.0, requests_per_minute * (1.0 - headroom))
        super().__init__(rate, burst, headroom=headroom, **kwargs)
        self.throttle_wait = throttle_wait

    def throttle(self, response: ApiResponse) -> Throttle | None:
        """429: empty the bucket; Retry-After if sent, else `throttle_wait`."""
        if response.status_code != 429:
            return None
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self._tokens, 0.0)
        hint = self.retry_after(response)
        return Throttle(hint if hint is not None else self.throttle_wait, "429 ThrottleExceeded")


# Shared per realm within the process: every connector of one company draws on one budget.
_SHARED_LOCK = threading.Lock()
_SHARED_POLICIES: dict[tuple[str, float], QuickBooksRatePolicy] = {}
_SHARED_SLOTS: dict[tuple[str, int], threading.BoundedSemaphore] = {}


def shared_policy(realm_id: str, requests_per_minute: float = REQUESTS_PER_MINUTE
                  ) -> QuickBooksRatePolicy:  # fmt: skip
    """The process-wide rate policy of one company."""
    with _SHARED_LOCK:
        key = (realm_id, float(requests_per_minute))
        policy = _SHARED_POLICIES.get(key)
        if policy is None:
            policy = _SHARED_POLICIES[key] = QuickBooksRatePolicy(requests_per_minute)
        return policy


def _shared_slots(realm_id: str, limit: int) -> threading.BoundedSemaphore:
    with _SHARED_LOCK:
        key = (realm_id, limit)
        slots = _SHARED_SLOTS.get(key)
        if slots is None:
            slots = _SHARED_SLOTS[key] = threading.BoundedSemaphore(limit)
        return slots


def fault_of(body: Any) -> dict[str, Any] | None:
    """{"type", "code", "message", "detail", "element"} of a QuickBooks fault body (either
    envelope), or None."""
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None
    errors = fault.get("Error") or fault.get("error") or []
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) \
        else {}  # fmt: skip
    return {"type": fault.get("type"), "code": first.get("code"),
            "message": first.get("Message") or first.get("message"),
            "detail": first.get("Detail") or first.get("detail"),
            "element": first.get("element")}  # fmt: skip


class _QuickBooksHttp(HttpClient):
    """HttpClient that turns QuickBooks faults into clear errors."""

    def classify(self, raw: httpx.Response, *, method: str, parse: bool,
                 idempotent: bool) -> ApiResponse | RetryDecision:  # fmt: skip
        """Faults (4xx, or a 200 carrying one) become AuthFailed or QuickBooksFault."""
        status = raw.status_code
        head = raw.content[:64]
        # A fault is an error status's body, or (rarely) a 200 whose body starts with one;
        # peeking first keeps big pages from being parsed twice.
        if (400 <= status < 500 and status != 429) or (
                200 <= status < 300 and (b'"Fault"' in head or b'"fault"' in head)):
            try:
                body = loads_exact(raw.content) if raw.content else None
            except ValueError:
                body = None
            fault = fault_of(body)
            if fault is not None:
                self._raise_fault(fault, status, method, raw.request.url.path)
        return super().classify(raw, method=method, parse=parse, idempotent=idempotent)

    def _raise_fault(self, fault: dict[str, Any], status: int, method: str, path: str) -> None:
        kind, code = fault["type"] or "Fault", fault["code"]
        text = "; ".join(str(p) for p in (fault["message"], fault["detail"]) if p)
        message = self.scrub(f"quickbooks {kind} {code} on {method} {path}: {text}")
        details = {"status": status, "path": path, "faultType": kind, "code": code,
                   "message": fault["message"], "detail": fault["detail"],
                   "element": fault["element"]}  # fmt: skip
        if status in (401, 403) or str(kind).upper().startswith("AUTH"):
            raise AuthFailed(message, details=details)
        raise QuickBooksFault(message, details=details)


class QuickBooksConnector:
    """The Accounting API of one QuickBooks Online company (realm) for one app."""

    platform = "quickbooks"

    def __init__(
        self,
        realm_id: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        access_token: str | None = None,
        access_token_expires_at: datetime | float | str | None = None,
        base_url: str | None = None,
        token_url: str | None = None,
        minor_version: int = MIN_MINOR_VERSION,
        on_tokens: TokenCallback | None = None,
        *,
        revoke_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        budget_seconds: float | None = None,
        rate_limit: RateLimitPolicy | None = None,
        max_concurrency: int = MAX_CONCURRENCY,
        throttle_wait_seconds: float = THROTTLE_WAIT_SECONDS,
        refresh_margin_seconds: float = REFRESH_MARGIN_SECONDS,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] | None = None,
        acquire: Callable[[], None] | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        for value, name in ((realm_id, "realmId"), (client_id, "clientId"),
                            (client_secret, "clientSecret"), (refresh_token, "refreshToken")):
            if not isinstance(value, str) or not value.strip():
                raise InvalidCredentials(f"quickbooks {name} is required")  # fmt: skip
        if not str(realm_id).strip().isdigit():
            raise InvalidCredentials("quickbooks realmId must be the company id (digits)")
        if minor_version < MIN_MINOR_VERSION:
            raise ValueError(f"minor_version must be {MIN_MINOR_VERSION} or later")
        self.realm_id = realm_id.strip()
        self.minor_version = minor_version
        self.base_url = (base_url or LIVE_BASE_URL).rstrip("/")
        # Intuit's own hosts (production and its developer sandbox) share one OAuth service;
        # an emulator serves the token paths on its own host.
        intuit = self.base_url in (LIVE_BASE_URL, SANDBOX_BASE_URL)
        if token_url is None:
            token_url = TOKEN_URL if intuit else f"{self.base_url}{TOKEN_PATH}"
        if revoke_url is None:
            revoke_url = REVOKE_URL if intuit else f"{self.base_url}{REVOKE_PATH}"
        self.revoke_url = revoke_url
        self._revoke_auth = Basic(client_id.strip(), client_secret.strip())
        self._user_callback = on_tokens
        token: dict[str, Any] | None = None
        if access_token:
            token = {"access_token": access_token,
                     "expires_at": _epoch(access_token_expires_at)}  # fmt: skip
        self.auth = OAuth2RefreshToken(
            token_url,
            client_id.strip(),
            client_secret.strip(),
            refresh_token.strip(),
            client_auth="basic",
            token=token,
            on_token=self._received,
            refresh_margin_seconds=refresh_margin_seconds,
            clock=wall_clock,
            allow_insecure_http=allow_insecure_http,
        )
        if rate_limit is None:
            if clock is time.monotonic and throttle_wait_seconds == THROTTLE_WAIT_SECONDS:
                rate_limit = shared_policy(self.realm_id)
            else:
                rate_limit = QuickBooksRatePolicy(throttle_wait=throttle_wait_seconds,
                                                  clock=clock, wall_clock=wall_clock)
        self._slots = _shared_slots(self.realm_id, max_concurrency)
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        self.http = _QuickBooksHttp(
            self.base_url,
            platform=self.platform,
            auth=self.auth,
            timeout=timeout,
            rate_limit=rate_limit,
            budget_seconds=budget_seconds,
            transport=transport,
            sleep=sleep,
            clock=clock,
            acquire=acquire,
            allow_insecure_http=allow_insecure_http,
            **extra,
        )

    def __repr__(self) -> str:
        return (f"QuickBooksConnector(realm_id={self.realm_id!r}, base_url={self.base_url!r}, "
                f"client_id={self.auth.client_id!r})")  # fmt: skip

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> QuickBooksConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tokens ----------------------------------------------------------------------------

    def _received(self, token: dict[str, Any]) -> None:
        # Called inside the auth flow, after the new tokens are in memory and before the new
        # access token is first used.
        if self._user_callback is not None:
            self._user_callback(dict(token))

    @property
    def tokens(self) -> dict[str, Any]:
        """The tokens in force (to persist on an error path): refresh_token, access_token,
        expires_at (epoch seconds or None)."""
        return {"refresh_token": self.auth.refresh_token,
                "access_token": self.auth.access_token, "expires_at": self.auth.expires_at}

    # -- plumbing --------------------------------------------------------------------------

    def _path(self, tail: str) -> str:
        return f"/v3/company/{self.realm_id}/{tail}"

    def _get(self, tail: str, params: dict[str, Any] | None = None) -> Any:
        query = {**(params or {}), "minorversion": self.minor_version}
        try:
            with self._slots:
                response = self.http.get(self._path(tail), params=query)
        except AuthFailed as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            if "tokenEndpoint" in details:
                raise _token_error(exc) from None
            raise
        return response.data

    # -- operations ------------------------------------------------------------------------

    def check_connection(self) -> dict[str, Any]:
        """Prove the credentials work: the company's CompanyInfo record."""
        return self.company_info()

    def company_info(self) -> dict[str, Any]:
        """GET /companyinfo/{realmId}: name, country, FiscalYearStartMonth ..."""
        data = self._get(f"companyinfo/{self.realm_id}")
        info = data.get("CompanyInfo") if isinstance(data, dict) else None
        if not isinstance(info, dict):
            raise PlatformError("quickbooks companyinfo answer has no CompanyInfo")
        return info

    def preferences(self) -> dict[str, Any]:
        """GET /preferences: CurrencyPrefs (home currency, multicurrency),
        AccountingInfoPrefs (FirstMonthOfFiscalYear) ..."""
        data = self._get("preferences")
        prefs = data.get("Preferences") if isinstance(data, dict) else None
        if not isinstance(prefs, dict):
            raise PlatformError("quickbooks preferences answer has no Preferences")
        return prefs

    def read(self, entity: str, record_id: str) -> dict[str, Any]:
        """One record by Id (`GET /{entity}/{Id}`); a deleted one is a QuickBooksFault 610."""
        name = _entity_name(entity)
        data = self._get(f"{name.lower()}/{record_id}")
        record = data.get(name) if isinstance(data, dict) else None
        if not isinstance(record, dict):
            raise PlatformError(f"quickbooks read of {name} {record_id} returned no {name}")
        return record

    def query(self, statement: str) -> dict[str, Any]:
        """Run one query statement; returns QueryResponse as QuickBooks sends it."""
        data = self._get("query", {"query": statement})
        response = data.get("QueryResponse") if isinstance(data, dict) else None
        if not isinstance(response, dict):
            raise PlatformError("quickbooks query answer has no QueryResponse")
        return response

    def query_page(self, entity: str, where: str | None = None, start_position: int = 1,
                   max_results: int = MAX_RESULTS, order_by: str | None = "Id") -> Page:
        """One page of `SELECT * FROM entity [WHERE where] ORDERBY order_by`.

        Ordering by Id (the default) keeps paging stable while new records arrive: they sort
        after the pages already read. The next page exists while a page comes back full.
        """
        name = _entity_name(entity)
        if start_position < 1:
            raise ValueError("start_position must be >= 1")
        if not 1 <= max_results <= MAX_RESULTS:
            raise ValueError(f"max_results must be between 1 and {MAX_RESULTS}")
        statement = f"SELECT * FROM {name}"
        if where:
            statement += f" WHERE {where}"
        if order_by:
            statement += f" ORDERBY {_order(order_by)}"
        statement += f" STARTPOSITION {start_position} MAXRESULTS {max_results}"
        response = self.query(statement)
        records = response.get(name) or []
        if not isinstance(records, list) or any(not isinstance(r, dict) for r in records):
            raise PlatformError(f"quickbooks {name} page at {start_position} is not a list")
        full = len(records) >= max_results
        return Page(records, str(start_position + len(records)), full)

    def iter_pages(self, entity: str, where: str | None = None, page_size: int = MAX_RESULTS,
                   start_position: int = 1, order_by: str | None = "Id") -> Iterator[Page]:
        """Every page from `start_position` (a previous page's end_cursor resumes)."""
        position = start_position
        while True:
            page = self.query_page(entity, where, position, page_size, order_by)
            yield page
            if not page.has_next_page or not page.records:
                return
            position = int(page.end_cursor or position)

    def iter_query(self, entity: str, where: str | None = None, page_size: int = MAX_RESULTS,
                   order_by: str | None = "Id") -> Iterator[dict[str, Any]]:
        """Every record of the query, page after page."""
        for page in self.iter_pages(entity, where, page_size, 1, order_by):
            yield from page.records

    def count(self, entity: str, where: str | None = None) -> int:
        """`SELECT COUNT(*) FROM entity [WHERE where]`."""
        name = _entity_name(entity)
        statement = f"SELECT COUNT(*) FROM {name}" + (f" WHERE {where}" if where else "")
        total = self.query(statement).get("totalCount")
        if isinstance(total, bool) or not isinstance(total, int):
            raise PlatformError(f"quickbooks count of {name} returned no totalCount")
        return total

    def trial_balance(self, start: date, end: date, accounting_method: str = "Accrual"
                      ) -> dict[str, Any]:  # fmt: skip
        """The TrialBalance report for [start, end] as QuickBooks sends it (parse it with
        transforms.quickbooks_reports.parse_trial_balance)."""
        if accounting_method not in ("Accrual", "Cash"):
            raise ValueError("accounting_method must be Accrual or Cash")
        data = self._get("reports/TrialBalance", {"start_date": start.isoformat(),
                                                  "end_date": end.isoformat(),
                                                  "accounting_method": accounting_method})
        if not isinstance(data, dict) or "Header" not in data:
            raise PlatformError("quickbooks TrialBalance answer is not a report")
        return data

    def changes_since(self, entities: Sequence[str], since: datetime
                      ) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
        """Change data capture: every record of `entities` changed at or after `since`
        (at most 30 days back), deleted ones as {"Id", "status": "Deleted", "MetaData"}.

        QuickBooks returns at most 1000 objects per entity: a full answer is logged, and the
        caller should narrow `since` (or page with queries) for that entity.
        """
        names = [_entity_name(e) for e in entities]
        if not names:
            return {}
        if since.tzinfo is None:
            raise ValueError("since must carry a timezone")
        stamp = since.astimezone(UTC).isoformat(timespec="seconds")
        data = self._get("cdc", {"entities": ",".join(names), "changedSince": stamp})
        out: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for block in (data or {}).get("CDCResponse") or ():
            for part in block.get("QueryResponse") or ():
                for name in names:
                    records = part.get(name)
                    if isinstance(records, list):
                        out[name].extend(records)
        for name, records in out.items():
            if len(records) >= CDC_MAX_PER_ENTITY:
                log.warning("quickbooks: CDC returned %d %s records, its cap; some changes "
                            "may be missing", len(records), name)  # fmt: skip
        return out

    def revoke(self) -> None:
        """Disconnect: revoke the grant (refresh and access tokens) at Intuit."""
        body = {"token": self.auth.refresh_token}
        self.http.post(self.revoke_url, json=body, auth=self._revoke_auth,
                       headers={"Content-Type": "application/json"}, parse=False)

    # -- webhooks (configured in Intuit's developer portal, not through the API) -----------

    def register_webhooks(self, callback_url: str, topics: list[str] | None = None
                          ) -> WebhookRegistration:  # fmt: skip
        """QuickBooks has no API to register webhooks: the result says where to enter
        `callback_url` (the app's Webhooks page in the Intuit developer portal) and which
        secret to keep (its verifier token). `topics` (entity names) are chosen there too."""
        return portal_registration("quickbooks", callback_url,
                                   portal="Intuit developer portal (app > Webhooks)",
                                   secret_name="verifier token")  # fmt: skip

    def unregister_webhooks(self, callback_url: str) -> WebhookRegistration:
        """As `register_webhooks`: the endpoint is removed in the developer portal."""
        return portal_registration("quickbooks", callback_url,
                                   portal="Intuit developer portal (app > Webhooks)",
                                   secret_name="verifier token", removing=True)  # fmt: skip


# -- helpers ---------------------------------------------------------------------------------


def quote(value: str) -> str:
    """A string literal for a query (backslash escapes a quote, as Intuit's parser wants)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def updated_since(moment: datetime) -> str:
    """WHERE clause for records changed at or after `moment` (timezone-aware)."""
    if moment.tzinfo is None:
        raise ValueError("moment must carry a timezone")
    return f"MetaData.LastUpdatedTime >= {quote(moment.isoformat(timespec='seconds'))}"


def _entity_name(entity: str) -> str:
    if not isinstance(entity, str) or not _ENTITY.match(entity):
        raise ValueError(f"not a QuickBooks entity name: {entity!r}")
    return entity


def _order(order_by: str) -> str:
    parts = order_by.split()
    if not parts or not _FIELD.match(parts[0]) or len(parts) > 2 or (
            len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):  # fmt: skip
        raise ValueError(f"not an ORDERBY field: {order_by!r}")
    return " ".join(parts)


def _token_error(exc: AuthFailed) -> InvalidCredentials:
    details = dict(exc.details) if isinstance(exc.details, dict) else {}
    text = exc.message
    if "invalid_client" in text:
        return InvalidCredentials("QuickBooks refused the app's client id or secret "
                                  "(invalid_client): check the integration's clientId and "
                                  "clientSecret", details=details)  # fmt: skip
    details["error"] = "invalid_grant" if "invalid_grant" in text else "refused"
    return InvalidCredentials(RECONNECT_MESSAGE, details=details)


def _epoch(value: datetime | float | int | str | None) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("access_token_expires_at must carry a timezone")
        return value.timestamp()
    return float(value)
