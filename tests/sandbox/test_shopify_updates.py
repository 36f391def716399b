"""Orders changed at runtime: refunds, cancellations and touches seen by incremental syncs."""

from __future__ import annotations

from decimal import Decimal

from connectors.shopify_queries import ORDERS_COUNT_QUERY, ORDERS_QUERY
from sandbox.shopify.data import ORDER_ID_BASE, check_money_identity, iso
from tests.sandbox.conftest import CONTROL_PATH, FakeClock
from tests.sandbox.test_shopify_orders import PAGE_VARS, walk

NOW = 1_750_000_000  # 2025-06-15, after every generated order below


def update(shop, index: int, **body):
    return shop.client.post(f"/__sandbox/orders/{ORDER_ID_BASE + index}/update", json=body)


def first_with(shop, status: str) -> int:
    store = shop.sandbox.store
    return next(i for i in range(store.size) if store.header(i).financial == status)


def test_refund_bumps_updated_at_and_shows_in_an_incremental_sync(make_shop):
    shop = make_shop(size=800, clock=FakeClock(NOW))
    index = first_with(shop, "PAID")
    last_generated = shop.sandbox.store.dataset.updated_ts(799)
    response = update(shop, index, action="refund")
    assert response.status_code == 200
    summary = response.json()
    assert summary["displayFinancialStatus"] == "REFUNDED"
    assert summary["updatedAt"] == iso(NOW)
    # An incremental sync from the last high-water mark sees exactly that order.
    since = f"updated_at:>'{iso(last_generated)}'"
    page = shop.data(
        ORDERS_QUERY, {"first": 50, "query": since, "sortKey": "UPDATED_AT", **PAGE_VARS}
    )
    [node] = page["orders"]["nodes"]
    assert node["legacyResourceId"] == str(ORDER_ID_BASE + index)
    assert node["displayFinancialStatus"] == "REFUNDED"
    assert (
        node["totalRefundedSet"]["shopMoney"]["amount"]
        == node["totalPriceSet"]["shopMoney"]["amount"]
    )
    assert Decimal(node["refunds"][-1]["totalRefundedSet"]["shopMoney"]["amount"]) > 0
    assert check_money_identity(shop.sandbox.store.order(index)) == []


def test_partial_refund_then_cancel(make_shop):
    shop = make_shop(size=300, clock=FakeClock(NOW))
    index = first_with(shop, "PAID")
    order = shop.sandbox.store.order(index)
    response = update(shop, index, action="refund", amount="1.00", note="goodwill")
    assert response.json()["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert response.json()["totalRefunded"] == "1.00"
    assert update(shop, index, action="refund", amount="1.001").status_code == 409  # too precise
    cancelled = update(shop, index, action="cancel", reason="FRAUD").json()
    assert cancelled["displayFinancialStatus"] == "REFUNDED"
    assert cancelled["cancelledAt"] == iso(NOW + 1)  # updatedAt never repeats or goes back
    current = shop.sandbox.store.order(index)
    assert current["cancelReason"] == "FRAUD"
    assert current["totalRefundedSet"] == order["totalPriceSet"]
    assert len(current["_refunds"]) == len(order["_refunds"]) + 2
    assert check_money_identity(current) == []
    assert update(shop, index, action="cancel").status_code == 409


def test_cancel_voids_an_unpaid_order(make_shop):
    shop = make_shop(size=300, clock=FakeClock(NOW))
    index = first_with(shop, "PENDING")
    summary = update(shop, index, action="cancel").json()
    assert summary["displayFinancialStatus"] == "VOIDED"
    assert Decimal(summary["totalOutstanding"]) == 0
    assert check_money_identity(shop.sandbox.store.order(index)) == []


def test_pay_and_touch(make_shop):
    shop = make_shop(size=300, clock=FakeClock(NOW))
    index = first_with(shop, "AUTHORIZED")
    assert update(shop, index, action="pay").json()["displayFinancialStatus"] == "PAID"
    assert check_money_identity(shop.sandbox.store.order(index)) == []
    other = first_with(shop, "PAID")
    before = shop.sandbox.store.order(other)
    touched = update(shop, other, action="touch").json()
    after = shop.sandbox.store.order(other)
    assert touched["updatedAt"] == iso(NOW)
    assert after["totalPriceSet"] == before["totalPriceSet"]


def test_bad_updates(make_shop):
    shop = make_shop(size=50)
    assert (
        shop.client.post(
            f"/__sandbox/orders/{ORDER_ID_BASE + 50}/update", json={"action": "touch"}
        ).status_code
        == 404
    )
    assert update(shop, 0, action="explode").status_code == 422
    assert update(shop, first_with(shop, "PENDING"), action="refund").status_code == 409


def test_filters_and_counts_see_the_overlay(make_shop):
    shop = make_shop(size=1500, clock=FakeClock(NOW))
    paid = [i for i in range(1500) if shop.sandbox.store.header(i).financial == "PAID"][:5]
    refunded_query = {"query": "financial_status:refunded"}
    before = shop.data(ORDERS_COUNT_QUERY, refunded_query)["ordersCount"]["count"]
    for index in paid:
        update(shop, index, action="refund")
    after = shop.data(ORDERS_COUNT_QUERY, refunded_query)["ordersCount"]["count"]
    assert after == before + 5
    listed = walk(shop, {"first": 250, "query": "financial_status:refunded"})
    assert len(listed) == after
    assert (
        len(walk(shop, {"first": 250, "query": "financial_status:paid"}))
        == shop.data(ORDERS_COUNT_QUERY, {"query": "financial_status:paid"})["ordersCount"]["count"]
    )


def test_updated_at_pagination_with_moved_orders_covers_each_order_once(make_shop):
    clock = FakeClock(NOW)
    shop = make_shop(size=1000, clock=clock)
    for index in (3, 250, 251, 600, 999):
        clock.advance(5)
        update(shop, index, action="touch")
    for reverse in (False, True):
        edges = walk(shop, {"first": 97, "sortKey": "UPDATED_AT", "reverse": reverse})
        ids = [e["node"]["id"] for e in edges]
        assert len(ids) == len(set(ids)) == 1000
        stamps = [e["node"]["updatedAt"] for e in edges]
        assert stamps == sorted(stamps, reverse=reverse)
        moved = ids[-5:] if not reverse else ids[:5]
        assert {int(i.rsplit("/", 1)[1]) - ORDER_ID_BASE for i in moved} == {3, 250, 251, 600, 999}
    # Creation order is unaffected by updates.
    created = walk(shop, {"first": 250, "sortKey": "CREATED_AT"})
    assert [int(e["node"]["id"].rsplit("/", 1)[1]) - ORDER_ID_BASE for e in created] == list(
        range(1000)
    )


def test_dataset_reset_drops_runtime_changes(make_shop):
    shop = make_shop(size=100, clock=FakeClock(NOW))
    update(shop, 1, action="touch")
    assert shop.client.get(CONTROL_PATH).json()["modified_orders"] == 1
    state = shop.control(
        dataset={"seed": 5, "size": 40, "currency": "JPY", "start": "2023-06-01T00:00:00Z"}
    )
    assert state["modified_orders"] == 0
    assert state["dataset"]["size"] == 40 and state["dataset"]["currency"] == "JPY"
    count = shop.data(ORDERS_COUNT_QUERY, {})["ordersCount"]["count"]
    assert count == 40
    first = shop.data(ORDERS_QUERY, {"first": 1, **PAGE_VARS})["orders"]["nodes"][0]
    assert first["currencyCode"] == "JPY"
    assert first["createdAt"].startswith("2023-06-01")
