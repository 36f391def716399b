"""The Shopify connector against the sandbox over real HTTP: the contract both sides follow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bigledger.errors import AuthFailed
from connectors.graphql_cost import estimate_query_cost
from connectors.shopify import OrderFilter, ShopifyConnector
from connectors.shopify_queries import ORDERS_QUERY
from tests.ledger.helpers import ACCOUNTS
from transforms.shopify_orders import order_to_documents


def connector(sandbox, token: str = "shpat_sandbox_token") -> ShopifyConnector:
    return ShopifyConnector("sandbox.myshopify.com", token, base_url=sandbox.url,
                            budget_seconds=20)


def test_every_order_exactly_once_and_each_one_maps(sandbox):
    conn = connector(sandbox)
    seen = []
    for page in conn.iter_order_pages(OrderFilter()):
        for order in page.records:
            seen.append(order["legacyResourceId"])
            docs = order_to_documents(order, ACCOUNTS)
            assert docs.journal.is_balanced()
    assert len(seen) == len(set(seen)) == conn.count_orders(OrderFilter()) == 300


def test_the_connector_never_underestimates_the_sandbox_cost(sandbox):
    conn = connector(sandbox)
    page = conn.fetch_orders_page(OrderFilter())
    first = conn.max_orders_page_size()
    variables = {"first": first, "lineItemsFirst": conn.line_items_first,
                 "shippingLinesFirst": conn.shipping_lines_first,
                 "refundsFirst": conn.refunds_first}
    assert estimate_query_cost(ORDERS_QUERY, variables) >= page.cost.requested
    assert sandbox.stats()["max_cost_exceeded"] == 0


def test_date_range_and_status_filters(sandbox):
    conn = connector(sandbox)
    flt = OrderFilter(created_from=datetime(2024, 1, 1, 2, tzinfo=UTC),
                      created_to=datetime(2024, 1, 1, 6, tzinfo=UTC),
                      financial_statuses=["paid", "partially_refunded"])
    orders = [o for p in conn.iter_order_pages(flt) for o in p.records]
    assert orders and len(orders) == conn.count_orders(flt)
    assert {o["displayFinancialStatus"] for o in orders} <= {"PAID", "PARTIALLY_REFUNDED"}
    assert all("2024-01-01T02:00:00" <= o["createdAt"] <= "2024-01-01T06:00:00Z" for o in orders)


def test_throttle_storm_5xx_and_malformed_pages_are_survived(sandbox):
    sandbox.control(faults={"throttle_storm": 3, "http_5xx": {"count": 2, "status": 503},
                            "malformed": {"count": 1, "mode": "truncated"}})
    conn = connector(sandbox)
    orders = [o for p in conn.iter_order_pages(OrderFilter()) for o in p.records]
    assert len(orders) == 300
    faults = sandbox.stats()["faults_served"]
    assert faults["throttle_storm"] == 3 and faults["http_5xx"] == 2


def test_wrong_token_is_auth_failed_without_the_token_in_the_message(sandbox):
    with pytest.raises(AuthFailed) as info:
        connector(sandbox, token="shpat_wrong_secret_token").shop_info()
    assert "shpat_wrong_secret_token" not in str(info.value)
    assert "shpat_wrong_secret_token" not in repr(info.value)
