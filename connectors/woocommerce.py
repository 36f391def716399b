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

API_PREFIX = "/wp-json/wc/v3"
ORDERS_PATH = f"{API_PREFIX}/orders"
MAX_PER_PAGE = 100  # WordPress core's collection limit

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
    """WooCommerce REST API v3 for one WordPress site (read-only orders)."""

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


def _check_size(page: int, per_page: int) -> None:
    if page < 1:
        raise ValueError("page must be >= 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
