"""The legacy ERP sandbox as Starlette routes.

- GET /api/orders?from_date=&to_date=: `X-API-Key` header; page/per_page with
  `Link: <...>; rel="next"` and X-Total-Count/X-Total-Pages; a bare list.
- GET /api/query/orders: the key in the `api_key` query parameter (never echoed in Link).
- GET /api/basic/orders: HTTP Basic; as /api/orders.
- GET /api/v2/orders: Bearer from POST /oauth/token; `{data, meta: {page, total_pages}}`.
- GET /api/customers: `X-API-Key`; `cursor`/`limit`, `{data, has_more, next_cursor}`.
- GET /api/products: `X-API-Key`; `offset`/`limit`, `{items, total, offset, limit}`.
- POST /oauth/token: client_credentials, client id/secret in HTTP Basic or the form.

Errors are JSON `{"error": {"code", "message"}}` (OAuth's own shape on /oauth/token): 401
for a missing or wrong credential, 400 for a bad parameter, 429 with Retry-After when the
fault is armed. Control (no auth): GET/POST /__sandbox/legacy_erp/control,
GET /__sandbox/legacy_erp/stats.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.legacy_erp.config import LegacyErpSandboxConfig
from sandbox.legacy_erp.data import ErpDataset
from sandbox.shopify.faults import FaultPlan, FaultsSpec

CONTROL_PREFIX = "/__sandbox/legacy_erp"
JSON_TYPE = "application/json"


class _Refused(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


@dataclass
class Stats:
    """Counters since start or the last reset."""

    requests: int = 0
    pages_served: int = 0
    records_served: int = 0
    unauthorized: int = 0
    bad_requests: int = 0
    tokens_issued: int = 0
    throttled: int = 0
    server_errors: int = 0


class DatasetSpec(BaseModel):
    """`dataset` in POST /__sandbox/legacy_erp/control; absent fields keep their value."""

    model_config = ConfigDict(extra="forbid")
    seed: int | None = None
    size: int | None = Field(None, ge=0)
    customers: int | None = Field(None, ge=1)
    products: int | None = Field(None, ge=1)
    currency: str | None = None


class ControlRequest(BaseModel):
    """Body of POST /__sandbox/legacy_erp/control; `faults` as the other sandboxes
    (`http_429: {count, retry_after}`, `http_5xx`, `slow`; `token_revoked: true` refuses every
    credential)."""

    model_config = ConfigDict(extra="forbid")
    clear_faults: bool = False
    faults: FaultsSpec | None = None
    dataset: DatasetSpec | None = None
    expire_tokens: bool = False
    reset_stats: bool = False


class LegacyErpSandbox:
    """State of one emulated ERP (data, issued tokens, faults, stats) and its handlers."""

    def __init__(self, config: LegacyErpSandboxConfig | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.config = config or LegacyErpSandboxConfig()
        self.data = ErpDataset(self.config)
        self.faults = FaultPlan()
        self.stats = Stats()
        self.clock = clock
        self._tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)

    # ---- control ----------------------------------------------------------------------

    def reconfigure(self, **changes: Any) -> None:
        """Apply config changes; the data set is regenerated."""
        self.config = self.config.with_changes(**changes)
        self.data = ErpDataset(self.config)

    def apply_control(self, spec: ControlRequest) -> None:
        """Apply a control request (also usable directly from tests)."""
        if spec.clear_faults:
            self.faults = FaultPlan()
        if spec.faults is not None:
            spec.faults.apply(self.faults)
        if spec.dataset is not None:
            changes = spec.dataset.model_dump(exclude_unset=True)
            if changes:
                self.reconfigure(**changes)
        if spec.expire_tokens:
            self._tokens.clear()
        if spec.reset_stats:
            self.stats = Stats()

    def state(self) -> dict[str, Any]:
        """What GET /__sandbox/legacy_erp/control shows."""
        c = self.config
        return {"dataset": {"seed": c.seed, "size": c.size, "customers": c.customers,
                            "products": c.products, "currency": c.currency},
                "faults": self.faults.describe(), "tokens": len(self._tokens)}  # fmt: skip

    async def control_endpoint(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                spec = ControlRequest.model_validate_json(await request.body() or b"{}")
                self.apply_control(spec)
            except (ValidationError, ValueError) as exc:
                return _json(_error("invalid_control", str(exc)), 400)
        return _json(self.state())

    async def stats_endpoint(self, _request: Request) -> Response:
        return _json(asdict(self.stats))

    # ---- request pipeline ---------------------------------------------------------------

    async def _fault(self) -> Response | None:
        faults = self.faults
        self.stats.requests += 1
        if faults.slow.fire():
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.http_5xx.fire():
            self.stats.server_errors += 1
            return _json(_error("server_error", "ERP is unavailable"),
                         faults.status_5xx)  # fmt: skip
        if faults.http_429.fire() or faults.throttle_storm.fire():
            self.stats.throttled += 1
            return _json(_error("rate_limited", "Too many requests"), 429,
                         {"Retry-After": faults.retry_after_header()})  # fmt: skip
        return None

    def _check_api_key(self, key: str | None) -> None:
        if not key:
            raise _Refused(401, "unauthorized", "API key required")
        if self.faults.token_revoked or key not in self.config.api_keys:
            raise _Refused(401, "unauthorized", "Invalid API key")

    def _header_key(self, request: Request) -> None:
        self._check_api_key(request.headers.get("x-api-key"))

    def _query_key(self, request: Request) -> None:
        self._check_api_key(request.query_params.get(self.config.query_key_param))

    def _basic(self, request: Request) -> None:
        pair = _basic_pair(request.headers.get("authorization", ""))
        if pair is None:
            raise _Refused(401, "unauthorized", "HTTP Basic credentials required")
        if self.faults.token_revoked or pair not in self.config.users:
            raise _Refused(401, "unauthorized", "Invalid username or password")

    def _bearer(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        if header[:7].lower() != "bearer ":
            raise _Refused(401, "unauthorized", "Bearer token required")
        expiry = self._tokens.get(header[7:].strip())
        if self.faults.token_revoked or expiry is None or expiry <= self.clock():
            raise _Refused(401, "invalid_token", "The access token is invalid or expired")

    async def _serve(self, request: Request, authorize: Callable[[Request], None],
                     build: Callable[[Request], Response]) -> Response:  # fmt: skip
        fault = await self._fault()
        if fault is not None:
            return fault
        try:
            authorize(request)
            return build(request)
        except _Refused as exc:
            if exc.status == 401:
                self.stats.unauthorized += 1
            else:
                self.stats.bad_requests += 1
            headers = {"WWW-Authenticate": "Bearer"} if exc.error == "invalid_token" else None
            return _json(_error(exc.error, exc.message), exc.status, headers)

    # ---- parameters ---------------------------------------------------------------------

    def _int(self, request: Request, name: str, default: int, low: int,
             high: int | None = None) -> int:  # fmt: skip
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _Refused(400, "invalid_parameter", f"{name} must be an integer") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise _Refused(400, "invalid_parameter", f"{name} must be {bound}")
        return value

    def _date(self, request: Request, name: str) -> date | None:
        raw = request.query_params.get(name)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw[:10])
        except ValueError:
            raise _Refused(400, "invalid_parameter", f"{name} must be YYYY-MM-DD") from None

    def _order_page(self, request: Request) -> tuple[list[dict[str, Any]], int, int, int]:
        """(orders, page, per_page, total) for the orders routes' parameters."""
        lo, hi = self.data.order_range(self._date(request, "from_date"),
                                       self._date(request, "to_date"))  # fmt: skip
        page = self._int(request, "page", 1, 1)
        per_page = self._int(request, "per_page", self.config.default_page_size, 1,
                             self.config.max_page_size)  # fmt: skip
        start = lo + (page - 1) * per_page
        orders = [self.data.order(i) for i in range(start, min(hi, start + per_page))]
        self.stats.pages_served += 1
        self.stats.records_served += len(orders)
        return orders, page, per_page, hi - lo

    def _linked_orders(self, request: Request) -> Response:
        orders, page, per_page, total = self._order_page(request)
        pages = math.ceil(total / per_page)
        headers = {"X-Total-Count": str(total), "X-Total-Pages": str(pages)}
        # A credential in the query is never echoed into a Link URL.
        base = request.url.remove_query_params(self.config.query_key_param)
        links = []
        if page > 1:
            links.append(f'<{base.include_query_params(page=page - 1)}>; rel="prev"')
        if page < pages:
            links.append(f'<{base.include_query_params(page=page + 1)}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return _json(orders, 200, headers)

    def _v2_orders(self, request: Request) -> Response:
        orders, page, per_page, total = self._order_page(request)
        meta = {"page": page, "per_page": per_page, "total": total,
                "total_pages": math.ceil(total / per_page)}  # fmt: skip
        return _json({"data": orders, "meta": meta})

    def _customers(self, request: Request) -> Response:
        limit = self._int(request, "limit", self.config.default_page_size, 1,
                          self.config.max_page_size)  # fmt: skip
        start = _decode_cursor(request.query_params.get("cursor"))
        end = min(self.config.customers, start + limit)
        rows = [self.data.customer(i) for i in range(start, end)]
        more = end < self.config.customers
        self.stats.pages_served += 1
        self.stats.records_served += len(rows)
        return _json({"data": rows, "has_more": more,
                      "next_cursor": _encode_cursor(end) if more else None})  # fmt: skip

    def _products(self, request: Request) -> Response:
        offset = self._int(request, "offset", 0, 0)
        limit = self._int(request, "limit", self.config.default_page_size, 1,
                          self.config.max_page_size)  # fmt: skip
        end = min(self.config.products, offset + limit)
        rows = [self.data.product(i) for i in range(offset, end)]
        self.stats.pages_served += 1
        self.stats.records_served += len(rows)
        return _json({"items": rows, "total": self.config.products, "offset": offset,
                      "limit": limit})  # fmt: skip

    # ---- handlers -------------------------------------------------------------------------

    async def orders(self, request: Request) -> Response:
        return await self._serve(request, self._header_key, self._linked_orders)

    async def query_orders(self, request: Request) -> Response:
        return await self._serve(request, self._query_key, self._linked_orders)

    async def basic_orders(self, request: Request) -> Response:
        return await self._serve(request, self._basic, self._linked_orders)

    async def v2_orders(self, request: Request) -> Response:
        return await self._serve(request, self._bearer, self._v2_orders)

    async def customers(self, request: Request) -> Response:
        return await self._serve(request, self._header_key, self._customers)

    async def products(self, request: Request) -> Response:
        return await self._serve(request, self._header_key, self._products)

    async def token(self, request: Request) -> Response:
        """OAuth 2 client_credentials: client id/secret in HTTP Basic or the form body."""
        # parse_qsl rather than request.form(): no python-multipart needed for a urlencoded body
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        pair = _basic_pair(request.headers.get("authorization", ""))
        if pair is None and form.get("client_id") is not None:
            pair = (str(form.get("client_id")), str(form.get("client_secret") or ""))
        if form.get("grant_type") != "client_credentials":
            return _json({"error": "unsupported_grant_type",
                          "error_description": "only client_credentials"}, 400)  # fmt: skip
        if pair is None or self.faults.token_revoked or pair not in self.config.clients:
            self.stats.unauthorized += 1
            return _json({"error": "invalid_client",
                          "error_description": "Client authentication failed"}, 401)  # fmt: skip
        token = "erp_at_" + secrets.token_urlsafe(24)
        self._tokens[token] = self.clock() + self.config.token_ttl_seconds
        self.stats.tokens_issued += 1
        return _json({"access_token": token, "token_type": "Bearer",
                      "expires_in": self.config.token_ttl_seconds,
                      "scope": str(form.get("scope") or "read")},
                     headers={"Cache-Control": "no-store"})  # fmt: skip

    async def not_found(self, request: Request) -> Response:
        return _json(_error("not_found", f"no route {request.url.path}"), 404)

    def routes(self) -> list[Route]:
        """Routes with absolute paths, so a composite sandbox can list them beside others."""
        return [
            Route("/api/orders", self.orders, methods=["GET"]),
            Route("/api/query/orders", self.query_orders, methods=["GET"]),
            Route("/api/basic/orders", self.basic_orders, methods=["GET"]),
            Route("/api/v2/orders", self.v2_orders, methods=["GET"]),
            Route("/api/customers", self.customers, methods=["GET"]),
            Route("/api/products", self.products, methods=["GET"]),
            Route("/oauth/token", self.token, methods=["POST"]),
            Route(f"{CONTROL_PREFIX}/control", self.control_endpoint, methods=["GET", "POST"]),
            Route(f"{CONTROL_PREFIX}/stats", self.stats_endpoint, methods=["GET"]),
        ]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers=headers, media_type=JSON_TYPE)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _basic_pair(header: str) -> tuple[str, str] | None:
    if header[:6].lower() != "basic ":
        return None
    try:
        user, sep, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"customer:{index}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, index = text.partition(":")
        if kind == "customer" and index.isdigit():
            return int(index)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise _Refused(400, "invalid_cursor", "cursor is not valid")


def create_app(config: LegacyErpSandboxConfig | None = None, **overrides: Any) -> Starlette:
    """A Starlette app serving one legacy ERP sandbox; `app.state.sandbox` is its state."""
    if overrides:
        config = (config or LegacyErpSandboxConfig()).with_changes(**overrides)
    sandbox = LegacyErpSandbox(config)
    app = Starlette(routes=sandbox.routes())
    app.state.sandbox = sandbox
    return app
