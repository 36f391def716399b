"""product_to_documents over recorded-shape fixtures: exact money and weight, status,
publication, stock per location, and clear errors for data it cannot map."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bigledger.errors import DataMappingError
from bigledger.money import loads_exact
from transforms.documents import InventoryLevelDoc
from transforms.shopify_products import product_to_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"


def load(name: str) -> dict:
    return loads_exact((FIXTURES / name).read_bytes())


def test_active_product_with_variants_and_stock():
    doc = product_to_documents(load("product_active_with_inventory.json"), "MYR")
    assert (doc.external_id, doc.status, doc.published) == (
        "8000000000002",
        "active",
        True,
    )
    assert doc.source_updated_at == datetime(2023, 8, 31, 1, 13, tzinfo=UTC)
    first, second = doc.variants  # ordered by position
    assert (first.sku, first.price_minor, first.compare_at_price_minor) == (
        "OCM-002-1",
        12499,
        14990,
    )
    assert (first.weight, first.weight_unit, first.barcode) == ("0.1", "KILOGRAMS", "7072175797293")
    assert (second.price_minor, second.compare_at_price_minor, second.weight) == (
        13749,
        None,
        "75.5",
    )
    assert first.inventory_item_external_id == "49000000000020"
    assert doc.inventory[0] == InventoryLevelDoc(
        "49000000000021",
        "61000000000",
        -2,
        datetime(2023, 8, 31, 1, 13, tzinfo=UTC),
    )
    assert sorted(level.available for level in doc.inventory) == [-2, 0, 75]


def test_draft_unpublished_jpy_without_inventory():
    doc = product_to_documents(load("product_draft_unpublished_jpy.json"), "JPY")
    assert (doc.status, doc.published, doc.inventory) == ("draft", False, ())
    variant = doc.variants[0]
    assert (variant.price_minor, variant.compare_at_price_minor, variant.currency) == (
        4990,
        5500,
        "JPY",
    )
    assert (variant.weight, variant.weight_unit) == ("2.0", "POUNDS")  # the Float's JSON text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(status="GONE"), "unknown status 'GONE'"),
        (lambda p: p["variants"]["nodes"][0].update(price="124.999"), "more than 2 decimals"),
        (lambda p: p["variants"]["nodes"][0].update(price=None), "has no price"),
        (lambda p: p["variants"]["pageInfo"].update(hasNextPage=True), "variants is incomplete"),
        (
            lambda p: p["variants"]["nodes"][0]["inventoryItem"]["measurement"]["weight"].update(
                value=0.1
            ),
            "parsed as float",
        ),
        (
            lambda p: p["variants"]["nodes"][0]["inventoryItem"]["measurement"]["weight"].update(
                unit="STONES"
            ),
            "unknown weight unit",
        ),
        (
            lambda p: p["variants"]["nodes"][0]["inventoryItem"]["inventoryLevels"]["nodes"][
                0
            ].update(quantities=[]),
            "no integer 'available' quantity",
        ),
        (lambda p: p.update(updatedAt="yesterday"), "is not a time"),
    ],
)
def test_bad_data_is_a_clear_mapping_error(change, message):
    product = copy.deepcopy(load("product_active_with_inventory.json"))
    change(product)
    with pytest.raises(DataMappingError, match=message):
        product_to_documents(product, "MYR")


def test_weight_is_exact_for_every_float_text():
    fixture = (FIXTURES / "product_active_with_inventory.json").read_text()
    assert '"value": 0.1,' in fixture
    for text in ("0.30000000000000004", "1E+2", "12.50"):
        raw = fixture.replace('"value": 0.1,', f'"value": {text},')
        doc = product_to_documents(loads_exact(raw), "MYR")
        assert Decimal(doc.variants[0].weight) == Decimal(text)
