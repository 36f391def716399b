"""Loading products: idempotent, variants upserted, stock per location, deletions kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from ledger.catalog import load_product_batch, mark_products_deleted
from ledger.models import InventoryLevel, Location, Product, ProductVariant
from tests.ledger.helpers import dump, make_integration
from transforms.documents import InventoryLevelDoc, ProductDoc, VariantDoc

T0 = datetime(2024, 3, 1, tzinfo=UTC)
TABLES = ("products", "product_variants", "locations", "inventory_levels", "external_refs")


def variant(n: int, sku: str, price: int = 1990) -> VariantDoc:
    return VariantDoc(f"v{n}", sku, f"Size {n}", price, "MYR", None, None, "0.25", "KILOGRAMS",
                      f"ii{n}", n)


def product(n: int = 1, *variants: VariantDoc, stock: tuple = (), **kw) -> ProductDoc:
    levels = tuple(InventoryLevelDoc(item, loc, qty, T0) for item, loc, qty in stock)
    base = ProductDoc(f"p{n}", f"Widget {n}", f"widget-{n}", "active", "ACME", "Widgets", True,
                      T0, variants or (variant(1, "W-1"),), levels)
    return replace(base, **kw)


def test_products_with_variants_and_stock_load_once(ledger_engine):
    doc = product(1, variant(1, "W-S"), variant(2, "W-L"),
                  stock=(("ii1", "loc-a", 5), ("ii1", "loc-b", 7), ("ii2", "loc-a", 0)))
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        first = load_product_batch(conn, iid, [doc])
    before = dump(ledger_engine, TABLES)
    with ledger_engine.begin() as conn:
        again = load_product_batch(conn, iid, [doc])
    assert (first.created, first.variants_written, first.levels_written) == (1, 2, 3)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert dump(ledger_engine, TABLES) == before
    with ledger_engine.connect() as conn:
        levels = conn.execute(select(ProductVariant.sku, Location.external_id,
                                     InventoryLevel.available)
                              .join(ProductVariant, ProductVariant.id == InventoryLevel.variant_id)
                              .join(Location, Location.id == InventoryLevel.location_id)
                              .order_by(ProductVariant.sku, Location.external_id)).all()
    assert [tuple(r) for r in levels] == [("W-L", "loc-a", 0), ("W-S", "loc-a", 5),
                                          ("W-S", "loc-b", 7)]


def test_a_change_updates_and_a_dropped_variant_becomes_inactive(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        load_product_batch(conn, iid, [product(1, variant(1, "W-S"), variant(2, "W-L"))])
        result = load_product_batch(conn, iid, [product(1, variant(1, "W-S", price=2490),
                                                        title="Widget Pro")])
        assert result.updated == 1
        rows = dict(conn.execute(select(ProductVariant.sku, ProductVariant.is_active)).all())
        price = conn.execute(select(ProductVariant.price_minor)
                             .where(ProductVariant.sku == "W-S")).scalar_one()
        title = conn.execute(select(Product.title)).scalar_one()
    assert rows == {"W-S": True, "W-L": False} and price == 2490 and title == "Widget Pro"


def test_a_deleted_product_is_marked_not_erased(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        load_product_batch(conn, iid, [product(1), product(2, variant(2, "W-2"))])
        assert mark_products_deleted(conn, iid, ["p1"]) == 1
        assert mark_products_deleted(conn, iid, ["p1"]) == 0
        statuses = dict(conn.execute(select(Product.external_id, Product.status)).all())
        active = dict(conn.execute(select(ProductVariant.sku, ProductVariant.is_active)).all())
        # the same product reappearing upstream is written again
        back = load_product_batch(conn, iid, [product(1)])
        status_after = conn.execute(select(Product.status)
                                    .where(Product.external_id == "p1")).scalar_one()
    assert statuses == {"p1": "deleted", "p2": "active"}
    assert active == {"W-1": False, "W-2": True}
    assert back.updated == 1 and status_after == "active"
