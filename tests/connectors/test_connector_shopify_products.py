"""ShopifyConnector's catalog operations against the in-process sandbox: full then
incremental product sync, deleted products, SKU resolution, inventory set/adjust."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from connectors.shopify import InventoryResult, ProductFilter, ProductSortKey, ShopifyConnector
from sandbox.shopify import ShopifySandboxConfig, create_app
from tests.sandbox.conftest import FakeClock, TestClient
from transforms.shopify_products import product_to_documents

NOW = 1_760_000_000  # 2025-10-09T08:53:20Z, after every generated product


class AppTransport(httpx.BaseTransport):
    """Sends the connector's requests to the sandbox app in process (no socket)."""

    def __init__(self, app) -> None:
        self.client = TestClient(app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.client.request(
            request.method, request.url.path, content=request.read(), headers=dict(request.headers)
        )
        return httpx.Response(
            response.status_code,
            headers={k: v for k, v in response.headers.items() if k.lower() != "content-length"},
            content=response.content,
        )


@pytest.fixture
def shop():
    clock = FakeClock(NOW)
    app = create_app(
        ShopifySandboxConfig(
            size=40, products=45, seed=5, currency="MYR", throttling=False, clock=clock
        )
    )
    conn = ShopifyConnector(
        "sandbox.myshopify.com",
        "shpat_sandbox_token",
        base_url="http://127.0.0.1",
        transport=AppTransport(app),
        budget_seconds=5,
        variants_first=2,
        inventory_levels_first=1,
    )
    return app, conn, clock


def all_products(conn, flt, **options):
    return [p for page in conn.iter_product_pages(flt, **options) for p in page.records]


def test_full_then_incremental_sync(shop):
    app, conn, clock = shop
    sandbox = app.state.sandbox
    full = all_products(conn, ProductFilter(), include_inventory=True)
    assert len(full) == 45 == conn.count_products(ProductFilter())
    catalog = sandbox.catalog
    for product in full:  # complete despite pages of 2 variants and 1 level
        truth = catalog.products[int(product["legacyResourceId"])]
        assert len(product["variants"]["nodes"]) == len(truth["_variants"])
        for variant in product["variants"]["nodes"]:
            assert len(variant["inventoryItem"]["inventoryLevels"]["nodes"]) == len(
                catalog.locations
            )
        doc = product_to_documents(product, "MYR")
        assert len(doc.inventory) == len(doc.variants) * len(catalog.locations)
    cursor = max(datetime.fromisoformat(p["updatedAt"]) for p in full)
    incremental = ProductFilter(updated_from=cursor)
    assert [p["id"] for p in all_products(conn, incremental)] == [
        p["id"] for p in full if datetime.fromisoformat(p["updatedAt"]) == cursor
    ]
    touched = full[3]
    clock.advance(60)
    sandbox.catalog.touch(int(touched["legacyResourceId"]))
    since = datetime.fromtimestamp(NOW, UTC)
    assert [p["id"] for p in all_products(conn, ProductFilter(updated_from=since))] == [
        touched["id"]
    ]


def test_filters_render_shopify_search_syntax(shop):
    _, conn, _ = shop
    flt = ProductFilter(
        updated_from=datetime(2024, 1, 1, tzinfo=UTC),
        statuses=["active"],
        published_status="published",
        sort_key=ProductSortKey.TITLE,
    )
    assert flt.to_search_query() == (
        "updated_at:>='2024-01-01T00:00:00Z' status:active published_status:published"
    )
    products = all_products(conn, flt, include_variants=False)
    assert products and all(p["status"] == "ACTIVE" and p["publishedAt"] for p in products)
    assert [p["title"] for p in products] == sorted(p["title"] for p in products)
    assert "variants" not in products[0]
    assert len(products) == conn.count_products(flt)
    unpublished = all_products(conn, ProductFilter(published_status="unpublished"))
    assert all(p["publishedAt"] is None for p in unpublished)


def test_deleted_products_are_listed(shop):
    app, conn, clock = shop
    ids = [
        p["legacyResourceId"] for p in all_products(conn, ProductFilter(), include_variants=False)
    ]
    app.state.sandbox.catalog.delete(int(ids[0]))
    clock.advance(3600)
    app.state.sandbox.catalog.delete(int(ids[1]))
    events = list(conn.iter_deleted_products())
    assert [e["subjectId"] for e in events] == [f"gid://shopify/Product/{i}" for i in ids[:2]]
    later = list(conn.iter_deleted_products(datetime.fromtimestamp(NOW + 1800, UTC)))
    assert [e["subjectId"] for e in later] == [f"gid://shopify/Product/{ids[1]}"]
    assert conn.count_products(ProductFilter()) == 43


def test_skus_resolve_and_inventory_set_and_adjust_report_each_item(shop):
    app, conn, _ = shop
    catalog = app.state.sandbox.catalog
    variants = catalog.variants()[:3]
    skus = [v["sku"] for v in variants]
    resolved = conn.resolve_skus([*skus, "NO-SUCH-SKU"])
    assert set(resolved) == set(skus)
    assert resolved[skus[0]] == {
        "variant_id": variants[0]["id"],
        "inventory_item_id": variants[0]["inventoryItem"]["id"],
        "product_id": variants[0]["product"]["id"],
    }
    locations = conn.list_locations()
    assert [loc["id"] for loc in locations] and all(loc["isActive"] for loc in locations)
    loc = locations[0]["id"]
    items = [resolved[s]["inventory_item_id"] for s in skus]
    unknown_item = "gid://shopify/InventoryItem/1"
    unknown_loc = "gid://shopify/Location/999"
    results = conn.set_inventory(
        [(items[0], loc, 5), (unknown_item, loc, 1), (items[1], unknown_loc, 2), (items[2], loc, 0)]
    )
    assert results[0] == InventoryResult(items[0], loc, True, quantity=5, delta=results[0].delta)
    assert results[3].applied and results[3].quantity == 0
    assert not results[1].applied and results[1].error["code"] == "INVALID_INVENTORY_ITEM"
    assert not results[2].applied and results[2].error["code"] == "INVALID_LOCATION"
    assert (
        catalog.level(int(items[0].rsplit("/", 1)[1]), int(loc.rsplit("/", 1)[1]))["_q"][
            "available"
        ]
        == 5
    )
    adjusted = conn.adjust_inventory([(items[0], loc, -8), (items[1], unknown_loc, 1)])
    assert adjusted[0] == InventoryResult(items[0], loc, True, quantity=-3, delta=-8)
    assert adjusted[1].error["code"] == "INVALID_LOCATION"
    negative = conn.set_inventory([(items[0], loc, -1)])
    assert negative[0].error["code"] == "INVALID_QUANTITY_NEGATIVE"
    bad_reason = conn.adjust_inventory([(items[0], loc, 1), (items[1], loc, 1)], reason="whim")
    assert [r.error["code"] for r in bad_reason] == ["INVALID_REASON", "INVALID_REASON"]
