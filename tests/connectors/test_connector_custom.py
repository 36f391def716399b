"""Custom connector definitions (validation) and the generic connector against the legacy ERP
sandbox, in process (no port)."""

from __future__ import annotations

import copy
import json
import logging
import warnings
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from bigledger.errors import (
    AuthFailed,
    DataMappingError,
    InvalidCredentials,
    RateLimitExceeded,
    ValidationFailed,
)
from connectors.custom import ConnectorDefinition, CustomConnector, load_definition
from sandbox.legacy_erp import LegacyErpSandboxConfig, create_app
from sandbox.legacy_erp.config import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
)
from tests.connectors.fakes import FakeTime

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "https://erp.example"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "custom"
SPEC = json.loads((FIXTURES / "spec_example.json").read_text())


def spec() -> dict:
    return copy.deepcopy(SPEC)


class Erp:
    """A legacy ERP sandbox and connectors wired to it through an in-process transport."""

    def __init__(self, **config) -> None:
        self.app = create_app(LegacyErpSandboxConfig(**config))
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app, base_url=BASE)
        self.requests: list[httpx.Request] = []
        self.time = FakeTime()

    def _forward(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.client.request(request.method, str(request.url),
                                       headers=request.headers, content=request.content)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=response.content)

    def connector(self, definition, credentials, **kw) -> CustomConnector:
        kw.setdefault("budget_seconds", 60.0)
        return CustomConnector(definition, credentials, transport=httpx.MockTransport(
            self._forward), sleep=self.time.sleep, clock=self.time.clock, rand=lambda: 0.5,
            **kw)

    def control(self, **body) -> None:
        assert self.client.post("/__sandbox/legacy_erp/control", json=body).status_code == 200


@pytest.fixture
def erp() -> Erp:
    return Erp(size=120, seed=3, customers=45, products=23, default_page_size=50)


KEY = {"apiKey": DEFAULT_API_KEY, "baseUrl": BASE}


# ---- definitions -----------------------------------------------------------------------


def test_spec_example_validates_verbatim_with_documented_defaults():
    d = load_definition((FIXTURES / "spec_example.json").read_text())
    endpoint = d.endpoints[0]
    assert endpoint.target == "order"  # from the name getOrders
    assert endpoint.pagination.type == "link_header"
    assert d.authentication.key_name == "X-API-Key" and d.authentication.in_ == "header"
    assert d.encrypted_fields() == ["apiKey"] and d.required_fields() == ["apiKey", "baseUrl"]
    assert d.schedule_sync is True and d.webhook_support is False
    dumped = d.model_dump(by_alias=True, mode="json")
    assert dumped["webhookSupport"] is False and "recordsPath" in dumped["endpoints"][0]
    assert load_definition(dumped) == d  # round-trips through its stored form


def test_mapping_semantics():
    d = load_definition(spec())
    record = {"id": 7, "customer": {"name": "Ann"}, "line_items": [{"sku": "A"}],
              "total_amount": "10.00"}
    assert d.map_record("getOrders", record) == {
        "orderId": 7, "customerName": "Ann", "items": [{"sku": "A"}], "total": "10.00"}
    assert d.map_record("getOrders", {"id": 8}) == {
        "orderId": 8, "customerName": None, "items": [], "total": None}


def test_paths_are_compiled_once(monkeypatch):
    import connectors.custom as custom

    calls = []
    real = custom.parse_jsonpath
    monkeypatch.setattr(custom, "parse_jsonpath", lambda text: calls.append(text) or real(text))
    d = load_definition(spec())
    for _ in range(50):
        d.map_record("getOrders", {"id": 1, "line_items": []})
    assert sorted(calls) == sorted(SPEC["endpoints"][0]["mapping"].values())


@pytest.mark.parametrize("path", ["$.[", "$.a[?(", "id", ""])
def test_bad_jsonpath_is_a_data_mapping_error_naming_the_place(path):
    body = spec()
    body["endpoints"][0]["mapping"]["total"] = path
    with pytest.raises(DataMappingError) as info:
        load_definition(body)
    assert info.value.message.startswith("endpoints[0].mapping.total: invalid JSONPath")
    assert repr(path) in info.value.message
    assert info.value.details == {"endpoint": "getOrders", "field": "total"}


def test_bad_records_path_and_cursor_path_named():
    body = spec()
    body["endpoints"][0]["recordsPath"] = "$.data["
    with pytest.raises(DataMappingError, match=r"endpoints\[0\]\.recordsPath"):
        load_definition(body)
    body = spec()
    body["endpoints"][0]["pagination"] = {"type": "cursor", "cursorPath": "$.[", "param": "c"}
    with pytest.raises(DataMappingError, match=r"endpoints\[0\]\.pagination\.cursorPath"):
        load_definition(body)


def test_unknown_target_field_named():
    body = spec()
    body["endpoints"][0]["mapping"]["colour"] = "$.colour"
    with pytest.raises(DataMappingError, match=r"endpoints\[0\]\.mapping\.colour: unknown order "
                                               r"field 'colour'"):
        load_definition(body)


def test_missing_required_target_fields_named():
    body = spec()
    del body["endpoints"][0]["mapping"]["total"]
    with pytest.raises(DataMappingError, match=r"endpoints\[0\]\.mapping: a order needs total"):
        load_definition(body)
    body = spec()
    body["endpoints"][0].update(name="listProducts", mapping={"title": "$.description"})
    with pytest.raises(DataMappingError, match="a product needs sku"):
        load_definition(body)
    body["endpoints"][0]["name"] = "listContacts"
    body["endpoints"][0]["mapping"] = {"phone": "$.phone"}
    with pytest.raises(DataMappingError, match="a customer needs one of name, email"):
        load_definition(body)


def test_missing_required_auth_field_named():
    body = spec()
    body["authentication"]["fields"] = [f for f in body["authentication"]["fields"]
                                        if f["name"] != "apiKey"]
    with pytest.raises(ValidationFailed, match="api_key needs the field.s. apiKey"):
        load_definition(body)
    body = spec()
    body["authentication"]["type"] = "oauth2_client_credentials"
    with pytest.raises(ValidationFailed) as info:
        load_definition(body)
    assert "clientId, clientSecret, tokenUrl" in info.value.message


def test_unknown_auth_type_and_extra_keys_refused():
    body = spec()
    body["authentication"]["type"] = "digest"
    with pytest.raises(ValidationFailed) as info:
        load_definition(body)
    assert info.value.details["errors"][0]["loc"] == "authentication.type"
    body = spec()
    body["endpoints"][0]["colour"] = "blue"
    with pytest.raises(ValidationError):
        ConnectorDefinition.model_validate(body)


def test_other_structural_checks():
    body = spec()
    body["endpoints"][0]["name"] = "sync"
    with pytest.raises(ValidationFailed, match="set target"):
        load_definition(body)
    body["endpoints"][0]["target"] = "order"
    assert load_definition(body).endpoints[0].target == "order"
    body["endpoints"][0]["path"] = "https://evil.example/x"
    with pytest.raises(ValidationFailed, match="relative to baseUrl"):
        load_definition(body)
    for schedule, ok in (("hourly", True), ("0 */6 * * *", True), ("sometimes", False)):
        body = spec()
        body["scheduleSync"] = schedule
        if ok:
            assert load_definition(body).schedule_sync == schedule
        else:
            with pytest.raises(ValidationFailed, match="scheduleSync"):
                load_definition(body)


# ---- connector against the sandbox -----------------------------------------------------


def test_spec_example_reads_every_order_across_pages(erp):
    with erp.connector(spec(), KEY) as conn:
        pages = list(conn.iter_pages("getOrders"))
    assert [len(p.records) for p in pages] == [50, 50, 20]
    assert [p.has_next_page for p in pages] == [True, True, False]
    mapped = [m for p in pages for m in p.mapped]
    assert [m["orderId"] for m in mapped] == list(range(1, 121))
    first = erp.sandbox.data.order(0)
    assert mapped[0] == {"orderId": 1, "customerName": first["customer"]["name"],
                         "items": first["line_items"], "total": first["total_amount"]}
    assert all(r.headers["X-API-Key"] == DEFAULT_API_KEY for r in erp.requests)


def test_parameters_are_passed_and_checked(erp):
    with erp.connector(spec(), KEY) as conn:
        # 24 orders a day from 2024-01-01 00:00 (hourly)
        page = conn.fetch_page("getOrders", {"from_date": "2024-01-02", "to_date": "2024-01-03"})
        assert [m["orderId"] for m in page.mapped][:2] == [25, 26] and len(page.records) == 48
        assert not page.has_next_page and page.end_cursor is None
        with pytest.raises(ValidationFailed, match="no parameter.s. colour"):
            conn.fetch_page("getOrders", {"colour": "red"})
        with pytest.raises(ValidationFailed, match="no endpoint 'getThings'"):
            conn.fetch_page("getThings", {})


def test_cursor_resumes_after_a_page(erp):
    with erp.connector(spec(), KEY) as conn:
        first = conn.fetch_page("getOrders", {})
        second = conn.fetch_page("getOrders", {}, first.end_cursor)
        rest = list(conn.iter_pages("getOrders", cursor=second.end_cursor))
    assert second.mapped[0]["orderId"] == 51
    assert [len(p.records) for p in rest] == [20]
    assert DEFAULT_API_KEY not in (first.end_cursor or "")


def test_wrong_key_is_auth_failed_and_secrets_are_hidden(erp, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "wrong_key_0123456789abcdef"
    with erp.connector(spec(), {**KEY, "apiKey": secret}) as conn:
        assert secret not in repr(conn)
        with pytest.raises(AuthFailed) as info:
            conn.check_connection()
    assert secret not in str(info.value) and secret not in caplog.text
    assert "Invalid API key" in info.value.message


def test_missing_credentials_named():
    with pytest.raises(InvalidCredentials) as info:
        CustomConnector(spec(), {"apiKey": " "})
    assert info.value.details == {"missing": ["apiKey", "baseUrl"]}


def test_429_survived_with_retry_after(erp):
    erp.control(faults={"http_429": {"count": 2, "retry_after": 3}})
    with erp.connector(spec(), KEY) as conn:
        assert conn.check_connection()["records"] == 50
    assert erp.time.sleeps == [3.0, 3.0]
    assert erp.sandbox.stats.throttled == 2


def test_429_beyond_the_budget_raises(erp):
    erp.control(faults={"http_429": {"count": 100, "retry_after": 30}})
    with erp.connector(spec(), KEY, budget_seconds=40) as conn:
        with pytest.raises(RateLimitExceeded):
            conn.check_connection()


def _definition(auth: dict, fields: list[str], endpoints: list[dict]) -> dict:
    return {"name": "ERP", "type": "custom",
            "authentication": {**auth, "fields": [
                {"name": f, "type": "secret" if f in ("apiKey", "token", "password",
                                                      "clientSecret") else "string",
                 "required": f != "scope", "encrypted": f in ("apiKey", "password",
                                                              "clientSecret")}
                for f in [*fields, "baseUrl"]]},
            "endpoints": endpoints, "scheduleSync": "daily"}


ORDER_MAP = {"orderId": "$.id", "total": "$.total_amount", "items": "$.line_items[*]",
             "orderDate": "$.order_date", "currency": "$.currency"}


def test_api_key_in_query_not_kept_in_cursors(erp):
    d = _definition({"type": "api_key", "in": "query"}, ["apiKey"], [
        {"name": "getOrders", "path": "/api/query/orders", "mapping": ORDER_MAP,
         "pagination": {"type": "link_header"}}])
    with erp.connector(d, KEY) as conn:
        pages = list(conn.iter_pages("getOrders"))
        assert DEFAULT_API_KEY not in repr(conn)
    assert sum(len(p.records) for p in pages) == 120
    assert all(DEFAULT_API_KEY not in (p.end_cursor or "") for p in pages)
    assert all(r.url.params["api_key"] == DEFAULT_API_KEY for r in erp.requests)


def test_basic_auth_with_page_pagination_and_total_pages_header(erp):
    d = _definition({"type": "basic"}, ["username", "password"], [
        {"name": "getOrders", "path": "/api/basic/orders", "mapping": ORDER_MAP,
         "pagination": {"type": "page", "pageParam": "page", "sizeParam": "per_page",
                        "size": 40, "totalPagesHeader": "X-Total-Pages"}}])
    creds = {"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD, "baseUrl": BASE}
    with erp.connector(d, creds) as conn:
        pages = list(conn.iter_pages("getOrders"))
        assert DEFAULT_PASSWORD not in repr(conn)
    assert [len(p.records) for p in pages] == [40, 40, 40]
    assert len(erp.requests) == 3  # the total page count stops it, no empty 4th page
    with erp.connector(d, {**creds, "password": "nope_nope_nope"}) as conn:
        with pytest.raises(AuthFailed):
            conn.check_connection()


def test_oauth2_client_credentials_with_page_count_in_the_body(erp):
    d = _definition({"type": "oauth2_client_credentials"},
                    ["clientId", "clientSecret", "tokenUrl", "scope"], [
        {"name": "getOrders", "path": "/api/v2/orders", "mapping": ORDER_MAP,
         "recordsPath": "$.data",
         "pagination": {"type": "page", "size": 100, "totalPagesPath": "$.meta.total_pages"}}])
    creds = {"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
             "tokenUrl": "/oauth/token", "baseUrl": BASE}
    with erp.connector(d, creds) as conn:
        pages = list(conn.iter_pages("getOrders"))
        token = conn.auth.access_token
        assert token and token not in repr(conn) and DEFAULT_CLIENT_SECRET not in repr(conn)
    assert [len(p.records) for p in pages] == [100, 20]
    assert [r.url.path for r in erp.requests] == ["/oauth/token", "/api/v2/orders",
                                                  "/api/v2/orders"]
    assert erp.sandbox.stats.tokens_issued == 1
    with erp.connector(d, {**creds, "clientSecret": "bad_secret_123"}) as conn:
        with pytest.raises(AuthFailed, match="refused the credentials"):
            conn.check_connection()


def test_bearer_token(erp):
    erp.sandbox._tokens["erp_at_static_token_123"] = 1e12
    d = _definition({"type": "bearer"}, ["token"], [
        {"name": "getOrders", "path": "/api/v2/orders", "mapping": ORDER_MAP,
         "pagination": {"type": "page", "size": 60, "totalPagesPath": "$.meta.total_pages"}}])
    with erp.connector(d, {"token": "erp_at_static_token_123", "baseUrl": BASE}) as conn:
        assert sum(len(p.records) for p in conn.iter_pages("getOrders")) == 120
        assert erp.requests[0].headers["Authorization"] == "Bearer erp_at_static_token_123"


def test_cursor_in_the_body(erp):
    d = _definition({"type": "api_key", "name": "X-API-Key"}, ["apiKey"], [
        {"name": "listCustomers", "path": "/api/customers",
         "pagination": {"type": "cursor", "cursorPath": "$.next_cursor", "param": "cursor",
                        "hasMorePath": "$.has_more", "sizeParam": "limit", "size": 20},
         "mapping": {"customerId": "$.customer_no", "name": "$.name", "email": "$.email"}}])
    with erp.connector(d, KEY) as conn:
        pages = list(conn.iter_pages("listCustomers"))
    assert [len(p.records) for p in pages] == [20, 20, 5]
    ids = [m["customerId"] for p in pages for m in p.mapped]
    assert ids == [f"C{i:05d}" for i in range(1, 46)]
    assert all(r.url.params["limit"] == "20" for r in erp.requests)


def test_offset_limit(erp):
    d = _definition({"type": "api_key"}, ["apiKey"], [
        {"name": "listProducts", "path": "/api/products", "recordsPath": "$.items",
         "pagination": {"type": "offset", "limit": 10, "totalPath": "$.total"},
         "mapping": {"sku": "$.item_code", "title": "$.description", "price": "$.unit_price"}}])
    with erp.connector(d, KEY) as conn:
        pages = list(conn.iter_pages("listProducts"))
    assert [len(p.records) for p in pages] == [10, 10, 3]
    assert [r.url.params["offset"] for r in erp.requests] == ["0", "10", "20"]


def test_no_pagination_reads_one_page(erp):
    body = spec()
    body["endpoints"][0]["pagination"] = {"type": "none"}
    with erp.connector(body, KEY) as conn:
        pages = list(conn.iter_pages("getOrders"))
    assert len(pages) == 1 and len(pages[0].records) == 50 and not pages[0].has_next_page
