"""Amazon order (Orders v0 + OrderItems) -> customer, sales order and a balanced journal."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bigledger.errors import DataMappingError
from bigledger.money import loads_exact
from tests.transforms.conftest import standard_accounts
from transforms.amazon_orders import order_to_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amazon"


@cache
def _read(name: str) -> Any:
    return loads_exact((FIXTURES / name).read_bytes())


def amazon_order(name: str) -> dict[str, Any]:
    """A fresh, mutable copy of an Amazon order fixture."""
    return copy.deepcopy(_read(name))


def accounts():
    return standard_accounts(tax_account="acc_tax_sales",
                             gateway_accounts={"amazon": "acc_amazon"})  # fmt: skip


def test_shipped_order_with_promotion_and_shipping():
    docs = order_to_documents(amazon_order("order_shipped_promotion.json"), accounts())
    so = docs.sales_order
    assert (so.external_id, so.currency, so.status) == ("113-4567890-1234567", "USD", "open")
    assert (so.financial_status, so.fulfillment_status) == ("paid", "fulfilled")
    assert so.order_date == datetime(2024, 3, 1, 18, 22, 5, tzinfo=UTC)
    assert so.source_updated_at == datetime(2024, 3, 2, 9, 40, 11, tzinfo=UTC)
    # 31.98 + 12.50 items, 3.20 promotion, 4.99 shipping, 2.09 + 0.36 + 0.91 tax = 49.63.
    assert (so.subtotal_minor, so.discount_minor, so.shipping_minor, so.tax_minor,
            so.total_minor) == (4128, 320, 499, 336, 4963)  # fmt: skip
    mug, tea = so.lines
    # ItemPrice is for the whole quantity: 31.98 for two mugs is 15.99 each, exactly.
    assert (mug.quantity, mug.unit_price_minor, mug.discount_minor, mug.tax_minor,
            mug.total_minor) == (2, 1599, 320, 209, 3198 - 320 + 209)  # fmt: skip
    assert (mug.sku, mug.product_external_id, mug.external_id) == (
        "BL-MUG-HAND", "B0C6MUGHND", "68828574383266")  # fmt: skip
    assert (tea.unit_price_minor, tea.tax_minor, tea.total_minor) == (1250, 91, 1341)

    journal = docs.journal
    assert journal.is_balanced() and journal.entry_date == date(2024, 3, 1)
    assert journal.net_by_account() == {
        "acc_amazon": 4963,  # Amazon holds the buyer's money until the settlement
        "acc_sales": -4448,
        "acc_shipping": -499,
        "acc_tax_sales": -336,
        "acc_discounts": 320,
    }
    assert all(type(line.debit_minor) is int and type(line.credit_minor) is int
               for line in journal.lines)  # fmt: skip
    customer = docs.customer
    assert customer is not None and so.customer_external_id == customer.external_id
    assert customer.email == "q8yw2kv3b7x1m0t@marketplace.amazon.com"
    assert (customer.first_name, customer.last_name, customer.name) == ("Grace", "Lee",
                                                                         "Grace Lee")


def test_same_input_same_documents():
    first = order_to_documents(amazon_order("order_shipped_promotion.json"), accounts())
    second = order_to_documents(amazon_order("order_shipped_promotion.json"), accounts())
    assert first == second


def test_pending_order_has_no_money_and_an_empty_journal():
    docs = order_to_documents(amazon_order("order_pending.json"), accounts())
    so = docs.sales_order
    assert (so.financial_status, so.status, so.currency, so.total_minor) == (
        "pending", "open", "USD", 0)  # fmt: skip
    assert [(line.sku, line.quantity, line.unit_price_minor) for line in so.lines] == [
        ("BL-COLDBREW", 1, 0)]  # fmt: skip
    assert docs.journal.lines == () and docs.journal.is_balanced()
    assert docs.customer is None  # BuyerInfo withheld


def test_cancelled_order_keeps_its_lines_but_posts_nothing():
    docs = order_to_documents(amazon_order("order_canceled.json"), accounts())
    so = docs.sales_order
    assert (so.status, so.financial_status) == ("cancelled", "voided")
    assert so.total_minor == 18899 + 1370 + 499
    assert docs.journal.lines == ()
    assert docs.customer is not None and docs.customer.name is None


def test_order_total_must_reconcile_with_its_items():
    order = amazon_order("order_shipped_promotion.json")
    order["OrderTotal"]["Amount"] = "49.64"
    with pytest.raises(DataMappingError, match=r"OrderTotal: 49.64 USD does not reconcile"):
        order_to_documents(order, accounts())
    shipped_without_total = amazon_order("order_shipped_promotion.json")
    del shipped_without_total["OrderTotal"]
    with pytest.raises(DataMappingError, match="missing on a Shipped order"):
        order_to_documents(shipped_without_total, accounts())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o.pop("OrderItems"), "OrderItems"),
        (lambda o: o.update(OrderStatus="Lost"), "OrderStatus"),
        (lambda o: o["OrderItems"][0]["ItemPrice"].update(Amount="31.985"), "ItemPrice"),
        (lambda o: o["OrderItems"][0]["ItemPrice"].update(Amount=31.98), "ItemPrice"),
        (lambda o: o["OrderItems"][1]["ItemTax"].update(CurrencyCode="EUR"), "CurrencyCode"),
        (lambda o: o["OrderItems"][0].update(QuantityOrdered="2"), "QuantityOrdered"),
        (lambda o: o.update(PurchaseDate="yesterday"), "PurchaseDate"),
    ],
)
def test_unmappable_orders_name_the_field(change, field):
    order = amazon_order("order_shipped_promotion.json")
    change(order)
    with pytest.raises(DataMappingError) as caught:
        order_to_documents(order, accounts())
    assert field in caught.value.message and "113-4567890-1234567" in caught.value.message


def test_zero_decimal_currency_and_signed_discounts():
    order = amazon_order("order_shipped_promotion.json")
    order["MarketplaceId"] = "A1VC38T7YXB528"
    for money in [order["OrderTotal"]] + [m for item in order["OrderItems"]
                                          for m in item.values() if isinstance(m, dict)]:
        money["CurrencyCode"] = "JPY"
        money["Amount"] = str(int(Decimal(money["Amount"]) * 100))  # 31.98 USD -> 3198 JPY
    # A marketplace that signs the discount negative means the same reduction.
    order["OrderItems"][0]["PromotionDiscount"]["Amount"] = "-320"
    docs = order_to_documents(order, accounts())
    assert docs.sales_order.currency == "JPY" and docs.sales_order.total_minor == 4963
    assert docs.journal.net_by_account()["acc_discounts"] == 320


def test_unshipped_order_is_already_a_sale():
    order = amazon_order("order_shipped_promotion.json")
    order["OrderStatus"] = "Unshipped"
    docs = order_to_documents(order, accounts())
    assert docs.sales_order.fulfillment_status == "unfulfilled"
    assert docs.journal.net_by_account()["acc_amazon"] == 4963
