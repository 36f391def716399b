"""ShopifyConnector against a fake Admin GraphQL endpoint (httpx.MockTransport)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from bigledger.errors import AuthFailed, InvalidCredentials, PlatformError, RateLimitExceeded
from bigledger.money import loads_exact
from connectors.graphql_cost import estimate_query_cost, max_page_size
from connectors.shopify import OrderFilter, OrderSortKey, Page, ShopifyConnector
from connectors.shopify_queries import ORDER_LINE_ITEMS_QUERY, ORDERS_QUERY
from tests.connectors.fakes import FakeTime, walk

TOKEN = "shpat_test_0123456789abcdef"
SHOP = "bigledger-demo.myshopify.com"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "shopify" / "order_sst_paid.json"
ORDER_FIXTURE_BYTES = FIXTURE.read_bytes()


def make_order(n: int, *, line_items: int = 1, shipping_lines: int = 1) -> dict[str, Any]:
    order = loads_exact(ORDER_FIXTURE_BYTES)
    order["id"] = f"gid://shopify/Order/{n}"
    order["legacyResourceId"] = str(n)
    order["name"] = f"#{1000 + n}"
    template = order["lineItems"]["nodes"][0]
    order["lineItems"]["nodes"] = [
        {**copy.deepcopy(template), "id": f"gid://shopify/LineItem/{n}{i:03d}"}
        for i in range(line_items)
    ]
    ship = order["shippingLines"]["nodes"][0]
    order["shippingLines"]["nodes"] = [
        {**copy.deepcopy(ship), "id": f"gid://shopify/ShippingLine/{n}{i:03d}"}
        for i in range(shipping_lines)
    ]
    return order


def _dumps(value: Any) -> bytes:
    # Decimal written back as a JSON number, the way Shopify sends `rate: 0.06`.
    return json.dumps(value, default=lambda d: float(d) if isinstance(d, Decimal) else d).encode()


class FakeShopify:
    """Executes the four contract queries over an in-memory list of orders."""

    def __init__(
        self, orders: list[dict[str, Any]], *, available: float = 1000.0, restore: float = 50.0
    ) -> None:
        self.orders = orders
        self.available = available
        self.restore = restore
        self.queries: list[dict[str, Any]] = []
        self.script: list[Any] = []  # pre-canned answers (httpx.Response) used first
        self.max_cost: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.url.path == "/admin/api/2025-01/graphql.json"
        assert request.headers["X-Shopify-Access-Token"] == TOKEN
        body = json.loads(request.content)
        self.queries.append(body)
        if self.script:
            return self.script.pop(0)
        query, variables = body["query"], body["variables"]
        cost = estimate_query_cost(query, variables)
        if self.max_cost is not None and cost > self.max_cost:
            return self._json(
                {
                    "errors": [
                        {
                            "message": f"Query cost is {cost}, which exceeds the single "
                            f"query max cost limit ({self.max_cost}).",
                            "extensions": {
                                "code": "MAX_COST_EXCEEDED",
                                "cost": cost,
                                "maxCost": self.max_cost,
                            },
                        }
                    ]
                }
            )
        if "query ShopInfo" in query:
            data = {
                "shop": {
                    "id": "gid://shopify/Shop/1",
                    "name": "Demo",
                    "currencyCode": "MYR",
                    "myshopifyDomain": SHOP,
                }
            }
        elif "query OrdersCount" in query:
            data = {"ordersCount": {"count": len(self.orders), "precision": "EXACT"}}
        elif "query OrderLineItems" in query:
            data = self._line_items(variables)
        else:
            data = self._orders(variables)
        return self._json({"data": data, "extensions": self.cost(cost)})

    def cost(self, requested: float, *, throttled: bool = False) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": None if throttled else requested,
                "throttleStatus": {
                    "maximumAvailable": 1000.0,
                    "currentlyAvailable": self.available,
                    "restoreRate": self.restore,
                },
            }
        }

    def _json(self, payload: Any, status: int = 200) -> httpx.Response:
        return httpx.Response(
            status,
            content=_dumps(payload),
            headers={"Content-Type": "application/json", "X-Shopify-API-Version": "2025-01"},
        )

    def _orders(self, v: dict[str, Any]) -> dict[str, Any]:
        pool = self.orders
        if v.get("query", "") and v["query"].startswith("id:"):
            pool = [o for o in pool if o["legacyResourceId"] == v["query"][3:]]
        start = int(v["after"].split(":")[1]) if v.get("after") else 0
        chunk = pool[start : start + v["first"]]
        nodes = []
        for order in chunk:
            node = copy.deepcopy(order)
            lines = node["lineItems"]["nodes"]
            first = v["lineItemsFirst"]
            node["lineItems"] = {
                "nodes": lines[:first],
                "pageInfo": {
                    "hasNextPage": len(lines) > first,
                    "endCursor": f"li:{min(first, len(lines))}",
                },
            }
            node["shippingLines"]["nodes"] = node["shippingLines"]["nodes"][
                : v["shippingLinesFirst"]
            ]
            node["refunds"] = node["refunds"][: v["refundsFirst"]]
            nodes.append(node)
        end = start + len(chunk)
        return {
            "orders": {
                "nodes": nodes,
                "pageInfo": {
                    "hasNextPage": end < len(pool),
                    "endCursor": f"o:{end}" if chunk else None,
                },
            }
        }

    def _line_items(self, v: dict[str, Any]) -> dict[str, Any]:
        order = next(o for o in self.orders if o["id"] == v["id"])
        lines = order["lineItems"]["nodes"]
        start = int(v["after"].split(":")[1])
        chunk = lines[start : start + v["first"]]
        end = start + len(chunk)
        return {
            "order": {
                "lineItems": {
                    "nodes": chunk,
                    "pageInfo": {"hasNextPage": end < len(lines), "endCursor": f"li:{end}"},
                }
            }
        }


def connector(server: FakeShopify, time: FakeTime | None = None, **kwargs: Any):
    time = time or FakeTime()
    return ShopifyConnector(
        SHOP,
        TOKEN,
        api_version="2025-01",
        transport=httpx.MockTransport(server),
        sleep=time.sleep,
        clock=time.clock,
        rand=lambda: 0.5,
        **kwargs,
    )


# -- OrderFilter ----------------------------------------------------------------------------


def test_order_filter_search_query():
    f = OrderFilter(
        created_from=datetime(2024, 1, 1, tzinfo=UTC),
        created_to=datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC),
        financial_statuses=["paid", "partially_paid"],
        fulfillment_statuses=["fulfilled", "partial"],
    )
    assert f.to_search_query() == (
        "created_at:>='2024-01-01T00:00:00Z' created_at:<='2024-01-31T23:59:59Z' "
        "(financial_status:paid OR financial_status:partially_paid) "
        "(fulfillment_status:fulfilled OR fulfillment_status:partial)"
    )


def test_order_filter_incremental_and_edge_cases():
    myt = timezone(timedelta(hours=8))
    f = OrderFilter(
        updated_from=datetime(2024, 3, 1, 8, 0, 0, 500_000, tzinfo=myt),
        financial_statuses=["paid", "paid"],
        sort_key="UPDATED_AT",
    )
    assert f.to_search_query() == "updated_at:>='2024-03-01T00:00:00Z' financial_status:paid"
    assert f.sort_key is OrderSortKey.UPDATED_AT
    assert OrderFilter().to_search_query() is None
    assert OrderFilter(financial_statuses=["any", "paid"]).to_search_query() is None
    parsed = OrderFilter(**{"created_from": "2024-01-01T00:00:00Z", "sort_key": "UPDATED_AT"})
    assert parsed.to_search_query() == "created_at:>='2024-01-01T00:00:00Z'"
    with pytest.raises(ValidationError):
        OrderFilter(created_from=datetime(2024, 1, 1))  # naive
    with pytest.raises(ValidationError):
        OrderFilter(financial_statuses=["settled"])
    with pytest.raises(ValidationError):
        OrderFilter(
            created_from=datetime(2024, 2, 1, tzinfo=UTC),
            created_to=datetime(2024, 1, 1, tzinfo=UTC),
        )


# -- page size arithmetic -------------------------------------------------------------------


def test_page_size_arithmetic():
    nested = {"lineItemsFirst": 5, "shippingLinesFirst": 3, "refundsFirst": 250}
    # one order node = 106 points (see ShopifyConnector.max_orders_page_size), page = 3 + 106n
    assert estimate_query_cost(ORDERS_QUERY, {**nested, "first": 0}) == 3
    assert estimate_query_cost(ORDERS_QUERY, {**nested, "first": 9}) == 957
    assert estimate_query_cost(ORDERS_QUERY, {**nested, "first": 10}) == 1063
    assert max_page_size(ORDERS_QUERY, nested) == 9
    assert max_page_size(ORDERS_QUERY, {**nested, "lineItemsFirst": 10}) == 6
    # refunds is a plain list: its size costs nothing extra
    assert max_page_size(ORDERS_QUERY, {**nested, "refundsFirst": 1}) == 9
    # line-item follow-up: order 1 + (2 + 11n + pageInfo 1) <= 1000 -> 90
    assert max_page_size(ORDER_LINE_ITEMS_QUERY, {}) == 90
    with pytest.raises(ValueError):
        max_page_size(ORDERS_QUERY, {**nested, "lineItemsFirst": 250})
    conn = connector(FakeShopify([]))
    assert conn.max_orders_page_size() == 9
    assert connector(FakeShopify([]), line_items_first=10).max_orders_page_size() == 6


# -- fetching -------------------------------------------------------------------------------


def test_fetch_orders_page_sends_the_contract_variables():
    server = FakeShopify([make_order(1)])
    f = OrderFilter(created_from=datetime(2024, 1, 1, tzinfo=UTC), financial_statuses=["paid"])
    page = connector(server).fetch_orders_page(f)
    sent = server.queries[0]
    assert sent["query"] == ORDERS_QUERY
    assert sent["variables"] == {
        "first": 9,
        "after": None,
        "query": "created_at:>='2024-01-01T00:00:00Z' financial_status:paid",
        "sortKey": "CREATED_AT",
        "lineItemsFirst": 5,
        "shippingLinesFirst": 3,
        "refundsFirst": 250,
    }
    assert isinstance(page, Page) and len(page.records) == 1
    assert page.has_next_page is False


def test_orders_are_parsed_exactly_no_float_anywhere():
    server = FakeShopify([make_order(1)])
    page = connector(server).fetch_orders_page(OrderFilter())
    order = page.records[0]
    assert not any(isinstance(v, float) for v in walk(order))
    assert order["taxLines"][0]["rate"] == Decimal("0.06")
    assert order["totalPriceSet"]["shopMoney"]["amount"] == "105.38"
    assert isinstance(order["lineItems"]["nodes"][0]["quantity"], int)


def test_line_items_beyond_the_first_page_are_fetched_and_merged():
    server = FakeShopify([make_order(1, line_items=2), make_order(2, line_items=112)])
    page = connector(server).fetch_orders_page(OrderFilter())
    big = page.records[1]
    ids = [li["id"] for li in big["lineItems"]["nodes"]]
    assert len(ids) == 112 and len(set(ids)) == 112
    assert ids == [f"gid://shopify/LineItem/2{i:03d}" for i in range(112)]
    assert big["lineItems"]["pageInfo"]["hasNextPage"] is False
    follow_ups = [q for q in server.queries if "query OrderLineItems" in q["query"]]
    assert [q["variables"]["after"] for q in follow_ups] == ["li:5", "li:95"]
    assert all(q["variables"]["first"] == 90 for q in follow_ups)
    assert len(page.records[0]["lineItems"]["nodes"]) == 2


def test_full_shipping_lines_page_is_reread_by_id():
    server = FakeShopify([make_order(1, shipping_lines=3), make_order(7, shipping_lines=5)])
    page = connector(server).fetch_orders_page(OrderFilter())
    assert len(page.records[1]["shippingLines"]["nodes"]) == 5
    rereads = [
        q["variables"]
        for q in server.queries
        if q["variables"].get("query", "") and str(q["variables"]["query"]).startswith("id:")
    ]
    assert [r["query"] for r in rereads] == ["id:1", "id:7"]
    assert all(r["first"] == 1 and r["shippingLinesFirst"] > 3 for r in rereads)


def test_iter_order_pages_walks_every_cursor():
    server = FakeShopify([make_order(n) for n in range(1, 24)])
    pages = list(connector(server).iter_order_pages(OrderFilter(), first=10))
    assert [len(p.records) for p in pages] == [9, 9, 5]
    assert [p.end_cursor for p in pages] == ["o:9", "o:18", "o:23"]
    assert [q["variables"]["after"] for q in server.queries] == [None, "o:9", "o:18"]


def test_caller_page_size_is_capped_at_the_cost_safe_maximum():
    server = FakeShopify([make_order(n) for n in range(1, 30)])
    connector(server).fetch_orders_page(OrderFilter(), first=250)
    assert server.queries[0]["variables"]["first"] == 9
    connector(server).fetch_orders_page(OrderFilter(), first=2)
    assert server.queries[1]["variables"]["first"] == 2


def test_count_orders_and_shop_info():
    server = FakeShopify([make_order(n) for n in range(1, 4)])
    conn = connector(server)
    assert conn.count_orders(OrderFilter(financial_statuses=["paid"])) == 3
    assert server.queries[0]["variables"] == {"query": "financial_status:paid"}
    assert conn.shop_info()["currencyCode"] == "MYR"


# -- throttling -----------------------------------------------------------------------------


def test_throttled_then_success_waits_the_computed_time():
    server = FakeShopify([make_order(1)])
    server.available = 100.0
    server.script.append(
        server._json(
            {
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": server.cost(957, throttled=True),
            }
        )
    )
    time = FakeTime()
    page = connector(server, time).fetch_orders_page(OrderFilter())
    assert len(page.records) == 1 and len(server.queries) == 2
    assert time.sleeps == [pytest.approx((957 - 100) / 50)]


def test_throttled_forever_ends_in_rate_limit_exceeded():
    server = FakeShopify([])
    server.available = 0.0
    throttled = server._json(
        {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": server.cost(957, throttled=True),
        }
    )
    server.script.extend([throttled] * 50)
    time = FakeTime()
    with pytest.raises(RateLimitExceeded):
        connector(server, time, budget_seconds=60).fetch_orders_page(OrderFilter())
    assert len(server.queries) == 4  # waits of 19.46 s each: three fit in 60 s


def test_cost_aware_pacing_slows_down_before_being_throttled():
    server = FakeShopify([make_order(n) for n in range(1, 15)])
    server.available = 27.0  # what is left after the first page
    time = FakeTime()
    conn = connector(server, time)
    first = conn.fetch_orders_page(OrderFilter())
    assert time.sleeps == []  # nothing known before the first response
    conn.fetch_orders_page(OrderFilter(), after=first.end_cursor)
    assert time.sleeps == [pytest.approx((957 - 27) / 50)]
    assert first.cost is not None and first.cost.currently_available == 27.0
    budget = conn.rate_budget()
    assert budget.limit == 1000.0 and budget.restore_rate == 50.0
    assert conn.last_throttle_status["requested_query_cost"] == 957


def test_max_cost_exceeded_shrinks_the_page_and_remembers():
    server = FakeShopify([make_order(n) for n in range(1, 30)])
    server.max_cost = 800
    conn = connector(server)
    page = conn.fetch_orders_page(OrderFilter())
    firsts = [q["variables"]["first"] for q in server.queries]
    assert firsts == [9, 7] and len(page.records) == 7
    conn.fetch_orders_page(OrderFilter(), after=page.end_cursor)
    assert server.queries[-1]["variables"]["first"] == 7


# -- errors ---------------------------------------------------------------------------------


def test_401_is_auth_failed_without_the_token():
    server = FakeShopify([])
    server.script.append(
        server._json(
            {
                "errors": "[API] Invalid API key or access token "
                "(unrecognized login or wrong password)"
            },
            status=401,
        )
    )
    with pytest.raises(AuthFailed) as caught:
        connector(server).shop_info()
    assert "Invalid API key" in str(caught.value)
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


def test_graphql_errors_are_platform_errors_with_messages():
    server = FakeShopify([])
    server.script.append(
        server._json(
            {
                "errors": [
                    {
                        "message": "Field 'bogus' doesn't exist on type 'Order'",
                        "extensions": {"code": "undefinedField"},
                    },
                ]
            }
        )
    )
    with pytest.raises(PlatformError, match="bogus") as caught:
        connector(server).fetch_orders_page(OrderFilter())
    assert len(server.queries) == 1 and caught.value.details["codes"] == ["undefinedField"]


def test_access_denied_is_auth_failed():
    server = FakeShopify([])
    server.script.append(
        server._json(
            {
                "errors": [
                    {
                        "message": "Access denied for orders field.",
                        "extensions": {"code": "ACCESS_DENIED"},
                    },
                ]
            }
        )
    )
    with pytest.raises(AuthFailed, match="Access denied"):
        connector(server).count_orders(OrderFilter())


def test_5xx_is_retried_for_queries():
    server = FakeShopify([make_order(1)])
    server.script.append(server._json({"errors": "Internal Server Error"}, status=502))
    time = FakeTime()
    page = connector(server, time).fetch_orders_page(OrderFilter())
    assert len(page.records) == 1 and len(time.sleeps) == 1


# -- construction ---------------------------------------------------------------------------


def test_shop_domain_and_base_url():
    server = FakeShopify([])
    conn = ShopifyConnector("Bigledger-Demo", TOKEN, transport=httpx.MockTransport(server))
    assert conn.shop_domain == "bigledger-demo.myshopify.com"
    assert str(conn.http.base_url) == "https://bigledger-demo.myshopify.com"
    assert conn.api_version == "2025-01"
    with pytest.raises(InvalidCredentials):
        ShopifyConnector("evil.example.com", TOKEN)
    with pytest.raises(InvalidCredentials):
        ShopifyConnector(SHOP, "")
    sandbox = ShopifyConnector(
        "demo.local", TOKEN, base_url="http://127.0.0.1:8765", allow_insecure_http=False
    )
    assert str(sandbox.http.base_url) == "http://127.0.0.1:8765"
    assert TOKEN not in repr(sandbox.http.auth)
