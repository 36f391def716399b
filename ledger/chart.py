"""The standard chart of accounts and tax codes every ledger starts with.

It holds every account the spec's `mapping` names (acc_stripe, acc_shipping, acc_discounts)
and what the transforms post to; the initial migration seeds it.
"""

from __future__ import annotations

# (id, code, name, type, subtype, normal balance). Migration 0001 seeds this list; a later
# migration adds accounts appended since to ledgers made before (see 0004).
STANDARD_ACCOUNTS: list[tuple[str, str, str, str, str | None, str]] = [
    ("acc_bank", "1000", "Bank", "asset", "bank", "debit"),
    ("acc_receivable", "1100", "Accounts Receivable", "asset", "receivable", "debit"),
    ("acc_shopify_payments", "1210", "Shopify Payments Clearing", "asset", "clearing", "debit"),
    ("acc_stripe", "1220", "Stripe Clearing", "asset", "clearing", "debit"),
    ("acc_paypal", "1230", "PayPal Clearing", "asset", "clearing", "debit"),
    ("acc_amazon", "1240", "Amazon Clearing", "asset", "clearing", "debit"),
    ("acc_woocommerce", "1250", "WooCommerce Payments Clearing", "asset", "clearing", "debit"),
    ("acc_processor_reserves", "1280", "Processor and Marketplace Reserves", "asset",
     "clearing", "debit"),
    ("acc_undeposited", "1290", "Undeposited Funds (manual and other gateways)", "asset",
     "clearing", "debit"),
    ("acc_inventory", "1300", "Inventory", "asset", "inventory", "debit"),
    ("acc_payable", "2000", "Accounts Payable", "liability", "payable", "credit"),
    ("acc_tax_sst", "2210", "SST Payable", "liability", "tax", "credit"),
    ("acc_tax_gst", "2220", "GST Payable", "liability", "tax", "credit"),
    ("acc_tax_vat", "2230", "VAT Payable", "liability", "tax", "credit"),
    ("acc_tax_sales", "2240", "Sales Tax Payable", "liability", "tax", "credit"),
    ("acc_customer_deposits", "2300", "Customer Deposits and Gift Cards", "liability", None,
     "credit"),
    ("acc_equity_opening", "3000", "Opening Balance Equity", "equity", None, "credit"),
    ("acc_retained_earnings", "3100", "Retained Earnings", "equity", None, "credit"),
    ("acc_sales", "4000", "Sales", "income", "sales", "credit"),
    ("acc_shipping", "4100", "Shipping Income", "income", "shipping", "credit"),
    ("acc_discounts", "4200", "Sales Discounts", "income", "contra", "debit"),
    ("acc_sales_returns", "4300", "Sales Returns and Refunds", "income", "contra", "debit"),
    ("acc_other_income", "4900", "Other Income", "income", None, "credit"),
    ("acc_cogs", "5000", "Cost of Goods Sold", "expense", "cogs", "debit"),
    ("acc_merchant_fees", "6100", "Merchant and Marketplace Fees", "expense", "fees", "debit"),
    ("acc_chargebacks", "6200", "Chargebacks and Disputes", "expense", None, "debit"),
    ("acc_rounding", "6900", "Rounding Differences", "expense", None, "debit"),
]

# (code, name, percent rate, payable account)
STANDARD_TAX_CODES: list[tuple[str, str, str, str]] = [
    ("SST", "Sales and Service Tax (Malaysia)", "6", "acc_tax_sst"),
    ("GST", "Goods and Services Tax", "9", "acc_tax_gst"),
    ("VAT", "Value Added Tax", "20", "acc_tax_vat"),
    ("SALES_TAX", "US Sales Tax", "0", "acc_tax_sales"),
]

# A payment gateway's own clearing account, used when the mapping names none.
GATEWAY_CLEARING_ACCOUNTS: dict[str, str] = {
    "shopify_payments": "acc_shopify_payments",
    "stripe": "acc_stripe",
    "paypal": "acc_paypal",
    "amazon": "acc_amazon",
    "woocommerce_payments": "acc_woocommerce",
}
DEFAULT_CLEARING_ACCOUNT = "acc_undeposited"
