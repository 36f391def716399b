"""Generated orders: exact money, determinism, variety, and time order."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from sandbox.shopify.config import ShopifySandboxConfig
from sandbox.shopify.data import OrderDataset, check_money_identity


def dataset(**config) -> OrderDataset:
    return OrderDataset(ShopifySandboxConfig(**config))


def amount(bag) -> Decimal:
    return Decimal(bag["shopMoney"]["amount"])


def test_money_identity_holds_for_the_first_2000_orders():
    orders = dataset(size=100_000, seed=7)
    for i in range(2000):
        order = orders.order(i)
        assert check_money_identity(order) == [], (i, check_money_identity(order))


def test_money_identity_written_out_for_one_order():
    """The identity the transform checks, spelled out with Decimal (no helper)."""
    orders = dataset(size=500, seed=3)
    for order in (orders.order(i) for i in range(500)):
        lines = order["_line_items"]
        gross = sum(amount(li["originalUnitPriceSet"]) * li["quantity"] for li in lines)
        discounts = sum(
            amount(d["allocatedAmountSet"]) for li in lines for d in li["discountAllocations"]
        )
        shipping = sum(amount(s["discountedPriceSet"]) for s in order["_shipping_lines"])
        tax = sum(amount(t["priceSet"]) for t in order["taxLines"])
        expected = gross - discounts + shipping + (0 if order["taxesIncluded"] else tax)
        assert amount(order["totalPriceSet"]) == expected
        assert amount(order["subtotalPriceSet"]) == gross - discounts
        assert amount(order["totalTaxSet"]) == tax
        refunds = sum(amount(r["totalRefundedSet"]) for r in order["_refunds"])
        assert amount(order["totalRefundedSet"]) == refunds


@pytest.mark.parametrize("currency", ["JPY", "USD", "EUR", "KWD", "GBP", "CAD"])
def test_money_identity_in_other_currencies(currency):
    orders = dataset(size=10_000, currency=currency, seed=11)
    for i in range(400):
        assert check_money_identity(orders.order(i)) == [], (currency, i)


def test_jpy_amounts_have_no_decimals():
    orders = dataset(size=300, currency="JPY")
    for i in range(300):
        order = orders.order(i)
        assert order["currencyCode"] == "JPY"
        for key in ("totalPriceSet", "totalTaxSet", "subtotalPriceSet", "totalShippingPriceSet"):
            text = order[key]["shopMoney"]["amount"]
            assert text.isdigit(), (key, text)
        for item in order["_line_items"]:
            assert item["originalUnitPriceSet"]["shopMoney"]["amount"].isdigit()
    included = sum(orders.header(i).taxes_included for i in range(300))
    assert included > 200  # Japanese shops mostly quote tax-inclusive prices


def test_kwd_amounts_have_three_decimals():
    order = dataset(size=5, currency="KWD").order(0)
    assert len(order["totalPriceSet"]["shopMoney"]["amount"].split(".")[1]) == 3


def test_trimmed_money_format_like_shopify():
    fixed = dataset(size=50, seed=5).order(3)
    trimmed = dataset(size=50, seed=5, money_format="trimmed").order(3)
    for key in ("totalPriceSet", "totalTaxSet", "totalRefundedSet"):
        assert amount(fixed[key]) == amount(trimmed[key])
    outstanding = trimmed["totalOutstandingSet"]["shopMoney"]["amount"]
    assert outstanding == "0.0" or not outstanding.endswith("0")
    jpy = dataset(size=5, currency="JPY", money_format="trimmed").order(0)
    assert jpy["totalPriceSet"]["shopMoney"]["amount"].endswith(".0")


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = dataset(size=1000, seed=42), dataset(size=1000, seed=42), dataset(size=1000, seed=43)
    assert [a.order(i)["totalPriceSet"] for i in range(50)] == [
        b.order(i)["totalPriceSet"] for i in range(50)
    ]
    assert [a.order(i)["totalPriceSet"] for i in range(50)] != [
        c.order(i)["totalPriceSet"] for i in range(50)
    ]


def test_a_smaller_shop_is_a_prefix_of_a_bigger_one():
    small, big = dataset(size=100, seed=9), dataset(size=100_000, seed=9)
    for i in range(100):
        assert small.order(i)["totalPriceSet"] == big.order(i)["totalPriceSet"]
        assert small.order(i)["updatedAt"] == big.order(i)["updatedAt"]


def test_times_increase_strictly_and_updates_follow_creation():
    orders = dataset(size=5000, interval_seconds=60)
    created = [orders.created_ts(i) for i in range(5000)]
    updated = [orders.updated_ts(i) for i in range(5000)]
    assert all(x < y for x, y in zip(created, created[1:], strict=False))
    assert all(x < y for x, y in zip(updated, updated[1:], strict=False))
    assert all(c <= u for c, u in zip(created, updated, strict=True))


def test_headers_agree_with_full_orders():
    orders = dataset(size=1000)
    for i in range(0, 1000, 7):
        header, order = orders.header(i), orders.order(i)
        assert order["displayFinancialStatus"] == header.financial
        assert order["displayFulfillmentStatus"] == header.fulfillment
        assert (order["cancelledAt"] is not None) == header.cancelled
        assert order["paymentGatewayNames"] == [header.gateway]
        assert order["tags"] == list(header.tags)


def test_variety():
    orders = dataset(size=20_000, currency="USD", seed=1)
    headers = [orders.header(i) for i in range(20_000)]
    financial = Counter(h.financial for h in headers)
    assert set(financial) == {
        "PAID", "PENDING", "AUTHORIZED", "PARTIALLY_PAID", "PARTIALLY_REFUNDED", "REFUNDED",
        "VOIDED", "EXPIRED",
    }  # fmt: skip
    assert financial["PAID"] > 0.6 * len(headers)
    assert {h.gateway for h in headers} == {"shopify_payments", "stripe", "paypal", "manual"}
    customers = Counter(h.customer for h in headers if h.customer is not None)
    assert customers.most_common(1)[0][1] >= 20  # regulars come back
    sample = [orders.order(i) for i in range(2000)]
    assert sum(len(o["_line_items"]) >= 30 for o in sample) >= 1  # about 1 in 500
    assert any(len(o["taxLines"]) == 2 for o in sample)  # state + county
    assert any(not o["taxLines"] for o in sample)  # tax-free
    assert any(amount(s["discountedPriceSet"]) < amount(s["originalPriceSet"])
               for o in sample for s in o["_shipping_lines"])  # fmt: skip
    assert any(len(o["_refunds"]) == 2 for o in sample)
    partial = [o for o in sample if o["displayFinancialStatus"] == "PARTIALLY_PAID"]
    assert partial and all(
        0 < amount(o["totalOutstandingSet"]) < amount(o["totalPriceSet"]) for o in partial
    )
    voided = [o for o in sample if o["displayFinancialStatus"] == "VOIDED"]
    assert voided and all(o["cancelledAt"] and o["cancelReason"] for o in voided)
