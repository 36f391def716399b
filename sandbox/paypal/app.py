"""The PayPal REST sandbox as Starlette routes: OAuth token, Transaction Search, balances.

Request path, in this order: faults that act before PayPal's API (slow, 5xx, 429), the
Bearer token (missing, unknown or expired -> 401 AUTHENTICATION_FAILURE; a token without
the endpoint's scope -> 403 NOT_AUTHORIZED), parameter validation with PayPal's
INVALID_REQUEST answers, the 31-day range rule, the 3-year history limit, the 3-hour
publication lag ("Data for the given start date is not available."), the 10,000-result
cap (RESULTSET_TOO_LARGE), then the page.

Paths live under /v1/oauth2 and /v1/reporting only, so the Stripe sandbox's /v1/... routes
sit beside them. Control routes (/__sandbox/paypal/...) need no token: they are the test
harness's handle.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bigledger.money import ISO_4217
from sandbox.paypal.config import BALANCES_SCOPE, SEARCH_SCOPE, PayPalSandboxConfig
from sandbox.paypal.data import TransactionDataset, Txn, stamp
from sandbox.shopify.config import parse_start
from sandbox.shopify.data import mix64
from sandbox.shopify.faults import Countdown, CountdownSpec

TOKEN_PATH = "/v1/oauth2/token"
TRANSACTIONS_PATH = "/v1/reporting/transactions"
BALANCES_PATH = "/v1/reporting/balances"
CONTROL_PREFIX = "/__sandbox/paypal"
JSON_TYPE = "application/json"
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
BLOCKS = ("transaction_info", "payer_info", "shipping_info", "cart_info", "store_info",
          "auction_info", "incentive_info")  # fmt: skip
# Filters: any of them blanks ending_balance ("If you specify one or more optional query
# parameters, the ending_balance response field is empty").
FILTER_PARAMS = ("transaction_id", "transaction_type", "transaction_status",
                 "transaction_amount", "transaction_currency", "payment_instrument_type",
                 "store_id", "terminal_id")  # fmt: skip
INVALID_REQUEST_MESSAGE = "Request is not well-formed, syntactically incorrect, or violates schema."
NOT_AVAILABLE_MESSAGE = "Data for the given start date is not available."
AUTH_FAILED_MESSAGE = ("Authentication failed due to missing authorization header, or invalid "
                       "authentication credentials.")  # fmt: skip
_DOCS = "https://developer.paypal.com/docs/api/transaction-search/v1/"
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$"
)
_TXN_ID = re.compile(r"^[A-Za-z0-9]{17,19}$")
_T_CODE = re.compile(r"^T\d{4}$")
_AMOUNT_RANGE = re.compile(r"^\[?\s*(-?\d+)\s+TO\s+(-?\d+)\s*\]?$")


class _Invalid(Exception):
    """A 400 INVALID_REQUEST with PayPal's details list."""

    def __init__(self, field: str, value: str, issue: str, description: str) -> None:
        super().__init__(description)
        self.detail = {"field": field, "value": value, "location": "query", "issue": issue,
                       "description": description}  # fmt: skip


@dataclass
class Stats:
    """Counters since start or the last reset (GET /__sandbox/paypal/stats)."""

    requests: int = 0
    token_requests: int = 0
    tokens_issued: int = 0
    unauthorized: int = 0
    forbidden: int = 0
    bad_requests: int = 0
    too_large: int = 0
    not_available: int = 0
    pages_served: int = 0
    transactions_served: int = 0
    balances_served: int = 0
    faults_served: dict[str, int] = field(
        default_factory=lambda: {"http_429": 0, "http_5xx": 0, "slow": 0})


@dataclass
class Faults:
    """The armed faults (count-downs: the next N requests, optionally after K)."""

    http_429: Countdown = field(default_factory=Countdown)
    retry_after: float | str = 1.0
    http_5xx: Countdown = field(default_factory=Countdown)
    status_5xx: int = 500
    slow: Countdown = field(default_factory=Countdown)
    delay_ms: int = 1000

    def describe(self) -> dict[str, Any]:
        """JSON view of what is armed."""
        return {"http_429": {**asdict(self.http_429), "retry_after": self.retry_after},
                "http_5xx": {**asdict(self.http_5xx), "status": self.status_5xx},
                "slow": {**asdict(self.slow), "delay_ms": self.delay_ms}}  # fmt: skip

    def retry_after_header(self) -> str:
        """Retry-After as sent: a string verbatim, a number in its shortest form."""
        value = self.retry_after
        if isinstance(value, str):
            return value
        return str(int(value)) if float(value).is_integer() else repr(float(value))


class Http429Spec(CountdownSpec):
    retry_after: float | str = Field(1.0, description="seconds; a string is sent verbatim")


class Http5xxSpec(CountdownSpec):
    status: Literal[500, 502, 503, 504] = 500


class SlowSpec(CountdownSpec):
    delay_ms: int = Field(1000, ge=0, le=600_000)


class FaultsSpec(BaseModel):
    """`faults` of POST /__sandbox/paypal/control; absent keys leave a fault as it is."""

    model_config = ConfigDict(extra="forbid")
    http_429: Http429Spec | None = None
    http_5xx: Http5xxSpec | None = None
    slow: SlowSpec | None = None

    def apply(self, plan: Faults) -> None:
        """Arm the given faults on `plan`."""
        if self.http_429 is not None:
            plan.http_429 = Countdown(self.http_429.count, self.http_429.after)
            plan.retry_after = self.http_429.retry_after
        if self.http_5xx is not None:
            plan.http_5xx = Countdown(self.http_5xx.count, self.http_5xx.after)
            plan.status_5xx = self.http_5xx.status
        if self.slow is not None:
            plan.slow = Countdown(self.slow.count, self.slow.after)
            plan.delay_ms = self.slow.delay_ms


class DatasetSpec(BaseModel):
    """`dataset` of POST /__sandbox/paypal/control; absent fields keep their value."""

    model_config = ConfigDict(extra="forbid")
    seed: int | None = None
    size: int | None = Field(None, ge=0)
    start: str | None = None
    days: int | None = Field(None, ge=1)
    currencies: list[str] | None = None
    withdrawal_interval_days: int | None = Field(None, ge=1)
    refund_percent: int | None = Field(None, ge=0, le=100)
    chargeback_percent: int | None = Field(None, ge=0, le=100)
    dispute_won_percent: int | None = Field(None, ge=0, le=100)
    pending_percent: int | None = Field(None, ge=0, le=100)
    denied_percent: int | None = Field(None, ge=0, le=100)
    refund_fee_policy: Literal["variable", "full", "none"] | None = None


class ControlRequest(BaseModel):
    """Body of POST /__sandbox/paypal/control; every key optional, applied in order.

    `expire_tokens: true` makes every token issued so far expire now; `now` pins the
    sandbox clock (RFC 3339; null goes back to the real clock).
    """

    model_config = ConfigDict(extra="forbid")
    clear_faults: bool = False
    faults: FaultsSpec | None = None
    expire_tokens: bool = False
    dataset: DatasetSpec | None = None
    now: str | None = None
    max_result_items: int | None = Field(None, ge=1)
    publication_lag_seconds: int | None = Field(None, ge=0)
    expires_in: int | None = Field(None, ge=1)
    reset_stats: bool = False


@dataclass(slots=True)
class _Token:
    expires_at: float
    scopes: frozenset[str]


class PayPalSandbox:
    """State of one emulated PayPal account (history, tokens, faults, stats) and its
    request handlers."""

    def __init__(self, config: PayPalSandboxConfig | None = None,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.config = config or PayPalSandboxConfig()
        self.data = TransactionDataset(self.config)
        self.faults = Faults()
        self.stats = Stats()
        self.tokens: dict[str, _Token] = {}
        self._clock = clock
        self._serial = 0

    # ---- configuration --------------------------------------------------------------------

    def reconfigure(self, **changes: Any) -> None:
        """Apply config changes; the history is regenerated only when a dataset field changed."""
        config = self.config.with_changes(**changes)
        if config.dataset_key() != self.config.dataset_key():
            self.data = TransactionDataset(config)
        self.config = config

    def now(self) -> float:
        """The sandbox's "now" (epoch seconds): the pinned `now`, else the real clock."""
        pinned = self.config.now
        return pinned.timestamp() if pinned is not None else self._clock()

    def last_refreshed(self, now: float | None = None) -> int:
        """Up to when (inclusive, epoch seconds) the data is complete: now - lag, floored."""
        moment = (self.now() if now is None else now) - self.config.publication_lag_seconds
        step = self.config.refresh_interval_seconds
        return math.floor(moment / step) * step

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on."""
        self.tokens.clear()

    def state(self) -> dict[str, Any]:
        """What GET /__sandbox/paypal/control shows."""
        cfg = self.config
        return {
            "dataset": cfg.dataset_summary(),
            "faults": self.faults.describe(),
            "now": stamp(int(self.now())),
            "clock": "pinned" if cfg.now is not None else "real",
            "last_refreshed_datetime": stamp(self.last_refreshed()),
            "max_result_items": cfg.max_result_items,
            "publication_lag_seconds": cfg.publication_lag_seconds,
            "tokens": len(self.tokens),
        }

    def apply_control(self, spec: ControlRequest) -> None:
        """Apply a control request (also usable directly from tests)."""
        if spec.clear_faults:
            self.faults = Faults()
        if spec.faults is not None:
            spec.faults.apply(self.faults)
        if spec.expire_tokens:
            self.expire_tokens()
        changes: dict[str, Any] = {}
        if spec.dataset is not None:
            changes.update(spec.dataset.model_dump(exclude_unset=True))
            if changes.get("start") is not None:
                changes["start"] = parse_start(changes["start"])
            if changes.get("currencies") is not None:
                changes["currencies"] = tuple(changes["currencies"])
        if "now" in spec.model_fields_set:
            changes["now"] = parse_start(spec.now) if spec.now else None
        for name in ("max_result_items", "publication_lag_seconds", "expires_in"):
            if getattr(spec, name) is not None:
                changes[name] = getattr(spec, name)
        if changes:
            self.reconfigure(**changes)
        if spec.reset_stats:
            self.stats = Stats()

    # ---- responses ------------------------------------------------------------------------

    def _debug_id(self) -> str:
        self._serial += 1
        return f"{mix64(self._serial ^ self.config.seed):013x}"[:13]

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None,
              debug_id: str | None = None) -> Response:  # fmt: skip
        out = {"Paypal-Debug-Id": debug_id or self._debug_id(), **(headers or {})}
        return Response(orjson.dumps(body), status, headers=out, media_type=JSON_TYPE)

    def _error(self, status: int, name: str, message: str, *, details: list | None = None,
               headers: dict[str, str] | None = None, **extra: Any) -> Response:  # fmt: skip
        debug_id = self._debug_id()
        body: dict[str, Any] = {"name": name, "message": message, "debug_id": debug_id}
        if details is not None:
            body["details"] = details
        body.update(extra)
        body["links"] = [{"href": f"{_DOCS}#error-{name}", "rel": "information_link"}]
        return self._json(body, status, headers, debug_id)

    def _invalid(self, exc: _Invalid) -> Response:
        self.stats.bad_requests += 1
        return self._error(400, "INVALID_REQUEST", INVALID_REQUEST_MESSAGE, details=[exc.detail])

    async def _fault(self) -> Response | None:
        faults = self.faults
        self.stats.requests += 1
        if faults.slow.fire():
            self.stats.faults_served["slow"] += 1
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.http_5xx.fire():
            self.stats.faults_served["http_5xx"] += 1
            status = faults.status_5xx
            if status == 503:
                return self._error(503, "SERVICE_UNAVAILABLE", "Service Unavailable.")
            return self._error(status, "INTERNAL_SERVER_ERROR", "An internal server error "
                               "occurred.")  # fmt: skip
        if faults.http_429.fire():
            self.stats.faults_served["http_429"] += 1
            return self._error(429, "RATE_LIMIT_REACHED", "Too many requests. Blocked due to "
                               "rate limiting.", details=[],
                               headers={"Retry-After": faults.retry_after_header()})  # fmt: skip
        return None

    # ---- OAuth ----------------------------------------------------------------------------

    def _basic(self, request: Request) -> tuple[str, str] | None:
        header = request.headers.get("authorization", "")
        if header[:6].lower() != "basic ":
            return None
        try:
            user, sep, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (user, password) if sep else None

    def _issue(self) -> str:
        self.stats.tokens_issued += 1
        self._serial += 1
        parts = [f"{mix64((self.config.seed << 20) + self._serial * 7919 + k):016x}"
                 for k in range(5)]  # fmt: skip
        return "A21AA" + "".join(parts).upper()

    async def token(self, request: Request) -> Response:
        """POST /v1/oauth2/token: client credentials (HTTP Basic) -> a Bearer token."""
        fault = await self._fault()
        if fault is not None:
            return fault
        self.stats.token_requests += 1
        cfg = self.config
        if self._basic(request) != (cfg.client_id, cfg.client_secret):
            self.stats.unauthorized += 1
            return self._json({"error": "invalid_client",
                               "error_description": "Client Authentication failed"}, 401)
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        grant = form.get("grant_type")
        if grant != "client_credentials":
            self.stats.bad_requests += 1
            text = "Grant Type is NULL" if not grant else f"Grant Type {grant} is not supported"
            return self._json({"error": "unsupported_grant_type",
                               "error_description": text}, 400)  # fmt: skip
        now = self.now()
        token = self._issue()
        self.tokens[token] = _Token(now + cfg.expires_in, frozenset(cfg.scopes))
        nonce = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)) + token[-12:]
        return self._json({"scope": " ".join(cfg.scopes), "access_token": token,
                           "token_type": "Bearer", "app_id": cfg.app_id,
                           "expires_in": cfg.expires_in, "nonce": nonce})  # fmt: skip

    def _authorize(self, request: Request, scope: str) -> Response | None:
        header = request.headers.get("authorization", "")
        entry = None
        if header[:7].lower() == "bearer ":
            entry = self.tokens.get(header[7:].strip())
        if entry is None or entry.expires_at <= self.now():
            self.stats.unauthorized += 1
            return self._error(401, "AUTHENTICATION_FAILURE", AUTH_FAILED_MESSAGE, details=[])
        if scope not in entry.scopes:
            self.stats.forbidden += 1
            return self._error(403, "NOT_AUTHORIZED", "Authorization failed due to "
                               "insufficient permissions.", details=[])  # fmt: skip
        return None

    # ---- Transaction Search ---------------------------------------------------------------

    @staticmethod
    def _moment(params: Any, name: str, required: bool) -> datetime | None:
        raw = params.get(name)
        if raw is None or raw == "":
            if required:
                raise _Invalid(name, "", "MISSING_REQUIRED_PARAMETER",
                               f"{name} is a required parameter.")  # fmt: skip
            return None
        text = raw.strip()
        if not _RFC3339.match(text):
            raise _Invalid(name, raw, "INVALID_PARAMETER_SYNTAX",
                           f"{name} must be an Internet date and time with seconds "
                           "(RFC 3339), e.g. 2024-01-01T00:00:00Z.")  # fmt: skip
        try:
            return datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
        except ValueError:
            raise _Invalid(name, raw, "INVALID_PARAMETER_SYNTAX",
                           f"{name} is not a valid date and time.") from None  # fmt: skip

    @staticmethod
    def _integer(params: Any, name: str, default: int, low: int, high: int) -> int:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _Invalid(name, raw, "INVALID_PARAMETER_SYNTAX",
                           f"{name} must be an integer.") from None  # fmt: skip
        if not low <= value <= high:
            raise _Invalid(name, raw, "INVALID_PARAMETER_VALUE",
                           f"{name} must be between {low} and {high}.")  # fmt: skip
        return value

    def _window(self, params: Any, now: float) -> tuple[int, int]:
        """(first second, last second) the start_date/end_date pair selects, checked."""
        start = self._moment(params, "start_date", True)
        end = self._moment(params, "end_date", True)
        assert start is not None and end is not None
        cfg = self.config
        lo = math.ceil(start.timestamp())
        end_ts = end.timestamp()
        hi = math.floor(end_ts) if cfg.end_inclusive else math.ceil(end_ts) - 1
        if end_ts < start.timestamp():
            raise _Invalid("end_date", params["end_date"], "INVALID_DATE_RANGE",
                           "end_date must not be before start_date.")  # fmt: skip
        if end_ts - start.timestamp() > cfg.max_range_days * 86_400:
            raise _Invalid("end_date", params["end_date"], "INVALID_DATE_RANGE",
                           f"Date range is greater than {cfg.max_range_days} days.")
        if start.timestamp() < now - cfg.history_days * 86_400:
            raise _Invalid("start_date", params["start_date"], "INVALID_START_DATE",
                           "Start date cannot be more than three years in the past.")
        return lo, hi

    def _filters(self, params: Any, visible_until: int) -> Callable[[Txn], bool] | None:
        """A predicate for the optional filters, or None when none is given."""
        tests: list[Callable[[Txn], bool]] = []
        txn_type = params.get("transaction_type")
        if txn_type:
            if not _T_CODE.match(txn_type):
                raise _Invalid("transaction_type", txn_type, "INVALID_PARAMETER_VALUE",
                               "transaction_type must be a transaction event code (T0006).")
            tests.append(lambda t: t.code == txn_type)
        status = params.get("transaction_status")
        if status:
            if status not in ("D", "P", "S", "V"):
                raise _Invalid("transaction_status", status, "INVALID_PARAMETER_VALUE",
                               "transaction_status must be D, P, S or V.")  # fmt: skip
            tests.append(lambda t: t.status_at(visible_until) == status)
        currency = params.get("transaction_currency")
        if currency:
            if currency not in ISO_4217:
                raise _Invalid("transaction_currency", currency, "INVALID_PARAMETER_VALUE",
                               "transaction_currency must be an ISO-4217 code.")
            tests.append(lambda t: t.currency == currency)
        amount = params.get("transaction_amount")
        if amount:
            match = _AMOUNT_RANGE.match(amount.strip())
            if not match:
                raise _Invalid("transaction_amount", amount, "INVALID_PARAMETER_SYNTAX",
                               "transaction_amount must be '<low> TO <high>' in minor units.")
            low, high = int(match.group(1)), int(match.group(2))
            tests.append(lambda t: low <= t.amount <= high)
        for name in ("payment_instrument_type", "store_id", "terminal_id"):
            if params.get(name):
                # No generated transaction has a card instrument, a store or a terminal.
                tests.append(lambda t: False)
        if not tests:
            return None
        return lambda t: all(test(t) for test in tests)

    @staticmethod
    def _blocks(params: Any) -> tuple[str, ...]:
        raw = params.get("fields") or "transaction_info"
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if "all" in names:
            return BLOCKS
        unknown = [n for n in names if n not in BLOCKS]
        if unknown or not names:
            raise _Invalid("fields", raw, "INVALID_PARAMETER_VALUE",
                           f"fields must be all or a list of {', '.join(BLOCKS)}.")
        return tuple(dict.fromkeys(names))

    async def transactions(self, request: Request) -> Response:
        """GET /v1/reporting/transactions."""
        fault = await self._fault()
        if fault is not None:
            return fault
        denied = self._authorize(request, SEARCH_SCOPE)
        if denied is not None:
            return denied
        params = request.query_params
        now = self.now()
        refreshed = self.last_refreshed(now)
        cfg = self.config
        try:
            lo, hi = self._window(params, now)
            page_size = self._integer(params, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
            page = self._integer(params, "page", 1, 1, 2_147_483_647)
            blocks = self._blocks(params)
            only = (params.get("balance_affecting_records_only") or "Y").upper()
            if only not in ("Y", "N"):
                raise _Invalid("balance_affecting_records_only", only,
                               "INVALID_PARAMETER_VALUE", "Value must be Y or N.")
            txn_id = params.get("transaction_id")
            if txn_id and not _TXN_ID.match(txn_id):
                raise _Invalid("transaction_id", txn_id, "INVALID_PARAMETER_VALUE",
                               "transaction_id must be 17 (or 19) letters and digits.")
            keep = self._filters(params, refreshed)
        except _Invalid as exc:
            return self._invalid(exc)
        if lo > refreshed:
            self.stats.not_available += 1
            return self._error(400, "INVALID_REQUEST", NOT_AVAILABLE_MESSAGE, details=[])
        upper = min(hi, refreshed)
        affecting_only = only == "Y"
        if txn_id:
            matches = [t for t in self.data.by_id(txn_id) if lo <= t.ts <= upper
                       and (t.balance_affecting or not affecting_only)
                       and (keep is None or keep(t))]  # fmt: skip
            records, first, past = matches, 0, len(matches)
        else:
            records, first, past = self.data.span(lo, upper, affecting_only)
            if keep is not None:
                records = [t for t in records[first:past] if keep(t)]
                first, past = 0, len(records)
        total = past - first
        if total > cfg.max_result_items:
            self.stats.too_large += 1
            return self._error(400, "RESULTSET_TOO_LARGE", "Result set size is greater than "
                               "the maximum limit. Change the filter criteria and try again.",
                               maximum_items=cfg.max_result_items)  # fmt: skip
        chosen = records[first + (page - 1) * page_size:min(past, first + page * page_size)]
        with_balance = not any(params.get(name) for name in FILTER_PARAMS)
        details = [self.data.render(t, blocks, refreshed, with_balance) for t in chosen]
        total_pages = math.ceil(total / page_size)
        self.stats.pages_served += 1
        self.stats.transactions_served += len(details)
        links = [{"href": str(request.url), "rel": "self", "method": "GET"}]
        if page < total_pages:
            links.append({"href": str(request.url.include_query_params(page=page + 1)),
                          "rel": "next", "method": "GET"})  # fmt: skip
        if total_pages:
            links.append({"href": str(request.url.include_query_params(page=total_pages)),
                          "rel": "last", "method": "GET"})  # fmt: skip
        body = {
            "transaction_details": details,
            "account_number": cfg.account_number,
            "start_date": stamp(lo),
            "end_date": stamp(upper),
            "last_refreshed_datetime": stamp(refreshed),
            "page": page,
            "total_items": total,
            "total_pages": total_pages,
            "links": links,
        }
        return self._json(body)

    async def balances(self, request: Request) -> Response:
        """GET /v1/reporting/balances: per currency available, withheld and total."""
        fault = await self._fault()
        if fault is not None:
            return fault
        denied = self._authorize(request, BALANCES_SCOPE)
        if denied is not None:
            return denied
        params = request.query_params
        now = self.now()
        refreshed = self.last_refreshed(now)
        cfg = self.config
        try:
            as_of = self._moment(params, "as_of_time", False)
            currency = params.get("currency_code")
            if currency and currency not in ISO_4217:
                raise _Invalid("currency_code", currency, "INVALID_PARAMETER_VALUE",
                               "currency_code must be an ISO-4217 code.")  # fmt: skip
            if as_of is not None and as_of.timestamp() < now - cfg.history_days * 86_400:
                raise _Invalid("as_of_time", params["as_of_time"], "INVALID_PARAMETER_VALUE",
                               "as_of_time cannot be more than three years in the past.")
        except _Invalid as exc:
            return self._invalid(exc)
        moment = refreshed if as_of is None else min(math.floor(as_of.timestamp()), refreshed)
        out = []
        for n, code in enumerate(cfg.currencies):
            if currency and code != currency:
                continue
            available, withheld = self.data.balance_at(code, moment)
            money = self.data.currencies[code]
            out.append({"currency": code, "primary": n == 0,
                        "total_balance": money.money(available + withheld),
                        "available_balance": money.money(available),
                        "withheld_balance": money.money(withheld)})  # fmt: skip
        self.stats.balances_served += 1
        return self._json({"balances": out, "account_id": cfg.account_number,
                           "as_of_time": stamp(moment), "last_refresh_time": stamp(refreshed)})

    # ---- control --------------------------------------------------------------------------

    async def control_endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(self.state())
        try:
            self.apply_control(ControlRequest.model_validate_json(await request.body() or b"{}"))
        except ValidationError as exc:
            return JSONResponse({"error": json.loads(exc.json())}, status_code=422)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse(self.state())

    async def stats_endpoint(self, request: Request) -> Response:
        return JSONResponse({**asdict(self.stats), "dataset": self.data.summary()})

    def routes(self) -> list[Route]:
        """Routes with absolute paths (/v1/oauth2, /v1/reporting, /__sandbox/paypal), so a
        composite sandbox can list them beside Stripe's /v1/... routes."""
        return [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route(TRANSACTIONS_PATH, self.transactions, methods=["GET"]),
            Route(BALANCES_PATH, self.balances, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/control", self.control_endpoint, methods=["GET", "POST"]),
            Route(f"{CONTROL_PREFIX}/stats", self.stats_endpoint, methods=["GET"]),
        ]


def create_app(config: PayPalSandboxConfig | None = None, **overrides: Any) -> Starlette:
    """A Starlette app serving one PayPal sandbox; `app.state.sandbox` is its state."""
    if overrides:
        config = (config or PayPalSandboxConfig()).with_changes(**overrides)
    sandbox = PayPalSandbox(config)
    app = Starlette(routes=sandbox.routes())
    app.state.sandbox = sandbox
    return app
