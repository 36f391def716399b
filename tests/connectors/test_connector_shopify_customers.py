"""ShopifyConnector's customer operations against the in-process sandbox: a full sync that
sees every customer exactly once, then an incremental one by updated_at, and the count."""

from __future__ import annotations

from datetime import datetime

import pytest

from connectors.shopify import CustomerFilter, CustomerSortKey, ShopifyConnector
from sandbox.shopify import ShopifySandboxConfig, create_app
from sandbox.shopify.data import CUSTOMER_ID_BASE
from tests.connectors.test_connector_shopify_products import AppTransport
from tests.sandbox.conftest import FakeClock
from transforms.shopify_customers import customer_updated_at

NOW = 1_760_000_000  # 2025-10-09T08:53:20Z, after every generated customer
POOL = 57


@pytest.fixture
def shop():
    clock = FakeClock(NOW)
    app = create_app(
        ShopifySandboxConfig(size=80, customer_pool=POOL, seed=3, throttling=False, clock=clock)
    )
    conn = ShopifyConnector(
        "sandbox.myshopify.com",
        "shpat_sandbox_token",
        base_url="http://127.0.0.1",
        transport=AppTransport(app),
        budget_seconds=5,
    )
    return app, conn, clock


def ids(pages):
    return [c["legacyResourceId"] for page in pages for c in page.records]


@pytest.mark.parametrize("sort_key", list(CustomerSortKey))
def test_paging_sees_every_customer_exactly_once(shop, sort_key):
    _, conn, _ = shop
    flt = CustomerFilter(sort_key=sort_key)
    pages = list(conn.iter_customer_pages(flt, first=10))
    assert len(pages) == 6 and all(len(p.records) <= 10 for p in pages)
    seen = ids(pages)
    assert len(seen) == len(set(seen)) == POOL == conn.count_customers(flt)
    assert set(seen) == {str(CUSTOMER_ID_BASE + k) for k in range(POOL)}
    if sort_key is CustomerSortKey.UPDATED_AT:
        stamps = [c["updatedAt"] for p in pages for c in p.records]
        assert stamps == sorted(stamps)
    assert pages[-1].has_next_page is False and pages[0].cost is not None


def test_default_page_size_is_cost_safe(shop):
    _, conn, _ = shop
    assert conn.max_customers_page_size() == 250  # 2 + 250 x 3 <= 1000
    page = conn.fetch_customers_page(CustomerFilter())
    assert len(page.records) == POOL and not page.has_next_page
    assert page.cost.requested <= 1000
    node = page.records[0]
    assert set(node) >= {"id", "email", "firstName", "lastName", "numberOfOrders", "state",
                         "amountSpent", "updatedAt", "defaultEmailAddress"}  # fmt: skip
    with pytest.raises(ValueError):
        conn.fetch_customers_page(CustomerFilter(), first=0)


def test_incremental_by_updated_at(shop):
    app, conn, clock = shop
    full = [c for p in conn.iter_customer_pages(CustomerFilter()) for c in p.records]
    high_water = max(customer_updated_at(c) for c in full)
    flt = CustomerFilter(updated_from=high_water)
    # The bound is inclusive: only the newest customer(s) come back before any change.
    assert {c["updatedAt"] for p in conn.iter_customer_pages(flt) for c in p.records} == {
        max(c["updatedAt"] for c in full)
    }
    client = AppTransport(app).client
    for legacy in (CUSTOMER_ID_BASE + 4, CUSTOMER_ID_BASE + 40):
        clock.advance(60)
        response = client.post(f"/__sandbox/customers/{legacy}/update", json={"lastName": "New"})
        assert response.status_code == 200
    changed = CustomerFilter(updated_from=datetime.fromtimestamp(NOW, high_water.tzinfo))
    records = [c for p in conn.iter_customer_pages(changed, first=1) for c in p.records]
    assert [c["legacyResourceId"] for c in records] == [
        str(CUSTOMER_ID_BASE + 4), str(CUSTOMER_ID_BASE + 40)
    ]  # fmt: skip
    assert all(c["lastName"] == "New" for c in records)
    assert conn.count_customers(changed) == 2


def test_filter_validation_and_search_text():
    assert CustomerFilter().to_search_query() is None
    flt = CustomerFilter(updated_from=datetime.fromisoformat("2024-05-01T10:00:00.5+02:00"))
    assert flt.to_search_query() == "updated_at:>='2024-05-01T08:00:00Z'"
    assert flt.sort_key is CustomerSortKey.UPDATED_AT
    with pytest.raises(ValueError):
        CustomerFilter(updated_from=datetime(2024, 1, 1))
