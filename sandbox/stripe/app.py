"""The Stripe API sandbox (v1 read endpoints, a few test-mode writes) as Starlette routes.

Request path, in this order: faults that act before Stripe (slow, 5xx, 429 storms), the
secret key (`Authorization: Bearer sk_…`, or HTTP Basic with the key as user name), the
key mode's rate limit (a token bucket: 25 req/s test, 100 live), bracket-parameter parsing
and validation with Stripe's `invalid_request_error` answers, the query, then the response
(which a malformed-body fault may mangle). Every answer carries `Request-Id` and
`Stripe-Version`.

Lists are newest first with `limit` (1–100, default 10), `starting_after`/`ending_before`
object ids, `created` (exact or `[gt|gte|lt|lte]`) and `expand[]` (`data.source` ...).
Control routes (`/__sandbox/stripe/...`) need no key: they are the test harness's handle.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.shopify.config import parse_start
from sandbox.shopify.faults import FaultPlan, FaultsSpec, corrupt, server_error_body
from sandbox.stripe.config import StripeSandboxConfig, key_mode
from sandbox.stripe.currencies import stripe_currency
from sandbox.stripe.data import (
    DAY,
    Charge,
    Dispute,
    Payout,
    Refund,
    SortedObjects,
    StripeDataset,
    Txn,
    day_start,
    stripe_id,
)
from sandbox.stripe.render import ExpandError, Renderer
from sandbox.stripe.webhooks import StripeWebhooks
from sandbox.webhook_sender import WebhookControl, deliver_after_response

CONTROL_PREFIX = "/__sandbox/stripe"
JSON_TYPE = "application/json"
MAX_LIMIT = 100
DEFAULT_LIMIT = 10
PAGING = frozenset({"limit", "starting_after", "ending_before", "expand"})
DOCS = "https://stripe.com/docs"
RATE_LIMIT_MESSAGE = ("Request rate limit exceeded. You can learn more about rate limits here "
                      "https://stripe.com/docs/rate-limits.")  # fmt: skip
NO_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)
BALANCE_TXN_TYPES = frozenset({
    "adjustment", "advance", "advance_funding", "anticipation_repayment", "application_fee",
    "application_fee_refund", "charge", "climate_order_purchase", "climate_order_refund",
    "connect_collection_transfer", "contribution", "issuing_authorization_hold",
    "issuing_authorization_release", "issuing_dispute", "issuing_transaction",
    "obligation_outbound", "obligation_reversal_inbound", "payment", "payment_failure_refund",
    "payment_network_reserve_hold", "payment_network_reserve_release", "payment_refund",
    "payment_reversal", "payment_unreconciled", "payout", "payout_cancel", "payout_failure",
    "payout_minimum_balance_hold", "payout_minimum_balance_release", "refund",
    "refund_failure", "reserve_transaction", "reserved_funds", "stripe_fee", "stripe_fx_fee",
    "tax_fee", "topup", "topup_reversal", "transfer", "transfer_cancel", "transfer_failure",
    "transfer_refund",
})  # fmt: skip
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SUB = re.compile(r"\[([^\[\]]*)\]")
_OBJECT_NAMES = {Txn: "balance transaction", Charge: "charge", Refund: "refund",
                 Dispute: "dispute", Payout: "payout"}  # fmt: skip


class StripeError(Exception):
    """An error answer in Stripe's shape."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        error: dict[str, Any] = {"message": message, "type": type}
        if code is not None:
            error["code"] = code
            error["doc_url"] = f"{DOCS}/error-codes/{code.replace('_', '-')}"
        if param is not None:
            error["param"] = param
        self.status = status
        self.body = {"error": error}
        self.headers = headers or {}


def parse_params(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket notation (`created[gte]=1`, `expand[]=a`, `metadata[k]=v`) as nested
    dicts and lists."""
    out: dict[str, Any] = {}
    for raw_key, value in items:
        match = _KEY.match(raw_key)
        if match is None:
            raise StripeError(400, f"Invalid parameter name: {raw_key}", param=raw_key)
        path = [match.group(1), *_SUB.findall(match.group(2))]
        node: Any = out
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            following = None if last else path[depth + 1]
            fresh: Any = value if last else ([] if following == "" else {})
            if isinstance(node, list):
                if last:
                    node.append(value)
                    break
                node.append(fresh)
                node = fresh
                continue
            if not isinstance(node, dict):
                raise StripeError(400, f"Invalid array: {raw_key}", param=raw_key)
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, fresh)
    return _lists(out)


def _lists(node: Any) -> Any:
    """`{"0": a, "1": b}` (from `expand[0]=a&expand[1]=b`) becomes `[a, b]`."""
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    elif isinstance(node, list):
        return [_lists(v) for v in node]
    return node


def _int(value: Any, param: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise StripeError(400, f"Invalid integer: {value}", code="parameter_invalid_integer",
                      param=param)  # fmt: skip


def _range(params: dict[str, Any], name: str) -> tuple[int | None, int | None]:
    """Inclusive (low, high) bounds of `name` / `name[gt|gte|lt|lte]`."""
    raw = params.get(name)
    if raw is None:
        return None, None
    if isinstance(raw, str):
        exact = _int(raw, name)
        return exact, exact
    if not isinstance(raw, dict):
        raise StripeError(400, f"Invalid {name}: must be an integer or a hash", param=name)
    low = high = None
    for op, value in raw.items():
        number = _int(value, f"{name}[{op}]")
        if op == "gte":
            low = number if low is None else max(low, number)
        elif op == "gt":
            low = number + 1 if low is None else max(low, number + 1)
        elif op == "lte":
            high = number if high is None else min(high, number)
        elif op == "lt":
            high = number - 1 if high is None else min(high, number - 1)
        else:
            raise StripeError(400, f"Received unknown parameter: {name}[{op}]",
                              param=f"{name}[{op}]")  # fmt: skip
    return low, high


def _expand_paths(params: dict[str, Any]) -> list[str]:
    raw = params.get("expand")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        return raw
    raise StripeError(400, "Invalid array", param="expand")


def mask_key(key: str) -> str:
    """`sk_test_****…1234` as Stripe's invalid-key message shows a key."""
    parts = key.split("_")
    prefix = "_".join(parts[:2]) + "_" if len(parts) > 2 else ""
    hidden = max(0, len(key) - len(prefix) - 4)
    return prefix + "*" * hidden + key[-4:] if len(key) > 4 else "*" * len(key)


@dataclass
class Stats:
    """Counters since start or the last reset (GET /__sandbox/stripe/stats)."""

    requests: int = 0
    pages_served: int = 0
    objects_served: int = 0
    unauthorized: int = 0
    rate_limited: int = 0
    bad_requests: int = 0
    writes: int = 0
    idempotent_replays: int = 0
    faults_served: dict[str, int] = field(
        default_factory=lambda: {k: 0 for k in ("http_5xx", "http_429", "slow", "malformed",
                                                "token_revoked")}  # fmt: skip
    )


class _Bucket:
    """Stripe's per-mode limit as a token bucket holding one second of requests."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.last = now

    def take(self, now: float) -> bool:
        """Take one request's token; False when the bucket is empty (a 429)."""
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        # A hair of slack: a client pacing at exactly the rate must not lose to float error.
        if self.tokens >= 1 - 1e-9:
            self.tokens -= 1
            return True
        return False


class DatasetSpec(BaseModel):
    """`dataset` in POST /__sandbox/stripe/control; absent fields keep their value."""

    model_config = ConfigDict(extra="forbid")
    seed: int | None = None
    size: int | None = Field(None, ge=0)
    start: str | None = None
    days: int | None = Field(None, ge=1)
    currencies: list[str] | None = None
    payout_schedule: str | None = None
    payout_delay_days: int | None = Field(None, ge=0)
    refund_percent: int | None = Field(None, ge=0, le=100)
    dispute_percent: int | None = Field(None, ge=0, le=100)


class ControlRequest(BaseModel):
    """Body of POST /__sandbox/stripe/control; every key optional, applied in order.

    `faults.token_revoked: true` answers every key with Stripe's invalid-key 401;
    `secret_keys` replaces the accepted keys; `should_retry_5xx` / `should_retry_429` set
    the `Stripe-Should-Retry` header on fault answers (null: no header).
    """

    model_config = ConfigDict(extra="forbid")
    clear_faults: bool = False
    faults: FaultsSpec | None = None
    dataset: DatasetSpec | None = None
    secret_keys: list[str] | None = None
    rate_limiting: bool | None = None
    test_rate: float | None = Field(None, gt=0)
    live_rate: float | None = Field(None, gt=0)
    should_retry_5xx: bool | None = True
    should_retry_429: bool | None = None
    reset_stats: bool = False
    webhooks: WebhookControl | None = None


Handler = Callable[[Request, dict[str, Any]], Awaitable[tuple[int, Any]]]


class StripeSandbox:
    """State of one emulated Stripe account (data, faults, limits, stats) and its routes."""

    def __init__(self, config: StripeSandboxConfig | None = None) -> None:
        self.config = config or StripeSandboxConfig()
        self._data: StripeDataset | None = None
        self.faults = FaultPlan()
        self.faults.body_5xx = "json"
        self.should_retry_5xx: bool | None = True
        self.should_retry_429: bool | None = None
        self.stats = Stats()
        self._buckets: dict[str, _Bucket] = {}
        self._request_count = 0
        # (mode, Idempotency-Key) -> (request fingerprint, status, body)
        self._idempotency: dict[tuple[str, str], tuple[str, int, Any]] = {}
        self.webhooks = StripeWebhooks(self, StripeError)
        self._idempotency_key: str | None = None  # of the write being served (its events)
        self.write_mode = "test"  # key mode of the write being served

    @property
    def data(self) -> StripeDataset:
        """The account history, generated on first use."""
        if self._data is None:
            self._data = StripeDataset(self.config)
        return self._data

    # ---- configuration ----------------------------------------------------------------

    def reconfigure(self, **changes: Any) -> None:
        """Apply config changes; the history is regenerated and runtime objects dropped."""
        self.config = self.config.with_changes(**changes)
        self._data = None
        self._buckets.clear()
        self._idempotency.clear()
        # A new history is a new account: its webhook endpoints go with the old one.
        self.webhooks.sender.reset()

    def state(self) -> dict[str, Any]:
        """What GET /__sandbox/stripe/control shows."""
        return {
            "dataset": self.config.dataset_summary(),
            "faults": self.faults.describe(),
            "secret_keys": len(self.config.secret_keys),
            "rate_limiting": self.config.rate_limiting,
            "test_rate": self.config.test_rate,
            "live_rate": self.config.live_rate,
            "should_retry_5xx": self.should_retry_5xx,
            "should_retry_429": self.should_retry_429,
            "webhooks": self.webhooks.sender.describe(),
        }

    def apply_control(self, spec: ControlRequest) -> None:
        """Apply a control request (also usable directly from tests)."""
        if spec.clear_faults:
            self.faults = FaultPlan()
            self.faults.body_5xx = "json"
        if spec.faults is not None:
            spec.faults.apply(self.faults)
            http_5xx = spec.faults.http_5xx
            if http_5xx is not None and "body" not in http_5xx.model_fields_set:
                # Stripe's own 5xx is its JSON api_error; "html" is a gateway in front of it.
                self.faults.body_5xx = "json"
        fields_set = spec.model_fields_set
        if "should_retry_5xx" in fields_set:
            self.should_retry_5xx = spec.should_retry_5xx
        if "should_retry_429" in fields_set:
            self.should_retry_429 = spec.should_retry_429
        changes: dict[str, Any] = {}
        if spec.dataset is not None:
            changes.update(spec.dataset.model_dump(exclude_unset=True))
            if changes.get("start") is not None:
                changes["start"] = parse_start(changes["start"])
            if changes.get("currencies") is not None:
                changes["currencies"] = tuple(changes["currencies"])
        if spec.secret_keys is not None:
            changes["secret_keys"] = tuple(spec.secret_keys)
        for name in ("rate_limiting", "test_rate", "live_rate"):
            value = getattr(spec, name)
            if value is not None:
                changes[name] = value
        if changes:
            if set(changes) <= {"secret_keys", "rate_limiting", "test_rate", "live_rate"}:
                # Keys and limits do not change the history: keep runtime objects.
                self.config = self.config.with_changes(**changes)
                self._buckets.clear()
            else:
                self.reconfigure(**changes)
        if spec.reset_stats:
            self.stats = Stats()
        if spec.webhooks is not None:
            self.webhooks.sender.apply(spec.webhooks)

    # ---- request pipeline ---------------------------------------------------------------

    def _request_id(self) -> str:
        self._request_count += 1
        return stripe_id("req_", self.config.seed, "request", self._request_count)[:18]

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None,
              *, mangle: bool = False) -> Response:  # fmt: skip
        payload = orjson.dumps(body)
        if mangle and self.faults.malformed.fire():
            self.stats.faults_served["malformed"] += 1
            payload = corrupt(payload, self.faults.malformed_mode)
        return Response(payload, status, headers=headers, media_type=JSON_TYPE)

    @staticmethod
    def _should_retry(value: bool | None) -> dict[str, str]:
        return {} if value is None else {"Stripe-Should-Retry": "true" if value else "false"}

    async def _fault(self, headers: dict[str, str]) -> Response | None:
        faults = self.faults
        if faults.slow.fire():
            self.stats.faults_served["slow"] += 1
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.http_5xx.fire():
            self.stats.faults_served["http_5xx"] += 1
            status = faults.status_5xx
            extra = {**headers, **self._should_retry(self.should_retry_5xx)}
            if faults.body_5xx == "json":
                body = {"error": {"message": "An unknown error occurred", "type": "api_error"}}
                return self._json(body, status, extra)
            content, media = server_error_body(status, "html")
            return Response(content, status, headers=extra, media_type=media)
        storm = faults.throttle_storm.fire()
        if storm or faults.http_429.fire():
            self.stats.faults_served["http_429"] += 1
            extra = {**headers, **self._should_retry(self.should_retry_429)}
            if not storm:
                extra["Retry-After"] = faults.retry_after_header()
            return self._rate_limited(extra)
        return None

    def _rate_limited(self, headers: dict[str, str]) -> Response:
        self.stats.rate_limited += 1
        error = StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit")
        return self._json(error.body, 429, headers)

    def _authenticate(self, request: Request) -> str:
        """The key's mode ('test'/'live'); raises StripeError 401 otherwise."""
        header = request.headers.get("authorization", "")
        key: str | None = None
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            key = value.strip()
        elif scheme.lower() == "basic" and value.strip():
            try:
                key = base64.b64decode(value.strip()).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = None
        www = {"WWW-Authenticate": 'Bearer realm="Stripe"'}
        if not key:
            self.stats.unauthorized += 1
            raise StripeError(401, NO_KEY_MESSAGE, headers=www)
        if key.startswith("pk_"):
            self.stats.unauthorized += 1
            raise StripeError(401, "This API call cannot be made with a publishable API key. "
                              "Please use a secret API key. You can find a list of your API keys "
                              "at https://dashboard.stripe.com/account/apikeys.", headers=www)
        mode = key_mode(key)
        if self.faults.token_revoked or key not in self.config.secret_keys or mode is None:
            self.stats.unauthorized += 1
            if self.faults.token_revoked:
                self.stats.faults_served["token_revoked"] += 1
            raise StripeError(401, f"Invalid API Key provided: {mask_key(key)}", headers=www)
        return mode

    def _throttle(self, mode: str) -> bool:
        """True when the key's mode may send this request now."""
        if not self.config.rate_limiting:
            return True
        now = self.config.monotonic()
        bucket = self._buckets.get(mode)
        if bucket is None:
            rate = self.config.live_rate if mode == "live" else self.config.test_rate
            bucket = self._buckets[mode] = _Bucket(rate, now)
        return bucket.take(now)

    def _api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler in the common pipeline (faults, auth, limit, params, errors)."""

        async def endpoint(request: Request) -> Response:
            self.stats.requests += 1
            version = request.headers.get("stripe-version") or self.config.api_version
            headers = {"Request-Id": self._request_id(), "Stripe-Version": version}
            fault = await self._fault(headers)
            if fault is not None:
                return fault
            try:
                mode = self._authenticate(request)
                if not self._throttle(mode):
                    return self._rate_limited(
                        {**headers, **self._should_retry(self.should_retry_429)}
                    )
                if request.method == "POST":
                    body = (await request.body()).decode("utf-8", "replace")
                    params = parse_params(parse_qsl(body, keep_blank_values=True))
                    params["__mode"] = mode
                else:
                    params = parse_params(request.query_params.multi_items())
                status, answer = await handler(request, params)
            except StripeError as exc:
                if exc.status == 400:
                    self.stats.bad_requests += 1
                return self._json(exc.body, exc.status, {**headers, **exc.headers})
            if isinstance(answer, Response):
                answer.headers.update(headers)
                return answer
            return self._json(answer, status, headers, mangle=True)

        return endpoint

    # ---- lists ----------------------------------------------------------------------------

    def _renderer(self) -> Renderer:
        return Renderer(self.data, int(self.config.clock()))

    def _list(self, params: dict[str, Any], objects: SortedObjects, url: str,
              allowed: frozenset[str], keep: Callable[[Any], bool] | None = None,
              kind: type | None = None) -> dict[str, Any]:  # fmt: skip
        """One newest-first page of `objects` under Stripe's list rules."""
        for name in params:
            if name not in allowed and name not in PAGING:
                raise StripeError(400, f"Received unknown parameter: {name}", param=name)
        limit = DEFAULT_LIMIT
        if "limit" in params:
            limit = _int(params["limit"], "limit")
            if limit < 1:
                raise StripeError(400, "This value must be greater than or equal to 1.",
                                  code="parameter_invalid_integer", param="limit")  # fmt: skip
            if limit > MAX_LIMIT:
                raise StripeError(400, "This value must be less than or equal to 100.",
                                  code="parameter_invalid_integer", param="limit")  # fmt: skip
        after, before = params.get("starting_after"), params.get("ending_before")
        if after is not None and before is not None:
            raise StripeError(400, "You may only specify one of these parameters: "
                              "ending_before, starting_after.")  # fmt: skip
        low, high = _range(params, "created") if "created" in allowed else (None, None)
        lo = 0 if low is None else _bisect(objects.keys, (low, -1))
        hi = len(objects) if high is None else _bisect(objects.keys, (high + 1, -1))
        cursor_param, cursor = ("starting_after", after) if after is not None else (
            "ending_before", before)  # fmt: skip
        if cursor is not None:
            target = self.data.get(cursor) if isinstance(cursor, str) else None
            if target is None or (kind is not None and not isinstance(target, kind)):
                name = _OBJECT_NAMES.get(kind, "object") if kind is not None else "object"
                raise StripeError(400, f"No such {name}: '{cursor}'", code="resource_missing",
                                  param=cursor_param)  # fmt: skip
            at = _bisect(objects.keys, (target.created, target.seq))
            if after is not None:
                hi = min(hi, at)
            else:
                lo = max(lo, at + 1)
        found: list[Any] = []
        if before is not None:
            # The page just newer than the cursor, still shown newest first.
            for index in range(lo, hi):
                item = objects.items[index]
                if keep is None or keep(item):
                    found.append(item)
                    if len(found) > limit:
                        break
            has_more = len(found) > limit
            found = found[:limit][::-1]
        else:
            for index in range(hi - 1, lo - 1, -1):
                item = objects.items[index]
                if keep is None or keep(item):
                    found.append(item)
                    if len(found) > limit:
                        break
            has_more = len(found) > limit
            found = found[:limit]
        renderer = self._renderer()
        body = {"object": "list", "data": [renderer.render(o) for o in found],
                "has_more": has_more, "url": url}  # fmt: skip
        self._expand(renderer, body, params)
        self.stats.pages_served += 1
        self.stats.objects_served += len(found)
        return body

    @staticmethod
    def _expand(renderer: Renderer, body: dict[str, Any], params: dict[str, Any]) -> None:
        try:
            renderer.expand(body, _expand_paths(params))
        except ExpandError as exc:
            raise StripeError(400, str(exc), param="expand") from None

    def _one(self, request: Request, params: dict[str, Any], kind: type) -> dict[str, Any]:
        for name in params:
            if name != "expand":
                raise StripeError(400, f"Received unknown parameter: {name}", param=name)
        object_id = request.path_params["id"]
        target = self.data.get(object_id)
        if not isinstance(target, kind):
            raise StripeError(404, f"No such {_OBJECT_NAMES[kind]}: '{object_id}'",
                              code="resource_missing", param="id")  # fmt: skip
        renderer = self._renderer()
        body = renderer.render(target)
        self._expand(renderer, body, params)
        self.stats.objects_served += 1
        return body

    async def list_balance_transactions(self, request: Request, params: dict[str, Any]):
        """GET /v1/balance_transactions (created, currency, payout, source, type)."""
        data = self.data
        objects = data.txns
        payout = params.get("payout")
        source = params.get("source")
        if payout is not None:
            if not isinstance(data.get(payout), Payout):
                raise StripeError(400, f"No such payout: '{payout}'", code="resource_missing",
                                  param="payout")  # fmt: skip
            objects = SortedObjects(data.payout_members(payout))
        if source is not None:
            carried = {t.id for t in objects.items} if payout is not None else None
            objects = SortedObjects(t for t in data.by_source.get(source, ())
                                    if carried is None or t.id in carried)  # fmt: skip
        kinds = params.get("type")
        if kinds is not None and kinds not in BALANCE_TXN_TYPES:
            choices = ", ".join(sorted(BALANCE_TXN_TYPES))
            raise StripeError(400, f"Invalid type: must be one of {choices}", param="type")
        currency = params.get("currency")

        def keep(t: Txn) -> bool:
            return (kinds is None or t.type == kinds) and (
                currency is None or t.currency == str(currency).lower())

        allowed = frozenset({"created", "currency", "payout", "source", "type"})
        return 200, self._list(params, objects, "/v1/balance_transactions", allowed, keep, Txn)

    async def list_charges(self, request: Request, params: dict[str, Any]):
        """GET /v1/charges (created, customer, payment_intent)."""
        customer, intent = params.get("customer"), params.get("payment_intent")

        def keep(c: Charge) -> bool:
            return (customer is None or c.customer == customer) and (
                intent is None or c.payment_intent == intent)

        allowed = frozenset({"created", "customer", "payment_intent", "transfer_group"})
        return 200, self._list(params, self.data.charges, "/v1/charges", allowed, keep, Charge)

    async def list_refunds(self, request: Request, params: dict[str, Any]):
        """GET /v1/refunds (created, charge, payment_intent)."""
        charge, intent = params.get("charge"), params.get("payment_intent")

        def keep(r: Refund) -> bool:
            return (charge is None or r.charge == charge) and (
                intent is None or r.payment_intent == intent)

        allowed = frozenset({"created", "charge", "payment_intent"})
        return 200, self._list(params, self.data.refunds, "/v1/refunds", allowed, keep, Refund)

    async def list_disputes(self, request: Request, params: dict[str, Any]):
        """GET /v1/disputes (created, charge, payment_intent)."""
        charge, intent = params.get("charge"), params.get("payment_intent")

        def keep(d: Dispute) -> bool:
            return (charge is None or d.charge == charge) and (
                intent is None or d.payment_intent == intent)

        allowed = frozenset({"created", "charge", "payment_intent"})
        return 200, self._list(params, self.data.disputes, "/v1/disputes", allowed, keep,
                               Dispute)  # fmt: skip

    async def list_payouts(self, request: Request, params: dict[str, Any]):
        """GET /v1/payouts (created, arrival_date, destination, status)."""
        arrival_low, arrival_high = _range(params, "arrival_date")
        status, destination = params.get("status"), params.get("destination")
        now = int(self.config.clock())
        renderer = Renderer(self.data, now)

        def keep(p: Payout) -> bool:
            if arrival_low is not None and p.arrival_date < arrival_low:
                return False
            if arrival_high is not None and p.arrival_date > arrival_high:
                return False
            if destination is not None and p.destination != destination:
                return False
            return status is None or renderer.payout(p)["status"] == status

        allowed = frozenset({"arrival_date", "created", "destination", "status"})
        return 200, self._list(params, self.data.payouts, "/v1/payouts", allowed, keep, Payout)

    async def get_balance_transaction(self, request: Request, params: dict[str, Any]):
        """GET /v1/balance_transactions/{id}."""
        return 200, self._one(request, params, Txn)

    async def get_charge(self, request: Request, params: dict[str, Any]):
        """GET /v1/charges/{id}."""
        return 200, self._one(request, params, Charge)

    async def get_refund(self, request: Request, params: dict[str, Any]):
        """GET /v1/refunds/{id}."""
        return 200, self._one(request, params, Refund)

    async def get_dispute(self, request: Request, params: dict[str, Any]):
        """GET /v1/disputes/{id}."""
        return 200, self._one(request, params, Dispute)

    async def get_payout(self, request: Request, params: dict[str, Any]):
        """GET /v1/payouts/{id}."""
        return 200, self._one(request, params, Payout)

    async def get_account(self, request: Request, params: dict[str, Any]):
        """GET /v1/account: the account the key belongs to."""
        cfg = self.config
        interval = cfg.payout_schedule
        schedule: dict[str, Any] = {"delay_days": cfg.payout_delay_days, "interval": interval}
        if interval == "weekly":
            schedule["weekly_anchor"] = cfg.start.strftime("%A").lower()
        return 200, {
            "id": cfg.account_id,
            "object": "account",
            "business_profile": {"name": cfg.business_name, "support_email": cfg.email,
                                 "url": "https://bigledger-sandbox.example"},  # fmt: skip
            "business_type": "company",
            "capabilities": {"card_payments": "active", "transfers": "active"},
            "charges_enabled": True,
            "country": cfg.country,
            "created": int(cfg.start.timestamp()) - 30 * DAY,
            "default_currency": cfg.default_currency,
            "details_submitted": True,
            "email": cfg.email,
            "payouts_enabled": True,
            "settings": {"dashboard": {"display_name": cfg.business_name,
                                       "timezone": "Etc/UTC"},
                         "payouts": {"debit_negative_balances": True, "schedule": schedule,
                                     "statement_descriptor": None}},  # fmt: skip
            "type": "standard",
        }

    def balances(self) -> dict[str, tuple[int, int]]:
        """(available, pending) per currency as of the wall clock."""
        now = int(self.config.clock())
        out = {code: (0, 0) for code in self.config.currencies}
        for txn in self.data.txns.items:
            available, pending = out.get(txn.currency, (0, 0))
            if txn.available_on <= now:
                available += txn.net
            else:
                pending += txn.net
            out[txn.currency] = (available, pending)
        return out

    async def get_balance(self, request: Request, params: dict[str, Any]):
        """GET /v1/balance: available and pending per currency."""
        available, pending = [], []
        for code, (ready, waiting) in self.balances().items():
            available.append({"amount": ready, "currency": code, "source_types": {"card": ready}})
            pending.append({"amount": waiting, "currency": code,
                            "source_types": {"card": waiting}})  # fmt: skip
        return 200, {"object": "balance", "available": available, "pending": pending,
                     "livemode": False}  # fmt: skip

    # ---- test-mode writes with Idempotency-Key ---------------------------------------------

    def _write(self, create: Callable[[dict[str, Any]], dict[str, Any]]) -> Handler:
        """A POST handler that honours `Idempotency-Key` the way Stripe does: the first
        answer (error included) is stored and replayed; other parameters are refused."""

        async def handler(request: Request, params: dict[str, Any]) -> tuple[int, Any]:
            mode = params.pop("__mode")
            key = request.headers.get("idempotency-key")
            fingerprint = hashlib.sha256(
                (request.url.path + json.dumps(params, sort_keys=True)).encode()).hexdigest()
            if key is not None:
                if len(key) > 255:
                    raise StripeError(400, "Idempotency-Key must be at most 255 characters.",
                                      param="Idempotency-Key")  # fmt: skip
                stored = self._idempotency.get((mode, key))
                if stored is not None:
                    if stored[0] != fingerprint:
                        raise StripeError(
                            400, "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{key}' if you meant to execute a different request.",
                            type="idempotency_error")  # fmt: skip
                    self.stats.idempotent_replays += 1
                    response = self._json(stored[2], stored[1],
                                          {"Idempotent-Replayed": "true"})  # fmt: skip
                    return stored[1], response
            self._idempotency_key, self.write_mode = key, mode
            try:
                status, body = 200, create(params)
                self.stats.writes += 1
            except StripeError as exc:
                status, body = exc.status, exc.body
            finally:
                self._idempotency_key = None
            if key is not None:
                self._idempotency[(mode, key)] = (fingerprint, status, body)
            if status != 200:
                return status, self._json(body, status)
            return status, body

        return handler

    def _amount(self, params: dict[str, Any], currency: str, name: str = "amount",
                required: bool = True) -> int | None:  # fmt: skip
        raw = params.get(name)
        if raw is None:
            if required:
                raise StripeError(400, f"Missing required param: {name}.",
                                  code="parameter_missing", param=name)  # fmt: skip
            return None
        amount = _int(raw, name)
        if amount <= 0:
            raise StripeError(400, "This value must be greater than or equal to 1.",
                              code="parameter_invalid_integer", param=name)  # fmt: skip
        step = stripe_currency(currency).step
        if amount % step:
            raise StripeError(400, f"Invalid amount for {currency}: must be a multiple of {step}.",
                              code="invalid_charge_amount", param=name)  # fmt: skip
        return amount

    def _currency(self, params: dict[str, Any]) -> str:
        currency = params.get("currency")
        if not isinstance(currency, str) or not currency:
            raise StripeError(400, "Missing required param: currency.",
                              code="parameter_missing", param="currency")  # fmt: skip
        currency = currency.lower()
        if currency not in self.config.currencies:
            raise StripeError(400, f"Invalid currency: {currency}. This account settles in "
                              f"{', '.join(self.config.currencies)}.", param="currency")
        return currency

    @staticmethod
    def _known(params: dict[str, Any], allowed: set[str]) -> None:
        for name in params:
            if name not in allowed:
                raise StripeError(400, f"Received unknown parameter: {name}", param=name)

    def _metadata(self, params: dict[str, Any]) -> dict[str, str]:
        metadata = params.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise StripeError(400, "Invalid object", param="metadata")
        return {str(k): str(v) for k, v in metadata.items()}

    def create_charge(self, params: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/charges: a captured card charge, available after the payout delay."""
        self._known(params, {"amount", "currency", "source", "customer", "description",
                             "metadata", "expand", "capture", "receipt_email"})  # fmt: skip
        currency = self._currency(params)
        amount = self._amount(params, currency)
        assert amount is not None
        if params.get("source") is None and params.get("customer") is None:
            raise StripeError(400, "Must provide source or customer.", code="parameter_missing",
                              param="source")  # fmt: skip
        data, cur = self.data, stripe_currency(currency)
        now, seq = int(self.config.clock()), data.next_seq()
        seed = self.config.seed
        fee = min(cur.processing_fee(amount), amount - cur.step) if amount > cur.step else 0
        metadata = self._metadata(params)
        charge_id = stripe_id("ch_", seed, "runtime-charge", seq)
        txn = Txn(stripe_id("txn_", seed, "runtime-txn", seq), "charge", "charge", amount, fee,
                  currency, now, day_start(now) + self.config.payout_delay_days * DAY,
                  charge_id, params.get("description"),
                  ((fee, "stripe_fee", "Stripe processing fees"),) if fee else (), seq)
        charge = Charge(charge_id, -seq, amount, currency, now, txn.id,
                        str(params.get("customer") or stripe_id("cus_", seed, "runtime", seq)),
                        "Test Customer", stripe_id("pi_", seed, "runtime-pi", seq),
                        stripe_id("pm_", seed, "runtime-pm", seq), "visa", "4242",
                        metadata.get("order_id"), params.get("description"), seq=seq)
        data.by_id[charge.id] = charge
        data.charges.add(charge)
        data.add_txn(txn)
        self.webhooks.event("charge.succeeded", self._renderer().render(charge),
                            idempotency_key=self._idempotency_key)  # fmt: skip
        return self._created(charge, params)

    def create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/refunds: refund (part of) a charge, never more than is left."""
        self._known(params, {"charge", "payment_intent", "amount", "reason", "metadata",
                             "expand"})  # fmt: skip
        data = self.data
        charge: Charge | None = None
        if params.get("charge") is not None:
            found = data.get(params["charge"])
            charge = found if isinstance(found, Charge) else None
            if charge is None:
                raise StripeError(400, f"No such charge: '{params['charge']}'",
                                  code="resource_missing", param="charge")  # fmt: skip
        elif params.get("payment_intent") is not None:
            intent = params["payment_intent"]
            charge = next((c for c in data.charges.items if c.payment_intent == intent), None)
            if charge is None:
                raise StripeError(400, f"No such payment_intent: '{intent}'",
                                  code="resource_missing", param="payment_intent")  # fmt: skip
        else:
            raise StripeError(400, "One of the following params should be provided for this "
                              "request: payment_intent or charge.", code="parameter_missing")
        refunded = sum(data.by_id[r].amount for r in charge.refunds)
        left = charge.amount - refunded
        if charge.dispute is not None or left <= 0:
            raise StripeError(400, f"Charge {charge.id} has already been refunded.",
                              code="charge_already_refunded")  # fmt: skip
        amount = self._amount(params, charge.currency, required=False) or left
        if amount > left:
            raise StripeError(400, f"Refund amount ({amount}) is greater than unrefunded "
                              f"amount on charge ({left})", code="amount_too_large",
                              param="amount")  # fmt: skip
        reason = params.get("reason")
        if reason is not None and reason not in ("duplicate", "fraudulent",
                                                 "requested_by_customer"):  # fmt: skip
            raise StripeError(400, f"Invalid reason: {reason}", param="reason")
        before = self._renderer().render(charge)
        now, seq, seed = int(self.config.clock()), data.next_seq(), self.config.seed
        refund_id = stripe_id("re_", seed, "runtime-refund", seq)
        txn = Txn(stripe_id("txn_", seed, "runtime-txn", seq), "refund", "refund", -amount, 0,
                  charge.currency, now, now, refund_id, "REFUND FOR CHARGE", (), seq)
        refund = Refund(refund_id, charge.id, charge.payment_intent, amount, charge.currency,
                        now, txn.id, reason, self._metadata(params), seq)
        data.by_id[refund.id] = refund
        charge.refunds.append(refund.id)
        data.refunds.add(refund)
        data.add_txn(txn)
        renderer = self._renderer()
        after = renderer.render(charge)
        changed = {k: before.get(k) for k in ("amount_refunded", "refunded", "refunds")
                   if k in after and before.get(k) != after.get(k)}  # fmt: skip
        self.webhooks.event("charge.refunded", after, changed,
                            idempotency_key=self._idempotency_key)  # fmt: skip
        self.webhooks.event("refund.created", renderer.render(refund),
                            idempotency_key=self._idempotency_key)  # fmt: skip
        return self._created(refund, params)

    def create_payout(self, params: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/payouts: a manual payout of available funds."""
        self._known(params, {"amount", "currency", "description", "metadata", "method",
                             "statement_descriptor", "expand"})  # fmt: skip
        currency = self._currency(params)
        amount = self._amount(params, currency)
        assert amount is not None
        available = self.balances()[currency][0]
        if amount > available:
            raise StripeError(400, "You have insufficient funds in your Stripe account for this "
                              "transfer. Your card balance is too low.",
                              code="balance_insufficient", param="amount")  # fmt: skip
        data, now, seq, seed = self.data, int(self.config.clock()), self.data.next_seq(), \
            self.config.seed  # fmt: skip
        payout_id = stripe_id("po_", seed, "runtime-payout", seq)
        txn = Txn(stripe_id("txn_", seed, "runtime-txn", seq), "payout", "payout", -amount, 0,
                  currency, now, now, payout_id, params.get("description") or "STRIPE PAYOUT",
                  (), seq, 9, payout_id)
        # A manual payout tracks no transactions but its own.
        payout = Payout(payout_id, amount, currency, now, day_start(now) + DAY, txn.id,
                        stripe_id("ba_", seed, "bank", currency), automatic=False,
                        description=params.get("description"), members=[txn.id], seq=seq)
        data.by_id[payout.id] = payout
        data.payouts.add(payout)
        data.add_txn(txn)
        self.webhooks.event("payout.created", self._renderer().render(payout),
                            idempotency_key=self._idempotency_key)  # fmt: skip
        return self._created(payout, params)

    def _created(self, obj: Any, params: dict[str, Any]) -> dict[str, Any]:
        renderer = self._renderer()
        body = renderer.render(obj)
        self._expand(renderer, body, params)
        return body

    def _post(self, create: Callable[[dict[str, Any]], dict[str, Any]]):
        return self._api(self._write(create))

    # ---- control --------------------------------------------------------------------------

    async def control_endpoint(self, request: Request) -> Response:
        """GET shows the state; POST applies a ControlRequest."""
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
        """Counters since start or the last reset."""
        return JSONResponse({**asdict(self.stats), "dataset": self.config.dataset_summary(),
                             "webhooks": self.webhooks.sender.describe()})  # fmt: skip

    # ---- webhook endpoints (sandbox/stripe/webhooks.py) ----------------------------------

    async def list_webhook_endpoints(self, request: Request, params: dict[str, Any]):
        return 200, self.webhooks.listing(params)

    async def webhook_endpoint(self, request: Request, params: dict[str, Any]):
        endpoint_id = request.path_params["id"]
        if request.method == "DELETE":
            return 200, self.webhooks.delete(endpoint_id)
        if request.method == "POST":
            return 200, self.webhooks.update(endpoint_id, params)
        for name in params:
            if name != "expand":
                raise StripeError(400, f"Received unknown parameter: {name}", param=name)
        return 200, self.webhooks.render(self.webhooks._get(endpoint_id))

    def routes(self) -> list[Route]:
        """Routes with absolute `/v1/...` paths (no catch-all, so another platform's `/v1`
        routes can sit beside them) and the control routes."""
        api = self._api
        after = deliver_after_response  # writes deliver their events after answering
        return [
            Route("/v1/account", api(self.get_account), methods=["GET"]),
            Route("/v1/balance", api(self.get_balance), methods=["GET"]),
            Route("/v1/balance_transactions", api(self.list_balance_transactions),
                  methods=["GET"]),  # fmt: skip
            Route("/v1/balance_transactions/{id}", api(self.get_balance_transaction),
                  methods=["GET"]),  # fmt: skip
            Route("/v1/charges", api(self.list_charges), methods=["GET"]),
            Route("/v1/charges", after(self._post(self.create_charge)), methods=["POST"]),
            Route("/v1/charges/{id}", api(self.get_charge), methods=["GET"]),
            Route("/v1/refunds", api(self.list_refunds), methods=["GET"]),
            Route("/v1/refunds", after(self._post(self.create_refund)), methods=["POST"]),
            Route("/v1/refunds/{id}", api(self.get_refund), methods=["GET"]),
            Route("/v1/disputes", api(self.list_disputes), methods=["GET"]),
            Route("/v1/disputes/{id}", api(self.get_dispute), methods=["GET"]),
            Route("/v1/payouts", api(self.list_payouts), methods=["GET"]),
            Route("/v1/payouts", after(self._post(self.create_payout)), methods=["POST"]),
            Route("/v1/payouts/{id}", api(self.get_payout), methods=["GET"]),
            Route("/v1/webhook_endpoints", api(self.list_webhook_endpoints), methods=["GET"]),
            Route("/v1/webhook_endpoints", self._post(self.webhooks.create), methods=["POST"]),
            Route("/v1/webhook_endpoints/{id}", api(self.webhook_endpoint),
                  methods=["GET", "POST", "DELETE"]),  # fmt: skip
            Route(f"{CONTROL_PREFIX}/control", self.control_endpoint, methods=["GET", "POST"]),
            Route(f"{CONTROL_PREFIX}/stats", self.stats_endpoint, methods=["GET"]),
        ]


def _bisect(keys: list[tuple[int, int]], key: tuple[int, int]) -> int:
    return bisect.bisect_left(keys, key)


def create_app(config: StripeSandboxConfig | None = None, **overrides: Any) -> Starlette:
    """A Starlette app serving one Stripe sandbox; `app.state.sandbox` is its state."""
    if overrides:
        config = (config or StripeSandboxConfig()).with_changes(**overrides)
    sandbox = StripeSandbox(config)
    app = Starlette(routes=sandbox.routes())
    app.state.sandbox = sandbox
    return app
