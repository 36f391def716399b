"""Xero's JSON: records as the Accounting API returns them, `/Date(ms+0000)/` dates and
amounts as exact JSON numbers (Decimal written digit for digit, never through a float)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import orjson

from sandbox.xero.data import (
    COUNTRY_NAMES,
    PHONE_CODES,
    Account,
    Contact,
    Doc,
    Journal,
    Line,
    ManualJournal,
    Organisation,
    Payment,
    stable_id,
)

_MARK = "\u0001"
_NUMBER = re.compile(rb'"\\u0001(-?[0-9]+(?:\.[0-9]+)?)"')
_RATE = Decimal("1.000000")  # CurrencyRate of a base-currency document


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # A marker string, unwrapped into a bare JSON number after orjson has run.
        return _MARK + format(value, "f")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: Any) -> bytes:
    """JSON bytes with every Decimal written as an exact JSON number."""
    return _NUMBER.sub(rb"\1", orjson.dumps(body, default=_default))


def ms(moment: datetime) -> str:
    """`/Date(1704067200000+0000)/` for a UTC datetime."""
    millis = int(moment.astimezone(UTC).timestamp() * 1000)
    return f"/Date({millis}+0000)/"


def ms_date(day: date) -> str:
    """A date as Xero writes `Date`: midnight UTC in milliseconds."""
    return ms(datetime.combine(day, time(), UTC))


def date_string(day: date) -> str:
    """`DateString`: 2024-01-15T00:00:00."""
    return f"{day.isoformat()}T00:00:00"


_MS = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_ms(value: str) -> datetime | None:
    """The datetime of a `/Date(...)/` string (None when it is not one)."""
    found = _MS.match(value)
    if not found:
        return None
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(found.group(1)))
    return moment


def money(org: Organisation, value: Decimal) -> Decimal:
    """An amount with the currency's decimals (40.00, JPY 4000)."""
    return value.quantize(org.quantum)


def account(org: Organisation, acc: Account) -> dict[str, Any]:
    """An Account."""
    out: dict[str, Any] = {
        "AccountID": acc.id, "Code": acc.code, "Name": acc.name, "Status": acc.status,
        "Type": acc.type, "TaxType": acc.tax_type, "Class": acc.account_class,
        "EnablePaymentsToAccount": False, "ShowInExpenseClaims": acc.type in ("EXPENSE",
                                                                              "OVERHEADS"),
        "ReportingCode": _reporting_code(acc), "HasAttachments": False,
        "UpdatedDateUTC": ms(acc.updated), "AddToWatchlist": False,
    }  # fmt: skip
    if acc.description:
        out["Description"] = acc.description
    if acc.system:
        out["SystemAccount"] = acc.system
    if acc.type == "BANK":
        out.update(BankAccountNumber=acc.bank_number, BankAccountType="BANK",
                   CurrencyCode=acc.currency)
    return out


def _reporting_code(acc: Account) -> str:
    return {"ASSET": "ASS", "LIABILITY": "LIA", "EQUITY": "EQU", "REVENUE": "REV",
            "EXPENSE": "EXP"}[acc.account_class]  # fmt: skip


def _terms(terms: tuple[int, str] | None) -> dict[str, Any] | None:
    return {"Day": terms[0], "Type": terms[1]} if terms else None


def contact(org: Organisation, c: Contact, *, summary: bool = False) -> dict[str, Any]:
    """A Contact (`summary`: the short form embedded in documents)."""
    short = {"ContactID": c.id, "Name": c.name}
    if summary:
        return short
    city, region, postcode = c.city
    country = _country(org)
    address = {"AddressLine1": c.street, "City": city, "Region": region, "PostalCode": postcode,
               "Country": country, "AttentionTo": f"{c.first} {c.last}"}  # fmt: skip
    terms: dict[str, Any] = {}
    if c.sales_terms:
        terms["Sales"] = _terms(c.sales_terms)
    if c.bill_terms:
        terms["Bills"] = _terms(c.bill_terms)
    area, number = c.phone.split(" ", 1)
    out: dict[str, Any] = {
        **short, "ContactNumber": c.number, "AccountNumber": c.number,
        "ContactStatus": c.status, "FirstName": c.first, "LastName": c.last,
        "EmailAddress": c.email, "BankAccountDetails": "", "TaxNumber": c.tax_number,
        "Addresses": [{"AddressType": "POBOX", **address},
                      {"AddressType": "STREET", **address}],
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": number, "PhoneAreaCode": area,
                    "PhoneCountryCode": _phone_code(org)},
                   {"PhoneType": "DDI"}, {"PhoneType": "FAX"}, {"PhoneType": "MOBILE"}],
        "UpdatedDateUTC": ms(c.updated), "ContactGroups": [], "IsSupplier": c.is_supplier,
        "IsCustomer": c.is_customer, "DefaultCurrency": org.currency,
        "Balances": {
            "AccountsReceivable": {"Outstanding": money(org, c.ar_outstanding),
                                   "Overdue": money(org, c.ar_overdue)},
            "AccountsPayable": {"Outstanding": money(org, c.ap_outstanding),
                                "Overdue": money(org, c.ap_overdue)},
        },
        "ContactPersons": [], "HasAttachments": False, "HasValidationErrors": False,
    }  # fmt: skip
    if terms:
        out["PaymentTerms"] = terms
    return out


def _country(org: Organisation) -> str:
    return COUNTRY_NAMES.get(org.tax.country, org.tax.country)


def _phone_code(org: Organisation) -> str:
    return PHONE_CODES.get(org.tax.country, "1")


def line_item(org: Organisation, ln: Line) -> dict[str, Any]:
    """A LineItem."""
    out: dict[str, Any] = {
        "LineItemID": ln.id, "Description": ln.description, "Quantity": ln.quantity,
        "UnitAmount": money(org, ln.unit_amount), "TaxType": ln.tax_type,
        "TaxAmount": money(org, ln.tax_amount), "LineAmount": money(org, ln.line_amount),
        "AccountCode": ln.account_code, "AccountID": org.account(ln.account_code).id,
        "Tracking": [],
    }  # fmt: skip
    if ln.discount_rate is not None:
        out["DiscountRate"] = ln.discount_rate
    return out


def _payment_ref(org: Organisation, p: Payment) -> dict[str, Any]:
    return {"PaymentID": p.id, "Date": ms_date(p.on), "Amount": money(org, p.amount),
            "Reference": p.reference, "CurrencyRate": _RATE, "HasAccount": False,
            "HasValidationErrors": False}  # fmt: skip


def invoice(org: Organisation, doc: Doc, *, with_lines: bool = True) -> dict[str, Any]:
    """An Invoice (ACCREC sale or ACCPAY bill)."""
    out: dict[str, Any] = {
        "Type": doc.type, "InvoiceID": doc.id, "InvoiceNumber": doc.number,
        "Reference": doc.reference,
        "Payments": [_payment_ref(org, p) for p in doc.payments],
        "CreditNotes": [{"CreditNoteID": c.id, "CreditNoteNumber": c.number,
                         "Total": money(org, c.total),
                         "AppliedAmount": money(org, sum((a.amount for a in c.allocations
                                                          if a.invoice is doc), c.total * 0)),
                         "Date": ms_date(c.on), "DateString": date_string(c.on)}
                        for c in doc.credit_notes],
        "Prepayments": [], "Overpayments": [],
        "AmountDue": money(org, doc.amount_due if doc.status in ("AUTHORISED", "PAID",
                                                                 "DRAFT", "SUBMITTED")
                           else doc.total * 0),
        "AmountPaid": money(org, doc.amount_paid),
        "AmountCredited": money(org, doc.amount_credited),
        "CurrencyRate": _RATE, "IsDiscounted": False, "HasAttachments": False,
        "HasErrors": False, "Contact": contact(org, doc.contact, summary=True)
        if doc.contact else None,
        "DateString": date_string(doc.on), "Date": ms_date(doc.on),
        "Status": doc.status, "LineAmountTypes": doc.line_amount_types,
        "SubTotal": money(org, doc.sub_total), "TotalTax": money(org, doc.total_tax),
        "Total": money(org, doc.total), "UpdatedDateUTC": ms(doc.updated),
        "CurrencyCode": org.currency,
    }  # fmt: skip
    if doc.due is not None:
        out["DueDateString"], out["DueDate"] = date_string(doc.due), ms_date(doc.due)
    if doc.fully_paid_on is not None:
        out["FullyPaidOnDate"] = ms_date(doc.fully_paid_on)
    if with_lines:
        out["LineItems"] = [line_item(org, ln) for ln in doc.lines]
    return out


def credit_note(org: Organisation, doc: Doc, *, with_lines: bool = True) -> dict[str, Any]:
    """A CreditNote with its Allocations."""
    remaining = doc.remaining_credit if doc.status in ("AUTHORISED", "PAID") else doc.total * 0
    out: dict[str, Any] = {
        "CreditNoteID": doc.id, "CreditNoteNumber": doc.number, "Type": doc.type,
        "Reference": doc.reference, "Contact": contact(org, doc.contact, summary=True)
        if doc.contact else None,
        "DateString": date_string(doc.on), "Date": ms_date(doc.on), "Status": doc.status,
        "LineAmountTypes": doc.line_amount_types, "SubTotal": money(org, doc.sub_total),
        "TotalTax": money(org, doc.total_tax), "Total": money(org, doc.total),
        "UpdatedDateUTC": ms(doc.updated), "CurrencyCode": org.currency,
        "CurrencyRate": _RATE, "RemainingCredit": money(org, remaining),
        "Allocations": [{"AllocationID": a.id, "Amount": money(org, a.amount),
                         "Date": ms_date(a.on),
                         "Invoice": {"InvoiceID": a.invoice.id,
                                     "InvoiceNumber": a.invoice.number}}
                        for a in doc.allocations],
        "Payments": [_payment_ref(org, p) for p in doc.payments],
        "HasAttachments": False, "HasErrors": False,
    }  # fmt: skip
    if doc.status == "PAID":
        settled = [a.on for a in doc.allocations] + [p.on for p in doc.payments]
        if settled:
            out["FullyPaidOnDate"] = ms_date(max(settled))
    if with_lines:
        out["LineItems"] = [line_item(org, ln) for ln in doc.lines]
    return out


def bank_transaction(org: Organisation, doc: Doc) -> dict[str, Any]:
    """A BankTransaction (RECEIVE or SPEND)."""
    bank = org.account(doc.bank_code or "090")
    out: dict[str, Any] = {
        "BankTransactionID": doc.id, "Type": doc.type,
        "BankAccount": {"AccountID": bank.id, "Code": bank.code, "Name": bank.name},
        "LineItems": [line_item(org, ln) for ln in doc.lines],
        "IsReconciled": doc.reconciled, "HasAttachments": False,
        "DateString": date_string(doc.on), "Date": ms_date(doc.on),
        "Reference": doc.reference, "CurrencyCode": org.currency, "CurrencyRate": _RATE,
        "Status": doc.status, "LineAmountTypes": doc.line_amount_types,
        "SubTotal": money(org, doc.sub_total), "TotalTax": money(org, doc.total_tax),
        "Total": money(org, doc.total), "UpdatedDateUTC": ms(doc.updated),
    }  # fmt: skip
    if doc.contact is not None:
        out["Contact"] = contact(org, doc.contact, summary=True)
    return out


def payment(org: Organisation, p: Payment) -> dict[str, Any]:
    """A Payment, with the invoice or credit note it settles."""
    bank = org.account(p.bank_code)
    out: dict[str, Any] = {
        "PaymentID": p.id, "Date": ms_date(p.on), "BankAmount": money(org, p.amount),
        "Amount": money(org, p.amount), "Reference": p.reference, "CurrencyRate": _RATE,
        "PaymentType": p.payment_type, "Status": p.status,
        "UpdatedDateUTC": ms(p.updated or p.created), "HasAccount": True,
        "IsReconciled": p.reconciled, "HasValidationErrors": False,
        "Account": {"AccountID": bank.id, "Code": bank.code},
    }  # fmt: skip
    target = p.invoice or p.credit_note
    assert target is not None
    ref: dict[str, Any] = {"Type": target.type, "CurrencyCode": org.currency,
                           "Contact": contact(org, target.contact, summary=True)
                           if target.contact else None}  # fmt: skip
    if p.invoice is not None:
        out["Invoice"] = {**ref, "InvoiceID": target.id, "InvoiceNumber": target.number}
    else:
        out["CreditNote"] = {**ref, "CreditNoteID": target.id,
                             "CreditNoteNumber": target.number}  # fmt: skip
    return out


def manual_journal(org: Organisation, mj: ManualJournal) -> dict[str, Any]:
    """A ManualJournal."""
    return {
        "ManualJournalID": mj.id, "Date": ms_date(mj.on), "DateString": date_string(mj.on),
        "Status": mj.status, "LineAmountTypes": mj.line_amount_types,
        "Narration": mj.narration,
        "JournalLines": [{"Description": ln.description, "TaxType": ln.tax_type,
                          "LineAmount": money(org, ln.line_amount),
                          "AccountCode": ln.account_code,
                          "AccountID": org.account(ln.account_code).id,
                          "TaxAmount": money(org, ln.tax_amount), "Tracking": [],
                          "IsBlank": False} for ln in mj.lines],
        "ShowOnCashBasisReports": True, "HasAttachments": False,
        "UpdatedDateUTC": ms(mj.updated),
    }  # fmt: skip


def journal(org: Organisation, j: Journal) -> dict[str, Any]:
    """A Journal of Xero's ledger."""
    lines = []
    for n, p in enumerate(j.lines):
        acc = org.account(p.account_code)
        line: dict[str, Any] = {
            "JournalLineID": _line_id(j.id, n), "AccountID": acc.id, "AccountCode": acc.code,
            "AccountType": acc.type, "AccountName": acc.name, "Description": p.description,
            "NetAmount": money(org, p.net), "GrossAmount": money(org, p.net + p.tax),
            "TaxAmount": money(org, p.tax), "TrackingCategories": [],
        }  # fmt: skip
        if p.tax_type:
            line["TaxType"] = p.tax_type
            line["TaxName"] = _tax_name(org, p.tax_type)
        lines.append(line)
    return {"JournalID": j.id, "JournalDate": ms_date(j.on), "JournalNumber": j.number,
            "CreatedDateUTC": ms(j.created), "Reference": j.reference, "SourceID": j.source_id,
            "SourceType": j.source_type, "JournalLines": lines}  # fmt: skip


def _line_id(journal_id: str, n: int) -> str:
    return stable_id(journal_id, "line", n)


def _tax_name(org: Organisation, tax_type: str) -> str:
    for rate in org.tax_rates():
        if rate["TaxType"] == tax_type:
            return str(rate["Name"])
    return tax_type


def organisation(org: Organisation) -> dict[str, Any]:
    """The Organisation record."""
    cfg = org.config
    return {
        "OrganisationID": org.tenant_id, "APIKey": "", "Name": org.name,
        "LegalName": org.name, "PaysTax": True, "Version": org.tax.country,
        "OrganisationType": "COMPANY", "OrganisationEntityType": "COMPANY",
        "BaseCurrency": org.currency, "CountryCode": org.tax.country,
        "IsDemoCompany": False, "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": cfg.financial_year_end_day,
        "FinancialYearEndMonth": cfg.financial_year_end_month,
        "SalesTaxBasis": "ACCRUALS", "SalesTaxPeriod": "TWOMONTHS",
        "DefaultSalesTax": "Tax Exclusive", "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": ms(org.created), "Timezone": org.tax.timezone,
        "ShortCode": "!" + org.tenant_id.replace("-", "")[:5], "Edition": "BUSINESS",
        "Class": "STANDARD", "Addresses": [], "Phones": [], "ExternalLinks": [],
        "PaymentTerms": {},
    }  # fmt: skip


SECTIONS = (("REVENUE", "Revenue"), ("EXPENSE", "Expenses"), ("ASSET", "Assets"),
            ("LIABILITY", "Liabilities"), ("EQUITY", "Equity"))  # fmt: skip


def _cell(value: str, account_id: str | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {"Value": value}
    if account_id is not None:
        cell["Attributes"] = [{"Value": account_id, "Id": "account"}]
    return cell


def _sides(org: Organisation, net: Decimal) -> tuple[str, str]:
    if net > 0:
        return str(money(org, net)), ""
    if net < 0:
        return "", str(money(org, -net))
    return "", ""


def trial_balance(org: Organisation, as_of: date, now: datetime) -> dict[str, Any]:
    """Reports/TrialBalance: Header, one Section per Class with a Row per account (cells
    carry the AccountID in Attributes), and a last Section with the Total SummaryRow.

    Debit/Credit are the movement in the month of `as_of`; YTD Debit/YTD Credit the balance
    (profit and loss: the financial year to date). Amounts are strings, as Xero sends them.
    """
    balances = org.balances(as_of)
    sections = []
    totals = [org.quantum * 0] * 4
    for klass, title in SECTIONS:
        rows = []
        for acc in sorted((a for a in org.accounts if a.account_class == klass),
                          key=lambda a: a.code):
            if acc.code not in balances:
                continue
            ytd, month = balances[acc.code]
            month_dr, month_cr = _sides(org, month)
            ytd_dr, ytd_cr = _sides(org, ytd)
            for k, text in enumerate((month_dr, month_cr, ytd_dr, ytd_cr)):
                if text:
                    totals[k] += Decimal(text)
            label = f"{acc.name} ({acc.code})" if acc.code else acc.name
            rows.append({"RowType": "Row", "Cells": [
                _cell(label, acc.id), _cell(month_dr, acc.id), _cell(month_cr, acc.id),
                _cell(ytd_dr, acc.id), _cell(ytd_cr, acc.id)]})  # fmt: skip
        sections.append({"RowType": "Section", "Title": title, "Rows": rows})
    sections.append({"RowType": "Section", "Title": "", "Rows": [
        {"RowType": "SummaryRow", "Cells": [_cell("Total")] + [
            _cell(str(money(org, t))) for t in totals]}]})  # fmt: skip
    return {
        "ReportID": "TrialBalance", "ReportName": "Trial Balance", "ReportType": "TrialBalance",
        "ReportTitles": ["Trial Balance", org.name,
                         f"As at {as_of.day} {as_of.strftime('%B %Y')}"],
        "ReportDate": f"{now.day} {now.strftime('%B %Y')}", "UpdatedDateUTC": ms(now),
        "Fields": [],
        "Rows": [{"RowType": "Header", "Cells": [_cell("Account"), _cell("Debit"),
                                                 _cell("Credit"), _cell("YTD Debit"),
                                                 _cell("YTD Credit")]}, *sections],
    }  # fmt: skip
