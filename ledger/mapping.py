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
from transforms.documents import PaymentAccounts, PostingAccounts

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


# mapping key -> (PaymentAccounts field, default account) for processors and marketplaces
PAYMENT_ACCOUNT_KEYS: dict[str, tuple[str, str]] = {
    "bankAccount": ("bank_account", "acc_bank"),
    "salesAccount": ("sales_account", "acc_sales"),
    "refundAccount": ("refunds_account", "acc_sales_returns"),
    "feesAccount": ("fees_account", "acc_merchant_fees"),
    "chargebackAccount": ("chargebacks_account", "acc_chargebacks"),
    "reserveAccount": ("reserve_account", "acc_processor_reserves"),
    "adjustmentsAccount": ("adjustments_account", "acc_other_income"),
    "shippingAccount": ("shipping_account", "acc_shipping"),
    "discountAccount": ("discount_account", "acc_discounts"),
}


def validate_payment_mapping(conn: Connection, mapping: Mapping[str, Any],
                             platform: str) -> PaymentAccounts:
    """Resolve and check the accounts a payment or settlement transform posts to."""
    return resolve_payment_accounts(account_ids(conn), tax_code_accounts(conn), mapping,
                                    platform)


def resolve_payment_accounts(chart: set[str], tax_codes: Mapping[str, str],
                             mapping: Mapping[str, Any], platform: str) -> PaymentAccounts:
    """The platform's clearing account is its balance (clearingAccount, else the spec's
    defaultPaymentAccount, else the platform's own, e.g. acc_stripe); every other account
    can be remapped by key (bankAccount, feesAccount, chargebackAccount, ...)."""
    problems: list[str] = []

    def account(key: str, default: str) -> str:
        value = mapping.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or value not in chart:
            problems.append(f"mapping.{key}: {value!r} is not an account in the chart")
        return str(value)

    platform_clearing = GATEWAY_CLEARING_ACCOUNTS.get(platform, DEFAULT_CLEARING_ACCOUNT)
    clearing = account("clearingAccount",
                       account("defaultPaymentAccount", platform_clearing))
    fields = {field: account(key, default)
              for key, (field, default) in PAYMENT_ACCOUNT_KEYS.items()}
    tax_code = mapping.get("defaultTaxCode")
    tax_account = tax_codes.get(tax_code, DEFAULT_TAX_ACCOUNT) if tax_code else DEFAULT_TAX_ACCOUNT
    if tax_code is not None and tax_code not in tax_codes:
        problems.append(f"mapping.defaultTaxCode: {tax_code!r} is not a known tax code")
    if problems:
        raise DataMappingError("; ".join(problems), details={"problems": problems})
    return PaymentAccounts(clearing_account=clearing, tax_account=tax_account, **fields)


def settlement_category_accounts(conn: Connection, mapping: Mapping[str, Any]) -> dict[str, str]:
    """The mapping's settlementAccounts (category -> account), checked against the chart."""
    wanted = mapping.get("settlementAccounts") or {}
    chart = account_ids(conn)
    bad = [f"mapping.settlementAccounts.{k}: {v!r} is not an account in the chart"
           for k, v in wanted.items() if not isinstance(v, str) or v not in chart]
    if bad:
        raise DataMappingError("; ".join(bad), details={"problems": bad})
    return {str(k): str(v) for k, v in wanted.items()}
