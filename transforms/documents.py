"""The ledger-facing documents every platform's transforms produce.

Plain frozen dataclasses with slots: cheap to build (transforms run at 100k orders/s) and
safe to share between tasks. Amounts are integer minor units of the document's currency
(see bigledger.money); dates are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class CustomerDoc:
    """A customer as the platform knows it; external_id is the platform's own id."""

    external_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class SalesOrderLineDoc:
    """One order line. total_minor is what the customer pays for the line, tax included
    (quantity × unit_price − discount, plus tax_minor when prices exclude tax)."""

    line_no: int
    external_id: str
    sku: str | None
    name: str | None
    quantity: int
    unit_price_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int
    product_external_id: str | None
    variant_external_id: str | None


@dataclass(frozen=True, slots=True)
class SalesOrderDoc:
    """A sales order header with its lines, as the platform states it.

    subtotal = lines after line discounts; discount = line + shipping discounts; shipping =
    shipping charged after its discounts; total = what the customer was charged (all taxes
    in); outstanding = not yet paid; refunded = paid back so far.
    """

    external_id: str
    order_number: str | None
    order_date: datetime
    currency: str
    financial_status: str | None
    fulfillment_status: str | None
    status: str  # 'open' | 'cancelled' (platforms may add their own, lower-case)
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    tax_minor: int
    total_minor: int
    refunded_minor: int
    outstanding_minor: int
    taxes_included: bool
    source_updated_at: datetime | None
    customer_external_id: str | None
    lines: tuple[SalesOrderLineDoc, ...]


@dataclass(frozen=True, slots=True)
class JournalLineDraft:
    """One side of one account in a journal draft: exactly one of debit/credit is positive."""

    account_id: str
    debit_minor: int
    credit_minor: int
    memo: str = ""

    def __post_init__(self) -> None:
        d, c = self.debit_minor, self.credit_minor
        # type() rather than isinstance(): bools are ints and never an amount.
        if type(d) is not int or type(c) is not int:
            raise TypeError(f"journal line {self.account_id}: amounts must be int minor units")
        if d < 0 or c < 0 or (d > 0) == (c > 0):
            raise ValueError(
                f"journal line {self.account_id}: exactly one of debit ({d}) and credit ({c}) "
                "must be positive"
            )

    @property
    def net_minor(self) -> int:
        """Debit positive, credit negative."""
        return self.debit_minor - self.credit_minor


@dataclass(frozen=True, slots=True)
class JournalDraft:
    """The desired cumulative ledger position for one source document.

    The loader posts the difference between this and what is already on the books, so an
    edit, refund or cancellation becomes an adjusting entry. No lines means nothing should
    be on the books for the source (e.g. a voided order).
    """

    entry_date: date
    currency: str
    memo: str
    lines: tuple[JournalLineDraft, ...]

    def totals(self) -> tuple[int, int]:
        """(total debits, total credits) in minor units."""
        debits = credits = 0
        for line in self.lines:
            debits += line.debit_minor
            credits += line.credit_minor
        return debits, credits

    def is_balanced(self) -> bool:
        """True when debits equal credits (an empty draft is balanced)."""
        debits, credits = self.totals()
        return debits == credits

    def net_by_account(self) -> dict[str, int]:
        """Net debit per account (see net_by_account)."""
        return net_by_account(self.lines)


@dataclass(frozen=True, slots=True)
class OrderDocuments:
    """Everything one platform order becomes."""

    customer: CustomerDoc | None
    sales_order: SalesOrderDoc
    journal: JournalDraft


@dataclass(frozen=True, slots=True)
class PostingAccounts:
    """The chart accounts a transform posts to, resolved by the caller from the mapping.

    gateway_accounts (gateway name -> clearing account) wins over clearing_account, and
    tax_accounts (tax line title -> account) wins over tax_account.
    """

    receivable_account: str
    sales_account: str
    sales_returns_account: str
    tax_account: str
    shipping_account: str
    discount_account: str
    clearing_account: str
    gateway_accounts: Mapping[str, str] = field(default_factory=dict)
    tax_accounts: Mapping[str, str] = field(default_factory=dict)
    # Income from order fees (WooCommerce fee lines: gift wrap, surcharges).
    other_income_account: str = "acc_other_income"

    def clearing_for(self, gateways: Iterable[str]) -> str:
        """Clearing account of the first gateway listed in gateway_accounts, else the default."""
        mapped = self.gateway_accounts
        if mapped:
            for gateway in gateways:
                account = mapped.get(gateway)
                if account:
                    return account
        return self.clearing_account

    def tax_for(self, title: str | None) -> str:
        """Account for a tax line title: tax_accounts[title], else tax_account."""
        if title is not None:
            account = self.tax_accounts.get(title)
            if account:
                return account
        return self.tax_account


def net_by_account(lines: Iterable[JournalLineDraft]) -> dict[str, int]:
    """Net debit (debit +, credit −) per account; accounts that net to zero are dropped."""
    net: dict[str, int] = {}
    for line in lines:
        net[line.account_id] = net.get(line.account_id, 0) + line.debit_minor - line.credit_minor
    return {account: amount for account, amount in net.items() if amount}


def net_difference(desired: Mapping[str, int], posted: Mapping[str, int]) -> dict[str, int]:
    """desired − posted per account (both net debits); what an adjusting entry must post."""
    delta: dict[str, int] = {}
    for account in sorted(desired.keys() | posted.keys()):
        amount = desired.get(account, 0) - posted.get(account, 0)
        if amount:
            delta[account] = amount
    return delta


def lines_from_net(net: Mapping[str, int], memo: str = "") -> tuple[JournalLineDraft, ...]:
    """Journal lines (one per non-zero account, sorted by account id) for a net-debit map."""
    return tuple(
        JournalLineDraft(account, amount, 0, memo)
        if amount > 0
        else JournalLineDraft(account, 0, -amount, memo)
        for account, amount in sorted(net.items())
        if amount
    )


# --- catalog: products, variants, stock ------------------------------------------------


@dataclass(frozen=True, slots=True)
class VariantDoc:
    """A sellable variant; the SKU is what ledger stock and other channels match on."""

    external_id: str
    sku: str | None
    title: str | None
    price_minor: int
    currency: str
    compare_at_price_minor: int | None
    barcode: str | None
    weight: str | None  # exact decimal string, e.g. "0.25"
    weight_unit: str | None  # GRAMS | KILOGRAMS | OUNCES | POUNDS
    inventory_item_external_id: str | None
    position: int


@dataclass(frozen=True, slots=True)
class InventoryLevelDoc:
    """Units available of one inventory item at one location."""

    inventory_item_external_id: str
    location_external_id: str
    available: int
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ProductDoc:
    """A product with its variants and (when asked for) their stock per location."""

    external_id: str
    title: str
    handle: str | None
    status: str  # active | draft | archived | deleted
    vendor: str | None
    product_type: str | None
    published: bool
    source_updated_at: datetime | None
    variants: tuple[VariantDoc, ...]
    inventory: tuple[InventoryLevelDoc, ...] = ()


# --- payments and settlements: processors (Stripe, PayPal) and marketplaces (Amazon) -----


@dataclass(frozen=True, slots=True)
class PaymentAccounts:
    """The chart accounts a payment or settlement transform posts to (resolved by the caller
    from the integration's mapping; defaults in ledger.chart.PAYMENT_ACCOUNT_DEFAULTS).

    clearing_account is the processor's balance (acc_stripe, acc_paypal, acc_amazon): money
    collected but not yet paid out. It empties exactly when the payouts land in bank_account.
    """

    clearing_account: str
    bank_account: str = "acc_bank"
    sales_account: str = "acc_sales"  # what a standalone charge or payment credits
    refunds_account: str = "acc_sales_returns"
    fees_account: str = "acc_merchant_fees"
    chargebacks_account: str = "acc_chargebacks"
    reserve_account: str = "acc_processor_reserves"  # funds held back by the processor
    adjustments_account: str = "acc_other_income"  # anything the platform adjusts by hand
    tax_account: str = "acc_tax_sales"
    shipping_account: str = "acc_shipping"
    discount_account: str = "acc_discounts"


@dataclass(frozen=True, slots=True)
class PaymentDoc:
    """One money movement on a processor balance: a charge, refund, dispute, fee, payout ...

    Signs follow the processor balance: amount_minor > 0 is money in, < 0 money out;
    fee_minor > 0 is a fee charged (a fee given back is < 0); net_minor = amount − fee.
    The journal moves exactly net_minor through the clearing account.
    """

    external_id: str  # the movement's own id (txn_..., a PayPal transaction id)
    kind: str  # charge | refund | dispute | dispute_reversal | fee | payout | payout_reversal
    #            | hold | release | adjustment | transfer | other
    currency: str  # ISO 4217, upper case
    amount_minor: int
    fee_minor: int
    net_minor: int
    occurred_at: datetime  # timezone-aware UTC
    status: str  # the platform's status, lower case (available, pending, s, ...)
    source_id: str | None  # the object behind it (ch_..., re_..., dp_..., po_...)
    order_ref: str | None  # the order or invoice it pays, when the platform says
    payout_id: str | None  # the payout that carried it to the bank, when known
    description: str | None
    journal: JournalDraft


@dataclass(frozen=True, slots=True)
class SettlementLineDoc:
    """One amount of a marketplace settlement, as reported (seller's view: + is money to
    the seller) with the category and account it posts to."""

    transaction_type: str
    amount_type: str
    amount_description: str
    order_id: str | None
    sku: str | None
    posted_date: date | None
    amount_minor: int
    category: str  # principal | tax | shipping | promotions | commissions | fba_fees
    #               | other_fees | refunds | reserves | adjustments | tax_withheld
    account_id: str


@dataclass(frozen=True, slots=True)
class SettlementDoc:
    """A marketplace settlement: its amounts by category and the deposit they add up to.

    ties_out is True only when the lines sum to total_minor to the cent; otherwise journal
    is None and the settlement is flagged, never posted.
    """

    external_id: str
    start: datetime | None
    end: datetime | None
    deposit_date: date | None
    currency: str
    total_minor: int  # the settlement's own total-amount (the bank deposit)
    lines_total_minor: int  # the sum of its detail lines
    by_category: Mapping[str, int]
    lines: tuple[SettlementLineDoc, ...]
    journal: JournalDraft | None

    @property
    def ties_out(self) -> bool:
        return self.journal is not None and self.lines_total_minor == self.total_minor

    @property
    def difference_minor(self) -> int:
        """total − sum of lines (0 when it ties out)."""
        return self.total_minor - self.lines_total_minor


# --- migrations from accounting systems (QuickBooks Online, Xero) ------------------------


@dataclass(frozen=True, slots=True)
class SourceAccountDoc:
    """An account of the source system's chart. Migrated accounts become ledger accounts of
    their own (so the trial balance compares account by account); standard_account_id is
    the BigLedger standard account it corresponds to, None when a human must decide."""

    external_id: str
    code: str | None  # the account number the user sees (QBO AcctNum, Xero Code)
    name: str
    full_name: str | None  # with parents, "Expenses:Travel:Meals"
    source_type: str  # the source's own type (QBO AccountType, Xero Type)
    source_subtype: str | None  # QBO AccountSubType; Xero has none (its Class goes here)
    classification: str  # asset | liability | equity | income | expense
    active: bool
    currency: str | None
    parent_external_id: str | None
    standard_account_id: str | None
    mapping_note: str  # why it maps there, or what is ambiguous


@dataclass(frozen=True, slots=True)
class ContactDoc:
    """A customer or supplier with what an accountant needs of it."""

    external_id: str
    display_name: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    email: str | None
    phone: str | None
    billing_address: Mapping[str, str] | None  # line1, line2, city, region, postal_code, country
    shipping_address: Mapping[str, str] | None
    payment_terms: str | None  # "Net 30", ...
    currency: str | None
    balance_minor: int | None  # open balance in the contact's currency, as the source says
    active: bool
    is_customer: bool
    is_supplier: bool


@dataclass(frozen=True, slots=True)
class SourceTransactionDoc:
    """One transaction of the source's books (invoice, bill, payment, journal ...) and the
    journal it puts on the ledger, in the company's home currency. A voided, deleted or draft
    transaction has an empty journal (a reversal when it had been posted)."""

    external_id: str  # unique in the source company, e.g. "Invoice:130"
    txn_type: str  # invoice | bill | payment | bill_payment | credit_memo | sales_receipt
    #               | refund_receipt | deposit | transfer | journal_entry | purchase
    #               | vendor_credit | credit_note | bank_transaction | manual_journal | ...
    number: str | None
    txn_date: date
    currency: str  # the transaction's own currency
    total_minor: int  # in the transaction's currency
    status: str  # posted | voided | deleted | draft
    contact_external_id: str | None
    memo: str | None
    source_updated_at: datetime | None
    journal: JournalDraft  # home currency; account ids are ledger account ids


@dataclass(frozen=True, slots=True)
class TrialBalanceLine:
    """One account of a source's own Trial Balance report (home currency)."""

    account_external_id: str
    account_name: str
    debit_minor: int
    credit_minor: int

    @property
    def net_minor(self) -> int:
        """Debit positive, credit negative."""
        return self.debit_minor - self.credit_minor
