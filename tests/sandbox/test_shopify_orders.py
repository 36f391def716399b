"""Orders through GraphQL: the connector's exact documents, pagination, filters, counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.shopify_queries import ORDER_LINE_ITEMS_QUERY, ORDERS_COUNT_QUERY, ORDERS_QUERY
from sandbox.shopify.data import iso

FIXTURE = Path(__file__).parents[1] / "fixtures" / "shopify" / "order_sst_paid.json"
PAGE_VARS = {"lineItemsFirst": 10, "shippingLinesFirst": 5, "refundsFirst": 10}
IDS_QUERY = """
query Ids($first: Int, $last: Int, $after: String, $before: String, $query: String,
          $sortKey: OrderSortKeys, $reverse: Boolean) {
  orders(first: $first, last: $last, after: $after, before: $before, query: $query,
         sortKey: $sortKey, reverse: $reverse) {
    edges { cursor node { id createdAt updatedAt displayFinancialStatus } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def shape(value: Any) -> Any:
    """Keys and value kinds of a JSON value, to compare with the transform's fixture."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def same_shape(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Differences in keys and kinds; null and empty lists are compatible with anything."""
    if ours == "NoneType" or theirs == "NoneType" or ours == [] or theirs == []:
        return []
    if isinstance(theirs, dict):
        if not isinstance(ours, dict):
            return [f"{path}: {ours} vs object"]
        problems = (
            [f"{path}: keys {sorted(set(ours) ^ set(theirs))}"] if set(ours) != set(theirs) else []
        )
        for key in set(ours) & set(theirs):
            problems += same_shape(ours[key], theirs[key], f"{path}.{key}")
        return problems
    if isinstance(theirs, list):
        return same_shape(ours[0], theirs[0], f"{path}[0]") if isinstance(ours, list) else [path]
    return [] if ours == theirs else [f"{path}: {ours} vs {theirs}"]


def walk(shop, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """All edges of a forward walk with `first`."""
    edges, after = [], None
    while True:
        page = shop.data(IDS_QUERY, {**variables, "after": after})["orders"]
        edges += page["edges"]
        if not page["pageInfo"]["hasNextPage"]:
            return edges
        after = page["pageInfo"]["endCursor"]


def test_connector_orders_query_serves_the_fixture_shape(make_shop):
    shop = make_shop(size=300)
    body = shop.gql(ORDERS_QUERY, {"first": 100, **PAGE_VARS})
    assert "errors" not in body
    nodes = body["data"]["orders"]["nodes"]
    assert len(nodes) == 100
    fixture = json.loads(FIXTURE.read_text())
    for node in nodes:
        assert same_shape(shape(node), shape(fixture)) == [], node["id"]
    # The variety the transform must handle appears within a few hundred orders.
    statuses = {n["displayFinancialStatus"] for n in nodes}
    assert {"PAID", "PARTIALLY_REFUNDED"} <= statuses
    refunded = [n for n in nodes if n["refunds"]]
    assert refunded and all(
        r["totalRefundedSet"]["shopMoney"]["amount"] for r in refunded[0]["refunds"]
    )


def test_pagination_covers_every_order_exactly_once(make_shop):
    shop = make_shop(size=1234)
    edges = walk(shop, {"first": 250})
    ids = [e["node"]["id"] for e in edges]
    assert len(ids) == 1234 == len(set(ids))
    created = [e["node"]["createdAt"] for e in edges]
    assert created == sorted(created)
    assert shop.stats()["orders_served"] == 1234


def test_sort_keys_and_reverse(make_shop):
    shop = make_shop(size=600)
    for sort_key in ("UPDATED_AT", "ID", "CREATED_AT", "TOTAL_PRICE"):
        for reverse in (False, True):
            edges = walk(shop, {"first": 250, "sortKey": sort_key, "reverse": reverse})
            ids = [int(e["node"]["id"].rsplit("/", 1)[1]) for e in edges]
            assert len(set(ids)) == 600
            assert ids == sorted(ids, reverse=reverse), (sort_key, reverse)


def test_last_and_before_walk_backwards(make_shop):
    shop = make_shop(size=450)
    forward = [e["node"]["id"] for e in walk(shop, {"first": 250})]
    backward, before = [], None
    while True:
        page = shop.data(IDS_QUERY, {"last": 100, "before": before})["orders"]
        backward = [e["node"]["id"] for e in page["edges"]] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == forward


def test_created_at_range_maps_to_exactly_the_right_orders(make_shop):
    shop = make_shop(size=3000)
    dataset = shop.sandbox.store.dataset
    lo, hi = iso(dataset.created_ts(700)), iso(dataset.created_ts(1900))
    query = f"created_at:>='{lo}' created_at:<{hi}"
    ids = [e["node"]["id"] for e in walk(shop, {"first": 250, "query": query})]
    expected = [f"gid://shopify/Order/{5_500_000_000_000 + i}" for i in range(700, 1900)]
    assert ids == expected
    count = shop.data(ORDERS_COUNT_QUERY, {"query": query})["ordersCount"]
    assert count == {"count": 1200, "precision": "EXACT"}


def test_time_boundaries_are_exclusive_or_inclusive_as_written(make_shop):
    shop = make_shop(size=200)
    order = shop.data(IDS_QUERY, {"first": 1, "query": "id:5500000000050"})["orders"]
    updated = order["edges"][0]["node"]["updatedAt"]
    after = walk(shop, {"first": 250, "query": f"updated_at:>'{updated}'"})
    at_or_after = walk(shop, {"first": 250, "query": f"updated_at:>={updated}"})
    assert len(after) == 149 and len(at_or_after) == 150
    assert at_or_after[0]["node"]["updatedAt"] == updated


def test_date_only_values_use_the_shop_time_zone(make_shop):
    shop = make_shop(size=1000, interval_seconds=600)  # Asia/Kuala_Lumpur, UTC+8
    edges = walk(shop, {"first": 250, "query": "created_at:2024-01-02"})
    created = [datetime.fromisoformat(e["node"]["createdAt"]) for e in edges]
    assert created[0] >= datetime(2024, 1, 1, 16, tzinfo=UTC)
    assert created[-1] < datetime(2024, 1, 2, 16, tzinfo=UTC)
    assert 140 <= len(created) <= 145  # a day of orders every ten minutes


def brute_force(shop, predicate) -> int:
    store = shop.sandbox.store
    return sum(1 for i in range(store.size) if predicate(store.header(i)))


def test_status_filters_and_boolean_syntax(make_shop):
    shop = make_shop(size=2500)
    cases = {
        "financial_status:paid": lambda h: h.financial == "PAID",
        "financial_status:partially_refunded OR financial_status:refunded": (
            lambda h: h.financial in ("PARTIALLY_REFUNDED", "REFUNDED")
        ),
        "financial_status:unpaid": lambda h: (
            h.financial in ("PENDING", "AUTHORIZED", "PARTIALLY_PAID")
        ),
        "fulfillment_status:shipped -financial_status:paid": (
            lambda h: h.fulfillment == "FULFILLED" and h.financial != "PAID"
        ),
        "(financial_status:voided OR status:cancelled) AND NOT fulfillment_status:unfulfilled": (
            lambda h: (h.financial == "VOIDED" or h.cancelled) and h.fulfillment != "UNFULFILLED"
        ),
        "status:open gateway:paypal": lambda h: (
            not h.closed and not h.cancelled and h.gateway == "paypal"
        ),
        "tag:vip OR test:true": lambda h: "vip" in h.tags or h.test,
    }
    for query, predicate in cases.items():
        expected = brute_force(shop, predicate)
        assert expected > 0, query
        counted = shop.data(ORDERS_COUNT_QUERY, {"query": query})["ordersCount"]["count"]
        listed = walk(shop, {"first": 250, "query": query})
        assert counted == len(listed) == expected, query
    paid = walk(shop, {"first": 250, "query": "financial_status:paid"})
    assert {e["node"]["displayFinancialStatus"] for e in paid} == {"PAID"}


def test_time_range_combined_with_status(make_shop):
    shop = make_shop(size=2000)
    dataset = shop.sandbox.store.dataset
    start = iso(dataset.created_ts(500))
    query = f"created_at:>={start} AND (financial_status:pending OR financial_status:authorized)"
    expected = sum(
        1 for i in range(500, 2000) if dataset.header(i).financial in ("PENDING", "AUTHORIZED")
    )
    assert len(walk(shop, {"first": 250, "query": query})) == expected


def test_orders_count_precision_and_limit(make_shop):
    shop = make_shop(size=12_000)
    exact = shop.data(ORDERS_COUNT_QUERY, {})["ordersCount"]
    assert exact == {"count": 12_000, "precision": "EXACT"}
    capped = shop.data("{ ordersCount { count precision } }")["ordersCount"]
    assert capped == {"count": 10_000, "precision": "AT_LEAST"}


def test_page_size_rules(make_shop):
    shop = make_shop(size=10)
    too_big = shop.gql("{ orders(first: 251) { nodes { id } } }")
    assert too_big["data"] is None
    assert too_big["errors"][0]["path"] == ["orders"]
    assert "250" in too_big["errors"][0]["message"]
    missing = shop.gql("{ orders { nodes { id } } }")
    assert missing["errors"][0]["message"] == "you must provide one of first or last"
    assert missing["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    order = 'order(id: "gid://shopify/Order/5500000000000")'
    lines = shop.gql(f"{{ {order} {{ lineItems(first: 300) {{ nodes {{ id }} }} }} }}")
    assert lines["errors"][0]["path"] == ["order", "lineItems"]


def test_invalid_cursor_is_an_error(make_shop):
    shop = make_shop(size=10)
    body = shop.gql(IDS_QUERY, {"first": 5, "after": "not-a-cursor"})
    assert body["errors"][0]["message"] == "Invalid cursor."


def test_unknown_search_fields_are_ignored_with_a_warning(make_shop):
    shop = make_shop(size=50)
    body = shop.gql(IDS_QUERY, {"first": 250, "query": "colour:blue"})
    assert len(body["data"]["orders"]["edges"]) == 50
    [search] = body["extensions"]["search"]
    assert search["path"] == ["orders"]
    assert search["warnings"] == [
        {"field": "colour", "message": "Invalid search field for this query."}
    ]


def test_big_orders_page_their_line_items(make_shop):
    shop = make_shop(size=3000)
    store = shop.sandbox.store
    big = next(i for i in range(store.size) if len(store.order(i)["_line_items"]) >= 30)
    order = store.order(big)
    page = shop.data(
        ORDERS_QUERY, {"first": 1, "query": f"id:{order['legacyResourceId']}", **PAGE_VARS}
    )
    node = page["orders"]["nodes"][0]
    assert len(node["lineItems"]["nodes"]) == 10
    assert node["lineItems"]["pageInfo"]["hasNextPage"] is True
    seen = [li["id"] for li in node["lineItems"]["nodes"]]
    after = node["lineItems"]["pageInfo"]["endCursor"]
    while after:
        data = shop.data(ORDER_LINE_ITEMS_QUERY, {"id": order["id"], "first": 7, "after": after})
        items = data["order"]["lineItems"]
        seen += [li["id"] for li in items["nodes"]]
        after = items["pageInfo"]["endCursor"] if items["pageInfo"]["hasNextPage"] else None
    assert seen == [li["id"] for li in order["_line_items"]]


def test_order_lookup(make_shop):
    shop = make_shop(size=10)
    found = shop.data(
        '{ order(id: "gid://shopify/Order/5500000000003") { name legacyResourceId } }'
    )
    assert found["order"] == {"name": "#1004", "legacyResourceId": "5500000000003"}
    assert shop.data('{ order(id: "gid://shopify/Order/5500000000010") { id } }')["order"] is None
    assert shop.data('{ order(id: "gid://shopify/Product/1") { id } }')["order"] is None
    bad = shop.gql('{ order(id: "12") { id } }')
    assert bad["errors"][0]["message"] == "Invalid global id '12'"


def test_fast_executor_matches_graphql_core(make_shop):
    """The leaf fast path must not change a single byte of the response."""
    shop = make_shop(size=400)
    fast = shop.sandbox.run(ORDERS_QUERY, {"first": 200, **PAGE_VARS})
    shop.sandbox.executor_class = None
    stock = shop.sandbox.run(ORDERS_QUERY, {"first": 200, **PAGE_VARS})
    assert json.dumps(fast) == json.dumps(stock)
