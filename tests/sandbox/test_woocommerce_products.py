"""The WooCommerce sandbox's products, variations, customers and stock writes (in process)."""

from __future__ import annotations

import warnings

import pytest

from sandbox.woocommerce import WooCommerceSandboxConfig, create_app
from sandbox.woocommerce.config import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET
from sandbox.woocommerce.data import OrderDataset

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PRODUCTS = "/wp-json/wc/v3/products"
CUSTOMERS = "/wp-json/wc/v3/customers"
CONTROL = "/__sandbox/woocommerce/control"


@pytest.fixture
def store():
    app = create_app(WooCommerceSandboxConfig(size=50, seed=7, catalog_size=40,
                                              customer_pool=30))  # fmt: skip
    client = TestClient(app, base_url="https://shop.example")
    client.auth = (DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)
    sandbox = app.state.sandbox
    sandbox.catalog.clock = lambda: 1_800_000_000.0
    return client, sandbox


def test_paging_headers_and_filters(store):
    client, _ = store
    first = client.get(PRODUCTS, params={"per_page": 15, "orderby": "id", "order": "asc"})
    assert first.status_code == 200
    assert first.headers["X-WP-Total"] == "40" and first.headers["X-WP-TotalPages"] == "3"
    assert 'rel="next"' in first.headers["Link"]
    ids = [p["id"] for p in first.json()]
    assert ids == list(range(10, 25))
    assert client.get(PRODUCTS, params={"per_page": 101}).status_code == 400
    variable = client.get(PRODUCTS, params={"type": "variable", "per_page": 100}).json()
    assert variable and all(p["type"] == "variable" and p["variations"] for p in variable)
    drafts = client.get(PRODUCTS, params={"status": "draft", "per_page": 100}).json()
    assert all(p["status"] == "draft" for p in drafts)
    assert client.get(PRODUCTS, params={"status": "nope"}).json()["code"] == "rest_invalid_param"


def test_catalog_skus_match_the_order_lines_and_money_is_strings(store):
    client, sandbox = store
    data = OrderDataset(sandbox.config)
    order_skus = {li["sku"] for i in range(50) for li in data.order(i)["line_items"]}
    skus = ",".join(sorted(order_skus))
    found = client.get(PRODUCTS, params={"sku": skus, "per_page": 100}).json()
    assert {p["sku"] for p in found} == order_skus
    product = client.get(f"{PRODUCTS}/10").json()
    assert product["name"] == "Organic Coffee Beans 500g" and product["price"] == "18.99"
    assert isinstance(product["weight"], str) and product["manage_stock"] is True


def test_variations_paged_and_sku_search_finds_them(store):
    client, _ = store
    variable = client.get(PRODUCTS, params={"type": "variable"}).json()[0]
    path = f"{PRODUCTS}/{variable['id']}/variations"
    one = client.get(path, params={"per_page": 1})
    assert one.headers["X-WP-Total"] == str(len(variable["variations"]))
    variation = one.json()[0]
    assert variation["parent_id"] == variable["id"] and variation["sku"]
    hit = client.get(PRODUCTS, params={"sku": variation["sku"]}).json()
    assert [(h["type"], h["id"], h["parent_id"]) for h in hit] == [
        ("variation", variation["id"], variable["id"])]  # fmt: skip


def test_modified_after_and_stock_writes_persist(store):
    client, _ = store
    after = "2026-01-01T00:00:00"
    params = {"modified_after": after, "dates_are_gmt": "true"}
    assert client.get(PRODUCTS, params=params).json() == []
    put = client.put(f"{PRODUCTS}/10", json={"stock_quantity": 5, "manage_stock": True,
                                             "name": "ignored"})  # fmt: skip
    assert put.status_code == 200
    assert put.json()["stock_quantity"] == 5 and put.json()["name"] != "ignored"
    changed = client.get(PRODUCTS, params=params).json()
    assert [p["id"] for p in changed] == [10]
    assert changed[0]["date_modified_gmt"] == "2027-01-15T08:00:00"
    assert client.get(f"{PRODUCTS}/10").json()["stock_quantity"] == 5
    # The same level again changes nothing, not even the date.
    client.put(f"{PRODUCTS}/10", json={"stock_quantity": 5, "manage_stock": True})
    assert client.get(f"{PRODUCTS}/10").json()["date_modified_gmt"] == "2027-01-15T08:00:00"
    zero = client.put(f"{PRODUCTS}/10", json={"stock_quantity": 0}).json()
    assert zero["stock_status"] == "outofstock"
    bad = client.put(f"{PRODUCTS}/10", json={"stock_quantity": "many"})
    assert bad.status_code == 400 and bad.json()["code"] == "rest_invalid_param"


def test_variation_write_and_batches(store):
    client, _ = store
    variable = client.get(PRODUCTS, params={"type": "variable"}).json()[0]
    pid, vids = variable["id"], variable["variations"]
    put = client.put(f"{PRODUCTS}/{pid}/variations/{vids[0]}",
                     json={"stock_quantity": 9, "manage_stock": True})  # fmt: skip
    assert put.json()["stock_quantity"] == 9 and put.json()["manage_stock"] is True
    batch = client.post(f"{PRODUCTS}/{pid}/variations/batch",
                        json={"update": [{"id": vids[1], "stock_quantity": 3,
                                          "manage_stock": True}, {"id": 1, "stock_quantity": 1}]})
    answers = batch.json()["update"]
    assert answers[0]["stock_quantity"] == 3
    assert answers[1]["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"
    products = client.post(f"{PRODUCTS}/batch", json={"update": [
        {"id": 11, "stock_quantity": 77, "manage_stock": True}, {"id": 9999}]}).json()["update"]
    assert products[0]["stock_quantity"] == 77
    assert products[1]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    assert client.get(f"{PRODUCTS}/11").json()["stock_quantity"] == 77


def test_unknown_ids_are_wordpress_404s_and_auth_and_faults_apply(store):
    client, _ = store
    for response in (client.get(f"{PRODUCTS}/9999"), client.put(f"{PRODUCTS}/9999", json={}),
                     client.get(f"{PRODUCTS}/9999/variations")):  # fmt: skip
        assert response.status_code == 404
        assert response.json() == {"code": "woocommerce_rest_product_invalid_id",
                                   "message": "Invalid ID.", "data": {"status": 404}}
    assert client.get(PRODUCTS, auth=("ck_x", "cs_x")).status_code == 401
    assert client.post(CONTROL, json={"faults": {"http_5xx": {"count": 1}}}).status_code == 200
    assert client.get(PRODUCTS).status_code >= 500
    assert client.get(PRODUCTS).status_code == 200


def test_customers_match_the_order_buyers(store):
    client, sandbox = store
    page = client.get(CUSTOMERS, params={"per_page": 10, "orderby": "id", "order": "asc"})
    assert page.headers["X-WP-Total"] == "30" and page.headers["X-WP-TotalPages"] == "3"
    data = OrderDataset(sandbox.config)
    buyers = {(o["customer_id"], o["billing"]["email"]) for o in map(data.order, range(50))
              if o["customer_id"]}  # fmt: skip
    everyone = {(c["id"], c["email"]) for c in client.get(CUSTOMERS, params={"per_page": 100})
                .json()}  # fmt: skip
    assert buyers <= everyone
    email = next(iter(buyers))[1]
    assert [c["email"] for c in client.get(CUSTOMERS, params={"email": email}).json()] == [email]
    late = client.get(CUSTOMERS, params={"modified_after": "2023-11-02T20:00:00",
                                         "dates_are_gmt": "true", "per_page": 100}).json()
    assert 0 < len(late) < 30
