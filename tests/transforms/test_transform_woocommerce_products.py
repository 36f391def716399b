"""WooCommerce product and customer -> documents, on hand-written fixtures and the sandbox."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bigledger.errors import DataMappingError
from bigledger.money import loads_exact
from sandbox.woocommerce.catalog import Catalog
from sandbox.woocommerce.config import WooCommerceSandboxConfig
from sandbox.woocommerce.data import OrderDataset
from transforms.woocommerce_customers import customer_to_document
from transforms.woocommerce_products import product_to_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "woocommerce"


def load(name: str) -> dict:
    return loads_exact((FIXTURES / name).read_bytes())


def test_simple_product_on_sale_is_its_own_variant_with_stock():
    doc = product_to_documents(load("product_simple_sale.json"), "USD")
    assert (doc.external_id, doc.title, doc.status, doc.published) == ("10", doc.title, "active",
                                                                       True)  # fmt: skip
    assert doc.product_type == "Kitchen" and doc.handle == "organic-coffee-beans-500g"
    assert doc.source_updated_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    [variant] = doc.variants
    assert (variant.external_id, variant.sku, variant.price_minor,
            variant.compare_at_price_minor) == ("10", "SKU-0010", 1519, 1899)  # fmt: skip
    assert (variant.weight, variant.weight_unit, variant.barcode) == ("0.50", "KILOGRAMS",
                                                                      "0123456789012")  # fmt: skip
    [level] = doc.inventory
    assert (level.inventory_item_external_id, level.location_external_id, level.available) == (
        "10", "default", 42)  # fmt: skip


def test_unmanaged_simple_product_has_no_stock_level_and_jpy_prices():
    doc = product_to_documents(load("product_simple_unmanaged.json"), "JPY", weight_unit="g")
    assert doc.status == "draft" and not doc.published and doc.inventory == ()
    [variant] = doc.variants
    assert variant.sku is None and variant.price_minor == 50 and variant.compare_at_price_minor \
        is None  # fmt: skip
    assert variant.weight is None and variant.weight_unit is None


def test_variable_product_variants_are_its_variations_in_menu_order():
    doc = product_to_documents(load("product_variable.json"), "USD")
    assert [v.external_id for v in doc.variants] == ["900304", "900305", "900306"]
    assert [v.position for v in doc.variants] == [1, 2, 3]
    small, medium, large = doc.variants
    assert medium.title == "Organic Cotton Tee - M" and medium.sku == "SKU-0048-M"
    assert (medium.price_minor, medium.compare_at_price_minor) == (2520, 2800)
    assert small.compare_at_price_minor is None
    # Own weight, else the parent's, kept as the exact string.
    assert (medium.weight, small.weight) == ("0.25", "0.2")
    # Unmanaged S has no level; L's stock is held by the parent ("parent").
    assert large.inventory_item_external_id == "48"
    levels = {lv.inventory_item_external_id: lv.available for lv in doc.inventory}
    assert levels == {"900305": 12, "48": 7}
    assert {lv.location_external_id for lv in doc.inventory} == {"default"}


def test_variations_still_as_ids_are_refused():
    product = load("product_variable.json")
    product["variations"] = [900304, 900305]
    with pytest.raises(DataMappingError, match="fetch them first"):
        product_to_documents(product, "USD")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("price", 19.9, "price"), ("price", "1.999", "price"), ("status", "weird", "status"),
     ("id", "10", "id"), ("stock_quantity", "5", "stock_quantity")],
)  # fmt: skip
def test_bad_fields_are_mapping_errors(field, value, message):
    product = copy.deepcopy(load("product_simple_sale.json"))
    product[field] = value
    with pytest.raises(DataMappingError, match=message):
        product_to_documents(product, "USD")


def test_every_sandbox_product_maps():
    config = WooCommerceSandboxConfig(catalog_size=60, seed=3)
    catalog = Catalog(config, OrderDataset(config))
    for pid in catalog.product_ids():
        product = catalog.product(pid)
        if product["type"] == "variable":
            product["variations"] = catalog.variations(pid)
        doc = product_to_documents(product, "USD")
        assert doc.variants and all(v.sku for v in doc.variants)
        assert all(v.price_minor > 0 for v in doc.variants)


def test_customer_falls_back_to_billing():
    doc = customer_to_document(load("customer.json"))
    assert (doc.external_id, doc.email, doc.first_name, doc.last_name, doc.name) == (
        "7", "ben.5@example.com", "Ben", "Tan", "Ben Tan")  # fmt: skip
    with pytest.raises(DataMappingError):
        customer_to_document({"id": 0})
