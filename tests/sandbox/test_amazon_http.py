"""The Amazon SP-API sandbox over HTTP (in-process): LWA, token expiry, getOrders rules and
paging, order items, reports and presigned documents, token buckets, faults, mounting."""

from __future__ import annotations

import gzip
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette

from bigledger.money import loads_exact
from sandbox.amazon import AmazonSandboxConfig, create_app
from sandbox.amazon.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
)
from sandbox.amazon.data import SETTLEMENT_REPORT_TYPE

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

HOST = "https://sellingpartnerapi-na.amazon.com"
US = "ATVPDKIKX0DER"
ORDERS = "/orders/v0/orders"
REPORTS = "/reports/2021-06-30/reports"
DOCUMENTS = "/reports/2021-06-30/documents"
CONTROL = "/__sandbox/amazon/control"
NOW = datetime(2024, 6, 1, tzinfo=UTC).timestamp()  # after every default dataset
START = "2024-01-01T00:00:00Z"


class Clock:
    """The sandbox's wall clock, moved by the test."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Seller:
    """One sandbox seller with an in-process client and shortcuts."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("throttling", False)
        config.setdefault("size", 300)
        self.clock = Clock()
        self.app = create_app(AmazonSandboxConfig(**config), clock=self.clock)
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app, base_url=HOST)
        self._token: str | None = None

    def grant(self, **form: str):
        body = {"grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN,
                "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
        body.update(form)
        return self.client.post("/auth/o2/token", data=body)

    def token(self) -> str:
        if self._token is None:
            response = self.grant()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def get(self, path: str, params: dict[str, Any] | None = None, token: str | None = None):
        return self.client.get(path, params=params,
                               headers={"x-amz-access-token": token or self.token()})

    def orders(self, **params: Any):
        params.setdefault("MarketplaceIds", US)
        return self.get(ORDERS, params)

    def control(self, **spec: Any) -> dict[str, Any]:
        response = self.client.post(CONTROL, json=spec)
        assert response.status_code == 200, response.text
        return response.json()


def errors(response) -> list[tuple[str, str]]:
    return [(e["code"], e["message"]) for e in response.json()["errors"]]


# ---- Login with Amazon ------------------------------------------------------------------


def test_lwa_refresh_grant_returns_an_hour_long_access_token():
    seller = Seller()
    response = seller.grant()
    assert response.status_code == 200 and response.headers["x-amzn-RequestId"]
    body = response.json()
    assert body["access_token"].startswith("Atza|") and body["token_type"] == "bearer"
    assert body["expires_in"] == 3600 and body["refresh_token"] == DEFAULT_REFRESH_TOKEN
    assert seller.grant().json()["access_token"] != body["access_token"]


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "amzn1.oa2-cs.v1.wrong"}, 401, "invalid_client"),
        ({"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|revoked-or-unknown"}, 400, "invalid_grant"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
        ({"refresh_token": ""}, 400, "invalid_request"),
    ],
)
def test_lwa_errors(form, status, error):
    seller = Seller()
    response = seller.grant(**form)
    assert response.status_code == status
    assert response.json()["error"] == error and response.json()["error_description"]
    assert seller.sandbox.stats.token_errors == 1 and seller.sandbox.stats.tokens_issued == 0


def test_lwa_wants_a_form_and_a_revoked_authorisation_is_invalid_grant():
    seller = Seller()
    json_body = seller.client.post("/auth/o2/token", json={"grant_type": "refresh_token"})
    assert json_body.status_code == 400 and json_body.json()["error"] == "invalid_request"
    seller.control(refresh_tokens=[])
    assert seller.grant().json()["error"] == "invalid_grant"


# ---- tokens on SP-API calls --------------------------------------------------------------


def test_expired_or_unknown_tokens_get_403_unauthorized():
    seller = Seller(access_token_ttl=60)
    token = seller.token()
    assert seller.orders(CreatedAfter=START, MaxResultsPerPage=1).status_code == 200
    seller.clock.advance(61)
    expired = seller.orders(CreatedAfter=START)
    assert expired.status_code == 403 and expired.headers["x-amzn-RequestId"]
    assert expired.json() == {"errors": [{
        "code": "Unauthorized", "message": "Access to requested resource is denied.",
        "details": "The access token you provided has expired."}]}  # fmt: skip
    assert "x-amzn-RateLimit-Limit" not in expired.headers
    unknown = seller.get(ORDERS, {"MarketplaceIds": US, "CreatedAfter": START},
                         token="Atza|made-up")  # fmt: skip
    assert unknown.status_code == 403 and unknown.json()["errors"][0]["details"] == ""
    assert seller.client.get(ORDERS).status_code == 403  # no header at all
    stats = seller.sandbox.stats
    assert (stats.unauthorized, stats.expired_tokens_refused) == (3, 1)
    assert token not in str(seller.sandbox.state())


def test_control_can_expire_every_token_now():
    seller = Seller()
    assert seller.get("/sellers/v1/marketplaceParticipations").status_code == 200
    seller.control(expire_tokens=True)
    assert seller.get("/sellers/v1/marketplaceParticipations").status_code == 403
    fresh = seller.grant().json()["access_token"]
    assert seller.get("/sellers/v1/marketplaceParticipations", token=fresh).status_code == 200


def test_marketplace_participations():
    body = Seller(marketplace_id="A1PA6795UKMFR9").get("/sellers/v1/marketplaceParticipations")
    (entry,) = body.json()["payload"]
    assert entry["marketplace"] == {
        "id": "A1PA6795UKMFR9", "countryCode": "DE", "name": "Amazon.de",
        "defaultCurrencyCode": "EUR", "defaultLanguageCode": "de_DE",
        "domainName": "www.amazon.de"}  # fmt: skip
    assert entry["participation"]["isParticipating"] is True


# ---- getOrders ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"MarketplaceIds": None, "CreatedAfter": START}, "MarketplaceIds"),
        ({"MarketplaceIds": "NOPE"}, "Invalid MarketplaceIds"),
        ({}, "Either 'CreatedAfter' or 'LastUpdatedAfter'"),
        ({"CreatedAfter": START, "LastUpdatedAfter": START}, "Only one of"),
        ({"CreatedAfter": START, "LastUpdatedBefore": "2024-01-02T00:00:00Z"}, "cannot be"),
        ({"LastUpdatedAfter": START, "CreatedBefore": "2024-01-02T00:00:00Z"}, "cannot be"),
        ({"CreatedAfter": "2024-01-02T00:00:00Z", "CreatedBefore": START}, "later than or equal"),
        ({"CreatedAfter": START, "CreatedBefore": "2024-05-31T23:59:00Z"}, "two minutes"),
        ({"CreatedAfter": "2024-05-31T23:59:00Z"}, "two minutes"),
        ({"CreatedAfter": "last tuesday"}, "ISO 8601"),
        ({"CreatedAfter": START, "MaxResultsPerPage": 0}, "MaxResultsPerPage"),
        ({"CreatedAfter": START, "MaxResultsPerPage": 101}, "MaxResultsPerPage"),
        ({"CreatedAfter": START, "OrderStatuses": "Shipped,Lost"}, "OrderStatuses"),
        ({"CreatedAfter": START, "FulfillmentChannels": "FBA"}, "FulfillmentChannels"),
        ({"CreatedAfter": START, "NextToken": "garbage"}, "NextToken"),
    ],
)
def test_get_orders_parameter_rules(params, message):
    seller = Seller()
    params = {"MarketplaceIds": US, **params}
    params = {k: v for k, v in params.items() if v is not None}
    response = seller.get(ORDERS, params)
    assert response.status_code == 400, response.text
    ((code, text),) = errors(response)
    assert code == "InvalidInput" and message in text
    assert seller.sandbox.stats.bad_requests == 1


def test_created_window_is_inclusive_and_pages_cover_it_exactly_once():
    seller = Seller(size=300)
    data = seller.sandbox.data
    low, high = data.created_ts(40), data.created_ts(140)
    wanted = [data.order_id(i) for i in range(40, 141)]
    got: list[str] = []
    params: dict[str, Any] = {"CreatedAfter": _iso(low), "CreatedBefore": _iso(high),
                              "MaxResultsPerPage": 30}
    pages = 0
    while True:
        payload = seller.orders(**params).json()["payload"]
        pages += 1
        got += [o["AmazonOrderId"] for o in payload["Orders"]]
        assert payload["CreatedBefore"] == _iso(high)
        if "NextToken" not in payload:
            break
        # NextToken alone carries the query; filters sent beside it are not needed.
        params = {"NextToken": payload["NextToken"]}
    assert got == wanted and pages == 4


def test_default_upper_bound_is_two_minutes_ago_and_lists_follow_filters():
    seller = Seller(size=300)
    data = seller.sandbox.data
    payload = seller.orders(CreatedAfter=START).json()["payload"]
    assert payload["CreatedBefore"] == _iso(int(NOW) - 120)
    assert len(payload["Orders"]) == 100 and "NextToken" in payload
    shipped_mfn = [data.order_id(i) for i in range(300)
                   if data.header(i).status in ("Shipped", "Canceled")
                   and data.header(i).channel == "MFN"]  # fmt: skip
    body = seller.orders(CreatedAfter=START, OrderStatuses="Shipped,Canceled",
                         FulfillmentChannels="MFN").json()["payload"]  # fmt: skip
    assert [o["AmazonOrderId"] for o in body["Orders"]] == shipped_mfn[:100]


def test_last_updated_window_selects_by_last_update_date():
    seller = Seller(size=300)
    data = seller.sandbox.data
    low, high = data.created_ts(100), data.created_ts(180)
    wanted = [data.order_id(i) for i in range(300) if low <= data.header(i).updated <= high]
    got, params = [], {"LastUpdatedAfter": _iso(low), "LastUpdatedBefore": _iso(high),
                       "MaxResultsPerPage": 25}  # fmt: skip
    while True:
        payload = seller.orders(**params).json()["payload"]
        got += [o["AmazonOrderId"] for o in payload["Orders"]]
        assert payload["LastUpdatedBefore"] == _iso(high) and "CreatedBefore" not in payload
        if "NextToken" not in payload:
            break
        params = {"NextToken": payload["NextToken"]}
    assert sorted(got) == sorted(wanted) and len(got) == len(set(got)) > 50
    for order in seller.orders(LastUpdatedAfter=_iso(low), LastUpdatedBefore=_iso(high)).json()[
            "payload"]["Orders"]:  # fmt: skip
        assert _iso(low) <= order["LastUpdateDate"] <= _iso(high)


def test_orders_carry_amazon_shapes_and_string_money():
    seller = Seller(size=300)
    orders = loads_exact(seller.orders(CreatedAfter=START).content)["payload"]["Orders"]
    statuses = {o["OrderStatus"] for o in orders}
    assert {"Shipped", "Pending", "Canceled"} <= statuses
    assert {o["FulfillmentChannel"] for o in orders} == {"AFN", "MFN"}
    for order in orders:
        parts = order["AmazonOrderId"].split("-")
        assert [len(p) for p in parts] == [3, 7, 7] and order["MarketplaceId"] == US
        assert order["PurchaseDate"] <= order["LastUpdateDate"]
        if order["OrderStatus"] in ("Pending", "Canceled"):
            assert "OrderTotal" not in order
        else:
            total = order["OrderTotal"]
            assert total["CurrencyCode"] == "USD" and isinstance(total["Amount"], str)


# ---- getOrderItems -----------------------------------------------------------------------


def test_order_items_page_with_their_own_next_token():
    seller = Seller(size=300, order_items_page_size=1)
    data = seller.sandbox.data
    index = next(i for i in range(300) if len(data.order(i).items) == 3)
    order_id = data.order_id(index)
    items, params = [], {}
    while True:
        payload = seller.get(f"{ORDERS}/{order_id}/orderItems", params).json()["payload"]
        assert payload["AmazonOrderId"] == order_id and len(payload["OrderItems"]) == 1
        items += payload["OrderItems"]
        if "NextToken" not in payload:
            break
        params = {"NextToken": payload["NextToken"]}
    assert [it["OrderItemId"] for it in items] == [it.item_id for it in data.order(index).items]
    other = data.order_id(index + 1)
    stolen = seller.get(f"{ORDERS}/{other}/orderItems", {"NextToken": _first_token(seller,
                                                                                   order_id)})
    assert stolen.status_code == 400


def _first_token(seller: Seller, order_id: str) -> str:
    return seller.get(f"{ORDERS}/{order_id}/orderItems").json()["payload"]["NextToken"]


def test_order_item_money_and_pending_items_without_prices():
    seller = Seller(size=300)
    data = seller.sandbox.data
    shipped = next(i for i in range(300) if data.header(i).status == "Shipped"
                   and any(it.quantity > 1 for it in data.order(i).items))  # fmt: skip
    payload = seller.get(f"{ORDERS}/{data.order_id(shipped)}/orderItems").json()["payload"]
    for item, source in zip(payload["OrderItems"], data.order(shipped).items, strict=True):
        assert item["QuantityOrdered"] == item["QuantityShipped"] == source.quantity
        assert item["ItemPrice"] == {"CurrencyCode": "USD",
                                     "Amount": data.api_amount(source.price)}  # fmt: skip
    pending = next(i for i in range(300) if data.header(i).status == "Pending")
    (item, *_) = seller.get(f"{ORDERS}/{data.order_id(pending)}/orderItems").json()[
        "payload"]["OrderItems"]  # fmt: skip
    assert "ItemPrice" not in item and item["QuantityShipped"] == 0
    missing = seller.get(f"{ORDERS}/111-0000000-0000000/orderItems")
    assert missing.status_code == 404 and errors(missing)[0][0] == "NotFound"
    single = seller.get(f"{ORDERS}/{data.order_id(shipped)}").json()["payload"]
    assert single == data.order_json(data.order(shipped))


# ---- reports and documents ---------------------------------------------------------------


def reports_seller(**config: Any) -> Seller:
    # One-day settlement periods: 300 orders make about two dozen reports.
    config.setdefault("settlement_days", 1)
    return Seller(**config)


def list_params(**extra: Any) -> dict[str, Any]:
    return {"reportTypes": SETTLEMENT_REPORT_TYPE, "createdSince": "2023-12-01T00:00:00Z",
            **extra}


def test_reports_list_newest_first_and_page_with_next_token_alone():
    seller = reports_seller()
    count = seller.sandbox.data.settlement_count()
    assert count > 20
    first = seller.get(REPORTS, list_params()).json()
    assert "payload" not in first and len(first["reports"]) == 10  # default pageSize
    ids, body = [], seller.get(REPORTS, list_params(pageSize=7)).json()
    while True:
        ids += [r["reportId"] for r in body["reports"]]
        if "nextToken" not in body:
            break
        body = seller.get(REPORTS, {"nextToken": body["nextToken"]}).json()
    data = seller.sandbox.data
    assert ids == [data.report_id(k) for k in range(count - 1, -1, -1)]
    report = first["reports"][0]
    assert report["reportType"] == SETTLEMENT_REPORT_TYPE and report["processingStatus"] == "DONE"
    assert report["marketplaceIds"] == [US] and report["reportDocumentId"].startswith(
        "amzn1.spdoc.")  # fmt: skip
    assert report["dataStartTime"] < report["dataEndTime"] < report["createdTime"]
    mixed = seller.get(REPORTS, {"nextToken": first["nextToken"], "pageSize": 5})
    assert mixed.status_code == 400 and "only parameter" in errors(mixed)[0][1]
    assert seller.get(REPORTS, {}).status_code == 400


def test_reports_filters_visibility_and_retention():
    seller = reports_seller()
    data = seller.sandbox.data
    created = [data.report_created(k) for k in range(data.settlement_count())]
    window = seller.get(REPORTS, list_params(createdSince=_iso(created[3]),
                                             createdUntil=_iso(created[5]))).json()
    assert [r["reportId"] for r in window["reports"]] == [data.report_id(k) for k in (5, 4, 3)]
    assert seller.get(REPORTS, {**list_params(), "reportTypes": "GET_FLAT_FILE_OPEN_LISTINGS_DATA"}
                      ).json()["reports"] == []  # fmt: skip
    # A report does not exist before its period has ended.
    seller.clock.now = created[2] + 1
    assert len(seller.get(REPORTS, list_params(pageSize=100)).json()["reports"]) == 3
    assert seller.get(f"{REPORTS}/{data.report_id(4)}").status_code == 404
    seller.clock.now = NOW
    assert seller.get(f"{REPORTS}/{data.report_id(4)}").json()["reportId"] == data.report_id(4)
    seller.control(enforce_retention=True)
    refused = seller.get(REPORTS, list_params())
    assert refused.status_code == 400 and "90 days" in errors(refused)[0][1]


def test_cancelled_settlement_reports_have_no_document():
    seller = reports_seller(cancelled_settlements=[1])
    data = seller.sandbox.data
    report = seller.get(f"{REPORTS}/{data.report_id(1)}").json()
    assert report["processingStatus"] == "CANCELLED" and "reportDocumentId" not in report
    assert seller.get(f"{DOCUMENTS}/{data.document_id(1)}").status_code == 404


def test_document_link_is_presigned_gzipped_and_expires():
    seller = reports_seller(document_url_ttl=300)
    data = seller.sandbox.data
    document_id = data.document_id(2)
    body = seller.get(f"{DOCUMENTS}/{document_id}").json()
    assert body["reportDocumentId"] == document_id and body["compressionAlgorithm"] == "GZIP"
    assert body["url"].startswith(f"{HOST}/__sandbox/amazon/s3/") and "X-Amz-Signature" in body[
        "url"]  # fmt: skip
    fetched = seller.client.get(body["url"])  # no SP-API token needed
    assert fetched.status_code == 200 and "content-encoding" not in fetched.headers
    text = gzip.decompress(fetched.content).decode()
    assert text == data.settlement_text(2) and text.startswith("settlement-id\t")
    seller.clock.advance(301)
    expired = seller.client.get(body["url"])
    assert expired.status_code == 403 and expired.headers["content-type"] == "application/xml"
    assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.content
    forged = seller.client.get(body["url"].replace("X-Amz-Expires=300", "X-Amz-Expires=9999"))
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content
    stats = seller.sandbox.stats
    assert (stats.documents_served, stats.documents_expired) == (1, 1)
    assert stats.documents_with_sp_api_headers == 0


def test_uncompressed_cp1252_documents_and_stale_links():
    seller = reports_seller(compress_documents=False, document_encoding="cp1252",
                            marketplace_id="A1PA6795UKMFR9")  # fmt: skip
    document_id = seller.sandbox.data.document_id(1)
    seller.control(faults={"stale_document_links": 1})
    stale = seller.get(f"{DOCUMENTS}/{document_id}").json()
    assert "compressionAlgorithm" not in stale
    assert seller.client.get(stale["url"]).status_code == 403
    fresh = seller.get(f"{DOCUMENTS}/{document_id}").json()
    content = seller.client.get(fresh["url"]).content
    assert content.decode("cp1252").splitlines()[1].split("\t")[5] == "EUR"
    assert seller.sandbox.stats.faults_served["stale_document_links"] == 1


# ---- rate limits and faults --------------------------------------------------------------


def test_token_bucket_per_operation_with_the_published_plan():
    seller = Seller(throttling=True)
    token = seller.token()
    ok = [seller.orders(CreatedAfter=START, MaxResultsPerPage=1) for _ in range(20)]
    assert all(r.status_code == 200 for r in ok)
    assert ok[0].headers["x-amzn-RateLimit-Limit"] == "0.0167"
    refused = seller.orders(CreatedAfter=START)
    assert refused.status_code == 429 and "x-amzn-RateLimit-Limit" not in refused.headers
    assert errors(refused) == [("QuotaExceeded",
                                "You exceeded your quota for the requested resource.")]
    # Another operation has its own bucket.
    participations = seller.get("/sellers/v1/marketplaceParticipations", token=token)
    assert participations.headers["x-amzn-RateLimit-Limit"] == "0.016"
    seller.clock.advance(1 / 0.0167)  # one token back
    assert seller.orders(CreatedAfter=START).status_code == 200
    assert seller.orders(CreatedAfter=START).status_code == 429
    assert seller.sandbox.stats.throttled == 2


def test_faster_usage_plans_and_buckets_per_seller():
    other_token = "Atzr|IwEBIsecond-seller-refresh-token-0000000000000000000000000000"
    seller = Seller(throttling=True, rate_multiplier=10, usage_plans=[("getOrderItems", 2, 3)],
                    refresh_tokens=[(DEFAULT_REFRESH_TOKEN, DEFAULT_SELLER_ID),
                                    (other_token, "A2SECONDSELLER")])  # fmt: skip
    order_id = seller.sandbox.data.order_id(0)
    items = f"{ORDERS}/{order_id}/orderItems"
    answers = [seller.get(items) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "20"  # 2/s × 10
    second = seller.grant(refresh_token=other_token).json()["access_token"]
    assert seller.get(items, token=second).status_code == 200  # its own bucket
    assert seller.orders(CreatedAfter=START).headers["x-amzn-RateLimit-Limit"] == "0.167"
    seller.clock.advance(0.05)  # one token at 20/s
    assert seller.get(items).status_code == 200


def test_armed_faults_fire_in_order_and_are_counted():
    seller = Seller()
    seller.control(faults={"http_429": 1, "http_5xx": {"count": 2, "status": 500}})
    answers = [seller.orders(CreatedAfter=START) for _ in range(4)]
    assert [r.status_code for r in answers] == [429, 500, 500, 200]
    assert errors(answers[1])[0][0] == "InternalFailure"
    seller.control(faults={"http_5xx": {"count": 1, "status": 503}})
    unavailable = seller.orders(CreatedAfter=START)
    assert unavailable.status_code == 503 and errors(unavailable)[0][0] == "ServiceUnavailable"
    assert seller.sandbox.stats.faults_served == {"http_429": 1, "http_5xx": 3,
                                                  "stale_document_links": 0}  # fmt: skip
    bad = seller.client.post(CONTROL, json={"faults": {"http_5xx": {"status": 502}}})
    assert bad.status_code == 400
    state = seller.client.get(CONTROL).json()
    assert state["usage_plans"]["getOrders"] == {"rate": "0.0167", "burst": 20}
    assert DEFAULT_CLIENT_SECRET not in str(state) and DEFAULT_REFRESH_TOKEN not in str(state)


def test_control_changes_the_dataset_and_stats_reset():
    seller = Seller()
    seller.control(dataset={"size": 12, "seed": 9, "marketplace_id": "A1VC38T7YXB528"},
                   reset_stats=True)  # fmt: skip
    orders = seller.orders(MarketplaceIds="A1VC38T7YXB528", CreatedAfter=START).json()
    assert len(orders["payload"]["Orders"]) == 12
    assert orders["payload"]["Orders"][0]["AmazonOrderId"].startswith("503-")
    stats = seller.client.get("/__sandbox/amazon/stats").json()
    assert stats["requests"]["getOrders"] == 1 and stats["tokens_issued"] == 1
    listing = seller.client.get("/__sandbox/amazon/settlements").json()
    assert listing and listing[0]["currency"] == "JPY" and listing[0]["number"] == 0


def test_routes_sit_beside_the_other_sandboxes():
    from sandbox.shopify import ShopifySandbox, ShopifySandboxConfig
    from sandbox.woocommerce import WooCommerceSandbox

    amazon = create_app(AmazonSandboxConfig(size=20, throttling=False)).state.sandbox
    app = Starlette(routes=[*ShopifySandbox(ShopifySandboxConfig(size=5)).routes(),
                            *WooCommerceSandbox().routes(), *amazon.routes()])  # fmt: skip
    client = TestClient(app, base_url=HOST)
    token = client.post("/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN,
        "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
    }).json()["access_token"]  # fmt: skip
    orders = client.get(ORDERS, params={"MarketplaceIds": US, "CreatedAfter": START},
                        headers={"x-amz-access-token": token})  # fmt: skip
    assert len(orders.json()["payload"]["Orders"]) == 20
    amazon_paths = {r.path for r in amazon.routes()}
    others = {r.path for r in app.routes} - amazon_paths
    assert all(not p.startswith(("/admin", "/wp-json", "/v1")) for p in amazon_paths)
    assert not amazon_paths & others


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
