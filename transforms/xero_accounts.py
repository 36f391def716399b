"""Xero's chart of accounts -> SourceAccountDoc, mapped to the BigLedger standard chart.

Every Xero account becomes a ledger account of its own (`ledger_account_id`), so the trial
balance compares account by account. `standard_account_id` says which BigLedger standard
account (ledger/chart.py) it corresponds to, decided by SystemAccount first (Xero's own
control accounts: receivables, payables, tax, retained earnings, rounding), then by Type.
Types with no standard counterpart (rent, fixed assets, loans ...) map to None and stay
accounts of their own; a few (PAYG, tracking transfers, unknown types) map to None with
`decision_needed`: a person must choose.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from bigledger.errors import DataMappingError
from transforms.documents import SourceAccountDoc

# Xero Type -> Class (used when an account comes without its Class).
TYPE_CLASS: dict[str, str] = {
    "BANK": "ASSET", "CURRENT": "ASSET", "FIXED": "ASSET", "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET", "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY", "LIABILITY": "LIABILITY", "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY", "SUPERANNUATIONLIABILITY": "LIABILITY",
    "WAGESPAYABLELIABILITY": "LIABILITY",
    "EQUITY": "EQUITY",
    "REVENUE": "REVENUE", "SALES": "REVENUE", "OTHERINCOME": "REVENUE",
    "DIRECTCOSTS": "EXPENSE", "EXPENSE": "EXPENSE", "OVERHEADS": "EXPENSE",
    "DEPRECIATN": "EXPENSE", "SUPERANNUATIONEXPENSE": "EXPENSE",
    "WAGESEXPENSE": "EXPENSE",
}  # fmt: skip
CLASSIFICATION = {"ASSET": "asset", "LIABILITY": "liability", "EQUITY": "equity",
                  "REVENUE": "income", "EXPENSE": "expense"}  # fmt: skip

# SystemAccount -> (standard account, why). Tax accounts are resolved by name below.
SYSTEM_RULES: dict[str, tuple[str | None, str]] = {
    "DEBTORS": ("acc_receivable", "Xero's Accounts Receivable control account"),
    "CREDITORS": ("acc_payable", "Xero's Accounts Payable control account"),
    "RETAINEDEARNINGS": ("acc_retained_earnings", "Xero's Retained Earnings system account"),
    "ROUNDING": ("acc_rounding", "Xero's rounding account (invoice-level tax rounding)"),
    "HISTORICAL": ("acc_equity_opening",
                   "Xero's Historical Adjustment offsets conversion balances, as Opening "
                   "Balance Equity does"),
}
# System accounts with no standard counterpart that a person should look at.
SYSTEM_DECISIONS: dict[str, str] = {
    "TRACKINGTRANSFERS": "Xero's Tracking Transfers clears tracking-category moves; it should "
                         "net to zero: decide whether to keep it",
    "UNPAIDEXPCLM": "expense claims owed to employees: a payable with no standard account",
    "WAGEPAYABLES": "payroll liability with no standard account",
    "REALISEDCURRENCYGAIN": "currency gains and losses have no standard account",
    "UNREALISEDCURRENCYGAIN": "currency gains and losses have no standard account",
    "BANKCURRENCYGAIN": "currency revaluation of bank accounts has no standard account",
}
TYPE_RULES: dict[str, tuple[str, str]] = {
    "BANK": ("acc_bank", "Xero bank account"),
    "INVENTORY": ("acc_inventory", "Xero inventory asset"),
    "SALES": ("acc_sales", "Xero sales revenue"),
    "REVENUE": ("acc_sales", "Xero revenue"),
    "OTHERINCOME": ("acc_other_income", "Xero other income"),
    "DIRECTCOSTS": ("acc_cogs", "Xero direct costs (cost of sales)"),
}
# Ordinary accounts that simply have no standard counterpart: kept as their own account.
OWN_ACCOUNT_TYPES = frozenset({"CURRENT", "FIXED", "NONCURRENT", "PREPAYMENT", "CURRLIAB",
                               "LIABILITY", "TERMLIAB", "EQUITY", "EXPENSE", "OVERHEADS",
                               "DEPRECIATN", "SUPERANNUATIONEXPENSE", "WAGESEXPENSE",
                               "SUPERANNUATIONLIABILITY", "WAGESPAYABLELIABILITY"})  # fmt: skip
# Tax account name -> standard tax account, first match wins.
TAX_NAMES: tuple[tuple[str, str], ...] = (
    (r"\bVAT\b", "acc_tax_vat"),
    (r"\bSST\b", "acc_tax_sst"),
    (r"\bSALES TAX\b", "acc_tax_sales"),
    (r"\bGST\b", "acc_tax_gst"),
)


@dataclass(frozen=True, slots=True)
class StandardMapping:
    """Where a Xero account goes in the standard chart, why, and whether a person must
    decide (None without a decision means: no counterpart, keep it as its own account)."""

    standard_account_id: str | None
    note: str
    decision_needed: bool


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def account_class(account: dict[str, Any]) -> str:
    """Xero's Class of an account (from Type when the record has none)."""
    klass = _text(account.get("Class"))
    if klass:
        return klass.upper()
    found = TYPE_CLASS.get(str(account.get("Type") or "").upper())
    if found is None:
        raise DataMappingError(
            f"Xero account {account.get('AccountID')} has neither a Class nor a known Type",
            details={"accountId": account.get("AccountID"), "type": account.get("Type")})
    return found


def standard_mapping(account: dict[str, Any]) -> StandardMapping:
    """The standard account for a Xero account: SystemAccount first, then Type."""
    system = (_text(account.get("SystemAccount")) or "").upper()
    kind = (_text(account.get("Type")) or "").upper()
    name = _text(account.get("Name")) or ""
    if system in ("GST", "GSTONIMPORTS"):
        for pattern, standard in TAX_NAMES:
            if re.search(pattern, name.upper()):
                return StandardMapping(standard, f"Xero's tax account ({name})", False)
        return StandardMapping(None, f"Xero's tax account is named {name!r}: choose the "
                                     "tax liability account it corresponds to", True)
    if system in SYSTEM_RULES:
        standard, why = SYSTEM_RULES[system]
        return StandardMapping(standard, why, False)
    if system in SYSTEM_DECISIONS:
        return StandardMapping(None, SYSTEM_DECISIONS[system], True)
    if kind in TYPE_RULES:
        standard, why = TYPE_RULES[kind]
        return StandardMapping(standard, why, False)
    if kind in OWN_ACCOUNT_TYPES:
        classification = CLASSIFICATION.get(TYPE_CLASS.get(kind, ""), "account")
        return StandardMapping(None, f"Xero type {kind}: no standard counterpart; migrated "
                                     f"as its own {classification} account", False)
    if kind == "PAYG":
        return StandardMapping(None, "Xero type PAYG (pay-as-you-go withholding, Australian "
                                     "payroll tax): no standard account; decide where "
                                     "withholding liabilities belong", True)
    return StandardMapping(None, f"Xero type {kind or '(none)'} is not one BigLedger knows: "
                                 "a person must decide", True)


def account_to_doc(account: dict[str, Any]) -> SourceAccountDoc:
    """A Xero Account as a SourceAccountDoc with its standard-chart mapping."""
    account_id = _text(account.get("AccountID"))
    if account_id is None:
        raise DataMappingError("Xero account without an AccountID", details=account)
    mapping = standard_mapping(account)
    status = (_text(account.get("Status")) or "ACTIVE").upper()
    return SourceAccountDoc(
        external_id=account_id,
        code=_text(account.get("Code")),
        name=_text(account.get("Name")) or account_id,
        full_name=None,  # Xero's chart is flat
        source_type=(_text(account.get("Type")) or "").upper(),
        source_subtype=account_class(account),
        classification=CLASSIFICATION[account_class(account)],
        active=status == "ACTIVE",
        currency=_text(account.get("CurrencyCode")),
        parent_external_id=None,
        standard_account_id=mapping.standard_account_id,
        mapping_note=mapping.note,
    )


_SAFE = re.compile(r"[^a-z0-9]")


def _compact(value: str, length: int) -> str:
    cleaned = _SAFE.sub("", value.lower())
    if len(cleaned) <= length and cleaned:
        return cleaned
    # Not a UUID (or empty): a hash keeps it short, stable and collision-resistant.
    return hashlib.sha256(value.encode()).hexdigest()[:length]


def ledger_account_id(tenant_id: str, account_id: str) -> str:
    """The ledger account a Xero account becomes: `acc_xero_<tenant 8>_<AccountID 32 hex>`
    (50 characters). Built on the AccountID, not the Code: Xero lets users change codes."""
    if not tenant_id or not account_id:
        raise DataMappingError("a ledger account id needs the tenant id and the AccountID")
    return f"acc_xero_{_compact(tenant_id, 32)[:8]}_{_compact(account_id, 32)}"
