"""WooCommerce REST API v3 connector: connection check, order counts and pages of orders.

Talks to `{site}/wp-json/wc/v3/orders` with HTTP Basic (`ck_…:cs_…`) over https, paged by
`page`/`per_page` with `X-WP-Total`/`X-WP-TotalPages`. Pages are requested in ascending id
order: an order created or modified during a sync then never shifts the pages still to come
(the default, newest first, would), so page-number paging neither skips nor repeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bigledger.errors import InvalidCredentials, PlatformError
from connectors.auth import Basic
from connectors.http import ApiResponse, HttpClient
from connectors.pagination import PageNumberPaginator, PageRequest, paginate
from connectors.webhook_registration import (
    WebhookRegistration,
    WebhookSubscriptionRef,
    new_webhook_secret,
)

API_PREFIX = "/wp-json/wc/v3"
ORDERS_PATH = f"{API_PREFIX}/orders"
MAX_PER_PAGE = 100  # WordPress core's collection limit
WEBHOOKS_PATH = f"{API_PREFIX}/webhooks"
# Orders as they are created and change (WooCommerce has no paid/cancelled/refund topics:
# those are order.updated), products (stock changes are product updates) and customers.
DEFAULT_WEBHOOK_TOPICS = (
    "order.created", "order.updated", "product.updated", "customer.created",
    "customer.updated",
)  # fmt: skip

OrderStatus = Literal[
    "any", "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
    "trash", "checkout-draft",
]  # fmt: skip


class OrderFilter(BaseModel):
    """Which orders to list; `to_params()` renders WooCommerce's list parameters.

    Bounds are inclusive for the caller. WordPress's date query compares strictly, so the
    rendered bounds are widened by one second (timestamps are whole seconds): a duplicate at
    a window edge is absorbed by idempotent upserts downstream, a miss is silent loss.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    created_from: datetime | None = None
    created_to: datetime | None = None
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    statuses: list[OrderStatus] = Field(default_factory=list)

    @field_validator("created_from", "created_to", "modified_from", "modified_to")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("datetime must carry a timezone (e.g. 2024-01-01T00:00:00Z)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> OrderFilter:
        for low, high in ((self.created_from, self.created_to),
                          (self.modified_from, self.modified_to)):  # fmt: skip
            if low is not None and high is not None and low > high:
                raise ValueError("range start is after its end")
        return self

    def to_params(self) -> dict[str, str]:
        """Query parameters (GMT dates, comma-separated statuses, oldest id first)."""
        params: dict[str, str] = {"orderby": "id", "order": "asc", "dates_are_gmt": "true"}
        second = timedelta(seconds=1)
        for name, low, high in (("", self.created_from, self.created_to),
                                ("modified_", self.modified_from, self.modified_to)):  # fmt: skip
            if low is not None:
                params[f"{name}after"] = _gmt(low - second)
            if high is not None:
                params[f"{name}before"] = _gmt(high + second)
        statuses = list(dict.fromkeys(self.statuses))
        if statuses and "any" not in statuses:
            params["status"] = ",".join(statuses)
        return params


def _gmt(value: datetime) -> str:
    # Whole seconds, floored: the widened bound still covers a sub-second original.
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()


@dataclass(frozen=True, slots=True)
class Page:
    """One page of orders as WooCommerce sends them (money stays a decimal string)."""

    records: list[dict[str, Any]]
    page: int
    total_pages: int
    total: int
    has_next: bool


def _header_int(response: ApiResponse, name: str) -> int:
    raw = response.headers.get(name)
    try:
        return int(raw) if raw is not None else -1
    except ValueError:
        return -1


def normalize_site_url(value: str) -> str:
    """`https://shop.example/` -> `https://shop.example` (a WordPress site may live in a path)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidCredentials("siteUrl is missing")
    url = value.strip().rstrip("/")
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidCredentials(f"siteUrl {value!r} is not an http(s) URL like https://shop.example")
    return url


class WooCommerceConnector:
    """WooCommerce REST API v3 for one WordPress site: orders, products with their variations,
    customers (read) and stock levels (write)."""

    platform = "woocommerce"

    def __init__(
        self,
        site_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        budget_seconds: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] | None = None,
        acquire: Callable[[], None] | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        self.site_url = normalize_site_url(site_url)
        if not consumer_key or not consumer_secret:
            raise InvalidCredentials("consumerKey and consumerSecret are required")
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        # HttpClient refuses http:// unless loopback or BIGLEDGER_ALLOW_INSECURE_HTTP: Basic
        # auth over plain http would send the secret in the clear.
        self.http = HttpClient(
            base_url or self.site_url,
            platform=self.platform,
            auth=Basic(consumer_key, consumer_secret),
            timeout=timeout,
            budget_seconds=budget_seconds,
            transport=transport,
            sleep=sleep,
            clock=clock,
            acquire=acquire,
            allow_insecure_http=allow_insecure_http,
            **extra,
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> WooCommerceConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations ------------------------------------------------------------------------

    def check_connection(self) -> dict[str, Any]:
        """Prove the keys can read orders: one `GET /orders?per_page=1`.

        Cheaper than `system_status` (which gathers the whole environment on the server and
        needs an admin's key), and unlike the public `/wp-json/wc/v3` index it exercises the
        keys and the read permission a sync needs.
        """
        response = self._orders({"per_page": 1, "page": 1, "_fields": "id"})
        return {"site_url": self.site_url, "orders": self._total(response)}

    def count_orders(self, filter: OrderFilter) -> int:
        """Number of orders matching `filter`, from `X-WP-Total` of a one-order page."""
        return self._total(self._orders({**filter.to_params(), "per_page": 1, "page": 1}))

    def fetch_orders_page(self, filter: OrderFilter, page: int = 1, per_page: int = 100) -> Page:
        """Orders of page `page` (1-based) for `filter`, `per_page` at most 100."""
        _check_size(page, per_page)
        response = self._orders({**filter.to_params(), "page": page, "per_page": per_page})
        return self._page(response, page, per_page)

    def iter_order_pages(
        self, filter: OrderFilter, per_page: int = 100, start_page: int = 1
    ) -> Iterator[Page]:
        """Every page from `start_page` to `X-WP-TotalPages`, each exactly once."""
        _check_size(start_page, per_page)
        paginator = PageNumberPaginator(
            page_size=per_page,
            total_pages_header="X-WP-TotalPages",
            state={"page": start_page},
        )
        request = PageRequest(url=ORDERS_PATH, params=filter.to_params())
        page = start_page
        for response in paginate(self.http, request, paginator):
            yield self._page(response, page, per_page)
            page += 1

    # -- helpers ---------------------------------------------------------------------------

    def _orders(self, params: dict[str, Any]) -> ApiResponse:
        return self.http.get(ORDERS_PATH, params=params)

    # -- current orders by id (inbox processing) ------------------------------------------

    def fetch_orders_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        """The current orders with these ids, as the order pages return them
        (`GET /orders?include=...`, 100 ids a request); unknown ids are left out."""
        wanted: list[int] = []
        for value in ids:
            text = str(value).strip()
            if not text.isdigit():
                raise ValueError(f"not a WooCommerce order id: {value!r}")
            wanted.append(int(text))
        unique = list(dict.fromkeys(wanted))
        orders: list[dict[str, Any]] = []
        for start in range(0, len(unique), MAX_PER_PAGE):
            chunk = unique[start:start + MAX_PER_PAGE]
            params = {"include": ",".join(map(str, chunk)), "orderby": "id", "order": "asc",
                      "per_page": MAX_PER_PAGE, "page": 1}  # fmt: skip
            orders.extend(self._page(self._orders(params), 1, MAX_PER_PAGE).records)
        return orders

    # -- webhooks -------------------------------------------------------------------------

    def list_webhooks(self, delivery_url: str | None = None) -> list[dict[str, Any]]:
        """Every webhook of the store (those delivering to `delivery_url` when given), read
        in the edit context so each carries its `secret`."""
        request = PageRequest(url=WEBHOOKS_PATH, params={"status": "all", "context": "edit",
                                                         "orderby": "id", "order": "asc"})
        paginator = PageNumberPaginator(page_size=MAX_PER_PAGE,
                                        total_pages_header="X-WP-TotalPages")  # fmt: skip
        found: list[dict[str, Any]] = []
        for response in paginate(self.http, request, paginator):
            for hook in _as_page(response, 1, MAX_PER_PAGE, "webhooks").records:
                if delivery_url is None or hook.get("delivery_url") == delivery_url:
                    found.append(hook)
        return found

    def register_webhooks(self, callback_url: str, topics: list[str] | None = None, *,
                          secret: str | None = None) -> WebhookRegistration:  # fmt: skip
        """Make every topic (default DEFAULT_WEBHOOK_TOPICS) deliver to `callback_url`, all
        signed with one secret: `secret` if given, else the one our webhooks there already
        share, else a new strong random one. Existing webhooks for the URL are reused (set
        active, secret aligned), extra copies of one topic deleted, so running this twice
        is safe. The result's `secret` is the key to verify with."""
        wanted = list(dict.fromkeys(topics or DEFAULT_WEBHOOK_TOPICS))
        for topic in wanted:
            resource, _, event = topic.partition(".")
            if not resource or event not in ("created", "updated", "deleted", "restored"):
                raise ValueError(f"not a WooCommerce webhook topic: {topic!r}")
        existing = self.list_webhooks(callback_url)
        shared = {h.get("secret") for h in existing if h.get("topic") in wanted}
        key = secret
        if key is None and len(shared) == 1:
            key = next(iter(shared))  # None or "" when the store did not show it
        key = key or new_webhook_secret()
        refs: list[WebhookSubscriptionRef] = []
        created: list[str] = []
        reused: list[str] = []
        removed: list[str] = []
        for topic in wanted:
            same = [h for h in existing if h.get("topic") == topic]
            if same:
                hook = same[0]
                if hook.get("secret") != key or hook.get("status") != "active":
                    self.http.request("PUT", f"{WEBHOOKS_PATH}/{hook['id']}",
                                      json={"secret": key, "status": "active"})  # fmt: skip
                reused.append(str(hook["id"]))
                for extra in same[1:]:
                    self._delete_webhook(extra["id"])
                    removed.append(str(extra["id"]))
            else:
                response = self.http.request(
                    "POST", WEBHOOKS_PATH, idempotent=False,
                    json={"name": f"BigLedger {topic}", "topic": topic,
                          "delivery_url": callback_url, "secret": key, "status": "active"},
                )  # fmt: skip
                hook = response.data if isinstance(response.data, dict) else {}
                if "id" not in hook:
                    raise PlatformError("woocommerce created a webhook without an id")
                created.append(str(hook["id"]))
            refs.append(WebhookSubscriptionRef(str(hook["id"]), topic))
        return WebhookRegistration(platform=self.platform, callback_url=callback_url,
                                   subscriptions=tuple(refs), secret=key,
                                   created=tuple(created), reused=tuple(reused),
                                   removed=tuple(removed))  # fmt: skip

    def unregister_webhooks(self, callback_url: str) -> WebhookRegistration:
        """Delete every webhook delivering to `callback_url`."""
        removed: list[WebhookSubscriptionRef] = []
        for hook in self.list_webhooks(callback_url):
            self._delete_webhook(hook["id"])
            removed.append(WebhookSubscriptionRef(str(hook["id"]), str(hook.get("topic"))))
        return WebhookRegistration(platform=self.platform, callback_url=callback_url,
                                   subscriptions=tuple(removed),
                                   removed=tuple(r.id for r in removed))  # fmt: skip

    def _delete_webhook(self, hook_id: Any) -> None:
        # Webhooks cannot be trashed: without force=true WooCommerce answers 501.
        self.http.request("DELETE", f"{WEBHOOKS_PATH}/{hook_id}", params={"force": "true"})

    def _total(self, response: ApiResponse) -> int:
        total = _header_int(response, "X-WP-Total")
        if total < 0:
            raise PlatformError("woocommerce answered without an X-WP-Total header")
        return total

    def _page(self, response: ApiResponse, page: int, per_page: int) -> Page:
        records = response.data
        if not isinstance(records, list) or any(not isinstance(r, dict) for r in records):
            raise PlatformError(f"woocommerce orders page {page} is not a list of orders")
        total = _header_int(response, "X-WP-Total")
        total_pages = _header_int(response, "X-WP-TotalPages")
        if total_pages < 0:
            # A proxy that strips headers: fall back to "a full page may have more".
            total_pages = page + (1 if len(records) >= per_page else 0)
        return Page(records, page, total_pages, total, page < total_pages)


    # -- products, variations, stock, customers ----------------------------------------

    def fetch_products_page(
        self, filter: ProductFilter, page: int = 1, per_page: int = 100
    ) -> Page:
        """Products of page `page`; each variable product has `variations` replaced by its full
        variation objects (every page of them), so a record is complete for the transform."""
        _check_size(page, per_page)
        response = self.http.get(PRODUCTS_PATH,
                                 params={**filter.to_params(), "page": page, "per_page": per_page})
        result = _as_page(response, page, per_page, "products")
        for product in result.records:
            if product.get("type") == "variable":
                product["variations"] = self.fetch_variations(product["id"])
        return result


    def iter_product_pages(
        self, filter: ProductFilter, per_page: int = 100, start_page: int = 1
    ) -> Iterator[Page]:
        """Every page of complete products from `start_page` to `X-WP-TotalPages`."""
        page = start_page
        while True:
            result = self.fetch_products_page(filter, page, per_page)
            yield result
            if not result.has_next or not result.records:
                return
            page += 1


    def fetch_variations(self, product_id: int) -> list[dict[str, Any]]:
        """Every variation of one product (all pages), in the order the site sends them."""
        out: list[dict[str, Any]] = []
        page = 1
        path = f"{PRODUCTS_PATH}/{int(product_id)}/variations"
        while True:
            # No orderby: its allowed values vary by version; the transform sorts by menu_order.
            response = self.http.get(path, params={"page": page, "per_page": MAX_PER_PAGE})
            result = _as_page(response, page, MAX_PER_PAGE, "variations")
            out.extend(result.records)
            if not result.has_next or not result.records:
                return out
            page += 1


    def find_by_sku(self, skus: list[str]) -> dict[str, dict[str, Any]]:
        """`{sku: {"product_id", "variation_id" | None}}` for the SKUs the site has.

        One `GET /products?sku=a,b,…` per 50 SKUs: WooCommerce searches variations too when
        `sku` is given (type "variation", with `parent_id`). Matching is exact on the returned
        SKU; SKUs containing a comma cannot be asked for this way and are reported as unknown.
        """
        wanted = [s for s in dict.fromkeys(skus) if s and "," not in s]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), SKU_CHUNK):
            chunk = wanted[start:start + SKU_CHUNK]
            page = 1
            while True:
                params = {"sku": ",".join(chunk), "per_page": MAX_PER_PAGE, "page": page,
                          "orderby": "id", "order": "asc", "status": "any"}  # fmt: skip
                result = _as_page(self.http.get(PRODUCTS_PATH, params=params), page, MAX_PER_PAGE,
                                  "products")  # fmt: skip
                for record in result.records:
                    sku = record.get("sku")
                    if sku not in chunk or sku in found:
                        continue
                    if record.get("type") == "variation":
                        found[sku] = {"product_id": record.get("parent_id"),
                                      "variation_id": record.get("id")}  # fmt: skip
                    else:
                        found[sku] = {"product_id": record.get("id"), "variation_id": None}
                if not result.has_next or not result.records:
                    break
                page += 1
        return found


    def set_stock(self, items: list[tuple[str, int]]) -> list[StockResult]:
        """Set the absolute stock of each SKU (WooCommerce has no locations: one number per SKU).

        SKUs resolve through `find_by_sku`; writes go out as `POST …/batch` updates with
        `manage_stock: true` (products in one batch, variations in one per parent). Results come
        back in the order of `items`; one bad item never stops the others, and re-sending the
        same level is harmless (an absolute set, retried like a PUT).
        """
        results: list[StockResult | None] = [None] * len(items)
        valid: list[int] = []
        for n, (sku, quantity) in enumerate(items):
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                results[n] = StockResult(sku, False, None, "VALIDATION_ERROR",
                                         f"quantity {quantity!r} is not an integer")  # fmt: skip
            elif quantity < 0:
                results[n] = StockResult(sku, False, None, "NEGATIVE_QUANTITY",
                                         f"quantity {quantity} is negative")  # fmt: skip
            else:
                valid.append(n)
        targets = self.find_by_sku([items[n][0] for n in valid]) if valid else {}
        # (path, id) -> item numbers writing to it; the last quantity sent for an id wins.
        batches: dict[str, list[tuple[int, int]]] = {}
        for n in valid:
            sku = items[n][0]
            target = targets.get(sku)
            if target is None:
                results[n] = StockResult(sku, False, None, "UNKNOWN_SKU",
                                         f"no product or variation has SKU {sku!r}")  # fmt: skip
                continue
            if target["variation_id"] is None:
                path, record_id = f"{PRODUCTS_PATH}/batch", int(target["product_id"])
            else:
                path = f"{PRODUCTS_PATH}/{int(target['product_id'])}/variations/batch"
                record_id = int(target["variation_id"])
            batches.setdefault(path, []).append((n, record_id))
        for path, entries in batches.items():
            for start in range(0, len(entries), MAX_PER_PAGE):
                self._send_stock_batch(path, entries[start:start + MAX_PER_PAGE], items, results)
        return [r for r in results if r is not None]


    def _send_stock_batch(
        self,
        path: str,
        entries: list[tuple[int, int]],
        items: list[tuple[str, int]],
        results: list[StockResult | None],
    ) -> None:
        body = {"update": [{"id": record_id, "manage_stock": True, "stock_quantity": items[n][1]}
                           for n, record_id in entries]}  # fmt: skip
        try:
            # Absolute levels: sending twice leaves the same state, so 5xx may be retried.
            response = self.http.post(path, json=body, idempotent=True)
        except PlatformError as exc:
            for n, _ in entries:
                results[n] = StockResult(items[n][0], False, None, exc.code, exc.message)
            return
        answers = (response.data or {}).get("update") if isinstance(response.data, dict) else None
        if not isinstance(answers, list) or len(answers) != len(entries):
            for n, _ in entries:
                results[n] = StockResult(items[n][0], False, None, "PLATFORM_ERROR",
                                         "woocommerce batch answer does not match the request")
            return
        for (n, _), answer in zip(entries, answers, strict=True):
            sku = items[n][0]
            error = answer.get("error") if isinstance(answer, dict) else None
            if not isinstance(answer, dict) or error:
                code = (error or {}).get("code") if isinstance(error, dict) else None
                message = (error or {}).get("message") if isinstance(error, dict) else None
                results[n] = StockResult(sku, False, None, code or "PLATFORM_ERROR",
                                         message or "woocommerce refused the update")  # fmt: skip
                continue
            quantity = answer.get("stock_quantity")
            if answer.get("manage_stock") is not True or quantity != items[n][1]:
                stored = quantity if isinstance(quantity, int) else None
                results[n] = StockResult(sku, False, stored, "PLATFORM_ERROR",
                                         "woocommerce did not store the quantity")  # fmt: skip
                continue
            results[n] = StockResult(sku, True, quantity)


    def fetch_customers_page(
        self, filter: CustomerFilter, page: int = 1, per_page: int = 100
    ) -> Page:
        """Customers of page `page` for `filter` (re-filtered by `filter.keep`, since WooCommerce
        itself has no date filter on customers: `total` is then the site's unfiltered count)."""
        _check_size(page, per_page)
        response = self.http.get(CUSTOMERS_PATH,
                                 params={**filter.to_params(), "page": page, "per_page": per_page})
        result = _as_page(response, page, per_page, "customers")
        kept = [c for c in result.records if filter.keep(c)]
        return Page(kept, result.page, result.total_pages, result.total, result.has_next)


    def iter_customer_pages(
        self, filter: CustomerFilter, per_page: int = 100, start_page: int = 1
    ) -> Iterator[Page]:
        """Every page of customers from `start_page` to `X-WP-TotalPages`."""
        page = start_page
        while True:
            result = self.fetch_customers_page(filter, page, per_page)
            yield result
            if not result.has_next:
                return
            page += 1


def _check_size(page: int, per_page: int) -> None:
    if page < 1:
        raise ValueError("page must be >= 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")


# -- products, customers and stock (issue 3 item 5: Woo as a fan-out target) -------------

PRODUCTS_PATH = f"{API_PREFIX}/products"
CUSTOMERS_PATH = f"{API_PREFIX}/customers"
SKU_CHUNK = 50  # SKUs per `GET /products?sku=a,b,…` (keeps the URL short)

ProductStatus = Literal["any", "publish", "draft", "pending", "private", "future"]


class ProductFilter(BaseModel):
    """Which products to list. `modified_from` is inclusive (widened by a second, as orders)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    modified_from: datetime | None = None
    status: ProductStatus = "any"
    type: Literal["simple", "variable"] | None = None

    @field_validator("modified_from")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("datetime must carry a timezone (e.g. 2024-01-01T00:00:00Z)")
        return value

    def to_params(self) -> dict[str, str]:
        """Query parameters (GMT dates, oldest id first)."""
        params: dict[str, str] = {"orderby": "id", "order": "asc", "dates_are_gmt": "true",
                                  "status": self.status}  # fmt: skip
        if self.modified_from is not None:
            params["modified_after"] = _gmt(self.modified_from - timedelta(seconds=1))
        if self.type is not None:
            params["type"] = self.type
        return params


class CustomerFilter(BaseModel):
    """Which customers to list: one email, and/or changed since `modified_from` (inclusive)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str | None = None
    modified_from: datetime | None = None

    @field_validator("modified_from")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("datetime must carry a timezone (e.g. 2024-01-01T00:00:00Z)")
        return value

    def to_params(self) -> dict[str, str]:
        """Query parameters; WooCommerce ignores `modified_after` here, so `keep()` re-checks."""
        params: dict[str, str] = {"orderby": "id", "order": "asc", "role": "all"}
        if self.email:
            params["email"] = self.email
        if self.modified_from is not None:
            params["modified_after"] = _gmt(self.modified_from - timedelta(seconds=1))
            params["dates_are_gmt"] = "true"
        return params

    def keep(self, customer: dict[str, Any]) -> bool:
        """True when a customer returned by the site really matches (see to_params)."""
        if self.modified_from is None:
            return True
        raw = customer.get("date_modified_gmt")
        if not isinstance(raw, str):
            return True  # cannot tell: keep it, an idempotent upsert absorbs the extra
        try:
            moment = datetime.fromisoformat(raw).replace(tzinfo=UTC)
        except ValueError:
            return True
        return moment >= self.modified_from.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class StockResult:
    """Outcome of one `set_stock` item: applied with the site's new quantity, or an error code
    (UNKNOWN_SKU, NEGATIVE_QUANTITY, VALIDATION_ERROR, or WooCommerce's own) and message."""

    sku: str
    applied: bool
    quantity: int | None
    error: str | None = None
    message: str | None = None


def _as_page(response: ApiResponse, page: int, per_page: int, what: str) -> Page:
    records = response.data
    if not isinstance(records, list) or any(not isinstance(r, dict) for r in records):
        raise PlatformError(f"woocommerce {what} page {page} is not a list of {what}")
    total = _header_int(response, "X-WP-Total")
    total_pages = _header_int(response, "X-WP-TotalPages")
    if total_pages < 0:
        total_pages = page + (1 if len(records) >= per_page else 0)
    return Page(records, page, total_pages, total, page < total_pages)
