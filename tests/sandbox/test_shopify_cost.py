"""Query cost and the leaky bucket, as Shopify reports and enforces them."""

from __future__ import annotations

from connectors.shopify_queries import ORDER_LINE_ITEMS_QUERY, ORDERS_QUERY, SHOP_QUERY
from tests.sandbox.conftest import FakeClock

THROTTLED = {
    "message": "Throttled",
    "extensions": {
        "code": "THROTTLED",
        "documentation": "https://shopify.dev/api/usage/rate-limits",
    },
}

# One order node of ORDERS_QUERY without its connections: the node (1), customer (1),
# seven money sets (2 each: MoneyBag + MoneyV2) and taxLines (1 + priceSet 2).
ORDER_FLAT = 1 + 1 + 7 * 2 + 3
# One line item: node 1, variant 1, product 1, price set 2, discountAllocations 3, taxLines 3.
LINE_ITEM = 11
# One shipping line: node 1, two price sets 4, taxLines 3.
SHIPPING_LINE = 8
REFUNDS = 1 + 2  # a plain list costs like one object


def orders_query_cost(first: int, lines: int, shipping: int) -> int:
    per_order = ORDER_FLAT + (2 + lines * LINE_ITEM) + (2 + shipping * SHIPPING_LINE) + REFUNDS
    return 2 + first * per_order


def test_cost_extension_on_every_response(make_shop):
    shop = make_shop(size=20, throttling=True)
    cost = shop.gql(SHOP_QUERY)["extensions"]["cost"]
    assert cost == {
        "requestedQueryCost": 2,
        "actualQueryCost": 2,
        "throttleStatus": {
            "maximumAvailable": 2000.0,
            "currentlyAvailable": 1998,
            "restoreRate": 100.0,
        },
    }


def test_requested_cost_multiplies_nested_connections(make_shop):
    shop = make_shop(size=50)
    variables = {"first": 5, "lineItemsFirst": 3, "shippingLinesFirst": 2, "refundsFirst": 5}
    cost = shop.gql(ORDERS_QUERY, variables)["extensions"]["cost"]
    assert cost["requestedQueryCost"] == orders_query_cost(5, 3, 2)
    assert 2 < cost["actualQueryCost"] <= cost["requestedQueryCost"]
    follow_up = shop.gql(
        ORDER_LINE_ITEMS_QUERY, {"id": "gid://shopify/Order/5500000000000", "first": 20}
    )["extensions"]["cost"]
    assert follow_up["requestedQueryCost"] == 1 + 2 + 20 * LINE_ITEM


def test_actual_cost_counts_what_came_back(make_shop):
    shop = make_shop(size=3)
    query = "{ orders(first: 10) { nodes { id customer { id } } } }"
    body = shop.gql(query)
    returned = body["data"]["orders"]["nodes"]
    customers = sum(1 for n in returned if n["customer"])
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 10 * 2
    assert body["extensions"]["cost"]["actualQueryCost"] == 2 + len(returned) + customers


def test_max_cost_exceeded(make_shop):
    shop = make_shop(size=50, max_query_cost=1000, throttling=True)
    variables = {"first": 50, "lineItemsFirst": 10, "shippingLinesFirst": 2, "refundsFirst": 5}
    body = shop.gql(ORDERS_QUERY, variables)
    requested = orders_query_cost(50, 10, 2)
    [error] = body["errors"]
    assert error["message"].startswith(f"Query cost is {requested}, which exceeds the single query")
    assert error["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": 1000}
    assert "data" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] == requested
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000  # not charged
    assert shop.stats()["max_cost_exceeded"] == 1


def test_throttled_when_the_bucket_is_dry_and_nothing_runs(make_shop):
    clock = FakeClock(0.0)
    shop = make_shop(size=50, throttling=True, max_query_cost=1000, monotonic=clock)
    variables = {"first": 5, "lineItemsFirst": 5, "shippingLinesFirst": 1, "refundsFirst": 1}
    requested = orders_query_cost(5, 5, 1)
    shop.control(bucket={"available": requested - 1})
    executed = shop.stats()["executed"]
    body = shop.gql(ORDERS_QUERY, variables)
    assert body["errors"] == [THROTTLED]
    assert "data" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] == requested
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == requested - 1
    assert shop.stats()["executed"] == executed
    assert shop.stats()["throttled"] == 1
    clock.advance(0.01)  # one point restored at 100 points/s
    ok = shop.gql(ORDERS_QUERY, variables)
    assert "errors" not in ok
    actual = ok["extensions"]["cost"]["actualQueryCost"]
    # Requested was charged, the unused part refunded.
    assert ok["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == requested - actual


def test_bucket_refills_at_the_restore_rate(make_shop):
    clock = FakeClock(0.0)
    shop = make_shop(
        size=10, throttling=True, maximum_available=100, restore_rate=10, monotonic=clock
    )
    shop.control(bucket={"drain": True})
    assert shop.gql(SHOP_QUERY)["errors"] == [THROTTLED]
    clock.advance(0.25)  # 2.5 points: enough for the shop query (2)
    body = shop.gql(SHOP_QUERY)
    assert body["data"]["shop"]["name"]
    assert body["extensions"]["cost"]["throttleStatus"] == {
        "maximumAvailable": 100.0,
        "currentlyAvailable": 0,
        "restoreRate": 10.0,
    }
    clock.advance(1000)
    assert shop.gql(SHOP_QUERY)["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 98


def test_throttling_off_never_empties(make_shop):
    shop = make_shop(size=100, throttling=False, max_query_cost=None)
    for _ in range(5):
        body = shop.gql(
            ORDERS_QUERY,
            {"first": 100, "lineItemsFirst": 20, "shippingLinesFirst": 2, "refundsFirst": 5},
        )
        assert "errors" not in body
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000
    # and it can be switched at runtime
    shop.control(throttling=True, bucket={"max_query_cost": 1000})
    assert (
        shop.gql(
            ORDERS_QUERY,
            {"first": 100, "lineItemsFirst": 20, "shippingLinesFirst": 2, "refundsFirst": 5},
        )["errors"][0]["extensions"]["code"]
        == "MAX_COST_EXCEEDED"
    )
