"""The Amazon SP-API sandbox as Starlette routes: LWA, Sellers, Orders v0, Reports 2021-06-30.

Request path of an SP-API call, in this order: the `x-amz-access-token` (unknown or expired:
403 Unauthorized), armed faults (429 QuotaExceeded, 500 InternalFailure, 503
ServiceUnavailable), the seller's token bucket for the operation (429 QuotaExceeded when
empty), then the operation with Amazon's parameter rules (400 InvalidInput). Every answer
carries `x-amzn-RequestId`; successes carry `x-amzn-RateLimit-Limit` with the seller's rate.

Report documents are served from presigned, S3-style links on this same server
(`/__sandbox/amazon/s3/{documentId}?X-Amz-...`): no SP-API headers needed, a 403
"Request has expired" XML body once `document_url_ttl` has passed. Control routes
(`/__sandbox/amazon/control`, `/stats`, `/settlements`) need no token: they are the harness.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.amazon.config import DATASET_FIELDS, DEFAULT_USAGE_PLANS, AmazonSandboxConfig
from sandbox.amazon.data import (
    MAX_UPDATE_LAG,
    ORDER_STATUSES,
    SETTLEMENT_REPORT_TYPE,
    AmazonDataset,
    Header,
    iso,
)
from sandbox.amazon.marketplaces import MARKETPLACES
from sandbox.shopify.config import parse_start
from sandbox.shopify.faults import Countdown, CountdownSpec

CONTROL_PREFIX = "/__sandbox/amazon"
DOCUMENT_PATH = f"{CONTROL_PREFIX}/s3"
TOKEN_PATH = "/auth/o2/token"
ORDERS_PATH = "/orders/v0/orders"
REPORTS_PREFIX = "/reports/2021-06-30"
PARTICIPATIONS_PATH = "/sellers/v1/marketplaceParticipations"
JSON_TYPE = "application/json"
MAX_RESULTS = 100
REPORTS_PAGE_DEFAULT = 10
RETENTION = 90 * 86400
ORDER_WINDOW_LAG = 120  # *Before and *After must be at least two minutes before now
_FORM = "application/x-www-form-urlencoded"
_TOKEN_KEY = b"bigledger-amazon-sandbox-next-token"
_SIGNING_KEY = b"bigledger-amazon-sandbox-presign"

# Error texts as SP-API and LWA send them (reference section 3; some wording assumed).
UNAUTHORIZED = "Access to requested resource is denied."
EXPIRED_DETAILS = "The access token you provided has expired."
QUOTA = "You exceeded your quota for the requested resource."


def sp_error(code: str, message: str, details: str = "") -> dict[str, Any]:
    """SP-API's error body: {"errors": [{"code", "message", "details"}]}."""
    return {"errors": [{"code": code, "message": message, "details": details}]}


class _Invalid(Exception):
    """A request Amazon refuses with 400 InvalidInput (or another status and code)."""

    def __init__(self, message: str, status: int = 400, code: str = "InvalidInput") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


@dataclass
class Stats:
    """Counters since start or the last reset (GET /__sandbox/amazon/stats)."""

    requests: dict[str, int] = field(default_factory=lambda: {op: 0 for op in DEFAULT_USAGE_PLANS})
    throttled: int = 0  # 429s from an empty bucket
    unauthorized: int = 0
    expired_tokens_refused: int = 0
    bad_requests: int = 0
    tokens_issued: int = 0
    token_errors: int = 0
    documents_served: int = 0
    documents_expired: int = 0
    documents_with_sp_api_headers: int = 0
    faults_served: dict[str, int] = field(
        default_factory=lambda: {"http_429": 0, "http_5xx": 0, "stale_document_links": 0}
    )


@dataclass
class FaultPlan:
    """Armed faults; each a count-down over SP-API calls (or document links issued)."""

    http_429: Countdown = field(default_factory=Countdown)
    http_5xx: Countdown = field(default_factory=Countdown)
    status_5xx: int = 503
    # The next N getReportDocument answers carry a link that has already expired.
    stale_document_links: Countdown = field(default_factory=Countdown)

    def describe(self) -> dict[str, Any]:
        """JSON view of what is armed (remaining counts)."""
        return {"http_429": asdict(self.http_429),
                "http_5xx": {**asdict(self.http_5xx), "status": self.status_5xx},
                "stale_document_links": asdict(self.stale_document_links)}  # fmt: skip


class Http5xxSpec(CountdownSpec):
    """`{"count", "after", "status"}`: the next calls fail with this 5xx."""

    status: int = Field(503, description="500 InternalFailure or 503 ServiceUnavailable")


class FaultsSpec(BaseModel):
    """`faults` of POST /__sandbox/amazon/control; absent keys leave a fault as is."""

    model_config = ConfigDict(extra="forbid")
    http_429: CountdownSpec | None = None
    http_5xx: Http5xxSpec | None = None
    stale_document_links: CountdownSpec | None = None

    def apply(self, plan: FaultPlan) -> None:
        """Arm the given faults on `plan`."""
        if self.http_429 is not None:
            plan.http_429 = Countdown(self.http_429.count, self.http_429.after)
        if self.http_5xx is not None:
            if self.http_5xx.status not in (500, 503):
                raise ValueError("http_5xx.status must be 500 or 503")
            plan.http_5xx = Countdown(self.http_5xx.count, self.http_5xx.after)
            plan.status_5xx = self.http_5xx.status
        if self.stale_document_links is not None:
            spec = self.stale_document_links
            plan.stale_document_links = Countdown(spec.count, spec.after)


class DatasetSpec(BaseModel):
    """`dataset` of POST /__sandbox/amazon/control; absent fields keep their value."""

    model_config = ConfigDict(extra="forbid")
    seed: int | None = None
    size: int | None = Field(None, ge=0)
    start: str | None = None
    marketplace_id: str | None = None
    interval_seconds: int | None = Field(None, ge=4)
    settlement_days: int | None = Field(None, ge=1)
    mismatch_settlements: list[int] | None = None
    cancelled_settlements: list[int] | None = None
    buyer_pool: int | None = Field(None, ge=1)


class ControlRequest(BaseModel):
    """Body of POST /__sandbox/amazon/control; every key optional, applied in order.

    `expire_tokens` makes every access token issued so far expired now; an empty
    `refresh_tokens` list makes LWA answer invalid_grant (a revoked authorisation).
    """

    model_config = ConfigDict(extra="forbid")
    clear_faults: bool = False
    faults: FaultsSpec | None = None
    expire_tokens: bool = False
    dataset: DatasetSpec | None = None
    throttling: bool | None = None
    rate_multiplier: Decimal | None = Field(None, gt=0)
    usage_plans: list[tuple[str, Decimal, int]] | None = None
    access_token_ttl: int | None = Field(None, ge=1)
    document_url_ttl: int | None = Field(None, ge=1)
    compress_documents: bool | None = None
    document_encoding: str | None = None
    order_items_page_size: int | None = Field(None, ge=1, le=100)
    enforce_retention: bool | None = None
    refresh_tokens: list[tuple[str, str]] | None = None
    reset_buckets: bool = False
    reset_stats: bool = False


@dataclass(slots=True)
class _Token:
    seller_id: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class _OrderQuery:
    kind: str  # created | updated
    after: int
    before: int
    statuses: tuple[str, ...] | None
    channels: tuple[str, ...] | None
    size: int

    def matches(self, h: Header) -> bool:
        """True when order header `h` passes the statuses, channels and update window."""
        if self.statuses is not None and h.status not in self.statuses:
            return False
        if self.channels is not None and h.channel not in self.channels:
            return False
        return self.kind == "created" or self.after <= h.updated <= self.before


class AmazonSandbox:
    """State of one emulated SP-API seller account (data, tokens, buckets, faults, stats)
    and its request handlers; `routes()` lists them with absolute paths."""

    def __init__(
        self, config: AmazonSandboxConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config or AmazonSandboxConfig()
        self.clock = clock
        self.data = AmazonDataset(self.config)
        self.faults = FaultPlan()
        self.stats = Stats()
        self._tokens: dict[str, _Token] = {}
        self._issued = 0
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    # ---- configuration --------------------------------------------------------------

    def reconfigure(self, **changes: Any) -> None:
        """Apply config changes; the dataset is regenerated when a dataset field changes."""
        self.config = self.config.with_changes(**changes)
        if set(changes) & set(DATASET_FIELDS):
            self.data = AmazonDataset(self.config)

    def state(self) -> dict[str, Any]:
        """What GET /__sandbox/amazon/control shows (no secrets)."""
        cfg = self.config
        return {
            "dataset": cfg.dataset_summary(),
            "faults": self.faults.describe(),
            "throttling": cfg.throttling,
            "rate_multiplier": str(cfg.rate_multiplier),
            "usage_plans": {op: {"rate": _rate_text(cfg.plan(op)[0]), "burst": cfg.plan(op)[1]}
                            for op in DEFAULT_USAGE_PLANS},  # fmt: skip
            "access_token_ttl": cfg.access_token_ttl,
            "document_url_ttl": cfg.document_url_ttl,
            "settlements": self.data.settlement_count(),
            "sellers": len(cfg.refresh_tokens),
        }

    def apply_control(self, spec: ControlRequest) -> None:
        """Apply a control request (also usable directly from tests)."""
        if spec.clear_faults:
            self.faults = FaultPlan()
        if spec.faults is not None:
            spec.faults.apply(self.faults)
        if spec.expire_tokens:
            self.expire_tokens()
        changes: dict[str, Any] = {}
        if spec.dataset is not None:
            changes.update(spec.dataset.model_dump(exclude_unset=True))
            if changes.get("start") is not None:
                changes["start"] = parse_start(changes["start"])
            for key in ("mismatch_settlements", "cancelled_settlements"):
                if changes.get(key) is not None:
                    changes[key] = tuple(changes[key])
        for key in ("throttling", "rate_multiplier", "access_token_ttl", "document_url_ttl",
                    "compress_documents", "document_encoding", "order_items_page_size",
                    "enforce_retention"):  # fmt: skip
            value = getattr(spec, key)
            if value is not None:
                changes[key] = value
        if spec.usage_plans is not None:
            changes["usage_plans"] = tuple(spec.usage_plans)
        if spec.refresh_tokens is not None:
            changes["refresh_tokens"] = tuple(spec.refresh_tokens)
        if changes:
            self.reconfigure(**changes)
        if spec.reset_buckets:
            self._buckets.clear()
        if spec.reset_stats:
            self.stats = Stats()

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired from now on."""
        past = self.clock() - 1
        for token in self._tokens.values():
            token.expires_at = min(token.expires_at, past)

    # ---- responses ------------------------------------------------------------------

    @staticmethod
    def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        merged = {"x-amzn-RequestId": str(uuid.uuid4()), **(headers or {})}
        return Response(orjson.dumps(body), status, headers=merged, media_type=JSON_TYPE)

    # ---- Login with Amazon ----------------------------------------------------------

    async def token(self, request: Request) -> Response:
        """POST /auth/o2/token: the refresh_token grant, checked against the config."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await request.body()
        form = ({k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
                if ctype == _FORM else {})  # fmt: skip
        cfg = self.config

        def refuse(error: str, description: str, status: int = 400) -> Response:
            self.stats.token_errors += 1
            return self._json({"error_description": description, "error": error}, status)

        if ctype != _FORM:
            return refuse("invalid_request", "The Content-Type must be "
                          "application/x-www-form-urlencoded")  # fmt: skip
        grant = form.get("grant_type")
        if not grant:
            return refuse("invalid_request", "The request is missing a required parameter : "
                          "grant_type")  # fmt: skip
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = _basic(request.headers.get("authorization", ""))
        if basic is not None and client_id is None:
            client_id, secret = basic
        if client_id != cfg.client_id or not hmac.compare_digest(
            (secret or "").encode(), cfg.client_secret.encode()
        ):
            return refuse("invalid_client", "Client authentication failed", 401)
        if grant != "refresh_token":
            return refuse("unsupported_grant_type", f"The authorization grant type {grant} is "
                          "not supported by the authorization server")  # fmt: skip
        refresh = form.get("refresh_token")
        if not refresh:
            return refuse("invalid_request", "The request is missing a required parameter : "
                          "refresh_token")  # fmt: skip
        seller = next((s for t, s in cfg.refresh_tokens
                       if hmac.compare_digest(t.encode(), refresh.encode())), None)  # fmt: skip
        if seller is None:
            return refuse("invalid_grant", "The request has an invalid grant parameter : "
                          "refresh_token")  # fmt: skip
        self._issued += 1
        digest = hashlib.sha256(f"{cfg.seed}:{seller}:{self._issued}".encode()).digest()
        access = "Atza|IwEB" + base64.urlsafe_b64encode(digest * 3).decode().rstrip("=")
        self._tokens[access] = _Token(seller, self.clock() + cfg.access_token_ttl)
        if len(self._tokens) > 10_000:  # drop the oldest: a long benchmark must not grow this
            self._tokens.pop(next(iter(self._tokens)))
        self.stats.tokens_issued += 1
        return self._json({"access_token": access, "refresh_token": refresh,
                           "token_type": "bearer", "expires_in": cfg.access_token_ttl})

    # ---- the SP-API pipeline --------------------------------------------------------

    async def _call(
        self,
        request: Request,
        operation: str,
        handler: Callable[[Request, str], Awaitable[Any] | Any],
    ) -> Response:
        self.stats.requests[operation] += 1
        token = self._tokens.get(request.headers.get("x-amz-access-token", ""))
        now = self.clock()
        if token is None or now >= token.expires_at:
            self.stats.unauthorized += 1
            expired = token is not None
            self.stats.expired_tokens_refused += expired
            return self._json(sp_error("Unauthorized", UNAUTHORIZED,
                                       EXPIRED_DETAILS if expired else ""), 403)  # fmt: skip
        faults = self.faults
        if faults.http_429.fire():
            self.stats.faults_served["http_429"] += 1
            return self._json(sp_error("QuotaExceeded", QUOTA), 429)
        if faults.http_5xx.fire():
            self.stats.faults_served["http_5xx"] += 1
            if faults.status_5xx == 500:
                body = sp_error("InternalFailure", "We encountered an internal error. "
                                "Please try again.")  # fmt: skip
            else:
                body = sp_error("ServiceUnavailable", "Service is temporarily unavailable. "
                                "Please try again later.")  # fmt: skip
            return self._json(body, faults.status_5xx)
        rate, burst = self.config.plan(operation)
        if self.config.throttling and not self._take(token.seller_id, operation, rate, burst, now):
            self.stats.throttled += 1
            return self._json(sp_error("QuotaExceeded", QUOTA), 429)
        try:
            result = handler(request, token.seller_id)
            if isinstance(result, Awaitable):
                result = await result
        except _Invalid as exc:
            self.stats.bad_requests += 1
            return self._json(sp_error(exc.code, exc.message), exc.status)
        return self._json(result, headers={"x-amzn-RateLimit-Limit": _rate_text(rate)})

    def _take(self, seller: str, operation: str, rate: Decimal, burst: int, now: float) -> bool:
        """Take one token from the (seller, operation) bucket; False when it is empty."""
        key = (seller, operation)
        tokens, last = self._buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + float(rate) * max(0.0, now - last))
        # A client that waited exactly 1/rate must get its token despite float rounding.
        if tokens < 1.0 - 1e-6:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def _endpoint(self, operation: str, handler: Callable[[Request, str], Any]):
        async def endpoint(request: Request) -> Response:
            return await self._call(request, operation, handler)

        return endpoint

    # ---- sellers --------------------------------------------------------------------

    def _participations(self, _request: Request, _seller: str) -> dict[str, Any]:
        market = self.data.market
        return {"payload": [{
            "marketplace": {"id": market.id, "countryCode": market.country, "name": market.name,
                            "defaultCurrencyCode": market.currency,
                            "defaultLanguageCode": market.language,
                            "domainName": market.domain},
            "participation": {"isParticipating": True, "hasSuspendedListings": False},
        }]}  # fmt: skip

    # ---- orders ---------------------------------------------------------------------

    def _marketplaces(self, request: Request) -> None:
        ids = _list_param(request, "MarketplaceIds")
        if not ids:
            raise _Invalid("Missing required 'MarketplaceIds' parameter.")
        unknown = [m for m in ids if m not in MARKETPLACES]
        if unknown:
            raise _Invalid(f"Invalid MarketplaceIds: {', '.join(unknown)}.")
        if len(ids) > 50:
            raise _Invalid("MarketplaceIds may list at most 50 marketplaces.")

    def _list_orders(self, request: Request, _seller: str) -> dict[str, Any]:
        self._marketplaces(request)
        params = request.query_params
        token = params.get("NextToken")
        if token:
            state = _decode(token)
            if state is None or state.get("t") != "orders":
                raise _Invalid("Invalid NextToken.")
            query = _OrderQuery(state["k"], state["a"], state["b"],
                                tuple(state["s"]) if state["s"] is not None else None,
                                tuple(state["c"]) if state["c"] is not None else None,
                                state["n"])  # fmt: skip
            return self._orders_page(query, state["p"])
        return self._orders_page(self._order_query(request), 0)

    def _order_query(self, request: Request) -> _OrderQuery:
        params = request.query_params
        now = int(self.clock())
        latest = now - ORDER_WINDOW_LAG
        created_after = _time_param(params, "CreatedAfter")
        created_before = _time_param(params, "CreatedBefore")
        updated_after = _time_param(params, "LastUpdatedAfter")
        updated_before = _time_param(params, "LastUpdatedBefore")
        if created_after is None and updated_after is None:
            raise _Invalid("Either 'CreatedAfter' or 'LastUpdatedAfter' must be specified.")
        if created_after is not None and updated_after is not None:
            raise _Invalid("Only one of 'CreatedAfter' or 'LastUpdatedAfter' may be specified.")
        kind = "created" if created_after is not None else "updated"
        if kind == "created" and updated_before is not None:
            raise _Invalid("'LastUpdatedBefore' cannot be specified with 'CreatedAfter'.")
        if kind == "updated" and created_before is not None:
            raise _Invalid("'CreatedBefore' cannot be specified with 'LastUpdatedAfter'.")
        name = "CreatedAfter" if kind == "created" else "LastUpdatedAfter"
        before_name = "CreatedBefore" if kind == "created" else "LastUpdatedBefore"
        after = created_after if kind == "created" else updated_after
        before = created_before if kind == "created" else updated_before
        assert after is not None
        if after > latest:
            raise _Invalid(f"'{name}' must be no later than two minutes before the time of "
                           "the request.")  # fmt: skip
        if before is None:
            before = latest
        elif before > latest:
            raise _Invalid(f"'{before_name}' must be no later than two minutes before the "
                           "time of the request.")  # fmt: skip
        elif before < after:
            raise _Invalid(f"'{before_name}' must be later than or equal to '{name}'.")
        statuses = _list_param(request, "OrderStatuses") or None
        if statuses is not None:
            bad = [s for s in statuses if s not in ORDER_STATUSES]
            if bad:
                raise _Invalid(f"Invalid OrderStatuses: {', '.join(bad)}.")
        channels = _list_param(request, "FulfillmentChannels") or None
        if channels is not None and any(c not in ("AFN", "MFN") for c in channels):
            raise _Invalid("FulfillmentChannels must be AFN or MFN.")
        size = _int_param(request, "MaxResultsPerPage", MAX_RESULTS, 1, MAX_RESULTS)
        return _OrderQuery(kind, after, before,
                           tuple(sorted(set(statuses))) if statuses else None,
                           tuple(sorted(set(channels))) if channels else None, size)  # fmt: skip

    def _orders_page(self, q: _OrderQuery, start: int) -> dict[str, Any]:
        data = self.data
        low = q.after if q.kind == "created" else q.after - MAX_UPDATE_LAG
        lo = data.first_created_at_or_after(low)
        hi = data.first_created_at_or_after(q.before + 1)
        found: list[int] = []
        i = max(lo, start)
        while i < hi and len(found) < q.size:
            if q.matches(data.header(i)):
                found.append(i)
            i += 1
        following = None
        while i < hi:  # look ahead, so the last page carries no NextToken
            if q.matches(data.header(i)):
                following = i
                break
            i += 1
        payload: dict[str, Any] = {"Orders": [data.order_json(data.order(j)) for j in found]}
        if following is not None:
            payload["NextToken"] = _encode({
                "t": "orders", "k": q.kind, "a": q.after, "b": q.before,
                "s": list(q.statuses) if q.statuses else None,
                "c": list(q.channels) if q.channels else None, "n": q.size, "p": following,
            })  # fmt: skip
        payload["CreatedBefore" if q.kind == "created" else "LastUpdatedBefore"] = iso(q.before)
        return {"payload": payload}

    def _get_order(self, request: Request, _seller: str) -> dict[str, Any]:
        index = self.data.index_of(request.path_params["order_id"])
        if index is None:
            raise _Invalid("Invalid AmazonOrderId.", 404, "NotFound")
        return {"payload": self.data.order_json(self.data.order(index))}

    def _order_items(self, request: Request, _seller: str) -> dict[str, Any]:
        order_id = request.path_params["order_id"]
        index = self.data.index_of(order_id)
        if index is None:
            raise _Invalid("Invalid AmazonOrderId.", 404, "NotFound")
        start = 0
        token = request.query_params.get("NextToken")
        if token:
            state = _decode(token)
            if state is None or state.get("t") != "items" or state.get("o") != order_id:
                raise _Invalid("Invalid NextToken.")
            start = state["p"]
        items = self.data.items_json(self.data.order(index))
        size = self.config.order_items_page_size
        payload: dict[str, Any] = {"AmazonOrderId": order_id,
                                   "OrderItems": items[start:start + size]}  # fmt: skip
        if start + size < len(items):
            payload["NextToken"] = _encode({"t": "items", "o": order_id, "p": start + size})
        return {"payload": payload}

    # ---- reports --------------------------------------------------------------------

    def _report(self, k: int) -> dict[str, Any]:
        data = self.data
        start, end = data.period(k)
        created = data.report_created(k)
        cancelled = k in self.config.cancelled_settlements
        report: dict[str, Any] = {
            "reportType": SETTLEMENT_REPORT_TYPE,
            "processingEndTime": _report_time(created + 300),
            "processingStatus": "CANCELLED" if cancelled else "DONE",
            "marketplaceIds": [data.market.id],
            "reportId": data.report_id(k),
            "dataEndTime": _report_time(end),
            "createdTime": _report_time(created),
            "processingStartTime": _report_time(created),
            "dataStartTime": _report_time(start),
        }
        if not cancelled:
            report["reportDocumentId"] = data.document_id(k)
        return report

    def _visible(self, k: int, now: float) -> bool:
        return self.data.report_created(k) <= now

    def _list_reports(self, request: Request, _seller: str) -> dict[str, Any]:
        params = request.query_params
        now = self.clock()
        token = params.get("nextToken")
        if token:
            if len(params) > 1:
                raise _Invalid("When nextToken is specified, it must be the only parameter.")
            state = _decode(token)
            if state is None or state.get("t") != "reports":
                raise _Invalid("Invalid nextToken.")
            matches, size, offset = state["m"], state["n"], state["p"]
        else:
            types = _list_param(request, "reportTypes")
            if not types:
                raise _Invalid("Either reportTypes or nextToken is required.")
            if len(types) > 10:
                raise _Invalid("reportTypes may list at most 10 report types.")
            statuses = _list_param(request, "processingStatuses") or None
            markets = _list_param(request, "marketplaceIds") or None
            size = _int_param(request, "pageSize", REPORTS_PAGE_DEFAULT, 1, 100, "pageSize")
            since = _time_param(params, "createdSince", "createdSince")
            until = _time_param(params, "createdUntil", "createdUntil")
            since = int(now) - RETENTION if since is None else since
            until = int(now) if until is None else until
            if self.config.enforce_retention and since < now - RETENTION:
                raise _Invalid("createdSince cannot be more than 90 days in the past.")
            if until < since:
                raise _Invalid("createdUntil must be later than createdSince.")
            matches = []
            if SETTLEMENT_REPORT_TYPE in types and (
                markets is None or self.data.market.id in markets
            ):
                for k in range(self.data.settlement_count() - 1, -1, -1):  # newest first
                    created = self.data.report_created(k)
                    status = "CANCELLED" if k in self.config.cancelled_settlements else "DONE"
                    if (self._visible(k, now) and since <= created <= until
                            and (statuses is None or status in statuses)):  # fmt: skip
                        matches.append(k)
            offset = 0
        page = matches[offset:offset + size]
        body: dict[str, Any] = {"reports": [self._report(k) for k in page]}
        if offset + size < len(matches):
            body["nextToken"] = _encode({"t": "reports", "m": matches, "n": size,
                                         "p": offset + size})  # fmt: skip
        return body

    def _get_report(self, request: Request, _seller: str) -> dict[str, Any]:
        k = self.data.report_number(request.path_params["report_id"])
        if k is None or not self._visible(k, self.clock()):
            raise _Invalid("The requested report was not found.", 404, "NotFound")
        return self._report(k)

    def _get_document(self, request: Request, _seller: str) -> dict[str, Any]:
        document_id = request.path_params["document_id"]
        k = self.data.document_number(document_id)
        if (k is None or k in self.config.cancelled_settlements
                or not self._visible(k, self.clock())):  # fmt: skip
            raise _Invalid("The requested report document was not found.", 404, "NotFound")
        issued = int(self.clock())
        if self.faults.stale_document_links.fire():
            self.stats.faults_served["stale_document_links"] += 1
            issued -= self.config.document_url_ttl + 1
        base = self.config.document_base_url or str(request.base_url)
        body: dict[str, Any] = {"reportDocumentId": document_id,
                                "url": self._presign(base.rstrip("/"), document_id, issued)}
        if self.config.compress_documents:
            body["compressionAlgorithm"] = "GZIP"
        return body

    def _presign(self, base: str, document_id: str, issued: int) -> str:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(issued))
        ttl = self.config.document_url_ttl
        signature = _sign(document_id, stamp, ttl)
        return (f"{base}{DOCUMENT_PATH}/{quote(document_id, safe='')}"
                f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={stamp}&X-Amz-Expires={ttl}"
                f"&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}")  # fmt: skip

    async def download(self, request: Request) -> Response:
        """GET a presigned document link (S3-style: no SP-API headers, XML errors)."""
        document_id = request.path_params["document_id"]
        params = request.query_params
        if "x-amz-access-token" in request.headers:
            self.stats.documents_with_sp_api_headers += 1
        stamp, ttl_text = params.get("X-Amz-Date", ""), params.get("X-Amz-Expires", "")
        signature = params.get("X-Amz-Signature", "")
        request_id = uuid.uuid4().hex[:16].upper()
        try:
            issued = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
            ttl = int(ttl_text)
        except ValueError:
            return _s3_error("AuthorizationQueryParametersError", "X-Amz-Date and X-Amz-Expires "
                             "are required", 400, request_id)  # fmt: skip
        k = self.data.document_number(document_id)
        if k is None or not hmac.compare_digest(signature, _sign(document_id, stamp, ttl)):
            return _s3_error("SignatureDoesNotMatch", "The request signature we calculated does "
                             "not match the signature you provided.", 403,
                             request_id)  # fmt: skip
        now = self.clock()
        if now > issued + ttl:
            self.stats.documents_expired += 1
            extra = (f"<X-Amz-Expires>{ttl}</X-Amz-Expires>"
                     f"<Expires>{_s3_time(issued + ttl)}</Expires>"
                     f"<ServerTime>{_s3_time(now)}</ServerTime>")  # fmt: skip
            return _s3_error("AccessDenied", "Request has expired", 403, request_id, extra)
        self.stats.documents_served += 1
        body = self.data.settlement_document(k, compress=self.config.compress_documents)
        media = ("application/octet-stream" if self.config.compress_documents
                 else f"text/plain; charset={self.config.document_encoding}")  # fmt: skip
        return Response(body, 200, media_type=media,
                        headers={"x-amz-request-id": request_id})  # fmt: skip

    # ---- control --------------------------------------------------------------------

    async def control_endpoint(self, request: Request) -> Response:
        """GET: current state; POST: apply a ControlRequest."""
        if request.method == "POST":
            try:
                spec = ControlRequest.model_validate_json(await request.body() or b"{}")
                self.apply_control(spec)
            except (ValidationError, ValueError) as exc:
                return self._json({"error": str(exc)}, 400)
        return self._json(self.state())

    async def stats_endpoint(self, _request: Request) -> Response:
        """GET: the counters."""
        return self._json(asdict(self.stats))

    async def settlements_endpoint(self, _request: Request) -> Response:
        """GET: every settlement of the dataset (for demos and tests; ignores visibility)."""
        data = self.data
        out = []
        for k in range(data.settlement_count()):
            s = data.settlement(k)
            out.append({"number": k, "settlementId": s.settlement_id,
                        "reportId": data.report_id(k), "reportDocumentId": data.document_id(k),
                        "start": iso(s.start), "end": iso(s.end), "deposit": iso(s.deposit),
                        "createdTime": iso(data.report_created(k)),
                        "totalAmount": data.api_amount(s.total),
                        "rowsTotal": data.api_amount(s.rows_total), "rows": len(s.rows),
                        "orders": len(s.order_ids), "refunds": len(s.refunded_order_ids),
                        "currency": data.currency})  # fmt: skip
        return self._json(out)

    def routes(self) -> list[Route]:
        """Routes with absolute paths, so a composite sandbox can list them beside others."""
        ep = self._endpoint
        return [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route(PARTICIPATIONS_PATH, ep("getMarketplaceParticipations", self._participations),
                  methods=["GET"]),  # fmt: skip
            Route(ORDERS_PATH, ep("getOrders", self._list_orders), methods=["GET"]),
            Route(f"{ORDERS_PATH}/{{order_id}}", ep("getOrder", self._get_order),
                  methods=["GET"]),  # fmt: skip
            Route(f"{ORDERS_PATH}/{{order_id}}/orderItems", ep("getOrderItems", self._order_items),
                  methods=["GET"]),  # fmt: skip
            Route(f"{REPORTS_PREFIX}/reports", ep("getReports", self._list_reports),
                  methods=["GET"]),  # fmt: skip
            Route(f"{REPORTS_PREFIX}/reports/{{report_id}}", ep("getReport", self._get_report),
                  methods=["GET"]),  # fmt: skip
            Route(f"{REPORTS_PREFIX}/documents/{{document_id}}",
                  ep("getReportDocument", self._get_document), methods=["GET"]),  # fmt: skip
            Route(f"{DOCUMENT_PATH}/{{document_id}}", self.download, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/control", self.control_endpoint, methods=["GET", "POST"]),
            Route(f"{CONTROL_PREFIX}/stats", self.stats_endpoint, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/settlements", self.settlements_endpoint, methods=["GET"]),
        ]


# ---- helpers ---------------------------------------------------------------------------


def _rate_text(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


def _basic(header: str) -> tuple[str, str] | None:
    if header[:6].lower() != "basic ":
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _list_param(request: Request, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values


def _int_param(request: Request, name: str, default: int, low: int, high: int,
               label: str | None = None) -> int:  # fmt: skip
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Invalid(f"Invalid {label or name}: {raw!r} is not an integer.") from None
    if not low <= value <= high:
        raise _Invalid(f"{label or name} must be between {low} and {high}.")
    return value


def _time_param(params: Any, name: str, label: str | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Invalid(f"Invalid {label or name}: {raw!r} is not an ISO 8601 date-time.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def _report_time(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _s3_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _s3_error(code: str, message: str, status: int, request_id: str, extra: str = "") -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message>{extra}<RequestId>{request_id}</RequestId>"
            f"<HostId>sandbox</HostId></Error>")  # fmt: skip
    return Response(body.encode(), status, media_type="application/xml",
                    headers={"x-amz-request-id": request_id})  # fmt: skip


def _sign(document_id: str, stamp: str, ttl: int) -> str:
    message = f"{document_id}|{stamp}|{ttl}".encode()
    return hmac.new(_SIGNING_KEY, message, hashlib.sha256).hexdigest()


def _encode(state: dict[str, Any]) -> str:
    """An opaque, tamper-evident paging token."""
    payload = orjson.dumps(state)
    tag = hmac.new(_TOKEN_KEY, payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(tag + payload).decode()


def _decode(token: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(token.encode())
    except (binascii.Error, ValueError):
        return None
    tag, payload = raw[:12], raw[12:]
    if not hmac.compare_digest(tag, hmac.new(_TOKEN_KEY, payload, hashlib.sha256).digest()[:12]):
        return None
    try:
        state = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return state if isinstance(state, dict) else None


def create_app(config: AmazonSandboxConfig | None = None, *,
               clock: Callable[[], float] = time.time, **overrides: Any) -> Starlette:  # fmt: skip
    """A Starlette app serving one Amazon sandbox; `app.state.sandbox` is its state."""
    if overrides:
        config = (config or AmazonSandboxConfig()).with_changes(**overrides)
    sandbox = AmazonSandbox(config, clock=clock)
    app = Starlette(routes=sandbox.routes())
    app.state.sandbox = sandbox
    return app
