"""Shopify Admin GraphQL connector: shop info, order counts and complete pages of orders.

Talks to `POST /admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`, paced by
the calculated query cost (GraphQLCostPolicy). Every order it returns is complete: line
items beyond the first page are fetched and merged, and nested lists that may have been cut
off are re-read with larger sizes, so nothing downstream ever sees a truncated order.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bigledger.errors import AuthFailed, DataMappingError, InvalidCredentials, PlatformError
from bigledger.settings import get_settings
from connectors.auth import ApiKeyHeader
from connectors.graphql_cost import estimate_query_cost, max_page_size
from connectors.http import HttpClient, platform_error_message
from connectors.paths import get_path
from connectors.ratelimit import GraphQLCostPolicy, RateBudget
from connectors.shopify_bulk import _BulkMixin
from connectors.shopify_queries import (
    CUSTOMERS_COUNT_QUERY,
    CUSTOMERS_QUERY,
    DELETED_PRODUCTS_QUERY,
    INVENTORY_ADJUST_QUANTITIES_MUTATION,
    INVENTORY_LEVELS_QUERY,
    INVENTORY_SET_QUANTITIES_MUTATION,
    LOCATIONS_QUERY,
    ORDER_LINE_ITEMS_QUERY,
    ORDERS_COUNT_QUERY,
    ORDERS_QUERY,
    PRODUCT_VARIANTS_QUERY,
    PRODUCT_VARIANTS_WITH_INVENTORY_QUERY,
    PRODUCTS_COUNT_QUERY,
    PRODUCTS_QUERY,
    PRODUCTS_WITH_INVENTORY_QUERY,
    PRODUCTS_WITH_VARIANTS_QUERY,
    SHOP_QUERY,
    VARIANTS_BY_SKU_QUERY,
)
from connectors.webhook_registration import WebhookRegistration, WebhookSubscriptionRef

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Shopify-Access-Token"
MAX_QUERY_COST = 1000  # Shopify refuses a single query whose requested cost exceeds this.
MAX_PAGE = 250  # largest `first` any Shopify connection accepts
MUTATION_COST = 10  # what Shopify charges a mutation field, before its selection
INVENTORY_BATCH = 100  # rows per inventory mutation
SKU_BATCH = 25  # SKUs per productVariants search
IDS_BATCH = 50  # order ids per `id:a OR id:b ...` search (keeps the query string short)

# What an integration listens to: orders through their life, refunds, catalog and stock.
DEFAULT_WEBHOOK_TOPICS = (
    "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "refunds/create",
    "products/update", "inventory_levels/update", "customers/create", "customers/update",
)  # fmt: skip

WEBHOOK_SUBSCRIPTIONS_QUERY = """
query WebhookSubscriptions($first: Int!, $after: String, $callbackUrl: URL) {
  webhookSubscriptions(first: $first, after: $after, callbackUrl: $callbackUrl) {
    nodes {
      id
      topic
      endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

WEBHOOK_SUBSCRIPTION_CREATE_MUTATION = """
mutation WebhookSubscriptionCreate(
  $topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!
) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""

WEBHOOK_SUBSCRIPTION_DELETE_MUTATION = """
mutation WebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}
"""


def webhook_topic_enum(topic: str) -> str:
    """`orders/create` or `ORDERS_CREATE` -> `ORDERS_CREATE` (GraphQL's topic enum)."""
    if not isinstance(topic, str) or not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z_]+)?", topic):
        raise ValueError(f"not a Shopify webhook topic: {topic!r}")
    return topic.replace("/", "_").upper()


def webhook_rest_topic(enum: str) -> str:
    """`ORDERS_CREATE` -> `orders/create` (the X-Shopify-Topic form). Topics whose resource
    has an underscore (INVENTORY_LEVELS_UPDATE) keep it: inventory_levels/update."""
    known = {webhook_topic_enum(t): t for t in (*DEFAULT_WEBHOOK_TOPICS, "orders/fulfilled",
             "orders/partially_fulfilled", "orders/edited", "orders/delete", "products/create",
             "products/delete", "customers/delete", "app/uninstalled",
             "bulk_operations/finish", "inventory_levels/connect",
             "inventory_levels/disconnect")}  # fmt: skip
    return known.get(enum, enum.lower())

# "any" is accepted as an explicit "no filter", as in Shopify's REST filters.
FinancialStatus = Literal[
    "any",
    "paid",
    "partially_paid",
    "pending",
    "refunded",
    "partially_refunded",
    "voided",
    "authorized",
    "expired",
    "unpaid",
]
FulfillmentStatus = Literal["any", "fulfilled", "shipped", "partial", "unfulfilled", "unshipped"]


class OrderSortKey(StrEnum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    PROCESSED_AT = "PROCESSED_AT"
    ID = "ID"


class OrderFilter(BaseModel):
    """Which orders to list; `to_search_query()` renders Shopify's search syntax."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    financial_statuses: list[FinancialStatus] = Field(default_factory=list)
    fulfillment_statuses: list[FulfillmentStatus] = Field(default_factory=list)
    sort_key: OrderSortKey = OrderSortKey.CREATED_AT

    @field_validator("created_from", "created_to", "updated_from", "updated_to")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("datetime must carry a timezone (e.g. 2024-01-01T00:00:00Z)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> OrderFilter:
        for low, high in (
            (self.created_from, self.created_to),
            (self.updated_from, self.updated_to),
        ):
            if low is not None and high is not None and low > high:
                raise ValueError("range start is after its end")
        return self

    def to_search_query(self) -> str | None:
        """Shopify search syntax, or None for "all orders".

        Bounds are inclusive (>=, <=) on purpose: a duplicate at a window edge is absorbed by
        idempotent upserts downstream, a miss is silent loss.
        """
        terms: list[str] = []
        for field_name, low, high in (
            ("created_at", self.created_from, self.created_to),
            ("updated_at", self.updated_from, self.updated_to),
        ):
            if low is not None:
                terms.append(f"{field_name}:>='{_search_time(low)}'")
            if high is not None:
                terms.append(f"{field_name}:<='{_search_time(high)}'")
        for field_name, values in (
            ("financial_status", self.financial_statuses),
            ("fulfillment_status", self.fulfillment_statuses),
        ):
            unique = list(dict.fromkeys(values))
            if "any" in unique:
                continue
            if len(unique) == 1:
                terms.append(f"{field_name}:{unique[0]}")
            elif unique:
                terms.append("(" + " OR ".join(f"{field_name}:{v}" for v in unique) + ")")
        return " ".join(terms) or None


class _OrderIdsFilter(OrderFilter):
    """Orders by id (`id:1 OR id:2 ...`), for fetching current state after a webhook."""

    ids: tuple[str, ...] = ()

    def to_search_query(self) -> str | None:
        return " OR ".join(f"id:{legacy}" for legacy in self.ids) or None


class ProductSortKey(StrEnum):
    UPDATED_AT = "UPDATED_AT"
    ID = "ID"
    TITLE = "TITLE"


ProductStatus = Literal["active", "draft", "archived"]
PublishedStatus = Literal["published", "unpublished", "any"]


class ProductFilter(BaseModel):
    """Which products to list; `to_search_query()` renders Shopify's search syntax."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    updated_from: datetime | None = None
    published_status: PublishedStatus = "any"
    statuses: list[ProductStatus] = Field(default_factory=list)
    sort_key: ProductSortKey = ProductSortKey.UPDATED_AT

    @field_validator("updated_from")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("datetime must carry a timezone (e.g. 2024-01-01T00:00:00Z)")
        return value

    def to_search_query(self) -> str | None:
        """Shopify search syntax, or None for "all products" (bounds inclusive, see orders)."""
        terms: list[str] = []
        if self.updated_from is not None:
            terms.append(f"updated_at:>='{_search_time(self.updated_from)}'")
        statuses = list(dict.fromkeys(self.statuses))
        if statuses:
            terms.append("status:" + ",".join(statuses))
        if self.published_status != "any":
            terms.append(f"published_status:{self.published_status}")
        return " ".join(terms) or None


class CustomerSortKey(StrEnum):
    UPDATED_AT = "UPDATED_AT"
    ID = "ID"
    NAME = "NAME"


class CustomerFilter(BaseModel):
    """Which customers to list; `to_search_query()` renders Shopify's search syntax."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    updated_from: datetime | None = None
    sort_key: CustomerSortKey = CustomerSortKey.UPDATED_AT

    @field_validator("updated_from")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("datetime must carry a timezone (e.g. 2024-01-01T00:00:00Z)")
        return value

    def to_search_query(self) -> str | None:
        """Shopify search syntax, or None for "all customers" (bound inclusive, see orders)."""
        if self.updated_from is None:
            return None
        return f"updated_at:>='{_search_time(self.updated_from)}'"


@dataclass(frozen=True, slots=True)
class InventoryResult:
    """What became of one inventory row of set_inventory / adjust_inventory.

    `quantity` is `available` after the change (None when not applied or not reported);
    `error` is the platform's user error {code, message, field} for this row."""

    inventory_item_id: str
    location_id: str
    applied: bool
    quantity: int | None = None
    delta: int | None = None
    error: dict[str, Any] | None = None


def _search_time(value: datetime) -> str:
    # Shopify timestamps have whole seconds, so dropping sub-seconds loses no order.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class QueryCost:
    """extensions.cost of a query (points, not money, hence float)."""

    requested: float | None
    actual: float | None
    maximum_available: float | None
    currently_available: float | None
    restore_rate: float | None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of complete orders: node dicts exactly as the query shapes them.

    Money stays a decimal string (`"105.38"`), fractional JSON numbers are Decimal.
    """

    records: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool
    cost: QueryCost | None


class _QueryTooExpensive(PlatformError):
    def __init__(self, message: str, *, cost: int | None, max_cost: int | None) -> None:
        super().__init__(message, details={"cost": cost, "maxCost": max_cost})
        self.cost = cost
        self.max_cost = max_cost or MAX_QUERY_COST


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | Decimal) and not isinstance(value, bool) else None


_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?$")
_API_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")


def normalize_shop_domain(value: str, *, strict: bool = True) -> str:
    """`mystore`, `https://mystore.myshopify.com/` -> `mystore.myshopify.com`."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidCredentials("shopDomain is missing")
    domain = value.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if "." not in domain and ":" not in domain:
        domain = f"{domain}.myshopify.com"
    pattern = _SHOP_DOMAIN if strict else _HOSTNAME
    if not pattern.match(domain):
        raise InvalidCredentials(
            f"shopDomain {value!r} is not a shop domain like mystore.myshopify.com"
        )
    return domain


# ---- catalog: products, stock, locations ---------------------------------------------------


def _connection(data: dict[str, Any], path: str, what: str) -> dict[str, Any]:
    connection = get_path(data, path)
    if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
        raise PlatformError(f"shopify returned no {what} connection")
    return connection


def _next_cursor(connection: dict[str, Any], seen: set[str], what: str) -> str | None:
    """endCursor when there is a next page (refusing a cursor that does not advance)."""
    info = connection.get("pageInfo") or {}
    if not info.get("hasNextPage"):
        return None
    cursor = info.get("endCursor")
    if not cursor or cursor in seen:
        raise PlatformError(f"shopify pagination of {what} did not advance")
    seen.add(cursor)
    return cursor


def _sku_term(sku: str) -> str:
    escaped = sku.replace("\\", "\\\\").replace('"', '\\"')
    return f'sku:"{escaped}"'


class _CatalogMixin:
    """Product, stock and location operations of ShopifyConnector."""

    def _products_document(self, include_variants: bool, include_inventory: bool) -> str:
        if include_inventory:
            return PRODUCTS_WITH_INVENTORY_QUERY
        return PRODUCTS_WITH_VARIANTS_QUERY if include_variants else PRODUCTS_QUERY

    def _product_variables(self, include_variants: bool, include_inventory: bool) -> dict:
        variables: dict[str, Any] = {}
        if include_variants or include_inventory:
            variables["variantsFirst"] = self.variants_first  # type: ignore[attr-defined]
        if include_inventory:
            variables["levelsFirst"] = self.inventory_levels_first  # type: ignore[attr-defined]
        return variables

    def max_products_page_size(
        self, include_variants: bool = True, include_inventory: bool = False
    ) -> int:
        """Largest `first` keeping the products query's requested cost <= 1000."""
        return max_page_size(
            self._products_document(include_variants, include_inventory),
            {**self._product_variables(include_variants, include_inventory), "first": 1},
            max_cost=MAX_QUERY_COST,
            limit=MAX_PAGE,
        )

    def count_products(self, filter: ProductFilter) -> int:
        """Number of products matching `filter` (exact: the count query sets no limit)."""
        data = self._graphql(PRODUCTS_COUNT_QUERY, {"query": filter.to_search_query()})  # type: ignore[attr-defined]
        count = get_path(data, "productsCount.count")
        if not isinstance(count, int):
            raise PlatformError("shopify returned no product count")
        return count

    def fetch_products_page(
        self,
        filter: ProductFilter,
        after: str | None = None,
        first: int | None = None,
        include_variants: bool = True,
        include_inventory: bool = False,
    ) -> Page:
        """One page of complete products (every variant; with include_inventory every
        variant's inventoryItem.inventoryLevels) after cursor `after`."""
        if first is not None and first < 1:
            raise ValueError("first must be positive")
        include_variants = include_variants or include_inventory
        cap = self.max_products_page_size(include_variants, include_inventory)
        size = min(first, cap) if first is not None else cap
        document = self._products_document(include_variants, include_inventory)
        variables = {
            **self._product_variables(include_variants, include_inventory),
            "after": after,
            "query": filter.to_search_query(),
            "sortKey": filter.sort_key.value,
        }
        while True:
            try:
                data = self._graphql(document, {**variables, "first": size})  # type: ignore[attr-defined]
                break
            except _QueryTooExpensive as exc:
                fitted = (size * exc.max_cost) // exc.cost if exc.cost else size // 2
                smaller = min(size - 1, fitted)
                if smaller < 1:
                    raise PlatformError(exc.message, details=exc.details) from None
                size = smaller
        cost = self._query_cost()  # type: ignore[attr-defined]
        connection = _connection(data, "products", "products")
        products: list[dict[str, Any]] = connection["nodes"]
        for product in products:
            if include_variants:
                self._complete_variants(product, include_inventory)
        seen: set[str] = set()
        end_cursor = (connection.get("pageInfo") or {}).get("endCursor")
        has_next = _next_cursor(connection, seen, "products") is not None
        return Page(records=products, end_cursor=end_cursor, has_next_page=has_next, cost=cost)

    def iter_product_pages(self, filter: ProductFilter, **options: Any) -> Iterator[Page]:
        """Every page of products from the start (options as fetch_products_page)."""
        cursor: str | None = None
        while True:
            page = self.fetch_products_page(filter, after=cursor, **options)
            yield page
            if not page.has_next_page:
                return
            cursor = page.end_cursor

    def _complete_variants(self, product: dict[str, Any], include_inventory: bool) -> None:
        connection = product.get("variants")
        if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
            raise PlatformError(f"product {product.get('id')} has no variants connection")
        nodes: list[dict[str, Any]] = connection["nodes"]
        seen: set[str] = set()
        cursor = _next_cursor(connection, seen, f"variants of {product.get('id')}")
        document = (
            PRODUCT_VARIANTS_WITH_INVENTORY_QUERY if include_inventory else PRODUCT_VARIANTS_QUERY
        )
        extra = self._product_variables(False, include_inventory)
        extra.pop("variantsFirst", None)
        size = max_page_size(document, {**extra, "id": "", "after": None},
                             max_cost=MAX_QUERY_COST, limit=MAX_PAGE)  # fmt: skip
        while cursor is not None:
            data = self._graphql(  # type: ignore[attr-defined]
                document, {**extra, "id": product["id"], "first": size, "after": cursor}
            )
            more = _connection(data, "product.variants", f"variants of {product['id']}")
            nodes.extend(more["nodes"])
            cursor = _next_cursor(more, seen, f"variants of {product['id']}")
        connection["pageInfo"] = {"hasNextPage": False, "endCursor": None}
        if include_inventory:
            for variant in nodes:
                self._complete_levels(variant)

    def _complete_levels(self, variant: dict[str, Any]) -> None:
        item = variant.get("inventoryItem")
        connection = item.get("inventoryLevels") if isinstance(item, dict) else None
        if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
            raise PlatformError(f"variant {variant.get('id')} has no inventoryLevels connection")
        assert isinstance(item, dict)
        seen: set[str] = set()
        cursor = _next_cursor(connection, seen, f"levels of {item.get('id')}")
        while cursor is not None:
            data = self._graphql(  # type: ignore[attr-defined]
                INVENTORY_LEVELS_QUERY, {"id": item["id"], "first": MAX_PAGE, "after": cursor}
            )
            more = _connection(data, "inventoryItem.inventoryLevels", f"levels of {item['id']}")
            connection["nodes"].extend(more["nodes"])
            cursor = _next_cursor(more, seen, f"levels of {item['id']}")
        connection["pageInfo"] = {"hasNextPage": False, "endCursor": None}

    def iter_deleted_products(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Deletion events of products ({subjectId, subjectType, occurredAt}), oldest first,
        at or after `since` (inclusive: a duplicate is harmless, a miss is not)."""
        if since is not None and since.utcoffset() is None:
            raise ValueError("since must carry a timezone")
        query = f"occurred_at:>='{_search_time(since)}'" if since is not None else None
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            data = self._graphql(  # type: ignore[attr-defined]
                DELETED_PRODUCTS_QUERY, {"first": MAX_PAGE, "after": cursor, "query": query}
            )
            connection = _connection(data, "deletionEvents", "deletionEvents")
            yield from connection["nodes"]
            cursor = _next_cursor(connection, seen, "deletionEvents")
            if cursor is None:
                return

    def resolve_skus(self, skus: list[str]) -> dict[str, dict[str, str]]:
        """SKU -> {variant_id, inventory_item_id, product_id}; unknown SKUs are left out.
        A SKU shared by several variants resolves to the one with the lowest id."""
        wanted = [s for s in dict.fromkeys(skus) if s]
        found: dict[str, dict[str, str]] = {}
        for start in range(0, len(wanted), SKU_BATCH):
            batch = wanted[start : start + SKU_BATCH]
            query = " OR ".join(_sku_term(s) for s in batch)
            cursor: str | None = None
            seen: set[str] = set()
            while True:
                data = self._graphql(  # type: ignore[attr-defined]
                    VARIANTS_BY_SKU_QUERY, {"first": MAX_PAGE, "after": cursor, "query": query}
                )
                connection = _connection(data, "productVariants", "productVariants")
                for node in connection["nodes"]:
                    sku = node.get("sku")
                    if sku in batch and sku not in found:
                        found[sku] = {
                            "variant_id": node["id"],
                            "inventory_item_id": get_path(node, "inventoryItem.id"),
                            "product_id": get_path(node, "product.id"),
                        }
                cursor = _next_cursor(connection, seen, "productVariants")
                if cursor is None:
                    break
        return found

    def list_locations(self) -> list[dict[str, Any]]:
        """Active locations: [{id, legacyResourceId, name, isActive}]."""
        locations: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            data = self._graphql(LOCATIONS_QUERY, {"first": MAX_PAGE, "after": cursor})  # type: ignore[attr-defined]
            connection = _connection(data, "locations", "locations")
            locations.extend(connection["nodes"])
            cursor = _next_cursor(connection, seen, "locations")
            if cursor is None:
                return locations

    def set_inventory(
        self, items: list[tuple[str, str, int]], *, reason: str = "correction"
    ) -> list[InventoryResult]:
        """Set `available` to absolute values, one result per (item id, location id, qty).

        Shopify applies a mutation whole or not at all, so rows named in user errors are
        reported and the rest are sent again: one bad row never holds back the others.
        The compare-and-set check is skipped: BigLedger is the source of truth here."""
        return self._inventory_mutation(items, reason, adjust=False)

    def adjust_inventory(
        self, items: list[tuple[str, str, int]], *, reason: str = "correction"
    ) -> list[InventoryResult]:
        """Add deltas to `available` (may go below zero, as Shopify allows); results as
        set_inventory. Never re-sent after an ambiguous failure (not idempotent)."""
        return self._inventory_mutation(items, reason, adjust=True)

    def _inventory_mutation(
        self, items: list[tuple[str, str, int]], reason: str, *, adjust: bool
    ) -> list[InventoryResult]:
        results: list[InventoryResult | None] = [None] * len(items)
        for start in range(0, len(items), INVENTORY_BATCH):
            pending = list(range(start, min(start + INVENTORY_BATCH, len(items))))
            while pending:
                pending = self._inventory_round(items, pending, results, reason, adjust)
        return [r for r in results if r is not None]

    def _inventory_round(
        self,
        items: list[tuple[str, str, int]],
        rows: list[int],
        results: list[InventoryResult | None],
        reason: str,
        adjust: bool,
    ) -> list[int]:
        """Send `rows`; fill their results; return the rows to send again."""
        if adjust:
            document, key, field = INVENTORY_ADJUST_QUANTITIES_MUTATION, "changes", "delta"
            payload_path = "inventoryAdjustQuantities"
            extra: dict[str, Any] = {}
        else:
            document, key, field = INVENTORY_SET_QUANTITIES_MUTATION, "quantities", "quantity"
            payload_path = "inventorySetQuantities"
            extra = {"ignoreCompareQuantity": True}
        rows_input = [
            {"inventoryItemId": items[n][0], "locationId": items[n][1], field: items[n][2]}
            for n in rows
        ]
        variables = {"input": {"name": "available", "reason": reason, **extra, key: rows_input}}
        data = self._graphql(document, variables, mutation=True, idempotent=not adjust)  # type: ignore[attr-defined]
        payload = get_path(data, payload_path)
        if not isinstance(payload, dict):
            raise PlatformError(f"shopify returned no {payload_path} payload")
        errors = payload.get("userErrors") or []
        if errors:
            by_row: dict[int, dict[str, Any]] = {}
            general: list[dict[str, Any]] = []
            for error in errors:
                path = error.get("field") or []
                if len(path) >= 3 and path[1] == key and str(path[2]).isdigit():
                    by_row.setdefault(int(path[2]), error)
                else:
                    general.append(error)
            if general or not by_row:
                # Not about one row (reason, name...): every row fails the same way.
                for n in rows:
                    results[n] = self._failed(items[n], (general or errors)[0])
                return []
            retry = []
            for position, n in enumerate(rows):
                if position in by_row:
                    results[n] = self._failed(items[n], by_row[position])
                else:
                    retry.append(n)
            return retry
        changes = get_path(payload, "inventoryAdjustmentGroup.changes") or []
        after = {
            (get_path(c, "item.id"), get_path(c, "location.id")): c
            for c in changes
            if c.get("name") == "available"
        }
        for n in rows:
            item_id, location_id, value = items[n]
            change = after.get((item_id, location_id))
            quantity = change.get("quantityAfterChange") if change else None
            if quantity is None and not adjust:
                quantity = value  # Shopify reports no change for a row already at `value`
            results[n] = InventoryResult(
                item_id, location_id, True, quantity=quantity,
                delta=change.get("delta") if change else (value if adjust else 0),
            )  # fmt: skip
        return []

    @staticmethod
    def _failed(item: tuple[str, str, int], error: dict[str, Any]) -> InventoryResult:
        return InventoryResult(
            item[0], item[1], False,
            error={"code": error.get("code"), "message": error.get("message"),
                   "field": error.get("field")},
        )  # fmt: skip


class _CustomersMixin:
    """Customer operations of ShopifyConnector (the `customers` connection)."""

    def max_customers_page_size(self) -> int:
        """Largest `first` keeping the customers query's requested cost <= 1000."""
        return max_page_size(CUSTOMERS_QUERY, {"first": 1}, max_cost=MAX_QUERY_COST, limit=MAX_PAGE)

    def count_customers(self, filter: CustomerFilter) -> int:
        """Number of customers matching `filter` (exact: the count query sets no limit)."""
        data = self._graphql(CUSTOMERS_COUNT_QUERY, {"query": filter.to_search_query()})  # type: ignore[attr-defined]
        count = get_path(data, "customersCount.count")
        if not isinstance(count, int):
            raise PlatformError("shopify returned no customer count")
        return count

    def fetch_customers_page(
        self, filter: CustomerFilter, after: str | None = None, first: int | None = None
    ) -> Page:
        """One page of customers after cursor `after` (None: from the start); `first`
        defaults to, and is capped at, the largest cost-safe page size."""
        if first is not None and first < 1:
            raise ValueError("first must be positive")
        cap = self.max_customers_page_size()
        size = min(first, cap) if first is not None else cap
        variables = {
            "after": after,
            "query": filter.to_search_query(),
            "sortKey": filter.sort_key.value,
        }
        while True:
            try:
                data = self._graphql(CUSTOMERS_QUERY, {**variables, "first": size})  # type: ignore[attr-defined]
                break
            except _QueryTooExpensive as exc:
                fitted = (size * exc.max_cost) // exc.cost if exc.cost else size // 2
                smaller = min(size - 1, fitted)
                if smaller < 1:
                    raise PlatformError(exc.message, details=exc.details) from None
                size = smaller
        cost = self._query_cost()  # type: ignore[attr-defined]
        connection = _connection(data, "customers", "customers")
        info = connection.get("pageInfo") or {}
        has_next = bool(info.get("hasNextPage"))
        end_cursor = info.get("endCursor")
        if has_next and not end_cursor:
            raise PlatformError("shopify says hasNextPage without an endCursor")
        return Page(
            records=connection["nodes"], end_cursor=end_cursor, has_next_page=has_next, cost=cost
        )

    def iter_customer_pages(
        self, filter: CustomerFilter, after: str | None = None, first: int | None = None
    ) -> Iterator[Page]:
        """Every page of customers from cursor `after` to the end."""
        cursor = after
        seen: set[str] = set()
        while True:
            page = self.fetch_customers_page(filter, after=cursor, first=first)
            yield page
            if not page.has_next_page:
                return
            if page.end_cursor in seen or page.end_cursor == cursor:
                raise PlatformError("shopify pagination of customers did not advance")
            seen.add(page.end_cursor)  # type: ignore[arg-type]
            cursor = page.end_cursor


class ShopifyConnector(_CatalogMixin, _CustomersMixin, _BulkMixin):
    """Shopify Admin GraphQL API for one shop.

    Nested page sizes: `line_items_first` 5 covers the large majority of orders in the page
    query (more are fetched per order), `shipping_lines_first` 3, `refunds_first` 250
    (`refunds` is a plain list: its size does not multiply the cost).
    """

    platform = "shopify"

    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        *,
        api_version: str | None = None,
        base_url: str | None = None,
        line_items_first: int = 5,
        variants_first: int = 8,
        inventory_levels_first: int = 3,
        shipping_lines_first: int = 3,
        refunds_first: int = 250,
        timeout: float | httpx.Timeout | None = None,
        budget_seconds: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] | None = None,
        acquire: Callable[[], None] | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        self.shop_domain = normalize_shop_domain(shop_domain, strict=base_url is None)
        self.api_version = api_version or get_settings().shopify_api_version
        if not _API_VERSION.match(self.api_version):
            raise InvalidCredentials(f"unknown Shopify API version {self.api_version!r}")
        for name, size in (
            ("line_items_first", line_items_first),
            ("shipping_lines_first", shipping_lines_first),
            ("refunds_first", refunds_first),
            ("variants_first", variants_first),
            ("inventory_levels_first", inventory_levels_first),
        ):
            if not 1 <= size <= MAX_PAGE:
                raise ValueError(f"{name} must be between 1 and {MAX_PAGE}")
        self.line_items_first = line_items_first
        self.shipping_lines_first = shipping_lines_first
        self.refunds_first = refunds_first
        self.variants_first = variants_first
        self.inventory_levels_first = inventory_levels_first
        self.graphql_path = f"/admin/api/{self.api_version}/graphql.json"
        # Bulk operations poll with these and download through the same transport.
        self._sleep, self._clock, self._transport = sleep, clock, transport
        self.cost_policy = GraphQLCostPolicy(clock=clock, wall_clock=wall_clock)
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        self.http = HttpClient(
            base_url or f"https://{self.shop_domain}",
            platform=self.platform,
            auth=ApiKeyHeader(TOKEN_HEADER, access_token),
            headers={"Content-Type": "application/json"},
            timeout=timeout,
            rate_limit=self.cost_policy,
            budget_seconds=budget_seconds,
            transport=transport,
            sleep=sleep,
            clock=clock,
            acquire=acquire,
            allow_insecure_http=allow_insecure_http,
            **extra,
        )
        # Lowered when the platform's cost disagrees with our estimate (MAX_COST_EXCEEDED).
        self._page_cap: int | None = None
        self.served_api_version: str | None = None

    # -- lifecycle and health --------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> ShopifyConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def last_throttle_status(self) -> dict[str, float | None] | None:
        """The last extensions.cost seen (requested/actual cost and throttleStatus)."""
        return self.cost_policy.last_cost

    def rate_budget(self) -> RateBudget:
        """Projected query-cost budget (remaining points, maximum, restore rate)."""
        return self.cost_policy.budget()

    # -- page sizing -----------------------------------------------------------------------

    def _nested_variables(self) -> dict[str, int]:
        return {
            "lineItemsFirst": self.line_items_first,
            "shippingLinesFirst": self.shipping_lines_first,
            "refundsFirst": self.refunds_first,
        }

    def max_orders_page_size(self) -> int:
        """Largest `first` keeping ORDERS_QUERY's requested cost <= 1000.

        With the defaults (5 line items, 3 shipping lines) one order node costs
          customer 1 + seven *Set money objects 7x2 + taxLines 1+2
          + lineItems (2 + 5 x 10 per line item + pageInfo 1)
          + shippingLines (2 + 3 x 7) + refunds 1+2             = 97,
        a line item being variant 1 + product 1 + originalUnitPriceSet 2
          + discountAllocations 1+2 + taxLines 1+2               = 10,
        and the page 2 + first x 97 + pageInfo 1 <= 1000  ->  first = 10.
        (graphql_cost.estimate_query_cost does this from the document itself.)
        """
        computed = max_page_size(
            ORDERS_QUERY, self._nested_variables(), max_cost=MAX_QUERY_COST, limit=MAX_PAGE
        )
        return min(computed, self._page_cap) if self._page_cap else computed

    def _max_line_items_page(self) -> int:
        return max_page_size(
            ORDER_LINE_ITEMS_QUERY,
            {"id": "", "after": None},
            max_cost=MAX_QUERY_COST,
            limit=MAX_PAGE,
        )

    # -- GraphQL ---------------------------------------------------------------------------

    def _graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        mutation: bool = False,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Run one query; THROTTLED is waited out by the client, other errors raise.

        A mutation costs Shopify 10 points at its root (the estimate counts 1), and one that
        is not idempotent is re-sent only when the platform surely did not run it."""
        variables = variables or {}
        cost = estimate_query_cost(query, variables) + (MUTATION_COST - 1 if mutation else 0)
        response = self.http.request(
            "POST",
            self.graphql_path,
            json={"query": query, "variables": variables},
            cost=cost,
            idempotent=idempotent,  # queries: re-sending after a 5xx or timeout is safe
        )
        served = response.headers.get("X-Shopify-API-Version")
        if served and served != self.api_version and served != self.served_api_version:
            log.warning("shopify served API version %s instead of %s", served, self.api_version)
        self.served_api_version = served or self.served_api_version
        body = response.data
        if not isinstance(body, dict):
            raise PlatformError("shopify GraphQL answered with a non-object body")
        errors = body.get("errors")
        if errors:
            self._raise_errors(errors)
        data = body.get("data")
        if not isinstance(data, dict):
            raise PlatformError("shopify GraphQL answered without data")
        return data

    def _raise_errors(self, errors: Any) -> None:
        message = self.http.scrub(platform_error_message(errors) or "unknown error")
        items = errors if isinstance(errors, list) else []
        codes = sorted(
            {str(get_path(e, "extensions.code")) for e in items if get_path(e, "extensions.code")}
        )
        details = {"codes": codes}
        if "ACCESS_DENIED" in codes:
            raise AuthFailed(f"shopify denied access: {message}", details=details)
        if "MAX_COST_EXCEEDED" in codes:
            extensions = next(
                (get_path(e, "extensions") for e in items if get_path(e, "extensions.cost")), {}
            )
            raise _QueryTooExpensive(
                f"shopify query too expensive: {message}",
                cost=_int_or_none(extensions.get("cost")),
                max_cost=_int_or_none(extensions.get("maxCost")),
            )
        raise PlatformError(f"shopify GraphQL error: {message}", details=details)

    # -- operations ------------------------------------------------------------------------

    def shop_info(self) -> dict[str, Any]:
        """The shop's id, name, currency, timezone and plan: the connection check."""
        shop = self._graphql(SHOP_QUERY).get("shop")
        if not isinstance(shop, dict):
            raise PlatformError("shopify returned no shop")
        return shop

    def count_orders(self, filter: OrderFilter) -> int:
        """Number of orders matching `filter` (exact: the count query sets no limit)."""
        data = self._graphql(ORDERS_COUNT_QUERY, {"query": filter.to_search_query()})
        count = get_path(data, "ordersCount.count")
        if not isinstance(count, int):
            raise PlatformError("shopify returned no order count")
        if get_path(data, "ordersCount.precision") not in (None, "EXACT"):
            log.warning("shopify order count is a lower bound: %s", count)
        return count

    def fetch_orders_page(
        self, filter: OrderFilter, after: str | None = None, first: int | None = None
    ) -> Page:
        """One page of complete orders after cursor `after` (None: from the start).

        `first` defaults to, and is capped at, the largest cost-safe page size.
        """
        if first is not None and first < 1:
            raise ValueError("first must be positive")
        cap = self.max_orders_page_size()
        size = min(first, cap) if first is not None else cap
        variables: dict[str, Any] = {
            "after": after,
            "query": filter.to_search_query(),
            "sortKey": filter.sort_key.value,
            **self._nested_variables(),
        }
        while True:
            try:
                data = self._graphql(ORDERS_QUERY, {**variables, "first": size})
                break
            except _QueryTooExpensive as exc:
                # Our estimate and the platform's disagree: trust the platform, remember it.
                smaller = (size * exc.max_cost) // exc.cost if exc.cost else size // 2
                smaller = min(smaller, size - 1)
                if smaller < 1:
                    raise PlatformError(exc.message, details=exc.details) from None
                log.warning(
                    "shopify rejected page size %d as too expensive; using %d", size, smaller
                )
                size = self._page_cap = smaller
        cost = self._query_cost()
        connection = data.get("orders")
        if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
            raise PlatformError("shopify returned no orders connection")
        orders: list[dict[str, Any]] = connection["nodes"]
        for order in orders:
            self._complete_line_items(order)
            self._complete_nested_lists(order)
        info = connection.get("pageInfo") or {}
        has_next = bool(info.get("hasNextPage"))
        end_cursor = info.get("endCursor")
        if has_next and not end_cursor:
            raise PlatformError("shopify says hasNextPage without an endCursor")
        return Page(records=orders, end_cursor=end_cursor, has_next_page=has_next, cost=cost)

    def iter_order_pages(
        self, filter: OrderFilter, after: str | None = None, first: int | None = None
    ) -> Iterator[Page]:
        """Every page from cursor `after` to the end; each Page carries its end_cursor."""
        cursor = after
        while True:
            page = self.fetch_orders_page(filter, after=cursor, first=first)
            yield page
            if not page.has_next_page:
                return
            if page.end_cursor == cursor:
                raise PlatformError("shopify pagination did not advance")
            cursor = page.end_cursor

    # -- completing orders -----------------------------------------------------------------

    def _query_cost(self) -> QueryCost | None:
        last = self.cost_policy.last_cost
        if last is None:
            return None
        return QueryCost(
            requested=last["requested_query_cost"],
            actual=last["actual_query_cost"],
            maximum_available=last["maximum_available"],
            currently_available=last["currently_available"],
            restore_rate=last["restore_rate"],
        )

    def _complete_line_items(self, order: dict[str, Any]) -> None:
        """Fetch the line items past the first page and append them to the order."""
        connection = order.get("lineItems")
        if not isinstance(connection, dict):
            raise PlatformError(f"order {order.get('id')} has no lineItems connection")
        nodes: list[Any] = connection.setdefault("nodes", [])
        info = connection.get("pageInfo") or {}
        seen: set[str] = set()
        while info.get("hasNextPage"):
            cursor = info.get("endCursor")
            if not cursor or cursor in seen:
                raise PlatformError(f"line items of order {order.get('id')} do not advance")
            seen.add(cursor)
            data = self._graphql(
                ORDER_LINE_ITEMS_QUERY,
                {"id": order["id"], "first": self._max_line_items_page(), "after": cursor},
            )
            more = get_path(data, "order.lineItems")
            if not isinstance(more, dict) or not isinstance(more.get("nodes"), list):
                raise PlatformError(
                    f"order {order.get('id')} vanished while reading its line items"
                )
            nodes.extend(more["nodes"])
            info = more.get("pageInfo") or {}
        connection["pageInfo"] = {"hasNextPage": False, "endCursor": info.get("endCursor")}

    def _complete_nested_lists(self, order: dict[str, Any]) -> None:
        """Re-read an order whose shippingLines or refunds filled their page (maybe cut off).

        The query selects no pageInfo for these, so a full page is the only hint; the order is
        read again alone (`id:` search) with the largest sizes the cost limit allows.
        """
        shipping_full = (
            len(get_path(order, "shippingLines.nodes") or []) >= self.shipping_lines_first
        )
        refunds_full = len(order.get("refunds") or []) >= self.refunds_first
        if not (shipping_full or refunds_full):
            return
        shipping_max = max_page_size(
            ORDERS_QUERY,
            {**self._nested_variables(), "first": 1, "refundsFirst": MAX_PAGE},
            variable="shippingLinesFirst",
            max_cost=MAX_QUERY_COST,
            limit=MAX_PAGE,
        )
        if (shipping_full and shipping_max <= self.shipping_lines_first) or (
            refunds_full and self.refunds_first >= MAX_PAGE
        ):
            self._refuse_truncated(order, self.shipping_lines_first, self.refunds_first)
        legacy_id = order.get("legacyResourceId")
        if not legacy_id:
            raise PlatformError(f"order {order.get('id')} has no legacyResourceId to re-read it")
        data = self._graphql(
            ORDERS_QUERY,
            {
                **self._nested_variables(),
                "first": 1,
                "after": None,
                "query": f"id:{legacy_id}",
                "sortKey": OrderSortKey.ID.value,
                "shippingLinesFirst": shipping_max,
                "refundsFirst": MAX_PAGE,
            },
        )
        nodes = get_path(data, "orders.nodes") or []
        again = next((n for n in nodes if isinstance(n, dict) and n.get("id") == order["id"]), None)
        if again is None:
            raise PlatformError(f"order {order['id']} could not be re-read by id")
        if self._maybe_truncated(again, shipping_max, MAX_PAGE):
            self._refuse_truncated(again, shipping_max, MAX_PAGE)
        order["shippingLines"] = again["shippingLines"]
        order["refunds"] = again["refunds"]

    @staticmethod
    def _maybe_truncated(order: dict[str, Any], shipping_first: int, refunds_first: int) -> bool:
        shipping = get_path(order, "shippingLines.nodes") or []
        refunds = order.get("refunds") or []
        return len(shipping) >= shipping_first or len(refunds) >= refunds_first

    @staticmethod
    def _refuse_truncated(order: dict[str, Any], shipping_first: int, refunds_first: int) -> None:
        raise DataMappingError(
            f"order {order.get('id')} has at least {shipping_first} shipping lines or "
            f"{refunds_first} refunds, more than one query can read completely",
            details={"orderId": order.get("id")},
        )


    # -- current orders by id (inbox processing) ------------------------------------------

    def fetch_orders_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        """The current, complete orders with these ids (numeric or `gid://shopify/Order/N`),
        as `fetch_orders_page` returns them; ids the shop does not have are left out.

        Searched as `id:a OR id:b ...` in batches of 50 ids, in id order."""
        legacy: list[str] = []
        for value in ids:
            text = str(value).strip().rsplit("/", 1)[-1]
            if not text.isdigit():
                raise ValueError(f"not a Shopify order id: {value!r}")
            legacy.append(text)
        wanted = list(dict.fromkeys(legacy))
        orders: list[dict[str, Any]] = []
        for start in range(0, len(wanted), IDS_BATCH):
            chunk = _OrderIdsFilter(ids=tuple(wanted[start:start + IDS_BATCH]),
                                    sort_key=OrderSortKey.ID)  # fmt: skip
            for page in self.iter_order_pages(chunk):
                orders.extend(page.records)
        return orders

    # -- webhook subscriptions ------------------------------------------------------------

    def list_webhook_subscriptions(self, callback_url: str | None = None) -> list[dict[str, Any]]:
        """Every webhook subscription of the app (those delivering to `callback_url` when
        given): `{"id", "topic" (enum), "callbackUrl"}`."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            data = self._graphql(WEBHOOK_SUBSCRIPTIONS_QUERY,
                                 {"first": 100, "after": after, "callbackUrl": callback_url})
            connection = _connection(data, "webhookSubscriptions", "webhook subscriptions")
            for node in connection.get("nodes") or []:
                url = get_path(node, "endpoint.callbackUrl")
                if callback_url is None or url == callback_url:
                    found.append({"id": node["id"], "topic": node["topic"], "callbackUrl": url})
            after = _next_cursor(connection, seen, "webhook subscriptions")
            if after is None:
                return found

    def register_webhooks(self, callback_url: str, topics: list[str] | None = None
                          ) -> WebhookRegistration:  # fmt: skip
        """Subscribe `callback_url` to `topics` (default DEFAULT_WEBHOOK_TOPICS; `orders/create`
        or `ORDERS_CREATE`). A topic already delivering there is reused, so running this
        twice creates nothing new. Deliveries are signed with the app's client secret, so the
        result's `secret` is None."""
        wanted = list(dict.fromkeys(webhook_topic_enum(t) for t in
                                    (topics or DEFAULT_WEBHOOK_TOPICS)))  # fmt: skip
        existing: dict[str, str] = {}
        for sub in self.list_webhook_subscriptions(callback_url):
            existing.setdefault(sub["topic"], sub["id"])
        refs: list[WebhookSubscriptionRef] = []
        created: list[str] = []
        reused: list[str] = []
        for topic in wanted:
            sub_id = existing.get(topic)
            if sub_id is None:
                sub_id = self._create_webhook(topic, callback_url)
                if sub_id is None:  # created meanwhile (a concurrent setup): use that one
                    again = {s["topic"]: s["id"] for s in
                             self.list_webhook_subscriptions(callback_url)}  # fmt: skip
                    sub_id = again.get(topic)
                    if sub_id is None:
                        raise PlatformError(f"shopify refused the {topic} subscription and "
                                            "none exists for the address")  # fmt: skip
                    reused.append(sub_id)
                else:
                    created.append(sub_id)
            else:
                reused.append(sub_id)
            refs.append(WebhookSubscriptionRef(sub_id, webhook_rest_topic(topic)))
        return WebhookRegistration(platform=self.platform, callback_url=callback_url,
                                   subscriptions=tuple(refs), created=tuple(created),
                                   reused=tuple(reused))  # fmt: skip

    def _create_webhook(self, topic: str, callback_url: str) -> str | None:
        """The new subscription's id; None when Shopify says the address is taken."""
        data = self._graphql(
            WEBHOOK_SUBSCRIPTION_CREATE_MUTATION,
            {"topic": topic, "webhookSubscription": {"callbackUrl": callback_url,
                                                     "format": "JSON"}},
            mutation=True, idempotent=False,
        )  # fmt: skip
        payload = data.get("webhookSubscriptionCreate") or {}
        errors = payload.get("userErrors") or []
        if errors:
            messages = "; ".join(str(e.get("message")) for e in errors)
            if "taken" in messages.lower():
                return None
            raise PlatformError(f"shopify refused the {topic} webhook subscription: {messages}",
                                details={"userErrors": errors})  # fmt: skip
        sub_id = get_path(payload, "webhookSubscription.id")
        if not isinstance(sub_id, str):
            raise PlatformError("shopify created a webhook subscription without an id")
        return sub_id

    def unregister_webhooks(self, callback_url: str) -> WebhookRegistration:
        """Delete every subscription delivering to `callback_url` (none: nothing to do)."""
        removed: list[WebhookSubscriptionRef] = []
        for sub in self.list_webhook_subscriptions(callback_url):
            data = self._graphql(WEBHOOK_SUBSCRIPTION_DELETE_MUTATION, {"id": sub["id"]},
                                 mutation=True)  # fmt: skip
            errors = get_path(data, "webhookSubscriptionDelete.userErrors") or []
            if errors and not any("does not exist" in str(e.get("message")) for e in errors):
                raise PlatformError("shopify refused to delete webhook subscription "
                                    f"{sub['id']}", details={"userErrors": errors})
            removed.append(WebhookSubscriptionRef(sub["id"], webhook_rest_topic(sub["topic"])))
        return WebhookRegistration(platform=self.platform, callback_url=callback_url,
                                   subscriptions=tuple(removed),
                                   removed=tuple(r.id for r in removed))  # fmt: skip
