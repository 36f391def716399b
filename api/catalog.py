"""The catalog of integrations (GET /v1/integrations/available), as the spec lists it."""

from __future__ import annotations

from typing import Any


def _entry(id_: str, name: str, description: str, category: str, features: list[str],
           webhook: bool, realtime: bool) -> dict[str, Any]:
    return {"id": id_, "name": name, "description": description, "category": category,
            "status": "active", "features": features, "setupRequired": True,
            "webhookSupport": webhook, "realTimeSync": realtime}


CATALOG: dict[str, list[dict[str, Any]]] = {
    "ecommerce": [
        _entry("shopify", "Shopify", "Connect your Shopify store for automated order sync",
               "ecommerce", ["order_sync", "product_sync", "customer_sync", "inventory_sync"],
               True, True),
        _entry("woocommerce", "WooCommerce", "Sync orders and products from WooCommerce",
               "ecommerce", ["order_sync", "product_sync", "customer_sync"], True, False),
    ],
    "marketplaces": [
        _entry("amazon", "Amazon Seller Central", "Manage Amazon orders and inventory",
               "marketplace", ["order_sync", "inventory_sync", "fee_tracking"], False, False),
    ],
    "payment_gateways": [
        _entry("stripe", "Stripe", "Automatically record Stripe payments", "payment",
               ["payment_sync", "fee_tracking", "chargeback_handling"], True, True),
        # Not in the spec's catalog (its PayPal section is TODO); designed like Stripe's.
        _entry("paypal", "PayPal", "Record PayPal payments, fees, refunds and withdrawals",
               "payment", ["payment_sync", "fee_tracking", "chargeback_handling"], True,
               False),
    ],
    "accounting": [
        _entry("quickbooks", "QuickBooks Online", "Migrate data from QuickBooks Online",
               "accounting", ["data_migration", "chart_of_accounts_sync"], False, False),
        # Not in the spec's catalog (its Xero section is TODO); designed like QuickBooks'.
        _entry("xero", "Xero", "Migrate an organisation's books from Xero", "accounting",
               ["data_migration", "chart_of_accounts_sync"], False, False),
    ],
}

# Catalog ids whose setup this build can complete (a connector exists).
SETUP_READY = {"shopify", "woocommerce", "stripe", "paypal", "amazon", "quickbooks", "xero"}


def catalog_ids() -> set[str]:
    """Every id in the catalog."""
    return {entry["id"] for group in CATALOG.values() for entry in group}
