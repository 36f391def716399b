"""WooCommerce order -> documents: hand-computed fixtures, and every generated sandbox order."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from bigledger.errors import DataMappingError
from bigledger.money import loads_exact, to_minor
from sandbox.woocommerce.config import WooCommerceSandboxConfig
from sandbox.woocommerce.data import OrderDataset
from tests.transforms.conftest import standard_accounts
from transforms.woocommerce_orders import order_to_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "woocommerce"


@cache
def _read(name: str) -> Any:
    return loads_exact((FIXTURES / name).read_bytes())


def woo_order(name: str) -> dict[str, Any]:
    return copy.deepcopy(_read(name))


def net(docs) -> dict[str, int]:
    return docs.journal.net_by_account()


def test_fees_and_coupons_post_to_their_accounts():
    accounts = standard_accounts(
        gateway_accounts={"stripe": "acc_stripe"},
        tax_accounts={"US-CA-STATE TAX-1": "acc_tax_state"},
    )
    docs = order_to_documents(woo_order("order_fees_coupons.json"), accounts)
    assert docs.journal.is_balanced()
    assert net(docs) == {
        "acc_stripe": 6673,
        "acc_discounts": 620 + 300,  # coupon welcome10 (before tax) + the negative fee
        "acc_sales": -6200,  # line subtotals before the coupon, before tax
        "acc_shipping": -500,
        "acc_other_income": -400,  # gift wrap
        "acc_tax_state": -433,  # rate code mapped
        "acc_tax_sst": -60,  # County Tax: the default tax account
    }
    memos = [line.memo for line in docs.journal.lines]
    assert "Discounts 4301 (welcome10)" in memos
    assert "Discount fees 4301 (Loyalty discount)" in memos
    so = docs.sales_order
    assert (so.subtotal_minor, so.discount_minor, so.shipping_minor, so.tax_minor,
            so.total_minor, so.outstanding_minor) == (5580, 920, 500, 493, 6673, 0)  # fmt: skip
    assert so.financial_status == "paid" and so.fulfillment_status == "fulfilled"
    mug = so.lines[0]
    assert (mug.quantity, mug.unit_price_minor, mug.discount_minor, mug.tax_minor,
            mug.total_minor) == (2, 2500, 500, 371, 4871)  # fmt: skip
    assert docs.customer is not None and docs.customer.external_id == "57"
    assert docs.customer.email == "grace@example.com"
    assert docs.journal.entry_date.isoformat() == "2024-03-05"  # from date_created_gmt


def test_prices_including_tax_and_a_refund():
    docs = order_to_documents(woo_order("order_vat_included_refund.json"), standard_accounts(
        tax_accounts={"VAT": "acc_vat"}))  # fmt: skip
    assert docs.journal.is_balanced()
    assert net(docs) == {
        "acc_undeposited": 5991 - 1000,  # ppcp-gateway has no mapping: default clearing
        "acc_sales": -4497,  # WooCommerce line totals are before tax even when included
        "acc_shipping": -495,
        "acc_vat": -999,  # by label when the rate code is not mapped
        "acc_sales_returns": 1000,
    }
    so = docs.sales_order
    assert so.taxes_included is True
    assert (so.subtotal_minor, so.shipping_minor, so.tax_minor, so.refunded_minor) == (
        5397, 594, 999, 1000)  # fmt: skip
    assert so.financial_status == "partially_refunded"
    candle = so.lines[1]
    assert (candle.unit_price_minor, candle.tax_minor, candle.total_minor) == (999, 500, 2997)


def test_guest_order_awaiting_payment_is_a_receivable():
    docs = order_to_documents(woo_order("order_guest_pending.json"), standard_accounts())
    assert docs.customer is None and docs.sales_order.customer_external_id is None
    assert net(docs) == {"acc_receivable": 1000, "acc_sales": -1000}
    assert docs.sales_order.outstanding_minor == 1000
    assert docs.sales_order.financial_status == "pending"


def test_jpy_order_has_no_minor_digits():
    docs = order_to_documents(woo_order("order_jpy.json"), standard_accounts(
        gateway_accounts={"cod": "acc_cash"}))  # fmt: skip
    assert docs.journal.currency == "JPY"
    assert net(docs) == {"acc_cash": 3850, "acc_sales": -3000, "acc_shipping": -500,
                         "acc_tax_sst": -350}  # fmt: skip
    assert "消費税 [JP-CONSUMPTION TAX-1] 7010" in [line.memo for line in docs.journal.lines]


def test_cancelled_before_payment_has_an_empty_journal():
    docs = order_to_documents(woo_order("order_cancelled_unpaid.json"), standard_accounts())
    assert docs.journal.lines == ()
    assert docs.sales_order.status == "cancelled"
    assert docs.sales_order.financial_status == "voided"


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("total", "66.74", "total"),
        ("cart_tax", "4.92", "cart_tax"),
        ("discount_total", "6.00", "discount_total"),
        ("currency", "XYZ", "currency"),
        ("status", "shipped", "status"),
        ("prices_include_tax", "no", "prices_include_tax"),
    ],
)
def test_orders_that_do_not_add_up_are_refused(field, value, where):
    order = woo_order("order_fees_coupons.json")
    order[field] = value
    with pytest.raises(DataMappingError) as caught:
        order_to_documents(order, standard_accounts())
    assert caught.value.details == {"order": "4301", "field": where}
    assert "WooCommerce order 4301" in caught.value.message


def test_a_float_amount_is_refused():
    order = woo_order("order_guest_pending.json")
    order["line_items"][0]["total"] = 10.0
    with pytest.raises(DataMappingError, match=r"line_items\[0\].total"):
        order_to_documents(order, standard_accounts())


@pytest.mark.parametrize("currency", ["USD", "JPY", "GBP", "KWD"])
def test_every_generated_sandbox_order_maps_and_balances(currency):
    size = 2000 if currency == "USD" else 300
    data = OrderDataset(WooCommerceSandboxConfig(size=size, currency=currency))
    accounts = standard_accounts(gateway_accounts={"stripe": "acc_stripe"})
    seen = set()
    for i in range(size):
        order = loads_exact(_json(data.order(i)))
        docs = order_to_documents(order, accounts)
        assert docs.journal.is_balanced(), order["id"]
        # The sandbox rounds tax per line, so the line-level identity holds exactly too.
        parts = [line.total_minor for line in docs.sales_order.lines] + [
            _m(x[key], currency)
            for x in order["shipping_lines"] + order["fee_lines"]
            for key in ("total", "total_tax")
        ]
        assert docs.sales_order.total_minor == sum(parts), order["id"]
        seen.add((order["status"], bool(order["fee_lines"]), bool(order["coupon_lines"])))
    assert {s for s, _, _ in seen} >= {"pending", "processing", "on-hold", "completed",
                                       "cancelled", "refunded", "failed"}  # fmt: skip



def _json(order: dict[str, Any]) -> bytes:
    # As on the wire: the connector parses the sandbox's bytes exactly.
    return orjson.dumps(order)


def _m(text: str, currency: str) -> int:
    return to_minor(text, currency)
