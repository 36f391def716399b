"""The WooCommerce REST v3 sandbox over HTTP (in-process): paging headers, filters, auth,
error bodies, faults and its place in the composite sandbox app."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bigledger.money import loads_exact, to_minor
from sandbox.woocommerce import WooCommerceSandboxConfig, create_app
from sandbox.woocommerce.config import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET
from sandbox.woocommerce.data import OrderDataset

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ORDERS = "/wp-json/wc/v3/orders"
CONTROL = "/__sandbox/woocommerce/control"
AUTH = (DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)


@pytest.fixture
def store():
    app = create_app(WooCommerceSandboxConfig(size=95, seed=7, utc_offset_minutes=480))
    client = TestClient(app, base_url="https://shop.example")
    client.auth = AUTH
    return client, app.state.sandbox


def test_default_page_and_wordpress_paging_headers(store):
    client, _ = store
    first = client.get(ORDERS)
    assert first.status_code == 200
    assert len(first.json()) == 10
    assert first.headers["X-WP-Total"] == "95" and first.headers["X-WP-TotalPages"] == "10"
    assert first.headers["Link"] == f'<https://shop.example{ORDERS}?page=2>; rel="next"'
    # Newest first by default; ascending by id on request.
    ids = [o["id"] for o in first.json()]
    assert ids == sorted(ids, reverse=True)
    last = client.get(ORDERS, params={"per_page": 20, "page": 5, "order": "asc"})
    assert len(last.json()) == 15 and last.headers["X-WP-TotalPages"] == "5"
    assert 'rel="prev"' in last.headers["Link"] and 'rel="next"' not in last.headers["Link"]
    assert "page=4" in last.headers["Link"] and "per_page=20" in last.headers["Link"]
    assert client.get(ORDERS, params={"page": 11}).json() == []


def test_money_is_decimal_strings_and_times_have_gmt_twins(store):
    client, _ = store
    order = loads_exact(client.get(f"{ORDERS}/1000").content)
    assert isinstance(order["total"], str) and Decimal(order["total"]) >= 0
    assert all(isinstance(x["total"], str) for x in order["line_items"])
    created = datetime.fromisoformat(order["date_created"])
    created_gmt = datetime.fromisoformat(order["date_created_gmt"])
    assert (created - created_gmt).total_seconds() == 8 * 3600


@pytest.mark.parametrize(
    ("params", "param"),
    [({"per_page": 101}, "per_page"), ({"page": 0}, "page"), ({"status": "shipped"}, "status"),
     ({"orderby": "title"}, "orderby"), ({"after": "yesterday"}, "after")],
)
def test_bad_parameters_get_wordpress_errors(store, params, param):
    client, _ = store
    response = client.get(ORDERS, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == f"Invalid parameter(s): {param}"
    assert body["data"]["status"] == 400 and param in body["data"]["params"]


def test_status_and_date_filters(store):
    client, sandbox = store
    data = sandbox.data
    every = [data.order(i) for i in range(data.size)]
    wanted = [o["id"] for o in every if o["status"] in ("pending", "on-hold")]
    got = []
    for page in (1, 2, 3):
        r = client.get(ORDERS, params={"status": "pending,on-hold", "per_page": 3, "page": page,
                                       "order": "asc", "orderby": "id"})  # fmt: skip
        got += [o["id"] for o in r.json()]
    assert r.headers["X-WP-Total"] == str(len(wanted))
    assert got == wanted[:9]
    # `after`/`before` compare strictly, as WordPress's date query does.
    pivot = every[40]["date_created_gmt"]
    r = client.get(ORDERS, params={"after": pivot, "dates_are_gmt": "true", "per_page": 100})
    assert r.headers["X-WP-Total"] == str(95 - 41)
    r = client.get(ORDERS, params={"before": pivot, "dates_are_gmt": "true", "per_page": 100})
    assert r.headers["X-WP-Total"] == "40"
    # Without dates_are_gmt the bounds are the site's local time (UTC+8 here).
    local = every[40]["date_created"]
    assert client.get(ORDERS, params={"after": local}).headers["X-WP-Total"] == str(95 - 41)
    mod = every[10]["date_modified_gmt"]
    r = client.get(ORDERS, params={"modified_after": mod, "dates_are_gmt": "1"})
    assert r.headers["X-WP-Total"] == str(95 - 11)


def test_authentication_errors_follow_woocommerce(store):
    client, _ = store
    anonymous = TestClient(client.app, base_url="https://shop.example")
    r = anonymous.get(ORDERS)
    assert r.status_code == 401
    assert r.json() == {"code": "woocommerce_rest_cannot_view",
                        "message": "Sorry, you cannot list resources.",
                        "data": {"status": 401}}  # fmt: skip
    r = anonymous.get(ORDERS, auth=(DEFAULT_CONSUMER_KEY, "cs_wrong"))
    assert r.json()["code"] == "woocommerce_rest_authentication_error"
    assert r.json()["message"] == "Consumer secret is invalid."
    r = anonymous.get(ORDERS, auth=("ck_unknown", "cs_wrong"))
    assert r.json()["message"] == "Consumer key is invalid."
    # The query-string fallback for servers that strip Authorization.
    r = anonymous.get(ORDERS, params={"consumer_key": AUTH[0], "consumer_secret": AUTH[1]})
    assert r.status_code == 200
    # The namespace index is public, as in WordPress.
    assert anonymous.get("/wp-json/wc/v3").json()["namespace"] == "wc/v3"
    assert anonymous.get("/wp-json/wc/v3/system_status").status_code == 401
    assert client.get("/wp-json/wc/v3/system_status").json()["settings"]["currency"] == "USD"


def test_single_order_and_unknown_routes(store):
    client, sandbox = store
    assert client.get(f"{ORDERS}/1004").json() == sandbox.data.order(1)
    r = client.get(f"{ORDERS}/1001")
    assert r.status_code == 404 and r.json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    r = client.get("/wp-json/wc/v3/widgets")
    assert r.status_code == 404 and r.json()["code"] == "rest_no_route"


def test_faults_are_switched_by_the_control_route(store):
    client, _ = store
    spec = {"faults": {"http_5xx": {"count": 1, "status": 502}, "http_429": {"count": 1,
            "retry_after": 2}, "malformed": 1}}  # fmt: skip
    assert client.post(CONTROL, json=spec).status_code == 200
    assert client.get(ORDERS).status_code == 502
    r = client.get(ORDERS)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert r.json()["data"]["status"] == 429
    with pytest.raises(ValueError):
        loads_exact(client.get(ORDERS).content)
    assert client.get(ORDERS).status_code == 200
    client.post(CONTROL, json={"faults": {"token_revoked": True}})
    r = client.get(ORDERS)
    assert r.status_code == 401 and r.json()["message"] == "Consumer key is invalid."
    state = client.post(CONTROL, json={"clear_faults": True, "dataset": {"size": 3}}).json()
    assert state["dataset"]["size"] == 3
    assert client.get(ORDERS).headers["X-WP-Total"] == "3"
    stats = client.get("/__sandbox/woocommerce/stats").json()
    assert stats["faults_served"]["http_5xx"] == 1 and stats["unauthorized"] == 1
    assert client.post(CONTROL, json={"dataset": {"colour": "blue"}}).status_code == 422


def test_composite_sandbox_serves_woocommerce_beside_shopify():
    from sandbox.server import create_sandbox_app

    app = create_sandbox_app(size=5, woocommerce=WooCommerceSandboxConfig(size=4))
    client = TestClient(app)
    assert client.get("/__sandbox/health").status_code == 200
    assert client.get(ORDERS, auth=AUTH).headers["X-WP-Total"] == "4"
    shop = client.post("/admin/api/2025-01/graphql.json", json={"query": "{ shop { name } }"},
                       headers={"X-Shopify-Access-Token": "shpat_sandbox_token"})  # fmt: skip
    assert shop.status_code == 200 and "errors" not in shop.json()
    assert client.get("/__sandbox/control").json()["dataset"]["size"] == 5


def test_generation_is_deterministic_and_sizes_are_prefixes():
    small = OrderDataset(WooCommerceSandboxConfig(size=50, seed=3))
    large = OrderDataset(WooCommerceSandboxConfig(size=5000, seed=3))
    assert [small.order(i) for i in range(50)] == [large.order(i) for i in range(50)]
    assert small.order(7) != OrderDataset(WooCommerceSandboxConfig(seed=4)).order(7)


def test_every_order_satisfies_woocommerce_arithmetic():
    for currency in ("USD", "JPY", "KWD"):
        data = OrderDataset(WooCommerceSandboxConfig(size=400, currency=currency))
        for i in range(400):
            o = data.order(i)

            def m(text: str) -> int:
                return to_minor(text, currency)  # noqa: B023

            lines, fees, ships = o["line_items"], o["fee_lines"], o["shipping_lines"]
            cart_tax = sum(m(x["total_tax"]) for x in lines + fees)
            assert cart_tax == m(o["cart_tax"]) == sum(m(t["tax_total"]) for t in o["tax_lines"])
            ship_tax = sum(m(s["total_tax"]) for s in ships)
            assert ship_tax == m(o["shipping_tax"]) == sum(
                m(t["shipping_tax_total"]) for t in o["tax_lines"])
            assert m(o["discount_total"]) == sum(m(x["subtotal"]) - m(x["total"]) for x in lines)
            assert m(o["total_tax"]) == cart_tax + ship_tax
            assert m(o["total"]) == (sum(m(x["total"]) for x in lines + fees + ships)
                                     + cart_tax + ship_tax)  # fmt: skip
            assert sum(-m(r["total"]) for r in o["refunds"]) <= m(o["total"])
            for x in lines + fees + ships:
                assert m(x["total_tax"]) == sum(m(t["total"]) for t in x["taxes"])
    created = [data.created_ts(i) for i in range(400)]
    assert created == sorted(set(created))
    assert datetime.fromtimestamp(created[0], UTC).year == 2024
