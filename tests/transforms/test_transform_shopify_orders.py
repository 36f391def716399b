"""Shopify orders -> ledger documents: payloads in, documents out, numbers worked by hand.

Every amount below is integer minor units of the order's currency, computed in the comments
from the fixture's decimal strings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bigledger.errors import DataMappingError
from transforms.documents import (
    CustomerDoc,
    JournalDraft,
    SalesOrderDoc,
    SalesOrderLineDoc,
    net_by_account,
)
from transforms.shopify_orders import order_to_documents

FIXTURES = [
    "order_sst_paid.json",
    "order_us_state_county_tax_discounts.json",
    "order_vat_included_guest.json",
    "order_sst_cancelled_refunded.json",
    "order_partially_refunded.json",
    "order_jpy_tax_included.json",
    "order_kwd_no_tax.json",
]


def rows(journal: JournalDraft) -> list[tuple[str, int, int, str]]:
    return [(ln.account_id, ln.debit_minor, ln.credit_minor, ln.memo) for ln in journal.lines]


def assert_balanced(journal: JournalDraft) -> None:
    debits, credits = journal.totals()
    assert debits == credits and journal.is_balanced()


# --- the SST order (Malaysia, 6%, taxes on top, paid by Stripe) ----------------------------

def test_sst_paid_order_becomes_customer_sales_order_and_journal(load_order, accounts):
    docs = order_to_documents(load_order("order_sst_paid.json"), accounts())

    assert docs.customer == CustomerDoc(
        external_id="7890", email="customer@example.com", first_name="John", last_name="Doe",
        name="John Doe",
    )
    # lines: 2 x 49.99 = 99.98 gross, 10.00 discount, 5.40 SST -> 99.98 - 10.00 + 5.40 = 95.38
    assert docs.sales_order == SalesOrderDoc(
        external_id="5501234567890",
        order_number="#1001",
        order_date=datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
        currency="MYR",
        financial_status="paid",
        fulfillment_status="unfulfilled",
        status="open",
        subtotal_minor=8998,     # 99.98 - 10.00
        discount_minor=1000,
        shipping_minor=1000,
        tax_minor=540,
        total_minor=10538,       # 89.98 + 10.00 shipping + 5.40 SST
        refunded_minor=0,
        outstanding_minor=0,
        taxes_included=False,
        source_updated_at=datetime(2024, 1, 15, 10, 31, 12, tzinfo=UTC),
        customer_external_id="7890",
        lines=(
            SalesOrderLineDoc(
                line_no=1, external_id="111", sku="WIDGET-001", name="Premium Widget",
                quantity=2, unit_price_minor=4999, discount_minor=1000, tax_minor=540,
                total_minor=9538, product_external_id="456", variant_external_id="789",
            ),
        ),
    )
    journal = docs.journal
    assert journal.entry_date == date(2024, 1, 15)
    assert journal.currency == "MYR"
    assert journal.memo == "Shopify order #1001"
    # stripe is not in gateway_accounts here, so the default clearing account takes it.
    assert rows(journal) == [
        ("acc_undeposited", 10538, 0, "Payment #1001 (stripe)"),
        ("acc_discounts", 1000, 0, "Discounts #1001"),
        ("acc_sales", 0, 9998, "Sales #1001"),
        ("acc_shipping", 0, 1000, "Shipping #1001"),
        ("acc_tax_sst", 0, 540, "SST 6%"),
    ]
    assert journal.totals() == (11538, 11538)


def test_sst_order_without_tax(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["taxLines"] = []
    order["lineItems"]["nodes"][0]["taxLines"] = []
    order["totalTaxSet"]["shopMoney"]["amount"] = "0.00"
    order["totalPriceSet"]["shopMoney"]["amount"] = "99.98"  # 99.98 - 10.00 + 10.00

    docs = order_to_documents(order, accounts())

    assert docs.sales_order.tax_minor == 0
    assert docs.sales_order.lines[0].total_minor == 8998
    assert rows(docs.journal) == [
        ("acc_undeposited", 9998, 0, "Payment #1001 (stripe)"),
        ("acc_discounts", 1000, 0, "Discounts #1001"),
        ("acc_sales", 0, 9998, "Sales #1001"),
        ("acc_shipping", 0, 1000, "Shipping #1001"),
    ]


# --- US: state + county tax, line discounts, a shipping discount, taxed shipping ------------

def test_state_and_county_tax_with_line_and_shipping_discounts(load_order, accounts):
    docs = order_to_documents(
        load_order("order_us_state_county_tax_discounts.json"),
        accounts(tax_account="acc_tax_sales",
                 gateway_accounts={"shopify_payments": "acc_shopify_payments"}),
    )
    # lines: 1 x 120.00 + 3 x 8.50 = 145.50 gross; discounts 12.00 + 2.55 = 14.55
    # shipping: 15.00 original, 10.00 charged -> 5.00 shipping discount
    # tax: State 6.48 + 1.38 + 0.60 = 8.46, County 1.62 + 0.34 + 0.15 = 2.11 -> 10.57
    # total: 145.50 - 14.55 + 10.00 + 10.57 = 151.52
    so = docs.sales_order
    assert (so.subtotal_minor, so.discount_minor, so.shipping_minor, so.tax_minor,
            so.total_minor) == (13095, 1955, 1000, 1057, 15152)
    assert [(ln.line_no, ln.external_id, ln.quantity, ln.unit_price_minor, ln.discount_minor,
             ln.tax_minor, ln.total_minor) for ln in so.lines] == [
        (1, "2001", 1, 12000, 1200, 810, 11610),  # 120.00 - 12.00 + 6.48 + 1.62
        (2, "2002", 3, 850, 255, 172, 2467),      # 25.50 - 2.55 + 1.38 + 0.34
    ]
    assert so.fulfillment_status == "fulfilled"
    assert rows(docs.journal) == [
        ("acc_shopify_payments", 15152, 0, "Payment #1002 (shopify_payments)"),
        ("acc_discounts", 1955, 0, "Discounts #1002"),     # 14.55 lines + 5.00 shipping
        ("acc_sales", 0, 14550, "Sales #1002"),
        ("acc_shipping", 0, 1500, "Shipping #1002"),       # original price, discount apart
        ("acc_tax_sales", 0, 846, "State Tax 6%"),
        ("acc_tax_sales", 0, 211, "County Tax 1.5%"),
    ]
    assert docs.journal.totals() == (17107, 17107)


def test_tax_accounts_route_a_tax_title_to_its_own_account(load_order, accounts):
    docs = order_to_documents(
        load_order("order_us_state_county_tax_discounts.json"),
        accounts(tax_account="acc_tax_sales", tax_accounts={"County Tax": "acc_tax_county"}),
    )
    taxes = [r for r in rows(docs.journal) if r[0].startswith("acc_tax")]
    assert taxes == [
        ("acc_tax_sales", 0, 846, "State Tax 6%"),
        ("acc_tax_county", 0, 211, "County Tax 1.5%"),
    ]


# --- gateways ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("gateways", "mapped", "expected"),
    [
        (["stripe"], {"stripe": "acc_stripe"}, "acc_stripe"),
        # the first gateway *found in the mapping* wins, not the first listed
        (["gift_card", "stripe"], {"stripe": "acc_stripe"}, "acc_stripe"),
        (["paypal", "stripe"], {"stripe": "acc_stripe", "paypal": "acc_paypal"}, "acc_paypal"),
        (["manual"], {"stripe": "acc_stripe"}, "acc_undeposited"),
        ([], {"stripe": "acc_stripe"}, "acc_undeposited"),
    ],
)
def test_gateway_accounts_override_the_clearing_account(
    load_order, accounts, gateways, mapped, expected
):
    order = load_order("order_sst_paid.json")
    order["paymentGatewayNames"] = gateways
    docs = order_to_documents(order, accounts(gateway_accounts=mapped))
    assert docs.journal.lines[0].account_id == expected
    assert docs.journal.lines[0].debit_minor == 10538


def test_refunds_come_out_of_the_same_gateway_clearing_account(load_order, accounts):
    docs = order_to_documents(load_order("order_partially_refunded.json"),
                              accounts(gateway_accounts={"stripe": "acc_stripe"}))
    assert {ln.account_id for ln in docs.journal.lines if ln.memo.startswith("Refund")} == {
        "acc_sales_returns", "acc_stripe"}


# --- taxes included in prices ---------------------------------------------------------------

def test_taxes_included_with_shipping_tax(load_order, accounts):
    docs = order_to_documents(load_order("order_vat_included_guest.json"),
                              accounts(tax_account="acc_tax_vat"))
    # lines: 2 x 60.00 = 120.00 gross incl. VAT, 20.00 discount -> 100.00 (VAT 16.67 inside)
    # shipping: 6.00 incl. 1.00 VAT; order VAT T = 17.67, shipping VAT S = 1.00
    # total: 120.00 - 20.00 + 6.00 = 106.00 (no tax on top)
    # sales = 120.00 - (17.67 - 1.00) = 103.33; shipping = 6.00 - 1.00 = 5.00
    assert docs.customer is None  # guest checkout
    so = docs.sales_order
    assert so.taxes_included is True
    assert so.customer_external_id is None
    assert (so.subtotal_minor, so.discount_minor, so.shipping_minor, so.tax_minor,
            so.total_minor) == (10000, 2000, 600, 1767, 10600)
    assert so.lines[0].total_minor == 10000  # tax is inside the price
    assert so.lines[0].tax_minor == 1667
    assert rows(docs.journal) == [
        ("acc_undeposited", 10600, 0, "Payment #1003 (paypal)"),
        ("acc_discounts", 2000, 0, "Discounts #1003"),
        ("acc_sales", 0, 10333, "Sales #1003"),
        ("acc_shipping", 0, 500, "Shipping #1003"),
        ("acc_tax_vat", 0, 1767, "VAT 20%"),
    ]
    assert docs.journal.totals() == (12600, 12600)


# --- cancellations and refunds --------------------------------------------------------------

@pytest.mark.parametrize("status", ["VOIDED", "PENDING", "AUTHORIZED", "EXPIRED"])
def test_cancelled_order_without_captured_money_has_nothing_on_the_books(
    load_order, accounts, status
):
    order = load_order("order_sst_paid.json")
    order["cancelledAt"] = "2024-01-15T11:00:00Z"
    order["cancelReason"] = "CUSTOMER"
    order["displayFinancialStatus"] = status
    order["totalOutstandingSet"]["shopMoney"]["amount"] = "105.38"

    docs = order_to_documents(order, accounts())

    assert docs.journal.lines == ()
    assert docs.journal.is_balanced()
    assert docs.journal.entry_date == date(2024, 1, 15)  # still dated, for the reversal
    assert docs.sales_order.status == "cancelled"
    assert docs.sales_order.financial_status == status.lower()
    assert docs.sales_order.total_minor == 10538  # the document still says what was ordered


def test_voided_but_not_cancelled_order_stays_receivable(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["displayFinancialStatus"] = "VOIDED"
    order["totalOutstandingSet"]["shopMoney"]["amount"] = "105.38"
    docs = order_to_documents(order, accounts())
    assert docs.sales_order.status == "open"
    assert net_by_account(docs.journal.lines)["acc_receivable"] == 10538


def test_cancelled_after_payment_then_refunded(load_order, accounts):
    docs = order_to_documents(load_order("order_sst_cancelled_refunded.json"),
                              accounts(gateway_accounts={"stripe": "acc_stripe"}))
    assert docs.sales_order.status == "cancelled"
    assert docs.sales_order.financial_status == "refunded"
    assert docs.sales_order.refunded_minor == 10538
    # The sale stays as it was; the refund offsets the money (history is never rewritten).
    assert rows(docs.journal) == [
        ("acc_stripe", 10538, 0, "Payment #1004 (stripe)"),
        ("acc_discounts", 1000, 0, "Discounts #1004"),
        ("acc_sales", 0, 9998, "Sales #1004"),
        ("acc_shipping", 0, 1000, "Shipping #1004"),
        ("acc_tax_sst", 0, 540, "SST 6%"),
        ("acc_sales_returns", 10538, 0, "Refund 9001 #1004"),
        ("acc_stripe", 0, 10538, "Refund 9001 #1004"),
    ]
    assert net_by_account(docs.journal.lines) == {
        # acc_stripe nets to zero: paid in, paid back
        "acc_discounts": 1000,
        "acc_sales": -9998,
        "acc_shipping": -1000,
        "acc_tax_sst": -540,
        "acc_sales_returns": 10538,
    }


def test_partially_refunded(load_order, accounts):
    docs = order_to_documents(load_order("order_partially_refunded.json"),
                              accounts(tax_account="acc_tax_sales"))
    # lines: 40.00 + 2 x 25.00 = 90.00; Sales Tax 8.25%: 3.30 + 4.13 = 7.43; shipping 5.00
    # total 102.43; refund of one coaster set: 25.00 + 2.06 tax = 27.06
    assert docs.sales_order.financial_status == "partially_refunded"
    assert docs.sales_order.refunded_minor == 2706
    assert docs.customer is not None and docs.customer.name == "Sam"
    assert rows(docs.journal) == [
        ("acc_undeposited", 10243, 0, "Payment #1005 (stripe)"),
        ("acc_sales", 0, 9000, "Sales #1005"),
        ("acc_shipping", 0, 500, "Shipping #1005"),
        ("acc_tax_sales", 0, 743, "Sales Tax 8.25%"),
        ("acc_sales_returns", 2706, 0, "Refund 9101 #1005"),
        ("acc_undeposited", 0, 2706, "Refund 9101 #1005"),
    ]
    assert net_by_account(docs.journal.lines)["acc_undeposited"] == 10243 - 2706


# --- unpaid and part-paid --------------------------------------------------------------------

def test_pending_order_is_a_receivable(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["displayFinancialStatus"] = "PENDING"
    order["paymentGatewayNames"] = ["manual"]
    order["totalOutstandingSet"]["shopMoney"]["amount"] = "105.38"

    docs = order_to_documents(order, accounts())

    assert docs.sales_order.outstanding_minor == 10538
    assert rows(docs.journal)[:2] == [
        ("acc_receivable", 10538, 0, "Receivable #1001"),
        ("acc_discounts", 1000, 0, "Discounts #1001"),
    ]
    assert "acc_undeposited" not in net_by_account(docs.journal.lines)


def test_partially_paid_splits_receivable_and_clearing(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["displayFinancialStatus"] = "PARTIALLY_PAID"
    order["totalOutstandingSet"]["shopMoney"]["amount"] = "50.00"

    docs = order_to_documents(order, accounts(gateway_accounts={"stripe": "acc_stripe"}))

    assert docs.sales_order.financial_status == "partially_paid"
    assert rows(docs.journal)[:2] == [
        ("acc_stripe", 5538, 0, "Payment #1001 (stripe)"),  # 105.38 - 50.00 paid
        ("acc_receivable", 5000, 0, "Receivable #1001"),
    ]
    assert_balanced(docs.journal)


def test_overpaid_order_credits_the_receivable(load_order, accounts):
    # Shopify reports a negative outstanding when more was captured than the order now costs.
    order = load_order("order_sst_paid.json")
    order["totalOutstandingSet"]["shopMoney"]["amount"] = "-4.62"
    docs = order_to_documents(order, accounts())
    assert rows(docs.journal)[:2] == [
        ("acc_undeposited", 11000, 0, "Payment #1001 (stripe)"),
        ("acc_receivable", 0, 462, "Receivable #1001"),
    ]
    assert_balanced(docs.journal)


# --- currencies with 0 and 3 decimals -------------------------------------------------------

def test_jpy_order_with_zero_decimal_amounts(load_order, accounts):
    docs = order_to_documents(load_order("order_jpy_tax_included.json"),
                              accounts(tax_account="acc_tax_gst"))
    # "1500" and "1500.0" are both 1500 yen. Lines 2 x 1500 + 1 x 1500 = 4500, discount 150.
    # Consumption tax 10% included: 273 + 123 on lines, 73 on shipping -> T 469, S 73.
    # total 4500 - 150 + 800 = 5150; sales 4500 - (469 - 73) = 4104; shipping 800 - 73 = 727
    so = docs.sales_order
    assert [(ln.unit_price_minor, ln.total_minor) for ln in so.lines] == [(1500, 3000),
                                                                         (1500, 1350)]
    assert (so.total_minor, so.tax_minor, so.discount_minor) == (5150, 469, 150)
    assert rows(docs.journal) == [
        ("acc_undeposited", 5150, 0, "Payment #2001 (shopify_payments)"),
        ("acc_discounts", 150, 0, "Discounts #2001"),
        ("acc_sales", 0, 4104, "Sales #2001"),
        ("acc_shipping", 0, 727, "Shipping #2001"),
        ("acc_tax_gst", 0, 469, "Consumption Tax 10%"),
    ]


def test_jpy_amount_with_a_fraction_of_a_yen_is_refused(load_order, accounts):
    order = load_order("order_jpy_tax_included.json")
    order["lineItems"]["nodes"][1]["originalUnitPriceSet"]["shopMoney"]["amount"] = "1500.5"
    with pytest.raises(DataMappingError, match=r"#2001.*lineItems\[1\]\.originalUnitPriceSet"):
        order_to_documents(order, accounts())


def test_kwd_order_with_three_decimals_and_no_tax(load_order, accounts):
    docs = order_to_documents(load_order("order_kwd_no_tax.json"), accounts())
    # 3 x 12.750 = 38.250, discount 1.275, shipping 2.500 -> total 39.475 (fils)
    so = docs.sales_order
    assert (so.subtotal_minor, so.total_minor, so.tax_minor) == (36975, 39475, 0)
    assert so.lines[0].total_minor == 36975
    # the customer has no email of their own: the order's is used
    assert docs.customer is not None and docs.customer.email == "ali@example.com.kw"
    assert rows(docs.journal) == [
        ("acc_undeposited", 39475, 0, "Payment #3001 (checkout)"),
        ("acc_discounts", 1275, 0, "Discounts #3001"),
        ("acc_sales", 0, 38250, "Sales #3001"),
        ("acc_shipping", 0, 2500, "Shipping #3001"),
    ]


# --- dates and ids ---------------------------------------------------------------------------

def test_entry_date_is_the_utc_date_of_processed_at(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["processedAt"] = "2024-01-15T23:30:00-05:00"  # already the 16th in UTC
    docs = order_to_documents(order, accounts())
    assert docs.sales_order.order_date == datetime(2024, 1, 16, 4, 30, tzinfo=UTC)
    assert docs.journal.entry_date == date(2024, 1, 16)


def test_created_at_is_the_fallback_for_processed_at(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["processedAt"] = None
    order["createdAt"] = "2024-02-01T00:00:00Z"
    assert order_to_documents(order, accounts()).journal.entry_date == date(2024, 2, 1)


def test_gid_is_used_when_legacy_resource_id_is_missing(load_order, accounts):
    order = load_order("order_sst_paid.json")
    del order["legacyResourceId"]
    assert order_to_documents(order, accounts()).sales_order.external_id == "5501234567890"


def test_custom_line_item_has_no_product_or_variant(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["lineItems"]["nodes"][0].update(product=None, variant=None, sku="")
    line = order_to_documents(order, accounts()).sales_order.lines[0]
    assert (line.product_external_id, line.variant_external_id, line.sku) == (None, None, None)


# --- what cannot be mapped -------------------------------------------------------------------

def test_total_that_does_not_reconcile_is_refused_with_both_numbers(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["totalPriceSet"]["shopMoney"]["amount"] = "105.39"
    with pytest.raises(DataMappingError) as err:
        order_to_documents(order, accounts())
    message = str(err.value)
    assert "#1001" in message and "totalPriceSet" in message
    assert "105.39 MYR" in message and "105.38 MYR" in message
    assert err.value.code == "DATA_MAPPING_ERROR"


def test_taxes_included_total_that_counts_tax_twice_is_refused(load_order, accounts):
    order = load_order("order_vat_included_guest.json")
    order["totalPriceSet"]["shopMoney"]["amount"] = "123.67"  # 106.00 + 17.67 on top
    with pytest.raises(DataMappingError, match="123.67 GBP.*106.00 GBP"):
        order_to_documents(order, accounts())


@pytest.mark.parametrize("amount", [49.99, 49.0])
def test_float_amount_is_refused(load_order, accounts, amount):
    order = load_order("order_sst_paid.json")
    order["lineItems"]["nodes"][0]["originalUnitPriceSet"]["shopMoney"]["amount"] = amount
    with pytest.raises(DataMappingError, match=r"lineItems\[0\]\.originalUnitPriceSet.*float"):
        order_to_documents(order, accounts())


def test_exact_decimal_amount_is_accepted(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["lineItems"]["nodes"][0]["originalUnitPriceSet"]["shopMoney"]["amount"] = Decimal(
        "49.99")
    assert order_to_documents(order, accounts()).sales_order.total_minor == 10538


def test_money_in_another_currency_is_refused(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["shippingLines"]["nodes"][0]["discountedPriceSet"]["shopMoney"]["currencyCode"] = "USD"
    with pytest.raises(DataMappingError, match=r"shippingLines\[0\]\.discountedPriceSet.*'USD'"):
        order_to_documents(order, accounts())


@pytest.mark.parametrize("code", [None, "", "RM", "MYR1", 458])
def test_unknown_currency_is_refused(load_order, accounts, code):
    order = load_order("order_sst_paid.json")
    order["currencyCode"] = code
    with pytest.raises(DataMappingError, match="currencyCode.*unknown currency"):
        order_to_documents(order, accounts())


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("totalPriceSet",), "totalPriceSet"),
        (("totalOutstandingSet",), "totalOutstandingSet"),
        (("taxLines", 0, "priceSet"), r"taxLines\[0\]"),
    ],
)
def test_missing_amount_is_refused(load_order, accounts, path, field):
    order = load_order("order_sst_paid.json")
    node = order
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = None
    with pytest.raises(DataMappingError, match=f"#1001.*{field}"):
        order_to_documents(order, accounts())


@pytest.mark.parametrize("amount", ["", "abc", "NaN", "Infinity", "-10.00"])
def test_invalid_amount_is_refused(load_order, accounts, amount):
    order = load_order("order_sst_paid.json")
    order["shippingLines"]["nodes"][0]["originalPriceSet"]["shopMoney"]["amount"] = amount
    with pytest.raises(DataMappingError, match=r"shippingLines\[0\]\.originalPriceSet"):
        order_to_documents(order, accounts())


def test_tax_lines_that_do_not_add_up_to_total_tax_are_refused(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["totalTaxSet"]["shopMoney"]["amount"] = "5.41"
    with pytest.raises(DataMappingError, match="totalTaxSet.*5.41 MYR.*5.40 MYR"):
        order_to_documents(order, accounts())


def test_refund_list_cut_short_is_refused(load_order, accounts):
    order = load_order("order_partially_refunded.json")
    order["refunds"] = []  # totalRefundedSet still says 27.06
    with pytest.raises(DataMappingError, match="totalRefundedSet.*27.06 USD.*0.00 USD"):
        order_to_documents(order, accounts())


@pytest.mark.parametrize("quantity", [None, "2", 2.0, -1, True])
def test_bad_quantity_is_refused(load_order, accounts, quantity):
    order = load_order("order_sst_paid.json")
    order["lineItems"]["nodes"][0]["quantity"] = quantity
    with pytest.raises(DataMappingError, match=r"lineItems\[0\]\.quantity"):
        order_to_documents(order, accounts())


@pytest.mark.parametrize("value", [None, "yes", 1])
def test_taxes_included_must_be_a_boolean(load_order, accounts, value):
    order = load_order("order_sst_paid.json")
    order["taxesIncluded"] = value
    with pytest.raises(DataMappingError, match="taxesIncluded"):
        order_to_documents(order, accounts())


@pytest.mark.parametrize("stamp", ["2024-01-15T10:30:00", "yesterday"])
def test_timestamp_without_offset_or_garbage_is_refused(load_order, accounts, stamp):
    order = load_order("order_sst_paid.json")
    order["processedAt"] = stamp
    with pytest.raises(DataMappingError, match="processedAt"):
        order_to_documents(order, accounts())


def test_shipping_discounted_above_its_original_price_is_refused(load_order, accounts):
    order = load_order("order_sst_paid.json")
    order["shippingLines"]["nodes"][0]["discountedPriceSet"]["shopMoney"]["amount"] = "12.00"
    with pytest.raises(DataMappingError, match="exceeds the original price"):
        order_to_documents(order, accounts())


def test_not_an_object_is_refused(accounts):
    with pytest.raises(DataMappingError, match="JSON object"):
        order_to_documents(["not", "an", "order"], accounts())  # type: ignore[arg-type]


# --- invariants over every fixture -----------------------------------------------------------

@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_journal_balances(load_order, accounts, name):
    docs = order_to_documents(load_order(name), accounts())
    assert_balanced(docs.journal)
    for line in docs.journal.lines:
        assert (line.debit_minor > 0) != (line.credit_minor > 0)


@pytest.mark.parametrize("name", FIXTURES)
def test_line_totals_and_shipping_add_up_to_the_order_total(load_order, accounts, name):
    order = load_order(name)
    so = order_to_documents(order, accounts()).sales_order
    shipping_tax = 0 if so.taxes_included else so.tax_minor - sum(ln.tax_minor for ln in so.lines)
    assert sum(ln.total_minor for ln in so.lines) + so.shipping_minor + shipping_tax == (
        so.total_minor)


@pytest.mark.parametrize("name", FIXTURES)
def test_transform_does_not_touch_its_input(load_order, accounts, name):
    order = load_order(name)
    before = repr(order)
    order_to_documents(order, accounts())
    assert repr(order) == before
