"""Idempotent bulk load of sales orders (with their customers and journal entries).

One call loads one batch in the caller's transaction, together with the sync's counters and
cursor, so a crash either keeps the whole batch and its cursor or neither. An order whose
mapped documents are unchanged since the last load is skipped without a write; a changed
one is updated and its journal gets an adjusting entry (posted entries are never edited).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, delete, update

from ledger.bulk import bulk_insert
from ledger.customers import upsert_customers
from ledger.ids import stable_id
from ledger.models import SalesOrder, SalesOrderLine, utcnow
from ledger.posting import plan_entries, post_entries, posted_positions
from ledger.refs import content_hash, existing_refs, is_older, write_refs
from ledger.syncs import RecordFailure, add_counters, record_failures, resolve_failures, set_cursor

if TYPE_CHECKING:
    from transforms.documents import OrderDocuments

ORDER = "order"


@dataclass(slots=True)
class BatchResult:
    """What one batch did to the ledger."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    entries_posted: int = 0


def load_order_batch(
    conn: Connection,
    integration_id: str,
    source_type: str,
    docs: Sequence[OrderDocuments],
    *,
    sync_id: str | None = None,
    failures: Sequence[RecordFailure] = (),
    counter_prefix: str = "orders",
    cursor: tuple[str, str] | None = None,
    resume_cursor: str | None = None,
) -> BatchResult:
    """Upsert a batch of orders and post their journals, all in the caller's transaction."""
    result = BatchResult(failed=len(failures))
    latest: dict[str, OrderDocuments] = {}
    for doc in docs:  # the same order twice in a batch (inclusive cursors): keep the newest
        key = doc.sales_order.external_id
        prev = latest.get(key)
        if prev is None or _newer(doc, prev):
            latest[key] = doc
    hashes = {ext: content_hash(doc) for ext, doc in latest.items()}
    refs = existing_refs(conn, integration_id, ORDER, list(latest))

    new = [ext for ext in latest if ext not in refs]
    # A version older than the one imported (a slow worker, a late page) changes nothing.
    changed = [ext for ext in latest if ext in refs and refs[ext][0] != hashes[ext]
               and not is_older(latest[ext].sales_order.source_updated_at, refs[ext][1])]
    result.created, result.updated = len(new), len(changed)
    result.unchanged = len(latest) - len(new) - len(changed) + (len(docs) - len(latest))
    to_write = new + changed

    if to_write:
        customer_ids, _ = upsert_customers(
            conn, integration_id, [latest[e].customer for e in to_write if latest[e].customer]
        )
        order_ids = {ext: stable_id("so", integration_id, ext) for ext in to_write}
        _write_orders(conn, integration_id, latest, new, changed, order_ids, customer_ids)
        drafts = {ext: latest[ext].journal for ext in to_write}
        posted = posted_positions(conn, integration_id, source_type, changed) if changed else {}
        change_dates = {
            ext: latest[ext].sales_order.source_updated_at.date()
            for ext in changed if latest[ext].sales_order.source_updated_at
        }
        entries = plan_entries(integration_id, source_type, drafts, posted, change_dates)
        post_entries(conn, entries)
        result.entries_posted = len(entries)
        write_refs(conn, integration_id, ORDER, new, changed, order_ids, hashes,
                   {e: latest[e].sales_order.source_updated_at for e in new + changed})
        resolve_failures(conn, integration_id, ORDER, to_write)

    if sync_id:
        record_failures(conn, sync_id, integration_id, list(failures))
        add_counters(
            conn, sync_id,
            {
                f"{counter_prefix}Processed": len(docs) + len(failures),
                f"{counter_prefix}Created": result.created,
                f"{counter_prefix}Updated": result.updated,
                f"{counter_prefix}Failed": result.failed,
            },
            resume_cursor=resume_cursor,
        )
    if cursor is not None:
        set_cursor(conn, integration_id, *cursor)
    return result


def _newer(a: OrderDocuments, b: OrderDocuments) -> bool:
    ta, tb = a.sales_order.source_updated_at, b.sales_order.source_updated_at
    return ta is not None and (tb is None or ta >= tb)


def _order_row(integration_id: str, doc: OrderDocuments, oid: str, customer_id: str | None,
               now) -> dict:
    so = doc.sales_order
    return {
        "id": oid, "integration_id": integration_id, "external_id": so.external_id,
        "order_number": so.order_number, "customer_id": customer_id, "order_date": so.order_date,
        "currency": so.currency, "financial_status": so.financial_status,
        "fulfillment_status": so.fulfillment_status, "status": so.status,
        "subtotal_minor": so.subtotal_minor, "discount_minor": so.discount_minor,
        "shipping_minor": so.shipping_minor, "tax_minor": so.tax_minor,
        "total_minor": so.total_minor, "refunded_minor": so.refunded_minor,
        "outstanding_minor": so.outstanding_minor, "taxes_included": so.taxes_included,
        "source_updated_at": so.source_updated_at, "created_at": now, "updated_at": now,
    }


def _write_orders(conn, integration_id, latest, new, changed, order_ids, customer_ids) -> None:
    now = utcnow()

    def customer_of(ext: str) -> str | None:
        c = latest[ext].customer
        return customer_ids.get(c.external_id) if c else None

    bulk_insert(conn, SalesOrder.__table__, [
        _order_row(integration_id, latest[e], order_ids[e], customer_of(e), now) for e in new
    ])
    if changed:
        rows = []
        for e in changed:
            row = _order_row(integration_id, latest[e], order_ids[e], customer_of(e), now)
            row.pop("created_at")
            row["b_id"] = row.pop("id")
            rows.append(row)
        cols = {k: bindparam(k) for k in rows[0] if k != "b_id"}
        conn.execute(update(SalesOrder).where(SalesOrder.id == bindparam("b_id")).values(**cols),
                     rows)
        conn.execute(delete(SalesOrderLine).where(
            SalesOrderLine.sales_order_id.in_([order_ids[e] for e in changed])))
    lines = [
        {
            "sales_order_id": order_ids[e], "line_no": line.line_no,
            "external_id": line.external_id, "sku": line.sku, "name": line.name,
            "quantity": line.quantity, "unit_price_minor": line.unit_price_minor,
            "discount_minor": line.discount_minor, "tax_minor": line.tax_minor,
            "total_minor": line.total_minor, "product_external_id": line.product_external_id,
            "variant_external_id": line.variant_external_id,
        }
        for e in new + changed
        for line in latest[e].sales_order.lines
    ]
    bulk_insert(conn, SalesOrderLine.__table__, lines)
