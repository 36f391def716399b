"""Xero documents -> SourceTransactionDoc with the journal Xero posts for them.

Postings (debit positive; `d` = +1 where the control account is debited: sales invoices,
supplier credit notes, money received; -1 for bills, sales credit notes, money spent):
* invoices, credit notes, bank transactions: the control account (Accounts Receivable,
  Accounts Payable, or the bank account) `d * Total`; each line's account `-d * net`
  (LineAmount, less its TaxAmount when LineAmountTypes is Inclusive); the tax account of
  each TaxType `-d * tax`, where the TotalTax Xero computed on the document total (its
  invoice-level rounding) differs from the lines' tax the difference goes to the largest
  tax; what is left over (invoice-level rounding of Inclusive documents) to Xero's
  Rounding account;
* payments: the bank against Accounts Receivable/Payable, by PaymentType (a refund of a
  credit note reverses the direction); allocating a credit note posts nothing;
* manual journals: each LineAmount (debit +) on its account, with tax split out to the tax
  account when the journal has tax;
* Xero's own Journals (GET /Journals), for whatever the documents cannot express: NetAmount
  per account.
Voided, deleted and draft documents get an empty journal. All postings are in the
organisation's base currency; a foreign-currency document is refused (DataMappingError)
rather than converted at a rate Xero did not use: migrate those from Xero's Journals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, normalize_currency, to_minor
from transforms.documents import JournalDraft, SourceTransactionDoc, lines_from_net
from transforms.xero_accounts import ledger_account_id

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Xero status -> SourceTransactionDoc status.
STATUS = {"AUTHORISED": "posted", "PAID": "posted", "POSTED": "posted",
          # Archived manual journals stay on the books (assumption: Xero archives posted
          # journals out of the way without reversing them).
          "ARCHIVED": "posted",
          "DRAFT": "draft", "SUBMITTED": "draft", "VOIDED": "voided", "DELETED": "deleted"}
INVOICE_TYPES = {"ACCREC": "invoice", "ACCPAY": "bill"}
CREDIT_TYPES = {"ACCRECCREDIT": "credit_note", "ACCPAYCREDIT": "vendor_credit"}
PAYMENT_TYPES = {"ACCRECPAYMENT": "payment", "ACCPAYPAYMENT": "bill_payment",
                 "ARCREDITPAYMENT": "credit_note_refund",
                 "APCREDITPAYMENT": "vendor_credit_refund"}  # fmt: skip
SALES_LIKE = frozenset({"ACCREC", "ACCPAYCREDIT", "RECEIVE"})
BANK_TYPES = frozenset({"RECEIVE", "SPEND"})


@dataclass(frozen=True)
class XeroContext:
    """What the postings need, as plain data: Xero AccountID (lower case) and Code -> ledger
    account id, the control accounts, tax accounts by TaxType, the base currency."""

    tenant_id: str
    base_currency: str
    accounts: Mapping[str, str]
    receivable_account: str
    payable_account: str
    tax_account: str  # the tax account of any TaxType not in tax_accounts
    rounding_account: str
    tax_accounts: Mapping[str, str] = field(default_factory=dict)

    def account_for(self, account_id: Any, code: Any, where: str) -> str:
        """The ledger account of a Xero account reference (AccountID wins over Code)."""
        for key in (account_id, code):
            if isinstance(key, str) and key.strip():
                found = self.accounts.get(key.strip().lower()) or self.accounts.get(key.strip())
                if found:
                    return found
        raise DataMappingError(
            f"{where}: Xero account {account_id or code!r} is not in the chart of accounts",
            details={"accountId": account_id, "accountCode": code})

    def tax_for(self, tax_type: str | None) -> str:
        """The ledger account a TaxType's tax posts to."""
        return self.tax_accounts.get(tax_type or "", self.tax_account)


def build_context(tenant_id: str, accounts: Iterable[dict[str, Any]], base_currency: str,
                  tax_accounts: Mapping[str, str] | None = None) -> XeroContext:  # fmt: skip
    """A context from a tenant's Accounts: every account -> `ledger_account_id`, the control
    accounts from Xero's SystemAccount flags (DEBTORS, CREDITORS, GST, ROUNDING)."""
    mapping: dict[str, str] = {}
    system: dict[str, str] = {}
    for account in accounts:
        account_id = account.get("AccountID")
        if not isinstance(account_id, str) or not account_id:
            continue
        ledger = ledger_account_id(tenant_id, account_id)
        mapping[account_id.lower()] = ledger
        code = account.get("Code")
        if isinstance(code, str) and code.strip():
            mapping[code.strip()] = ledger
        flag = account.get("SystemAccount")
        if isinstance(flag, str) and flag:
            system.setdefault(flag.upper(), ledger)
    missing = [f for f in ("DEBTORS", "CREDITORS", "GST", "ROUNDING") if f not in system]
    if missing:
        raise DataMappingError(f"Xero chart of accounts has no {', '.join(missing)} system "
                               "account", details={"missing": missing})
    return XeroContext(tenant_id=tenant_id, base_currency=normalize_currency(base_currency),
                       accounts=mapping, receivable_account=system["DEBTORS"],
                       payable_account=system["CREDITORS"], tax_account=system["GST"],
                       rounding_account=system["ROUNDING"],
                       tax_accounts=dict(tax_accounts or {}))  # fmt: skip


# ---- dates --------------------------------------------------------------------------------


def parse_xero_datetime(value: Any) -> datetime | None:
    """`/Date(1704067200000+0000)/` or an ISO string -> aware UTC datetime (None if absent)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    found = _MS_DATE.match(text)
    if found:
        # The milliseconds are UTC; the offset only says where the user was.
        return _EPOCH + timedelta(milliseconds=int(found.group(1)))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DataMappingError(f"{value!r} is not a Xero date") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _date(record: dict[str, Any], field_name: str, where: str) -> date:
    text = record.get(f"{field_name}String")
    if isinstance(text, str) and len(text) >= 10:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    moment = parse_xero_datetime(record.get(field_name))
    if moment is None:
        raise DataMappingError(f"{where} has no {field_name}", details={"where": where})
    return moment.date()


# ---- helpers ------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _minor(value: Any, currency: str, where: str) -> int:
    if value is None:
        return 0
    try:
        return to_minor(value, currency)
    except (MoneyError, ValueError, TypeError) as exc:
        raise DataMappingError(f"{where}: {value!r} is not an amount in {currency}",
                               details={"where": where, "value": str(value)}) from exc


def _status(record: dict[str, Any], where: str) -> str:
    raw = str(record.get("Status") or "").upper()
    if raw not in STATUS:
        raise DataMappingError(f"{where}: unknown Xero status {raw or '(none)'}",
                               details={"status": raw})
    return STATUS[raw]


def _same_currency(record: dict[str, Any], context: XeroContext, where: str) -> str:
    currency = (_text(record.get("CurrencyCode")) or context.base_currency).upper()
    rate = record.get("CurrencyRate")
    foreign = currency != context.base_currency
    if not foreign and rate is not None and Decimal(str(rate)) not in (0, 1):
        foreign = True
    if foreign:
        raise DataMappingError(
            f"{where} is in {currency} (rate {rate}): foreign-currency documents are not "
            "converted; migrate them from Xero's Journals (transaction_to_doc('Journals', ...))",
            details={"currency": currency, "currencyRate": str(rate)})
    return currency


def _doc(external_id: str, txn_type: str, number: str | None, txn_date: date, currency: str,
         total: int, status: str, contact: str | None, memo: str | None,
         updated: datetime | None, net: Mapping[str, int], context: XeroContext,
         label: str) -> SourceTransactionDoc:  # fmt: skip
    lines = lines_from_net(net) if status == "posted" else ()
    journal = JournalDraft(entry_date=txn_date, currency=context.base_currency,
                           memo=f"Xero {label}" + (f" {number}" if number else ""),
                           lines=lines)  # fmt: skip
    if not journal.is_balanced():
        raise DataMappingError(f"Xero {label} {number or external_id} does not balance",
                               details={"externalId": external_id})
    return SourceTransactionDoc(external_id=external_id, txn_type=txn_type, number=number,
                                txn_date=txn_date, currency=currency, total_minor=total,
                                status=status, contact_external_id=contact, memo=memo,
                                source_updated_at=updated, journal=journal)  # fmt: skip


def _add(net: dict[str, int], account: str, amount: int) -> None:
    if amount:
        net[account] = net.get(account, 0) + amount


# ---- documents with line items ------------------------------------------------------------


def _document_net(record: dict[str, Any], doc_type: str, control: str, context: XeroContext,
                  where: str) -> dict[str, int]:  # fmt: skip
    currency = context.base_currency
    items = record.get("LineItems")
    if not isinstance(items, list):
        raise DataMappingError(f"{where} came without LineItems: list Xero documents with "
                               "`page` (or fetch them by id) so the lines are included",
                               details={"where": where})  # fmt: skip
    sign = 1 if doc_type in SALES_LIKE else -1
    inclusive = (record.get("LineAmountTypes") or "Exclusive") == "Inclusive"
    net: dict[str, int] = {}
    _add(net, control, sign * _minor(record.get("Total"), currency, f"{where} Total"))
    tax_by_type: dict[str, int] = {}
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise DataMappingError(f"{where}: line {n + 1} is not an object")
        amount = _minor(item.get("LineAmount"), currency, f"{where} line {n + 1}")
        tax = _minor(item.get("TaxAmount"), currency, f"{where} line {n + 1} tax")
        if amount == 0 and tax == 0:
            continue  # a description-only line
        account = context.account_for(item.get("AccountID"), item.get("AccountCode"),
                                      f"{where} line {n + 1}")
        _add(net, account, -sign * (amount - tax if inclusive else amount))
        if tax:
            tax_type = str(item.get("TaxType") or "")
            tax_by_type[tax_type] = tax_by_type.get(tax_type, 0) + tax
    total_tax = _minor(record.get("TotalTax"), currency, f"{where} TotalTax")
    difference = total_tax - sum(tax_by_type.values())
    if difference:
        # Tax computed on the document total: the difference belongs to the largest tax
        # (the first of equals), or to the first line's TaxType when no line has tax.
        if tax_by_type:
            largest = max(tax_by_type, key=lambda t: abs(tax_by_type[t]))
        else:
            first = items[0] if items and isinstance(items[0], dict) else {}
            largest = str(first.get("TaxType") or "")
        tax_by_type[largest] = tax_by_type.get(largest, 0) + difference
    for tax_type, amount in tax_by_type.items():
        _add(net, context.tax_for(tax_type), -sign * amount)
    residual = -sum(net.values())
    if residual:
        # Invoice-level rounding of Inclusive amounts: at most a cent or so per line.
        if abs(residual) > max(1, len(items)):
            raise DataMappingError(
                f"{where}: Total does not agree with the lines and tax (off by {residual} "
                "minor units)", details={"where": where, "difference": residual})
        _add(net, context.rounding_account, residual)
    return net


def _invoice(record: dict[str, Any], context: XeroContext, credit: bool) -> SourceTransactionDoc:
    id_field, number_field = ("CreditNoteID", "CreditNoteNumber") if credit \
        else ("InvoiceID", "InvoiceNumber")  # fmt: skip
    record_id = _text(record.get(id_field))
    doc_type = str(record.get("Type") or "").upper()
    kinds = CREDIT_TYPES if credit else INVOICE_TYPES
    label = "credit note" if credit else "invoice"
    if record_id is None or doc_type not in kinds:
        raise DataMappingError(f"Xero {label} without an id or with Type {doc_type!r}",
                               details={"id": record_id, "type": doc_type})
    where = f"Xero {label} {record.get(number_field) or record_id}"
    status = _status(record, where)
    currency = _same_currency(record, context, where)
    receivable = doc_type in ("ACCREC", "ACCRECCREDIT")
    control = context.receivable_account if receivable else context.payable_account
    net = _document_net(record, doc_type, control, context, where) if status == "posted" else {}
    contact = record.get("Contact") if isinstance(record.get("Contact"), dict) else {}
    return _doc(f"{'CreditNote' if credit else 'Invoice'}:{record_id}", kinds[doc_type],
                _text(record.get(number_field)), _date(record, "Date", where), currency,
                _minor(record.get("Total"), currency, f"{where} Total"), status,
                _text(contact.get("ContactID")), _text(record.get("Reference")),
                parse_xero_datetime(record.get("UpdatedDateUTC")), net, context,
                kinds[doc_type].replace("_", " "))  # fmt: skip


def _bank_transaction(record: dict[str, Any], context: XeroContext) -> SourceTransactionDoc:
    record_id = _text(record.get("BankTransactionID"))
    kind = str(record.get("Type") or "").upper()
    if record_id is None:
        raise DataMappingError("Xero bank transaction without a BankTransactionID")
    where = f"Xero bank transaction {record_id}"
    if kind not in BANK_TYPES:
        raise DataMappingError(f"{where}: Type {kind or '(none)'} is not supported (only "
                               "RECEIVE and SPEND; transfers, overpayments and prepayments "
                               "are not)", details={"type": kind})  # fmt: skip
    status = _status(record, where)
    currency = _same_currency(record, context, where)
    net: dict[str, int] = {}
    if status == "posted":
        bank = record.get("BankAccount") if isinstance(record.get("BankAccount"), dict) else {}
        control = context.account_for(bank.get("AccountID"), bank.get("Code"),
                                      f"{where} bank account")
        net = _document_net(record, kind, control, context, where)
    contact = record.get("Contact") if isinstance(record.get("Contact"), dict) else {}
    return _doc(f"BankTransaction:{record_id}", "bank_transaction",
                _text(record.get("Reference")), _date(record, "Date", where), currency,
                _minor(record.get("Total"), currency, f"{where} Total"), status,
                _text(contact.get("ContactID")), _text(record.get("Reference")),
                parse_xero_datetime(record.get("UpdatedDateUTC")), net, context,
                "receive money" if kind == "RECEIVE" else "spend money")  # fmt: skip


def _payment(record: dict[str, Any], context: XeroContext) -> SourceTransactionDoc:
    record_id = _text(record.get("PaymentID"))
    if record_id is None:
        raise DataMappingError("Xero payment without a PaymentID")
    where = f"Xero payment {record_id}"
    invoice = record.get("Invoice") if isinstance(record.get("Invoice"), dict) else None
    credit = record.get("CreditNote") if isinstance(record.get("CreditNote"), dict) else None
    target = invoice or credit or {}
    kind = str(record.get("PaymentType") or "").upper()
    if not kind:
        inferred = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT",
                    "ACCRECCREDIT": "ARCREDITPAYMENT", "ACCPAYCREDIT": "APCREDITPAYMENT"}
        kind = inferred.get(str(target.get("Type") or "").upper(), "")
    if kind not in PAYMENT_TYPES:
        raise DataMappingError(f"{where}: PaymentType {kind or '(none)'} is not supported "
                               "(overpayments and prepayments are not)",
                               details={"paymentType": kind})  # fmt: skip
    status = _status(record, where)
    currency = _same_currency({**record, "CurrencyCode": target.get("CurrencyCode")}, context,
                              where)  # fmt: skip
    amount = _minor(record.get("Amount"), currency, f"{where} Amount")
    net: dict[str, int] = {}
    if status == "posted":
        account = record.get("Account") if isinstance(record.get("Account"), dict) else {}
        bank = context.account_for(account.get("AccountID"), account.get("Code"),
                                   f"{where} bank account")
        bank_in = kind in ("ACCRECPAYMENT", "APCREDITPAYMENT")
        control = context.receivable_account if kind in ("ACCRECPAYMENT", "ARCREDITPAYMENT") \
            else context.payable_account  # fmt: skip
        signed = amount if bank_in else -amount
        _add(net, bank, signed)
        _add(net, control, -signed)
    contact = target.get("Contact") if isinstance(target.get("Contact"), dict) else {}
    number = _text(target.get("InvoiceNumber") or target.get("CreditNoteNumber"))
    return _doc(f"Payment:{record_id}", PAYMENT_TYPES[kind], _text(record.get("Reference")),
                _date(record, "Date", where), currency, amount, status,
                _text(contact.get("ContactID")),
                " ".join(p for p in (_text(record.get("Reference")), number) if p) or None,
                parse_xero_datetime(record.get("UpdatedDateUTC")), net, context,
                PAYMENT_TYPES[kind].replace("_", " "))  # fmt: skip


def _manual_journal(record: dict[str, Any], context: XeroContext) -> SourceTransactionDoc:
    record_id = _text(record.get("ManualJournalID"))
    if record_id is None:
        raise DataMappingError("Xero manual journal without a ManualJournalID")
    where = f"Xero manual journal {record_id}"
    status = _status(record, where)
    currency = context.base_currency
    lat = record.get("LineAmountTypes") or "NoTax"
    lines = record.get("JournalLines")
    if not isinstance(lines, list):
        raise DataMappingError(f"{where} has no JournalLines")
    net: dict[str, int] = {}
    debits = 0
    for n, line in enumerate(lines):
        if not isinstance(line, dict) or line.get("IsBlank"):
            continue
        amount = _minor(line.get("LineAmount"), currency, f"{where} line {n + 1}")
        tax = _minor(line.get("TaxAmount"), currency, f"{where} line {n + 1} tax") \
            if lat != "NoTax" else 0  # fmt: skip
        # The tax takes the line's side (Xero reports it unsigned on some lines).
        tax = -abs(tax) if amount < 0 else abs(tax)
        debits += max(amount, 0)
        if status != "posted" or (amount == 0 and tax == 0):
            continue
        account = context.account_for(line.get("AccountID"), line.get("AccountCode"),
                                      f"{where} line {n + 1}")
        _add(net, account, amount - tax if lat == "Inclusive" else amount)
        _add(net, context.tax_for(_text(line.get("TaxType"))), tax)
    if status == "posted" and sum(net.values()):
        raise DataMappingError(f"{where}: its lines do not balance",
                               details={"difference": sum(net.values())})
    narration = _text(record.get("Narration"))
    return _doc(f"ManualJournal:{record_id}", "manual_journal", None,
                _date(record, "Date", where), currency, debits, status, None, narration,
                parse_xero_datetime(record.get("UpdatedDateUTC")), net, context,
                "manual journal")  # fmt: skip


def _journal(record: dict[str, Any], context: XeroContext) -> SourceTransactionDoc:
    record_id = _text(record.get("JournalID"))
    if record_id is None:
        raise DataMappingError("Xero journal without a JournalID")
    where = f"Xero journal {record.get('JournalNumber') or record_id}"
    currency = context.base_currency
    net: dict[str, int] = {}
    debits = 0
    for n, line in enumerate(record.get("JournalLines") or ()):
        amount = _minor(line.get("NetAmount"), currency, f"{where} line {n + 1}")
        debits += max(amount, 0)
        _add(net, context.account_for(line.get("AccountID"), line.get("AccountCode"),
                                      f"{where} line {n + 1}"), amount)  # fmt: skip
    number = record.get("JournalNumber")
    on = parse_xero_datetime(record.get("JournalDate"))
    if on is None:
        raise DataMappingError(f"{where} has no JournalDate")
    return _doc(f"Journal:{record_id}", "journal", str(number) if number is not None else None,
                on.date(), currency, debits, "posted", None,
                " ".join(p for p in (_text(record.get("SourceType")),
                                     _text(record.get("Reference"))) if p) or None,
                parse_xero_datetime(record.get("CreatedDateUTC")), net, context,
                "journal")  # fmt: skip


_HANDLERS = {
    "invoices": lambda r, c: _invoice(r, c, credit=False),
    "creditnotes": lambda r, c: _invoice(r, c, credit=True),
    "payments": _payment,
    "banktransactions": _bank_transaction,
    "manualjournals": _manual_journal,
    "journals": _journal,
}


def transaction_to_doc(resource: str, record: dict[str, Any],
                       context: XeroContext) -> SourceTransactionDoc:  # fmt: skip
    """One Xero record of `resource` (Invoices, CreditNotes, Payments, BankTransactions,
    ManualJournals or Journals) as a SourceTransactionDoc with its base-currency journal."""
    handler = _HANDLERS.get(resource.replace("_", "").lower())
    if handler is None:
        raise DataMappingError(f"Xero resource {resource!r} has no transaction transform",
                               details={"resource": resource, "supported": sorted(_HANDLERS)})
    if not isinstance(record, dict):
        raise DataMappingError(f"Xero {resource} record is not an object")
    return handler(record, context)
