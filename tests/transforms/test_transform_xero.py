"""Xero transforms on hand-written records shaped like Xero's JSON: one per record kind, what
each posts, the statuses that post nothing, accounts mapping, contacts and the report."""

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
from transforms.xero_accounts import account_to_doc, ledger_account_id, standard_mapping
from transforms.xero_contacts import contact_to_doc
from transforms.xero_reports import (
    financial_year_start,
    fold_prior_years,
    net_by_account,
    parse_trial_balance,
)
from transforms.xero_transactions import (
    build_context,
    parse_xero_datetime,
    transaction_to_doc,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xero"
TENANT = "11111111-2222-4333-8444-555555555555"


@cache
def _read(name: str) -> Any:
    return loads_exact((FIXTURES / name).read_bytes())


def load(name: str) -> dict[str, Any]:
    """A fresh copy of a fixture, parsed exactly (Decimal amounts)."""
    return copy.deepcopy(_read(name))


def acc(code: str) -> str:
    """The ledger account of a fixture account code."""
    return ledger_account_id(TENANT, f"a0000000-0000-4000-8000-000000000{code}")


@pytest.fixture(scope="module")
def context():
    return build_context(TENANT, load("accounts.json")["Accounts"], "NZD")


def posted(resource: str, name: str, context) -> dict[str, int]:
    doc = transaction_to_doc(resource, load(name), context)
    assert doc.journal.is_balanced()
    assert doc.status == "posted"
    return doc.journal.net_by_account()


# ---- what each record kind posts -----------------------------------------------------------


def test_sales_invoice_exclusive_with_discount_zero_rated_and_a_text_line(context):
    doc = transaction_to_doc("Invoices", load("invoice_accrec_exclusive.json"), context)
    assert (doc.external_id, doc.txn_type, doc.number, doc.status) == (
        "Invoice:b1000000-0000-4000-8000-000000000001", "invoice", "INV-0101", "posted")
    assert (doc.txn_date, doc.currency, doc.total_minor) == (date(2024, 3, 5), "NZD", 29840)
    assert doc.contact_external_id == "c0000000-0000-4000-8000-000000000001"
    assert doc.memo == "PO 5521"
    assert doc.source_updated_at == datetime(2024, 3, 5, 8, 15, 43, tzinfo=UTC)
    assert doc.journal.currency == "NZD" and doc.journal.entry_date == date(2024, 3, 5)
    assert doc.journal.net_by_account() == {
        acc("610"): 29840, acc("200"): -21600, acc("260"): -5000, acc("820"): -3240}


def test_inclusive_invoice_with_tax_on_the_total_rounds_to_xeros_rounding_account(context):
    # Two lines of 10.00 GST-inclusive: 1.30 tax each, but Xero's tax on the total is 2.61.
    assert posted("Invoices", "invoice_accrec_inclusive_rounding.json", context) == {
        acc("610"): 2000, acc("200"): -1740, acc("820"): -261, acc("860"): 1}


def test_bill_exclusive_debits_costs_and_input_tax(context):
    doc = transaction_to_doc("invoices", load("bill_accpay_exclusive.json"), context)
    assert doc.txn_type == "bill" and doc.total_minor == 13499
    assert doc.journal.net_by_account() == {
        acc("310"): 9999, acc("429"): 2000, acc("820"): 1500, acc("800"): -13499}


@pytest.mark.parametrize("name, status", [("invoice_voided.json", "voided"),
                                          ("invoice_deleted.json", "deleted"),
                                          ("invoice_draft.json", "draft")])
def test_voided_deleted_and_draft_invoices_post_nothing(context, name, status):
    # These name an archived account, which would not map: nothing is posted, so no error.
    doc = transaction_to_doc("Invoices", load(name), context)
    assert doc.status == status
    assert doc.journal.lines == () and doc.journal.is_balanced()
    assert doc.total_minor == 29840


def test_submitted_invoice_is_a_draft(context):
    record = load("invoice_accrec_exclusive.json")
    record["Status"] = "SUBMITTED"
    assert transaction_to_doc("Invoices", record, context).status == "draft"


def test_sales_credit_note_reverses_sales_and_tax(context):
    doc = transaction_to_doc("CreditNotes", load("creditnote_accrec.json"), context)
    assert (doc.external_id, doc.txn_type, doc.number) == (
        "CreditNote:f1000000-0000-4000-8000-000000000001", "credit_note", "CN-0007")
    # The allocation to INV-0101 posts nothing: both sides are in Accounts Receivable.
    assert doc.journal.net_by_account() == {acc("200"): 4000, acc("820"): 600,
                                            acc("610"): -4600}


def test_supplier_credit_note_without_tax(context):
    doc = transaction_to_doc("CreditNotes", load("creditnote_accpay_notax.json"), context)
    assert doc.txn_type == "vendor_credit"
    assert doc.journal.net_by_account() == {acc("800"): 2500, acc("429"): -2500}


def test_payments_move_money_between_the_bank_and_receivables_or_payables(context):
    assert posted("Payments", "payment_accrec.json", context) == {acc("090"): 29840,
                                                                  acc("610"): -29840}
    assert posted("Payments", "payment_accpay.json", context) == {acc("800"): 13499,
                                                                  acc("091"): -13499}
    refund = transaction_to_doc("Payments", load("payment_credit_note_refund.json"), context)
    assert refund.txn_type == "credit_note_refund"
    assert refund.journal.net_by_account() == {acc("610"): 4600, acc("090"): -4600}
    payment = transaction_to_doc("Payments", load("payment_accrec.json"), context)
    assert (payment.txn_type, payment.number, payment.contact_external_id) == (
        "payment", "DD 2024-03-18", "c0000000-0000-4000-8000-000000000001")
    assert payment.memo == "DD 2024-03-18 INV-0101"


def test_payment_type_is_inferred_when_missing(context):
    record = load("payment_accpay.json")
    del record["PaymentType"]
    assert transaction_to_doc("Payments", record, context).txn_type == "bill_payment"


def test_deleted_payment_posts_nothing(context):
    doc = transaction_to_doc("Payments", load("payment_deleted.json"), context)
    assert doc.status == "deleted" and doc.journal.lines == ()


def test_spend_money_inclusive_splits_out_the_tax(context):
    assert posted("BankTransactions", "banktransaction_spend_inclusive.json", context) == {
        acc("469"): 10000, acc("820"): 1500, acc("090"): -11500}


def test_receive_money_exclusive(context):
    doc = transaction_to_doc("BankTransactions", load("banktransaction_receive_exclusive.json"),
                             context)
    assert doc.txn_type == "bank_transaction" and doc.contact_external_id is None
    assert doc.journal.net_by_account() == {acc("091"): 23317, acc("260"): -20000,
                                            acc("820"): -3000, acc("270"): -317}


def test_deleted_bank_transaction_posts_nothing(context):
    record = load("banktransaction_spend_inclusive.json")
    record["Status"] = "DELETED"
    assert transaction_to_doc("BankTransactions", record, context).journal.lines == ()


def test_manual_journals_with_and_without_tax(context):
    assert posted("ManualJournals", "manualjournal_inclusive_tax.json", context) == {
        acc("420"): 10000, acc("820"): 1500, acc("850"): -11500}
    doc = transaction_to_doc("ManualJournals", load("manualjournal_notax.json"), context)
    assert (doc.txn_type, doc.total_minor, doc.memo) == ("manual_journal", 50000,
                                                         "Contractor payroll accrual")
    assert doc.journal.net_by_account() == {acc("429"): 50000, acc("826"): -10000,
                                            acc("850"): -40000}


def test_manual_journal_exclusive_tax_adds_tax_on_top(context):
    record = load("manualjournal_inclusive_tax.json")
    record["LineAmountTypes"] = "Exclusive"
    record["JournalLines"][0]["LineAmount"] = Decimal("100.00")
    assert transaction_to_doc("ManualJournals", record, context).journal.net_by_account() == {
        acc("420"): 10000, acc("820"): 1500, acc("850"): -11500}


@pytest.mark.parametrize("status, expected", [("DRAFT", "draft"), ("DELETED", "deleted"),
                                              ("VOIDED", "voided")])
def test_manual_journal_statuses_off_the_books(context, status, expected):
    record = load("manualjournal_notax.json")
    record["Status"] = status
    doc = transaction_to_doc("ManualJournals", record, context)
    assert doc.status == expected and doc.journal.lines == ()


def test_xero_journal_posts_its_net_amounts(context):
    doc = transaction_to_doc("Journals", load("journal.json"), context)
    assert (doc.external_id, doc.txn_type, doc.number, doc.txn_date) == (
        "Journal:9c100000-0000-4000-8000-000000000001", "journal", "412", date(2024, 3, 5))
    invoice = transaction_to_doc("Invoices", load("invoice_accrec_exclusive.json"), context)
    assert doc.journal.net_by_account() == invoice.journal.net_by_account()


# ---- refusals --------------------------------------------------------------------------------


def test_unbalanced_or_unknown_records_are_refused(context):
    record = load("invoice_accrec_exclusive.json")
    record["Total"] = Decimal("310.00")  # 11.60 more than the lines and tax
    with pytest.raises(DataMappingError, match="does not agree"):
        transaction_to_doc("Invoices", record, context)
    record = load("invoice_accrec_exclusive.json")
    record["LineItems"][0]["AccountCode"] = "999"
    del record["LineItems"][0]["AccountID"]
    with pytest.raises(DataMappingError, match="not in the chart"):
        transaction_to_doc("Invoices", record, context)
    record = load("manualjournal_notax.json")
    record["JournalLines"][0]["LineAmount"] = Decimal("501.00")
    with pytest.raises(DataMappingError, match="do not balance"):
        transaction_to_doc("ManualJournals", record, context)
    record = load("invoice_accrec_exclusive.json")
    record["Status"] = "STRANGE"
    with pytest.raises(DataMappingError, match="unknown Xero status"):
        transaction_to_doc("Invoices", record, context)
    with pytest.raises(DataMappingError, match="no transaction transform"):
        transaction_to_doc("Quotes", {}, context)


def test_summary_invoices_without_lines_are_refused_with_the_fix(context):
    record = load("invoice_accrec_exclusive.json")
    del record["LineItems"]
    with pytest.raises(DataMappingError, match="page"):
        transaction_to_doc("Invoices", record, context)


def test_foreign_currency_is_refused_not_guessed(context):
    record = load("invoice_accrec_exclusive.json")
    record["CurrencyCode"], record["CurrencyRate"] = "USD", Decimal("0.612300")
    with pytest.raises(DataMappingError, match="Journals"):
        transaction_to_doc("Invoices", record, context)


def test_more_decimals_than_the_currency_allows_is_refused(context):
    record = load("payment_accrec.json")
    record["Amount"] = Decimal("298.401")
    with pytest.raises(DataMappingError, match="not an amount"):
        transaction_to_doc("Payments", record, context)


def test_tax_accounts_by_tax_type_override_the_default(context):
    special = build_context(TENANT, load("accounts.json")["Accounts"], "NZD",
                            tax_accounts={"OUTPUT2": "acc_tax_gst"})
    net = posted("Invoices", "invoice_accrec_inclusive_rounding.json", special)
    assert net["acc_tax_gst"] == -261 and acc("820") not in net


def test_context_needs_xeros_system_accounts():
    accounts = [a for a in load("accounts.json")["Accounts"] if a.get("SystemAccount") != "GST"]
    with pytest.raises(DataMappingError, match="GST"):
        build_context(TENANT, accounts, "NZD")


def test_xero_dates():
    assert parse_xero_datetime("/Date(1709596800000+0000)/") == datetime(2024, 3, 5,
                                                                          tzinfo=UTC)
    assert parse_xero_datetime("/Date(1573755038314)/") == datetime(
        2019, 11, 14, 18, 10, 38, 314000, tzinfo=UTC)
    assert parse_xero_datetime("2024-03-05T10:00:00") == datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert parse_xero_datetime(None) is None
    with pytest.raises(DataMappingError):
        parse_xero_datetime("yesterday")


def test_same_input_same_documents(context):
    one = transaction_to_doc("Invoices", load("invoice_accrec_inclusive_rounding.json"), context)
    two = transaction_to_doc("Invoices", load("invoice_accrec_inclusive_rounding.json"), context)
    assert one == two


# ---- accounts --------------------------------------------------------------------------------


def test_accounts_map_to_the_standard_chart():
    docs = {d.code: d for d in map(account_to_doc, load("accounts.json")["Accounts"])}
    expected = {"090": "acc_bank", "091": "acc_bank", "200": "acc_sales", "260": "acc_sales",
                "270": "acc_other_income", "310": "acc_cogs", "610": "acc_receivable",
                "800": "acc_payable", "820": "acc_tax_gst", "860": "acc_rounding",
                "960": "acc_retained_earnings"}
    assert {code: docs[code].standard_account_id for code in expected} == expected
    rent = docs["469"]
    assert rent.standard_account_id is None and "own expense account" in rent.mapping_note
    assert (rent.source_type, rent.source_subtype, rent.classification) == (
        "OVERHEADS", "EXPENSE", "expense")
    assert docs["090"].currency == "NZD" and docs["200"].currency is None
    assert not docs["494"].active and docs["200"].active
    assert docs["610"].external_id == "a0000000-0000-4000-8000-000000000610"


def test_the_type_with_no_standard_mapping_needs_a_person():
    payg = next(a for a in load("accounts.json")["Accounts"] if a["Type"] == "PAYG")
    mapping = standard_mapping(payg)
    assert mapping.standard_account_id is None and mapping.decision_needed
    assert "PAYG" in mapping.note and "decide" in mapping.note
    doc = account_to_doc(payg)
    assert (doc.standard_account_id, doc.classification) == (None, "liability")
    tracking = next(a for a in load("accounts.json")["Accounts"] if a["Code"] == "877")
    assert standard_mapping(tracking).decision_needed
    rent = next(a for a in load("accounts.json")["Accounts"] if a["Code"] == "469")
    assert not standard_mapping(rent).decision_needed
    odd = {"AccountID": "x", "Type": "SOMETHINGNEW", "Class": "ASSET", "Name": "?"}
    assert standard_mapping(odd).decision_needed and account_to_doc(odd).classification == "asset"


@pytest.mark.parametrize("name, standard", [("VAT", "acc_tax_vat"), ("Sales Tax", "acc_tax_sales"),
                                            ("SST Payable", "acc_tax_sst"), ("GST", "acc_tax_gst")])
def test_tax_account_maps_by_its_name(name, standard):
    account = {"AccountID": "t", "Code": "820", "Name": name, "Type": "CURRLIAB",
               "SystemAccount": "GST"}
    assert standard_mapping(account).standard_account_id == standard
    unnamed = {**account, "Name": "Consumption levy"}
    assert standard_mapping(unnamed).decision_needed


def test_ledger_account_ids_are_stable_short_and_distinct():
    first = ledger_account_id(TENANT, "a0000000-0000-4000-8000-000000000200")
    assert first == "acc_xero_11111111_a0000000000040008000000000000200"
    assert len(first) <= 64
    assert ledger_account_id(TENANT.upper(), "A0000000-0000-4000-8000-000000000200") == first
    other = ledger_account_id("99999999-2222-4333-8444-555555555555",
                              "a0000000-0000-4000-8000-000000000200")
    assert other != first
    long_id = "not a uuid at all but very long " * 3
    odd = ledger_account_id(TENANT, long_id)
    assert len(odd) <= 64 and odd == ledger_account_id(TENANT, long_id)
    with pytest.raises(DataMappingError):
        ledger_account_id("", "x")


# ---- contacts --------------------------------------------------------------------------------


def test_customer_contact():
    doc = contact_to_doc(load("contact_customer.json"))
    assert (doc.external_id, doc.display_name, doc.company_name) == (
        "c0000000-0000-4000-8000-000000000001", "Kauri Design Ltd", "Kauri Design Ltd")
    assert (doc.first_name, doc.last_name, doc.email) == ("Aroha", "Ngata",
                                                          "aroha@kauridesign.example")
    assert doc.phone == "+64 9 555 0123"
    assert doc.billing_address == {"line1": "PO Box 1234", "line2": "Shortland Street",
                                   "city": "Auckland", "region": "Auckland",
                                   "postal_code": "1140", "country": "New Zealand"}
    assert doc.shipping_address == {"line1": "12 Queen Street", "line2": "Level 3, Suite 301",
                                    "city": "Auckland", "postal_code": "1010",
                                    "country": "New Zealand"}
    assert doc.payment_terms == "Day 20 of the following month"
    assert (doc.currency, doc.balance_minor) == ("NZD", 29840)
    assert (doc.active, doc.is_customer, doc.is_supplier) == (True, True, False)


def test_archived_supplier_contact():
    doc = contact_to_doc(load("contact_supplier_archived.json"), base_currency="NZD")
    assert (doc.active, doc.is_customer, doc.is_supplier) == (False, False, True)
    assert (doc.email, doc.billing_address, doc.shipping_address) == (None, None, None)
    assert doc.phone == "021 444 333"
    assert doc.payment_terms == "Net 30"
    assert (doc.currency, doc.balance_minor) == ("NZD", -13499)
    assert contact_to_doc(load("contact_supplier_archived.json")).balance_minor is None


# ---- the report -------------------------------------------------------------------------------


def test_trial_balance_is_read_by_account_id_from_the_ytd_columns():
    lines = parse_trial_balance(load("trial_balance.json"), "NZD")
    by_id = {line.account_external_id: line for line in lines}
    sales = by_id["a0000000-0000-4000-8000-000000000200"]
    assert (sales.account_name, sales.debit_minor, sales.credit_minor) == ("Sales (200)", 0,
                                                                          100000)
    assert by_id["a0000000-0000-4000-8000-000000000610"].net_minor == 115000
    assert net_by_account(lines) == {
        "a0000000-0000-4000-8000-000000000200": -100000,
        "a0000000-0000-4000-8000-000000000469": 10000,
        "a0000000-0000-4000-8000-000000000090": -10000,
        "a0000000-0000-4000-8000-000000000610": 115000,
        "a0000000-0000-4000-8000-000000000820": -15000}
    # The bare report (without the API envelope) reads the same.
    assert parse_trial_balance(load("trial_balance.json")["Reports"][0]) == lines


def test_trial_balance_that_does_not_add_up_to_its_total_is_refused():
    report = load("trial_balance.json")
    total = report["Reports"][0]["Rows"][-1]["Rows"][0]["Cells"]
    total[3]["Value"] = "1250.01"
    with pytest.raises(DataMappingError, match="Total"):
        parse_trial_balance(report)
    report = load("trial_balance.json")
    del report["Reports"][0]["Rows"][1]["Rows"][0]["Cells"][0]["Attributes"]
    for cell in report["Reports"][0]["Rows"][1]["Rows"][0]["Cells"]:
        cell.pop("Attributes", None)
    with pytest.raises(DataMappingError, match="no account id"):
        parse_trial_balance(report)


def test_financial_year_fold():
    assert financial_year_start(date(2024, 3, 31), 12, 31) == date(2024, 1, 1)
    assert financial_year_start(date(2024, 3, 31), 3, 31) == date(2023, 4, 1)
    assert financial_year_start(date(2024, 4, 1), 3, 31) == date(2024, 4, 1)
    assert financial_year_start(date(2024, 3, 1), 2, 29) == date(2024, 3, 1)
    folded = fold_prior_years({"sales": -500, "bank": 700, "re": -200},
                              {"sales": -300, "bank": 100}, ["sales"], "re")
    assert folded == {"sales": -200, "bank": 700, "re": -500}
