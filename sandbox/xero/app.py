"""The Xero sandbox as Starlette routes: identity (token, revocation), connections, the
Accounting API 2.0 over two generated organisations, and a control surface.

Request path for `/api.xro/2.0/...`, in this order: faults that act before Xero's API (slow,
5xx, 429), the Bearer token (missing, unknown or expired -> 401 problem body), the
`xero-tenant-id` header (missing, unknown or disconnected -> 403 "AuthenticationUnsuccessful"),
`Accept` (anything but JSON -> 406, see config.not_json), the rate limits (per tenant 60 a
minute, 5,000 a day, 5 in flight; 10,000 a minute per app; each answer carries
X-MinLimit-Remaining, X-DayLimit-Remaining, X-AppMinLimit-Remaining; a refusal is a 429 with
Retry-After and X-Rate-Limit-Problem), then the resource.

Paths: /connect/token, /connect/revocation, /connections, /api.xro/2.0/..., and control under
/__sandbox/xero/..., so the sandbox sits beside the Shopify, WooCommerce, Stripe, PayPal,
Amazon and QuickBooks ones. Control routes need no token: they are the test harness's handle.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bigledger.money import loads_exact
from sandbox.shopify.config import parse_start
from sandbox.shopify.faults import Countdown, CountdownSpec
from sandbox.webhook_sender import WebhookControl, deliver_after_response
from sandbox.xero import render
from sandbox.xero.config import XeroSandboxConfig
from sandbox.xero.data import Organisation, stable_id
from sandbox.xero.query import QueryParseError, apply_order, parse_where
from sandbox.xero.webhooks import PortalSubscription, XeroWebhooks
from sandbox.xero.writes import InvoiceWriter

TOKEN_PATH = "/connect/token"
REVOKE_PATH = "/connect/revocation"
CONNECTIONS_PATH = "/connections"
API_PREFIX = "/api.xro/2.0"
CONTROL_PREFIX = "/__sandbox/xero"
JSON_TYPE = "application/json"
Problem = Literal["minute", "day", "concurrent", "appminute"]

# Resource -> (envelope key, paged with `page`, LineItems dropped when listed without page).
RESOURCES: dict[str, tuple[str, bool, bool]] = {
    "accounts": ("Accounts", False, False),
    "taxrates": ("TaxRates", False, False),
    "organisation": ("Organisations", False, False),
    "contacts": ("Contacts", True, False),
    "invoices": ("Invoices", True, True),
    "creditnotes": ("CreditNotes", True, True),
    "payments": ("Payments", True, False),
    "banktransactions": ("BankTransactions", True, False),
    "manualjournals": ("ManualJournals", True, False),
    "overpayments": ("Overpayments", True, False),
    "prepayments": ("Prepayments", True, False),
    "journals": ("Journals", False, False),
}
# Query parameters evaluated on rendered records (the slow path).
_RENDERED_FILTERS = ("where", "order", "Statuses", "IDs", "ContactIDs", "InvoiceNumbers")
STATUSES = {"invoices": ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"),
            "creditnotes": ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")}


@dataclass
class Stats:
    """Counters since start or the last reset (GET /__sandbox/xero/stats)."""

    requests: int = 0
    token_requests: int = 0
    tokens_issued: int = 0
    refresh_grace_reuses: int = 0
    invalid_grants: int = 0
    unauthorized: int = 0
    forbidden: int = 0
    not_acceptable: int = 0
    bad_requests: int = 0
    validation_errors: int = 0
    pages_served: int = 0
    records_served: int = 0
    rate_limited: dict[str, int] = field(
        default_factory=lambda: {"minute": 0, "day": 0, "concurrent": 0, "appminute": 0})
    faults_served: dict[str, int] = field(
        default_factory=lambda: {"http_429": 0, "http_5xx": 0, "slow": 0})


@dataclass
class Faults:
    """Armed faults (count-downs over API requests)."""

    http_429: Countdown = field(default_factory=Countdown)
    problem: Problem = "minute"
    retry_after: int = 1
    http_5xx: Countdown = field(default_factory=Countdown)
    status_5xx: int = 503
    slow: Countdown = field(default_factory=Countdown)
    delay_ms: int = 500

    def describe(self) -> dict[str, Any]:
        """JSON view of what is armed."""
        return {"http_429": {**asdict(self.http_429), "problem": self.problem,
                             "retry_after": self.retry_after},
                "http_5xx": {**asdict(self.http_5xx), "status": self.status_5xx},
                "slow": {**asdict(self.slow), "delay_ms": self.delay_ms}}  # fmt: skip


class Http429Spec(CountdownSpec):
    """Forced 429s: which limit they claim and the Retry-After they send."""

    problem: Problem = "minute"
    retry_after: int = Field(1, ge=0)


class Http5xxSpec(CountdownSpec):
    """Forced server errors and their status."""

    status: Literal[500, 502, 503, 504] = 503


class SlowSpec(CountdownSpec):
    """Slow answers (each holds a concurrency slot while it waits)."""

    delay_ms: int = Field(500, ge=0, le=600_000)


class FaultsSpec(BaseModel):
    """`faults` of POST /__sandbox/xero/control; absent keys leave a fault as it is."""

    model_config = ConfigDict(extra="forbid")
    http_429: Http429Spec | None = None
    http_5xx: Http5xxSpec | None = None
    slow: SlowSpec | None = None


class DatasetSpec(BaseModel):
    """`dataset` of POST /__sandbox/xero/control; absent fields keep their value."""

    model_config = ConfigDict(extra="forbid")
    seed: int | None = None
    size: int | None = Field(None, ge=0)
    start: str | None = None
    days: int | None = Field(None, ge=1)
    base_currency: str | None = None
    second_base_currency: str | None = None
    financial_year_end_month: int | None = Field(None, ge=1, le=12)
    financial_year_end_day: int | None = Field(None, ge=1, le=31)


class LimitsSpec(BaseModel):
    """`limits` of POST /__sandbox/xero/control."""

    model_config = ConfigDict(extra="forbid")
    minute_limit: int | None = Field(None, ge=1)
    minute_window_seconds: float | None = Field(None, gt=0)
    day_limit: int | None = Field(None, ge=1)
    day_window_seconds: float | None = Field(None, gt=0)
    concurrent_limit: int | None = Field(None, ge=1)
    app_minute_limit: int | None = Field(None, ge=1)


class ControlRequest(BaseModel):
    """Body of POST /__sandbox/xero/control; every key optional, applied in order."""

    model_config = ConfigDict(extra="forbid")
    clear_faults: bool = False
    faults: FaultsSpec | None = None
    expire_access_tokens: bool = False
    revoke: bool = False  # every token dies and the tenants are disconnected
    add_refresh_token: str | None = None  # a fresh, valid refresh token (a reconnect)
    disconnect_tenant: str | None = None
    reconnect_all: bool = False
    dataset: DatasetSpec | None = None
    throttling: bool | None = None
    limits: LimitsSpec | None = None
    reset_limits: bool = False
    now: str | None = None
    access_token_ttl: int | None = Field(None, ge=1)
    refresh_grace_seconds: int | None = Field(None, ge=0)
    reset_stats: bool = False
    webhooks: WebhookControl | None = None


@dataclass
class _RefreshToken:
    issued_at: float
    expires_at: float
    used_at: float | None = None
    child: str | None = None  # the refresh token issued when this one was used
    dead: bool = False


@dataclass
class _Windows:
    minute: deque[float] = field(default_factory=deque)
    day: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class XeroSandbox:
    """State of one emulated Xero app connection (tokens, tenants, limits, faults) and its
    request handlers."""

    def __init__(self, config: XeroSandboxConfig | None = None,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.config = config or XeroSandboxConfig()
        self._clock = clock
        self._orgs: list[Organisation] | None = None
        self.faults = Faults()
        self.stats = Stats()
        self.refresh_tokens: dict[str, _RefreshToken] = {}
        self.access_tokens: dict[str, float] = {}
        self.used_codes: set[str] = set()
        self.disconnected: set[str] = set()
        self._windows: dict[str, _Windows] = {}
        self._app_minute: deque[float] = deque()
        self._serial = 0
        self._connected_at = datetime(2024, 1, 1, tzinfo=UTC)
        self.webhooks = XeroWebhooks(self)
        now = self.now()
        for token in self.config.refresh_tokens:
            self.refresh_tokens[token] = _RefreshToken(now, now + self.config.refresh_token_ttl)

    # ---- data ------------------------------------------------------------------------------

    @property
    def organisations(self) -> list[Organisation]:
        """The two tenants, generated on first use."""
        if self._orgs is None:
            self._orgs = [Organisation(self.config, index) for index in range(2)]
        return self._orgs

    def organisation(self, tenant_id: str) -> Organisation | None:
        """The tenant with this id (case-insensitive), if any."""
        wanted = tenant_id.strip().lower()
        return next((o for o in self.organisations if o.tenant_id == wanted), None)

    def now(self) -> float:
        """The sandbox's "now" (epoch seconds): the pinned `now`, else the clock."""
        pinned = self.config.now
        return pinned.timestamp() if pinned is not None else self._clock()

    def reconfigure(self, **changes: Any) -> None:
        """Apply config changes; the organisations are regenerated when a dataset field
        changed."""
        config = self.config.with_changes(**changes)
        if config.dataset_key() != self.config.dataset_key():
            self._orgs = None
        self.config = config

    # ---- responses -------------------------------------------------------------------------

    def _instance(self) -> str:
        self._serial += 1
        return stable_id("instance", self.config.seed, self._serial)

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None
              ) -> Response:  # fmt: skip
        return Response(render.dumps(body), status, headers=headers, media_type=JSON_TYPE)

    def _problem(self, status: int, title: str, detail: str,
                 headers: dict[str, str] | None = None) -> Response:  # fmt: skip
        return self._json({"Type": None, "Title": title, "Status": status, "Detail": detail,
                           "Instance": self._instance(), "Extensions": {}}, status, headers)

    def _validation(self, messages: list[str], elements: list[dict[str, Any]] | None = None,
                    headers: dict[str, str] | None = None) -> Response:  # fmt: skip
        self.stats.validation_errors += 1
        if elements is None:
            elements = [{"ValidationErrors": [{"Message": m} for m in messages]}]
        return self._json({"ErrorNumber": 10, "Type": "ValidationException",
                           "Message": "A validation exception occurred",
                           "Elements": elements}, 400, headers)  # fmt: skip

    def _envelope(self, key: str, records: Any, pagination: dict[str, int] | None = None
                  ) -> dict[str, Any]:  # fmt: skip
        body: dict[str, Any] = {"Id": self._instance(), "Status": "OK",
                                "ProviderName": self.config.provider_name,
                                "DateTimeUTC": render.ms(datetime.now(UTC))}  # fmt: skip
        if pagination is not None:
            body["pagination"] = pagination
        body[key] = records
        return body

    # ---- identity --------------------------------------------------------------------------

    def _client(self, request: Request, form: dict[str, str]) -> tuple[str, str] | None:
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                user, sep, password = base64.b64decode(header[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return (user, password) if sep else None
        if form.get("client_id"):
            return form.get("client_id", ""), form.get("client_secret", "")
        return None

    def _issue(self, now: float) -> dict[str, Any]:
        self.stats.tokens_issued += 1
        self._serial += 1
        access = "xat_" + stable_id("access", self.config.seed, self._serial, now).replace("-", "")
        refresh = "xrt_" + stable_id("refresh", self.config.seed, self._serial, now).replace(
            "-", "")
        cfg = self.config
        self.access_tokens[access] = now + cfg.access_token_ttl
        self.refresh_tokens[refresh] = _RefreshToken(now, now + cfg.refresh_token_ttl)
        return {"id_token": "", "access_token": access, "expires_in": cfg.access_token_ttl,
                "token_type": "Bearer", "refresh_token": refresh, "scope": cfg.scopes}

    def _invalid_grant(self) -> Response:
        self.stats.invalid_grants += 1
        return self._json({"error": "invalid_grant"}, 400)

    async def token(self, request: Request) -> Response:
        """POST /connect/token: refresh_token or authorization_code grant (HTTP Basic client).

        Rotation: every refresh returns a new refresh token; the one used is dead once
        `refresh_grace_seconds` have passed since its first use (0: at once). Re-using it
        within the grace period issues a new pair and kills the pair it issued before.
        """
        self.stats.token_requests += 1
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        cfg = self.config
        if self._client(request, form) != (cfg.client_id, cfg.client_secret):
            return self._json({"error": "invalid_client"}, 400)
        grant = form.get("grant_type")
        now = self.now()
        if grant == "authorization_code":
            code = form.get("code", "")
            if code not in cfg.auth_codes or code in self.used_codes:
                return self._invalid_grant()
            if form.get("redirect_uri") != cfg.redirect_uri:
                return self._invalid_grant()
            self.used_codes.add(code)
            self.disconnected.clear()
            return self._json(self._issue(now))
        if grant != "refresh_token":
            return self._json({"error": "unsupported_grant_type"}, 400)
        token = self.refresh_tokens.get(form.get("refresh_token", ""))
        if token is None or token.dead or now >= token.expires_at:
            return self._invalid_grant()
        if token.used_at is not None:
            if now - token.used_at > cfg.refresh_grace_seconds:
                token.dead = True
                return self._invalid_grant()
            self.stats.refresh_grace_reuses += 1
            if token.child is not None and token.child in self.refresh_tokens:
                self.refresh_tokens[token.child].dead = True
        else:
            token.used_at = now
        issued = self._issue(now)
        token.child = issued["refresh_token"]
        if cfg.refresh_grace_seconds == 0:
            token.dead = True
        return self._json(issued)

    async def revocation(self, request: Request) -> Response:
        """POST /connect/revocation: a refresh token's connection is removed; every token
        dies (Xero: revoking removes the app's connections)."""
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        cfg = self.config
        if self._client(request, form) != (cfg.client_id, cfg.client_secret):
            return self._json({"error": "invalid_client"}, 400)
        if form.get("token") not in self.refresh_tokens:
            return self._json({"error": "invalid_grant"}, 400)
        self.revoke_all()
        return Response(status_code=200)

    def revoke_all(self) -> None:
        """Every refresh and access token dies; the tenants are disconnected."""
        for token in self.refresh_tokens.values():
            token.dead = True
        self.access_tokens.clear()
        self.disconnected = {o.tenant_id for o in self.organisations}

    def _bearer(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        expires = self.access_tokens.get(token)
        if expires is None:
            self.stats.unauthorized += 1
            return self._problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        if self.now() >= expires:
            self.stats.unauthorized += 1
            moment = datetime.fromtimestamp(expires, UTC).strftime("%m/%d/%Y %H:%M:%S")
            return self._problem(401, "Unauthorized", f"TokenExpired: token expired at {moment}")
        return None

    async def connections(self, request: Request) -> Response:
        """GET /connections: the tenants this token may use."""
        self.stats.requests += 1
        refused = self._bearer(request)
        if refused is not None:
            return refused
        stamp = self._connected_at.strftime("%Y-%m-%dT%H:%M:%S.%f0")
        out = [{"id": stable_id("connection", org.tenant_id), "authEventId":
                stable_id("auth-event", self.config.seed), "tenantId": org.tenant_id,
                "tenantType": "ORGANISATION", "tenantName": org.name,
                "createdDateUtc": stamp, "updatedDateUtc": stamp}
               for org in self.organisations if org.tenant_id not in self.disconnected]
        return self._json(out)

    # ---- rate limits -----------------------------------------------------------------------

    def _window(self, tenant: str) -> _Windows:
        return self._windows.setdefault(tenant, _Windows())

    def _trim(self, now: float, windows: _Windows) -> None:
        cfg = self.config
        for queue, span in ((windows.minute, cfg.minute_window_seconds),
                            (windows.day, cfg.day_window_seconds),
                            (self._app_minute, cfg.minute_window_seconds)):  # fmt: skip
            while queue and queue[0] <= now - span:
                queue.popleft()

    def _remaining(self, windows: _Windows) -> dict[str, str]:
        cfg = self.config
        return {"X-DayLimit-Remaining": str(max(0, cfg.day_limit - len(windows.day))),
                "X-MinLimit-Remaining": str(max(0, cfg.minute_limit - len(windows.minute))),
                "X-AppMinLimit-Remaining": str(max(0, cfg.app_minute_limit -
                                                   len(self._app_minute)))}  # fmt: skip

    def _limit(self, tenant: str) -> tuple[Response | None, _Windows]:
        """Count one call against the tenant's and the app's windows, or refuse it."""
        windows = self._window(tenant)
        cfg = self.config
        if not cfg.throttling:
            return None, windows
        now = self._clock()
        self._trim(now, windows)
        problem: Problem | None = None
        retry_after = 1.0
        if len(windows.day) >= cfg.day_limit:
            problem, retry_after = "day", windows.day[0] + cfg.day_window_seconds - now
        elif windows.in_flight >= cfg.concurrent_limit:
            problem, retry_after = "concurrent", float(cfg.concurrent_retry_after)
        elif len(windows.minute) >= cfg.minute_limit:
            problem, retry_after = "minute", windows.minute[0] + cfg.minute_window_seconds - now
        elif len(self._app_minute) >= cfg.app_minute_limit:
            problem = "appminute"
            retry_after = self._app_minute[0] + cfg.minute_window_seconds - now
        if problem is not None:
            self.stats.rate_limited[problem] += 1
            return self._refusal(problem, retry_after, windows), windows
        windows.minute.append(now)
        windows.day.append(now)
        self._app_minute.append(now)
        return None, windows

    def _refusal(self, problem: str, retry_after: float, windows: _Windows) -> Response:
        seconds = max(1, int(retry_after + 0.999))
        headers = {**self._remaining(windows), "Retry-After": str(seconds),
                   "X-Rate-Limit-Problem": problem}  # fmt: skip
        return self._problem(429, "Too Many Requests", "Rate limit exceeded", headers)

    # ---- the API ---------------------------------------------------------------------------

    async def _fault(self) -> Response | None:
        faults = self.faults
        if faults.http_5xx.fire():
            self.stats.faults_served["http_5xx"] += 1
            return self._problem(faults.status_5xx, "Service Unavailable"
                                 if faults.status_5xx == 503 else "Internal Server Error",
                                 "The Xero API is temporarily unavailable")  # fmt: skip
        if faults.http_429.fire():
            self.stats.faults_served["http_429"] += 1
            return self._refusal(faults.problem, faults.retry_after, _Windows())
        return None

    def _accepts_json(self, request: Request) -> bool:
        accept = request.headers.get("accept", "").lower()
        return "application/json" in accept or "+json" in accept

    async def api(self, request: Request) -> Response:
        """Every /api.xro/2.0 route: the checks in the module docstring, then the handler."""
        self.stats.requests += 1
        fault = await self._fault()
        if fault is not None:
            return fault
        refused = self._bearer(request)
        if refused is not None:
            return refused
        tenant = request.headers.get("xero-tenant-id", "")
        org = self.organisation(tenant) if tenant else None
        if org is None or org.tenant_id in self.disconnected:
            self.stats.forbidden += 1
            return self._problem(403, "Forbidden", "AuthenticationUnsuccessful")
        if not self._accepts_json(request) and self.config.not_json == "406":
            self.stats.not_acceptable += 1
            return Response("Not Acceptable: this sandbox speaks JSON only; send "
                            "Accept: application/json", 406, media_type="text/plain")
        refusal, windows = self._limit(org.tenant_id)
        if refusal is not None:
            return refusal
        windows.in_flight += 1
        try:
            # A slow answer holds its slot, so parallel callers meet the concurrency limit.
            if self.faults.slow.fire():
                self.stats.faults_served["slow"] += 1
                await asyncio.sleep(self.faults.delay_ms / 1000)
            response = await self._dispatch(request, org)
        finally:
            windows.in_flight -= 1
        if self.config.throttling:
            self._trim(self._clock(), windows)
            response.headers.update(self._remaining(windows))
        return response

    async def _dispatch(self, request: Request, org: Organisation) -> Response:
        params = request.path_params
        resource = params.get("resource", "").lower()
        if "report" in params:
            if params["report"].lower() != "trialbalance":
                return self._problem(404, "Not Found", f"Report {params['report']} not found")
            return self._trial_balance(request, org)
        if resource not in RESOURCES:
            return self._problem(404, "Not Found", "The resource you're looking for cannot be "
                                 "found")  # fmt: skip
        if request.method in ("PUT", "POST"):
            if resource != "invoices" or "id" in params:
                return self._problem(405, "Method Not Allowed", "This sandbox is read-only "
                                     "except for creating invoices")  # fmt: skip
            return await self._create_invoices(request, org)
        try:
            return self._list(request, org, resource, params.get("id"))
        except QueryParseError as exc:
            self.stats.bad_requests += 1
            return self._json({"ErrorNumber": 16, "Type": "QueryParseException",
                               "Message": str(exc)}, 400)  # fmt: skip
        except _BadParameter as exc:
            self.stats.bad_requests += 1
            return self._validation([str(exc)])

    def _objects(self, org: Organisation, resource: str) -> list[tuple[Any, datetime]]:
        """(object, UpdatedDateUTC) pairs in the order Xero lists them."""
        if resource == "accounts":
            return [(a, a.updated) for a in org.accounts]
        if resource == "contacts":
            return [(c, c.updated) for c in org.contacts]
        if resource == "invoices":
            return [(d, d.updated) for d in org.invoices]
        if resource == "creditnotes":
            return [(d, d.updated) for d in org.credit_notes]
        if resource == "payments":
            return [(p, p.updated or p.created) for p in org.payments]
        if resource == "banktransactions":
            return [(d, d.updated) for d in org.bank_transactions]
        if resource == "manualjournals":
            return [(m, m.updated) for m in org.manual_journals]
        if resource == "journals":
            return [(j, j.created) for j in org.journals]
        return []

    def _render(self, org: Organisation, resource: str, obj: Any, lines: bool) -> dict[str, Any]:
        if resource == "accounts":
            return render.account(org, obj)
        if resource == "contacts":
            return render.contact(org, obj)
        if resource == "invoices":
            return render.invoice(org, obj, with_lines=lines)
        if resource == "creditnotes":
            return render.credit_note(org, obj, with_lines=lines)
        if resource == "payments":
            return render.payment(org, obj)
        if resource == "banktransactions":
            return render.bank_transaction(org, obj)
        if resource == "manualjournals":
            return render.manual_journal(org, obj)
        return render.journal(org, obj)

    def _list(self, request: Request, org: Organisation, resource: str,
              record_id: str | None) -> Response:  # fmt: skip
        key, paged, summary = RESOURCES[resource]
        query = request.query_params
        if resource == "organisation":
            return self._json(self._envelope(key, [render.organisation(org)]))
        if resource == "taxrates":
            return self._json(self._envelope(key, org.tax_rates()))
        if resource == "journals":
            return self._journals(request, org)
        objects = self._objects(org, resource)
        since = _modified_since(request.headers.get("if-modified-since"))
        if since is not None:
            objects = [(o, updated) for o, updated in objects if updated >= since]
        page = _int_param(query, "page") if paged else None
        with_lines = not (summary and self.config.summary_without_page and page is None
                          and record_id is None) and query.get("summaryOnly", "").lower() \
            != "true"  # fmt: skip
        if record_id is None and page is not None and not any(
                query.get(name) for name in _RENDERED_FILTERS):  # fmt: skip
            return self._page_fast(request, org, resource, [o for o, _ in objects], page,
                                   with_lines)
        records = [self._render(org, resource, o, with_lines) for o, _ in objects]
        if record_id is not None:
            wanted = record_id.lower()
            found = [r for r in records if str(r.get(_id_field(key), "")).lower() == wanted
                     or str(r.get("InvoiceNumber", "")).lower() == wanted]
            if not found:
                return self._problem(404, "Not Found", "The resource you're looking for cannot "
                                     "be found")  # fmt: skip
            self.stats.records_served += len(found)
            return self._json(self._envelope(key, found))
        records = self._filter(request, resource, key, records)
        pagination = None
        if page is not None:
            size = self._page_size(query)
            page = max(page, 1)
            count = len(records)
            pagination = {"page": page, "pageSize": size, "pageCount": -(-count // size),
                          "itemCount": count}  # fmt: skip
            records = records[(page - 1) * size:page * size]
        self.stats.pages_served += 1
        self.stats.records_served += len(records)
        return self._json(self._envelope(key, records, pagination))

    def _page_size(self, query: Any) -> int:
        size = _int_param(query, "pageSize") or self.config.default_page_size
        return max(1, min(size, self.config.max_page_size))

    def _page_fast(self, request: Request, org: Organisation, resource: str,
                   objects: list[Any], page: int, with_lines: bool) -> Response:  # fmt: skip
        """A page without filters on rendered fields: slice first, render only the page
        (large organisations stay fast)."""
        key = RESOURCES[resource][0]
        if resource == "contacts" and request.query_params.get(
                "includeArchived", "").lower() != "true":  # fmt: skip
            objects = [c for c in objects if c.status != "ARCHIVED"]
        size, page = self._page_size(request.query_params), max(page, 1)
        chosen = objects[(page - 1) * size:page * size]
        records = [self._render(org, resource, o, with_lines) for o in chosen]
        pagination = {"page": page, "pageSize": size, "pageCount": -(-len(objects) // size),
                      "itemCount": len(objects)}  # fmt: skip
        self.stats.pages_served += 1
        self.stats.records_served += len(records)
        return self._json(self._envelope(key, records, pagination))

    def _filter(self, request: Request, resource: str, key: str,
                records: list[dict[str, Any]]) -> list[dict[str, Any]]:  # fmt: skip
        query = request.query_params
        if resource == "contacts" and query.get("includeArchived", "").lower() != "true" \
                and not query.get("IDs"):  # fmt: skip
            records = [r for r in records if r.get("ContactStatus") != "ARCHIVED"]
        if query.get("Statuses") and resource in STATUSES:
            wanted = {s.strip().upper() for s in query["Statuses"].split(",") if s.strip()}
            unknown = sorted(wanted - set(STATUSES[resource]))
            if unknown:
                raise _BadParameter(f"Status code '{unknown[0]}' is not a valid status for "
                                    f"this document")  # fmt: skip
            records = [r for r in records if r.get("Status") in wanted]
        if query.get("IDs"):
            ids = {i.strip().lower() for i in query["IDs"].split(",")}
            records = [r for r in records if str(r.get(_id_field(key), "")).lower() in ids]
        if query.get("ContactIDs") and resource in ("invoices", "creditnotes"):
            ids = {i.strip().lower() for i in query["ContactIDs"].split(",")}
            records = [r for r in records
                       if str((r.get("Contact") or {}).get("ContactID", "")).lower() in ids]
        if query.get("InvoiceNumbers") and resource == "invoices":
            numbers = {n.strip().lower() for n in query["InvoiceNumbers"].split(",")}
            records = [r for r in records if str(r.get("InvoiceNumber", "")).lower() in numbers]
        if query.get("where"):
            predicate = parse_where(query["where"])
            records = [r for r in records if predicate(r)]
        if query.get("order"):
            records = apply_order(records, query["order"])
        return records

    def _journals(self, request: Request, org: Organisation) -> Response:
        """GET /Journals?offset=N: journals numbered above N, up to journals_page_size."""
        offset = _int_param(request.query_params, "offset") or 0
        since = _modified_since(request.headers.get("if-modified-since"))
        chosen = []
        for journal in org.journals:
            if journal.number <= offset or (since is not None and journal.created < since):
                continue
            chosen.append(render.journal(org, journal))
            if len(chosen) >= self.config.journals_page_size:
                break
        self.stats.pages_served += 1
        self.stats.records_served += len(chosen)
        return self._json(self._envelope("Journals", chosen))

    def _trial_balance(self, request: Request, org: Organisation) -> Response:
        raw = request.query_params.get("date")
        now = datetime.fromtimestamp(self.now(), UTC)
        try:
            as_of = date.fromisoformat(raw) if raw else now.date()
        except ValueError:
            self.stats.bad_requests += 1
            return self._validation([f"'{raw}' is not a valid date (use YYYY-MM-DD)"])
        report = render.trial_balance(org, as_of, now)
        self.stats.pages_served += 1
        return self._json(self._envelope("Reports", [report]))

    async def _create_invoices(self, request: Request, org: Organisation) -> Response:
        try:
            body = loads_exact(await request.body())
        except ValueError:
            return self._validation(["The request body is not valid JSON"])
        writer = InvoiceWriter(org, self.now())
        created, elements = writer.create(body)
        if elements is not None:
            return self._validation([], elements)
        org.refresh_balances()
        records = [render.invoice(org, doc) for doc in created]
        self.webhooks.events(org, "INVOICE", "CREATE",
                             [(r["InvoiceID"], "Invoices") for r in records])  # fmt: skip
        return self._json(self._envelope("Invoices", records))

    # ---- control ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What GET /__sandbox/xero/control shows."""
        cfg = self.config
        return {
            "dataset": cfg.dataset_summary(),
            "tenants": [{"tenantId": o.tenant_id, "name": o.name, "currency": o.currency,
                         "connected": o.tenant_id not in self.disconnected}
                        for o in self.organisations],
            "faults": self.faults.describe(),
            "throttling": cfg.throttling,
            "limits": {"minute": cfg.minute_limit, "day": cfg.day_limit,
                       "concurrent": cfg.concurrent_limit, "appMinute": cfg.app_minute_limit},
            "refresh_grace_seconds": cfg.refresh_grace_seconds,
            "access_token_ttl": cfg.access_token_ttl,
            "live_refresh_tokens": sum(1 for t in self.refresh_tokens.values() if not t.dead),
            "now": datetime.fromtimestamp(self.now(), UTC).isoformat(),
            "webhooks": {**self.webhooks.describe(with_key=False),
                         **self.webhooks.sender.describe()},
        }  # fmt: skip

    def apply_control(self, spec: ControlRequest) -> None:
        """Apply a control request (also usable directly from tests)."""
        if spec.clear_faults:
            self.faults = Faults()
        if spec.faults is not None:
            f = spec.faults
            if f.http_429 is not None:
                self.faults.http_429 = Countdown(f.http_429.count, f.http_429.after)
                self.faults.problem = f.http_429.problem
                self.faults.retry_after = f.http_429.retry_after
            if f.http_5xx is not None:
                self.faults.http_5xx = Countdown(f.http_5xx.count, f.http_5xx.after)
                self.faults.status_5xx = f.http_5xx.status
            if f.slow is not None:
                self.faults.slow = Countdown(f.slow.count, f.slow.after)
                self.faults.delay_ms = f.slow.delay_ms
        if spec.expire_access_tokens:
            now = self.now()
            self.access_tokens = {t: min(at, now) for t, at in self.access_tokens.items()}
        if spec.revoke:
            self.revoke_all()
        if spec.add_refresh_token:
            now = self.now()
            self.refresh_tokens[spec.add_refresh_token] = _RefreshToken(
                now, now + self.config.refresh_token_ttl)
            self.disconnected.clear()
        if spec.disconnect_tenant:
            self.disconnected.add(spec.disconnect_tenant.lower())
        if spec.reconnect_all:
            self.disconnected.clear()
        changes: dict[str, Any] = {}
        if spec.dataset is not None:
            changes.update(spec.dataset.model_dump(exclude_unset=True))
            if changes.get("start") is not None:
                changes["start"] = parse_start(changes["start"])
        if spec.throttling is not None:
            changes["throttling"] = spec.throttling
        if spec.limits is not None:
            changes.update(spec.limits.model_dump(exclude_unset=True))
        if "now" in spec.model_fields_set:
            changes["now"] = parse_start(spec.now) if spec.now else None
        for name in ("access_token_ttl", "refresh_grace_seconds"):
            if getattr(spec, name) is not None:
                changes[name] = getattr(spec, name)
        if changes:
            self.reconfigure(**changes)
        if spec.reset_limits:
            self._windows.clear()
            self._app_minute.clear()
        if spec.reset_stats:
            self.stats = Stats()
        if spec.webhooks is not None:
            self.webhooks.sender.apply(spec.webhooks)

    async def control_endpoint(self, request: Request) -> Response:
        """GET/POST /__sandbox/xero/control: the state, or apply a ControlRequest."""
        if request.method == "POST":
            try:
                spec = ControlRequest.model_validate_json(await request.body() or b"{}")
            except ValidationError as exc:
                return JSONResponse({"error": exc.errors(include_url=False)}, status_code=422)
            try:
                self.apply_control(spec)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse(self.state())

    async def stats_endpoint(self, request: Request) -> Response:
        """GET /__sandbox/xero/stats: counters and each organisation's summary."""
        return JSONResponse({**asdict(self.stats),
                             "organisations": [o.summary() for o in self.organisations],
                             "webhooks": self.webhooks.sender.describe()})  # fmt: skip

    async def webhooks_endpoint(self, request: Request) -> Response:
        """The developer portal's webhook subscription: GET shows, POST saves (and runs
        Intent to Receive), DELETE removes."""
        if request.method == "POST":
            try:
                spec = PortalSubscription.model_validate_json(await request.body() or b"{}")
            except ValidationError as exc:
                return JSONResponse({"error": exc.errors(include_url=False)}, status_code=422)
            return JSONResponse(self.webhooks.configure(spec))
        if request.method == "DELETE":
            self.webhooks.remove()
        return JSONResponse(self.webhooks.describe())

    async def webhooks_verify_endpoint(self, request: Request) -> Response:
        """Re-run Intent to Receive for the saved subscription."""
        if not self.webhooks.verify():
            return JSONResponse({"error": "no webhook subscription"}, status_code=404)
        return JSONResponse(self.webhooks.describe())

    def routes(self) -> list[Route]:
        """Routes with absolute paths (/connect, /connections, /api.xro, /__sandbox/xero), so a
        composite sandbox can list them beside the other platforms' routes."""
        methods = ["GET", "PUT", "POST"]
        after = deliver_after_response  # writes deliver their events after answering
        return [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route(REVOKE_PATH, self.revocation, methods=["POST"]),
            Route(CONNECTIONS_PATH, self.connections, methods=["GET"]),
            Route(f"{API_PREFIX}/Reports/{{report}}", self.api, methods=["GET"]),
            Route(f"{API_PREFIX}/{{resource}}", after(self.api), methods=methods),
            Route(f"{API_PREFIX}/{{resource}}/{{id}}", after(self.api), methods=methods),
            Route(f"{CONTROL_PREFIX}/control", self.control_endpoint, methods=["GET", "POST"]),
            Route(f"{CONTROL_PREFIX}/stats", self.stats_endpoint, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/webhooks", after(self.webhooks_endpoint),
                  methods=["GET", "POST", "DELETE"]),  # fmt: skip
            Route(f"{CONTROL_PREFIX}/webhooks/verify", after(self.webhooks_verify_endpoint),
                  methods=["POST"]),  # fmt: skip
        ]


class _BadParameter(ValueError):
    """A query parameter Xero would refuse with a ValidationException."""


def _id_field(key: str) -> str:
    return {"Accounts": "AccountID", "Contacts": "ContactID", "Invoices": "InvoiceID",
            "CreditNotes": "CreditNoteID", "Payments": "PaymentID",
            "BankTransactions": "BankTransactionID", "ManualJournals": "ManualJournalID",
            "Overpayments": "OverpaymentID", "Prepayments": "PrepaymentID"}.get(key, "ID")


def _int_param(query: Any, name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise _BadParameter(f"'{raw}' is not a valid value for {name}") from None


def _modified_since(raw: str | None) -> datetime | None:
    """If-Modified-Since as Xero's SDKs send it (2024-01-01T00:00:00, UTC) or an HTTP date."""
    if not raw:
        return None
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def create_app(config: XeroSandboxConfig | None = None, *,
               clock: Callable[[], float] = time.time, **overrides: Any) -> Starlette:  # fmt: skip
    """A Starlette app serving one Xero sandbox; `app.state.sandbox` is its state."""
    if overrides:
        config = (config or XeroSandboxConfig()).with_changes(**overrides)
    sandbox = XeroSandbox(config, clock=clock)
    app = Starlette(routes=sandbox.routes())
    app.state.sandbox = sandbox
    return app

