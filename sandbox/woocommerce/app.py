"""The WooCommerce REST API v3 sandbox as Starlette routes.

Request path, in this order: faults that act before WordPress (slow, 5xx, 429), then the
route: authentication (HTTP Basic `ck_…:cs_…`, or the `consumer_key`/`consumer_secret`
query parameters), parameter validation with WordPress's `rest_invalid_param` answers, the
query, and the response (which a malformed-body fault may mangle).

Date filters are exclusive (`after` means strictly later), as WordPress's date query is by
default. Control routes (`/__sandbox/woocommerce/...`) need no key: they are the test
harness's handle.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.shopify.config import parse_start
from sandbox.shopify.faults import FaultPlan, FaultsSpec, corrupt, server_error_body
from sandbox.woocommerce.config import WooCommerceSandboxConfig
from sandbox.woocommerce.data import STATUSES, OrderDataset

PREFIX = "/wp-json/wc/v3"
CONTROL_PREFIX = "/__sandbox/woocommerce"
JSON_TYPE = "application/json; charset=UTF-8"
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
# Accepted by the status filter though the generator never produces them.
KNOWN_STATUSES = frozenset({*STATUSES, "trash", "checkout-draft"})
ORDERBY = ("date", "id", "modified")
CRITICAL_ERROR = (
    "<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/"
    "documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress."
    "</a></p>"
)


def wp_error(code: str, message: str, status: int, **data: Any) -> dict[str, Any]:
    """WordPress's REST error shape."""
    return {"code": code, "message": message, "data": {"status": status, **data}}


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


class _BadParam(Exception):
    def __init__(self, param: str, problem: str) -> None:
        super().__init__(problem)
        self.param = param
        self.problem = problem


@dataclass
class Stats:
    """Counters since start or the last reset (GET /__sandbox/woocommerce/stats)."""

    requests: int = 0
    pages_served: int = 0
    orders_served: int = 0
    unauthorized: int = 0
    bad_requests: int = 0
    faults_served: dict[str, int] = field(
        default_factory=lambda: {k: 0 for k in ("http_5xx", "http_429", "slow", "malformed",
                                                "token_revoked")}  # fmt: skip
    )


class DatasetSpec(BaseModel):
    """`dataset` in POST /__sandbox/woocommerce/control; absent fields keep their value."""

    model_config = ConfigDict(extra="forbid")
    seed: int | None = None
    size: int | None = Field(None, ge=0)
    currency: str | None = None
    start: str | None = None
    interval_seconds: int | None = Field(None, ge=3)
    customer_pool: int | None = Field(None, ge=1)
    utc_offset_minutes: int | None = None
    prices_include_tax: bool | None = None


class ControlRequest(BaseModel):
    """Body of POST /__sandbox/woocommerce/control; every key optional, applied in order.

    `faults.token_revoked: true` answers every key with WooCommerce's invalid-key 401;
    `credentials` replaces the accepted [consumer_key, consumer_secret] pairs.
    """

    model_config = ConfigDict(extra="forbid")
    clear_faults: bool = False
    faults: FaultsSpec | None = None
    dataset: DatasetSpec | None = None
    credentials: list[tuple[str, str]] | None = None
    reset_stats: bool = False


@dataclass(frozen=True, slots=True)
class _Query:
    lo: int
    hi: int
    statuses: frozenset[str] | None
    descending: bool


class WooCommerceSandbox:
    """State of one emulated store (data, faults, stats) and its request handlers."""

    def __init__(self, config: WooCommerceSandboxConfig | None = None) -> None:
        self.config = config or WooCommerceSandboxConfig()
        self.data = OrderDataset(self.config)
        self.faults = FaultPlan()
        self.stats = Stats()
        # Per status-filtered query: its match count and the (rank, index) just past the
        # last page served, so paging through in order scans each order once.
        self._counts: OrderedDict[_Query, int] = OrderedDict()
        self._resume: OrderedDict[_Query, tuple[int, int]] = OrderedDict()

    # ---- configuration --------------------------------------------------------------

    def reconfigure(self, **changes: Any) -> None:
        """Apply config changes; the dataset is regenerated (and caches dropped)."""
        self.config = self.config.with_changes(**changes)
        self.data = OrderDataset(self.config)
        self._counts.clear()
        self._resume.clear()

    def state(self) -> dict[str, Any]:
        """What GET /__sandbox/woocommerce/control shows."""
        return {
            "dataset": self.config.dataset_summary(),
            "faults": self.faults.describe(),
            "credentials": len(self.config.credentials),
        }

    def apply_control(self, spec: ControlRequest) -> None:
        """Apply a control request (also usable directly from tests)."""
        if spec.clear_faults:
            self.faults = FaultPlan()
        if spec.faults is not None:
            spec.faults.apply(self.faults)
        changes: dict[str, Any] = {}
        if spec.dataset is not None:
            changes.update(spec.dataset.model_dump(exclude_unset=True))
            if changes.get("start") is not None:
                changes["start"] = parse_start(changes["start"])
        if spec.credentials is not None:
            changes["credentials"] = tuple(spec.credentials)
        if changes:
            self.reconfigure(**changes)
        if spec.reset_stats:
            self.stats = Stats()

    # ---- authentication -------------------------------------------------------------

    def _credentials(self, request: Request) -> tuple[str, str] | None:
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                key, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return key, secret
        key = request.query_params.get("consumer_key")
        secret = request.query_params.get("consumer_secret")
        if key is not None and secret is not None:
            return key, secret
        return None

    def _auth_error(self, request: Request, cannot: str) -> Response | None:
        """None when the key pair may read; else WooCommerce's 401."""
        pair = self._credentials(request)
        if pair is not None and not self.faults.token_revoked and pair in self.config.credentials:
            return None
        self.stats.unauthorized += 1
        if pair is None:
            body = wp_error("woocommerce_rest_cannot_view", cannot, 401)
        else:
            if self.faults.token_revoked:
                self.stats.faults_served["token_revoked"] += 1
            known = not self.faults.token_revoked and any(
                k == pair[0] for k, _ in self.config.credentials
            )
            message = "Consumer secret is invalid." if known else "Consumer key is invalid."
            body = wp_error("woocommerce_rest_authentication_error", message, 401)
        return self._json(body, 401)

    # ---- faults -----------------------------------------------------------------------

    async def _fault(self) -> Response | None:
        faults = self.faults
        self.stats.requests += 1
        if faults.slow.fire():
            self.stats.faults_served["slow"] += 1
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.http_5xx.fire():
            self.stats.faults_served["http_5xx"] += 1
            status = faults.status_5xx
            if faults.body_5xx == "json":
                body = wp_error("internal_server_error", CRITICAL_ERROR, status,
                                additional_errors=[])  # fmt: skip
                return self._json(body, status)
            content, media = server_error_body(status, "html")
            return Response(content, status, media_type=media)
        if faults.http_429.fire() or faults.throttle_storm.fire():
            # WooCommerce has no REST rate limit of its own: this is the host's or WAF's.
            self.stats.faults_served["http_429"] += 1
            body = wp_error("rate_limit_exceeded", "Too many requests. Please wait and try "
                            "again.", 429)  # fmt: skip
            return self._json(body, 429, {"Retry-After": faults.retry_after_header()})
        return None

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None,
              *, mangle: bool = False) -> Response:  # fmt: skip
        payload = _dumps(body)
        if mangle and self.faults.malformed.fire():
            self.stats.faults_served["malformed"] += 1
            payload = corrupt(payload, self.faults.malformed_mode)
        return Response(payload, status, headers=headers, media_type=JSON_TYPE)

    # ---- orders -----------------------------------------------------------------------

    def _bound(self, raw: str | None, param: str, gmt: bool, exclusive_low: bool) -> int | None:
        """Epoch seconds of an `after`/`before` value: the first allowed second for a lower
        bound (strictly later), the first excluded second for an upper bound."""
        if raw is None or raw == "":
            return None
        try:
            value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _BadParam(param, "Invalid date.") from None
        if value.tzinfo is None:
            zone = UTC if gmt else timezone(timedelta(minutes=self.config.utc_offset_minutes))
            value = value.replace(tzinfo=zone)
        seconds = value.timestamp()
        return math.floor(seconds) + 1 if exclusive_low else math.ceil(seconds)

    def _parse(self, request: Request) -> tuple[_Query, int, int | None, int]:
        """(query, per_page, offset, page) from the list parameters, or _BadParam."""
        params = request.query_params

        def integer(name: str, default: int, low: int, high: int | None = None) -> int:
            raw = params.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = int(raw)
            except ValueError:
                raise _BadParam(name, f"{name} is not of type integer.") from None
            if value < low or (high is not None and value > high):
                upper = f" and {high} (inclusive)" if high is not None else ""
                raise _BadParam(name, f"{name} must be between {low} (inclusive){upper}")
            return value

        page = integer("page", 1, 1)
        per_page = integer("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        offset = integer("offset", 0, 0) if params.get("offset") not in (None, "") else None
        order = params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise _BadParam("order", "order is not one of asc and desc.")
        orderby = params.get("orderby", "date")
        if orderby not in ORDERBY:
            raise _BadParam("orderby", f"orderby is not one of {', '.join(ORDERBY)}.")
        statuses: set[str] = set()
        for raw in params.getlist("status") + params.getlist("status[]"):
            statuses.update(s.strip() for s in raw.split(",") if s.strip())
        unknown = statuses - KNOWN_STATUSES - {"any"}
        if unknown:
            raise _BadParam("status", f"status[0] is not one of {', '.join(sorted(KNOWN_STATUSES))}"
                                      f", any.")  # fmt: skip
        gmt = params.get("dates_are_gmt", "false").lower() in ("1", "true")
        data = self.data
        lo, hi = 0, data.size
        for name, ts_of in (("", data.created_ts), ("modified_", data.modified_ts)):
            after = self._bound(params.get(f"{name}after"), f"{name}after", gmt, True)
            before = self._bound(params.get(f"{name}before"), f"{name}before", gmt, False)
            if after is not None:
                lo = max(lo, data.first_index_at_or_after(ts_of, after))
            if before is not None:
                hi = min(hi, data.first_index_at_or_after(ts_of, before))
        hi = max(lo, hi)
        wanted = None if not statuses or "any" in statuses else frozenset(statuses)
        return _Query(lo, hi, wanted, order == "desc"), per_page, offset, page

    def _indices(self, q: _Query, start: int) -> Iterator[int]:
        """Indices of the range in query order from position `start`."""
        if q.descending:
            return iter(range(q.hi - 1 - start, q.lo - 1, -1))
        return iter(range(q.lo + start, q.hi))

    def _count(self, q: _Query) -> int:
        if q.statuses is None:
            return q.hi - q.lo
        count = self._counts.get(q)
        if count is None:
            header = self.data.header
            count = sum(1 for i in range(q.lo, q.hi) if header(i).status in q.statuses)
            self._counts[q] = count
            if len(self._counts) > 64:
                self._counts.popitem(last=False)
        return count

    def _select(self, q: _Query, skip: int, take: int) -> list[int]:
        """Indices of the matches ranked skip .. skip+take-1 in query order."""
        if q.statuses is None:
            return list(self._indices(q, skip))[:take] if take else []
        rank, position = 0, 0
        resume = self._resume.get(q)
        if resume is not None and resume[0] <= skip:
            rank, position = resume
        header = self.data.header
        found: list[int] = []
        for i in self._indices(q, position):
            position += 1
            if header(i).status not in q.statuses:
                continue
            if rank >= skip:
                found.append(i)
                if len(found) == take:
                    rank += 1
                    break
            rank += 1
        self._resume[q] = (rank, position)
        if len(self._resume) > 64:
            self._resume.popitem(last=False)
        return found

    async def list_orders(self, request: Request) -> Response:
        fault = await self._fault()
        if fault is not None:
            return fault
        denied = self._auth_error(request, "Sorry, you cannot list resources.")
        if denied is not None:
            return denied
        try:
            query, per_page, offset, page = self._parse(request)
        except _BadParam as exc:
            self.stats.bad_requests += 1
            body = wp_error("rest_invalid_param", f"Invalid parameter(s): {exc.param}", 400,
                            params={exc.param: exc.problem})  # fmt: skip
            return self._json(body, 400)
        total = self._count(query)
        skip = offset if offset is not None else (page - 1) * per_page
        indices = self._select(query, skip, per_page) if skip < total else []
        orders = [self.data.order(i) for i in indices]
        self.stats.pages_served += 1
        self.stats.orders_served += len(orders)
        max_pages = math.ceil(total / per_page)
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(max_pages)}
        links = []
        if page > 1 and max_pages:
            prev = min(page - 1, max_pages)
            links.append(f'<{request.url.include_query_params(page=prev)}>; rel="prev"')
        if max_pages > page:
            links.append(f'<{request.url.include_query_params(page=page + 1)}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return self._json(orders, 200, headers, mangle=True)

    async def get_order(self, request: Request) -> Response:
        fault = await self._fault()
        if fault is not None:
            return fault
        denied = self._auth_error(request, "Sorry, you cannot view this resource.")
        if denied is not None:
            return denied
        index = self.data.index_of(request.path_params["order_id"])
        if index is None:
            return self._json(wp_error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.",
                                       404), 404)  # fmt: skip
        self.stats.orders_served += 1
        return self._json(self.data.order(index), mangle=True)

    async def system_status(self, request: Request) -> Response:
        fault = await self._fault()
        if fault is not None:
            return fault
        denied = self._auth_error(request, "Sorry, you cannot list resources.")
        if denied is not None:
            return denied
        cfg = self.config
        body = {
            "environment": {"home_url": cfg.site_url, "site_url": cfg.site_url,
                            "version": "9.4.2", "wp_version": "6.7.1"},
            "settings": {"api_enabled": True, "currency": cfg.currency,
                         "currency_symbol": cfg.currency, "number_of_decimals":
                         self.data.exponent, "prices_include_tax": cfg.prices_include_tax},
        }  # fmt: skip
        return self._json(body, mangle=True)

    async def index(self, request: Request) -> Response:
        fault = await self._fault()
        if fault is not None:
            return fault
        # Public, as in WordPress: lists the namespace's routes without any key.
        routes = {f"{PREFIX}/orders": {"methods": ["GET"]},
                  f"{PREFIX}/orders/(?P<id>[\\d]+)": {"methods": ["GET"]},
                  f"{PREFIX}/system_status": {"methods": ["GET"]}}  # fmt: skip
        return self._json({"namespace": "wc/v3", "routes": routes})

    async def no_route(self, request: Request) -> Response:
        return self._json(wp_error("rest_no_route", "No route was found matching the URL and "
                                   "request method.", 404), 404)  # fmt: skip

    # ---- control ------------------------------------------------------------------------

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
        return JSONResponse({**asdict(self.stats), "dataset": self.config.dataset_summary()})

    def routes(self) -> list[Route]:
        """Routes with absolute paths, so a composite sandbox can list them beside others."""
        return [
            Route(PREFIX, self.index, methods=["GET"]),
            Route(f"{PREFIX}/orders", self.list_orders, methods=["GET"]),
            Route(f"{PREFIX}/orders/{{order_id:int}}", self.get_order, methods=["GET"]),
            Route(f"{PREFIX}/system_status", self.system_status, methods=["GET"]),
            Route("/wp-json/{rest:path}", self.no_route),
            Route(f"{CONTROL_PREFIX}/control", self.control_endpoint, methods=["GET", "POST"]),
            Route(f"{CONTROL_PREFIX}/stats", self.stats_endpoint, methods=["GET"]),
        ]


def create_app(config: WooCommerceSandboxConfig | None = None, **overrides: Any) -> Starlette:
    """A Starlette app serving one WooCommerce sandbox; `app.state.sandbox` is its state."""
    if overrides:
        config = (config or WooCommerceSandboxConfig()).with_changes(**overrides)
    sandbox = WooCommerceSandbox(config)
    app = Starlette(routes=sandbox.routes())
    app.state.sandbox = sandbox
    return app
