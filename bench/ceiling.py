"""The raw ceiling: the same pages fetched with bare httpx, the same rows written with COPY.

Run as `python -m bench.ceiling SANDBOX_URL DB_URL`; prints one JSON line. Mapping the
orders to rows is done between the timed parts, so the ceiling counts only the transfer in
and the write out.
"""

from __future__ import annotations

import json
import sys
import time

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bigledger.money import loads_exact
from connectors.shopify import ShopifyConnector
from connectors.shopify_queries import ORDER_LINE_ITEMS_QUERY, ORDERS_QUERY
from ledger.ids import stable_id
from ledger.migrate import upgrade
from ledger.refs import content_hash
from transforms.documents import PostingAccounts
from transforms.shopify_orders import order_to_documents

ACCOUNTS = PostingAccounts("acc_receivable", "acc_sales", "acc_sales_returns", "acc_tax_sst",
                           "acc_shipping", "acc_discounts", "acc_undeposited",
                           {"shopify_payments": "acc_shopify_payments", "stripe": "acc_stripe",
                            "paypal": "acc_paypal"})
IID = "int_shopify_bench"
CHUNK = 10_000
COLUMNS = {
    "customers": ("id", "integration_id", "external_id", "email", "first_name", "last_name",
                  "name", "created_at", "updated_at"),
    "sales_orders": ("id", "integration_id", "external_id", "order_number", "customer_id",
                     "order_date", "currency", "financial_status", "fulfillment_status",
                     "status", "subtotal_minor", "discount_minor", "shipping_minor", "tax_minor",
                     "total_minor", "refunded_minor", "outstanding_minor", "taxes_included",
                     "source_updated_at", "created_at", "updated_at"),
    "sales_order_lines": ("sales_order_id", "line_no", "external_id", "sku", "name", "quantity",
                          "unit_price_minor", "discount_minor", "tax_minor", "total_minor",
                          "product_external_id", "variant_external_id"),
    "journal_entries": ("id", "integration_id", "source_type", "source_id", "sequence", "kind",
                        "entry_date", "currency", "memo", "posted_at"),
    "journal_lines": ("entry_id", "line_no", "account_id", "debit_minor", "credit_minor",
                      "currency", "memo"),
    "external_refs": ("integration_id", "object_type", "external_id", "local_id",
                      "content_hash", "source_updated_at", "created_at", "updated_at"),
}


def rows_of(docs, seen_customers: set[str], now) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {t: [] for t in COLUMNS}
    for d in docs:
        so = d.sales_order
        cid = None
        if d.customer:
            cid = stable_id("cus", IID, d.customer.external_id)
            if cid not in seen_customers:
                seen_customers.add(cid)
                c = d.customer
                out["customers"].append((cid, IID, c.external_id, c.email, c.first_name,
                                         c.last_name, c.name, now, now))
        oid = stable_id("so", IID, so.external_id)
        out["sales_orders"].append((
            oid, IID, so.external_id, so.order_number, cid, so.order_date, so.currency,
            so.financial_status, so.fulfillment_status, so.status, so.subtotal_minor,
            so.discount_minor, so.shipping_minor, so.tax_minor, so.total_minor,
            so.refunded_minor, so.outstanding_minor, so.taxes_included, so.source_updated_at,
            now, now))
        for ln in so.lines:
            out["sales_order_lines"].append((
                oid, ln.line_no, ln.external_id, ln.sku, ln.name, ln.quantity,
                ln.unit_price_minor, ln.discount_minor, ln.tax_minor, ln.total_minor,
                ln.product_external_id, ln.variant_external_id))
        if d.journal.lines:
            eid = stable_id("je", IID, "shopify.order", so.external_id, 0)
            j = d.journal
            out["journal_entries"].append((eid, IID, "shopify.order", so.external_id, 0,
                                           "original", j.entry_date, j.currency, j.memo, now))
            for n, line in enumerate(j.lines, 1):
                out["journal_lines"].append((eid, n, line.account_id, line.debit_minor,
                                             line.credit_minor, j.currency, line.memo))
        out["external_refs"].append((IID, "order", so.external_id, oid, content_hash(d),
                                     so.source_updated_at, now, now))
    return out


def copy_rows(conn: psycopg.Connection, rows: dict[str, list[tuple]]) -> None:
    with conn.cursor() as cur:
        for table, cols in COLUMNS.items():
            if not rows[table]:
                continue
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row(row)
    conn.commit()


def main(sandbox_url: str, db_url: str) -> dict:
    from datetime import UTC, datetime

    upgrade(db_url)
    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(dsn)
    conn.execute(
        "INSERT INTO integrations (id, platform, name, status, settings, mapping, "
        "credentials_encrypted, created_at, updated_at) VALUES "
        "(%s, 'shopify', 'bench', 'active', '{}', '{}', 'x', now(), now())", (IID,))
    conn.commit()
    connector = ShopifyConnector("bench.myshopify.com", "shpat_sandbox_token",
                                 base_url=sandbox_url)
    variables = {"first": connector.max_orders_page_size(), "after": None,
                 "lineItemsFirst": connector.line_items_first,
                 "shippingLinesFirst": connector.shipping_lines_first,
                 "refundsFirst": connector.refunds_first, "sortKey": "CREATED_AT"}
    client = httpx.Client(base_url=sandbox_url,
                          headers={"X-Shopify-Access-Token": "shpat_sandbox_token"}, timeout=60)
    fetch_s = copy_s = 0.0
    orders = pages = 0
    pending: list = []
    seen: set[str] = set()
    now = datetime.now(UTC)
    while True:
        t0 = time.perf_counter()
        response = client.post("/admin/api/2025-01/graphql.json",
                               json={"query": ORDERS_QUERY, "variables": variables})
        data = loads_exact(response.content)["data"]["orders"]
        for order in data["nodes"]:  # the same follow-ups the connector makes
            items = order["lineItems"]
            while items["pageInfo"]["hasNextPage"]:
                more = loads_exact(client.post("/admin/api/2025-01/graphql.json", json={
                    "query": ORDER_LINE_ITEMS_QUERY,
                    "variables": {"id": order["id"], "first": 90,
                                  "after": items["pageInfo"]["endCursor"]}}).content)
                page = more["data"]["order"]["lineItems"]
                items["nodes"].extend(page["nodes"])
                items["pageInfo"] = page["pageInfo"]
        fetch_s += time.perf_counter() - t0
        pages += 1
        orders += len(data["nodes"])
        pending.extend(order_to_documents(o, ACCOUNTS) for o in data["nodes"])
        last = not data["pageInfo"]["hasNextPage"]
        if len(pending) >= CHUNK or last:
            rows = rows_of(pending, seen, now)
            t0 = time.perf_counter()
            copy_rows(conn, rows)
            copy_s += time.perf_counter() - t0
            pending = []
        if last:
            break
        variables["after"] = data["pageInfo"]["endCursor"]
    return {"orders": orders, "pages": pages, "page_size": variables["first"],
            "fetch_s": fetch_s, "copy_s": copy_s}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
