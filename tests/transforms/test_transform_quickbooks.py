"""QuickBooks transforms on recorded-shape fixtures: the journal of every transaction type
(what QuickBooks posts, to the cent), voided and deleted transactions, foreign currency
with its rounding and realized gain, refusals; the chart mapping (subtype rules first, the
accounts that need a person), contacts, and the Trial Balance report parser."""

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
from transforms.quickbooks_accounts import (
    account_to_doc,
    ledger_account_id,
    map_account_type,
)
from transforms.quickbooks_customers import customer_to_doc, vendor_to_doc
from transforms.quickbooks_reports import (
    compare_trial_balance,
    expected_trial_balance,
    fiscal_year_start,
    parse_trial_balance,
    report_period,
)
from transforms.quickbooks_transactions import (
    QuickBooksContext,
    build_context,
    linked_total,
    transaction_to_doc,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "quickbooks"
REALM = "4620816365178241"


@cache
def _read(name: str) -> Any:
    return loads_exact((FIXTURES / name).read_bytes())


def load(name: str) -> Any:
    """A fresh, mutable copy of a fixture, parsed exactly (amounts are Decimal)."""
    return copy.deepcopy(_read(name))


def context(**changes: Any) -> QuickBooksContext:
    foreign = linked_total("Invoice", load("invoice_foreign.json"), "USD")
    assert foreign is not None
    ctx = build_context(REALM, "USD", load("accounts.json"), load("items.json"),
                        load("tax_rates.json"), load("tax_agencies.json"), dict([foreign]))
    if changes:
        fields = {name: getattr(ctx, name) for name in ctx.__dataclass_fields__}
        ctx = QuickBooksContext(**{**fields, **changes})
    return ctx


def net(doc: Any) -> dict[str, int]:
    """The journal as {QuickBooks account id: net debit minor}."""
    back = {ledger_account_id(REALM, a["Id"]): a["Id"] for a in load("accounts.json")}
    out = {}
    for line in doc.journal.lines:
        out[back.get(line.account_id, line.account_id)] = line.net_minor
    assert doc.journal.is_balanced()
    return out


# ---- transactions ----------------------------------------------------------------------

POSTINGS = {
    # Dr A/R total; Cr income per item; Dr discount; Cr sales tax; COGS at cost.
    ("Invoice", "invoice.json"): {"84": 31410, "1": -30000, "79": -4500, "86": 3450,
                                  "90": -360, "80": 3000, "81": -3000},
    ("Payment", "payment.json"): {"4": 20000, "84": -20000},
    ("Payment", "payment_credit_applied.json"): {},
    ("SalesReceipt", "sales_receipt.json"): {"4": 3240, "79": -3000, "90": -240, "80": 2000,
                                             "81": -2000},
    ("CreditMemo", "credit_memo.json"): {"84": -16620, "1": 15000, "79": 1500, "90": 120,
                                         "81": 1000, "80": -1000},
    ("RefundReceipt", "refund_receipt.json"): {"35": -1620, "79": 1500, "90": 120, "81": 1000,
                                               "80": -1000},
    ("Bill", "bill.json"): {"33": -46375, "7": 25000, "81": 20000, "20": 1375},
    ("BillPayment", "bill_payment.json"): {"33": 42875, "35": -42875},
    ("Purchase", "purchase.json"): {"41": -104250, "13": 4250, "17": 100000},
    ("Purchase", "purchase_card_credit.json"): {"41": 1200, "13": -1200},
    ("VendorCredit", "vendor_credit.json"): {"33": 3500, "20": -3500},
    ("Deposit", "deposit.json"): {"35": 21655, "4": -23240, "5": -415, "13": 2000},
    ("Transfer", "transfer.json"): {"36": 150000, "35": -150000},
    ("JournalEntry", "journal_entry.json"): {"17": 50000, "84": 10000, "35": -60000},
    # EUR at 1.0875, line by line: 271.88 + 13.42 = 285.30 against HomeTotalAmt 285.29.
    ("Invoice", "invoice_foreign.json"): {"100": 28529, "1": -27188, "79": -1342, "92": 1,
                                          "80": 1000, "81": -1000},
    # EUR 262.34 at 1.0950 banks 287.26; A/R is relieved at the invoice's 285.29.
    ("Payment", "payment_foreign.json"): {"35": 28726, "100": -28529, "92": -197},
}


@pytest.mark.parametrize("entity, fixture", list(POSTINGS))
def test_each_transaction_type_posts_what_quickbooks_posts(entity, fixture):
    txn = load(fixture)
    doc = transaction_to_doc(entity, txn, context())
    assert net(doc) == POSTINGS[(entity, fixture)]
    assert doc.external_id == f"{entity}:{txn['Id']}"
    assert doc.status == "posted"
    assert doc.journal.currency == "USD"
    assert doc.journal.entry_date == doc.txn_date == date.fromisoformat(txn["TxnDate"])
    total = txn.get("TotalAmt", txn.get("Amount"))
    assert doc.total_minor == int(Decimal(total) * 100)
    assert doc.source_updated_at is not None and doc.source_updated_at.tzinfo is UTC


def test_document_fields():
    invoice = transaction_to_doc("Invoice", load("invoice.json"), context())
    assert (invoice.txn_type, invoice.number, invoice.contact_external_id) == (
        "invoice", "1037", "Customer:1")
    assert invoice.source_updated_at == datetime(2024, 3, 1, 18, 12, tzinfo=UTC)
    bill = transaction_to_doc("bill", load("bill.json"), context())
    assert bill.txn_type == "bill" and bill.contact_external_id == "Vendor:56"
    purchase = transaction_to_doc("purchase", load("purchase.json"), context())
    assert purchase.contact_external_id == "Vendor:56"
    journal = transaction_to_doc("journal_entry", load("journal_entry.json"), context())
    assert journal.memo == "March rent and a write-off"
    foreign = transaction_to_doc("Invoice", load("invoice_foreign.json"), context())
    assert (foreign.currency, foreign.total_minor, foreign.journal.currency) == (
        "EUR", 26234, "USD")


def test_voided_and_deleted_transactions_have_empty_journals():
    voided = transaction_to_doc("Invoice", load("invoice_voided.json"), context())
    assert voided.status == "voided" and voided.journal.lines == ()
    assert voided.total_minor == 0
    deleted = transaction_to_doc("Invoice", load("deleted_invoice.json"), context())
    assert deleted.status == "deleted" and deleted.journal.lines == ()
    assert deleted.external_id == "Invoice:260"
    assert deleted.txn_date == date(2024, 3, 3)  # 18:30 Pacific is the next day in UTC
    payment = load("payment.json")
    payment.update(TotalAmt=Decimal(0), Line=[], PrivateNote="Voided", TxnStatus="Voided")
    assert transaction_to_doc("Payment", payment, context()).status == "voided"


def test_foreign_rounding_goes_to_the_rounding_account_without_an_exchange_account():
    doc = transaction_to_doc("Invoice", load("invoice_foreign.json"),
                             context(exchange_account=None))
    assert net(doc)["acc_rounding"] == 1


def test_foreign_payment_needs_the_invoice_home_value():
    with pytest.raises(DataMappingError, match="linked_home_totals"):
        transaction_to_doc("Payment", load("payment_foreign.json"),
                           context(linked_home_totals={}))


def test_a_partial_foreign_payment_relieves_a_pro_rata_share():
    payment = load("payment_foreign.json")
    payment["TotalAmt"] = payment["Line"][0]["Amount"] = Decimal("100.00")
    # 100 / 262.34 of 285.29 = 108.75 relieved; 100 at 1.0950 = 109.50 banked.
    assert net(transaction_to_doc("Payment", payment, context())) == {
        "35": 10950, "100": -10875, "92": -75}


def test_a_home_document_that_does_not_add_up_is_refused():
    invoice = load("invoice.json")
    invoice["TotalAmt"] = Decimal("314.11")
    with pytest.raises(DataMappingError, match="differ by"):
        transaction_to_doc("Invoice", invoice, context())


def test_unknown_accounts_and_entities_are_refused():
    bill = load("bill.json")
    bill["Line"][0]["AccountBasedExpenseLineDetail"]["AccountRef"] = {"value": "999"}
    with pytest.raises(DataMappingError, match="999"):
        transaction_to_doc("Bill", bill, context())
    with pytest.raises(DataMappingError, match="Estimate"):
        transaction_to_doc("Estimate", load("invoice.json"), context())
    invoice = load("invoice.json")
    invoice["Line"][0]["Amount"] = 300.0  # a float amount has already lost exactness
    with pytest.raises(DataMappingError):
        transaction_to_doc("Invoice", invoice, context())


def test_build_context_resolves_the_special_accounts():
    ctx = context()
    assert ctx.receivable_accounts == {"USD": "84", "EUR": "100"}
    assert ctx.payable_accounts == {"USD": "33"}
    assert (ctx.undeposited_account, ctx.discount_account, ctx.exchange_account) == (
        "4", "86", "92")
    assert ctx.tax_rate_accounts == {"3": "90"}  # "Board of Equalization Payable"
    assert ctx.items["11"].unit_cost == Decimal("10")
    assert ctx.ledger_accounts["35"] == f"acc_qbo_{REALM}_35"
    assert linked_total("Invoice", load("invoice.json"), "USD") is None


def test_the_same_input_gives_the_same_documents():
    ctx = context()
    for entity, fixture in POSTINGS:
        assert transaction_to_doc(entity, load(fixture), ctx) == transaction_to_doc(
            entity, load(fixture), ctx)


# ---- accounts ----------------------------------------------------------------------------

STANDARD = {"35": "acc_bank", "36": "acc_bank", "84": "acc_receivable", "100": "acc_receivable",
            "4": "acc_undeposited", "81": "acc_inventory", "33": "acc_payable",
            "90": "acc_tax_sales", "34": "acc_equity_opening", "2": "acc_retained_earnings",
            "1": "acc_sales", "79": "acc_sales", "86": "acc_discounts", "80": "acc_cogs",
            "9": "acc_merchant_fees", "5": "acc_other_income", "60": "acc_bank"}
NEEDS_A_PERSON = {"94", "95", "91"}  # Other Asset, GlobalTaxPayable, Non-Posting


def test_chart_mapping_with_subtype_rules_first():
    for account in load("accounts.json"):
        doc = account_to_doc(account)
        mapping = map_account_type(account["AccountType"], account.get("AccountSubType"))
        assert doc.standard_account_id == STANDARD.get(account["Id"]), account["Name"]
        assert mapping.needs_decision == (account["Id"] in NEEDS_A_PERSON), account["Name"]
        assert doc.mapping_note
        if account["Id"] in NEEDS_A_PERSON:
            assert doc.mapping_note.startswith("decide:")
    # The subtype rule beats the type rule: an Other Current Asset with no rule is kept.
    assert map_account_type("Other Current Asset", "UndepositedFunds").rule == "subtype"
    assert map_account_type("Other Current Asset", "PrepaidExpenses").standard_account_id is None
    assert map_account_type("Other Current Asset", "PrepaidExpenses").needs_decision is False


def test_accounts_with_no_standard_mapping_say_what_to_decide():
    non_posting = account_to_doc(next(a for a in load("accounts.json") if a["Id"] == "91"))
    assert non_posting.standard_account_id is None and "skip" in non_posting.mapping_note
    assert non_posting.classification == "asset" and non_posting.source_subtype is None
    other = map_account_type("Other Asset", "SecurityDeposits")
    assert other.standard_account_id is None and other.needs_decision
    unknown = map_account_type("Mystery", None)
    assert unknown.rule == "none" and unknown.needs_decision
    gst = map_account_type("Other Current Liability", "GlobalTaxPayable", tax_account="acc_tax_gst")
    assert gst.standard_account_id == "acc_tax_gst" and not gst.needs_decision


def test_account_doc_fields():
    accounts = {a["Id"]: a for a in load("accounts.json")}
    sub = account_to_doc(accounts["76"])
    assert (sub.external_id, sub.name, sub.full_name, sub.parent_external_id) == (
        "76", "Gas and Electric", "Utilities:Gas and Electric", "24")
    assert (sub.source_type, sub.source_subtype, sub.classification) == (
        "Expense", "Utilities", "expense")
    checking = account_to_doc(accounts["35"])
    assert (checking.code, checking.currency, checking.active) == ("1000", "USD", True)
    assert account_to_doc(accounts["60"]).active is False
    assert account_to_doc(accounts["100"]).currency == "EUR"
    assert account_to_doc(accounts["1"]).classification == "income"
    with pytest.raises(DataMappingError):
        account_to_doc({"Name": "no id"})


def test_ledger_account_ids_are_stable_and_short():
    assert ledger_account_id("123146096291789", "35") == "acc_qbo_123146096291789_35"
    odd = ledger_account_id("9" * 40, "a b/c")
    assert odd == ledger_account_id("9" * 40, "a b/c") and len(odd) <= 64
    assert odd.startswith("acc_qbo_") and " " not in odd
    assert ledger_account_id("1", "23") != ledger_account_id("12", "3")
    with pytest.raises(DataMappingError):
        ledger_account_id("", "35")


# ---- contacts ----------------------------------------------------------------------------


def test_customer_contact():
    doc = customer_to_doc(load("customer.json"), terms={"3": "Net 30"})
    assert doc.external_id == "Customer:7"
    assert (doc.display_name, doc.first_name, doc.last_name, doc.company_name) == (
        "Berlin Gartenbau GmbH", "Jonas", "Berg", "Berlin Gartenbau GmbH")
    assert (doc.email, doc.phone) == ("jonas@gartenbau.example", "+49 30 1234567")
    assert doc.billing_address == {"line1": "Gartenstrasse 5", "city": "Berlin",
                                   "postal_code": "10115", "country": "DE"}
    assert doc.shipping_address["line2"] == "Halle 3" and doc.shipping_address["region"] == "HH"
    assert (doc.payment_terms, doc.currency, doc.balance_minor) == ("Net 30", "EUR", 129055)
    assert (doc.active, doc.is_customer, doc.is_supplier) == (True, True, False)


def test_vendor_contact_and_minimal_records():
    doc = vendor_to_doc(load("vendor.json"), terms={"2": "Net 15"})
    assert (doc.external_id, doc.is_supplier, doc.is_customer) == ("Vendor:56", True, False)
    assert (doc.payment_terms, doc.balance_minor, doc.shipping_address) == ("Net 15", 0, None)
    bare = customer_to_doc({"Id": "9", "GivenName": "Ada", "FamilyName": "Lovelace",
                            "Balance": Decimal("12.5")}, home_currency="GBP")
    assert (bare.display_name, bare.currency, bare.balance_minor) == ("Ada Lovelace", "GBP", 1250)
    assert customer_to_doc({"Id": "10", "DisplayName": "X"}).balance_minor is None
    with pytest.raises(DataMappingError):
        customer_to_doc({"DisplayName": "no id"})


# ---- reports -----------------------------------------------------------------------------


def test_parse_trial_balance_reads_every_account_exactly():
    report = load("trial_balance.json")
    lines = {line.account_external_id: line for line in parse_trial_balance(report)}
    assert set(lines) == {"35", "84", "81", "33", "90", "1", "79", "76", "2"}
    assert (lines["35"].debit_minor, lines["35"].credit_minor) == (120100, 0)  # "1,201.00"
    assert (lines["33"].debit_minor, lines["33"].credit_minor) == (0, 160267)
    assert lines["2"].net_minor == -100  # a negative debit cell is a credit
    assert lines["76"].account_name == "Utilities:Gas and Electric"
    assert sum(line.net_minor for line in lines.values()) == 0
    assert report_period(report) == (date(2024, 1, 1), date(2024, 3, 31))


def test_parse_trial_balance_refuses_what_it_cannot_prove():
    report = load("trial_balance.json")
    report["Rows"]["Row"][-1]["Summary"]["ColData"][1]["value"] = "7238.88"
    with pytest.raises(DataMappingError, match="TOTAL"):
        parse_trial_balance(report)
    report = load("trial_balance.json")
    del report["Rows"]["Row"][1]["ColData"][0]["id"]
    with pytest.raises(DataMappingError, match="no account id"):
        parse_trial_balance(report)
    report = load("trial_balance.json")
    report["Header"]["Currency"] = "JPY"  # 1201.00 yen has too many decimals
    with pytest.raises(DataMappingError):
        parse_trial_balance(report)


def test_compare_and_fiscal_year_closing():
    lines = parse_trial_balance(load("trial_balance.json"))
    ledger = {line.account_external_id: line.net_minor for line in lines}
    assert compare_trial_balance(ledger, lines) == []
    ledger["35"] += 1
    ledger["7"] = 500
    diffs = compare_trial_balance(ledger, lines, names={"7": "Advertising"})
    assert [(d.account_external_id, d.difference_minor) for d in diffs] == [("7", 500),
                                                                           ("35", 1)]
    assert diffs[0].account_name == "Advertising"
    postings = [(date(2023, 12, 20), "1", -5000), (date(2023, 12, 20), "35", 5000),
                (date(2024, 2, 1), "1", -700), (date(2024, 2, 1), "35", 700),
                (date(2024, 5, 1), "1", -1)]
    closed = expected_trial_balance(postings, date(2024, 3, 31), income_statement_accounts={"1"},
                                    retained_earnings_account="2")
    assert closed == {"1": -700, "2": -5000, "35": 5700}
    assert fiscal_year_start(date(2024, 3, 31), 4) == date(2023, 4, 1)
    assert fiscal_year_start(date(2024, 4, 1), 4) == date(2024, 4, 1)


def test_entity_names_in_either_spelling():
    from transforms.quickbooks_transactions import TXN_TYPES, entity_name

    for entity, txn_type in TXN_TYPES.items():
        assert entity_name(txn_type) == entity_name(entity) == entity
    with pytest.raises(DataMappingError):
        entity_name("estimate")
