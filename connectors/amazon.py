"""Amazon Selling Partner API connector: LWA auth, Orders v0 with their items, settlements.

MWS is retired; this talks to SP-API on the marketplace's regional host with a Login with
Amazon access token in `x-amz-access-token` (no SigV4 since 2023-10-02). Tokens come from the
refresh_token grant and are refreshed a margin before they expire.

Every operation has its own token bucket with the published default usage plan, adapted to
the rate the platform states in `x-amzn-RateLimit-Limit` (a seller may have a faster or a
slower plan), so the connector paces itself instead of collecting 429s; a 429 empties the
bucket and waits for one token. Settlement reports are listed (only DONE ones) and
downloaded through their presigned document link, fetched without SP-API headers and
gunzipped when flagged; a link that expired before it was fetched is replaced once.
"""

from __future__ import annotations

import gzip
import logging
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bigledger.errors import AuthFailed, InvalidCredentials, PlatformError
from connectors.auth import OAuth2RefreshToken, TokenCallback
from connectors.http import ApiResponse, HttpClient
from connectors.pagination import NextTokenPaginator, PageRequest, Paginator
from connectors.ratelimit import RateBudget, RateLimitPolicy, Throttle, TokenBucketPolicy

log = logging.getLogger(__name__)

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
REGION_HOSTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
MARKETPLACE_REGIONS = {
    # North America
    "ATVPDKIKX0DER": "na", "A2EUQ1WTGCTBG2": "na", "A1AM78C64UM0Y8": "na", "A2Q3Y263D00KWC": "na",
    # Europe, Middle East, India (the EU host)
    "A1F83G8C2ARO7P": "eu", "A1PA6795UKMFR9": "eu", "A13V1IB3VIYZZH": "eu", "APJ6JRA9NG5V4": "eu",
    "A1RKKUPIHCS9HS": "eu", "A1805IZSGTT6HS": "eu", "A2NODRKZP88ZB9": "eu", "A1C3SOZRARQ6R3": "eu",
    "AMEN7PMS3EDWL": "eu", "A33AVAJ2PDY3EV": "eu", "A2VIGQ35RCS4UG": "eu", "A21TJRUUN4KGV": "eu",
    "ARBP9OOSHTCHU": "eu", "A17E79C6D8DWNP": "eu", "A28R8C7NBKEWEA": "eu",
    # Far East
    "A1VC38T7YXB528": "fe", "A39IBJ37TRP1C6": "fe", "A19VAU5U5O7RUS": "fe",
}  # fmt: skip
RATE_HEADER = "x-amzn-RateLimit-Limit"
# Send at 95 % of the stated rate: Amazon meters arrivals, we meter departures (see
# TokenBucketPolicy); the 5 % keeps network jitter from costing a 429.
PACING_HEADROOM = 0.95
# Published default usage plans: operation -> (requests per second, burst). The
# getMarketplaceParticipations plan is from memory (reference section 3 does not list it).
USAGE_PLANS: dict[str, tuple[float, float]] = {
    "getMarketplaceParticipations": (0.016, 15),
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getReports": (0.0222, 10),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
}
SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
PARTICIPATIONS_PATH = "/sellers/v1/marketplaceParticipations"
ORDERS_PATH = "/orders/v0/orders"
REPORTS_PATH = "/reports/2021-06-30/reports"
DOCUMENTS_PATH = "/reports/2021-06-30/documents"
MAX_RESULTS_PER_PAGE = 100
# Amazon refuses order-window bounds later than two minutes before the request.
ORDER_WINDOW_LAG = timedelta(minutes=2)

# What an SP-API integration needs, and the retired MWS keys callers may still send.
SP_API_CREDENTIALS = ("sellerId", "marketplaceId", "clientId", "clientSecret", "refreshToken")
MWS_CREDENTIALS = ("mwsAccessKey", "mwsSecretKey", "mwsAuthToken", "awsAccessKeyId",
                   "awsSecretKey", "secretKey")  # fmt: skip

OrderStatus = Literal[
    "PendingAvailability", "Pending", "Unshipped", "PartiallyShipped", "Shipped",
    "InvoiceUnconfirmed", "Canceled", "Unfulfillable",
]  # fmt: skip


def check_amazon_credentials(credentials: Mapping[str, Any]) -> None:
    """Raise InvalidCredentials unless every SP-API field is a non-empty string; when the
    caller sends MWS keys instead, say that MWS is retired and what SP-API needs."""
    missing = [name for name in SP_API_CREDENTIALS
               if not isinstance(credentials.get(name), str) or not credentials[name].strip()]
    if not missing:
        return
    mws = [name for name in MWS_CREDENTIALS if name in credentials]
    needed = ", ".join(SP_API_CREDENTIALS)
    if mws:
        raise InvalidCredentials(
            f"Amazon MWS is retired and its keys ({', '.join(mws)}) no longer work: connect "
            f"through the Selling Partner API with {needed} (a Login with Amazon app's client "
            "id and secret and the seller's refresh token)",
            details={"missing": missing, "retired": mws, "required": list(SP_API_CREDENTIALS)},
        )
    raise InvalidCredentials(
        f"amazon credentials need {', '.join(missing)}",
        details={"missing": missing, "required": list(SP_API_CREDENTIALS)},
    )


# ---- auth and rate limits ----------------------------------------------------------------


class LwaAuth(OAuth2RefreshToken):
    """Login with Amazon: the refresh_token grant (client id and secret in the form body),
    the access token sent as `x-amz-access-token`, refreshed `refresh_margin_seconds` early.

    SP-API answers an expired token with 403 Unauthorized (not 401), so that answer also
    triggers one refresh and resend; a second refusal is returned to the caller.
    """

    def __init__(
        self, token_url: str, client_id: str, client_secret: str, refresh_token: str,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        kwargs.setdefault("refresh_margin_seconds", 60.0)
        super().__init__(token_url, client_id, client_secret, refresh_token, client_auth="body",
                         header="x-amz-access-token", template="{token}", **kwargs)  # fmt: skip

    def auth_flow(self, request: httpx.Request):  # type: ignore[override]
        """Fetch or refresh the token when due, send, and on a refused token refresh once."""
        if self._needs_token():
            with self._lock:
                if self._needs_token():
                    yield from self._refresh()
        sent_with = self._access_token
        self._apply(request)
        response = yield request
        if not _token_refused(response):
            return
        with self._lock:
            if self._access_token == sent_with:
                yield from self._refresh()
        self._apply(request)
        yield request


def _token_refused(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return False
    return any(isinstance(e, dict) and e.get("code") == "Unauthorized" for e in errors)


class OperationRateLimits(RateLimitPolicy):
    """One TokenBucketPolicy per SP-API operation (Amazon meters each separately).

    The connector names the operation around each request (`with limits.operation(...)`);
    a request outside any operation (a presigned document download) is not paced.
    """

    def __init__(
        self,
        plans: Mapping[str, tuple[float, float]],
        *,
        rate_header: str = RATE_HEADER,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.buckets = {
            name: TokenBucketPolicy(rate, burst, rate_header=rate_header,
                                    headroom=PACING_HEADROOM, **kwargs)
            for name, (rate, burst) in plans.items()
        }
        self._current: ContextVar[str | None] = ContextVar("sp_api_operation", default=None)

    @contextmanager
    def operation(self, name: str) -> Iterator[TokenBucketPolicy]:
        """Meter requests made inside the block against `name`'s bucket."""
        if name not in self.buckets:
            raise KeyError(f"no usage plan for SP-API operation {name!r}")
        token = self._current.set(name)
        try:
            yield self.buckets[name]
        finally:
            self._current.reset(token)

    def current_operation(self) -> str | None:
        """The SP-API operation being metered (inside `operation()`), else None."""
        return self._current.get()

    def _bucket(self) -> TokenBucketPolicy | None:
        name = self._current.get()
        return self.buckets.get(name) if name is not None else None

    def delay_before(self, cost: float = 1.0) -> float:
        """The current operation's wait for a token."""
        bucket = self._bucket()
        return bucket.delay_before(cost) if bucket is not None else 0.0

    def observe(self, response: ApiResponse) -> None:
        """Let the current operation's bucket read x-amzn-RateLimit-Limit."""
        bucket = self._bucket()
        if bucket is not None:
            bucket.observe(response)

    def throttle(self, response: ApiResponse) -> Throttle | None:
        """A 429 empties the current operation's bucket and waits for one token."""
        bucket = self._bucket()
        return bucket.throttle(response) if bucket is not None else super().throttle(response)

    def budget(self) -> RateBudget:
        """The tightest operation's budget (lowest share of its burst left)."""
        budgets = [bucket.budget() for bucket in self.buckets.values()]
        return min(budgets, key=lambda b: (b.remaining or 0.0) / (b.limit or 1.0))

    def rate(self, name: str) -> float:
        """The rate (requests per second) currently assumed for an operation."""
        return self.buckets[name].rate


class _NextTokenKeeping(NextTokenPaginator):
    """NextToken plus only the `keep` parameters of the first request (getOrders still
    needs MarketplaceIds; the filters travel inside the token)."""

    def __init__(self, keep: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keep = keep

    def _with_token(self, request: PageRequest, token: str) -> PageRequest:
        kept = {k: v for k, v in request.params.items() if k in self.keep}
        return replace(request, params={**kept, self.param: token})


# ---- orders ------------------------------------------------------------------------------


def _sp_time(value: datetime) -> str:
    # Whole seconds, floored: Amazon's times are whole seconds, so the bound is unchanged.
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class OrderFilter(BaseModel):
    """Which orders to list: a created or a last-updated window (both bounds inclusive,
    Amazon's "after (or at)" / "before (or at)"), statuses and fulfilment channels.

    Exactly one of `created_after` / `updated_after` is required and the two kinds cannot
    be mixed, as getOrders demands. `clamped(now)` caps the upper bound at now − 2 minutes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    statuses: list[OrderStatus] = Field(default_factory=list)
    fulfillment_channels: list[Literal["AFN", "MFN"]] = Field(default_factory=list)

    @field_validator("created_after", "created_before", "updated_after", "updated_before")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("datetime must carry a timezone (e.g. 2024-01-01T00:00:00Z)")
        return value

    @model_validator(mode="after")
    def _one_window(self) -> OrderFilter:
        created = self.created_after is not None or self.created_before is not None
        updated = self.updated_after is not None or self.updated_before is not None
        if created and updated:
            raise ValueError("created and last-updated bounds cannot be mixed (getOrders)")
        if self.lower is None:
            raise ValueError("created_after or updated_after is required (getOrders)")
        if self.upper is not None and self.upper < self.lower:
            raise ValueError("range start is after its end")
        return self

    @property
    def by_update(self) -> bool:
        """True for a last-updated window."""
        return self.updated_after is not None

    @property
    def lower(self) -> datetime | None:
        """The window's start."""
        return self.updated_after if self.by_update else self.created_after

    @property
    def upper(self) -> datetime | None:
        """The window's end (None: up to now − 2 minutes)."""
        return self.updated_before if self.by_update else self.created_before

    @property
    def is_empty(self) -> bool:
        """True when the window ends before it starts (nothing to ask Amazon for yet)."""
        return self.upper is not None and self.lower is not None and self.upper < self.lower

    def clamped(self, now: datetime) -> OrderFilter:
        """A copy whose upper bound is at most now − 2 minutes, whole seconds; `is_empty`
        when the window has not begun by then (Amazon would refuse it)."""
        latest = (now - ORDER_WINDOW_LAG).astimezone(UTC).replace(microsecond=0)
        upper = latest if self.upper is None else min(self.upper, latest)
        key = "updated_before" if self.by_update else "created_before"
        # model_copy skips validation: an empty window is a legitimate answer here.
        return self.model_copy(update={key: upper})

    def to_params(self) -> dict[str, str]:
        """getOrders query parameters (ISO 8601 UTC, comma-separated lists)."""
        names = ("LastUpdatedAfter", "LastUpdatedBefore") if self.by_update else (
            "CreatedAfter", "CreatedBefore")  # fmt: skip
        params: dict[str, str] = {}
        assert self.lower is not None
        params[names[0]] = _sp_time(self.lower)
        if self.upper is not None:
            params[names[1]] = _sp_time(self.upper)
        if self.statuses:
            params["OrderStatuses"] = ",".join(dict.fromkeys(self.statuses))
        if self.fulfillment_channels:
            params["FulfillmentChannels"] = ",".join(dict.fromkeys(self.fulfillment_channels))
        return params


@dataclass(frozen=True, slots=True)
class Page:
    """One page of orders, each with its `OrderItems` (money stays Amazon's decimal strings).

    `end_cursor` is the NextToken of the following page; `window_end` the upper bound Amazon
    applied (CreatedBefore / LastUpdatedBefore): the next incremental sync starts there.
    None when nothing was asked (the window had not opened yet: keep the cursor as it is).
    """

    records: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool
    window_end: datetime | None = None


# ---- the connector -----------------------------------------------------------------------


class AmazonConnector:
    """SP-API for one seller in one marketplace: orders with items, settlement reports."""

    platform = "amazon"

    def __init__(
        self,
        seller_id: str,
        marketplace_id: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        base_url: str | None = None,
        token_url: str | None = None,
        region: str = "na",
        *,
        usage_plans: Mapping[str, tuple[float, float]] | None = None,
        token: Mapping[str, Any] | None = None,
        on_token: TokenCallback | None = None,
        refresh_margin_seconds: float = 60.0,
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
        for value, name in ((seller_id, "sellerId"), (marketplace_id, "marketplaceId")):
            if not isinstance(value, str) or not value.strip():
                raise InvalidCredentials(f"{name} is missing",
                                         details={"missing": [name]})  # fmt: skip
        self.seller_id = seller_id.strip()
        self.marketplace_id = marketplace_id.strip()
        # The marketplace decides the host; `region` serves marketplaces this table lacks.
        self.region = MARKETPLACE_REGIONS.get(self.marketplace_id, region)
        if self.region not in REGION_HOSTS:
            raise InvalidCredentials(f"region {region!r} is not one of na, eu, fe",
                                     details={"region": region})  # fmt: skip
        host = base_url.rstrip("/") if base_url else REGION_HOSTS[self.region]
        if token_url is None:
            # A sandbox serves LWA beside the API; the real SP-API hosts do not.
            real = httpx.URL(host).host.endswith(".amazon.com")
            token_url = LWA_TOKEN_URL if real else f"{host}/auth/o2/token"
        self._wall_clock = wall_clock
        self.auth = LwaAuth(
            token_url, client_id, client_secret, refresh_token, token=token, on_token=on_token,
            refresh_margin_seconds=refresh_margin_seconds, clock=wall_clock,
            allow_insecure_http=allow_insecure_http,
        )  # fmt: skip
        plans = {**USAGE_PLANS, **(usage_plans or {})}
        self.limits = OperationRateLimits(plans, clock=clock, wall_clock=wall_clock)
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        self.http = HttpClient(
            host,
            platform=self.platform,
            auth=self.auth,
            rate_limit=self.limits,
            timeout=timeout,
            budget_seconds=budget_seconds,
            transport=transport,
            sleep=sleep,
            clock=clock,
            acquire=acquire,
            allow_insecure_http=allow_insecure_http,
            **extra,
        )

    @classmethod
    def from_credentials(
        cls, credentials: Mapping[str, Any], settings: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> AmazonConnector:  # fmt: skip
        """Build from an integration's credentials (sellerId, marketplaceId, clientId,
        clientSecret, refreshToken) and settings (baseUrl, tokenUrl, region)."""
        check_amazon_credentials(credentials)
        settings = settings or {}
        return cls(
            credentials["sellerId"].strip(),
            credentials["marketplaceId"].strip(),
            credentials["clientId"].strip(),
            credentials["clientSecret"].strip(),
            credentials["refreshToken"].strip(),
            base_url=settings.get("baseUrl") or None,
            token_url=settings.get("tokenUrl") or None,
            region=settings.get("region") or "na",
            **options,
        )

    def __repr__(self) -> str:
        return (f"AmazonConnector(seller_id={self.seller_id!r}, "
                f"marketplace_id={self.marketplace_id!r}, region={self.region!r})")  # fmt: skip

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> AmazonConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rate_budget(self) -> RateBudget:
        """The tightest operation's token bucket (for health reporting)."""
        return self.limits.budget()

    # -- plumbing --------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._wall_clock(), UTC)

    def _get(self, operation: str, path: str, params: Mapping[str, Any] | None = None
             ) -> ApiResponse:  # fmt: skip
        with self.limits.operation(operation) as bucket:
            # A 429 waits one token (1/rate s, a minute for getOrders): the retry budget must
            # outlast a few of those or the first throttle would end the sync.
            budget = max(self.http.budget_seconds, 3.0 / bucket.rate)
            return self.http.get(path, params=params, budget_seconds=budget)

    def _pages(self, operation: str, request: PageRequest, paginator: Paginator
               ) -> Iterator[ApiResponse]:  # fmt: skip
        current: PageRequest | None = paginator.first(request)
        while current is not None:
            response = self._get(operation, current.url, current.params)
            following = paginator.next(current, response)
            yield response
            current = following

    @staticmethod
    def _payload(response: ApiResponse, what: str) -> Any:
        data = response.data
        if not isinstance(data, dict) or "payload" not in data:
            raise PlatformError(f"amazon {what} answer has no payload",
                                details={"path": response.path})  # fmt: skip
        return data["payload"]

    # -- operations ------------------------------------------------------------------------

    def check_connection(self) -> dict[str, Any]:
        """Prove the credentials work and the seller sells in the configured marketplace
        (getMarketplaceParticipations); InvalidCredentials when it does not."""
        entries = self._payload(self._get("getMarketplaceParticipations", PARTICIPATIONS_PATH),
                                "getMarketplaceParticipations")  # fmt: skip
        if not isinstance(entries, list):
            raise PlatformError("amazon marketplaceParticipations payload is not a list")
        ids: list[str] = []
        found: dict[str, Any] | None = None
        for entry in entries:
            market = entry.get("marketplace") if isinstance(entry, dict) else None
            if not isinstance(market, dict):
                continue
            ids.append(str(market.get("id")))
            participating = (entry.get("participation") or {}).get("isParticipating")
            if market.get("id") == self.marketplace_id and participating:
                found = market
        if found is None:
            raise InvalidCredentials(
                f"seller {self.seller_id} does not sell in marketplace {self.marketplace_id}",
                details={"marketplaceId": self.marketplace_id, "participations": ids},
            )
        return {
            "seller_id": self.seller_id,
            "marketplace_id": self.marketplace_id,
            "region": self.region,
            "marketplace": found.get("name"),
            "country": found.get("countryCode"),
            "currency": found.get("defaultCurrencyCode"),
            "marketplaces": ids,
        }

    def fetch_order_items(self, order_id: str) -> list[dict[str, Any]]:
        """Every item of one order (getOrderItems, following its NextToken)."""
        if not isinstance(order_id, str) or not order_id:
            raise PlatformError("amazon order without an AmazonOrderId")
        request = PageRequest(url=f"{ORDERS_PATH}/{order_id}/orderItems")
        items: list[dict[str, Any]] = []
        for response in self._pages("getOrderItems", request, NextTokenPaginator()):
            payload = self._payload(response, "getOrderItems")
            page = payload.get("OrderItems") if isinstance(payload, dict) else None
            if not isinstance(page, list):
                raise PlatformError(f"amazon order {order_id}: OrderItems is not a list")
            items.extend(page)
        return items

    def fetch_orders_page(
        self, filter: OrderFilter, next_token: str | None = None,
        max_results: int = MAX_RESULTS_PER_PAGE,
    ) -> Page:  # fmt: skip
        """One page of orders for `filter` (or the page `next_token` points at), each order
        completed with its `OrderItems`."""
        if not 1 <= max_results <= MAX_RESULTS_PER_PAGE:
            raise ValueError(f"max_results must be between 1 and {MAX_RESULTS_PER_PAGE}")
        bounded = filter.clamped(self._now())
        if bounded.is_empty and next_token is None:
            return Page([], None, False, None)
        params: dict[str, Any] = {"MarketplaceIds": self.marketplace_id}
        if next_token:
            params["NextToken"] = next_token
        else:
            params.update(bounded.to_params())
            params["MaxResultsPerPage"] = max_results
        return self._orders_page(self._get("getOrders", ORDERS_PATH, params))

    def iter_order_pages(
        self, filter: OrderFilter, max_results: int = MAX_RESULTS_PER_PAGE,
        next_token: str | None = None,
    ) -> Iterator[Page]:  # fmt: skip
        """Every page for `filter` (from `next_token` when resuming), items included. The
        upper bound is fixed once, so every page belongs to the same window."""
        if not 1 <= max_results <= MAX_RESULTS_PER_PAGE:
            raise ValueError(f"max_results must be between 1 and {MAX_RESULTS_PER_PAGE}")
        bounded = filter.clamped(self._now())
        if bounded.is_empty and next_token is None:
            yield Page([], None, False, None)
            return
        params = {"MarketplaceIds": self.marketplace_id, **bounded.to_params(),
                  "MaxResultsPerPage": max_results}  # fmt: skip
        paginator = _NextTokenKeeping(("MarketplaceIds",),
                                      state={"token": next_token} if next_token else None)
        for response in self._pages("getOrders", PageRequest(url=ORDERS_PATH, params=params),
                                    paginator):  # fmt: skip
            yield self._orders_page(response)

    def _orders_page(self, response: ApiResponse) -> Page:
        payload = self._payload(response, "getOrders")
        orders = payload.get("Orders") if isinstance(payload, dict) else None
        if not isinstance(orders, list) or any(not isinstance(o, dict) for o in orders):
            raise PlatformError("amazon getOrders payload has no list of Orders")
        for order in orders:
            order["OrderItems"] = self.fetch_order_items(order.get("AmazonOrderId"))
        token = payload.get("NextToken") or None
        window_end = _parse_time(payload.get("LastUpdatedBefore") or payload.get("CreatedBefore"))
        return Page(orders, token, token is not None, window_end)

    # -- reports ---------------------------------------------------------------------------

    def list_settlement_reports(
        self, created_since: datetime, created_until: datetime | None = None,
        *, page_size: int = 100,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Flat File V2 settlement reports created in the window that are DONE, oldest first
        (getReports, paging with nextToken as the only parameter)."""
        for value in (created_since, created_until):
            if value is not None and value.utcoffset() is None:
                raise ValueError("datetime must carry a timezone")
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be between 1 and 100")
        params: dict[str, Any] = {"reportTypes": SETTLEMENT_REPORT_TYPE,
                                  "createdSince": _sp_time(created_since), "pageSize": page_size}
        if created_until is not None:
            params["createdUntil"] = _sp_time(created_until)
        paginator = NextTokenPaginator(token_path="nextToken", param="nextToken",
                                       sole_param=True)  # fmt: skip
        reports: dict[str, dict[str, Any]] = {}
        for response in self._pages("getReports", PageRequest(url=REPORTS_PATH, params=params),
                                    paginator):  # fmt: skip
            page = response.data.get("reports") if isinstance(response.data, dict) else None
            if not isinstance(page, list):
                raise PlatformError("amazon getReports answer has no reports list")
            for report in page:
                if isinstance(report, dict) and report.get("processingStatus") == "DONE":
                    reports[str(report.get("reportId"))] = report
        return sorted(reports.values(),
                      key=lambda r: (str(r.get("createdTime")), str(r.get("reportId"))))

    def get_report(self, report_id: str) -> dict[str, Any]:
        """One report's status and document id (getReport)."""
        data = self._get("getReport", f"{REPORTS_PATH}/{report_id}").data
        if not isinstance(data, dict):
            raise PlatformError(f"amazon report {report_id}: answer is not an object")
        return data

    def get_report_document(self, report_document_id: str) -> dict[str, Any]:
        """{reportDocumentId, url, compressionAlgorithm?}: the presigned link (5 minutes)."""
        data = self._get("getReportDocument", f"{DOCUMENTS_PATH}/{report_document_id}").data
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise PlatformError(f"amazon report document {report_document_id} has no url")
        return data

    def download_report(self, report_document_id: str) -> bytes:
        """The document's bytes, gunzipped when flagged; a link that has expired by the time
        it is fetched is replaced by a fresh one once."""
        for attempt in (1, 2):
            document = self.get_report_document(report_document_id)
            try:
                # Presigned: no SP-API token may travel to the storage host.
                response = self.http.get(document["url"], auth=None, parse=False)
            except AuthFailed as exc:
                if attempt == 2:
                    raise PlatformError(
                        f"amazon report document {report_document_id}: the download link was "
                        f"refused twice ({exc.message})",
                        details={"reportDocumentId": report_document_id},
                    ) from None
                log.info("amazon: document link of %s refused (expired?); asking for a new "
                         "one", report_document_id)  # fmt: skip
                continue
            content = response.content
            if str(document.get("compressionAlgorithm") or "").upper() == "GZIP":
                try:
                    content = gzip.decompress(content)
                except (OSError, EOFError, zlib.error) as exc:
                    raise PlatformError(
                        f"amazon report document {report_document_id} is not valid gzip: {exc}",
                        details={"reportDocumentId": report_document_id},
                    ) from None
            return content
        raise AssertionError("unreachable")  # pragma: no cover
