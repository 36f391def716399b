"""AmazonConnector against the Amazon sandbox: in process with one shared fake clock (so
token expiry and token-bucket pacing are exact and instant), plus one run over real HTTP."""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from bigledger.errors import AuthFailed, InvalidCredentials, PlatformError
from connectors.amazon import (
    LWA_TOKEN_URL,
    PACING_HEADROOM,
    AmazonConnector,
    OrderFilter,
    check_amazon_credentials,
)
from sandbox.amazon import AmazonSandboxConfig, create_app
from sandbox.amazon.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
)
from tests.connectors.fakes import FakeTime

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

US = "ATVPDKIKX0DER"
NOW = datetime(2024, 6, 1, tzinfo=UTC)
SINCE = datetime(2024, 1, 1, tzinfo=UTC)
CREDENTIALS = {"sellerId": DEFAULT_SELLER_ID, "marketplaceId": US, "clientId": DEFAULT_CLIENT_ID,
               "clientSecret": DEFAULT_CLIENT_SECRET, "refreshToken": DEFAULT_REFRESH_TOKEN}


class Seller:
    """A sandbox seller and connectors wired to it in process, sharing one fake clock."""

    def __init__(self, **config: Any) -> None:
        self.time = FakeTime(NOW.timestamp())
        self.app = create_app(AmazonSandboxConfig(**config), clock=self.time.clock)
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app, base_url="https://sellingpartnerapi-na.amazon.com")
        self.requests: list[httpx.Request] = []

    def _forward(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.client.request(request.method, str(request.url),
                                       headers=request.headers, content=request.content)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=response.content)  # fmt: skip

    def connector(self, **kw: Any) -> AmazonConnector:
        kw.setdefault("budget_seconds", 60.0)
        args = {"seller_id": DEFAULT_SELLER_ID, "marketplace_id": US,
                "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
                "refresh_token": DEFAULT_REFRESH_TOKEN}  # fmt: skip
        for key in list(args):
            if key in kw:
                args[key] = kw.pop(key)
        return AmazonConnector(
            **args, transport=httpx.MockTransport(self._forward), sleep=self.time.sleep,
            clock=self.time.clock, wall_clock=self.time.clock, rand=lambda: 0.5, **kw,
        )  # fmt: skip

    def control(self, **spec: Any) -> None:
        assert self.client.post("/__sandbox/amazon/control", json=spec).status_code == 200

    def calls(self, path_part: str) -> list[httpx.Request]:
        return [r for r in self.requests if path_part in r.url.path]


def test_every_order_with_all_its_items_across_pages():
    seller = Seller(size=230, order_items_page_size=2)
    data = seller.sandbox.data
    with seller.connector() as amazon:
        pages = list(amazon.iter_order_pages(OrderFilter(created_after=SINCE)))
    assert [(len(p.records), p.has_next_page) for p in pages] == [(100, True), (100, True),
                                                                  (30, False)]  # fmt: skip
    assert pages[0].end_cursor and pages[-1].end_cursor is None
    assert all(p.window_end == NOW - timedelta(minutes=2) for p in pages)
    orders = [o for p in pages for o in p.records]
    assert [o["AmazonOrderId"] for o in orders] == [data.order_id(i) for i in range(230)]
    for i in (0, 57, 229):
        assert orders[i]["OrderItems"] == data.items_json(data.order(i))
    multi = [o for o in orders if len(o["OrderItems"]) == 3]
    assert multi  # three items at two per page: the items' NextToken was followed
    follow = seller.calls("/orders/v0/orders")[1:]
    pages_after_first = [r for r in follow if not r.url.path.endswith("orderItems")]
    assert [set(r.url.params) for r in pages_after_first] == [{"MarketplaceIds", "NextToken"}] * 2
    first = seller.calls("/orders/v0/orders")[0].url.params
    assert (first["CreatedAfter"], first["CreatedBefore"], first["MaxResultsPerPage"]) == (
        "2024-01-01T00:00:00Z", "2024-05-31T23:58:00Z", "100")  # fmt: skip
    assert first["MarketplaceIds"] == US
    assert seller.requests[0].headers.get("x-amz-access-token") is None  # the LWA call
    assert seller.requests[1].headers["x-amz-access-token"].startswith("Atza|")
    # A page can be fetched again from its cursor (a resumed sync).
    with seller.connector() as amazon:
        again = amazon.fetch_orders_page(OrderFilter(created_after=SINCE), pages[0].end_cursor)
    assert [o["AmazonOrderId"] for o in again.records] == [o["AmazonOrderId"]
                                                           for o in pages[1].records]


def test_paced_to_the_published_plan_without_a_single_429():
    seller = Seller(size=70, throttling=True)
    with seller.connector() as amazon:
        pages = list(amazon.iter_order_pages(OrderFilter(created_after=SINCE)))
    assert sum(len(p.records) for p in pages) == 70
    stats = seller.sandbox.stats
    assert stats.throttled == 0 and stats.requests["getOrderItems"] == 70
    # Burst 30 at once, then one token per 2 s (0.5/s, paced 5 % under) for the other 40.
    assert sum(seller.time.sleeps) == pytest.approx(80.0 / PACING_HEADROOM, abs=0.01)


def test_a_wrong_burst_meets_429s_and_backs_off_to_finish():
    seller = Seller(size=70, throttling=True)
    # Believing in a burst of 60 where the seller has 30: the sandbox refuses the 31st call.
    with seller.connector(usage_plans={"getOrderItems": (0.5, 60)}) as amazon:
        orders = [o for p in amazon.iter_order_pages(OrderFilter(created_after=SINCE))
                  for o in p.records]  # fmt: skip
    assert len(orders) == 70 and all(o["OrderItems"] for o in orders)
    assert seller.sandbox.stats.throttled == 1  # one refusal, then it paces: no storm
    assert seller.time.sleeps[0] == pytest.approx(2.0 / PACING_HEADROOM)  # a token at 0.5/s


@pytest.mark.parametrize(("multiplier", "waited"), [(10, 8.0), (0.5, 160.0)])
def test_adapts_to_the_plan_amazon_states(multiplier, waited):
    seller = Seller(size=70, throttling=True, rate_multiplier=multiplier)
    with seller.connector() as amazon:
        orders = [o for p in amazon.iter_order_pages(OrderFilter(created_after=SINCE))
                  for o in p.records]  # fmt: skip
        assert amazon.limits.rate("getOrderItems") == 0.5 * multiplier
    assert len(orders) == 70 and seller.sandbox.stats.throttled == 0
    assert sum(seller.time.sleeps) == pytest.approx(waited / PACING_HEADROOM, abs=0.01)


def test_access_token_is_refreshed_before_it_expires():
    seller = Seller(size=5, access_token_ttl=120)
    with seller.connector(refresh_margin_seconds=60) as amazon:
        amazon.check_connection()
        old = amazon.auth.access_token
        seller.time.sleep(110)  # still valid for 10 s, but inside the margin
        amazon.check_connection()
        assert amazon.auth.access_token != old
        seller.time.sleep(20)
        amazon.check_connection()
    stats = seller.sandbox.stats
    assert stats.tokens_issued == 2 and stats.unauthorized == 0
    # The token it dropped would have been refused by now.
    refused = seller.client.get("/sellers/v1/marketplaceParticipations",
                                headers={"x-amz-access-token": old})  # fmt: skip
    assert refused.status_code == 403


def test_a_token_expired_early_is_refreshed_once_on_403():
    seller = Seller(size=5)
    with seller.connector() as amazon:
        amazon.check_connection()
        seller.control(expire_tokens=True)
        assert amazon.check_connection()["marketplace"] == "Amazon.com"
    stats = seller.sandbox.stats
    assert (stats.expired_tokens_refused, stats.tokens_issued) == (1, 2)


def test_revoked_authorisation_fails_clearly_without_secrets():
    seller = Seller(size=5)
    seller.control(refresh_tokens=[])
    with seller.connector() as amazon, pytest.raises(AuthFailed) as caught:
        amazon.check_connection()
    message = str(caught.value)
    assert "invalid_grant" in message
    assert DEFAULT_REFRESH_TOKEN not in message and DEFAULT_CLIENT_SECRET not in message
    wrong = "amzn1.oa2-cs.v1.definitely-not-the-secret-000000"
    with seller.connector(client_secret=wrong) as amazon, pytest.raises(AuthFailed) as caught:
        amazon.check_connection()
    assert "invalid_client" in str(caught.value) and wrong not in str(caught.value)


def test_secrets_stay_out_of_repr_and_logs(caplog):
    seller = Seller(size=20)
    caplog.set_level(logging.DEBUG)
    seller.control(faults={"http_5xx": 1, "stale_document_links": 1})
    with seller.connector() as amazon:
        list(amazon.iter_order_pages(OrderFilter(created_after=SINCE)))
        report = amazon.list_settlement_reports(SINCE)[0]
        amazon.download_report(report["reportDocumentId"])
        token = amazon.auth.access_token
        shown = repr(amazon) + repr(amazon.auth) + repr(amazon.http.auth)
    assert token and caplog.text
    for secret in (DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, token):
        assert secret not in shown and secret not in caplog.text


def test_throttles_back_off_one_token_and_server_errors_are_retried():
    seller = Seller(size=5)
    seller.control(faults={"http_429": 2})
    with seller.connector() as amazon:
        assert amazon.check_connection()["currency"] == "USD"
        # getMarketplaceParticipations refills at 0.016/s: each 429 waits one token.
        assert seller.time.sleeps.count(pytest.approx(1 / 0.016 / PACING_HEADROOM)) == 2
        seller.control(faults={"http_5xx": {"count": 2, "status": 503}})
        assert len(amazon.fetch_order_items(seller.sandbox.data.order_id(0))) >= 1
    assert seller.sandbox.stats.faults_served["http_5xx"] == 2


def test_settlement_reports_listed_done_only_oldest_first_with_next_token_alone():
    seller = Seller(size=300, settlement_days=1, cancelled_settlements=[2])
    data = seller.sandbox.data
    with seller.connector() as amazon:
        reports = amazon.list_settlement_reports(SINCE, page_size=4)
        window = amazon.list_settlement_reports(
            datetime.fromtimestamp(data.report_created(3), UTC),
            datetime.fromtimestamp(data.report_created(5), UTC))  # fmt: skip
    count = data.settlement_count()
    assert [r["reportId"] for r in reports] == [data.report_id(k) for k in range(count) if k != 2]
    assert [r["reportId"] for r in window] == [data.report_id(k) for k in (3, 4, 5)]
    listing = [r for r in seller.calls("/reports/2021-06-30/reports")]
    assert len(listing) == -(-count // 4) + 1
    assert all(set(r.url.params) == {"nextToken"} for r in listing[1:-1])


def test_an_expired_document_link_is_replaced_once_and_gzip_is_undone():
    seller = Seller(size=300)
    data = seller.sandbox.data
    seller.control(faults={"stale_document_links": 1})
    with seller.connector() as amazon:
        (first, *_) = amazon.list_settlement_reports(SINCE)
        content = amazon.download_report(first["reportDocumentId"])
        assert content == data.settlement_text(0).encode()
        assert len(seller.calls("/reports/2021-06-30/documents/")) == 2
        seller.control(faults={"stale_document_links": 2})
        with pytest.raises(PlatformError, match="(?s)refused twice.*Request has expired"):
            amazon.download_report(first["reportDocumentId"])
        seller.control(compress_documents=False)
        assert amazon.download_report(first["reportDocumentId"]) == content
    stats = seller.sandbox.stats
    assert stats.documents_expired == 3 and stats.documents_with_sp_api_headers == 0
    downloads = seller.calls("/__sandbox/amazon/s3/")
    assert downloads and all("x-amz-access-token" not in r.headers for r in downloads)


def test_last_updated_window_and_an_empty_window():
    seller = Seller(size=300)
    data = seller.sandbox.data
    low = datetime.fromtimestamp(data.created_ts(100), UTC)
    high = datetime.fromtimestamp(data.created_ts(150), UTC)
    wanted = sorted(data.order_id(i) for i in range(300)
                    if low.timestamp() <= data.header(i).updated <= high.timestamp())
    with seller.connector() as amazon:
        changed = OrderFilter(updated_after=low, updated_before=high, statuses=["Shipped",
                              "Canceled", "Pending", "Unshipped"])  # fmt: skip
        got = sorted(o["AmazonOrderId"] for p in amazon.iter_order_pages(changed, 40)
                     for o in p.records)  # fmt: skip
        assert got == wanted
        sent = seller.calls("/orders/v0/orders")[0].url.params
        assert "LastUpdatedAfter" in sent and "CreatedAfter" not in sent
        assert sent["OrderStatuses"] == "Shipped,Canceled,Pending,Unshipped"
        before = len(seller.requests)
        future = OrderFilter(created_after=NOW - timedelta(seconds=30))
        page = amazon.fetch_orders_page(future)
        assert (page.records, page.has_next_page, page.window_end) == ([], False, None)
        assert [p.records for p in amazon.iter_order_pages(future)] == [[]]
        assert len(seller.requests) == before  # nothing to ask Amazon yet


def test_order_filter_rules_and_clamp():
    with pytest.raises(ValidationError, match="mixed"):
        OrderFilter(created_after=SINCE, updated_before=NOW)
    with pytest.raises(ValidationError, match="required"):
        OrderFilter(created_before=NOW)
    with pytest.raises(ValidationError, match="timezone"):
        OrderFilter(created_after=datetime(2024, 1, 1))
    with pytest.raises(ValidationError, match="after its end"):
        OrderFilter(created_after=NOW, created_before=SINCE)
    with pytest.raises(ValidationError):
        OrderFilter(created_after=SINCE, statuses=["Lost"])
    late = OrderFilter(created_after=SINCE, created_before=NOW + timedelta(days=1))
    clamped = late.clamped(NOW + timedelta(microseconds=700))
    assert clamped.created_before == NOW - timedelta(minutes=2)
    early = OrderFilter(updated_after=SINCE, updated_before=SINCE + timedelta(hours=1))
    assert early.clamped(NOW) == early
    assert early.to_params() == {"LastUpdatedAfter": "2024-01-01T00:00:00Z",
                                 "LastUpdatedBefore": "2024-01-01T01:00:00Z"}  # fmt: skip


def test_mws_keys_are_refused_with_what_sp_api_needs():
    mws = {"sellerId": DEFAULT_SELLER_ID, "mwsAccessKey": "AKIAOLDMWSKEY",
           "mwsSecretKey": "old-mws-secret", "mwsAuthToken": "amzn.mws.1234"}
    with pytest.raises(InvalidCredentials) as caught:
        check_amazon_credentials(mws)
    error = caught.value
    assert "MWS is retired" in error.message
    for field in ("sellerId", "marketplaceId", "clientId", "clientSecret", "refreshToken"):
        assert field in error.message
    assert error.details["missing"] == ["marketplaceId", "clientId", "clientSecret",
                                        "refreshToken"]  # fmt: skip
    assert "old-mws-secret" not in error.message and error.code == "INVALID_CREDENTIALS"
    with pytest.raises(InvalidCredentials, match="MWS is retired"):
        AmazonConnector.from_credentials(mws, {})
    with pytest.raises(InvalidCredentials, match="need clientSecret") as caught:
        check_amazon_credentials({**CREDENTIALS, "clientSecret": " "})
    assert "MWS" not in caught.value.message
    check_amazon_credentials({**CREDENTIALS, "mwsAccessKey": "leftover"})  # SP-API complete


def test_hosts_regions_and_token_urls():
    def build(**kw: Any) -> AmazonConnector:
        args = {"seller_id": "A1", "marketplace_id": US, "client_id": "amzn1.app.x",
                "client_secret": "secret-0000", "refresh_token": "Atzr|refresh-0000", **kw}
        return AmazonConnector(**args)

    assert str(build().http.base_url) == "https://sellingpartnerapi-na.amazon.com"
    assert build().auth.token_url == LWA_TOKEN_URL
    assert build(marketplace_id="A1PA6795UKMFR9").region == "eu"
    assert str(build(marketplace_id="A1VC38T7YXB528").http.base_url).endswith("-fe.amazon.com")
    assert build(marketplace_id="A2NEWMARKET", region="eu").region == "eu"
    with pytest.raises(InvalidCredentials):
        build(marketplace_id="A2NEWMARKET", region="moon")
    with pytest.raises(InvalidCredentials, match="sellerId"):
        build(seller_id="")
    sandbox = build(base_url="http://127.0.0.1:8765/")
    assert sandbox.auth.token_url == "http://127.0.0.1:8765/auth/o2/token"
    assert build(base_url="https://sandbox.sellingpartnerapi-na.amazon.com").auth.token_url == (
        LWA_TOKEN_URL)  # fmt: skip
    built = AmazonConnector.from_credentials(CREDENTIALS, {"baseUrl": "http://127.0.0.1:9/"})
    assert (built.seller_id, built.platform) == (DEFAULT_SELLER_ID, "amazon")
    assert str(built.http.base_url) == "http://127.0.0.1:9"


def test_a_marketplace_the_seller_does_not_sell_in_is_invalid():
    seller = Seller(size=5)
    with seller.connector(marketplace_id="A1F83G8C2ARO7P") as amazon:
        with pytest.raises(InvalidCredentials, match="does not sell in marketplace"):
            amazon.check_connection()


def test_over_real_http_against_a_live_sandbox():
    from tests.conftest import LiveServer

    server = LiveServer(create_app(AmazonSandboxConfig(size=40, rate_multiplier=1000,
                                                       settlement_days=7)))  # fmt: skip
    try:
        connector = AmazonConnector.from_credentials(CREDENTIALS, {"baseUrl": server.url},
                                                     budget_seconds=30.0)  # fmt: skip
        with connector as amazon:
            assert amazon.check_connection()["marketplace_id"] == US
            orders = [o for p in amazon.iter_order_pages(OrderFilter(created_after=SINCE))
                      for o in p.records]  # fmt: skip
            assert len(orders) == 40 and all("OrderItems" in o for o in orders)
            reports = amazon.list_settlement_reports(SINCE)
            content = amazon.download_report(reports[0]["reportDocumentId"])
            assert content.startswith(b"settlement-id\tsettlement-start-date")
            assert amazon.limits.rate("getOrders") == pytest.approx(16.7)
    finally:
        server.stop()
