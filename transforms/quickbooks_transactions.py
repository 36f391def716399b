"""QuickBooks Online transactions -> SourceTransactionDoc with the journal QuickBooks posts.

Pure: everything a posting needs beyond the record comes in a `QuickBooksContext` of plain
data (build it with `build_context` from the chart, items and tax lists). Journals are in
the company's home currency and use ledger account ids (`ledger_accounts` maps every
QuickBooks account id to one).

How each type posts (d = +1, or −1 for the returning form):
* Invoice / CreditMemo (d −1): A/R of the currency Dr d·TotalAmt; each item line Cr d·Amount
  to its ItemAccountRef (else the item's income account); discount lines Dr d·Amount to
  their DiscountAccountRef; TxnTaxDetail tax lines Cr d·Amount to the tax rate's liability
  account; an Inventory item also moves its cost (Qty × PurchaseCost) Dr COGS / Cr Inventory
  Asset (d).
* SalesReceipt / RefundReceipt (d −1): as above with DepositToAccountRef instead of A/R.
* Payment: DepositToAccountRef (default Undeposited Funds) Dr TotalAmt, ARAccountRef Cr.
* Bill / VendorCredit (d −1), Purchase (Credit=true reverses it): lines Dr to their
  AccountRef or the item's asset (Inventory) or expense account, tax lines Dr, and A/P
  (APAccountRef) or the paying AccountRef Cr TotalAmt.
* BillPayment: A/P Dr TotalAmt, CheckPayment.BankAccountRef / CreditCardPayment.CCAccountRef Cr.
* Deposit: DepositToAccountRef Dr TotalAmt; a line linked to a payment or receipt Cr
  Undeposited Funds, other lines Cr their AccountRef; CashBack Dr its account.
* Transfer: ToAccountRef Dr Amount, FromAccountRef Cr.  JournalEntry: each line as posted.

Foreign currency (CurrencyRef ≠ home): every line is converted at ExchangeRate, rounded half
up to the home minor unit; the document's own side uses HomeTotalAmt when given (else
TotalAmt × ExchangeRate). What line-by-line rounding leaves over, and a payment's realized
gain or loss (it relieves A/R at the invoice's home value, given in
`context.linked_home_totals`, and banks TotalAmt × its own rate), goes to QuickBooks'
"Exchange Gain or Loss" account (`context.exchange_account`), or to
`context.rounding_account` (acc_rounding) when the company has none. In the home currency a
document whose lines do not add up to its total is refused (DataMappingError), never forced.

Inventory cost: QuickBooks costs sales FIFO; a sales form does not carry that cost, so the
transform uses the item's PurchaseCost. That is exact while an item's cost never changes
(as in the sandbox); for a real company with changing costs the COGS and Inventory Asset
lines can differ from QuickBooks' by the FIFO difference, which the trial balance comparison
will show on exactly those two accounts.

Voided transactions (QuickBooks zeroes their amounts; PrivateNote "Voided") and deleted
ones (a CDC record with status "Deleted") get an empty journal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, currency_exponent, normalize_currency, to_decimal
from transforms.documents import JournalDraft, SourceTransactionDoc, lines_from_net
from transforms.quickbooks_accounts import ledger_account_id
from transforms.quickbooks_customers import contact_external_id

# Entity -> SourceTransactionDoc.txn_type, in the order a migration loads them (documents
# before what links to them).
TXN_TYPES: dict[str, str] = {
    "JournalEntry": "journal_entry", "Invoice": "invoice", "CreditMemo": "credit_memo",
    "SalesReceipt": "sales_receipt", "RefundReceipt": "refund_receipt", "Payment": "payment",
    "Bill": "bill", "VendorCredit": "vendor_credit", "BillPayment": "bill_payment",
    "Purchase": "purchase", "Deposit": "deposit", "Transfer": "transfer",
}  # fmt: skip
TRANSACTION_ENTITIES = tuple(TXN_TYPES)
_ENTITY_BY_NAME = {name.lower(): name for name in TXN_TYPES} | {
    value: name for name, value in TXN_TYPES.items()}
SALES_FORMS = {"Invoice": 1, "SalesReceipt": 1, "CreditMemo": -1, "RefundReceipt": -1}
# Documents a payment can relieve at their own home value (see linked_home_totals).
LINKABLE = frozenset({"Invoice", "CreditMemo", "Bill", "VendorCredit"})


@dataclass(frozen=True, slots=True)
class ItemAccounts:
    """What a posting needs of one Item (QuickBooks account ids; cost in home currency)."""

    item_type: str  # Service | NonInventory | Inventory | Group | Category
    income_account: str | None = None
    expense_account: str | None = None
    asset_account: str | None = None
    unit_cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class QuickBooksContext:
    """Plain data the transform needs besides the record. Account ids are QuickBooks ids
    except `rounding_account`, which is a ledger id."""

    home_currency: str
    ledger_accounts: Mapping[str, str]  # QuickBooks account id -> ledger account id
    items: Mapping[str, ItemAccounts] = field(default_factory=dict)
    tax_rate_accounts: Mapping[str, str] = field(default_factory=dict)  # TaxRate Id -> account
    receivable_accounts: Mapping[str, str] = field(default_factory=dict)  # currency -> A/R
    payable_accounts: Mapping[str, str] = field(default_factory=dict)  # currency -> A/P
    undeposited_account: str | None = None
    discount_account: str | None = None  # for a discount line that names no account
    exchange_account: str | None = None  # "Exchange Gain or Loss"
    rounding_account: str = "acc_rounding"  # ledger id, used when exchange_account is None
    # "Invoice:130" -> (TotalAmt, HomeTotalAmt) in minor units, for foreign-currency
    # documents a payment may link to (see linked_total).
    linked_home_totals: Mapping[str, tuple[int, int]] = field(default_factory=dict)


def entity_name(name: str) -> str:
    """The QuickBooks entity of a transaction type, either spelling: "journal_entry" or
    "JournalEntry" -> "JournalEntry" (DataMappingError for anything else)."""
    return _entity(name)


def txn_external_id(entity: str, record_id: str) -> str:
    """"Invoice:130": unique in one company (ids are per entity type in QuickBooks)."""
    return f"{_entity(entity)}:{record_id}"


def build_context(realm_id: str, home_currency: str, accounts: Iterable[Mapping[str, Any]],
                  items: Iterable[Mapping[str, Any]] = (),
                  tax_rates: Iterable[Mapping[str, Any]] = (),
                  tax_agencies: Iterable[Mapping[str, Any]] = (),
                  linked_home_totals: Mapping[str, tuple[int, int]] | None = None,
                  rounding_account: str = "acc_rounding") -> QuickBooksContext:  # fmt: skip
    """The context from the company's lists (accounts with inactive ones included).

    A tax rate posts to "<agency DisplayName> Payable" when such an account exists (how
    QuickBooks names agency liabilities), else to the only SalesTaxPayable /
    GlobalTaxPayable account; a rate left unresolved fails the first document using it.
    """
    home = normalize_currency(home_currency)
    accounts = list(accounts)
    ledger = {a["Id"]: ledger_account_id(realm_id, a["Id"]) for a in accounts}

    def first(predicate: Any) -> str | None:
        found = sorted((a for a in accounts if predicate(a)), key=_id_order)
        return found[0]["Id"] if found else None

    def by_currency(kind: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for account in sorted(accounts, key=_id_order):
            if account.get("AccountType") == kind:
                currency = _ref(account.get("CurrencyRef")) or home
                out.setdefault(currency, account["Id"])
        return out

    item_map = {}
    for item in items:
        cost = item.get("PurchaseCost")
        item_map[item["Id"]] = ItemAccounts(
            item_type=str(item.get("Type") or ""),
            income_account=_ref(item.get("IncomeAccountRef")),
            expense_account=_ref(item.get("ExpenseAccountRef")),
            asset_account=_ref(item.get("AssetAccountRef")),
            unit_cost=to_decimal(cost) if cost is not None else None,
        )
    by_name = {str(a.get("FullyQualifiedName") or a.get("Name")): a["Id"] for a in accounts}
    tax_payables = [a["Id"] for a in accounts
                    if a.get("AccountSubType") in ("SalesTaxPayable", "GlobalTaxPayable")]
    agency_names = {a["Id"]: str(a.get("DisplayName") or "") for a in tax_agencies}
    rate_accounts = {}
    for rate in tax_rates:
        agency = agency_names.get(_ref(rate.get("AgencyRef")) or "")
        account = by_name.get(f"{agency} Payable") if agency else None
        if account is None and len(tax_payables) == 1:
            account = tax_payables[0]
        if account is not None:
            rate_accounts[rate["Id"]] = account
    return QuickBooksContext(
        home_currency=home,
        ledger_accounts=ledger,
        items=item_map,
        tax_rate_accounts=rate_accounts,
        receivable_accounts=by_currency("Accounts Receivable"),
        payable_accounts=by_currency("Accounts Payable"),
        undeposited_account=first(lambda a: a.get("AccountSubType") == "UndepositedFunds"),
        discount_account=first(lambda a: a.get("AccountSubType") == "DiscountsRefundsGiven"),
        exchange_account=first(lambda a: a.get("AccountSubType") == "ExchangeGainOrLoss"),
        rounding_account=rounding_account,
        linked_home_totals=dict(linked_home_totals or {}),
    )


def linked_total(entity: str, txn: Mapping[str, Any], home_currency: str
                 ) -> tuple[str, tuple[int, int]] | None:  # fmt: skip
    """("Invoice:130", (TotalAmt, HomeTotalAmt)) of a foreign-currency invoice, credit memo,
    bill or vendor credit, for QuickBooksContext.linked_home_totals; None otherwise."""
    name = _entity(entity)
    currency = _ref(txn.get("CurrencyRef")) or home_currency
    if name not in LINKABLE or currency == normalize_currency(home_currency):
        return None
    total = _dec(txn.get("TotalAmt"), "TotalAmt")
    home = _home_total(txn, total, _rate(txn), currency_exponent(home_currency))
    return txn_external_id(name, str(txn.get("Id"))), (
        _minor(total, currency), _minor(home, home_currency))


def transaction_to_doc(entity: str, txn: Mapping[str, Any], context: QuickBooksContext
                       ) -> SourceTransactionDoc:  # fmt: skip
    """One QuickBooks transaction (or a CDC "Deleted" stub) as a SourceTransactionDoc."""
    name = _entity(entity)
    record_id = txn.get("Id")
    if not isinstance(record_id, str) or not record_id:
        raise DataMappingError(f"quickbooks {name} without an Id")
    external_id = txn_external_id(name, record_id)
    try:
        return _to_doc(name, external_id, txn, context)
    except (MoneyError, KeyError, TypeError, ValueError) as exc:
        raise DataMappingError(f"quickbooks {external_id}: {exc}",
                               details={"externalId": external_id}) from None


def _to_doc(name: str, external_id: str, txn: Mapping[str, Any], ctx: QuickBooksContext
            ) -> SourceTransactionDoc:  # fmt: skip
    home = ctx.home_currency
    updated = _updated_at(txn)
    memo_label = f"QuickBooks {name} {txn.get('DocNumber') or txn['Id']}"
    if txn.get("status") == "Deleted":
        day = updated.date() if updated else date(1970, 1, 1)
        return SourceTransactionDoc(external_id, TXN_TYPES[name], None, day, home, 0,
                                    "deleted", None, None, updated,
                                    JournalDraft(day, home, memo_label, ()))  # fmt: skip
    currency = normalize_currency(_ref(txn.get("CurrencyRef")) or home)
    day = date.fromisoformat(str(txn["TxnDate"])[:10])
    total = _dec(txn.get("Amount") if name == "Transfer" else txn.get("TotalAmt"), "TotalAmt")
    voided = _voided(txn, total)
    lines = ()
    if not voided:
        journal = _Journal(ctx, external_id, currency, _rate(txn) if currency != home else None)
        _POSTERS[name](journal, txn, ctx)
        lines = lines_from_net(journal.close(), memo_label)
    return SourceTransactionDoc(
        external_id=external_id,
        txn_type=TXN_TYPES[name],
        number=_text(txn.get("DocNumber")),
        txn_date=day,
        currency=currency,
        total_minor=_minor(total, currency),
        status="voided" if voided else "posted",
        contact_external_id=_contact(txn),
        memo=_text(txn.get("PrivateNote")) or _text(txn.get("Memo")),
        source_updated_at=updated,
        journal=JournalDraft(day, home, memo_label, lines),
    )


class _Journal:
    """Accumulates one document's net debits in home minor units, converting foreign
    amounts; `close()` books the conversion residue (or refuses a home-currency one)."""

    def __init__(self, ctx: QuickBooksContext, external_id: str, currency: str,
                 rate: Decimal | None) -> None:  # fmt: skip
        self.ctx, self.external_id = ctx, external_id
        self.currency, self.rate = currency, rate
        self.exponent = currency_exponent(ctx.home_currency)
        self.net: dict[str, int] = {}

    def ledger(self, qbo_account: str | None, what: str) -> str:
        """The ledger account of a QuickBooks account id (DataMappingError if unknown)."""
        if not qbo_account:
            raise DataMappingError(f"quickbooks {self.external_id}: no account for {what}",
                                   details={"externalId": self.external_id})  # fmt: skip
        account = self.ctx.ledger_accounts.get(qbo_account)
        if account is None:
            raise DataMappingError(f"quickbooks {self.external_id}: account {qbo_account} "
                                   f"({what}) is not in the migrated chart",
                                   details={"externalId": self.external_id,
                                            "account": qbo_account})  # fmt: skip
        return account

    def home(self, amount: Decimal) -> Decimal:
        """A document-currency amount in home currency (exact when it is the home one)."""
        if self.rate is None:
            return amount
        return (amount * self.rate).quantize(Decimal(1).scaleb(-self.exponent), ROUND_HALF_UP)

    def post(self, qbo_account: str | None, amount: Decimal, sign: int, what: str) -> None:
        """Debit (sign +1) or credit (−1) a document-currency amount."""
        self.post_home(qbo_account, self.home(amount), sign, what)

    def post_home(self, qbo_account: str | None, amount: Decimal, sign: int, what: str) -> None:
        """Debit or credit an amount already in home currency."""
        account = self.ledger(qbo_account, what)
        minor = _minor(amount, self.ctx.home_currency)
        self.net[account] = self.net.get(account, 0) + sign * minor

    def post_minor(self, qbo_account: str | None, minor: int, what: str) -> None:
        """Add a signed home-currency amount already in minor units."""
        account = self.ledger(qbo_account, what)
        self.net[account] = self.net.get(account, 0) + minor

    def close(self) -> dict[str, int]:
        """The net debits, with any foreign-currency residue booked (see module docstring)."""
        residue = -sum(self.net.values())
        if residue:
            if self.rate is None:
                raise DataMappingError(
                    f"quickbooks {self.external_id}: lines and total differ by {residue} "
                    f"minor units of {self.ctx.home_currency}",
                    details={"externalId": self.external_id, "difference": residue})
            ctx = self.ctx
            target = (self.ledger(ctx.exchange_account, "exchange gain or loss")
                      if ctx.exchange_account else ctx.rounding_account)  # fmt: skip
            self.net[target] = self.net.get(target, 0) + residue
        return self.net


# ---- posting rules, one per entity ----------------------------------------------------------


def _sales(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext, d: int,
           settle: str | None) -> None:  # fmt: skip
    for line in _flat_lines(txn.get("Line")):
        kind = line.get("DetailType")
        amount = _dec(line.get("Amount", 0), "Line.Amount")
        if kind == "SalesItemLineDetail":
            detail = line.get("SalesItemLineDetail") or {}
            item_id = _ref(detail.get("ItemRef"))
            item = ctx.items.get(item_id or "")
            income = _ref(detail.get("ItemAccountRef")) or (item.income_account if item else None)
            if amount:
                journal.post(income, amount, -d, f"income of item {item_id}")
            if item is not None and item.item_type == "Inventory" and item.unit_cost is not None:
                qty = _dec(detail.get("Qty", 0), "Qty")
                cost = (qty * item.unit_cost).quantize(Decimal(1).scaleb(-journal.exponent),
                                                       ROUND_HALF_UP)  # fmt: skip
                if cost:
                    journal.post_home(item.expense_account, cost, d, f"cost of item {item_id}")
                    journal.post_home(item.asset_account, cost, -d, f"stock of item {item_id}")
        elif kind == "DiscountLineDetail" and amount:
            detail = line.get("DiscountLineDetail") or {}
            account = _ref(detail.get("DiscountAccountRef")) or ctx.discount_account
            journal.post(account, amount, d, "discount")
    _tax(journal, txn, ctx, -d)
    total = _dec(txn.get("TotalAmt"), "TotalAmt")
    journal.post_home(settle, _home_total(txn, total, journal.rate, journal.exponent), d,
                      "the document total")  # fmt: skip


def _tax(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext, sign: int) -> None:
    for line in (txn.get("TxnTaxDetail") or {}).get("TaxLine") or ():
        amount = _dec(line.get("Amount", 0), "TaxLine.Amount")
        if not amount:
            continue
        rate_id = _ref((line.get("TaxLineDetail") or {}).get("TaxRateRef"))
        journal.post(ctx.tax_rate_accounts.get(rate_id or ""), amount, sign,
                     f"tax rate {rate_id}")  # fmt: skip


def _receivable(txn: Mapping[str, Any], ctx: QuickBooksContext, currency: str) -> str | None:
    return _ref(txn.get("ARAccountRef")) or ctx.receivable_accounts.get(currency)


def _payable(txn: Mapping[str, Any], ctx: QuickBooksContext, currency: str) -> str | None:
    return _ref(txn.get("APAccountRef")) or ctx.payable_accounts.get(currency)


def _post_invoice(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext) -> None:
    _sales(journal, txn, ctx, 1, _receivable(txn, ctx, journal.currency))


def _post_credit_memo(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext
                      ) -> None:  # fmt: skip
    _sales(journal, txn, ctx, -1, _receivable(txn, ctx, journal.currency))


def _post_sales_receipt(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext
                        ) -> None:  # fmt: skip
    deposit = _ref(txn.get("DepositToAccountRef")) or ctx.undeposited_account
    _sales(journal, txn, ctx, 1, deposit)


def _post_refund_receipt(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext
                         ) -> None:  # fmt: skip
    _sales(journal, txn, ctx, -1, _ref(txn.get("DepositToAccountRef")))


def _expense_lines(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext,
                   sign: int) -> None:  # fmt: skip
    for line in _flat_lines(txn.get("Line")):
        amount = _dec(line.get("Amount", 0), "Line.Amount")
        if not amount:
            continue
        kind = line.get("DetailType")
        if kind == "AccountBasedExpenseLineDetail":
            account = _ref((line.get(kind) or {}).get("AccountRef"))
            journal.post(account, amount, sign, "expense line")
        elif kind == "ItemBasedExpenseLineDetail":
            item_id = _ref((line.get(kind) or {}).get("ItemRef"))
            item = ctx.items.get(item_id or "")
            account = None
            if item is not None:
                account = item.asset_account if item.item_type == "Inventory" else (
                    item.expense_account)  # fmt: skip
            journal.post(account, amount, sign, f"purchase of item {item_id}")
        else:
            raise DataMappingError(f"quickbooks {journal.external_id}: unexpected line type "
                                   f"{kind!r} with an amount")  # fmt: skip
    _tax(journal, txn, ctx, sign)


def _purchase_form(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext, sign: int,
                   settle: str | None, what: str) -> None:  # fmt: skip
    _expense_lines(journal, txn, ctx, sign)
    total = _dec(txn.get("TotalAmt"), "TotalAmt")
    journal.post_home(settle, _home_total(txn, total, journal.rate, journal.exponent), -sign,
                      what)  # fmt: skip


def _post_bill(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext) -> None:
    _purchase_form(journal, txn, ctx, 1, _payable(txn, ctx, journal.currency), "A/P")


def _post_vendor_credit(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext
                        ) -> None:  # fmt: skip
    _purchase_form(journal, txn, ctx, -1, _payable(txn, ctx, journal.currency), "A/P")


def _post_purchase(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext) -> None:
    sign = -1 if txn.get("Credit") is True else 1
    _purchase_form(journal, txn, ctx, sign, _ref(txn.get("AccountRef")), "the paying account")


def _relieve(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext,
             account: str | None, sign: int) -> None:  # fmt: skip
    """A payment's side on A/R (sign −1) or A/P (+1): in a foreign currency, each linked
    document at its own home value, anything unapplied at the payment's rate."""
    total = _dec(txn.get("TotalAmt"), "TotalAmt")
    if journal.rate is None:
        journal.post_home(account, total, sign, "the payment total")
        return
    applied = Decimal(0)
    for line in _flat_lines(txn.get("Line")):
        amount = _dec(line.get("Amount", 0), "Line.Amount")
        for link in line.get("LinkedTxn") or ():
            kind = _entity(str(link.get("TxnType")))
            key = txn_external_id(kind, str(link.get("TxnId")))
            known = ctx.linked_home_totals.get(key)
            if known is None:
                raise DataMappingError(
                    f"quickbooks {journal.external_id}: the home value of {key} is needed "
                    "(context.linked_home_totals, see linked_total)",
                    details={"externalId": journal.external_id, "linked": key})
            doc_total, doc_home = known
            minor = _minor(amount, journal.currency)
            share = doc_home
            if minor != doc_total:  # a part payment relieves its pro-rata share
                ratio = Decimal(minor * doc_home) / Decimal(doc_total)
                share = int(ratio.quantize(Decimal(1), ROUND_HALF_UP))
            # A credit memo (or vendor credit) applied inside a payment offsets it.
            offset = -1 if kind in ("CreditMemo", "VendorCredit") else 1
            journal.post_minor(account, share * sign * offset, "the linked document")
            applied += amount * offset
    unapplied = total - applied
    if unapplied:
        journal.post(account, unapplied, sign, "the unapplied amount")


def _post_payment(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext) -> None:
    deposit = _ref(txn.get("DepositToAccountRef")) or ctx.undeposited_account
    journal.post(deposit, _dec(txn.get("TotalAmt"), "TotalAmt"), 1, "the deposit account")
    _relieve(journal, txn, ctx, _receivable(txn, ctx, journal.currency), -1)


def _post_bill_payment(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext
                       ) -> None:  # fmt: skip
    paid_from = txn.get("CheckPayment") or {}
    source = _ref(paid_from.get("BankAccountRef"))
    if txn.get("PayType") == "CreditCard" or source is None:
        source = _ref((txn.get("CreditCardPayment") or {}).get("CCAccountRef")) or source
    journal.post(source, _dec(txn.get("TotalAmt"), "TotalAmt"), -1, "the paying account")
    _relieve(journal, txn, ctx, _payable(txn, ctx, journal.currency), 1)


def _post_deposit(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext) -> None:
    for line in _flat_lines(txn.get("Line")):
        amount = _dec(line.get("Amount", 0), "Line.Amount")
        if not amount:
            continue
        if line.get("LinkedTxn"):
            journal.post(ctx.undeposited_account, amount, -1, "undeposited funds")
        else:
            detail = line.get("DepositLineDetail") or {}
            journal.post(_ref(detail.get("AccountRef")), amount, -1, "deposit line")
    cash_back = txn.get("CashBack") or {}
    if cash_back.get("Amount"):
        journal.post(_ref(cash_back.get("AccountRef")), _dec(cash_back["Amount"], "CashBack"),
                     1, "cash back")  # fmt: skip
    total = _dec(txn.get("TotalAmt"), "TotalAmt")
    journal.post_home(_ref(txn.get("DepositToAccountRef")),
                      _home_total(txn, total, journal.rate, journal.exponent), 1,
                      "the deposit account")  # fmt: skip


def _post_transfer(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext) -> None:
    amount = _dec(txn.get("Amount"), "Amount")
    journal.post(_ref(txn.get("ToAccountRef")), amount, 1, "ToAccountRef")
    journal.post(_ref(txn.get("FromAccountRef")), amount, -1, "FromAccountRef")


def _post_journal_entry(journal: _Journal, txn: Mapping[str, Any], ctx: QuickBooksContext
                        ) -> None:  # fmt: skip
    for line in _flat_lines(txn.get("Line")):
        amount = _dec(line.get("Amount", 0), "Line.Amount")
        detail = line.get("JournalEntryLineDetail") or {}
        side = detail.get("PostingType")
        if side not in ("Debit", "Credit"):
            if amount:
                raise DataMappingError(f"quickbooks {journal.external_id}: journal line "
                                       f"without PostingType")  # fmt: skip
            continue
        if amount:
            journal.post(_ref(detail.get("AccountRef")), amount, 1 if side == "Debit" else -1,
                         "journal line")  # fmt: skip


_POSTERS = {
    "Invoice": _post_invoice, "CreditMemo": _post_credit_memo,
    "SalesReceipt": _post_sales_receipt, "RefundReceipt": _post_refund_receipt,
    "Payment": _post_payment, "Bill": _post_bill, "VendorCredit": _post_vendor_credit,
    "Purchase": _post_purchase, "BillPayment": _post_bill_payment, "Deposit": _post_deposit,
    "Transfer": _post_transfer, "JournalEntry": _post_journal_entry,
}  # fmt: skip


# ---- small helpers ---------------------------------------------------------------------------


def _entity(entity: str) -> str:
    name = _ENTITY_BY_NAME.get(str(entity).strip().lower()) or _ENTITY_BY_NAME.get(
        str(entity).strip())  # fmt: skip
    if name is None:
        raise DataMappingError(f"quickbooks entity {entity!r} is not a transaction type this "
                               f"transform knows ({', '.join(TXN_TYPES)})")  # fmt: skip
    return name


def _flat_lines(lines: Any) -> Iterable[Mapping[str, Any]]:
    """Lines with bundle (GroupLineDetail) lines replaced by the lines inside them."""
    for line in lines or ():
        if line.get("DetailType") == "GroupLineDetail":
            yield from _flat_lines((line.get("GroupLineDetail") or {}).get("Line"))
        else:
            yield line


def _home_total(txn: Mapping[str, Any], total: Decimal, rate: Decimal | None,
                exponent: int) -> Decimal:  # fmt: skip
    if rate is None:
        return total
    stated = txn.get("HomeTotalAmt")
    if stated is not None:
        return _dec(stated, "HomeTotalAmt")
    return (total * rate).quantize(Decimal(1).scaleb(-exponent), ROUND_HALF_UP)


def _rate(txn: Mapping[str, Any]) -> Decimal:
    raw = txn.get("ExchangeRate")
    if raw is None:
        raise DataMappingError("a foreign-currency transaction without ExchangeRate")
    rate = _dec(raw, "ExchangeRate")
    if rate <= 0:
        raise DataMappingError(f"ExchangeRate {rate} is not positive")
    return rate


def _voided(txn: Mapping[str, Any], total: Decimal) -> bool:
    if txn.get("TxnStatus") == "Voided":
        return True
    note = txn.get("PrivateNote")
    return total == 0 and isinstance(note, str) and note.strip().lower().startswith("voided")


def _contact(txn: Mapping[str, Any]) -> str | None:
    for key, kind in (("CustomerRef", "Customer"), ("VendorRef", "Vendor")):
        value = _ref(txn.get(key))
        if value:
            return contact_external_id(kind, value)
    entity = txn.get("EntityRef")
    value = _ref(entity)
    if value and isinstance(entity, Mapping) and entity.get("type"):
        return contact_external_id(str(entity["type"]), value)
    return None


def _updated_at(txn: Mapping[str, Any]) -> datetime | None:
    raw = (txn.get("MetaData") or {}).get("LastUpdatedTime")
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _dec(value: Any, what: str) -> Decimal:
    if value is None:
        raise DataMappingError(f"{what} is missing")
    return to_decimal(value)


def _minor(amount: Decimal, currency: str) -> int:
    exponent = currency_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more than {exponent} decimals for {currency}")
    return int(scaled)


def _ref(value: Any) -> str | None:
    if isinstance(value, Mapping):
        inner = value.get("value")
        return str(inner) if inner not in (None, "") else None
    return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _id_order(record: Mapping[str, Any]) -> tuple[int, int | str]:
    raw = str(record.get("Id"))
    return (0, int(raw)) if raw.isdigit() else (1, raw)
