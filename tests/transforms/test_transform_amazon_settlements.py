"""Amazon Flat File V2 settlements -> SettlementDocs: categories, accounts, tie-out, local
formats, and the Amazon clearing account emptied by orders plus their settlement."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bigledger.errors import DataMappingError
from sandbox.amazon.config import AmazonSandboxConfig
from sandbox.amazon.data import AmazonDataset
from tests.transforms.conftest import standard_accounts
from tests.transforms.test_transform_amazon_orders import amazon_order
from transforms.amazon_orders import order_to_documents
from transforms.amazon_settlements import (
    categorize,
    parse_amount,
    parse_report_datetime,
    parse_settlement_report,
)
from transforms.documents import PaymentAccounts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amazon"
PAYMENT = PaymentAccounts(clearing_account="acc_amazon")
ORDER_ACCOUNTS = standard_accounts(tax_account="acc_tax_sales",
                                   gateway_accounts={"amazon": "acc_amazon"})  # fmt: skip


def us_file() -> bytes:
    return (FIXTURES / "settlement_us.txt").read_bytes()


def test_a_settlement_that_ties_out_posts_to_the_bank_on_the_deposit_date():
    (doc,) = parse_settlement_report(us_file(), PAYMENT)
    assert (doc.external_id, doc.currency, doc.total_minor) == ("17381926551", "USD", 10126)
    assert doc.ties_out and doc.difference_minor == 0 and doc.lines_total_minor == 10126
    assert doc.start == datetime(2024, 2, 29, 8, 16, 42, tzinfo=UTC)
    assert doc.end == datetime(2024, 3, 14, 8, 16, 42, tzinfo=UTC)
    assert doc.deposit_date == date(2024, 3, 16)
    assert len(doc.lines) == 22
    assert dict(doc.by_category) == {
        "principal": 4448, "tax": 336 - 145, "shipping": 499, "promotions": -320,
        "commissions": -506 - 188 + 300 - 60, "other_fees": -3999 - 412, "refunds": -1999,
        "reserves": 12500 - 1000, "tax_withheld": -336 + 145, "adjustments": 863,
    }  # fmt: skip
    journal = doc.journal
    assert journal is not None and journal.is_balanced()
    assert journal.entry_date == date(2024, 3, 16) and journal.currency == "USD"
    assert journal.net_by_account() == {
        "acc_bank": 10126,
        "acc_amazon": -(4448 + 336 + 499 - 320),  # exactly what the order sync debited
        "acc_merchant_fees": 506 + 188 - 300 + 60 + 3999 + 412,
        "acc_sales_returns": 1999,
        "acc_processor_reserves": 1000 - 12500,
        # Withheld facilitator tax (Dr 3.36) less the refund's: 1.45 tax refunded (Dr) and
        # 1.45 withheld tax given back (Cr) cancel.
        "acc_tax_sales": 336,
        "acc_other_income": -863,
    }
    principal = doc.lines[2]
    assert (principal.transaction_type, principal.amount_type, principal.order_id,
            principal.sku, principal.posted_date, principal.category, principal.account_id) == (
        "Order", "ItemPrice", "113-4567890-1234567", "BL-MUG-HAND", date(2024, 3, 2),
        "principal", "acc_amazon")  # fmt: skip


def test_the_fixture_order_and_its_settlement_empty_the_clearing_account():
    order = order_to_documents(amazon_order("order_shipped_promotion.json"), ORDER_ACCOUNTS)
    (settlement,) = parse_settlement_report(us_file(), PAYMENT)
    assert settlement.journal is not None
    clearing = (order.journal.net_by_account()["acc_amazon"]
                + settlement.journal.net_by_account()["acc_amazon"])  # fmt: skip
    assert clearing == 0
    # Amazon remitted the sales tax: what the order credited, the settlement debits back.
    tax = (order.journal.net_by_account()["acc_tax_sales"]
           + settlement.journal.net_by_account()["acc_tax_sales"])  # fmt: skip
    assert tax == 0


def test_a_settlement_off_by_a_cent_is_flagged_not_posted():
    content = us_file().replace(b"\t101.26\tUSD", b"\t101.27\tUSD")
    (doc,) = parse_settlement_report(content, PAYMENT)
    assert not doc.ties_out and doc.journal is None
    assert (doc.total_minor, doc.lines_total_minor, doc.difference_minor) == (10127, 10126, 1)
    assert len(doc.lines) == 22  # the lines are still there to investigate


def test_a_german_file_with_comma_decimals_dotted_dates_and_cp1252():
    content = (FIXTURES / "settlement_de.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # the fallback is really exercised
    (doc,) = parse_settlement_report(content, PAYMENT)
    assert (doc.currency, doc.total_minor, doc.ties_out) == ("EUR", 129696, True)
    assert doc.start == datetime(2024, 3, 1, 8, 12, 40, tzinfo=UTC)
    assert doc.deposit_date == date(2024, 3, 17)
    assert [line.amount_minor for line in doc.lines] == [-3900, 129900, 24681, -1000, -19485,
                                                         -450, -50]  # fmt: skip
    assert doc.lines[1].sku == "TASSE-GRÜN" and doc.lines[1].posted_date == date(2024, 3, 4)
    assert dict(doc.by_category) == {"principal": 129900, "tax": 24681, "promotions": -1000,
                                     "commissions": -19485, "fba_fees": -450,
                                     "other_fees": -3950}  # fmt: skip
    assert doc.journal is not None
    assert doc.journal.net_by_account()["acc_amazon"] == -(129900 + 24681 - 1000)


def test_unknown_amount_types_fall_back_to_adjustments_and_categories_can_be_remapped():
    content = us_file().replace(b"FBA Inventory Reimbursement\tWAREHOUSE_DAMAGE",
                                b"NewAmazonThing\tSomethingElse")  # fmt: skip
    (doc,) = parse_settlement_report(content, PAYMENT, {"other_fees": "acc_subscriptions"})
    odd = [line for line in doc.lines if line.amount_type == "NewAmazonThing"]
    assert [(line.category, line.account_id, line.amount_minor) for line in odd] == [
        ("adjustments", "acc_other_income", 863)]  # fmt: skip
    assert doc.journal is not None
    assert doc.journal.net_by_account()["acc_subscriptions"] == 3999 + 412
    assert "acc_merchant_fees" in doc.journal.net_by_account()  # commissions stay put
    with pytest.raises(DataMappingError, match="unknown settlement categories"):
        parse_settlement_report(content, PAYMENT, {"storage": "acc_x"})


@pytest.mark.parametrize(
    ("triple", "category"),
    [
        (("Order", "ItemPrice", "Principal"), "principal"),
        (("order", "itemprice", "shippingtax"), "tax"),
        (("Order", "Promotion", "Shipping"), "promotions"),
        (("Order", "ItemFees", "FBAPerUnitFulfillmentFee"), "fba_fees"),
        (("Refund", "ItemFees", "RefundCommission"), "commissions"),
        (("Order", "ItemFees", "VariableClosingFee"), "other_fees"),
        (("Refund", "ItemPrice", "Principal"), "refunds"),
        (("Refund", "ItemPrice", "Tax"), "tax"),
        (("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Shipping"), "tax_withheld"),
        (("other-transaction", "other-transaction", "Current Reserve Amount"), "reserves"),
        (("other-transaction", "other-transaction", "Storage Fee"), "other_fees"),
        (("ServiceFee", "Cost of Advertising", "TransactionTotalAmount"), "other_fees"),
        (("Order", "ItemPrice", "GiftWrap"), "adjustments"),
        (("Liquidations", "???", ""), "adjustments"),
    ],
)
def test_category_rules(triple, category):
    assert categorize(*triple) == category


def test_a_missing_required_column_is_named_and_optional_ones_may_be_absent():
    lines = us_file().decode().splitlines()
    header = lines[0].split("\t")
    drop = header.index("amount-description")
    without = "\n".join("\t".join(c for i, c in enumerate(line.split("\t")) if i != drop)
                        for line in lines)  # fmt: skip
    with pytest.raises(DataMappingError, match="lacks required column.*amount-description") as e:
        parse_settlement_report(without.encode(), PAYMENT)
    assert e.value.details["missing"] == ["amount-description"]
    keep = [header.index(c) for c in ("settlement-id", "total-amount", "currency",
                                      "deposit-date", "transaction-type", "amount-type",
                                      "amount-description", "amount")]  # fmt: skip
    minimal = "\n".join("\t".join(line.split("\t")[i] for i in keep) for line in lines)
    (doc,) = parse_settlement_report(minimal.encode(), PAYMENT)
    assert doc.ties_out and doc.lines[0].order_id is None and doc.lines[0].posted_date is None
    with pytest.raises(DataMappingError, match="empty"):
        parse_settlement_report(b"", PAYMENT)
    with pytest.raises(DataMappingError, match="amount 'twelve'"):
        parse_settlement_report(us_file().replace(b"\t-4.12\t", b"\ttwelve\t"), PAYMENT)


@pytest.mark.parametrize(
    ("text", "hint", "value"),
    [
        ("1234.56", ".", "1234.56"), ("1,234.56", ".", "1234.56"), ("1.234,56", ",", "1234.56"),
        ("1.234,56", ".", "1234.56"), ("95,00", ",", "95.00"), ("95,00", ".", "95.00"),
        ("-0,50", ",", "-0.50"), ("1,234", ".", "1234"), ("1.234", ",", "1234"),
        ("1.234.567,89", ",", "1234567.89"), ("(12.34)", ".", "-12.34"), ("12.34-", ".", "-12.34"),
        ("+7", ".", "7"), (" 1 234,50 ", ",", "1234.50"), ("0", ".", "0"),
    ],
)  # fmt: skip
def test_local_amounts_parse_exactly(text, hint, value):
    assert parse_amount(text, hint) == Decimal(value)


@pytest.mark.parametrize("text", ["", "-", "12a", "1,2,3.4.5", "1e5", "NaN"])
def test_garbage_amounts_are_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text, ".")


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2024-01-15 08:00:00 UTC", True, datetime(2024, 1, 15, 8, tzinfo=UTC)),
        ("2024-01-15T08:00:00+00:00", True, datetime(2024, 1, 15, 8, tzinfo=UTC)),
        ("2003-10-03T16:00:00-07:00", True, datetime(2003, 10, 3, 23, tzinfo=UTC)),
        ("15.01.2024 08:00:00 UTC", False, datetime(2024, 1, 15, 8, tzinfo=UTC)),
        ("01/15/24", True, datetime(2024, 1, 15, tzinfo=UTC)),
        ("02/03/2024", False, datetime(2024, 2, 3, tzinfo=UTC)),
        ("02/03/2024", True, datetime(2024, 3, 2, tzinfo=UTC)),
        ("2024/01/15", True, datetime(2024, 1, 15, tzinfo=UTC)),
        ("2024-01-15 00:30:00 PST", True, datetime(2024, 1, 15, 8, 30, tzinfo=UTC)),
        ("2024-01-15", True, datetime(2024, 1, 15, tzinfo=UTC)),
    ],
)
def test_report_dates_parse_defensively(text, day_first, expected):
    assert parse_report_datetime(text, day_first=day_first) == expected


@pytest.mark.parametrize("text", ["", "soon", "31.02.2024", "2024-01-15 08:00 XYZ"])
def test_unreadable_dates_are_none(text):
    assert parse_report_datetime(text) is None


@pytest.mark.parametrize("marketplace", ["ATVPDKIKX0DER", "A1PA6795UKMFR9"])
def test_sandbox_orders_and_their_settlement_leave_the_clearing_account_at_zero(marketplace):
    data = AmazonDataset(AmazonSandboxConfig(size=900, seed=3, marketplace_id=marketplace,
                                             interval_seconds=1500))  # fmt: skip
    k = 1
    (settlement,) = parse_settlement_report(data.settlement_document(k, compress=False), PAYMENT)
    assert settlement.ties_out and settlement.journal is not None
    shipped = data.settlement(k).order_ids
    assert len(shipped) > 50
    clearing = settlement.journal.net_by_account()["acc_amazon"]
    for order_id in sorted(shipped):
        order = data.order(data.index_of(order_id))
        docs = order_to_documents({**data.order_json(order), "OrderItems": data.items_json(order)},
                                  ORDER_ACCOUNTS)  # fmt: skip
        clearing += docs.journal.net_by_account()["acc_amazon"]
    assert clearing == 0
    # The settlement's orders are exactly the ones its Order rows name.
    named = {line.order_id for line in settlement.lines if line.transaction_type == "Order"}
    assert named == set(shipped)
