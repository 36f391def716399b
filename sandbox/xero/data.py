"""A generated Xero organisation: chart, contacts, documents, payments, and Xero's ledger.

Every document that is on the books produces Xero journals the way Xero posts it (below);
the Journals endpoint lists those journals and the Trial Balance report sums them, so the
report agrees with the transactions by construction, as of any date.

How each document posts (signed amounts, debit positive; `d` is +1 for documents whose
control account is debited: sales invoices, supplier credit notes, money received):
* control account (Accounts Receivable, Accounts Payable, or the bank) `d * Total`;
* each line's account `-d * net` (net = LineAmount, less its TaxAmount when Inclusive);
* the tax account `-d * TotalTax` (per TaxType: the lines' tax, with any invoice-level
  rounding difference on the largest one);
* whatever is left (invoice-level tax rounding on Inclusive documents) to 860 Rounding.
Payments: Accounts Receivable/Payable against the bank. Allocating a credit note posts
nothing (both sides are in Accounts Receivable/Payable). Voiding a posted document, or
deleting a payment or bank transaction, adds a reversing journal on the same date. Drafts,
submitted and deleted (never approved) documents post nothing.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bigledger.money import currency_exponent
from sandbox.xero.chart import (
    BILL_CODES,
    CHART,
    REVENUE_CODES,
    SPEND_CODES,
    TAX_ACCOUNT,
    TYPE_CLASS,
    AccountSpec,
    TaxProfile,
    tax_profile,
    tax_rates,
)
from sandbox.xero.config import XeroSandboxConfig

_NAMESPACE = uuid.UUID("6f1d3a52-63c4-4d0a-9b7e-0a5e4b1c2d3e")
ZERO = Decimal(0)
HUNDRED = Decimal(100)

SALES_LIKE = frozenset({"ACCREC", "ACCPAYCREDIT", "RECEIVE"})
SOURCE_TYPES = {"ACCREC": "ACCREC", "ACCPAY": "ACCPAY", "ACCRECCREDIT": "ACCRECCREDIT",
                "ACCPAYCREDIT": "ACCPAYCREDIT", "RECEIVE": "CASHREC", "SPEND": "CASHPAID"}
ORG_NAMES = ("Harbourside Trading Ltd", "Southern Cross Supplies Pty Ltd")

_COMPANY_A = ("Acme", "Blue", "Cedar", "Delta", "Evergreen", "Fern", "Granite", "Harbour",
              "Iron", "Juniper", "Kauri", "Lumen", "Maple", "Nimbus", "Orchid", "Pioneer")
_COMPANY_B = ("Bakery", "Builders", "Cafe", "Consulting", "Design", "Electrical", "Foods",
              "Garden", "Hardware", "Logistics", "Media", "Motors", "Plumbing", "Studio")
_COMPANY_C = ("Ltd", "Limited", "& Co", "Group", "Partners", "Co")
_FIRST = ("Aroha", "Ben", "Chloe", "Daniel", "Ella", "Finn", "Grace", "Hemi", "Isla", "Jack",
          "Kiri", "Liam", "Mia", "Noah", "Olivia", "Priya", "Sam", "Tama", "Zoe")
_LAST = ("Anderson", "Brown", "Chen", "Davies", "Edwards", "Fletcher", "Green", "Harris",
         "Ngata", "Patel", "Robinson", "Smith", "Taylor", "Walker", "Wilson", "Young")
_STREETS = ("Queen Street", "High Street", "Victoria Road", "Station Road", "Beach Road",
            "Hill Street", "Park Avenue", "Church Lane")
_CITIES = {"NZ": (("Auckland", "Auckland", "1010"), ("Wellington", "Wellington", "6011"),
                  ("Christchurch", "Canterbury", "8011")),
           "AU": (("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000"),
                  ("Brisbane", "QLD", "4000"))}
_DEFAULT_CITIES = (("Capital City", "Central", "10001"), ("Port Town", "Coast", "20002"))
COUNTRY_NAMES = {"NZ": "New Zealand", "AU": "Australia", "GB": "United Kingdom",
                  "US": "United States", "MY": "Malaysia", "SG": "Singapore"}
PHONE_CODES = {"NZ": "64", "AU": "61", "GB": "44", "US": "1", "MY": "60", "SG": "65"}


def stable_id(*parts: Any) -> str:
    """A deterministic UUID (as Xero formats ids) from the given parts."""
    return str(uuid.uuid5(_NAMESPACE, ":".join(str(p) for p in parts)))


@dataclass
class Account:
    """One account of the organisation's chart."""

    id: str
    code: str
    name: str
    type: str
    status: str
    system: str | None
    tax_type: str
    description: str
    bank_number: str | None
    currency: str | None
    updated: datetime

    @property
    def account_class(self) -> str:
        """Xero's Class for the Type."""
        return TYPE_CLASS[self.type]


@dataclass
class Contact:
    """A customer, supplier or both."""

    id: str
    number: str
    name: str
    first: str
    last: str
    email: str
    is_customer: bool
    is_supplier: bool
    status: str
    city: tuple[str, str, str]
    street: str
    phone: str
    tax_number: str
    sales_terms: tuple[int, str] | None
    bill_terms: tuple[int, str] | None
    updated: datetime
    ar_outstanding: Decimal = ZERO
    ar_overdue: Decimal = ZERO
    ap_outstanding: Decimal = ZERO
    ap_overdue: Decimal = ZERO


@dataclass
class Line:
    """A line item of an invoice, credit note or bank transaction."""

    id: str
    description: str
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None
    account_code: str
    tax_type: str
    line_amount: Decimal
    tax_amount: Decimal


@dataclass
class Allocation:
    """Part of a credit note applied to an invoice or bill."""

    id: str
    amount: Decimal
    on: date
    invoice: Doc


@dataclass
class Payment:
    """Money received or paid against an invoice, bill or credit note."""

    id: str
    on: date
    amount: Decimal
    bank_code: str
    payment_type: str
    reference: str
    reconciled: bool
    created: datetime
    invoice: Doc | None = None
    credit_note: Doc | None = None
    status: str = "AUTHORISED"
    updated: datetime | None = None


@dataclass
class Doc:
    """An invoice (ACCREC/ACCPAY), credit note (ACCRECCREDIT/ACCPAYCREDIT) or bank
    transaction (RECEIVE/SPEND), with Xero's computed totals."""

    kind: str  # invoice | creditnote | banktxn
    id: str
    type: str
    number: str
    reference: str
    contact: Contact | None
    on: date
    due: date | None
    status: str
    line_amount_types: str
    lines: list[Line]
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    created: datetime
    updated: datetime
    bank_code: str | None = None
    invoice_level_tax: bool = False
    amount_paid: Decimal = ZERO
    amount_credited: Decimal = ZERO
    payments: list[Payment] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    credit_notes: list[Doc] = field(default_factory=list)  # credit notes allocated to it
    fully_paid_on: date | None = None
    reconciled: bool = False

    @property
    def amount_due(self) -> Decimal:
        """What is still owed on an invoice (Total less payments and credits)."""
        return self.total - self.amount_paid - self.amount_credited

    @property
    def remaining_credit(self) -> Decimal:
        """What is left of a credit note after allocations and refunds."""
        return self.total - self.amount_credited - self.amount_paid


@dataclass
class JournalLineSpec:
    """One line of a manual journal (LineAmount: debit positive, credit negative)."""

    description: str
    account_code: str
    line_amount: Decimal
    tax_type: str = "NONE"
    tax_amount: Decimal = ZERO


@dataclass
class ManualJournal:
    """A manual journal as entered (lines balance, tax included per LineAmountTypes)."""

    id: str
    narration: str
    on: date
    status: str
    line_amount_types: str
    lines: list[JournalLineSpec]
    created: datetime
    updated: datetime


@dataclass
class Posting:
    """One line of a Xero journal: signed net (debit +), its tax, on one account."""

    account_code: str
    net: Decimal
    tax: Decimal = ZERO
    tax_type: str | None = None
    description: str = ""


@dataclass
class Journal:
    """One entry of Xero's ledger (GET /Journals)."""

    id: str
    number: int
    on: date
    created: datetime
    source_id: str
    source_type: str
    reference: str
    lines: list[Posting]


@dataclass
class _Event:
    on: date
    created: datetime
    seq: int
    source_id: str
    source_type: str
    reference: str
    lines: list[Posting]


class Organisation:
    """One tenant: everything it holds, generated from the config and its position."""

    def __init__(self, config: XeroSandboxConfig, index: int) -> None:
        self.config = config
        self.index = index
        self.currency = config.base_currency if index == 0 else config.second_base_currency
        self.size = config.size if index == 0 else config.size // 2
        self.tax: TaxProfile = tax_profile(self.currency)
        self.quantum = Decimal(1).scaleb(-currency_exponent(self.currency))
        self.tenant_id = stable_id("tenant", config.seed, index)
        self.name = ORG_NAMES[index % len(ORG_NAMES)]
        self.start = config.start.date()
        self.end = self.start + timedelta(days=config.days)  # exclusive
        self.created = datetime.combine(self.start - timedelta(days=45), time(9), UTC)
        self._rng = random.Random(f"xero:{config.seed}:{index}:{self.currency}:"
                                  f"{self.start}:{config.days}:{self.size}")  # fmt: skip
        self._seq = 0
        self._events: list[_Event] = []
        self.accounts: list[Account] = []
        self.contacts: list[Contact] = []
        self.invoices: list[Doc] = []
        self.credit_notes: list[Doc] = []
        self.bank_transactions: list[Doc] = []
        self.payments: list[Payment] = []
        self.manual_journals: list[ManualJournal] = []
        self.journals: list[Journal] = []
        self._build()

    # ---- lookups -------------------------------------------------------------------------

    @property
    def rate(self) -> Decimal:
        """The standard tax rate in percent."""
        return self.tax.rate

    def account(self, code: str) -> Account:
        """The account with this code."""
        return self._by_code[code]

    def find_account(self, code: str) -> Account | None:
        """The account with this code, if any."""
        return self._by_code.get(code)

    def account_by_id(self, account_id: str) -> Account | None:
        """The account with this AccountID, if any."""
        return self._by_id.get(account_id.lower())

    def system_account(self, flag: str) -> Account:
        """The account carrying this SystemAccount flag (DEBTORS, CREDITORS, GST ...)."""
        return next(a for a in self.accounts if a.system == flag)

    def tax_rate_of(self, tax_type: str) -> Decimal:
        """Percent rate of a TaxType (0 for zero-rated, exempt and NONE)."""
        return self.rate if tax_type in (self.tax.output_type, self.tax.input_type) else ZERO

    def tax_rates(self) -> list[dict[str, Any]]:
        """The organisation's TaxRates."""
        return tax_rates(self.tax)

    def q(self, value: Decimal) -> Decimal:
        """Round to the currency's minor unit, half away from zero as Xero does."""
        return value.quantize(self.quantum, rounding=ROUND_HALF_UP)

    # ---- generation ----------------------------------------------------------------------

    def _build(self) -> None:
        self._make_accounts()
        self._make_contacts()
        self._make_opening()
        self._make_sales()
        self._make_bills()
        self._make_bank_activity()
        self._make_manual_journals()
        self._number_journals()
        self._set_balances()

    def _stamp(self, on: date, minutes: int = 0) -> datetime:
        self._seq += 1
        return datetime.combine(on, time(9), UTC) + timedelta(minutes=minutes, seconds=self._seq)

    def _make_accounts(self) -> None:
        updated = self.created
        for spec in CHART:
            name = self.tax.name if spec.name == TAX_ACCOUNT else spec.name
            self.accounts.append(Account(
                id=stable_id(self.tenant_id, "account", spec.code), code=spec.code, name=name,
                type=spec.type, status=spec.status, system=spec.system,
                tax_type=self._default_tax(spec), description=spec.description,
                bank_number=spec.bank_number,
                currency=self.currency if spec.type == "BANK" else None, updated=updated,
            ))  # fmt: skip
        self._by_code = {a.code: a for a in self.accounts}
        self._by_id = {a.id: a for a in self.accounts}

    def _default_tax(self, spec: AccountSpec) -> str:
        if spec.tax == "output":
            return self.tax.output_type
        if spec.tax == "input":
            return self.tax.input_type
        if spec.tax == "exempt":
            return "EXEMPTOUTPUT"
        return "NONE"

    def _make_contacts(self) -> None:
        rng = self._rng
        customers = max(4, self.size // 5)
        suppliers = max(3, self.size // 10)
        cities = _CITIES.get(self.tax.country, _DEFAULT_CITIES)
        used: set[str] = set()
        for n in range(customers + suppliers):
            name = f"{rng.choice(_COMPANY_A)} {rng.choice(_COMPANY_B)} {rng.choice(_COMPANY_C)}"
            if name in used:  # Xero contact names are unique; the word lists run out
                name = f"{name} {n + 1}"
            used.add(name)
            is_customer = n < customers
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            slug = "".join(ch for ch in name.lower() if ch.isalnum())[:18]
            self.contacts.append(Contact(
                id=stable_id(self.tenant_id, "contact", n), number=f"C{n + 1:04d}", name=name,
                first=first, last=last, email=f"{first.lower()}@{slug}.example",
                is_customer=is_customer,
                # The first supplier also buys from us: one contact is both.
                is_supplier=not is_customer or n == customers - 1,
                status="ACTIVE", city=rng.choice(cities),
                street=f"{rng.randint(1, 400)} {rng.choice(_STREETS)}",
                phone=f"{rng.randint(200, 999)} {rng.randint(1000, 9999)}",
                tax_number=f"{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(100, 999)}",
                sales_terms=rng.choice(((20, "OFFOLLOWINGMONTH"), (30, "DAYSAFTERBILLDATE"),
                                        (14, "DAYSAFTERBILLDATE"))) if is_customer else None,
                bill_terms=None if is_customer else rng.choice(((30, "DAYSAFTERBILLDATE"),
                                                                (20, "OFFOLLOWINGMONTH"))),
                updated=self.created + timedelta(minutes=n),
            ))  # fmt: skip
        # One customer is archived (still with history): lists omit it unless includeArchived.
        self.contacts[1].status = "ARCHIVED"
        self.customers = [c for c in self.contacts if c.is_customer]
        self.suppliers = [c for c in self.contacts if c.is_supplier]

    # ---- documents ----------------------------------------------------------------------

    def _money(self, low_minor: int, high_minor: int) -> Decimal:
        return Decimal(self._rng.randint(low_minor, high_minor)).scaleb(
            -currency_exponent(self.currency)).quantize(self.quantum)

    def _line(self, doc_id: str, k: int, code: str, lat: str, sales: bool,
              amount: Decimal | None = None) -> Line:  # fmt: skip
        rng = self._rng
        spec_tax = self.account(code).tax_type
        if lat == "NoTax":
            tax_type = "NONE"
        elif sales:
            tax_type = self.tax.output_type if rng.random() < 0.9 else "ZERORATEDOUTPUT"
            if spec_tax in ("EXEMPTOUTPUT", "NONE"):
                tax_type = spec_tax
        else:
            tax_type = self.tax.input_type if spec_tax == self.tax.input_type else "NONE"
        if amount is None:
            quantity = rng.choice((Decimal(1), Decimal(1), Decimal(2), Decimal(3), Decimal(5),
                                   Decimal("1.5"), Decimal("0.25"), Decimal(12)))  # fmt: skip
            unit = self._money(150, 250_000)
            discount = rng.choice((None,) * 7 + (Decimal(5), Decimal(10), Decimal("12.5")))
        else:
            quantity, unit, discount = Decimal(1), amount, None
        gross = quantity * unit
        if discount is not None:
            gross = gross * (HUNDRED - discount) / HUNDRED
        line_amount = self.q(gross)
        rate = self.tax_rate_of(tax_type)
        if lat == "Inclusive":
            tax = self.q(line_amount * rate / (HUNDRED + rate))
        elif lat == "Exclusive":
            tax = self.q(line_amount * rate / HUNDRED)
        else:
            tax = ZERO
        return Line(id=stable_id(doc_id, "line", k), description=self.account(code).name,
                    quantity=quantity, unit_amount=unit, discount_rate=discount,
                    account_code=code, tax_type=tax_type, line_amount=line_amount,
                    tax_amount=tax)  # fmt: skip

    def compute_totals(self, doc: Doc) -> None:
        """SubTotal, TotalTax and Total of a document from its lines (tax per line, or on
        the total when `invoice_level_tax` and the taxed lines share one TaxType)."""
        lines, lat = doc.lines, doc.line_amount_types
        line_tax = sum((ln.tax_amount for ln in lines), ZERO)
        amounts = sum((ln.line_amount for ln in lines), ZERO)
        taxed = {ln.tax_type for ln in lines if self.tax_rate_of(ln.tax_type)}
        if doc.invoice_level_tax and len(taxed) == 1 and lat != "NoTax":
            # Tax computed once on the document total ("round tax at invoice level").
            rate = self.tax_rate_of(next(iter(taxed)))
            base = sum((ln.line_amount for ln in lines if ln.tax_type in taxed), ZERO)
            divisor = HUNDRED + rate if lat == "Inclusive" else HUNDRED
            total_tax = self.q(base * rate / divisor)
        else:
            doc.invoice_level_tax = False
            total_tax = line_tax
        if lat == "Inclusive":
            doc.total, doc.sub_total = amounts, amounts - total_tax
        else:
            doc.sub_total, doc.total = amounts, amounts + total_tax
        doc.total_tax = total_tax

    def _new_doc(self, kind: str, doc_type: str, number: str, contact: Contact | None,
                 on: date, lat: str, codes: tuple[str, ...], *, n_lines: int | None = None,
                 status: str = "AUTHORISED", bank_code: str | None = None,
                 fixed: list[tuple[str, Decimal]] | None = None,
                 doc_id: str | None = None) -> Doc:  # fmt: skip
        rng = self._rng
        doc_id = doc_id or stable_id(self.tenant_id, kind, number)
        sales = doc_type in ("ACCREC", "ACCRECCREDIT", "RECEIVE")
        if fixed is not None:
            lines = [self._line(doc_id, k, code, lat, sales, amount)
                     for k, (code, amount) in enumerate(fixed)]
        else:
            count = n_lines or rng.choice((1, 1, 2, 2, 3, 4))
            lines = [self._line(doc_id, k, rng.choice(codes), lat, sales) for k in range(count)]
        created = self._stamp(on)
        doc = Doc(kind=kind, id=doc_id, type=doc_type, number=number,
                  reference=f"REF-{rng.randint(1000, 99999)}" if rng.random() < 0.6 else "",
                  contact=contact, on=on, due=self._due(contact, on, doc_type), status=status,
                  line_amount_types=lat, lines=lines, sub_total=ZERO, total_tax=ZERO,
                  total=ZERO, created=created, updated=created, bank_code=bank_code,
                  invoice_level_tax=lat == "Inclusive" and rng.random() < 0.5)  # fmt: skip
        self.compute_totals(doc)
        return doc

    def _due(self, contact: Contact | None, on: date, doc_type: str) -> date | None:
        if contact is None or doc_type not in ("ACCREC", "ACCPAY"):
            return None
        terms = contact.sales_terms if doc_type == "ACCREC" else contact.bill_terms
        day, kind = terms or (30, "DAYSAFTERBILLDATE")
        if kind == "DAYSAFTERBILLDATE":
            return on + timedelta(days=day)
        following = (on.replace(day=1) + timedelta(days=32)).replace(day=1)
        return following.replace(day=min(day, 28))

    def _lat(self) -> str:
        roll = self._rng.random()
        return "Exclusive" if roll < 0.6 else "Inclusive" if roll < 0.9 else "NoTax"

    def _post_doc(self, doc: Doc, *, voided: bool = False) -> None:
        """Record the journal of a document (and its reversal the same day when voided)."""
        lines = doc_postings(self, doc)
        source_type = SOURCE_TYPES[doc.type]
        self._event(doc.on, doc.created, doc.id, source_type, doc.number or doc.reference,
                    lines)
        if voided:
            at = doc.created + timedelta(hours=2)
            self._event(doc.on, at, doc.id, source_type, doc.number or doc.reference,
                        reverse(lines))
            doc.updated = at

    def _event(self, on: date, created: datetime, source_id: str, source_type: str,
               reference: str, lines: list[Posting]) -> None:  # fmt: skip
        self._seq += 1
        self._events.append(_Event(on, created, self._seq, source_id, source_type, reference,
                                   lines))  # fmt: skip

    def _bank(self) -> str:
        return "090" if self._rng.random() < 0.85 else "091"

    def _pay(self, doc: Doc, amount: Decimal, on: date, *, deleted: bool = False) -> Payment:
        """A payment of `amount` against an invoice/bill (or a refund of a credit note)."""
        kinds = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT",
                 "ACCRECCREDIT": "ARCREDITPAYMENT", "ACCPAYCREDIT": "APCREDITPAYMENT"}
        created = self._stamp(on, 60)
        payment = Payment(id=stable_id(self.tenant_id, "payment", len(self.payments)), on=on,
                          amount=amount, bank_code=self._bank(), payment_type=kinds[doc.type],
                          reference=f"PMT-{len(self.payments) + 1:05d}",
                          reconciled=self._rng.random() < 0.8, created=created,
                          updated=created)  # fmt: skip
        if doc.kind == "invoice":
            payment.invoice = doc
        else:
            payment.credit_note = doc
        self.payments.append(payment)
        lines = payment_postings(self, payment)
        self._event(on, created, payment.id, payment.payment_type, payment.reference, lines)
        if deleted:
            payment.status = "DELETED"
            payment.updated = created + timedelta(hours=1)
            self._event(on, payment.updated, payment.id, payment.payment_type,
                        payment.reference, reverse(lines))
            return payment
        doc.payments.append(payment)
        doc.amount_paid += amount
        doc.updated = max(doc.updated, created)
        if doc.kind == "invoice" and doc.amount_due == 0:
            doc.status, doc.fully_paid_on = "PAID", on
        elif doc.kind == "creditnote" and doc.remaining_credit == 0:
            doc.status = "PAID"
        return payment

    def _allocate(self, credit: Doc, invoice: Doc, amount: Decimal, on: date) -> None:
        credit.allocations.append(Allocation(stable_id(credit.id, "allocation", invoice.id),
                                             amount, on, invoice))  # fmt: skip
        credit.amount_credited += amount
        invoice.amount_credited += amount
        invoice.credit_notes.append(credit)
        moment = self._stamp(on, 30)
        credit.updated = max(credit.updated, moment)
        invoice.updated = max(invoice.updated, moment)
        if credit.remaining_credit == 0:
            credit.status = "PAID"
        if invoice.amount_due == 0:
            invoice.status, invoice.fully_paid_on = "PAID", on

    def _when(self, on: date, low: int, high: int) -> date | None:
        later = on + timedelta(days=self._rng.randint(low, high))
        return later if later < self.end else None

    def _make_opening(self) -> None:
        """Day one: share capital and a loan into the bank, equipment brought in."""
        for n, (code, amount, reference) in enumerate((
                ("970", self._money(5_000_000, 5_000_000), "Share capital"),
                ("900", self._money(3_000_000, 3_000_000), "Loan drawdown"))):
            doc = self._new_doc("banktxn", "RECEIVE", "", None, self.start, "NoTax", (),
                                bank_code="090", fixed=[(code, amount)],
                                doc_id=stable_id(self.tenant_id, "banktxn-opening", n))
            doc.reference = reference
            self.bank_transactions.append(doc)
            self._post_doc(doc)
        self._manual("Opening balances: office equipment", self.start, "POSTED", "NoTax", [
            JournalLineSpec("Office equipment at cost", "710", self._money(1_200_000, 1_200_000)),
            JournalLineSpec("Accumulated depreciation", "711", -self._money(200_000, 200_000)),
            JournalLineSpec("Introduced by owner", "881", -self._money(1_000_000, 1_000_000)),
        ])  # fmt: skip

    def _make_sales(self) -> None:
        rng = self._rng
        days = self.config.days
        size = self.size
        for i in range(size):
            on = self.start + timedelta(days=i * days // max(size, 1))
            contact = rng.choice(self.customers)
            number = f"INV-{i + 1:04d}"
            roll = rng.random()
            status = ("DELETED" if roll < 0.03 else "DRAFT" if roll < 0.07 else
                      "SUBMITTED" if roll < 0.09 else "VOIDED" if roll < 0.13 else "AUTHORISED")
            doc = self._new_doc("invoice", "ACCREC", number, contact, on, self._lat(),
                                REVENUE_CODES, status=status)  # fmt: skip
            self.invoices.append(doc)
            if status in ("DELETED", "DRAFT", "SUBMITTED"):
                if status == "DELETED":
                    doc.updated = doc.created + timedelta(hours=3)
                continue
            if status == "VOIDED":
                self._post_doc(doc, voided=True)
                continue
            self._post_doc(doc)
            self._settle(doc, customers=True)
        # Credit notes on no invoice: some left open, some refunded in cash.
        for k in range(max(2, size // 25)):
            on = self.start + timedelta(days=rng.randint(0, days - 1))
            credit = self._new_doc("creditnote", "ACCRECCREDIT", f"CN-S{k + 1:04d}",
                                   rng.choice(self.customers), on, self._lat(), REVENUE_CODES,
                                   n_lines=1)  # fmt: skip
            self.credit_notes.append(credit)
            if k == 0:
                credit.status = "VOIDED"
                self._post_doc(credit, voided=True)
                continue
            self._post_doc(credit)
            refund_on = self._when(on, 2, 20) if k % 2 else None
            if refund_on is not None:
                self._pay(credit, credit.total, refund_on)

    def _settle(self, doc: Doc, *, customers: bool) -> None:
        """What happens to an approved invoice or bill after it is issued."""
        rng = self._rng
        roll = rng.random()
        credit_type = "ACCRECCREDIT" if customers else "ACCPAYCREDIT"
        if roll < (0.10 if customers else 0.06):
            # A credit note: a full cancellation now and then, usually a partial one.
            on = self._when(doc.on, 1, 10)
            if on is None:
                return
            full = rng.random() < 0.2
            prefix = "CN" if customers else "SCN"
            number = f"{prefix}-{len(self.credit_notes) + 1:04d}"
            if full:
                credit = self._copy_as_credit(doc, credit_type, number, on)
            else:
                share = Decimal(rng.randint(10, 40)) / HUNDRED
                first = doc.lines[0]
                amount = self.q(first.line_amount * share)
                if amount <= 0:
                    return
                credit = self._new_doc("creditnote", credit_type, number, doc.contact, on,
                                       doc.line_amount_types, (),
                                       fixed=[(first.account_code, amount)])  # fmt: skip
                credit.lines[0].tax_type = first.tax_type
                credit.lines[0].tax_amount = self.tax_of(amount, first.tax_type,
                                                          doc.line_amount_types)  # fmt: skip
                self.compute_totals(credit)
            if credit.total <= 0 or credit.total > doc.amount_due:
                return
            self.credit_notes.append(credit)
            self._post_doc(credit)
            self._allocate(credit, doc, credit.total, on)
            if doc.amount_due > 0 and (pay_on := self._when(on, 3, 40)) is not None:
                self._pay(doc, doc.amount_due, pay_on)
        elif roll < 0.70:
            pay_on = self._when(doc.on, 3, 45)
            if pay_on is None:
                return
            if rng.random() < 0.05:
                # Entered, then deleted (e.g. against the wrong invoice): posted and reversed.
                self._pay(doc, doc.amount_due, pay_on, deleted=True)
            self._pay(doc, doc.amount_due, pay_on)
        elif roll < 0.82:
            first_on = self._when(doc.on, 3, 30)
            if first_on is None:
                return
            part = self.q(doc.total * Decimal(rng.randint(30, 70)) / HUNDRED)
            if 0 < part < doc.amount_due:
                self._pay(doc, part, first_on)
            if rng.random() < 0.6 and (second := self._when(first_on, 5, 30)) is not None:
                self._pay(doc, doc.amount_due, second)

    def tax_of(self, amount: Decimal, tax_type: str, lat: str) -> Decimal:
        """The tax in (Inclusive) or on (Exclusive) a line amount."""
        rate = self.tax_rate_of(tax_type)
        if lat == "Inclusive":
            return self.q(amount * rate / (HUNDRED + rate))
        if lat == "Exclusive":
            return self.q(amount * rate / HUNDRED)
        return ZERO

    def _copy_as_credit(self, doc: Doc, credit_type: str, number: str, on: date) -> Doc:
        credit_id = stable_id(self.tenant_id, "creditnote", number)
        lines = [Line(id=stable_id(credit_id, "line", k), description=ln.description,
                      quantity=ln.quantity, unit_amount=ln.unit_amount,
                      discount_rate=ln.discount_rate, account_code=ln.account_code,
                      tax_type=ln.tax_type, line_amount=ln.line_amount,
                      tax_amount=ln.tax_amount) for k, ln in enumerate(doc.lines)]  # fmt: skip
        created = self._stamp(on)
        credit = Doc(kind="creditnote", id=credit_id, type=credit_type, number=number,
                     reference=f"Cancels {doc.number}", contact=doc.contact, on=on, due=None,
                     status="AUTHORISED", line_amount_types=doc.line_amount_types, lines=lines,
                     sub_total=ZERO, total_tax=ZERO, total=ZERO, created=created,
                     updated=created, invoice_level_tax=doc.invoice_level_tax)  # fmt: skip
        self.compute_totals(credit)
        return credit

    def _make_bills(self) -> None:
        rng = self._rng
        days = self.config.days
        count = self.size // 2
        for i in range(count):
            on = self.start + timedelta(days=i * days // max(count, 1))
            supplier = rng.choice(self.suppliers)
            roll = rng.random()
            status = ("DELETED" if roll < 0.02 else "DRAFT" if roll < 0.05 else
                      "VOIDED" if roll < 0.08 else "AUTHORISED")
            doc = self._new_doc("invoice", "ACCPAY", f"SUP-{rng.randint(10000, 99999)}-{i}",
                                supplier, on, self._lat(), BILL_CODES, status=status,
                                doc_id=stable_id(self.tenant_id, "bill", i))
            self.invoices.append(doc)
            if status in ("DELETED", "DRAFT"):
                continue
            if status == "VOIDED":
                self._post_doc(doc, voided=True)
                continue
            self._post_doc(doc)
            self._settle(doc, customers=False)
        # A supplier credit note refunded in cash.
        on = self.start + timedelta(days=min(days - 1, 10))
        credit = self._new_doc("creditnote", "ACCPAYCREDIT", "SCN-REFUND", self.suppliers[0],
                               on, "Exclusive", ("429",), n_lines=1)  # fmt: skip
        self.credit_notes.append(credit)
        self._post_doc(credit)
        if (refund_on := self._when(on, 3, 15)) is not None:
            self._pay(credit, credit.total, refund_on)

    def _make_bank_activity(self) -> None:
        rng = self._rng
        days = self.config.days
        count = max(4, self.size // 3)
        for i in range(count):
            on = self.start + timedelta(days=rng.randint(0, days - 1))
            spend = rng.random() < 0.7
            doc = self._new_doc("banktxn", "SPEND" if spend else "RECEIVE", "",
                                rng.choice(self.suppliers if spend else self.customers)
                                if rng.random() < 0.7 else None, on, self._lat(),
                                SPEND_CODES if spend else ("260", "270"),
                                bank_code=self._bank(),
                                doc_id=stable_id(self.tenant_id, "banktxn", i))  # fmt: skip
            doc.reconciled = rng.random() < 0.8
            self.bank_transactions.append(doc)
            if i % 29 == 7:
                doc.status = "DELETED"
                self._post_doc(doc, voided=True)
            else:
                self._post_doc(doc)
        # Payroll: a monthly accrual journal, paid from the bank the next day.
        for month, on in enumerate(self._month_ends()):
            gross = self._money(800_000, 1_000_000)
            withheld = self.q(gross * Decimal("0.2"))
            self._manual(f"Payroll accrual month {month + 1}", on, "POSTED", "NoTax", [
                JournalLineSpec("Gross wages", "477", gross),
                JournalLineSpec("PAYG withheld", "826", -withheld),
                JournalLineSpec("Net wages payable", "814", -(gross - withheld)),
            ])  # fmt: skip
            pay_on = on + timedelta(days=1)
            if pay_on < self.end:
                wages = self._new_doc("banktxn", "SPEND", "", None, pay_on, "NoTax", (),
                                      bank_code="090", fixed=[("814", gross - withheld)],
                                      doc_id=stable_id(self.tenant_id, "banktxn-wages", month))
                wages.reference = f"Wages month {month + 1}"
                self.bank_transactions.append(wages)
                self._post_doc(wages)

    def _month_ends(self) -> list[date]:
        return [self.start + timedelta(days=30 * (m + 1) - 1)
                for m in range(self.config.days // 30)]  # fmt: skip

    def _manual(self, narration: str, on: date, status: str, lat: str,
                lines: list[JournalLineSpec]) -> ManualJournal:  # fmt: skip
        created = self._stamp(on, 120)
        journal = ManualJournal(stable_id(self.tenant_id, "manualjournal",
                                          len(self.manual_journals)), narration, on, status,
                                lat, lines, created, created)  # fmt: skip
        self.manual_journals.append(journal)
        if status in ("POSTED", "VOIDED"):
            postings = manual_postings(self, journal)
            self._event(on, created, journal.id, "MANJOURNAL", narration, postings)
            if status == "VOIDED":
                journal.updated = created + timedelta(hours=1)
                self._event(on, journal.updated, journal.id, "MANJOURNAL", narration,
                            reverse(postings))
        return journal

    def _make_manual_journals(self) -> None:
        for month, on in enumerate(self._month_ends()):
            self._manual(f"Depreciation month {month + 1}", on, "POSTED", "NoTax", [
                JournalLineSpec("Depreciation", "416", self._money(20_000, 20_000)),
                JournalLineSpec("Accumulated depreciation", "711", -self._money(20_000, 20_000)),
            ])  # fmt: skip
        middle = self.start + timedelta(days=self.config.days // 2)
        gross = self._money(11_500, 11_500)
        tax = self.tax_of(gross, self.tax.input_type, "Inclusive")
        self._manual("Client lunch reclassified from suspense", middle, "POSTED", "Inclusive", [
            JournalLineSpec("Client lunch", "420", gross, self.tax.input_type, tax),
            JournalLineSpec("Suspense cleared", "850", -gross),
        ])  # fmt: skip
        lines = [JournalLineSpec("Accrued rent", "469", self._money(150_000, 150_000)),
                 JournalLineSpec("Accrued rent", "850", -self._money(150_000, 150_000))]
        self._manual("Rent accrual (draft)", middle, "DRAFT", "NoTax", lines)
        self._manual("Rent accrual (deleted)", middle, "DELETED", "NoTax", lines)
        self._manual("Rent accrual (voided)", middle, "VOIDED", "NoTax", lines)

    def _number_journals(self) -> None:
        self._events.sort(key=lambda e: (e.on, e.created, e.seq))
        for number, event in enumerate(self._events, start=1):
            self.journals.append(Journal(stable_id(self.tenant_id, "journal", number), number,
                                         event.on, event.created, event.source_id,
                                         event.source_type, event.reference, event.lines))
        self._events.clear()

    def post_new(self, doc: Doc) -> None:
        """Record a document created through the API (journal appended when approved)."""
        self.invoices.append(doc)
        if doc.status == "AUTHORISED":
            self.add_journal(doc.on, doc.created, doc.id, SOURCE_TYPES[doc.type],
                             doc.number or doc.reference, doc_postings(self, doc))

    def add_journal(self, on: date, created: datetime, source_id: str, source_type: str,
                    reference: str, lines: list[Posting]) -> Journal:  # fmt: skip
        """Append a journal for a document posted through the API."""
        journal = Journal(stable_id(self.tenant_id, "journal", len(self.journals) + 1),
                          len(self.journals) + 1, on, created, source_id, source_type,
                          reference, lines)  # fmt: skip
        self.journals.append(journal)
        return journal

    def _set_balances(self) -> None:
        """Contact Balances from the open documents, as of the end of the data."""
        for contact in self.contacts:
            contact.ar_outstanding = contact.ar_overdue = ZERO
            contact.ap_outstanding = contact.ap_overdue = ZERO
        for doc in self.invoices + self.credit_notes:
            if doc.status not in ("AUTHORISED", "PAID") or doc.contact is None:
                continue
            contact = doc.contact
            if doc.type in ("ACCREC", "ACCPAY"):
                open_amount = doc.amount_due
                overdue = open_amount if doc.due is not None and doc.due < self.end else ZERO
            else:
                open_amount, overdue = -doc.remaining_credit, ZERO
            if doc.type in ("ACCREC", "ACCRECCREDIT"):
                contact.ar_outstanding += open_amount
                contact.ar_overdue += overdue
            else:
                contact.ap_outstanding += open_amount
                contact.ap_overdue += overdue

    def refresh_balances(self) -> None:
        """Recompute contact balances (after documents were added through the API)."""
        self._set_balances()

    # ---- the ledger -----------------------------------------------------------------------

    def financial_year_start(self, as_of: date) -> date:
        """First day of the financial year containing `as_of`."""
        month, day = self.config.financial_year_end_month, self.config.financial_year_end_day
        end = _year_end(as_of.year, month, day)
        if as_of > end:
            return end + timedelta(days=1)
        return _year_end(as_of.year - 1, month, day) + timedelta(days=1)

    def balances(self, as_of: date) -> dict[str, tuple[Decimal, Decimal]]:
        """Per account code: (balance shown in the Trial Balance's YTD columns, movement in
        the month of `as_of`), both as net debits.

        Balance-sheet accounts: every posting up to `as_of`. Profit and loss accounts: the
        postings of the financial year to date; earlier years' profit or loss rolls into
        Retained Earnings (the report does this; no journal does).
        """
        year_start = self.financial_year_start(as_of)
        month_start = as_of.replace(day=1)
        retained = self.system_account("RETAINEDEARNINGS").code
        ytd: dict[str, Decimal] = defaultdict(Decimal)
        month: dict[str, Decimal] = defaultdict(Decimal)
        for journal in self.journals:
            if journal.on > as_of:
                continue
            for line in journal.lines:
                code = line.account_code
                pnl = self.account(code).account_class in ("REVENUE", "EXPENSE")
                if pnl and journal.on < year_start:
                    ytd[retained] += line.net
                else:
                    ytd[code] += line.net
                if journal.on >= month_start:
                    month[code] += line.net
        codes = sorted(set(ytd) | set(month))
        return {code: (ytd.get(code, ZERO), month.get(code, ZERO)) for code in codes
                if ytd.get(code, ZERO) or month.get(code, ZERO)}

    def summary(self) -> dict[str, Any]:
        """Counts per kind and status (for the stats endpoint and the README)."""
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for doc in self.invoices:
            counts[doc.type][doc.status] += 1
        for doc in self.credit_notes:
            counts[doc.type][doc.status] += 1
        for doc in self.bank_transactions:
            counts[doc.type][doc.status] += 1
        for payment in self.payments:
            counts[payment.payment_type][payment.status] += 1
        for journal in self.manual_journals:
            counts["MANUALJOURNAL"][journal.status] += 1
        return {"tenantId": self.tenant_id, "name": self.name, "currency": self.currency,
                "contacts": len(self.contacts), "journals": len(self.journals),
                "documents": {k: dict(v) for k, v in counts.items()}}


def _year_end(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:  # 29 February in a common year
        return date(year, month, 28)


def reverse(lines: list[Posting]) -> list[Posting]:
    """The reversing lines of a journal."""
    return [Posting(p.account_code, -p.net, -p.tax, p.tax_type, p.description) for p in lines]


def doc_postings(org: Organisation, doc: Doc) -> list[Posting]:
    """The journal lines Xero posts for an approved invoice, credit note or bank transaction."""
    sign = Decimal(1) if doc.type in SALES_LIKE else Decimal(-1)
    if doc.type in ("ACCREC", "ACCRECCREDIT"):
        control = org.system_account("DEBTORS").code
    elif doc.type in ("ACCPAY", "ACCPAYCREDIT"):
        control = org.system_account("CREDITORS").code
    else:
        control = doc.bank_code or "090"
    lines = [Posting(control, sign * doc.total, description=doc.number or doc.reference)]
    tax_by_type: dict[str, Decimal] = {}
    for line in doc.lines:
        net = line.line_amount - line.tax_amount if doc.line_amount_types == "Inclusive" \
            else line.line_amount
        lines.append(Posting(line.account_code, -sign * net, -sign * line.tax_amount,
                             line.tax_type, line.description))  # fmt: skip
        if line.tax_amount:
            tax_by_type[line.tax_type] = tax_by_type.get(line.tax_type, ZERO) + line.tax_amount
    difference = doc.total_tax - sum(tax_by_type.values(), ZERO)
    if difference:
        # Invoice-level rounding: the difference belongs to the largest tax (the first of
        # equals), or to the first line's tax type when no line carries tax.
        largest = (max(tax_by_type, key=lambda t: abs(tax_by_type[t])) if tax_by_type
                   else doc.lines[0].tax_type)
        tax_by_type[largest] = tax_by_type.get(largest, ZERO) + difference
    tax_account = org.system_account("GST").code
    for tax_type, amount in tax_by_type.items():
        if amount:
            lines.append(Posting(tax_account, -sign * amount, description=tax_type))
    residual = -sum((p.net for p in lines), ZERO)
    if residual:
        lines.append(Posting(org.system_account("ROUNDING").code, residual,
                             description="Rounding"))  # fmt: skip
    return lines


def payment_postings(org: Organisation, payment: Payment) -> list[Posting]:
    """Bank against Accounts Receivable/Payable, by payment type."""
    receivable = org.system_account("DEBTORS").code
    payable = org.system_account("CREDITORS").code
    amount = payment.amount
    bank_in = payment.payment_type in ("ACCRECPAYMENT", "APCREDITPAYMENT")
    control = receivable if payment.payment_type in ("ACCRECPAYMENT", "ARCREDITPAYMENT") \
        else payable
    signed = amount if bank_in else -amount
    return [Posting(payment.bank_code, signed, description=payment.reference),
            Posting(control, -signed, description=payment.reference)]


def manual_postings(org: Organisation, journal: ManualJournal) -> list[Posting]:
    """A manual journal's lines, with tax split out to the tax account when it has tax."""
    tax_account = org.system_account("GST").code
    lines: list[Posting] = []
    for line in journal.lines:
        tax = line.tax_amount if journal.line_amount_types != "NoTax" else ZERO
        if line.line_amount < 0:
            tax = -abs(tax)
        net = line.line_amount - tax if journal.line_amount_types == "Inclusive" \
            else line.line_amount
        lines.append(Posting(line.account_code, net, tax, line.tax_type, line.description))
        if tax:
            lines.append(Posting(tax_account, tax, description=line.tax_type))
    return lines
