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
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.shopify.config import parse_start
from sandbox.shopify.faults import FaultPlan, FaultsSpec, corrupt, server_error_body
from sandbox.webhook_sender import WebhookControl, deliver_after_response
from sandbox.woocommerce.catalog import Catalog
from sandbox.woocommerce.config import WooCommerceSandboxConfig
from sandbox.woocommerce.data import (
    MAX_REFUNDS,
    PAID_STATUSES,
    STATUSES,
    OrderDataset,
    OrderHeader,
)
from sandbox.woocommerce.webhooks import WooWebhooks

PREFIX = "/wp-json/wc/v3"
CONTROL_PREFIX = "/__sandbox/woocommerce"
JSON_TYPE = "application/json; charset=UTF-8"
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
# Accepted by the status filter though the generator never produces them.
KNOWN_STATUSES = frozenset({*STATUSES, "trash", "checkout-draft"})
ORDERBY = ("date", "id", "modified")
PRODUCT_STATUSES = ("any", "future", "trash", "draft", "pending", "private", "publish")
PRODUCT_TYPES = ("simple", "grouped", "external", "variable")
PRODUCT_ORDERBY = ("date", "modified", "id", "include", "title", "slug")
VARIATION_ORDERBY = ("date", "modified", "id", "include", "title", "slug")
CUSTOMER_ORDERBY = ("id", "include", "name", "registered_date")
MAX_BATCH = 100  # WooCommerce's default batch limit (woocommerce_rest_batch_items_limit)
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
    products_served: int = 0
    customers_served: int = 0
    stock_writes: int = 0
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
    catalog_size: int | None = Field(None, ge=0)


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
    webhooks: WebhookControl | None = None


class OrderCreateRequest(BaseModel):
    """Body of POST /__sandbox/woocommerce/orders/create: a new order placed now."""

    model_config = ConfigDict(extra="forbid")
    status: str = Field("processing", pattern="^(pending|processing|on-hold|completed)$")


class OrderUpdateRequest(BaseModel):
    """Body of POST /__sandbox/woocommerce/orders/{id}/update: a new status, set now (a
    paid order moved to `refunded` gets a refund of what is left)."""

    model_config = ConfigDict(extra="forbid")
    status: str = Field(pattern="^(pending|processing|on-hold|completed|cancelled|refunded|"
                                "failed)$")  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Query:
    lo: int
    hi: int
    statuses: frozenset[str] | None
    descending: bool
    # What the index range stands for, kept to test orders changed at runtime (whose times
    # no longer follow their index) and `include` lists: [after, before) epoch seconds.
    orderby: str = "date"
    created: tuple[int | None, int | None] = (None, None)
    modified: tuple[int | None, int | None] = (None, None)
    include: frozenset[int] | None = None


class WooCommerceSandbox:
    """State of one emulated store (data, faults, stats) and its request handlers."""

    def __init__(self, config: WooCommerceSandboxConfig | None = None) -> None:
        self.config = config or WooCommerceSandboxConfig()
        self.data = OrderDataset(self.config)
        self.catalog = Catalog(self.config, self.data)
        self.faults = FaultPlan()
        self.stats = Stats()
        # Orders changed or created at runtime: index -> (header, full order). While any
        # exist, order listings are computed by a scan that merges them in.
        self.changed_orders: dict[int, tuple[OrderHeader, dict[str, Any]]] = {}
        self.webhooks = WooWebhooks(self)
        # Per status-filtered query: its match count and the (rank, index) just past the
        # last page served, so paging through in order scans each order once.
        self._counts: OrderedDict[_Query, int] = OrderedDict()
        self._resume: OrderedDict[_Query, tuple[int, int]] = OrderedDict()

    # ---- configuration --------------------------------------------------------------

    def reconfigure(self, **changes: Any) -> None:
        """Apply config changes; the dataset is regenerated (and caches dropped)."""
        self.config = self.config.with_changes(**changes)
        self.data = OrderDataset(self.config)
        # A new dataset starts from fresh stock: the overlay belongs to the old one.
        self.catalog = Catalog(self.config, self.data, self.catalog.clock)
        self.changed_orders.clear()
        self._counts.clear()
        self._resume.clear()

    def state(self) -> dict[str, Any]:
        """What GET /__sandbox/woocommerce/control shows."""
        return {
            "dataset": self.config.dataset_summary(),
            "faults": self.faults.describe(),
            "credentials": len(self.config.credentials),
            "changed_orders": len(self.changed_orders),
            "webhooks": self.webhooks.sender.describe(),
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
        if spec.dataset is not None:
            # A new dataset is a new store: its webhooks go with the old one.
            self.webhooks.sender.reset()
        if spec.reset_stats:
            self.stats = Stats()
        if spec.webhooks is not None:
            self.webhooks.sender.apply(spec.webhooks)

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
        bounds: dict[str, tuple[int | None, int | None]] = {}
        for name, ts_of in (("", data.created_ts), ("modified_", data.modified_ts)):
            after = self._bound(params.get(f"{name}after"), f"{name}after", gmt, True)
            before = self._bound(params.get(f"{name}before"), f"{name}before", gmt, False)
            bounds[name] = (after, before)
            if after is not None:
                lo = max(lo, data.first_index_at_or_after(ts_of, after))
            if before is not None:
                hi = min(hi, data.first_index_at_or_after(ts_of, before))
        hi = max(lo, hi)
        wanted = None if not statuses or "any" in statuses else frozenset(statuses)
        include = self._include(params)
        query = _Query(lo, hi, wanted, order == "desc", orderby, bounds[""],
                       bounds["modified_"], include)  # fmt: skip
        return query, per_page, offset, page

    def _include(self, params: Any) -> frozenset[int] | None:
        """`include=1,2` or `include[]=1&include[]=2`: order ids (indices of known ones)."""
        raw = params.getlist("include") + params.getlist("include[]")
        if not raw:
            return None
        indices: set[int] = set()
        for n, value in enumerate(v.strip() for item in raw for v in item.split(",")):
            if not value:
                continue
            if not value.isdigit():
                raise _BadParam("include", f"include[{n}] is not of type integer.")
            index = self.data.index_of(int(value))
            if index is not None:
                indices.add(index)
        return frozenset(indices)

    # ---- orders changed at runtime (sandbox controls) -----------------------------------

    def order_header(self, index: int) -> OrderHeader:
        """Order `index`'s filterable fields as they are now."""
        changed = self.changed_orders.get(index)
        return changed[0] if changed else self.data.header(index)

    def current_order(self, index: int) -> dict[str, Any]:
        """Order `index` as the API shows it now (runtime changes included)."""
        changed = self.changed_orders.get(index)
        return changed[1] if changed else self.data.order(index)

    def _scan(self, q: _Query) -> list[int]:
        """Every match in query order, by a scan: used for `include` and while orders
        changed at runtime exist (their times and status left the generated order)."""
        if q.include is not None:
            candidates: list[int] | range = sorted(q.include)
        else:
            extra = [i for i in self.changed_orders if not q.lo <= i < q.hi]
            candidates = [*range(q.lo, q.hi), *extra]

        def inside(value: int, bound: tuple[int | None, int | None]) -> bool:
            return (bound[0] is None or value >= bound[0]) and (bound[1] is None
                                                                 or value < bound[1])

        found = []
        for i in candidates:
            h = self.order_header(i)
            if (q.statuses is None or h.status in q.statuses) and inside(h.created, q.created) \
                    and inside(h.modified, q.modified):  # fmt: skip
                found.append(h)
        keys = {"id": lambda h: (h.index, h.index), "date": lambda h: (h.created, h.index),
                "modified": lambda h: (h.modified, h.index)}  # fmt: skip
        found.sort(key=keys.get(q.orderby, keys["date"]), reverse=q.descending)
        return [h.index for h in found]

    def _now_after(self, previous: int) -> int:
        return max(int(self.catalog.clock()), previous + 1)

    def create_order(self, status: str) -> dict[str, Any]:
        """Place a new order now: the next generated one, created and modified now."""
        data = self.data
        index = data.size
        now = int(self.catalog.clock())
        header = OrderHeader(index, now, now, status)
        order = data.build(header)
        order["refunds"] = []  # a brand-new order has none
        data.size += 1
        self.changed_orders[index] = (header, order)
        return order

    def update_order(self, order_id: int, status: str) -> dict[str, Any]:
        """Move an order to `status` now, as the shop admin would (KeyError: unknown id,
        ValueError: the change does not fit the order)."""
        index = self.data.index_of(order_id)
        if index is None:
            raise KeyError(order_id)
        old = self.order_header(index)
        order = json.loads(json.dumps(self.current_order(index)))  # a private copy
        now = self._now_after(old.modified)
        local = self.config.utc_offset_minutes * 60
        paid = order["date_paid_gmt"] is not None
        fmt = self.data.fmt
        if status == "refunded":
            exponent = self.data.exponent
            total = minor_units(order["total"], exponent)
            refunded = sum(-minor_units(r["total"], exponent) for r in order["refunds"])
            left = total - refunded
            if not paid or left <= 0:
                raise ValueError("only a paid order with something left can be refunded")
            if len(order["refunds"]) >= MAX_REFUNDS:
                raise ValueError("too many refunds on this order")
            order["refunds"].append({"id": order["id"] + 1 + len(order["refunds"]),
                                     "reason": "", "total": fmt(-left)})  # fmt: skip
        if status in PAID_STATUSES and not paid and status != "refunded":
            order["date_paid"] = _wp_stamp(now + local)
            order["date_paid_gmt"] = _wp_stamp(now)
            order["transaction_id"] = f"txn_{order['id']}"
        if status == "completed":
            order["date_completed"] = _wp_stamp(now + local)
            order["date_completed_gmt"] = _wp_stamp(now)
        order["status"] = status
        order["date_modified"] = _wp_stamp(now + local)
        order["date_modified_gmt"] = _wp_stamp(now)
        order["is_editable"] = status in ("pending", "on-hold")
        order["needs_payment"] = status in ("pending", "failed")
        self.changed_orders[index] = (OrderHeader(index, old.created, now, status), order)
        return order

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
        skip = offset if offset is not None else (page - 1) * per_page
        if query.include is not None or self.changed_orders:
            matched = self._scan(query)
            total = len(matched)
            indices = matched[skip:skip + per_page]
        else:
            total = self._count(query)
            indices = self._select(query, skip, per_page) if skip < total else []
        orders = [self.current_order(i) for i in indices]
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
        return self._json(self.current_order(index), mangle=True)

    # ---- products, variations, customers (sandbox/woocommerce/catalog.py) ------------

    async def _guard(self, request: Request, cannot: str) -> Response | None:
        fault = await self._fault()
        return fault if fault is not None else self._auth_error(request, cannot)

    def _bad_param(self, exc: _BadParam) -> Response:
        self.stats.bad_requests += 1
        body = wp_error("rest_invalid_param", f"Invalid parameter(s): {exc.param}", 400,
                        params={exc.param: exc.problem})  # fmt: skip
        return self._json(body, 400)

    def _paged(self, request: Request, records: list[dict[str, Any]]) -> Response:
        """One page of `records` with WordPress's X-WP-Total/X-WP-TotalPages and Link."""
        params = request.query_params
        page = _int_param(params, "page", 1, 1)
        per_page = _int_param(params, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        offset = _int_param(params, "offset", (page - 1) * per_page, 0)
        total = len(records)
        chunk = records[offset:offset + per_page]
        self.stats.pages_served += 1
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
        return self._json(chunk, 200, headers, mangle=True)

    def _modified_window(self, request: Request) -> tuple[int | None, int | None]:
        params = request.query_params
        gmt = params.get("dates_are_gmt", "false").lower() in ("1", "true")
        return (self._bound(params.get("modified_after"), "modified_after", gmt, True),
                self._bound(params.get("modified_before"), "modified_before", gmt, False))

    @staticmethod
    def _in_window(record: dict[str, Any], lo: int | None, hi: int | None) -> bool:
        ts = datetime.fromisoformat(record["date_modified_gmt"]).replace(tzinfo=UTC).timestamp()
        return (lo is None or ts >= lo) and (hi is None or ts < hi)

    @staticmethod
    def _sort(records: list[dict[str, Any]], request: Request, default: str,
              allowed: tuple[str, ...]) -> list[dict[str, Any]]:  # fmt: skip
        params = request.query_params
        order = params.get("order", "desc" if default == "date" else "asc")
        if order not in ("asc", "desc"):
            raise _BadParam("order", "order is not one of asc and desc.")
        orderby = params.get("orderby", default)
        if orderby not in allowed:
            raise _BadParam("orderby", f"orderby is not one of {', '.join(allowed)}.")
        keys = {"id": lambda r: r["id"], "include": lambda r: r["id"],
                "date": lambda r: (r["date_created_gmt"], r["id"]),
                "registered_date": lambda r: (r["date_created_gmt"], r["id"]),
                "modified": lambda r: (r["date_modified_gmt"], r["id"]),
                "title": lambda r: (r.get("name", ""), r["id"]),
                "name": lambda r: (f"{r.get('first_name', '')} {r.get('last_name', '')}", r["id"]),
                "slug": lambda r: (r.get("slug", ""), r["id"])}  # fmt: skip
        return sorted(records, key=keys[orderby], reverse=order == "desc")

    async def list_products(self, request: Request) -> Response:
        denied = await self._guard(request, "Sorry, you cannot list resources.")
        if denied is not None:
            return denied
        params = request.query_params
        try:
            lo, hi = self._modified_window(request)
            status = params.get("status", "any")
            if status not in PRODUCT_STATUSES:
                raise _BadParam("status", f"status is not one of {', '.join(PRODUCT_STATUSES)}.")
            kind = params.get("type")
            if kind not in (None, "", *PRODUCT_TYPES):
                raise _BadParam("type", f"type is not one of {', '.join(PRODUCT_TYPES)}.")
            skus = {s.strip() for s in params.get("sku", "").split(",") if s.strip()}
            catalog = self.catalog
            records = [p for p in map(catalog.product, catalog.product_ids()) if p is not None]
            if skus:
                # As WooCommerce: a sku filter searches variations too (post types product
                # and product_variation), which come back with type "variation".
                records = [r for r in records + catalog.all_variations() if r["sku"] in skus]
            records = [r for r in records
                       if (status == "any" or r["status"] == status)
                       and (not kind or r.get("type") == kind)
                       and self._in_window(r, lo, hi)]  # fmt: skip
            records = self._sort(records, request, "date", PRODUCT_ORDERBY)
            response = self._paged(request, records)
        except _BadParam as exc:
            return self._bad_param(exc)
        self.stats.products_served += len(orjson.loads(response.body)) if response.status_code \
            == 200 and response.body[:1] == b"[" else 0  # fmt: skip
        return response

    def _no_product(self) -> Response:
        return self._json(wp_error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404), 404)

    def _no_variation(self) -> Response:
        return self._json(wp_error("woocommerce_rest_product_variation_invalid_id",
                                   "Invalid ID.", 404), 404)  # fmt: skip

    async def get_product(self, request: Request) -> Response:
        denied = await self._guard(request, "Sorry, you cannot view this resource.")
        if denied is not None:
            return denied
        product = self.catalog.product(request.path_params["product_id"])
        if product is None:
            return self._no_product()
        self.stats.products_served += 1
        return self._json(product, mangle=True)

    async def list_variations(self, request: Request) -> Response:
        denied = await self._guard(request, "Sorry, you cannot list resources.")
        if denied is not None:
            return denied
        variations = self.catalog.variations(request.path_params["product_id"])
        if variations is None:
            return self._no_product()
        try:
            ordered = self._sort(variations, request, "menu_order", VARIATION_ORDERBY) \
                if "orderby" in request.query_params else variations  # fmt: skip
            return self._paged(request, ordered)
        except _BadParam as exc:
            return self._bad_param(exc)

    def _stock_body(self, body: Any) -> tuple[int | None, bool | None]:
        """(stock_quantity, manage_stock) of an update body; other fields are ignored."""
        if not isinstance(body, dict):
            raise _BadParam("body", "body is not an object.")
        quantity = body.get("stock_quantity")
        if quantity is not None:
            if isinstance(quantity, str) and quantity.lstrip("-").isdigit():
                quantity = int(quantity)  # WordPress coerces numeric strings
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                raise _BadParam("stock_quantity", "stock_quantity is not of type integer.")
        manage = body.get("manage_stock")
        if manage is not None and not isinstance(manage, bool):
            raise _BadParam("manage_stock", "manage_stock is not of type boolean.")
        return quantity, manage

    def _write(self, pid: int, vid: int, body: Any) -> dict[str, Any] | Response:
        """Apply one stock update; the updated record, or the error response."""
        catalog = self.catalog
        if catalog.product(pid) is None:
            return self._no_product()
        if vid and catalog.variation(pid, vid) is None:
            return self._no_variation()
        try:
            quantity, manage = self._stock_body(body)
        except _BadParam as exc:
            return self._bad_param(exc)
        catalog.set_stock(pid, vid, quantity, manage)
        self.stats.stock_writes += 1
        record = catalog.variation(pid, vid) if vid else catalog.product(pid)
        assert record is not None
        # An update through the API saves the product: woocommerce_update_product(_variation).
        self.webhooks.deliver("product.updated", record)
        return record

    async def _body(self, request: Request) -> Any:
        try:
            return orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError:
            raise _BadParam("body", "The request body is not valid JSON.") from None

    async def update_product(self, request: Request) -> Response:
        return await self._update(request, request.path_params["product_id"], 0)

    async def update_variation(self, request: Request) -> Response:
        params = request.path_params
        return await self._update(request, params["product_id"], params["variation_id"])

    async def _update(self, request: Request, pid: int, vid: int) -> Response:
        denied = await self._guard(request, "Sorry, you are not allowed to edit this resource.")
        if denied is not None:
            return denied
        try:
            body = await self._body(request)
        except _BadParam:
            return self._json(wp_error("rest_invalid_json", "Invalid JSON body passed.", 400), 400)
        result = self._write(pid, vid, body)
        return result if isinstance(result, Response) else self._json(result)

    async def batch_products(self, request: Request) -> Response:
        return await self._batch(request, None)

    async def batch_variations(self, request: Request) -> Response:
        return await self._batch(request, request.path_params["product_id"])

    async def _batch(self, request: Request, parent: int | None) -> Response:
        """`{"update": [{"id", ...}]}`; each item answers with its record or its error."""
        denied = await self._guard(request, "Sorry, you are not allowed to batch manipulate "
                                   "this resource.")  # fmt: skip
        if denied is not None:
            return denied
        if parent is not None and self.catalog.product(parent) is None:
            return self._no_product()
        try:
            body = await self._body(request)
        except _BadParam:
            return self._json(wp_error("rest_invalid_json", "Invalid JSON body passed.", 400), 400)
        items = body.get("update", []) if isinstance(body, dict) else None
        if not isinstance(items, list):
            return self._bad_param(_BadParam("update", "update is not of type array."))
        if len(items) > MAX_BATCH:
            body = wp_error("woocommerce_rest_request_entity_too_large",
                            f"Unable to accept more than {MAX_BATCH} items for this request.", 413)
            return self._json(body, 413)  # fmt: skip
        answers: list[dict[str, Any]] = []
        for item in items:
            item_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(item_id, bool) or not isinstance(item_id, int):
                answers.append({"id": 0, "error": wp_error(
                    "woocommerce_rest_invalid_id", "Invalid ID.", 400)})  # fmt: skip
                continue
            pid, vid = (parent, item_id) if parent is not None else (item_id, 0)
            result = self._write(pid, vid, item)
            if isinstance(result, Response):
                error = orjson.loads(result.body)
                answers.append({"id": item_id, "error": error})
            else:
                answers.append(result)
        return self._json({"update": answers})

    async def list_customers(self, request: Request) -> Response:
        denied = await self._guard(request, "Sorry, you cannot list resources.")
        if denied is not None:
            return denied
        params = request.query_params
        try:
            # modified_after is this sandbox's extension: WooCommerce's own customers
            # endpoint has no date filter (the connector filters again on its side).
            lo, hi = self._modified_window(request)
            email = params.get("email", "").strip().lower()
            catalog = self.catalog
            records = []
            for k in range(catalog.customer_count()):
                modified = catalog.customer_modified(k)
                if (lo is not None and modified < lo) or (hi is not None and modified >= hi):
                    continue
                record = catalog.customer(k)
                if email and record["email"] != email:
                    continue
                records.append(record)
            records = self._sort(records, request, "name", CUSTOMER_ORDERBY)
            response = self._paged(request, records)
        except _BadParam as exc:
            return self._bad_param(exc)
        return response

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
                  f"{PREFIX}/system_status": {"methods": ["GET"]},
                  f"{PREFIX}/products": {"methods": ["GET"]},
                  f"{PREFIX}/products/batch": {"methods": ["POST"]},
                  f"{PREFIX}/products/(?P<id>[\\d]+)": {"methods": ["GET", "PUT"]},
                  f"{PREFIX}/products/(?P<product_id>[\\d]+)/variations":
                      {"methods": ["GET"]},
                  f"{PREFIX}/products/(?P<product_id>[\\d]+)/variations/batch":
                      {"methods": ["POST"]},
                  f"{PREFIX}/products/(?P<product_id>[\\d]+)/variations/(?P<id>[\\d]+)":
                      {"methods": ["PUT"]},
                  f"{PREFIX}/customers": {"methods": ["GET"]}}  # fmt: skip
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
        return JSONResponse({**asdict(self.stats), "dataset": self.config.dataset_summary(),
                             "webhooks": self.webhooks.sender.describe()})  # fmt: skip

    async def create_order_endpoint(self, request: Request) -> Response:
        try:
            spec = OrderCreateRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            return JSONResponse({"error": json.loads(exc.json())}, status_code=422)
        order = self.create_order(spec.status)
        self.webhooks.deliver("order.created", order)
        return JSONResponse(order)

    async def update_order_endpoint(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        try:
            spec = OrderUpdateRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            return JSONResponse({"error": json.loads(exc.json())}, status_code=422)
        try:
            order = self.update_order(order_id, spec.status)
        except KeyError:
            return JSONResponse({"error": f"no order {order_id}"}, status_code=404)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        self.webhooks.deliver("order.updated", order)
        return JSONResponse(order)

    def routes(self) -> list[Route]:
        """Routes with absolute paths, so a composite sandbox can list them beside others."""
        after = deliver_after_response  # routes that cause events deliver after answering
        return [
            Route(PREFIX, self.index, methods=["GET"]),
            Route(f"{PREFIX}/orders", self.list_orders, methods=["GET"]),
            Route(f"{PREFIX}/orders/{{order_id:int}}", self.get_order, methods=["GET"]),
            Route(f"{PREFIX}/system_status", self.system_status, methods=["GET"]),
            Route(f"{PREFIX}/products", self.list_products, methods=["GET"]),
            Route(f"{PREFIX}/products/batch", after(self.batch_products), methods=["POST"]),
            Route(f"{PREFIX}/products/{{product_id:int}}", self.get_product, methods=["GET"]),
            Route(f"{PREFIX}/products/{{product_id:int}}", after(self.update_product),
                  methods=["PUT", "PATCH"]),  # fmt: skip
            Route(f"{PREFIX}/products/{{product_id:int}}/variations", self.list_variations,
                  methods=["GET"]),  # fmt: skip
            Route(f"{PREFIX}/products/{{product_id:int}}/variations/batch",
                  after(self.batch_variations), methods=["POST"]),  # fmt: skip
            Route(f"{PREFIX}/products/{{product_id:int}}/variations/{{variation_id:int}}",
                  after(self.update_variation), methods=["PUT", "PATCH"]),  # fmt: skip
            Route(f"{PREFIX}/customers", self.list_customers, methods=["GET"]),
            Route(f"{PREFIX}/webhooks", after(self.webhooks.collection),
                  methods=["GET", "POST"]),  # fmt: skip
            Route(f"{PREFIX}/webhooks/{{webhook_id:int}}", after(self.webhooks.item),
                  methods=["GET", "PUT", "PATCH", "POST", "DELETE"]),  # fmt: skip
            Route("/wp-json/{rest:path}", self.no_route),
            Route(f"{CONTROL_PREFIX}/control", self.control_endpoint, methods=["GET", "POST"]),
            Route(f"{CONTROL_PREFIX}/stats", self.stats_endpoint, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/orders/create", after(self.create_order_endpoint),
                  methods=["POST"]),  # fmt: skip
            Route(f"{CONTROL_PREFIX}/orders/{{order_id:int}}/update",
                  after(self.update_order_endpoint), methods=["POST"]),  # fmt: skip
        ]


def minor_units(amount: str, exponent: int) -> int:
    """A WooCommerce decimal string ("12.50", "-3.00") as integer minor units, exactly."""
    return int(Decimal(amount).scaleb(exponent))


def _wp_stamp(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _int_param(params: Any, name: str, default: int, low: int, high: int | None = None) -> int:
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


def create_app(config: WooCommerceSandboxConfig | None = None, **overrides: Any) -> Starlette:
    """A Starlette app serving one WooCommerce sandbox; `app.state.sandbox` is its state."""
    if overrides:
        config = (config or WooCommerceSandboxConfig()).with_changes(**overrides)
    sandbox = WooCommerceSandbox(config)
    app = Starlette(routes=sandbox.routes())
    app.state.sandbox = sandbox
    return app
