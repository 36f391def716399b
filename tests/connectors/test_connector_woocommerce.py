"""WooCommerceConnector against the WooCommerce sandbox, in process (no port)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError

from bigledger.errors import AuthFailed, InvalidCredentials, ValidationFailed
from connectors.woocommerce import OrderFilter, WooCommerceConnector
from sandbox.woocommerce import WooCommerceSandboxConfig, create_app
from sandbox.woocommerce.config import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET
from tests.connectors.fakes import FakeTime

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SITE = "https://shop.example"
CONTROL = "/__sandbox/woocommerce/control"


class Store:
    """A sandbox store and connectors wired to it through an in-process transport."""

    def __init__(self, **config) -> None:
        self.app = create_app(WooCommerceSandboxConfig(**config))
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app, base_url=SITE)
        self.requests: list[httpx.Request] = []
        self.time = FakeTime()

    def _forward(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.client.request(
            request.method, str(request.url), headers=request.headers, content=request.content
        )
        return httpx.Response(response.status_code, headers=response.headers,
                              content=response.content)  # fmt: skip

    def connector(self, key=DEFAULT_CONSUMER_KEY, secret=DEFAULT_CONSUMER_SECRET, **kw):
        kw.setdefault("budget_seconds", 60.0)
        return WooCommerceConnector(
            SITE, key, secret, transport=httpx.MockTransport(self._forward),
            sleep=self.time.sleep, clock=self.time.clock, rand=lambda: 0.5, **kw,
        )  # fmt: skip

    def control(self, **spec) -> None:
        assert self.client.post(CONTROL, json=spec).status_code == 200


@pytest.fixture
def store() -> Store:
    return Store(size=250, seed=5)


def test_every_page_exactly_once_in_id_order(store):
    with store.connector() as woo:
        assert woo.count_orders(OrderFilter()) == 250
        pages = list(woo.iter_order_pages(OrderFilter(), per_page=100))
    assert [(p.page, p.total_pages, p.has_next, len(p.records)) for p in pages] == [
        (1, 3, True, 100), (2, 3, True, 100), (3, 3, False, 50)]  # fmt: skip
    ids = [o["id"] for p in pages for o in p.records]
    assert ids == sorted(set(ids)) and len(ids) == 250
    sent = store.requests[-1]
    assert sent.url.params["orderby"] == "id" and sent.url.params["order"] == "asc"
    assert sent.headers["Authorization"].startswith("Basic ")


def test_fetch_one_page_and_an_empty_filter(store):
    with store.connector() as woo:
        page = woo.fetch_orders_page(OrderFilter(), page=2, per_page=40)
        assert (page.page, page.total_pages, page.total, page.has_next) == (2, 7, 250, True)
        nothing = OrderFilter(created_from=datetime(2030, 1, 1, tzinfo=UTC))
        assert woo.count_orders(nothing) == 0
        assert [p.records for p in woo.iter_order_pages(nothing)] == [[]]
        with pytest.raises(ValueError):
            woo.fetch_orders_page(OrderFilter(), per_page=101)


def test_filters_are_inclusive_and_statuses_are_sent(store):
    data = store.sandbox.data
    orders = [data.order(i) for i in range(data.size)]

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    low, high = at(orders[20]["date_created_gmt"]), at(orders[60]["date_created_gmt"])
    statuses = ["processing", "completed"]
    wanted = [o["id"] for o in orders[20:61] if o["status"] in statuses]
    filt = OrderFilter(created_from=low, created_to=high, statuses=statuses)
    with store.connector() as woo:
        got = [o["id"] for p in woo.iter_order_pages(filt, per_page=7) for o in p.records]
        assert got == wanted
        changed = OrderFilter(modified_from=at(orders[200]["date_modified_gmt"]))
        assert woo.count_orders(changed) == 50
    assert store.requests[-1].url.params["dates_are_gmt"] == "true"
    with pytest.raises(ValidationError):
        OrderFilter(created_from=datetime(2024, 1, 1))  # naive
    with pytest.raises(ValidationError):
        OrderFilter(created_from=high, created_to=high - timedelta(seconds=1))
    assert "status" not in OrderFilter(statuses=["any", "pending"]).to_params()


def test_throttling_and_server_errors_are_survived(store):
    store.control(faults={"http_429": {"count": 2, "retry_after": 3}, "http_5xx": {"count": 2},
                          "malformed": {"count": 1}})  # fmt: skip
    with store.connector() as woo:
        pages = list(woo.iter_order_pages(OrderFilter(), per_page=100))
    assert sum(len(p.records) for p in pages) == 250
    stats = store.sandbox.stats.faults_served
    assert (stats["http_429"], stats["http_5xx"], stats["malformed"]) == (2, 2, 1)
    assert store.time.sleeps.count(3.0) >= 2  # Retry-After honoured


def test_auth_failure_names_the_reason_without_the_secret(store):
    secret = "cs_not_the_right_secret_0123456789"
    with store.connector(secret=secret) as woo, pytest.raises(AuthFailed) as caught:
        woo.check_connection()
    message = caught.value.message
    assert "woocommerce_rest_authentication_error" in message
    assert "Consumer secret is invalid." in message and secret not in message
    with store.connector() as woo:
        assert woo.check_connection() == {"site_url": SITE, "orders": 250}
        store.control(faults={"token_revoked": True})
        with pytest.raises(AuthFailed, match="Consumer key is invalid"):
            woo.count_orders(OrderFilter())
    assert len([r for r in store.requests if "per_page" in r.url.params]) >= 2


def test_plain_http_sites_are_refused_unless_loopback():
    with pytest.raises(ValidationFailed):
        WooCommerceConnector("http://shop.example", "ck_x", "cs_x", allow_insecure_http=False)
    WooCommerceConnector("http://127.0.0.1:8765", "ck_x", "cs_x", allow_insecure_http=False)
    with pytest.raises(InvalidCredentials):
        WooCommerceConnector("", "ck_x", "cs_x")
    with pytest.raises(InvalidCredentials):
        WooCommerceConnector(SITE, "ck_x", "")
    # A WordPress site in a sub-directory keeps its path.
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json=[], headers={"X-WP-Total": "0"})

    woo = WooCommerceConnector(f"{SITE}/shop/", "ck_x", "cs_x",
                               transport=httpx.MockTransport(handler))  # fmt: skip
    assert woo.site_url == f"{SITE}/shop"
    assert woo.count_orders(OrderFilter()) == 0
    assert seen[0].path == "/shop/wp-json/wc/v3/orders"
