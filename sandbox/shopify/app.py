"""The Shopify Admin GraphQL sandbox as an ASGI app.

Request path, in this order: version check, faults that act
before the app (slow, 5xx, 429), authentication, body parsing, GraphQL parse + validation,
cost calculation and the single-query maximum, the leaky bucket (or a throttle storm),
execution, then the response (which a malformed-body fault may mangle).

Control routes (`/__sandbox/...`) need no token: they are the test harness's handle.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from typing import Any, Literal

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    execute_sync,
    parse,
    specified_rules,
    validate,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.shopify.bulk import BulkRunner
from sandbox.shopify.catalog import CatalogError, ProductCatalog
from sandbox.shopify.config import ShopifySandboxConfig, parse_start
from sandbox.shopify.cost import LeakyBucket, plan_cost
from sandbox.shopify.customers import CustomerDirectory, CustomerError
from sandbox.shopify.executor import EXECUTOR_CLASS
from sandbox.shopify.faults import (
    RATE_LIMIT_BODY,
    FaultPlan,
    FaultsSpec,
    Stats,
    corrupt,
    server_error_body,
)
from sandbox.shopify.schema import shopify_schema
from sandbox.shopify.store import ActionError, OrderStore
from sandbox.shopify.webhooks import DEFAULT_API_VERSION, ShopifyWebhooks
from sandbox.webhook_sender import WebhookControl, deliver_after_response

try:  # orjson is several times faster for big pages; plain json is the fallback.
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value)

except ImportError:  # pragma: no cover - depends on the environment

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


log = logging.getLogger(__name__)

VERSION_RE = re.compile(r"\d{4}-\d{2}|unstable")
UNAUTHORIZED_BODY = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
MISSING_QUERY_BODY = {"errors": {"query": "Required parameter missing or invalid"}}
THROTTLED_ERROR = {
    "message": "Throttled",
    "extensions": {
        "code": "THROTTLED",
        "documentation": "https://shopify.dev/api/usage/rate-limits",
    },
}
JSON_TYPE = "application/json; charset=utf-8"

# Shopify runs graphql-ruby, whose validation errors carry these codes.
_RULE_CODES = {
    "ExecutableDefinitionsRule": "definitionNotExecutable",
    "KnownOperationTypesRule": "missingOperationType",
    "UniqueOperationNamesRule": "operationNotUnique",
    "LoneAnonymousOperationRule": "anonymousOperationNotAlone",
    "KnownTypeNamesRule": "undefinedType",
    "FragmentsOnCompositeTypesRule": "fragmentOnNonCompositeType",
    "VariablesAreInputTypesRule": "variableRequiresValidType",
    "ScalarLeafsRule": "selectionMismatch",
    "FieldsOnCorrectTypeRule": "undefinedField",
    "UniqueFragmentNamesRule": "fragmentNotUnique",
    "KnownFragmentNamesRule": "undefinedFragment",
    "NoUnusedFragmentsRule": "useAndDefineFragment",
    "PossibleFragmentSpreadsRule": "cannotSpreadFragment",
    "NoFragmentCyclesRule": "infiniteLoop",
    "UniqueVariableNamesRule": "variableNotUnique",
    "NoUndefinedVariablesRule": "variableNotDefined",
    "NoUnusedVariablesRule": "variableNotUsed",
    "KnownDirectivesRule": "undefinedDirective",
    "UniqueDirectivesPerLocationRule": "directiveNotUniqueForLocation",
    "KnownArgumentNamesRule": "argumentNotAccepted",
    "UniqueArgumentNamesRule": "argumentNotUnique",
    "ValuesOfCorrectTypeRule": "argumentLiteralsIncompatible",
    "ProvidedRequiredArgumentsRule": "missingRequiredArguments",
    "VariablesInAllowedPositionRule": "variableMismatch",
    "OverlappingFieldsCanBeMergedRule": "fieldConflict",
    "UniqueInputFieldNamesRule": "inputFieldNotUnique",
}


def _validate(schema: Any, document: DocumentNode) -> list[GraphQLError]:
    """graphql-core validation with each error stamped with its Shopify-style code.

    Rules report through different channels, so the code is found by re-running the rules
    one by one, which only happens for invalid documents (and those are cached)."""
    errors = validate(schema, document)
    if not errors:
        return errors
    codes: dict[tuple[str, str], str] = {}
    for rule in specified_rules:
        for error in validate(schema, document, [rule]):
            codes.setdefault(_error_key(error), _RULE_CODES.get(rule.__name__, "validationFailed"))
    for error in errors:
        code = codes.get(_error_key(error), "validationFailed")
        error.extensions = {**(error.extensions or {}), "code": code}
    return errors


def _error_key(error: GraphQLError) -> tuple[str, str]:
    return error.message, repr(error.locations)


def _format_error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = list(error.path)
    extensions = dict(error.extensions or {})
    if "code" not in extensions:
        if error.path is None:  # raised before execution: variables or operation choice
            is_variable = error.message.startswith("Variable")
            extensions["code"] = "INVALID_VARIABLE" if is_variable else "BAD_REQUEST"
        else:  # an unexpected exception inside a resolver: a sandbox bug, say so
            log.error("resolver failed at %s", error.path, exc_info=error.original_error)
            formatted["message"] = "Internal error. Looks like something went wrong on our end."
            extensions["code"] = "INTERNAL_SERVER_ERROR"
    formatted["extensions"] = extensions
    return formatted


# ---- control models -----------------------------------------------------------------------


class DatasetSpec(BaseModel):
    """Fields of `dataset` in POST /__sandbox/control; absent ones keep their value."""

    model_config = ConfigDict(extra="forbid")
    seed: int | None = None
    size: int | None = Field(None, ge=0)
    currency: str | None = None
    start: str | None = None
    interval_seconds: int | None = Field(None, ge=1)
    customer_pool: int | None = Field(None, ge=1)
    products: int | None = Field(None, ge=0)
    timezone: str | None = None
    money_format: Literal["fixed", "trimmed"] | None = None


class BucketSpec(BaseModel):
    """`bucket` in POST /__sandbox/control. `max_query_cost: null` lifts the limit."""

    model_config = ConfigDict(extra="forbid")
    maximum_available: float | None = Field(None, gt=0)
    restore_rate: float | None = Field(None, ge=0)
    max_query_cost: int | None = Field(None, ge=1)
    refill: bool = False
    drain: bool = False
    available: float | None = Field(None, ge=0, description="set the current level")


class BulkSpec(BaseModel):
    """`bulk` in POST /__sandbox/control: bulk operation timing (config clock seconds)."""

    model_config = ConfigDict(extra="forbid")
    queue_seconds: float | None = Field(None, ge=0)
    objects_per_second: float | None = Field(None, ge=0, description="0: unpaced")
    url_ttl_seconds: float | None = Field(None, ge=0)


class ControlRequest(BaseModel):
    """Body of POST /__sandbox/control; every key optional, applied in this order."""

    model_config = ConfigDict(extra="forbid")
    clear_faults: bool = False
    faults: FaultsSpec | None = None
    dataset: DatasetSpec | None = None
    throttling: bool | None = None
    bucket: BucketSpec | None = None
    access_tokens: list[str] | None = None
    bulk: BulkSpec | None = None
    reset_stats: bool = False
    webhooks: WebhookControl | None = None


class ProductUpdateRequest(BaseModel):
    """Body of POST /__sandbox/products/{legacyId}/update: bump updatedAt, maybe edit."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["touch"] = "touch"
    title: str | None = None
    status: Literal["ACTIVE", "DRAFT", "ARCHIVED"] | None = None


class CustomerUpdateRequest(BaseModel):
    """Body of POST /__sandbox/customers/{legacyId}/update: bump updatedAt, maybe edit."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["touch"] = "touch"
    firstName: str | None = None  # noqa: N815 - Shopify's field names
    lastName: str | None = None  # noqa: N815
    email: str | None = None
    state: Literal["ENABLED", "DISABLED", "INVITED", "DECLINED"] | None = None


class OrderCreateRequest(BaseModel):
    """Body of POST /__sandbox/orders/create: a new order placed now."""

    model_config = ConfigDict(extra="forbid")
    financial_status: Literal["PAID", "PENDING", "AUTHORIZED", "PARTIALLY_PAID"] = "PAID"
    note: str | None = None


class OrderUpdateRequest(BaseModel):
    """Body of POST /__sandbox/orders/{legacyId}/update."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["touch", "refund", "cancel", "pay", "fulfill"]
    amount: str | None = Field(None, description="refund amount in shop currency; default all")
    reason: Literal["CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"] | None = None
    note: str | None = None


# ---- the sandbox ---------------------------------------------------------------------------


class ShopifySandbox:
    """State of one emulated shop (data, bucket, faults, stats) and its request handlers."""

    def __init__(self, config: ShopifySandboxConfig | None = None) -> None:
        self.config = config or ShopifySandboxConfig()
        self.schema = shopify_schema()
        self.store = OrderStore(self.config)
        self._catalog: ProductCatalog | None = None
        self._customers: CustomerDirectory | None = None
        self.bucket = self._new_bucket(self.config)
        self.faults = FaultPlan()
        self.stats = Stats()
        self._documents: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError]]] = (
            OrderedDict()
        )
        self._sequence = 0
        self.bulk = BulkRunner(self)
        # The leaf fast path; None means graphql-core's stock executor (tests compare both).
        self.executor_class: type | None = EXECUTOR_CLASS
        # Subscriptions and signed deliveries; the API version of the request being served
        # is the one a new subscription is created with (X-Shopify-API-Version).
        self.webhooks = ShopifyWebhooks(self)
        self.current_api_version = DEFAULT_API_VERSION

    @property
    def catalog(self) -> ProductCatalog:
        """Products, stock and locations; built on first use from the order store's pool."""
        if self._catalog is None or self._catalog.dataset is not self.store.dataset:
            self._catalog = ProductCatalog(self.store.dataset, self.config)
        return self._catalog

    @property
    def customers(self) -> CustomerDirectory:
        """The customer pool orders buy from; built on first use, rebuilt with the data."""
        if self._customers is None or self._customers.store is not self.store:
            self._customers = CustomerDirectory(self.store, self.config)
        return self._customers

    @property
    def customers_if_built(self) -> CustomerDirectory | None:
        """The directory when it exists for the current data (no build), else None."""
        directory = self._customers
        return directory if directory is not None and directory.store is self.store else None

    @staticmethod
    def _new_bucket(config: ShopifySandboxConfig) -> LeakyBucket:
        return LeakyBucket(
            config.maximum_available, config.restore_rate, config.monotonic, config.throttling
        )

    # ---- configuration --------------------------------------------------------------

    def reconfigure(self, rebuild: bool = False, **changes: Any) -> None:
        """Apply config changes; dataset fields (or `rebuild`) regenerate the data and drop
        every runtime order change."""
        self.config = self.config.with_changes(**changes)
        dataset_keys = {"seed", "size", "currency", "start", "interval_seconds",
                        "customer_pool", "products", "timezone", "money_format"}  # fmt: skip
        if rebuild or dataset_keys & set(changes):
            self.bulk.cancel_all()
            self.store = OrderStore(self.config)
            # A new dataset is a new shop: its app's subscriptions go with the old one.
            self.webhooks.sender.reset()
        if {"maximum_available", "restore_rate", "throttling", "monotonic"} & set(changes):
            self.bucket = self._new_bucket(self.config)

    def state(self) -> dict[str, Any]:
        """What GET /__sandbox/control shows."""
        return {
            "dataset": self.config.dataset_summary(),
            "throttling": self.config.throttling,
            "bucket": {
                **self.bucket.status(),
                "maxQueryCost": self.config.max_query_cost,
            },
            "faults": self.faults.describe(),
            "access_tokens": len(self.config.access_tokens),
            "modified_orders": len(self.store.overlay),
            "webhooks": self.webhooks.sender.describe(),
        }

    # ---- GraphQL pipeline (no HTTP, no faults except the throttle storm) ----------------

    def _document(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """Parsed and validated document, cached by query text (clients repeat queries)."""
        cached = self._documents.get(query)
        if cached is not None:
            self._documents.move_to_end(query)
            return cached
        try:
            document: DocumentNode | None = parse(query)
        except GraphQLSyntaxError as exc:
            exc.extensions = {"code": "parseError"}
            result: tuple[DocumentNode | None, list[GraphQLError]] = (None, [exc])
        else:
            errors = _validate(self.schema, document)
            result = (None, errors) if errors else (document, [])
        self._documents[query] = result
        if len(self._documents) > 128:
            self._documents.popitem(last=False)
        return result

    def _cost(self, requested: int | None, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": self.bucket.status(),
        }

    def run(
        self,
        query: str,
        variables: Any = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """Execute one GraphQL request and return the response body as Shopify shapes it."""
        if variables is not None and not isinstance(variables, dict):
            error = {"message": "Variables must be a JSON object",
                     "extensions": {"code": "INVALID_VARIABLE"}}  # fmt: skip
            return {"errors": [error], "extensions": {"cost": self._cost(0, 0)}}
        document, errors = self._document(query)
        if document is None:
            self.stats.invalid_queries += 1
            return {
                "errors": [_format_error(e) for e in errors],
                "extensions": {"cost": self._cost(0, 0)},
            }
        plan = plan_cost(self.schema, document, operation_name, variables)
        requested = plan.requested()
        limit = self.config.max_query_cost
        if limit is not None and requested > limit:
            self.stats.max_cost_exceeded += 1
            message = (
                f"Query cost is {requested}, which exceeds the single query max cost limit "
                f"({limit}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for "
                "more information on how the\ncost of a query is calculated.\n\nTo query "
                "larger amounts of data with fewer limits, bulk operations should be used "
                "instead.\nSee https://shopify.dev/api/usage/bulk-operations/queries for "
                "usage details.\n"
            )
            error = {
                "message": message,
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": limit},
            }
            return {"errors": [error], "extensions": {"cost": self._cost(requested, None)}}
        if self.faults.throttle_storm.fire():
            self.stats.faults_served["throttle_storm"] += 1
            return self._throttled(requested)
        if not self.bucket.try_spend(requested):
            return self._throttled(requested)
        context: dict[str, Any] = {"sandbox": self}
        extra = {"executor_class": self.executor_class} if self.executor_class else {}
        result = execute_sync(
            self.schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            **extra,
        )
        actual = plan.actual(result.data)
        self.bucket.give_back(requested - actual)
        self.stats.executed += 1
        self.stats.actual_cost += actual
        body: dict[str, Any] = {}
        if result.errors:
            formatted = [_format_error(e) for e in result.errors]
            if result.data is not None or any(e.path for e in result.errors):
                body["data"] = result.data
            body["errors"] = formatted
        else:
            body["data"] = result.data
        extensions: dict[str, Any] = {"cost": self._cost(requested, actual)}
        if context.get("search"):
            extensions["search"] = context["search"]
        body["extensions"] = extensions
        return body

    def _throttled(self, requested: int) -> dict[str, Any]:
        self.stats.throttled += 1
        return {"errors": [THROTTLED_ERROR], "extensions": {"cost": self._cost(requested, None)}}

    # ---- HTTP handlers --------------------------------------------------------------

    async def graphql_endpoint(self, request: Request) -> Response:
        version = request.path_params["version"]
        if not VERSION_RE.fullmatch(version):
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        self.stats.requests += 1
        self._sequence += 1
        self.bulk.base_url = str(request.base_url).rstrip("/")
        self.current_api_version = version
        headers = {
            "X-Shopify-API-Version": version,
            "X-Request-Id": f"sandbox-{self._sequence:08d}",
        }
        faults = self.faults
        if faults.slow.fire():
            self.stats.faults_served["slow"] += 1
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.http_5xx.fire():
            self.stats.faults_served["http_5xx"] += 1
            content, media = server_error_body(faults.status_5xx, faults.body_5xx)
            return Response(content, faults.status_5xx, headers=headers, media_type=media)
        if faults.http_429.fire():
            self.stats.faults_served["http_429"] += 1
            headers["Retry-After"] = faults.retry_after_header()
            return Response(_dumps(RATE_LIMIT_BODY), 429, headers=headers, media_type=JSON_TYPE)
        token = request.headers.get("x-shopify-access-token")
        if faults.token_revoked or token not in self.config.access_tokens:
            self.stats.unauthorized += 1
            if faults.token_revoked:
                self.stats.faults_served["token_revoked"] += 1
            return Response(_dumps(UNAUTHORIZED_BODY), 401, headers=headers, media_type=JSON_TYPE)

        query, variables, operation_name = await self._read_body(request)
        if not query:
            return Response(_dumps(MISSING_QUERY_BODY), 400, headers=headers, media_type=JSON_TYPE)
        payload = _dumps(self.run(query, variables, operation_name))
        if faults.malformed.fire():
            self.stats.faults_served["malformed"] += 1
            payload = corrupt(payload, faults.malformed_mode)
        return Response(payload, 200, headers=headers, media_type=JSON_TYPE)

    @staticmethod
    async def _read_body(request: Request) -> tuple[str | None, Any, str | None]:
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/graphql"):
            return raw.decode("utf-8", "replace"), None, None
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return None, None, None
        if not isinstance(data, dict) or not isinstance(data.get("query"), str):
            return None, None, None
        operation = data.get("operationName")
        if not isinstance(operation, str):
            operation = None
        return data["query"], data.get("variables"), operation

    async def control_endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(self.state())
        try:
            spec = ControlRequest.model_validate_json(await request.body() or b"{}")
            self.apply_control(spec)
        except ValidationError as exc:
            return JSONResponse({"error": json.loads(exc.json())}, status_code=422)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse(self.state())

    def apply_control(self, spec: ControlRequest) -> None:
        """Apply a control request (also usable directly from tests)."""
        if spec.clear_faults:
            self.faults = FaultPlan()
        if spec.faults is not None:
            spec.faults.apply(self.faults)
        changes: dict[str, Any] = {}
        if spec.dataset is not None:
            dataset = spec.dataset.model_dump(exclude_unset=True)
            if "start" in dataset and dataset["start"] is not None:
                dataset["start"] = parse_start(dataset["start"])
            changes.update({k: v for k, v in dataset.items() if v is not None or k == "timezone"})
        if spec.throttling is not None:
            changes["throttling"] = spec.throttling
        if spec.access_tokens is not None:
            changes["access_tokens"] = tuple(spec.access_tokens)
        if spec.bulk is not None:
            for key, value in spec.bulk.model_dump(exclude_unset=True).items():
                if key == "objects_per_second":
                    value = value or None
                changes[f"bulk_{key}"] = value
        bucket = spec.bucket
        if bucket is not None:
            for key in ("maximum_available", "restore_rate"):
                if getattr(bucket, key) is not None:
                    changes[key] = getattr(bucket, key)
            if "max_query_cost" in bucket.model_fields_set:
                changes["max_query_cost"] = bucket.max_query_cost
        if changes or spec.dataset is not None:
            # Any `dataset` key is a reset, even `{}`: runtime order changes are dropped.
            self.reconfigure(rebuild=spec.dataset is not None, **changes)
        if bucket is not None:
            if bucket.refill:
                self.bucket.reset()
            if bucket.drain:
                self.bucket.drain()
            if bucket.available is not None:
                self.bucket.reset()
                self.bucket.drain(self.bucket.maximum - bucket.available)
        if spec.reset_stats:
            self.stats = Stats()
        if spec.webhooks is not None:
            self.webhooks.sender.apply(spec.webhooks)

    async def stats_endpoint(self, request: Request) -> Response:
        return JSONResponse(
            {**self.stats.describe(), "throttleStatus": self.bucket.status(),
             "dataset": self.config.dataset_summary(),
             "webhooks": self.webhooks.sender.describe()}
        )  # fmt: skip

    async def create_order_endpoint(self, request: Request) -> Response:
        try:
            spec = OrderCreateRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            return JSONResponse({"error": json.loads(exc.json())}, status_code=422)
        order = self.store.create(spec.financial_status, spec.note)
        directory = self.customers_if_built
        if directory is not None:
            directory._orders_of = None  # the new order's buyer has one more order
        index = order["_index"]
        topics = ["orders/create"] + (["orders/paid"] if spec.financial_status == "PAID" else [])
        self.webhooks.order_events(index, topics)
        return JSONResponse({
            "id": order["id"],
            "legacyResourceId": order["legacyResourceId"],
            "name": order["name"],
            "createdAt": order["createdAt"],
            "updatedAt": order["updatedAt"],
            "displayFinancialStatus": order["displayFinancialStatus"],
            "totalPrice": order["totalPriceSet"]["shopMoney"]["amount"],
        })  # fmt: skip

    async def update_order_endpoint(self, request: Request) -> Response:
        legacy_id = request.path_params["legacy_id"]
        try:
            spec = OrderUpdateRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            return JSONResponse({"error": json.loads(exc.json())}, status_code=422)
        index = self.store.index_of(legacy_id)
        # Which refunds are new decides refunds/create; counted only when someone listens.
        listening = bool(self.webhooks.sender.subscriptions)
        refunds_before = len(self.store.order(index)["_refunds"]) \
            if index is not None and listening else 0  # fmt: skip
        try:
            summary = self.store.update(
                legacy_id, spec.action, amount=spec.amount, reason=spec.reason, note=spec.note
            )
        except KeyError:
            return JSONResponse({"error": f"no order {legacy_id}"}, status_code=404)
        except ActionError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        assert index is not None
        new_refunds = self.store.order(index)["_refunds"][refunds_before:] if listening else []
        topics = {"touch": [], "refund": [], "cancel": ["orders/cancelled"],
                  "pay": ["orders/paid"], "fulfill": ["orders/fulfilled"]}[spec.action]
        if new_refunds:
            topics.append("refunds/create")
        self.webhooks.order_events(index, [*topics, "orders/updated"],
                                   refund=new_refunds[-1] if new_refunds else None)
        return JSONResponse(summary)

    async def update_product_endpoint(self, request: Request) -> Response:
        legacy_id = request.path_params["legacy_id"]
        try:
            spec = ProductUpdateRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            return JSONResponse({"error": json.loads(exc.json())}, status_code=422)
        try:
            summary = self.catalog.touch(legacy_id, spec.title, spec.status)
        except CatalogError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        self.webhooks.product_event("products/update", self.catalog.products[legacy_id])
        return JSONResponse(summary)

    async def update_customer_endpoint(self, request: Request) -> Response:
        legacy_id = request.path_params["legacy_id"]
        try:
            spec = CustomerUpdateRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            return JSONResponse({"error": json.loads(exc.json())}, status_code=422)
        try:
            summary = self.customers.touch(
                legacy_id, spec.firstName, spec.lastName, spec.email, spec.state
            )
        except CustomerError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        self.webhooks.customer_event("customers/update", self.customers.get(legacy_id) or {})
        return JSONResponse(summary)

    async def delete_product_endpoint(self, request: Request) -> Response:
        legacy_id = request.path_params["legacy_id"]
        try:
            summary = self.catalog.delete(legacy_id)
        except CatalogError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        self.webhooks.product_deleted(legacy_id)
        return JSONResponse(summary)

    def routes(self) -> list[Route]:
        """Routes with absolute paths, so a composite sandbox can list them beside others."""
        # Routes that cause events deliver their webhooks after answering.
        after = deliver_after_response
        return [
            Route("/admin/api/{version}/graphql.json", after(self.graphql_endpoint),
                  methods=["POST"]),  # fmt: skip
            Route("/__sandbox/control", self.control_endpoint, methods=["GET", "POST"]),
            Route("/__sandbox/stats", self.stats_endpoint, methods=["GET"]),
            Route(
                "/__sandbox/bulk/{number:int}.jsonl",
                self.bulk.download_endpoint,
                methods=["GET"],
            ),
            Route("/__sandbox/orders/create", after(self.create_order_endpoint),
                  methods=["POST"]),  # fmt: skip
            Route(
                "/__sandbox/orders/{legacy_id:int}/update",
                after(self.update_order_endpoint),
                methods=["POST"],
            ),
            Route(
                "/__sandbox/products/{legacy_id:int}/update",
                after(self.update_product_endpoint),
                methods=["POST"],
            ),
            Route(
                "/__sandbox/customers/{legacy_id:int}/update",
                after(self.update_customer_endpoint),
                methods=["POST"],
            ),
            Route(
                "/__sandbox/products/{legacy_id:int}/delete",
                after(self.delete_product_endpoint),
                methods=["POST"],
            ),
        ]


def create_app(config: ShopifySandboxConfig | None = None, **overrides: Any) -> Starlette:
    """A Starlette app serving one Shopify sandbox; `app.state.sandbox` is its state."""
    if overrides:
        config = (config or ShopifySandboxConfig()).with_changes(**overrides)
    sandbox = ShopifySandbox(config)
    app = Starlette(routes=sandbox.routes())
    app.state.sandbox = sandbox
    return app
