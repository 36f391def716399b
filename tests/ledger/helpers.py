"""Helpers for ledger tests: an integration row, mapped fixture orders, a table dump."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bigledger.money import loads_exact
from ledger.integrations import create_integration
from transforms.documents import PostingAccounts
from transforms.shopify_orders import order_to_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"

ACCOUNTS = PostingAccounts(
    receivable_account="acc_receivable", sales_account="acc_sales",
    sales_returns_account="acc_sales_returns", tax_account="acc_tax_sst",
    shipping_account="acc_shipping", discount_account="acc_discounts",
    clearing_account="acc_stripe",
)


def fixture_order(fixture_file: str = "order_sst_paid.json", **changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(loads_exact((FIXTURES / fixture_file).read_bytes()))
    order.update(changes)
    return order


def order_with_id(n: int, **changes: Any) -> dict[str, Any]:
    """The paid SST fixture as order number n (its own ids, same customer)."""
    return fixture_order(id=f"gid://shopify/Order/{n}", legacyResourceId=str(n), name=f"#{n}",
                         **changes)


def docs(*orders: dict[str, Any]):
    return [order_to_documents(o, ACCOUNTS) for o in orders]


def make_integration(conn, integration_id: str = "int_shopify_test") -> str:
    create_integration(conn, "shopify", "Test shop",
                       {"shopDomain": "test.myshopify.com", "accessToken": "shpat_secret_1"},
                       {}, {}, integration_id=integration_id)
    return integration_id


def dump(engine, tables=("sales_orders", "sales_order_lines", "customers", "journal_entries",
                         "journal_lines", "external_refs", "sync_cursors")) -> dict:
    """Every row of the ledger tables, without the volatile timestamps of bookkeeping."""
    out = {}
    with engine.connect() as conn:
        for table in tables:
            rows = conn.execute(text(f"SELECT * FROM {table}")).mappings().all()
            out[table] = sorted(
                tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows
            )
    return out
