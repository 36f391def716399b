"""The QuickBooks Online Accounting API sandbox as Starlette routes.

API requests (`/v3/company/{realmId}/...`) go through, in this order: the bearer token
(missing, unknown, revoked or expired -> 401 AUTHENTICATION fault; a realm the grant is not
for -> 403), the throttle (500 requests per minute per realm, 10 in flight per realm and
app -> 429), armed faults (slow, 5xx), `Accept: application/json`, `minorversion`, then the
endpoint: query, read one, TrialBalance report, CDC, preferences, company info.

OAuth lives at `/oauth2/v1/tokens/bearer` and `/v2/oauth2/tokens/revoke` (Intuit's own
paths, on the sandbox host); control routes (`/__sandbox/quickbooks/...`) need no token:
they are the test harness's handle.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.quickbooks.config import QuickBooksSandboxConfig
from sandbox.quickbooks.data import LIST_ENTITIES, TRANSACTION_ENTITIES, Company, Deleted
from sandbox.quickbooks.ledger import GeneralLedger, trial_balance_report
from sandbox.quickbooks.query import (
    Query,
    QueryError,
    matches,
    mentions,
    parse_query,
    project,
    sort_key,
    validate,
)
from sandbox.quickbooks.tokens import TokenError, TokenService
from sandbox.quickbooks.webhooks import PortalSettings, QuickBooksWebhooks
from sandbox.shopify.config import parse_start
from sandbox.shopify.faults import Countdown, CountdownSpec, server_error_body
from sandbox.webhook_sender import WebhookControl, deliver_after_response

API_PREFIX = "/v3/company"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
CONTROL_PREFIX = "/__sandbox/quickbooks"
JSON_TYPE = "application/json;charset=UTF-8"
# Entities the API knows but this company has none of: queries answer empty.
EMPTY_ENTITIES = ("Employee", "Estimate", "PurchaseOrder", "Class", "Department",
                  "TimeActivity", "InventoryAdjustment", "SalesTaxPayment", "CreditCardPayment",
                  "Attachable", "Budget", "RecurringTransaction", "JournalCode")  # fmt: skip
ALL_ENTITIES = {name.lower(): name for name in (*LIST_ENTITIES, *TRANSACTION_ENTITIES,
                                                 *EMPTY_ENTITIES, "CompanyInfo",
                                                 "Preferences")}  # fmt: skip
# Entities whose queries leave out inactive records unless the query tests Active.
ACTIVE_FILTERED = frozenset({"Account", "Item", "Customer", "Vendor", "Term", "PaymentMethod",
                             "TaxCode", "TaxRate", "Employee", "Class", "Department"})


def render(body: Any) -> bytes:
    """JSON with Decimal amounts as plain JSON numbers (never through float)."""
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return orjson.Fragment(format(value, "f").encode())
        raise TypeError(type(value).__name__)

    return orjson.dumps(body, default=default)


@dataclass
class Stats:
    """Counters since start or the last reset (GET /__sandbox/quickbooks/stats)."""

    requests: int = 0
    token_requests: int = 0
    tokens_issued: int = 0
    invalid_grants: int = 0
    unauthorized: int = 0
    forbidden: int = 0
    throttled: int = 0
    max_in_flight: int = 0
    queries: int = 0
    records_served: int = 0
    reads: int = 0
    reports: int = 0
    cdc: int = 0
    faults_served: dict[str, int] = field(
        default_factory=lambda: {"http_429": 0, "http_5xx": 0, "slow": 0})


@dataclass
class Faults:
    """The armed faults (count-downs: the next N API requests, optionally after K)."""

    http_429: Countdown = field(default_factory=Countdown)
    http_5xx: Countdown = field(default_factory=Countdown)
    status_5xx: int = 500
    body_5xx: str = "json"
    slow: Countdown = field(default_factory=Countdown)
    delay_ms: int = 1000

    def describe(self) -> dict[str, Any]:
        """JSON view of what is armed."""
        return {"http_429": asdict(self.http_429),
                "http_5xx": {**asdict(self.http_5xx), "status": self.status_5xx,
                             "body": self.body_5xx},
                "slow": {**asdict(self.slow), "delay_ms": self.delay_ms}}  # fmt: skip


class Http5xxSpec(CountdownSpec):
    """The next N API requests answer a 5xx (a SystemFault body, or an HTML page)."""

    status: Literal[500, 502, 503, 504] = 500
    body: Literal["json", "html"] = "json"


class SlowSpec(CountdownSpec):
    """The next N API requests take `delay_ms` longer (holding their concurrency slot)."""

    delay_ms: int = Field(1000, ge=0, le=600_000)


class FaultsSpec(BaseModel):
    """`faults` of POST /__sandbox/quickbooks/control; absent keys leave a fault as it is."""

    model_config = ConfigDict(extra="forbid")
    http_429: CountdownSpec | None = None
    http_5xx: Http5xxSpec | None = None
    slow: SlowSpec | None = None

    def apply(self, plan: Faults) -> None:
        """Arm the given faults on `plan`."""
        if self.http_429 is not None:
            plan.http_429 = Countdown(self.http_429.count, self.http_429.after)
        if self.http_5xx is not None:
            plan.http_5xx = Countdown(self.http_5xx.count, self.http_5xx.after)
            plan.status_5xx, plan.body_5xx = self.http_5xx.status, self.http_5xx.body
        if self.slow is not None:
            plan.slow = Countdown(self.slow.count, self.slow.after)
            plan.delay_ms = self.slow.delay_ms


class DeleteSpec(BaseModel):
    """A transaction to delete: its entity (JournalEntry, Purchase, Transfer ...) and Id."""

    model_config = ConfigDict(extra="forbid")
    entity: str
    id: str


class TouchSpec(BaseModel):
    """A record to change now (SyncToken + 1, LastUpdatedTime now), as a user editing it."""

    model_config = ConfigDict(extra="forbid")
    entity: str
    id: str


class ControlRequest(BaseModel):
    """Body of POST /__sandbox/quickbooks/control; every key optional, applied in order.

    `config` changes QuickBooksSandboxConfig fields (a dataset field regenerates the
    company); `expire_access_tokens` ends every access token now; `revoke_all` kills every
    grant; `advance_seconds` moves the sandbox clock on (token lifetimes, rotation interval,
    throttle windows); `delete` deletes one transaction now, as a user deleting it in
    QuickBooks would (gone from queries and the Trial Balance, reported by CDC);
    `regenerate` builds the company afresh from its config (undoes deletions); `touch`
    changes a record now (an Update notification); `webhooks` steers the deliveries
    (sandbox/webhook_sender.py). Deletions and touches notify the portal's webhook URL.
    """

    model_config = ConfigDict(extra="forbid")
    clear_faults: bool = False
    faults: FaultsSpec | None = None
    config: dict[str, Any] | None = None
    expire_access_tokens: bool = False
    revoke_all: bool = False
    advance_seconds: float | None = Field(None, ge=0)
    delete: DeleteSpec | None = None
    touch: TouchSpec | None = None
    regenerate: bool = False
    reset_stats: bool = False
    webhooks: WebhookControl | None = None


class _Fault(Exception):
    """An API answer other than success: the response to send."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class QuickBooksSandbox:
    """State of one emulated QuickBooks company (books, tokens, throttle, faults, stats) and
    its request handlers. `clock` is wall time (tokens, "now"), `monotonic` paces throttle
    windows; both move on with `advance_seconds`."""

    def __init__(self, config: QuickBooksSandboxConfig | None = None, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.config = config or QuickBooksSandboxConfig()
        self._wall = clock
        self._monotonic = monotonic
        self._offset = 0.0
        self._company: Company | None = None
        self._ledger: GeneralLedger | None = None
        self.tokens = TokenService(self.config, self.now)
        self.faults = Faults()
        self.stats = Stats()
        self._windows: dict[str, deque[float]] = {}
        self._in_flight: dict[tuple[str, str], int] = {}
        self.webhooks = QuickBooksWebhooks(self)

    # ---- state ---------------------------------------------------------------------------

    @property
    def company(self) -> Company:
        """The generated company (built on first use)."""
        if self._company is None:
            self._company = Company(self.config)
            self._ledger = GeneralLedger(self._company)
            self._ledger.apply_current_balances()
        return self._company

    @property
    def ledger(self) -> GeneralLedger:
        """The company's general ledger (postings behind the Trial Balance)."""
        if self._ledger is None:
            company = self.company  # builds company and ledger when neither exists yet
            if self._ledger is None:  # the company changed (a deletion): derive it again
                self._ledger = GeneralLedger(company)
                self._ledger.apply_current_balances()
        assert self._ledger is not None
        return self._ledger

    def now(self) -> float:
        """The sandbox's "now" in epoch seconds: the pinned `now`, else the clock."""
        pinned = self.config.now
        base = pinned.timestamp() if pinned is not None else self._wall()
        return base + self._offset

    def _mono(self) -> float:
        return self._monotonic() + self._offset

    def today(self) -> date:
        """The company's date now (in its zone)."""
        zone = self.company.zone
        return datetime.fromtimestamp(self.now(), UTC).astimezone(zone).date()

    def stamp(self) -> str:
        """QuickBooks' `time` field: now in the company's zone, with milliseconds."""
        moment = datetime.fromtimestamp(self.now(), UTC).astimezone(self.company.zone)
        return moment.isoformat(timespec="milliseconds")

    def reconfigure(self, **changes: Any) -> None:
        """Apply config changes; the company is regenerated when a dataset field changed."""
        if "start" in changes and isinstance(changes["start"], str):
            changes["start"] = date.fromisoformat(changes["start"][:10])
        if isinstance(changes.get("now"), str):
            changes["now"] = parse_start(changes["now"])
        if isinstance(changes.get("foreign_currencies"), list):
            changes["foreign_currencies"] = tuple(changes["foreign_currencies"])
        config = self.config.with_changes(**changes)
        if config.dataset_key() != self.config.dataset_key():
            self._company = self._ledger = None
        self.config = config
        self.tokens.config = config

    def apply_control(self, spec: ControlRequest) -> None:
        """Apply a control request (also usable directly from tests)."""
        if spec.clear_faults:
            self.faults = Faults()
        if spec.faults is not None:
            spec.faults.apply(self.faults)
        if spec.config:
            self.reconfigure(**spec.config)
        if spec.advance_seconds:
            self._offset += spec.advance_seconds
        if spec.expire_access_tokens:
            self.tokens.expire_access_tokens()
        if spec.revoke_all:
            self.tokens.revoke_all()
        if spec.regenerate:
            self._company = self._ledger = None
        if spec.delete is not None:
            self._delete(spec.delete.entity, spec.delete.id)
            self.webhooks.notify(spec.delete.entity, spec.delete.id, "Delete")
        if spec.touch is not None:
            self._touch(spec.touch.entity, spec.touch.id)
            self.webhooks.notify(spec.touch.entity, spec.touch.id, "Update")
        if spec.reset_stats:
            self.stats = Stats()
        if spec.webhooks is not None:
            self.webhooks.sender.apply(spec.webhooks)

    def _touch(self, entity: str, record_id: str) -> None:
        company = self.company
        records = company.txns.get(entity) or company.lists.get(entity) or []
        record = next((r for r in records if r.get("Id") == record_id), None)
        if record is None:
            raise ValueError(f"no {entity} {record_id} to touch")
        company._touch(record, datetime.fromtimestamp(self.now(), UTC))

    def _delete(self, entity: str, record_id: str) -> None:
        records = self.company.txns.get(entity)
        record = next((r for r in records or () if r.get("Id") == record_id), None)
        if record is None:
            raise ValueError(f"no {entity} {record_id} to delete")
        records.remove(record)
        self.company.deleted.append(
            Deleted(entity, record_id, datetime.fromtimestamp(self.now(), UTC), record))
        self._ledger = None  # the postings are derived again without it

    def state(self) -> dict[str, Any]:
        """What GET /__sandbox/quickbooks/control shows."""
        cfg = self.config
        return {"dataset": cfg.dataset_summary(), "faults": self.faults.describe(),
                "tokens": self.tokens.describe(),
                "now": datetime.fromtimestamp(self.now(), UTC).isoformat(),
                "throttling": {"enabled": cfg.throttling,
                               "requests_per_minute": cfg.requests_per_minute,
                               "window_seconds": cfg.throttle_window_seconds,
                               "max_concurrent": cfg.max_concurrent},
                "refresh_token_rotation": cfg.refresh_token_rotation,
                "old_refresh_token_policy": cfg.old_refresh_token_policy,
                "webhooks": {**self.webhooks.describe(with_token=False),
                             **self.webhooks.sender.describe()}}  # fmt: skip

    # ---- responses -----------------------------------------------------------------------

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None
              ) -> Response:  # fmt: skip
        return Response(render(body), status, headers=headers, media_type=JSON_TYPE)

    def fault(self, status: int, kind: str, code: str, message: str, detail: str | None = None,
              element: str | None = None) -> Response:  # fmt: skip
        """A fault in QuickBooks' envelope."""
        error: dict[str, Any] = {"Message": message, "code": code}
        if detail is not None:
            error["Detail"] = detail
        if element is not None:
            error["element"] = element
        body = {"Fault": {"Error": [error], "type": kind}, "time": self.stamp()}
        return self._json(body, status)

    def _gateway_fault(self, status: int, kind: str, code: str, message: str, detail: str,
                       headers: dict[str, str] | None = None) -> Response:  # fmt: skip
        """401/429 answers come from Intuit's gateway; their shape is configurable."""
        if self.config.auth_fault_shape == "fault":
            body: Any = {"warnings": None, "intuitObject": None,
                         "fault": {"error": [{"message": message, "detail": detail,
                                              "code": code, "element": None}], "type": kind},
                         "report": None, "queryResponse": None, "batchItemResponse": [],
                         "attachableResponse": [], "syncErrorResponse": None,
                         "requestId": None, "time": int(self.now() * 1000), "status": None,
                         "cdcresponse": []}  # fmt: skip
            return self._json(body, status, headers)
        error = {"Message": message, "Detail": detail, "code": code}
        return self._json({"Fault": {"Error": [error], "type": kind}, "time": self.stamp()},
                          status, headers)  # fmt: skip

    def _validation(self, code: str, message: str, detail: str | None = None,
                    element: str | None = None) -> _Fault:  # fmt: skip
        return _Fault(self.fault(400, "ValidationFault", code, message, detail, element))

    # ---- OAuth ---------------------------------------------------------------------------

    def _client(self, request: Request) -> tuple[str, str] | None:
        header = request.headers.get("authorization", "")
        if header[:6].lower() != "basic ":
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user, password

    async def token(self, request: Request) -> Response:
        """POST /oauth2/v1/tokens/bearer: refresh_token and authorization_code grants."""
        self.stats.token_requests += 1
        cfg = self.config
        if self._client(request) != (cfg.client_id, cfg.client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        grant_type = form.get("grant_type")
        try:
            if grant_type == "refresh_token":
                answer = self.tokens.refresh(form.get("refresh_token"))
            elif grant_type == "authorization_code":
                answer = self.tokens.exchange_code(form.get("code"))
            else:
                raise TokenError("unsupported_grant_type")
        except TokenError as exc:
            if exc.error == "invalid_grant":
                self.stats.invalid_grants += 1
            return JSONResponse({"error": exc.error}, status_code=exc.status,
                                headers={"Cache-Control": "no-store"})  # fmt: skip
        self.stats.tokens_issued += 1
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def revoke(self, request: Request) -> Response:
        """POST /v2/oauth2/tokens/revoke {"token": ...}: the whole grant stops working."""
        cfg = self.config
        if self._client(request) != (cfg.client_id, cfg.client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        self.tokens.revoke(token)  # RFC 7009: an unknown token is not an error
        return Response(status_code=200)

    # ---- the API pipeline ----------------------------------------------------------------

    async def _api(self, request: Request, handler: Callable[[Request], Any]) -> Response:
        self.stats.requests += 1
        cfg = self.config
        realm = request.path_params["realm"]
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        verdict, grant = self.tokens.check(token)
        if verdict != "ok" or grant is None:
            self.stats.unauthorized += 1
            detail = "Token expired: " if verdict == "expired" else "Token invalid"
            return self._gateway_fault(401, "AUTHENTICATION", "3200", "message="
                                       "AuthenticationFailed; errorCode=003200; statusCode=401",
                                       detail, {"WWW-Authenticate": 'Bearer realm="Intuit"'})
        if realm != cfg.realm_id:
            self.stats.forbidden += 1
            return self.fault(403, "AuthorizationFault", "003100", "message="
                              "ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                              "The app is not authorized for this company (realm) ID.")
        slot = (realm, cfg.client_id)
        throttled = self._throttle(realm, slot)
        if throttled is not None:
            return throttled
        self._in_flight[slot] = self._in_flight.get(slot, 0) + 1
        self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight[slot])
        try:
            if self.faults.slow.fire():
                self.stats.faults_served["slow"] += 1
                await asyncio.sleep(self.faults.delay_ms / 1000)
            if self.faults.http_5xx.fire():
                self.stats.faults_served["http_5xx"] += 1
                return self._server_error()
            accept = request.headers.get("accept", "")
            if "json" not in accept.lower():
                # QuickBooks answers XML unless asked for JSON; this sandbox speaks JSON only.
                xml = (b'<?xml version="1.0" encoding="UTF-8"?><IntuitResponse><Fault type='
                       b'"ValidationFault"><Error code="4000"><Message>Send Accept: '
                       b"application/json</Message></Error></Fault></IntuitResponse>")
                return Response(xml, 406, media_type="application/xml")
            self._minor_version(request)
            return await handler(request)
        except _Fault as exc:
            return exc.response
        finally:
            self._in_flight[slot] -= 1

    def _throttle(self, realm: str, slot: tuple[str, str]) -> Response | None:
        cfg = self.config
        refused = False
        if self.faults.http_429.fire():
            self.stats.faults_served["http_429"] += 1
            refused = True
        elif cfg.throttling:
            now = self._mono()
            window = self._windows.setdefault(realm, deque())
            while window and window[0] <= now - cfg.throttle_window_seconds:
                window.popleft()
            if len(window) >= cfg.requests_per_minute:
                refused = True
            elif self._in_flight.get(slot, 0) >= cfg.max_concurrent:
                refused = True
            else:
                window.append(now)
        if not refused:
            return None
        self.stats.throttled += 1
        headers = None
        if cfg.retry_after_seconds is not None:
            headers = {"Retry-After": format(cfg.retry_after_seconds, "g")}
        return self._gateway_fault(429, "SERVICE", "3001", "message=ThrottleExceeded; "
                                   "errorCode=003001; statusCode=429",
                                   "The request limit was reached.", headers)  # fmt: skip

    def _server_error(self) -> Response:
        status = self.faults.status_5xx
        if self.faults.body_5xx == "html":
            content, media = server_error_body(status, "html")
            return Response(content, status, media_type=media)
        return self.fault(status, "SystemFault", "10000", "An application error has occurred "
                          "while processing your request", "System Failure Error: sandbox "
                          "fault")  # fmt: skip

    def _minor_version(self, request: Request) -> None:
        cfg = self.config
        raw = request.query_params.get("minorversion")
        try:
            version = int(raw) if raw is not None else None
        except ValueError:
            version = -1
        if version is not None and version >= cfg.min_minor_version:
            return
        if cfg.minor_version_policy == "upgrade":
            return
        shown = "missing" if raw is None else raw
        raise self._validation("4000", "Unsupported minorversion",
                               f"minorversion {shown} is not supported: send minorversion="
                               f"{cfg.min_minor_version} or later", "minorversion")

    # ---- endpoints -----------------------------------------------------------------------

    async def query(self, request: Request) -> Response:
        """GET ?query= or POST application/text: the query endpoint."""
        return await self._api(request, self._query)

    async def _query(self, request: Request) -> Response:
        if request.method == "POST":
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media not in ("application/text", "text/plain"):
                raise self._validation("4000", "Unsupported Media Type",
                                       f"POST query needs Content-Type application/text, got "
                                       f"{media or 'none'}")  # fmt: skip
            text = (await request.body()).decode("utf-8", "replace")
        else:
            text = request.query_params.get("query", "")
        self.stats.queries += 1
        try:
            query = parse_query(text)
            validate(query, self.config.max_results)
        except QueryError as exc:
            raise self._validation(exc.code, exc.message, exc.detail) from None
        entity = ALL_ENTITIES.get(query.entity.lower())
        if entity is None:
            raise self._validation("4001", "Invalid query", "QueryValidationError: Unable "
                                   f"to identify entity '{query.entity}'")  # fmt: skip
        records = self._select(entity, query)
        if query.count:
            return self._json({"QueryResponse": {"totalCount": len(records)},
                               "time": self.stamp()})  # fmt: skip
        size = query.max_results or self.config.default_max_results
        page = records[query.start_position - 1: query.start_position - 1 + size]
        if query.fields is not None:
            page = [project(r, query.fields) for r in page]
        self.stats.records_served += len(page)
        body: dict[str, Any] = {}
        if page:
            body = {entity: page, "startPosition": query.start_position,
                    "maxResults": len(page)}  # fmt: skip
        return self._json({"QueryResponse": body, "time": self.stamp()})

    def _records(self, entity: str) -> list[dict[str, Any]]:
        company = self.company
        if entity in company.lists:
            return company.lists[entity]
        if entity in company.txns:
            return company.txns[entity]
        if entity == "CompanyInfo":
            return [company.company_info()]
        if entity == "Preferences":
            return [company.preferences()]
        return []

    def _select(self, entity: str, query: Query) -> list[dict[str, Any]]:
        conditions = list(query.where)
        records = [r for r in self._records(entity) if matches(r, conditions)]
        if entity in ACTIVE_FILTERED and not mentions(query, "Active"):
            records = [r for r in records if r.get("Active", True) is True]
        order = query.order or [("Id", False)]
        for name, descending in reversed(order):
            records.sort(key=lambda r, n=name: sort_key(r, n), reverse=descending)
        return records

    async def read(self, request: Request) -> Response:
        """GET /{entity}/{Id}: one record (610 Object Not Found if gone)."""
        return await self._api(request, self._read)

    async def _read(self, request: Request) -> Response:
        entity = ALL_ENTITIES.get(request.path_params["entity"].lower())
        record_id = request.path_params["id"]
        if entity is None:
            return self._unsupported(request)
        self.stats.reads += 1
        if entity == "CompanyInfo":
            if record_id != self.config.realm_id:
                raise self._not_found(entity, record_id)
            found: dict[str, Any] | None = self.company.company_info()
        elif entity == "Preferences":
            found = self.company.preferences()
        else:
            found = next((r for r in self._records(entity) if r["Id"] == record_id), None)
        if found is None:
            raise self._not_found(entity, record_id)
        return self._json({entity: found, "time": self.stamp()})

    def _not_found(self, entity: str, record_id: str) -> _Fault:
        return self._validation("610", "Object Not Found", f"Object Not Found : Something "
                                f"you're trying to use has been made inactive. Check the "
                                f"fields with accounts, customers, items, vendors or "
                                f"employees. ({entity} {record_id})", "Id")  # fmt: skip

    async def preferences(self, request: Request) -> Response:
        """GET /preferences: the company's Preferences record."""
        async def answer(_request: Request) -> Response:
            return self._json({"Preferences": self.company.preferences(), "time": self.stamp()})
        return await self._api(request, answer)

    async def report(self, request: Request) -> Response:
        """GET /reports/TrialBalance (Accrual) from the general ledger."""
        return await self._api(request, self._report)

    async def _report(self, request: Request) -> Response:
        name = request.path_params["report"]
        if name.lower() != "trialbalance":
            raise self._validation("2500", "Invalid Reference Id", f"Report {name} is not "
                                   "emulated by the sandbox (TrialBalance is)")  # fmt: skip
        params = request.query_params
        basis = params.get("accounting_method", "Accrual")
        if basis not in ("Accrual", "Cash"):
            raise self._validation("2010", "Request has invalid or unsupported property",
                                   f"accounting_method {basis!r}", "accounting_method")
        if basis == "Cash":
            raise self._validation("2010", "Request has invalid or unsupported property",
                                   "Cash basis is not emulated by the sandbox",
                                   "accounting_method")  # fmt: skip
        try:
            end = date.fromisoformat(params["end_date"]) if params.get("end_date") else (
                self.today())  # fmt: skip
            start = date.fromisoformat(params["start_date"]) if params.get("start_date") else (
                self.ledger.fiscal_year_start(end))  # fmt: skip
        except ValueError:
            raise self._validation("2010", "Request has invalid or unsupported property",
                                   "start_date and end_date are YYYY-MM-DD") from None
        if start > end:
            raise self._validation("2010", "Request has invalid or unsupported property",
                                   "start_date is after end_date", "start_date")
        self.stats.reports += 1
        report = trial_balance_report(self.ledger, start, end, basis=basis,
                                      pnl=self.config.trial_balance_pnl, stamp=self.stamp())
        return self._json(report)

    async def cdc(self, request: Request) -> Response:
        """GET /cdc?entities=&changedSince=: changed and deleted records."""
        return await self._api(request, self._cdc)

    async def _cdc(self, request: Request) -> Response:
        cfg = self.config
        names = [n.strip() for n in request.query_params.get("entities", "").split(",")
                 if n.strip()]  # fmt: skip
        raw_since = request.query_params.get("changedSince", "")
        if not names:
            raise self._validation("2010", "Request has invalid or unsupported property",
                                   "entities is required", "entities")
        try:
            since = datetime.fromisoformat(raw_since.replace("Z", "+00:00"))
        except ValueError:
            raise self._validation("2010", "Request has invalid or unsupported property",
                                   "changedSince must be an ISO 8601 time",
                                   "changedSince") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=self.company.zone)
        oldest = datetime.fromtimestamp(self.now(), UTC) - timedelta(days=cfg.cdc_lookback_days)
        if since < oldest:
            raise self._validation("2010", "Request has invalid or unsupported property",
                                   f"changedSince is more than {cfg.cdc_lookback_days} days "
                                   "in the past", "changedSince")  # fmt: skip
        self.stats.cdc += 1
        answers = []
        for name in names:
            entity = ALL_ENTITIES.get(name.lower())
            if entity is None:
                raise self._validation("2010", "Request has invalid or unsupported property",
                                       f"unknown entity {name}", "entities")
            changed: list[tuple[datetime, dict[str, Any]]] = []
            for record in self._records(entity):
                updated = datetime.fromisoformat(record["MetaData"]["LastUpdatedTime"])
                if updated >= since:
                    changed.append((updated, record))
            for gone in self.company.deleted:
                if gone.entity == entity and gone.deleted_at >= since:
                    changed.append((gone.deleted_at, {
                        "domain": "QBO", "status": "Deleted", "Id": gone.id,
                        "MetaData": {"LastUpdatedTime": self.company.stamp(gone.deleted_at)}}))
            changed.sort(key=lambda pair: pair[0])
            records = [r for _, r in changed[: cfg.cdc_max_per_entity]]
            self.stats.records_served += len(records)
            part: dict[str, Any] = {"startPosition": 1, "maxResults": len(records),
                                    "totalCount": len(records)}  # fmt: skip
            if records:
                part[entity] = records
            answers.append(part)
        return self._json({"CDCResponse": [{"QueryResponse": answers}], "time": self.stamp()})

    async def unsupported(self, request: Request) -> Response:
        """Any other API path: QuickBooks' Unsupported Operation fault."""
        async def answer(req: Request) -> Response:
            return self._unsupported(req)
        return await self._api(request, answer)

    def _unsupported(self, request: Request) -> Response:
        return self.fault(400, "ValidationFault", "500", "Unsupported Operation",
                          f"Operation {request.method} {request.url.path} is not supported.")

    # ---- control -------------------------------------------------------------------------

    async def control_endpoint(self, request: Request) -> Response:
        """GET shows the sandbox state; POST applies a ControlRequest."""
        if request.method == "GET":
            return JSONResponse(self.state())
        try:
            self.apply_control(ControlRequest.model_validate_json(await request.body() or b"{}"))
        except ValidationError as exc:
            return JSONResponse({"error": json.loads(exc.json())}, status_code=422)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse(self.state())

    async def grant_endpoint(self, request: Request) -> Response:
        """A new connection to the company (what finishing Intuit's consent screen gives)."""
        answer = self.tokens.connect()
        return JSONResponse({**answer, "realmId": self.config.realm_id})

    async def stats_endpoint(self, request: Request) -> Response:
        """Counters since start or the last reset_stats."""
        return JSONResponse({**asdict(self.stats), "tokens": self.tokens.describe(),
                             "webhooks": self.webhooks.sender.describe()})  # fmt: skip

    async def webhooks_endpoint(self, request: Request) -> Response:
        """The developer portal's webhook settings: GET shows, POST sets, DELETE removes."""
        if request.method == "POST":
            try:
                settings = PortalSettings.model_validate_json(await request.body() or b"{}")
            except ValidationError as exc:
                return JSONResponse({"error": json.loads(exc.json())}, status_code=422)
            return JSONResponse(self.webhooks.configure(settings))
        if request.method == "DELETE":
            self.webhooks.remove()
        return JSONResponse(self.webhooks.describe())

    def routes(self) -> list[Route]:
        """Routes with absolute paths, so a composite sandbox can list them beside others."""
        base = f"{API_PREFIX}/{{realm}}"
        return [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route(REVOKE_PATH, self.revoke, methods=["POST"]),
            Route(f"{base}/query", self.query, methods=["GET", "POST"]),
            Route(f"{base}/reports/{{report}}", self.report, methods=["GET"]),
            Route(f"{base}/cdc", self.cdc, methods=["GET"]),
            Route(f"{base}/preferences", self.preferences, methods=["GET"]),
            Route(f"{base}/{{entity}}/{{id}}", self.read, methods=["GET"]),
            Route(f"{base}/{{rest:path}}", self.unsupported,
                  methods=["GET", "POST", "PUT", "DELETE"]),  # fmt: skip
            Route(f"{CONTROL_PREFIX}/control", deliver_after_response(self.control_endpoint),
                  methods=["GET", "POST"]),  # fmt: skip
            Route(f"{CONTROL_PREFIX}/webhooks", self.webhooks_endpoint,
                  methods=["GET", "POST", "DELETE"]),  # fmt: skip
            Route(f"{CONTROL_PREFIX}/grant", self.grant_endpoint, methods=["POST"]),
            Route(f"{CONTROL_PREFIX}/stats", self.stats_endpoint, methods=["GET"]),
        ]


def create_app(config: QuickBooksSandboxConfig | None = None, **overrides: Any) -> Starlette:
    """A Starlette app serving one QuickBooks sandbox; `app.state.sandbox` is its state."""
    if overrides:
        config = (config or QuickBooksSandboxConfig()).with_changes(**overrides)
    sandbox = QuickBooksSandbox(config)
    app = Starlette(routes=sandbox.routes())
    app.state.sandbox = sandbox
    return app
