"""QuickBooks Online accounts -> SourceAccountDoc, with the map to the BigLedger standard chart.

Every QuickBooks account becomes a ledger account of its own (`ledger_account_id`), so the
trial balance compares account by account. `standard_account_id` says which account of
ledger/chart.py STANDARD_ACCOUNTS it corresponds to, so that later channel syncs (Shopify,
Stripe ...) post into the same place. The rule is looked up by (AccountType,
AccountSubType) first, then by AccountType alone: a subtype rule always wins.

When the standard chart has no counterpart, `standard_account_id` is None and the note says
what a person decides. Two kinds, told apart by `AccountMapping.needs_decision`:
* "kept": nothing in the standard chart is of that kind (an advertising expense, a fixed
  asset): the account simply stays its own ledger account unless someone merges it;
* "decide": the account is ambiguous or should not be migrated as is (Other Asset, a
  Non-Posting account, a global tax payable whose tax regime is unknown).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bigledger.errors import DataMappingError
from transforms.documents import SourceAccountDoc

LEDGER_ID_MAX = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")

# QuickBooks Classification -> SourceAccountDoc.classification.
CLASSIFICATIONS = {"Asset": "asset", "Liability": "liability", "Equity": "equity",
                   "Revenue": "income", "Expense": "expense"}  # fmt: skip
# When Classification is absent (Non-Posting accounts have none), from the type.
TYPE_CLASSIFICATION = {
    "Bank": "asset", "Accounts Receivable": "asset", "Other Current Asset": "asset",
    "Fixed Asset": "asset", "Other Asset": "asset", "Accounts Payable": "liability",
    "Credit Card": "liability", "Other Current Liability": "liability",
    "Long Term Liability": "liability", "Equity": "equity", "Income": "income",
    "Other Income": "income", "Cost of Goods Sold": "expense", "Expense": "expense",
    "Other Expense": "expense", "Non-Posting": "asset",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class AccountMapping:
    """Where one (AccountType, AccountSubType) goes in the standard chart, and why."""

    standard_account_id: str | None
    rule: str  # "subtype", "type" or "none": which table decided
    needs_decision: bool  # True only when the account is ambiguous (see module docstring)
    note: str


def _mapped(account: str, why: str) -> tuple[str | None, bool, str]:
    return account, False, why


def _kept(why: str) -> tuple[str | None, bool, str]:
    return None, False, f"no standard counterpart: {why}; migrated as its own ledger account"


def _decide(why: str) -> tuple[str | None, bool, str]:
    return None, True, f"decide: {why}"


# (AccountType, AccountSubType) -> rule. Checked before TYPE_RULES.
SUBTYPE_RULES: dict[tuple[str, str], tuple[str | None, bool, str]] = {
    ("Other Current Asset", "UndepositedFunds"): _mapped(
        "acc_undeposited", "payments received but not yet banked"),
    ("Other Current Asset", "Inventory"): _mapped("acc_inventory", "stock at cost"),
    ("Other Current Liability", "SalesTaxPayable"): _mapped(
        "acc_tax_sales", "US sales tax collected for an agency"),
    ("Other Current Liability", "GlobalTaxPayable"): _decide(
        "GST, VAT or SST payable: pick acc_tax_gst, acc_tax_vat or acc_tax_sst for the "
        "company's tax regime (pass tax_account= to map it automatically)"),
    ("Other Current Liability", "GlobalTaxSuspense"): _decide(
        "tax suspense holds unfiled tax; pick the tax payable account it settles into"),
    ("Equity", "OpeningBalanceEquity"): _mapped(
        "acc_equity_opening", "balancing side of opening balances"),
    ("Equity", "RetainedEarnings"): _mapped(
        "acc_retained_earnings", "prior years' profit (QuickBooks closes it there)"),
    ("Income", "DiscountsRefundsGiven"): _mapped(
        "acc_discounts", "contra-income for discounts given"),
    ("Expense", "BankCharges"): _mapped(
        "acc_merchant_fees", "bank and card processing charges"),
    ("Other Expense", "ExchangeGainOrLoss"): _kept(
        "realized exchange gains and losses and currency rounding"),
}

TYPE_RULES: dict[str, tuple[str | None, bool, str]] = {
    "Bank": _mapped("acc_bank", "bank and cash accounts"),
    "Accounts Receivable": _mapped("acc_receivable", "trade debtors"),
    "Accounts Payable": _mapped("acc_payable", "trade creditors"),
    "Income": _mapped("acc_sales", "operating income"),
    "Other Income": _mapped("acc_other_income", "non-operating income"),
    "Cost of Goods Sold": _mapped("acc_cogs", "cost of goods sold"),
    "Other Current Asset": _kept("current asset of a kind the standard chart lacks"),
    "Fixed Asset": _kept("fixed asset"),
    "Credit Card": _kept("credit card liability"),
    "Other Current Liability": _kept("current liability of a kind the standard chart lacks"),
    "Long Term Liability": _kept("long-term liability"),
    "Equity": _kept("owner's equity"),
    "Expense": _kept("operating expense"),
    "Other Expense": _kept("non-operating expense"),
    "Other Asset": _decide(
        "long-term asset of no standard kind (deposit, intangible, investment?): confirm "
        "it stays its own ledger account and how the balance sheet reports it"),
    "Non-Posting": _decide(
        "QuickBooks keeps estimates and purchase orders here; it never carries a balance: "
        "skip it (recommended) or create it as an inactive account"),
}


def map_account_type(account_type: str | None, account_subtype: str | None = None, *,
                     tax_account: str | None = None) -> AccountMapping:  # fmt: skip
    """The standard account for a QuickBooks AccountType/AccountSubType (subtype rule first).

    `tax_account` resolves GlobalTaxPayable (e.g. "acc_tax_gst" for a GST company).
    """
    kind = (account_type or "").strip()
    subtype = (account_subtype or "").strip()
    if tax_account and (kind, subtype) == ("Other Current Liability", "GlobalTaxPayable"):
        return AccountMapping(tax_account, "subtype", False,
                              f"global tax payable, mapped to {tax_account} as configured")
    rule = SUBTYPE_RULES.get((kind, subtype))
    if rule is not None:
        return AccountMapping(rule[0], "subtype", rule[1], rule[2])
    rule = TYPE_RULES.get(kind)
    if rule is not None:
        return AccountMapping(rule[0], "type", rule[1], rule[2])
    return AccountMapping(None, "none", True, f"decide: unknown QuickBooks account type "
                          f"{kind or '(none)'!r}; choose a standard account or keep it")


def account_to_doc(account: Mapping[str, Any], *, tax_account: str | None = None
                   ) -> SourceAccountDoc:  # fmt: skip
    """One QuickBooks Account record as a SourceAccountDoc (external_id is its Id)."""
    account_id = account.get("Id")
    name = account.get("Name")
    if not isinstance(account_id, str) or not account_id or not isinstance(name, str):
        raise DataMappingError("quickbooks account without Id or Name",
                               details={"account": dict(account)})  # fmt: skip
    kind = account.get("AccountType")
    subtype = account.get("AccountSubType")
    mapping = map_account_type(kind, subtype, tax_account=tax_account)
    classification = CLASSIFICATIONS.get(account.get("Classification") or "") or (
        TYPE_CLASSIFICATION.get(kind or ""))  # fmt: skip
    if classification is None:
        raise DataMappingError(f"quickbooks account {account_id} has no classification and an "
                               f"unknown type {kind!r}", details={"id": account_id})
    return SourceAccountDoc(
        external_id=account_id,
        code=_text(account.get("AcctNum")),
        name=name,
        full_name=_text(account.get("FullyQualifiedName")),
        source_type=str(kind or ""),
        source_subtype=_text(subtype),
        classification=classification,
        active=account.get("Active", True) is not False,
        currency=_ref(account.get("CurrencyRef")),
        parent_external_id=_ref(account.get("ParentRef")) if account.get("SubAccount") else None,
        standard_account_id=mapping.standard_account_id,
        mapping_note=mapping.note,
    )


def ledger_account_id(realm_id: str, external_id: str) -> str:
    """The stable ledger account id of a migrated QuickBooks account: acc_qbo_<realm>_<id>
    (a hash of both when that would exceed 64 characters or is not plain alphanumeric)."""
    realm, account = str(realm_id).strip(), str(external_id).strip()
    if not realm or not account:
        raise DataMappingError("ledger_account_id needs a realm id and an account id")
    plain = f"acc_qbo_{realm}_{account}"
    if len(plain) <= LEDGER_ID_MAX and not _UNSAFE.search(realm + account):
        return plain
    digest = hashlib.sha256(f"{realm}\0{account}".encode()).hexdigest()[:32]
    return f"acc_qbo_{_UNSAFE.sub('', realm)[:16]}_{digest}"


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _ref(value: Any) -> str | None:
    if isinstance(value, Mapping):
        inner = value.get("value")
        return str(inner) if inner not in (None, "") else None
    return None
