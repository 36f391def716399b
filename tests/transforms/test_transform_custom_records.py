"""Mapped custom records -> ledger documents: balanced journals, exact amounts, clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bigledger.errors import DataMappingError
from connectors.custom import load_definition
from sandbox.legacy_erp import LegacyErpSandboxConfig
from sandbox.legacy_erp.data import ErpDataset
from transforms.custom_records import (
    customer_to_document,
    order_to_documents,
    payment_to_document,
    product_to_document,
    record_to_documents,
)
from transforms.documents import PaymentAccounts, PostingAccounts

ACCOUNTS = PostingAccounts("acc_ar", "acc_sales", "acc_returns", "acc_tax", "acc_shipping",
                           "acc_discounts", "acc_clearing")
SPEC = json.loads((Path(__file__).parents[1] / "fixtures" / "custom" /
                   "spec_example.json").read_text())
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def full_definition():
    body = json.loads(json.dumps(SPEC))
    body["endpoints"][0]["mapping"].update({
        "orderNumber": "$.order_no", "orderDate": "$.order_date", "status": "$.status",
        "currency": "$.currency", "customerId": "$.customer.id",
        "customerEmail": "$.customer.email", "tax": "$.tax_amount",
        "shipping": "$.shipping_amount"})
    return load_definition(body)


def test_spec_mapping_of_sandbox_orders_gives_balanced_journals():
    data = ErpDataset(LegacyErpSandboxConfig(seed=8, size=300))
    spec_def, full_def = load_definition(SPEC), full_definition()
    for i in range(300):
        order = data.order(i)
        # The spec's own mapping: no tax/shipping split, no date (the caller's default).
        docs = order_to_documents(spec_def.map_record("getOrders", order), ACCOUNTS,
                                  default_currency="MYR", default_date=WHEN)
        assert docs.journal.is_balanced()
        charges = Decimal(order["tax_amount"]) + Decimal(order["shipping_amount"])
        assert -docs.journal.net_by_account().get("acc_other_income", 0) == int(charges * 100)
        assert docs.sales_order.total_minor == int(Decimal(order["total_amount"]) * 100)
        full = order_to_documents(full_def.map_record("getOrders", order), ACCOUNTS)
        assert full.journal.is_balanced()
        assert full.sales_order.order_date == datetime.fromisoformat(order["order_date"])
        net = full.journal.net_by_account()
        if order["status"] == "cancelled":
            assert full.journal.lines == () and full.sales_order.status == "cancelled"
        elif order["status"] == "paid":
            assert net["acc_clearing"] == full.sales_order.total_minor
        else:
            assert net["acc_ar"] == full.sales_order.outstanding_minor > 0
        if order["status"] != "cancelled":
            assert -net["acc_tax"] == int(Decimal(order["tax_amount"]) * 100)
        assert full.customer.external_id == order["customer"]["id"]
        assert [line.sku for line in full.sales_order.lines] == [
            li["sku"] for li in order["line_items"]]


def test_order_is_deterministic_and_exact():
    record = {"orderId": 1, "total": "0.30", "items": [
        {"sku": "A", "quantity": 3, "price": "0.10"}]}
    a = order_to_documents(record, ACCOUNTS, default_date=WHEN)
    assert a == order_to_documents(record, ACCOUNTS, default_date=WHEN)
    assert a.sales_order.total_minor == 30 and a.sales_order.lines[0].total_minor == 30
    jpy = order_to_documents({"orderId": 2, "total": 1500, "currency": "jpy"}, ACCOUNTS,
                             default_date=WHEN)
    assert jpy.sales_order.currency == "JPY" and jpy.sales_order.total_minor == 1500


@pytest.mark.parametrize(("record", "field"), [
    ({"orderId": 1, "total": 1.5}, "total"),  # a float is never an amount
    ({"orderId": 1, "total": "abc"}, "total"),
    ({"orderId": 1, "total": "1.005"}, "total"),
    ({"orderId": None, "total": "1"}, "orderId"),
    ({"orderId": 1, "total": "1", "currency": "XXX1"}, "currency"),
    ({"orderId": 1, "total": "5.00", "tax": "0", "shipping": "0", "discount": "0",
      "items": [{"sku": "A", "quantity": 1, "price": "4"}]},
     "total"),
    ({"orderId": 1, "total": "4", "items": [{"sku": "A", "quantity": -1, "price": "4"}]},
     "items[0].quantity"),
    ({"orderId": 1, "total": "4", "orderDate": "soon"}, "orderDate"),
])
def test_bad_order_values_name_the_field(record, field):
    with pytest.raises(DataMappingError) as info:
        order_to_documents(record, ACCOUNTS, default_date=WHEN)
    assert info.value.details["field"] == field


def test_missing_date_without_default_is_an_error():
    with pytest.raises(DataMappingError, match="orderDate"):
        order_to_documents({"orderId": 1, "total": "1"}, ACCOUNTS)


def test_customer_product_payment():
    customer = customer_to_document({"name": "Ann Lee", "email": "Ann@Example.com"})
    assert customer.external_id == "ann@example.com" and customer.name == "Ann Lee"
    with pytest.raises(DataMappingError, match="name"):
        customer_to_document({"phone": "1"})
    product = product_to_document({"sku": "SKU-1", "title": "Widget", "price": "12.50"},
                                  default_currency="MYR")
    assert product.external_id == "SKU-1" and product.variants[0].price_minor == 1250
    assert product.variants[0].currency == "MYR" and product.status == "active"
    with pytest.raises(DataMappingError) as info:
        product_to_document({"sku": "S", "price": "-1"})
    assert info.value.details["field"] == "price"
    pay = payment_to_document({"paymentId": "p1", "amount": "100.00", "fee": "3.20",
                               "occurredAt": "2024-02-01T10:00:00Z"},
                              PaymentAccounts("acc_gateway"))
    assert pay.net_minor == 9680 and pay.journal.is_balanced() and pay.kind == "charge"
    assert pay.journal.net_by_account() == {"acc_gateway": 9680, "acc_merchant_fees": 320,
                                            "acc_sales": -10000}
    refund = record_to_documents("payment", {"paymentId": "p2", "amount": "-5"},
                                 accounts=PaymentAccounts("acc_gateway"), default_date=WHEN)
    assert refund.kind == "refund" and refund.journal.is_balanced()
    assert record_to_documents("customer", {"email": "a@b.c"}).email == "a@b.c"
