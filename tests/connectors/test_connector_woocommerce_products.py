"""WooCommerceConnector's products, SKU lookup, stock writes and customers, against the
sandbox in process."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.woocommerce import CustomerFilter, ProductFilter, StockResult
from tests.connectors.test_connector_woocommerce import Store


@pytest.fixture
def store() -> Store:
    store = Store(size=20, seed=5, catalog_size=45, customer_pool=25)
    store.sandbox.catalog.clock = lambda: 1_800_000_000.0
    return store


def test_pages_carry_complete_products(store):
    with store.connector() as woo:
        pages = list(woo.iter_product_pages(ProductFilter(), per_page=20))
    assert [(p.page, p.total_pages, len(p.records)) for p in pages] == [(1, 3, 20), (2, 3, 20),
                                                                       (3, 3, 5)]  # fmt: skip
    products = [r for p in pages for r in p.records]
    assert [p["id"] for p in products] == sorted(p["id"] for p in products)
    variable = [p for p in products if p["type"] == "variable"]
    assert variable
    for product in variable:
        expected = store.sandbox.catalog.variations(product["id"])
        assert [v["id"] for v in product["variations"]] == [v["id"] for v in expected]
        assert all(v["parent_id"] == product["id"] for v in product["variations"])
    assert all(p["variations"] == [] for p in products if p["type"] == "simple")


def test_incremental_filter_sees_only_what_changed(store):
    since = datetime(2026, 1, 1, tzinfo=UTC)
    with store.connector() as woo:
        assert woo.fetch_products_page(ProductFilter(modified_from=since)).records == []
        woo.set_stock([("SKU-0012", 3)])
        changed = woo.fetch_products_page(ProductFilter(modified_from=since)).records
    assert [(p["id"], p["stock_quantity"]) for p in changed] == [(12, 3)]


def test_find_by_sku_resolves_products_and_variations(store):
    catalog = store.sandbox.catalog
    variable = next(p for p in map(catalog.product, catalog.product_ids())
                    if p["type"] == "variable")  # fmt: skip
    variation = catalog.variations(variable["id"])[1]
    with store.connector() as woo:
        found = woo.find_by_sku(["SKU-0010", variation["sku"], "NOPE-1"])
    assert found == {
        "SKU-0010": {"product_id": 10, "variation_id": None},
        variation["sku"]: {"product_id": variable["id"], "variation_id": variation["id"]},
    }


def test_set_stock_reports_each_item_and_is_idempotent(store):
    catalog = store.sandbox.catalog
    variable = next(p for p in map(catalog.product, catalog.product_ids())
                    if p["type"] == "variable")  # fmt: skip
    variation = catalog.variations(variable["id"])[0]
    items = [("SKU-0010", 7), ("GHOST-SKU", 4), (variation["sku"], 11), ("SKU-0011", -1)]
    with store.connector() as woo:
        results = woo.set_stock(items)
        assert results == [
            StockResult("SKU-0010", True, 7),
            StockResult("GHOST-SKU", False, None, "UNKNOWN_SKU",
                        "no product or variation has SKU 'GHOST-SKU'"),
            StockResult(variation["sku"], True, 11),
            StockResult("SKU-0011", False, None, "NEGATIVE_QUANTITY", "quantity -1 is negative"),
        ]  # fmt: skip
        before = catalog.product(10)["date_modified_gmt"]
        assert woo.set_stock(items) == results
    assert catalog.product(10)["stock_quantity"] == 7
    assert catalog.product(10)["date_modified_gmt"] == before
    assert catalog.variation(variable["id"], variation["id"])["stock_quantity"] == 11
    # A batch per target collection, plus one SKU lookup, per call.
    posts = [r for r in store.requests if r.method == "POST"]
    assert {r.url.path for r in posts} == {"/wp-json/wc/v3/products/batch",
                                           f"/wp-json/wc/v3/products/{variable['id']}/variations/batch"}


def test_set_stock_retries_a_server_error(store):
    store.control(faults={"http_5xx": {"count": 1}})
    with store.connector() as woo:
        assert woo.set_stock([("SKU-0013", 2)]) == [StockResult("SKU-0013", True, 2)]


def test_customers_pages_and_filters(store):
    with store.connector() as woo:
        pages = list(woo.iter_customer_pages(CustomerFilter(), per_page=10))
        assert [len(p.records) for p in pages] == [10, 10, 5]
        email = pages[0].records[3]["email"]
        one = woo.fetch_customers_page(CustomerFilter(email=email))
        assert [c["email"] for c in one.records] == [email]
        since = datetime(2023, 11, 2, 20, tzinfo=UTC)
        recent = [c for p in woo.iter_customer_pages(CustomerFilter(modified_from=since))
                  for c in p.records]  # fmt: skip
    assert recent and all(c["date_modified_gmt"] >= "2023-11-02T20:00:00" for c in recent)
