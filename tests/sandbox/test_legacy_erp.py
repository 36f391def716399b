"""The legacy ERP sandbox over HTTP (in process): auth kinds, paging styles, faults, routes."""

from __future__ import annotations

import base64
import warnings
from decimal import Decimal

import pytest
from starlette.routing import Match

from sandbox.legacy_erp import LegacyErpSandbox, LegacyErpSandboxConfig, create_app
from sandbox.legacy_erp.config import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
)
from sandbox.server import create_sandbox_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

KEY = {"X-API-Key": DEFAULT_API_KEY}


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(LegacyErpSandboxConfig(size=30, seed=2, default_page_size=10)))


def test_orders_need_the_key(client):
    for headers in ({}, {"X-API-Key": "nope"}):
        response = client.get("/api/orders", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


def test_orders_paged_with_link_and_exact_totals(client):
    response = client.get("/api/orders", headers=KEY, params={"page": 2})
    assert response.status_code == 200
    orders = response.json()
    assert [o["id"] for o in orders] == list(range(11, 21))
    assert response.headers["X-Total-Count"] == "30" and response.headers["X-Total-Pages"] == "3"
    assert 'rel="next"' in response.headers["Link"] and "page=3" in response.headers["Link"]
    for order in orders:
        lines = sum(Decimal(i["price"]) * i["quantity"] for i in order["line_items"])
        assert isinstance(order["total_amount"], str)
        assert lines + Decimal(order["tax_amount"]) + Decimal(order["shipping_amount"]) == \
            Decimal(order["total_amount"])
    last = client.get("/api/orders", headers=KEY, params={"page": 3})
    assert 'rel="next"' not in last.headers.get("Link", "")


def test_date_filter_and_bad_parameters(client):
    response = client.get("/api/orders", headers=KEY,
                          params={"from_date": "2024-01-01", "to_date": "2024-01-01",
                                  "per_page": 100})
    assert len(response.json()) == 24  # hourly orders
    assert client.get("/api/orders", headers=KEY,
                      params={"from_date": "yesterday"}).status_code == 400
    assert client.get("/api/orders", headers=KEY, params={"per_page": 1000}).status_code == 400


def test_deterministic_for_seed_and_prefix_stable():
    small = LegacyErpSandbox(LegacyErpSandboxConfig(seed=4, size=10))
    large = LegacyErpSandbox(LegacyErpSandboxConfig(seed=4, size=1_000_000))
    other = LegacyErpSandbox(LegacyErpSandboxConfig(seed=5, size=10))
    assert [small.data.order(i) for i in range(10)] == [large.data.order(i) for i in range(10)]
    assert small.data.order(3) != other.data.order(3)
    assert large.data.order(999_999)["id"] == 1_000_000  # lazily, without the others


def test_query_key_basic_and_oauth(client):
    response = client.get("/api/query/orders", params={"api_key": DEFAULT_API_KEY})
    assert response.status_code == 200 and DEFAULT_API_KEY not in response.headers["Link"]
    assert client.get("/api/query/orders", params={"api_key": "x"}).status_code == 401
    basic = base64.b64encode(f"{DEFAULT_USERNAME}:{DEFAULT_PASSWORD}".encode()).decode()
    assert client.get("/api/basic/orders",
                      headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert client.get("/api/basic/orders", headers=KEY).status_code == 401
    assert client.get("/api/v2/orders", headers={"Authorization": "Bearer x"}).status_code == 401
    token = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                              "client_id": DEFAULT_CLIENT_ID,
                                              "client_secret": DEFAULT_CLIENT_SECRET})
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    v2 = client.get("/api/v2/orders",
                    headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert v2.json()["meta"] == {"page": 1, "per_page": 10, "total": 30, "total_pages": 3}
    bad = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                            "client_id": DEFAULT_CLIENT_ID,
                                            "client_secret": "wrong"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


def test_customers_cursor_and_products_offset(client):
    first = client.get("/api/customers", headers=KEY, params={"limit": 100}).json()
    assert first["has_more"] and len(first["data"]) == 100
    rest = client.get("/api/customers", headers=KEY,
                      params={"limit": 100, "cursor": first["next_cursor"]}).json()
    assert not rest["has_more"] and rest["next_cursor"] is None and len(rest["data"]) == 20
    assert client.get("/api/customers", headers=KEY, params={"cursor": "zz"}).status_code == 400
    products = client.get("/api/products", headers=KEY, params={"offset": 70, "limit": 10})
    assert products.json()["total"] == 75 and len(products.json()["items"]) == 5


def test_429_fault_with_retry_after_then_recovery(client):
    client.post("/__sandbox/legacy_erp/control",
                json={"faults": {"http_429": {"count": 1, "retry_after": 2}}})
    throttled = client.get("/api/orders", headers=KEY)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    assert client.get("/api/orders", headers=KEY).status_code == 200
    stats = client.get("/__sandbox/legacy_erp/stats").json()
    assert stats["throttled"] == 1 and stats["pages_served"] == 1


def test_control_changes_the_dataset(client):
    state = client.post("/__sandbox/legacy_erp/control", json={"dataset": {"size": 5}}).json()
    assert state["dataset"]["size"] == 5
    assert len(client.get("/api/orders", headers=KEY).json()) == 5
    assert client.post("/__sandbox/legacy_erp/control", json={"colour": 1}).status_code == 400


def _concrete(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "1", path)


def test_routes_do_not_collide_with_the_other_sandboxes():
    mine = LegacyErpSandbox().routes()
    own = {(r.path, m) for r in mine for m in (r.methods or ["GET"])}
    # every other platform's route, as the composite sandbox serves them beside these
    others = [r for r in create_sandbox_app().routes
              if not {(r.path, m) for m in (getattr(r, "methods", None) or ["GET"])} <= own]
    for route in mine:
        for method in route.methods or ["GET"]:
            scope = {"type": "http", "path": route.path, "method": method}
            clashes = [o.path for o in others if o.matches(scope)[0] != Match.NONE]
            assert not clashes, f"{route.path} is also served by {clashes}"
    for other in others:
        path = _concrete(other.path)
        for method in getattr(other, "methods", None) or ["GET"]:
            scope = {"type": "http", "path": path, "method": method}
            assert all(r.matches(scope)[0] == Match.NONE for r in mine), path
