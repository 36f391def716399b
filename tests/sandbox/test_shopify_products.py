"""Sandbox catalog: products paging and filters, counts, SKU search, deletion events, stock
mutations with Shopify's user errors, and orders selling the catalog's variants."""

from __future__ import annotations

from sandbox.shopify.catalog import INVENTORY_ITEM_ID_BASE

UNKNOWN_ITEM = f"gid://shopify/InventoryItem/{INVENTORY_ITEM_ID_BASE - 1}"
PRODUCTS = """
query($first: Int!, $after: String, $query: String, $sortKey: ProductSortKeys, $reverse: Boolean) {
  products(first: $first, after: $after, query: $query, sortKey: $sortKey, reverse: $reverse) {
    nodes { id title status publishedAt updatedAt
            variants(first: 10) { nodes { sku price position inventoryItem { id } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
COUNT = "query($q: String) { productsCount(query: $q, limit: null) { count precision } }"
SET = """
mutation($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup {
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { field message code }
  }
}
"""
ADJUST = SET.replace("InventorySetQuantitiesInput", "InventoryAdjustQuantitiesInput").replace(
    "inventorySetQuantities", "inventoryAdjustQuantities"
)
LEVEL = """
query($id: ID!, $loc: ID!) {
  inventoryItem(id: $id) {
    inventoryLevel(locationId: $loc) { quantities(names: ["available"]) { quantity } }
  }
}
"""


def walk(shop, sort_key="ID", query=None, first=7, reverse=False):
    out, cursor = [], None
    while True:
        conn = shop.data(
            PRODUCTS,
            {
                "first": first,
                "after": cursor,
                "query": query,
                "sortKey": sort_key,
                "reverse": reverse,
            },
        )["products"]
        out += conn["nodes"]
        if not conn["pageInfo"]["hasNextPage"]:
            return out
        cursor = conn["pageInfo"]["endCursor"]


def test_catalog_is_deterministic_and_pages_in_every_sort_order(make_shop):
    shop = make_shop(size=50, products=40, seed=3)
    by_id = walk(shop)
    assert len(by_id) == 40 == len({p["id"] for p in by_id})
    assert by_id == walk(make_shop(size=50, products=40, seed=3))
    by_updated = walk(shop, "UPDATED_AT")
    assert [p["updatedAt"] for p in by_updated] == sorted(p["updatedAt"] for p in by_id)
    titles = [p["title"] for p in walk(shop, "TITLE", reverse=True)]
    assert titles == sorted(titles, reverse=True)
    for p in by_id:
        variants = p["variants"]["nodes"]
        assert 1 <= len(variants) <= 4
        assert [v["position"] for v in variants] == list(range(1, len(variants) + 1))
        assert all(v["price"].count(".") == 1 for v in variants)  # Money: "19.90"


def test_filters_and_counts_agree(make_shop):
    shop = make_shop(size=50, products=60)
    everything = walk(shop)
    cut = sorted(p["updatedAt"] for p in everything)[30]
    for query, check in [
        ("status:active", lambda p: p["status"] == "ACTIVE"),
        ("status:draft,archived", lambda p: p["status"] in ("DRAFT", "ARCHIVED")),
        ("published_status:published", lambda p: p["publishedAt"] is not None),
        ("published_status:unpublished", lambda p: p["publishedAt"] is None),
        ("published_status:any", lambda p: True),
        (f"updated_at:>='{cut}'", lambda p: p["updatedAt"] >= cut),
    ]:
        got = walk(shop, "UPDATED_AT", query)
        assert got == [p for p in walk(shop, "UPDATED_AT") if check(p)], query
        count = shop.data(COUNT, {"q": query})["productsCount"]
        assert count == {"count": len(got), "precision": "EXACT"}


def test_default_catalog_holds_every_variant_orders_sell(make_shop):
    shop = make_shop(size=30)
    orders = shop.data(
        "{ orders(first: 30) { nodes { lineItems(first: 20) { nodes { sku variant { id } } } } } }"
    )
    lines = [li for o in orders["orders"]["nodes"] for li in o["lineItems"]["nodes"]]
    sku = lines[0]["sku"]
    found = shop.data(
        "query($q: String) { productVariants(first: 5, query: $q) "
        "{ nodes { id sku product { id } } } }",
        {"q": f'sku:"{sku}"'},
    )["productVariants"]["nodes"]
    assert [v["id"] for v in found] == [lines[0]["variant"]["id"]]
    assert shop.data(COUNT)["productsCount"]["count"] == 160


def test_deleted_and_touched_products_show_up_incrementally(make_shop):
    from tests.sandbox.conftest import FakeClock

    clock = FakeClock(1_760_000_000)
    shop = make_shop(size=20, products=20, clock=clock)
    first = walk(shop)[0]
    legacy = int(first["id"].rsplit("/", 1)[1])
    assert shop.client.post(f"/__sandbox/products/{legacy + 1}/update", json={}).status_code == 200
    assert shop.client.post(f"/__sandbox/products/{legacy}/delete").status_code == 200
    assert shop.client.post(f"/__sandbox/products/{legacy}/delete").status_code == 404
    changed = walk(shop, "UPDATED_AT", "updated_at:>='2025-10-09T00:00:00Z'")
    assert [p["id"] for p in changed] == [f"gid://shopify/Product/{legacy + 1}"]
    events = shop.data("""{ deletionEvents(subjectTypes: [PRODUCT], first: 10,
        query: "occurred_at:>='2025-10-09T00:00:00Z'") {
          nodes { subjectId subjectType occurredAt } } }""")
    assert events["deletionEvents"]["nodes"] == [
        {"subjectId": first["id"], "subjectType": "PRODUCT", "occurredAt": "2025-10-09T08:53:20Z"}
    ]
    assert shop.data(COUNT)["productsCount"]["count"] == 19


def test_set_and_adjust_quantities_with_user_errors(make_shop):
    shop = make_shop(size=20, products=20)
    locs = shop.data("{ locations(first: 5) { nodes { id name isActive } } }")["locations"]["nodes"]
    assert 2 <= len(locs) <= 3 and all(loc["isActive"] for loc in locs)
    item = walk(shop)[0]["variants"]["nodes"][0]["inventoryItem"]["id"]
    loc = locs[0]["id"]
    ok = shop.gql(
        SET,
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "ignoreCompareQuantity": True,
                "quantities": [{"inventoryItemId": item, "locationId": loc, "quantity": 7}],
            }
        },
    )
    payload = ok["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    assert {
        "name": "available",
        "delta": payload["inventoryAdjustmentGroup"]["changes"][0]["delta"],
        "quantityAfterChange": 7,
        "item": {"id": item},
        "location": {"id": loc},
    } in payload["inventoryAdjustmentGroup"]["changes"]
    assert ok["extensions"]["cost"]["requestedQueryCost"] >= 10  # a mutation costs 10
    # A bad row (unknown item) fails the whole mutation, as Shopify does.
    bad = shop.data(
        SET,
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "ignoreCompareQuantity": True,
                "quantities": [
                    {"inventoryItemId": item, "locationId": loc, "quantity": 9},
                    {
                        "inventoryItemId": UNKNOWN_ITEM,
                        "locationId": loc,
                        "quantity": 1,
                    },
                    {
                        "inventoryItemId": item,
                        "locationId": "gid://shopify/Location/1",
                        "quantity": 1,
                    },
                    {"inventoryItemId": item, "locationId": loc, "quantity": -1},
                ],
            }
        },
    )
    errors = bad["inventorySetQuantities"]["userErrors"]
    assert bad["inventorySetQuantities"]["inventoryAdjustmentGroup"] is None
    assert [(e["code"], e["field"]) for e in errors] == [
        ("INVALID_INVENTORY_ITEM", ["input", "quantities", "1", "inventoryItemId"]),
        ("INVALID_LOCATION", ["input", "quantities", "2", "locationId"]),
        ("INVALID_QUANTITY_NEGATIVE", ["input", "quantities", "3", "quantity"]),
    ]
    level = {"id": item, "loc": loc}
    assert (
        shop.data(LEVEL, level)["inventoryItem"]["inventoryLevel"]["quantities"][0]["quantity"] == 7
    )
    stale = shop.data(
        SET,
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [{"inventoryItemId": item, "locationId": loc, "quantity": 3}],
            }
        },
    )
    assert stale["inventorySetQuantities"]["userErrors"][0]["code"] == "COMPARE_QUANTITY_REQUIRED"
    # Adjusting may take `available` below zero (overselling), as Shopify allows.
    adj = shop.data(
        ADJUST,
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "changes": [{"inventoryItemId": item, "locationId": loc, "delta": -10}],
            }
        },
    )
    changes = adj["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]["changes"]
    assert changes[0] == {
        "name": "available",
        "delta": -10,
        "quantityAfterChange": -3,
        "item": {"id": item},
        "location": {"id": loc},
    }
    bad_reason = shop.data(
        ADJUST,
        {
            "input": {
                "name": "available",
                "reason": "because",
                "changes": [{"inventoryItemId": item, "locationId": loc, "delta": 1}],
            }
        },
    )
    assert bad_reason["inventoryAdjustQuantities"]["userErrors"][0]["code"] == "INVALID_REASON"
