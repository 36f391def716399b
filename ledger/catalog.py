"""Idempotent bulk load of products, their variants and stock levels.

Same rules as orders (ledger/orders.py): one batch per transaction with its counters and
cursor, unchanged products skipped by content hash, deterministic ids. A product deleted
upstream is marked `deleted` and its variants inactive — never erased, because sales order
lines and stock history still refer to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select, update

from ledger.bulk import bulk_insert
from ledger.ids import stable_id
from ledger.models import ExternalRef, InventoryLevel, Location, Product, ProductVariant, utcnow
from ledger.refs import content_hash
from ledger.syncs import RecordFailure, add_counters, record_failures, resolve_failures, set_cursor

if TYPE_CHECKING:
    from transforms.documents import InventoryLevelDoc, ProductDoc

PRODUCT = "product"


@dataclass(slots=True)
class CatalogResult:
    """What one batch did to the catalog."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    variants_written: int = 0
    levels_written: int = 0


def load_product_batch(
    conn: Connection,
    integration_id: str,
    docs: Sequence[ProductDoc],
    *,
    sync_id: str | None = None,
    failures: Sequence[RecordFailure] = (),
    cursor: tuple[str, str] | None = None,
    resume_cursor: str | None = None,
    with_variants: bool = True,
) -> CatalogResult:
    """Upsert a batch of products with variants and stock, in the caller's transaction.
    `with_variants=False` (a sync that did not fetch them) leaves stored variants alone."""
    result = CatalogResult(failed=len(failures))
    latest = {d.external_id: d for d in docs}
    hashes = {ext: content_hash(d) for ext, d in latest.items()}
    refs = _refs(conn, integration_id, list(latest))
    new = [e for e in latest if e not in refs]
    changed = [e for e in latest if e in refs and refs[e] != hashes[e]]
    result.created, result.updated = len(new), len(changed)
    result.unchanged = len(latest) - len(new) - len(changed)
    to_write = new + changed
    if to_write:
        now = utcnow()
        _write_products(conn, integration_id, [latest[e] for e in new],
                        [latest[e] for e in changed], now)
        if with_variants:
            result.variants_written = _write_variants(conn, integration_id,
                                                      [latest[e] for e in to_write], now)
        levels = [lvl for e in to_write for lvl in latest[e].inventory]
        result.levels_written = write_inventory_levels(conn, integration_id, levels)
        _write_refs(conn, integration_id, latest, hashes, new, changed, now)
        resolve_failures(conn, integration_id, PRODUCT, to_write)
    if sync_id:
        record_failures(conn, sync_id, integration_id, list(failures))
        add_counters(conn, sync_id, {
            "productsProcessed": len(docs) + len(failures),
            "productsCreated": result.created, "productsUpdated": result.updated,
            "productsFailed": result.failed, "inventoryUpdated": result.levels_written,
        }, resume_cursor=resume_cursor)
    if cursor is not None:
        set_cursor(conn, integration_id, *cursor)
    return result


def mark_products_deleted(conn: Connection, integration_id: str,
                          external_ids: Iterable[str]) -> int:
    """Products deleted upstream: status 'deleted', variants inactive; returns how many."""
    ids = [stable_id("prd", integration_id, e) for e in external_ids]
    if not ids:
        return 0
    now = utcnow()
    done = conn.execute(
        update(Product).where(Product.id.in_(ids), Product.status != "deleted")
        .values(status="deleted", updated_at=now))
    conn.execute(update(ProductVariant).where(ProductVariant.product_id.in_(ids))
                 .values(is_active=False, updated_at=now))
    # A product that comes back later must be written again, whatever its content.
    conn.execute(update(ExternalRef).where(
        ExternalRef.integration_id == integration_id, ExternalRef.object_type == PRODUCT,
        ExternalRef.local_id.in_(ids)).values(content_hash="deleted", updated_at=now))
    return done.rowcount or 0


def write_inventory_levels(conn: Connection, integration_id: str,
                           levels: Sequence[InventoryLevelDoc]) -> int:
    """Set stock per (inventory item, location); unknown items are skipped, locations are
    created on first sight. Returns the levels that changed."""
    if not levels:
        return 0
    items = {lvl.inventory_item_external_id for lvl in levels}
    variant_of = dict(conn.execute(
        select(ProductVariant.inventory_item_external_id, ProductVariant.id).where(
            ProductVariant.integration_id == integration_id,
            ProductVariant.inventory_item_external_id.in_(list(items)))).all())
    location_of = ensure_locations(conn, integration_id,
                                   {lvl.location_external_id: None for lvl in levels})
    wanted = {
        (variant_of[lvl.inventory_item_external_id], location_of[lvl.location_external_id]): lvl
        for lvl in levels if lvl.inventory_item_external_id in variant_of
    }
    if not wanted:
        return 0
    existing = {
        (v, loc): (lid, available)
        for lid, v, loc, available in conn.execute(
            select(InventoryLevel.id, InventoryLevel.variant_id, InventoryLevel.location_id,
                   InventoryLevel.available)
            .where(InventoryLevel.variant_id.in_(list({k[0] for k in wanted}))))
    }
    now = utcnow()
    inserts, updates = [], []
    for (variant_id, location_id), lvl in wanted.items():
        current = existing.get((variant_id, location_id))
        if current is None:
            inserts.append({"variant_id": variant_id, "location_id": location_id,
                            "available": lvl.available, "source_updated_at": lvl.updated_at,
                            "updated_at": now})
        elif current[1] != lvl.available:
            updates.append({"b_id": current[0], "available": lvl.available,
                            "source_updated_at": lvl.updated_at, "updated_at": now})
    bulk_insert(conn, InventoryLevel.__table__, inserts)
    if updates:
        conn.execute(update(InventoryLevel).where(InventoryLevel.id == bindparam("b_id"))
                     .values(available=bindparam("available"),
                             source_updated_at=bindparam("source_updated_at"),
                             updated_at=bindparam("updated_at")), updates)
    return len(inserts) + len(updates)


def ensure_locations(conn: Connection, integration_id: str,
                     names: dict[str, str | None]) -> dict[str, str]:
    """Location external id -> ledger id, creating missing ones (names filled when known)."""
    ids = {ext: stable_id("loc", integration_id, ext) for ext in names}
    known = dict(conn.execute(select(Location.external_id, Location.name).where(
        Location.integration_id == integration_id,
        Location.external_id.in_(list(names)))).all())
    now = utcnow()
    bulk_insert(conn, Location.__table__, [
        {"id": ids[ext], "integration_id": integration_id, "external_id": ext, "name": name,
         "created_at": now, "updated_at": now}
        for ext, name in names.items() if ext not in known
    ])
    for ext, name in names.items():
        if ext in known and name and known[ext] != name:
            conn.execute(update(Location).where(Location.id == ids[ext])
                         .values(name=name, updated_at=now))
    return ids


def _refs(conn: Connection, integration_id: str, external_ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for start in range(0, len(external_ids), 500):
        out.update(conn.execute(select(ExternalRef.external_id, ExternalRef.content_hash).where(
            ExternalRef.integration_id == integration_id, ExternalRef.object_type == PRODUCT,
            ExternalRef.external_id.in_(external_ids[start:start + 500]))).all())
    return out


def _product_row(integration_id: str, d: ProductDoc, now) -> dict[str, Any]:
    return {"id": stable_id("prd", integration_id, d.external_id),
            "integration_id": integration_id, "external_id": d.external_id, "title": d.title,
            "status": d.status, "handle": d.handle, "vendor": d.vendor,
            "product_type": d.product_type, "published": d.published,
            "source_updated_at": d.source_updated_at, "created_at": now, "updated_at": now}


def _write_products(conn, integration_id, new, changed, now) -> None:
    bulk_insert(conn, Product.__table__, [_product_row(integration_id, d, now) for d in new])
    if changed:
        rows = []
        for d in changed:
            row = _product_row(integration_id, d, now)
            row.pop("created_at")
            row["b_id"] = row.pop("id")
            rows.append(row)
        conn.execute(update(Product).where(Product.id == bindparam("b_id"))
                     .values(**{k: bindparam(k) for k in rows[0] if k != "b_id"}), rows)


def _write_variants(conn, integration_id: str, products: list[ProductDoc], now) -> int:
    rows = [
        {"id": stable_id("var", integration_id, v.external_id),
         "product_id": stable_id("prd", integration_id, p.external_id),
         "integration_id": integration_id, "external_id": v.external_id, "sku": v.sku,
         "title": v.title, "price_minor": v.price_minor, "currency": v.currency,
         "compare_at_price_minor": v.compare_at_price_minor, "barcode": v.barcode,
         "weight": v.weight, "weight_unit": v.weight_unit,
         "inventory_item_external_id": v.inventory_item_external_id, "position": v.position,
         "is_active": p.status != "deleted", "created_at": now, "updated_at": now}
        for p in products for v in p.variants
    ]
    product_ids = [stable_id("prd", integration_id, p.external_id) for p in products]
    existing = {vid for (vid,) in conn.execute(
        select(ProductVariant.id).where(ProductVariant.product_id.in_(product_ids)))}
    bulk_insert(conn, ProductVariant.__table__, [r for r in rows if r["id"] not in existing])
    changed = [dict(r, b_id=r["id"]) for r in rows if r["id"] in existing]
    for r in changed:
        r.pop("id"), r.pop("created_at")
    if changed:
        conn.execute(update(ProductVariant).where(ProductVariant.id == bindparam("b_id"))
                     .values(**{k: bindparam(k) for k in changed[0] if k != "b_id"}), changed)
    # Variants the product no longer lists stay for history, inactive.
    current = {r["id"] for r in rows}
    gone = existing - current
    if gone:
        conn.execute(update(ProductVariant).where(ProductVariant.id.in_(list(gone)))
                     .values(is_active=False, updated_at=now))
    return len(rows)


def _write_refs(conn, integration_id, latest, hashes, new, changed, now) -> None:
    bulk_insert(conn, ExternalRef.__table__, [
        {"integration_id": integration_id, "object_type": PRODUCT, "external_id": e,
         "local_id": stable_id("prd", integration_id, e), "content_hash": hashes[e],
         "source_updated_at": latest[e].source_updated_at, "created_at": now, "updated_at": now}
        for e in new
    ])
    if changed:
        conn.execute(
            update(ExternalRef).where(
                ExternalRef.integration_id == integration_id, ExternalRef.object_type == PRODUCT,
                ExternalRef.external_id == bindparam("b_ext"))
            .values(content_hash=bindparam("b_hash"), source_updated_at=bindparam("b_upd"),
                    updated_at=now),
            [{"b_ext": e, "b_hash": hashes[e], "b_upd": latest[e].source_updated_at}
             for e in changed])
