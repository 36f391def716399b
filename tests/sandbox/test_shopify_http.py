"""The HTTP face of the Shopify sandbox: path, versions, auth, bodies and GraphQL errors."""

from __future__ import annotations

from connectors.shopify_queries import SHOP_QUERY
from tests.sandbox.conftest import GRAPHQL_PATH, TOKEN

UNAUTHORIZED = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}


def test_missing_or_wrong_token_is_401_with_shopify_body(make_shop):
    shop = make_shop(size=10)
    missing = shop.post(SHOP_QUERY, headers={})
    wrong = shop.post(SHOP_QUERY, headers={"X-Shopify-Access-Token": "shpat_wrong"})
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
    assert shop.stats()["unauthorized"] == 2


def test_tokens_are_configurable(make_shop):
    shop = make_shop(size=10, access_tokens=("shpat_a", "shpat_b"))
    assert shop.post(SHOP_QUERY).status_code == 401  # the default token is not in the list
    ok = shop.post(SHOP_QUERY, headers={"X-Shopify-Access-Token": "shpat_b"})
    assert ok.status_code == 200
    shop.control(access_tokens=["shpat_c"])
    assert shop.post(SHOP_QUERY, headers={"X-Shopify-Access-Token": "shpat_b"}).status_code == 401


def test_any_quarterly_or_unstable_version_is_served_and_echoed(make_shop):
    shop = make_shop(size=10)
    headers = {"X-Shopify-Access-Token": TOKEN}
    for version in ("2024-04", "2025-01", "unstable"):
        response = shop.client.post(
            f"/admin/api/{version}/graphql.json", json={"query": SHOP_QUERY}, headers=headers
        )
        assert response.status_code == 200
        assert response.headers["X-Shopify-API-Version"] == version
    bad = shop.client.post("/admin/api/latest/graphql.json", json={"query": SHOP_QUERY})
    assert bad.status_code == 404


def test_shop_query(make_shop):
    shop = make_shop(size=10, currency="JPY", shop_name="Tokyo Test")
    data = shop.data(SHOP_QUERY)["shop"]
    assert data["name"] == "Tokyo Test"
    assert data["currencyCode"] == "JPY"
    assert data["ianaTimezone"] == "Asia/Tokyo"
    assert data["myshopifyDomain"].endswith(".myshopify.com")
    assert data["plan"] == {"displayName": "Basic"}
    assert data["id"].startswith("gid://shopify/Shop/")


def test_missing_query_is_400(make_shop):
    shop = make_shop(size=10)
    headers = {"X-Shopify-Access-Token": TOKEN}
    for body in ({}, {"query": 5}):
        response = shop.client.post(GRAPHQL_PATH, json=body, headers=headers)
        assert response.status_code == 400
        assert response.json() == {"errors": {"query": "Required parameter missing or invalid"}}
    broken = shop.client.post(GRAPHQL_PATH, content=b"{nope", headers=headers)
    assert broken.status_code == 400


def test_application_graphql_body_is_accepted(make_shop):
    shop = make_shop(size=10)
    response = shop.client.post(
        GRAPHQL_PATH,
        content=b"{ shop { name } }",
        headers={"X-Shopify-Access-Token": TOKEN, "Content-Type": "application/graphql"},
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"shop": {"name": "BigLedger Sandbox"}}


def test_validation_errors_come_back_like_shopify(make_shop):
    shop = make_shop(size=10)
    response = shop.post("{ shop { name nope } }")
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert "nope" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 15}]
    assert error["extensions"]["code"] == "undefinedField"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 0  # nothing charged
    assert shop.stats()["invalid_queries"] == 1


def test_more_validation_error_codes(make_shop):
    shop = make_shop(size=10)
    cases = {
        "{ orders(first: 1, bogus: 2) { nodes { id } } }": "argumentNotAccepted",
        "{ order { id } }": "missingRequiredArguments",
        "{ shop }": "selectionMismatch",
        "query Q($n: Int) { shop { name } }": "variableNotUsed",
        "{ orders(first: $n) { nodes { id } } }": "variableNotDefined",
        '{ orders(first: "x") { nodes { id } } }': "argumentLiteralsIncompatible",
    }
    for query, code in cases.items():
        body = shop.gql(query)
        assert code in {e["extensions"]["code"] for e in body["errors"]}, (query, body)
    syntax = shop.gql("{ shop { name ")
    assert syntax["errors"][0]["extensions"]["code"] == "parseError"
    assert syntax["errors"][0]["locations"]


def test_bad_variables_are_reported_without_data(make_shop):
    shop = make_shop(size=10)
    body = shop.gql("query Q($n: Int!) { orders(first: $n) { nodes { id } } }", {"n": "ten"})
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    missing = shop.gql("query Q($n: Int!) { orders(first: $n) { nodes { id } } }", {})
    assert missing["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"


def test_operation_name_selects_the_operation(make_shop):
    shop = make_shop(size=10)
    document = "query A { shop { name } } query B { shop { currencyCode } }"
    response = shop.client.post(
        GRAPHQL_PATH,
        json={"query": document, "operationName": "B"},
        headers={"X-Shopify-Access-Token": TOKEN},
    )
    assert response.json()["data"] == {"shop": {"currencyCode": "MYR"}}


def test_health_route_of_the_composite_app():
    from sandbox.server import create_sandbox_app
    from tests.sandbox.conftest import TestClient

    app = create_sandbox_app(size=5)
    client = TestClient(app)
    assert client.get("/__sandbox/health").json() == {
        "status": "ok",
        "platforms": ["shopify", "woocommerce", "paypal", "stripe", "amazon", "quickbooks",
                      "xero", "legacy_erp"]}
    response = client.post(
        GRAPHQL_PATH, json={"query": SHOP_QUERY}, headers={"X-Shopify-Access-Token": TOKEN}
    )
    assert response.status_code == 200
    assert app.state.shopify.config.size == 5
