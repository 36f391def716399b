"""Turn an integration's `mapping` (the spec's defaultTaxCode, defaultPaymentAccount,
shippingAccount, discountAccount, ...) into the accounts a transform posts to, checked
against the chart so a typo is a clear DATA_MAPPING_ERROR, not a foreign-key crash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from bigledger.errors import DataMappingError
from ledger.chart import DEFAULT_CLEARING_ACCOUNT, GATEWAY_CLEARING_ACCOUNTS
from ledger.integrations import account_ids, tax_code_accounts
from transforms.documents import PostingAccounts

# mapping key -> (PostingAccounts field, default account)
ACCOUNT_KEYS: dict[str, tuple[str, str]] = {
    "receivableAccount": ("receivable_account", "acc_receivable"),
    "salesAccount": ("sales_account", "acc_sales"),
    "refundAccount": ("sales_returns_account", "acc_sales_returns"),
    "shippingAccount": ("shipping_account", "acc_shipping"),
    "discountAccount": ("discount_account", "acc_discounts"),
}
DEFAULT_TAX_ACCOUNT = "acc_tax_sales"


def validate_mapping(conn: Connection, mapping: Mapping[str, Any]) -> PostingAccounts:
    """Resolve and check a mapping; raises DataMappingError naming the offending key."""
    return resolve_posting_accounts(account_ids(conn), tax_code_accounts(conn), mapping)


def resolve_posting_accounts(
    chart: set[str], tax_codes: Mapping[str, str], mapping: Mapping[str, Any]
) -> PostingAccounts:
    """The accounts for one integration. Precedence for the payment side: the mapping's
    gatewayAccounts, then defaultPaymentAccount, then each gateway's own clearing account."""
    problems: list[str] = []

    def account(key: str, value: Any) -> str:
        if not isinstance(value, str) or value not in chart:
            problems.append(f"mapping.{key}: {value!r} is not an account in the chart")
        return str(value)

    fields = {
        field: account(key, mapping[key]) if mapping.get(key) is not None else default
        for key, (field, default) in ACCOUNT_KEYS.items()
    }
    tax_code = mapping.get("defaultTaxCode")
    if tax_code is None:
        tax_account = DEFAULT_TAX_ACCOUNT
    elif tax_code in tax_codes:
        tax_account = tax_codes[tax_code]
    else:
        problems.append(f"mapping.defaultTaxCode: {tax_code!r} is not a known tax code "
                        f"({', '.join(sorted(tax_codes))})")
        tax_account = DEFAULT_TAX_ACCOUNT
    tax_accounts = {
        str(title): account(f"taxAccounts.{title}", acc)
        for title, acc in (mapping.get("taxAccounts") or {}).items()
    }
    user_gateways = {
        str(gw): account(f"gatewayAccounts.{gw}", acc)
        for gw, acc in (mapping.get("gatewayAccounts") or {}).items()
    }
    if mapping.get("defaultPaymentAccount") is not None:
        clearing = account("defaultPaymentAccount", mapping["defaultPaymentAccount"])
        gateways = user_gateways
    else:
        clearing = DEFAULT_CLEARING_ACCOUNT
        gateways = {**GATEWAY_CLEARING_ACCOUNTS, **user_gateways}
    if problems:
        raise DataMappingError("; ".join(problems), details={"problems": problems})
    return PostingAccounts(
        tax_account=tax_account, clearing_account=clearing, gateway_accounts=gateways,
        tax_accounts=tax_accounts, **fields,
    )
