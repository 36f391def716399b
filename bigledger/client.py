"""A typed Python client of the BigLedger Integrations HTTP API (httpx, synchronous).

Grouped like the spec's JavaScript client, so its examples read line for line:

    with BigLedgerClient("http://127.0.0.1:8000", api_key) as client:
        integration = client.integrations.setup("shopify", {"name": "Main Store", ...})
        sync = client.integrations.shopify.sync_orders(integration.id, {"dateRange": ...})
        done = client.wait_for_sync(sync.sync_id, timeout=300)

Bodies are the spec's camelCase dicts, keyword arguments in snake_case, or both (keywords
win). Answers are pydantic models with snake_case attributes that also read by the wire's
camelCase key (`sync["ordersProcessed"]`); every field the server adds is kept. JSON is
parsed with Decimal for every non-integer number, so money stays exact. Errors raise a
BigLedgerError subclass carrying the API's code. The API key is never logged nor shown.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

__all__ = [
    "BigLedgerClient", "BigLedgerError", "AuthFailedError", "UnauthorizedError",
    "InvalidCredentialsError", "RateLimitExceededError", "WebhookVerificationFailedError",
    "DataMappingError", "DuplicateRecordError", "ValidationError", "NotFoundError",
    "PayloadTooLargeError", "PlatformUnavailableError", "PlatformError",
    "UnbalancedEntryError", "OrchestratorUnavailableError", "InternalServerError",
    "BigLedgerConnectionError", "SyncTimeoutError",
    "Integration", "Sync", "IntegrationStatus", "Health", "Analytics", "WebhookSubscription",
    "WebhookDeliveries", "Schedule", "ScheduleSet", "CustomConnector", "TransformResult",
    "CatalogEntry", "FINAL_SYNC_STATUSES",
]

FINAL_SYNC_STATUSES = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})
PLATFORMS = frozenset({"shopify", "woocommerce", "amazon", "stripe", "paypal", "quickbooks",
                       "xero", "custom"})


# --- errors ------------------------------------------------------------------------------


class BigLedgerError(Exception):
    """An error answer of the API: its code (the spec's), message, details, HTTP status."""

    code: str = "ERROR"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None,
                 status_code: int | None = None) -> None:
        super().__init__(message)
        self.code = code or type(self).code
        self.message = message
        self.details = details
        self.status_code = status_code

    def __str__(self) -> str:
        where = f" (HTTP {self.status_code})" if self.status_code else ""
        return f"{self.code}: {self.message}{where}"


class AuthFailedError(BigLedgerError):
    """The platform refused the integration's credentials."""

    code = "AUTH_FAILED"


class UnauthorizedError(BigLedgerError):
    """Our own API key was missing or wrong."""

    code = "UNAUTHORIZED"


class InvalidCredentialsError(BigLedgerError):
    code = "INVALID_CREDENTIALS"


class RateLimitExceededError(BigLedgerError):
    """Throttled; `retry_after` is in seconds when the server said (header or details)."""

    code = "RATE_LIMIT_EXCEEDED"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class WebhookVerificationFailedError(BigLedgerError):
    code = "WEBHOOK_VERIFICATION_FAILED"


class DataMappingError(BigLedgerError):
    code = "DATA_MAPPING_ERROR"


class DuplicateRecordError(BigLedgerError):
    code = "DUPLICATE_RECORD"


class ValidationError(BigLedgerError):
    """The request was refused as invalid (`details` names each field)."""

    code = "VALIDATION_ERROR"


class NotFoundError(BigLedgerError):
    code = "NOT_FOUND"


class PayloadTooLargeError(BigLedgerError):
    code = "PAYLOAD_TOO_LARGE"


class PlatformUnavailableError(BigLedgerError):
    code = "PLATFORM_UNAVAILABLE"


class PlatformError(BigLedgerError):
    code = "PLATFORM_ERROR"


class UnbalancedEntryError(BigLedgerError):
    code = "UNBALANCED_ENTRY"


class OrchestratorUnavailableError(BigLedgerError):
    """Prefect could not start the run (down, or the deployment not served)."""

    code = "ORCHESTRATOR_UNAVAILABLE"


class InternalServerError(BigLedgerError):
    code = "INTERNAL_ERROR"


class BigLedgerConnectionError(BigLedgerError):
    """The API could not be reached (refused, timed out, not HTTP)."""

    code = "CONNECTION_ERROR"


class SyncTimeoutError(BigLedgerError):
    """wait_for_sync gave up; `sync` is the last state seen."""

    code = "SYNC_TIMEOUT"

    def __init__(self, message: str, *, sync: Sync, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.sync = sync


_ERRORS: dict[str, type[BigLedgerError]] = {
    cls.code: cls for cls in (
        AuthFailedError, UnauthorizedError, InvalidCredentialsError, RateLimitExceededError,
        WebhookVerificationFailedError, DataMappingError, DuplicateRecordError,
        ValidationError, NotFoundError, PayloadTooLargeError, PlatformUnavailableError,
        PlatformError, UnbalancedEntryError, OrchestratorUnavailableError,
        InternalServerError)
}


# --- answers -----------------------------------------------------------------------------


class Answer(BaseModel):
    """An answer object: snake_case attributes, camelCase on the wire, extra fields kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def __getitem__(self, key: str) -> Any:
        """Read by the wire's key (`"ordersProcessed"`) or the attribute's name."""
        for name, info in type(self).model_fields.items():
            if key in (name, info.alias):
                return getattr(self, name)
        extra = self.model_extra or {}
        if key in extra:
            return extra[key]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def to_dict(self) -> dict[str, Any]:
        """The answer as the API sent it (camelCase keys)."""
        return self.model_dump(by_alias=True)


class CatalogEntry(Answer):
    id: str
    name: str
    description: str | None = None
    category: str | None = None
    status: str | None = None
    features: list[str] = Field(default_factory=list)
    setup_required: bool | None = None
    webhook_support: bool | None = None
    real_time_sync: bool | None = None


class Integration(Answer):
    """A set-up integration; `credentials` are masked by the server."""

    id: str
    integration_id: str | None = None
    platform: str
    name: str
    status: str
    settings: dict[str, Any] = Field(default_factory=dict)
    mapping: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class SyncError(Answer):
    code: str
    message: str | None = None


class Sync(Answer):
    """A sync (a flow run's record): status, counters at the top level as the spec shows
    them (`orders_processed`, `payments_created`, ... also under `counters`), money exact."""

    sync_id: str
    integration_id: str | None = None
    operation: str | None = None
    status: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    estimated_completion: datetime | None = None
    flow_run_id: str | None = None
    counters: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    error: SyncError | None = None
    orders_to_process: int | None = None
    orders_processed: int | None = None
    orders_created: int | None = None
    orders_updated: int | None = None
    orders_failed: int | None = None
    total_amount: Decimal | None = None
    total_fees: Decimal | None = None
    currency: str | None = None
    results: list[dict[str, Any]] | None = None

    @property
    def finished(self) -> bool:
        """True once the sync has a final status."""
        return self.status in FINAL_SYNC_STATUSES


class IntegrationStatus(Answer):
    integration_id: str
    status: str
    last_sync: datetime | None = None
    next_sync: datetime | None = None
    sync_frequency: str | None = None
    statistics: dict[str, Any] = Field(default_factory=dict)
    recent_errors: list[dict[str, Any]] = Field(default_factory=list)


class HealthCheck(Answer):
    name: str
    status: str
    response_time: int | Decimal | None = None
    last_checked: datetime | None = None
    last_received: datetime | None = None
    remaining: int | None = None
    reset_time: datetime | None = None


class Health(Answer):
    status: str
    checks: list[HealthCheck] = Field(default_factory=list)

    def check(self, name: str) -> HealthCheck | None:
        """The check of that name (connection, webhook_endpoint, rate_limits)."""
        return next((c for c in self.checks if c.name == name), None)


class AnalyticsSummary(Answer):
    active_integrations: int
    total_syncs: int
    success_rate: Decimal | None = None
    average_processing_time: Decimal | None = None


class IntegrationAnalytics(Answer):
    integration_id: str
    name: str | None = None
    type: str | None = None
    status: str | None = None
    syncs: int | None = None
    success_rate: Decimal | None = None
    last_sync: datetime | None = None
    data_volume: dict[str, Any] = Field(default_factory=dict)


class Analytics(Answer):
    summary: AnalyticsSummary
    by_integration: list[IntegrationAnalytics] = Field(default_factory=list)


class WebhookSubscription(Answer):
    """An outbound subscription; `secret` is "****" except in the create answer when the
    server generated it."""

    webhook_id: str
    integration_id: str
    events: list[str]
    endpoint: str
    active: bool
    secret: str | None = None
    signature_header: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class WebhookDelivery(Answer):
    delivery_id: int
    event_id: str | None = None
    event: str | None = None
    status: str
    attempts: int = 0
    attempt_history: list[dict[str, Any]] = Field(default_factory=list)


class WebhookDeliveries(Answer):
    items: list[WebhookDelivery]
    limit: int
    has_more: bool
    next_before: int | None = None


class Schedule(Answer):
    schedule_id: str
    integration_id: str
    operation: str
    frequency: str
    cron: str | None = None
    timezone: str | None = None
    kind: str | None = None
    active: bool = True
    next_sync: datetime | None = None
    deployment: str | None = None
    created_at: datetime | None = None


class ScheduleSet(Answer):
    """The answer of schedules.create: one schedule per operation."""

    integration_id: str
    frequency: str
    timezone: str | None = None
    operations: list[str]
    next_sync: datetime | None = None
    schedules: list[Schedule]


class CustomConnector(Answer):
    connector_id: str
    version: int
    name: str
    description: str | None = None
    authentication: dict[str, Any] | None = None
    endpoints: list[dict[str, Any]] = Field(default_factory=list)
    webhook_support: bool | None = None
    schedule_sync: bool | str | None = None
    created_at: datetime | None = None


class TransformResult(Answer):
    records: list[dict[str, Any]] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    loaded: dict[str, Any] | None = None


class Deleted(Answer):
    deleted: bool


class Page(Answer):
    """A page of ledger documents."""

    items: list[dict[str, Any]]
    page: int
    page_size: int
    total: int
    has_more: bool


M = TypeVar("M", bound=BaseModel)


# --- bodies ------------------------------------------------------------------------------


def _camel(name: str) -> str:
    return name if "_" not in name.strip("_") else to_camel(name.strip("_"))


def _body(body: Mapping[str, Any] | None, fields: Mapping[str, Any],
          **fixed: Any) -> dict[str, Any]:
    """The spec's camelCase dict, plus keyword fields (snake_case, camelized; None left out),
    plus what the method itself sets (the integration id of its first argument)."""
    merged: dict[str, Any] = dict(body or {})
    merged.update({_camel(k): v for k, v in fields.items() if v is not None})
    merged.update({k: v for k, v in fixed.items() if v is not None})
    return merged


def _split(first: Any, body: Mapping[str, Any] | None) -> tuple[str | None, Any]:
    """(integration id, body) for methods whose id is optional: `f(body)` or `f(id, body)`."""
    if isinstance(first, Mapping):
        return None, first
    return first, body


def _wire(value: Any) -> Any:
    """JSON-ready: Decimal as its exact string, dates ISO 8601 (UTC with Z), models by alias."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"a datetime without a time zone is ambiguous: {value!r}")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_wire(v) for v in value]
    return value


# --- the client --------------------------------------------------------------------------


class BigLedgerClient:
    """The API at `base_url`, authenticated with `api_key` (Bearer). Use as a context
    manager, or call close(). `transport` is any httpx transport (tests, proxies)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None,
                 user_agent: str = "bigledger-python-client") -> None:
        if not api_key:
            raise ValueError("api_key is required (the server's BIGLEDGER_API_KEY)")
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": user_agent,
                     "Accept": "application/json"})
        self.integrations = Integrations(self)
        self.ledger = Ledger(self)

    def __repr__(self) -> str:  # never the key
        return f"BigLedgerClient({self.base_url!r})"

    def __enter__(self) -> BigLedgerClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    # -- transport ---------------------------------------------------------------------

    def request(self, method: str, path: str, *, json_body: Any = None,
                params: Mapping[str, Any] | None = None) -> Any:
        """One call; the envelope's `data` (JSON numbers with a fraction as Decimal), or
        the error envelope raised as its BigLedgerError subclass."""
        content = None
        headers = {}
        if json_body is not None:
            content = json.dumps(_wire(json_body), separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        query = {k: _wire(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, path, content=content, params=query,
                                          headers=headers)
        except httpx.TimeoutException as exc:
            raise BigLedgerConnectionError(
                f"{method} {path}: no answer in time ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise BigLedgerConnectionError(
                f"{method} {path}: {type(exc).__name__}: {exc}") from None
        return self._data(method, path, response)

    def _data(self, method: str, path: str, response: httpx.Response) -> Any:
        try:
            envelope = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or "success" not in envelope:
            raise _http_error(response, f"{method} {path}: HTTP {response.status_code} "
                              "without the API's envelope")
        if envelope["success"] and response.is_success:
            return envelope.get("data")
        error = envelope.get("error") or {}
        return _raise(response, error)

    def _get(self, path: str, model: type[M] | Any, **params: Any) -> Any:
        return _parse(model, self.request("GET", path, params=params))

    def _post(self, path: str, model: type[M] | Any, body: Any) -> Any:
        return _parse(model, self.request("POST", path, json_body=body))

    # -- syncs -------------------------------------------------------------------------

    def wait_for_sync(self, sync: str | Sync, timeout: float = 600, *,
                      interval: float = 1.0) -> Sync:
        """Poll GET /v1/integrations/syncs/{syncId} until the sync's status is final
        (completed, completed_with_errors, failed, cancelled); SyncTimeoutError after
        `timeout` seconds. A failed sync is returned, not raised: its `error` says why."""
        sync_id = sync.sync_id if isinstance(sync, Sync) else sync
        deadline = time.monotonic() + timeout
        while True:
            current = self.integrations.syncs.get(sync_id)
            if current.finished:
                return current
            if time.monotonic() >= deadline:
                raise SyncTimeoutError(
                    f"sync {sync_id} still {current.status} after {timeout:.0f} s",
                    sync=current)
            time.sleep(min(interval, max(0.05, deadline - time.monotonic())))


def _parse(model: Any, data: Any) -> Any:
    if model is None:
        return data
    return TypeAdapter(model).validate_python(data)


def _retry_after(response: httpx.Response, details: Any) -> float | None:
    for raw in (response.headers.get("Retry-After"),
                details.get("retryAfter") if isinstance(details, dict) else None):
        if raw is None:
            continue
        try:
            return float(raw)
        except (TypeError, ValueError):
            continue
    return None


def _raise(response: httpx.Response, error: Mapping[str, Any]) -> Any:
    code = str(error.get("code") or f"HTTP_{response.status_code}")
    message = str(error.get("message") or response.reason_phrase or "error")
    details = error.get("details")
    cls = _ERRORS.get(code, BigLedgerError)
    kw: dict[str, Any] = {"code": code, "details": details,
                          "status_code": response.status_code}
    if cls is RateLimitExceededError:
        raise RateLimitExceededError(message, retry_after=_retry_after(response, details), **kw)
    raise cls(message, **kw)


def _http_error(response: httpx.Response, message: str) -> BigLedgerError:
    by_status = {401: UnauthorizedError, 404: NotFoundError, 413: PayloadTooLargeError,
                 422: ValidationError, 429: RateLimitExceededError}
    cls = by_status.get(response.status_code,
                        InternalServerError if response.status_code >= 500 else BigLedgerError)
    if cls is RateLimitExceededError:
        return RateLimitExceededError(message, retry_after=_retry_after(response, None),
                                      status_code=response.status_code)
    return cls(message, status_code=response.status_code,
               code=None if cls is not BigLedgerError else f"HTTP_{response.status_code}")


# --- groups ------------------------------------------------------------------------------


class _Group:
    def __init__(self, client: BigLedgerClient) -> None:
        self._client = client


class Syncs(_Group):
    """client.integrations.syncs"""

    def get(self, sync_id: str) -> Sync:
        """GET /v1/integrations/syncs/{syncId}: progress and result."""
        return self._client._get(f"/v1/integrations/syncs/{sync_id}", Sync)

    def wait(self, sync: str | Sync, timeout: float = 600, *, interval: float = 1.0) -> Sync:
        """Poll until the sync is final (see BigLedgerClient.wait_for_sync)."""
        return self._client.wait_for_sync(sync, timeout, interval=interval)


class Webhooks(_Group):
    """client.integrations.webhooks: outbound subscriptions to an integration's events."""

    def create(self, integration_id: str, body: Mapping[str, Any] | None = None, *,
               events: list[str] | None = None, endpoint: str | None = None,
               secret: str | None = None, active: bool | None = None) -> WebhookSubscription:
        """POST /v1/integrations/{integrationId}/webhooks (the spec's body)."""
        data = _body(body, {"events": events, "endpoint": endpoint, "secret": secret,
                            "active": active})
        return self._client._post(f"/v1/integrations/{integration_id}/webhooks",
                                  WebhookSubscription, data)

    def list(self, integration_id: str) -> list[WebhookSubscription]:
        return self._client._get(f"/v1/integrations/{integration_id}/webhooks",
                                 list[WebhookSubscription])

    def get(self, integration_id: str, webhook_id: str) -> WebhookSubscription:
        return self._client._get(f"/v1/integrations/{integration_id}/webhooks/{webhook_id}",
                                 WebhookSubscription)

    def update(self, integration_id: str, webhook_id: str,
               body: Mapping[str, Any] | None = None, **fields: Any) -> WebhookSubscription:
        """PATCH .../webhooks/{webhookId}: any of events, endpoint, secret, active."""
        data = _body(body, fields)
        return _parse(WebhookSubscription, self._client.request(
            "PATCH", f"/v1/integrations/{integration_id}/webhooks/{webhook_id}",
            json_body=data))

    def delete(self, integration_id: str, webhook_id: str) -> Deleted:
        return _parse(Deleted, self._client.request(
            "DELETE", f"/v1/integrations/{integration_id}/webhooks/{webhook_id}"))

    def deliveries(self, integration_id: str, webhook_id: str, *, limit: int | None = None,
                   before: int | None = None, status: str | None = None) -> WebhookDeliveries:
        """The subscription's deliveries, newest first, with every attempt."""
        return self._client._get(
            f"/v1/integrations/{integration_id}/webhooks/{webhook_id}/deliveries",
            WebhookDeliveries, limit=limit, before=before, status=status)


class Schedules(_Group):
    """client.integrations.schedules: operations repeated as Prefect deployment schedules."""

    def create(self, integration_id: str, body: Mapping[str, Any] | None = None, *,
               frequency: str | None = None, operations: list[str] | None = None,
               timezone: str | None = None) -> ScheduleSet:
        """POST /v1/integrations/{integrationId}/schedules: {frequency, operations}."""
        data = _body(body, {"frequency": frequency, "operations": operations,
                            "timezone": timezone})
        return self._client._post(f"/v1/integrations/{integration_id}/schedules",
                                  ScheduleSet, data)

    def list(self, integration_id: str) -> list[Schedule]:
        return self._client._get(f"/v1/integrations/{integration_id}/schedules",
                                 list[Schedule])

    def delete(self, integration_id: str, schedule_id: str) -> Deleted:
        return _parse(Deleted, self._client.request(
            "DELETE", f"/v1/integrations/{integration_id}/schedules/{schedule_id}"))


class _Platform(_Group):
    platform = ""

    def _sync(self, operation: str, integration_id: str | None,
              body: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> Sync:
        data = _body(body, fields, integrationId=integration_id)
        return self._client._post(f"/v1/integrations/{self.platform}/{operation}", Sync, data)


class Shopify(_Platform):
    """client.integrations.shopify"""

    platform = "shopify"

    def sync_orders(self, integration_id: str, body: Mapping[str, Any] | None = None,
                    **fields: Any) -> Sync:
        """POST .../shopify/sync-orders: dateRange, orderStatus, fulfillmentStatus,
        batchSize. Answers at once (status processing, ordersToProcess)."""
        return self._sync("sync-orders", integration_id, body, fields)

    def sync_products(self, integration_id: str, body: Mapping[str, Any] | None = None,
                      **fields: Any) -> Sync:
        """POST .../shopify/sync-products: syncType, includeVariants, includeInventory,
        publishedStatus."""
        return self._sync("sync-products", integration_id, body, fields)

    def sync_customers(self, integration_id: str, body: Mapping[str, Any] | None = None,
                       **fields: Any) -> Sync:
        return self._sync("sync-customers", integration_id, body, fields)

    def update_inventory(self, integration_id: str, body: Mapping[str, Any] | None = None,
                         **fields: Any) -> Sync:
        """POST .../shopify/update-inventory: items of sku, locationId, quantity, updateType
        (set | adjust). The answer carries each item's `results` when the run ends within
        the server's wait (else poll it)."""
        return self._sync("update-inventory", integration_id, body, fields)


class WooCommerce(_Platform):
    """client.integrations.woocommerce"""

    platform = "woocommerce"

    def sync_orders(self, integration_id: str, body: Mapping[str, Any] | None = None,
                    **fields: Any) -> Sync:
        """POST .../woocommerce/sync-orders: credentials (first time), dateRange,
        orderStatus."""
        return self._sync("sync-orders", integration_id, body, fields)

    def sync_products(self, integration_id: str, body: Mapping[str, Any] | None = None,
                      **fields: Any) -> Sync:
        return self._sync("sync-products", integration_id, body, fields)

    def sync_customers(self, integration_id: str, body: Mapping[str, Any] | None = None,
                       **fields: Any) -> Sync:
        return self._sync("sync-customers", integration_id, body, fields)

    def update_inventory(self, integration_id: str, body: Mapping[str, Any] | None = None,
                         **fields: Any) -> Sync:
        """Set stock levels in the shop, in the body of Shopify's update-inventory. The API
        has no WooCommerce update-inventory: WooCommerce keeps one level per SKU, which is
        what POST /v1/integrations/{id}/inventory-sync sets, so each `set` item goes there
        as the SKU's total (a locationId is ignored: the shop has none). WooCommerce takes
        absolute levels only: an `adjust` item is refused before anything is sent."""
        data = _body(body, fields)
        items = []
        for item in data.get("items") or []:
            kind = item.get("updateType", item.get("update_type", "set"))
            if kind != "set":
                raise ValidationError(
                    f"WooCommerce stock takes absolute levels (updateType 'set'), not "
                    f"{kind!r} (SKU {item.get('sku')!r})",
                    details=[{"field": "items.updateType", "value": kind}])
            items.append({"sku": item["sku"], "quantity": item["quantity"]})
        return self._client.integrations.inventory_sync(integration_id, {"items": items})


class Amazon(_Platform):
    """client.integrations.amazon"""

    platform = "amazon"

    def sync_orders(self, integration_id: str, body: Mapping[str, Any] | None = None,
                    **fields: Any) -> Sync:
        """POST .../amazon/sync-orders: SP-API credentials (first time), dateRange,
        orderStatus."""
        return self._sync("sync-orders", integration_id, body, fields)

    def sync_fees(self, integration_id: str, body: Mapping[str, Any] | None = None,
                  **fields: Any) -> Sync:
        """POST .../amazon/sync-fees: reportType settlement, dateRange (days)."""
        return self._sync("sync-fees", integration_id, body, fields)

    def update_inventory(self, integration_id: str, body: Mapping[str, Any] | None = None,
                         **fields: Any) -> Sync:
        """POST .../amazon/update-inventory in the body of Shopify's (merchant-fulfilled
        quantities by SKU). NotFoundError while the server has no Amazon stock push."""
        return self._sync("update-inventory", integration_id, body, fields)


class Stripe(_Platform):
    """client.integrations.stripe"""

    platform = "stripe"

    def sync_payments(self, integration_id: str, body: Mapping[str, Any] | None = None,
                      **fields: Any) -> Sync:
        """POST .../stripe/sync-payments: credentials, dateRange, includeRefunds,
        includeChargebacks, includeFees. Totals come back as exact Decimals."""
        return self._sync("sync-payments", integration_id, body, fields)


class PayPal(_Platform):
    """client.integrations.paypal"""

    platform = "paypal"

    def sync_transactions(self, integration_id: str, body: Mapping[str, Any] | None = None,
                          **fields: Any) -> Sync:
        return self._sync("sync-transactions", integration_id, body, fields)


class QuickBooks(_Platform):
    """client.integrations.quickbooks: the body names the integration or carries the
    company's credentials, so the id is optional: `export_coa({...})` or
    `export_coa(integration_id, {...})`."""

    platform = "quickbooks"

    def export_coa(self, integration_id: Any = None, body: Mapping[str, Any] | None = None,
                   **fields: Any) -> Sync:
        """The chart of accounts, mapped to the standard chart (`accounts`,
        `needsDecision` in the answer when the run ends in time)."""
        return self._sync("export-coa", *_split(integration_id, body), fields)

    def migrate_customers(self, integration_id: Any = None,
                          body: Mapping[str, Any] | None = None, **fields: Any) -> Sync:
        return self._sync("migrate-customers", *_split(integration_id, body), fields)

    def migrate_transactions(self, integration_id: Any = None,
                             body: Mapping[str, Any] | None = None, **fields: Any) -> Sync:
        """dateRange, transactionTypes, batchSize; the finished sync carries trialBalance."""
        return self._sync("migrate-transactions", *_split(integration_id, body), fields)


class Xero(_Platform):
    """client.integrations.xero"""

    platform = "xero"

    def full_migration(self, integration_id: Any = None,
                       body: Mapping[str, Any] | None = None, **fields: Any) -> Sync:
        """integrationId or credentials with tenantId; dateRange, include, dryRun."""
        return self._sync("full-migration", *_split(integration_id, body), fields)


class Custom(_Group):
    """client.integrations.custom: connectors defined by the spec's create-connector body."""

    def create_connector(self, definition: Mapping[str, Any] | None = None,
                         **fields: Any) -> CustomConnector:
        return self._client._post("/v1/integrations/custom/create-connector",
                                  CustomConnector, _body(definition, fields))

    def list_connectors(self) -> list[CustomConnector]:
        return self._client._get("/v1/integrations/custom/connectors", list[CustomConnector])

    def get_connector(self, connector_id: str, version: int | None = None) -> CustomConnector:
        return self._client._get(f"/v1/integrations/custom/connectors/{connector_id}",
                                 CustomConnector, version=version)

    def update_connector(self, connector_id: str, definition: Mapping[str, Any] | None = None,
                         **fields: Any) -> CustomConnector:
        """A new version; instances keep the version they were set up with."""
        return _parse(CustomConnector, self._client.request(
            "PUT", f"/v1/integrations/custom/connectors/{connector_id}",
            json_body=_body(definition, fields)))

    def delete_connector(self, connector_id: str) -> Deleted:
        return _parse(Deleted, self._client.request(
            "DELETE", f"/v1/integrations/custom/connectors/{connector_id}"))

    def setup(self, connector_id: str, body: Mapping[str, Any] | None = None,
              **fields: Any) -> Integration:
        """An instance: {name, credentials (baseUrl among them), settings, mapping}."""
        return self._client._post(f"/v1/integrations/custom/connectors/{connector_id}/setup",
                                  Integration, _body(body, fields))

    def sync(self, integration_id: str, body: Mapping[str, Any] | None = None,
             **fields: Any) -> Sync:
        """{endpoint (default the first), parameters: {from_date, ...}}."""
        return self._client._post(f"/v1/integrations/custom/{integration_id}/sync", Sync,
                                  _body(body, fields))


class Integrations(_Group):
    """client.integrations: setup, lookup, monitoring and one sub-group per platform."""

    def __init__(self, client: BigLedgerClient) -> None:
        super().__init__(client)
        self.shopify = Shopify(client)
        self.woocommerce = WooCommerce(client)
        self.amazon = Amazon(client)
        self.stripe = Stripe(client)
        self.paypal = PayPal(client)
        self.quickbooks = QuickBooks(client)
        self.xero = Xero(client)
        self.custom = Custom(client)
        self.webhooks = Webhooks(client)
        self.schedules = Schedules(client)
        self.syncs = Syncs(client)

    def __getitem__(self, platform: str) -> Any:
        """`client.integrations["shopify"]`, as the spec's `client.integrations[channel]`."""
        if platform not in PLATFORMS:
            raise KeyError(platform)
        return getattr(self, platform)

    def available(self) -> dict[str, list[CatalogEntry]]:
        """GET /v1/integrations/available: the catalog by category."""
        return self._client._get("/v1/integrations/available", dict[str, list[CatalogEntry]])

    def setup(self, platform: str, body: Mapping[str, Any] | None = None,
              **fields: Any) -> Integration:
        """POST /v1/integrations/{platform}/setup: {name, credentials, settings, mapping};
        the credentials are checked with the platform, then stored encrypted."""
        return self._client._post(f"/v1/integrations/{platform}/setup", Integration,
                                  _body(body, fields))

    def list(self, platform: str | None = None, *,
             status: str | None = None) -> list[Integration]:
        """GET /v1/integrations?platform=&status=: the integrations set up."""
        return self._client._get("/v1/integrations", list[Integration], platform=platform,
                                 status=status)

    def get(self, integration: str, *, name: str | None = None) -> Integration:
        """An integration by id, or by platform as the spec's `client.integrations.get(
        channel)`: the platform's active integration (called `name` when given). A merchant
        with several (two Shopify shops) gets the most recently set up; `list()` shows all."""
        if integration not in PLATFORMS:
            return self._client._get(f"/v1/integrations/{integration}", Integration)
        found = [i for i in self.list(integration, status="active")
                 if name is None or i.name == name]
        if not found:
            raise NotFoundError(f"no active {integration} integration"
                                + (f" named {name!r}" if name else ""))
        return max(found, key=lambda i: (i.created_at or datetime.min.replace(tzinfo=UTC)))

    def status(self, integration_id: str) -> IntegrationStatus:
        """GET /v1/integrations/{integrationId}/status: health, last and next sync,
        statistics of the last 24 hours and week, recent errors."""
        return self._client._get(f"/v1/integrations/{integration_id}/status",
                                 IntegrationStatus)

    def health(self, integration_id: str) -> Health:
        """GET /v1/integrations/{integrationId}/health: connection, webhook endpoint and
        rate-limit checks."""
        return self._client._get(f"/v1/integrations/{integration_id}/health", Health)

    def analytics(self, **params: Any) -> Analytics:
        """GET /v1/integrations/analytics: the summary and per integration (query
        parameters, camelCase, passed as given)."""
        return self._client._get("/v1/integrations/analytics", Analytics,
                                 **{_camel(k): v for k, v in params.items()})

    def retry_failed(self, integration_id: str, body: Mapping[str, Any] | None = None, *,
                     sync_id: str | None = None, retry_type: str | None = None,
                     max_retries: int | None = None) -> Sync:
        """POST /v1/integrations/{integrationId}/retry-failed: replay a sync's failed
        records; answers the retry's own sync."""
        data = _body(body, {"syncId": sync_id, "retryType": retry_type,
                            "maxRetries": max_retries})
        return self._client._post(f"/v1/integrations/{integration_id}/retry-failed", Sync,
                                  data)

    def inventory_sync(self, integration_id: Any = None, body: Mapping[str, Any] | None = None,
                       *, items: list[Mapping[str, Any]] | None = None,
                       integration_ids: list[str] | None = None) -> Sync:
        """POST /v1/integrations/{integrationId}/inventory-sync (one channel) or, without an
        id, POST /v1/integrations/inventory-sync (every connected channel, or
        `integrationIds`): items of sku, quantity and per-location quantities."""
        integration_id, body = _split(integration_id, body)
        data = _body(body, {"items": items, "integrationIds": integration_ids})
        path = (f"/v1/integrations/{integration_id}/inventory-sync" if integration_id
                else "/v1/integrations/inventory-sync")
        return self._client._post(path, Sync, data)

    def transform_data(self, body: Mapping[str, Any] | None = None,
                       **fields: Any) -> TransformResult:
        """POST /v1/integrations/transform-data: sourceFormat, targetFormat, mapping, data
        (and load, integrationId, delimiter)."""
        return self._client._post("/v1/integrations/transform-data", TransformResult,
                                  _body(body, fields))


class Ledger(_Group):
    """client.ledger: read-only views of what the syncs posted (money as exact strings)."""

    def trial_balance(self, *, as_of: date | str | None = None,
                      integration_id: str | None = None) -> dict[str, Any]:
        return self._client._get("/v1/ledger/trial-balance", None, asOf=as_of,
                                 integrationId=integration_id)

    def journal_entries(self, *, integration_id: str | None = None,
                        source_id: str | None = None, page: int | None = None,
                        page_size: int | None = None) -> Page:
        return self._client._get("/v1/ledger/journal-entries", Page,
                                 integrationId=integration_id, sourceId=source_id, page=page,
                                 pageSize=page_size)

    def sales_orders(self, *, integration_id: str | None = None, source_id: str | None = None,
                     page: int | None = None, page_size: int | None = None) -> Page:
        return self._client._get("/v1/ledger/sales-orders", Page,
                                 integrationId=integration_id, sourceId=source_id, page=page,
                                 pageSize=page_size)
