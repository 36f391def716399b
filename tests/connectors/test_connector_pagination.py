"""Paginators: each style against a fake endpoint, stop conditions, and resuming from state."""

from __future__ import annotations

import json

import httpx
import pytest

from bigledger.errors import PlatformError
from connectors.pagination import (
    BodyCursorPaginator,
    GraphQLPageInfoPaginator,
    LinkHeaderPaginator,
    NextTokenPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    paginate,
    parse_link_header,
)
from connectors.paths import get_path
from tests.connectors.fakes import BASE, FakeTime, make_client, reply

RECORDS = list(range(1, 8))
REST = f"{BASE}/admin/api/2024-04/orders.json"  # seven records: ids 1..7


class Endpoint:
    """Records requests; answers with `answer(request)`."""

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


def _collect(endpoint, request, paginator, path=None):
    client = make_client(endpoint, FakeTime())
    pages, states = [], []
    for response in paginate(client, request, paginator):
        pages.append(get_path(response.data, path) if path else response.data)
        states.append(paginator.state)
    return pages, states


def test_parse_link_header():
    value = (
        "<https://s.myshopify.com/admin/api/2024-04/orders.json?limit=50&page_info=abc>; "
        'rel="next", <https://s.myshopify.com/admin/api/2024-04/orders.json?page_info=xyz>; '
        'rel="previous"'
    )
    links = parse_link_header(value)
    assert links["next"].endswith("page_info=abc")
    assert links["previous"].endswith("page_info=xyz")
    assert parse_link_header(None) == {}


def _woo(request: httpx.Request) -> httpx.Response:
    page = int(request.url.params.get("page", "1"))
    per_page = int(request.url.params.get("per_page", "10"))
    chunk = RECORDS[(page - 1) * per_page : page * per_page]
    total_pages = -(-len(RECORDS) // per_page)
    headers = {"X-WP-Total": str(len(RECORDS)), "X-WP-TotalPages": str(total_pages)}
    if page < total_pages:
        headers["Link"] = (
            f'<{BASE}/wp-json/wc/v3/orders?page={page + 1}&per_page={per_page}>; rel="next"'
        )
    return reply(200, chunk, headers)


def test_link_header_follows_next_url_without_duplicating_params():
    endpoint = Endpoint(_woo)
    request = PageRequest(url="/wp-json/wc/v3/orders", params={"per_page": 3, "page": 1})
    pages, states = _collect(endpoint, request, LinkHeaderPaginator())
    assert pages == [[1, 2, 3], [4, 5, 6], [7]]
    assert [dict(r.url.params) for r in endpoint.requests][1] == {"page": "2", "per_page": "3"}
    assert states[0] == {
        "next_url": f"{BASE}/wp-json/wc/v3/orders?page=2&per_page=3",
        "done": False,
    }
    assert states[-1] == {"done": True}


def test_link_header_page_info_cursor_sends_only_allowed_params():
    def shopify_rest(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("page_info")
        if cursor is None:
            assert request.url.params["status"] == "any"
            return reply(
                200,
                {"orders": [1, 2]},
                {"Link": f'<{REST}?limit=2&page_info=p2>; rel="next"'},
            )
        assert dict(request.url.params) == {"limit": "2", "page_info": cursor}
        return reply(
            200,
            {"orders": [3]},
            {"Link": f'<{REST}?limit=2&page_info=p1>; rel="previous"'},
        )

    endpoint = Endpoint(shopify_rest)
    request = PageRequest(
        url="/admin/api/2024-04/orders.json", params={"limit": 2, "status": "any"}
    )
    paginator = LinkHeaderPaginator(cursor_param="page_info")
    pages, states = _collect(endpoint, request, paginator, "orders")
    assert pages == [[1, 2], [3]]
    assert states[0] == {"cursor": "p2", "done": False}


def _stripe(request: httpx.Request) -> httpx.Response:
    limit = int(request.url.params.get("limit", "10"))
    after = request.url.params.get("starting_after")
    ids = [f"txn_{i}" for i in RECORDS]
    start = ids.index(after) + 1 if after else 0
    chunk = ids[start : start + limit]
    return reply(
        200,
        {
            "object": "list",
            "data": [{"id": i} for i in chunk],
            "has_more": start + limit < len(ids),
            "url": "/v1/balance_transactions",
        },
    )


def test_body_cursor_stripe_style():
    endpoint = Endpoint(_stripe)
    request = PageRequest(url="/v1/balance_transactions", params={"limit": 3})
    paginator = BodyCursorPaginator(
        cursor_path="data[-1].id", param="starting_after", has_more_path="has_more"
    )
    pages, states = _collect(endpoint, request, paginator, "data")
    assert [[d["id"] for d in p] for p in pages] == [
        ["txn_1", "txn_2", "txn_3"],
        ["txn_4", "txn_5", "txn_6"],
        ["txn_7"],
    ]
    assert states[0] == {"cursor": "txn_3", "done": False}
    assert len(endpoint.requests) == 3


def test_body_cursor_with_jsonpath_and_resume():
    endpoint = Endpoint(_stripe)
    request = PageRequest(url="/v1/balance_transactions", params={"limit": 3})
    paginator = BodyCursorPaginator(
        cursor_path="$.data[-1].id",
        param="starting_after",
        has_more_path="has_more",
        state={"cursor": "txn_3"},
    )
    pages, _ = _collect(endpoint, request, paginator, "data")
    assert [d["id"] for d in pages[0]] == ["txn_4", "txn_5", "txn_6"]
    assert len(pages) == 2


def test_page_number_stops_at_total_pages_header():
    endpoint = Endpoint(_woo)
    paginator = PageNumberPaginator(page_size=3, total_pages_header="X-WP-TotalPages")
    pages, states = _collect(endpoint, PageRequest(url="/wp-json/wc/v3/orders"), paginator)
    assert pages == [[1, 2, 3], [4, 5, 6], [7]]
    assert states[:2] == [{"page": 2, "done": False}, {"page": 3, "done": False}]
    assert len(endpoint.requests) == 3


def test_page_number_exact_multiple_stops_on_total_not_an_extra_empty_page():
    endpoint = Endpoint(_woo)
    paginator = PageNumberPaginator(page_size=7, total_pages_header="X-WP-TotalPages")
    pages, _ = _collect(endpoint, PageRequest(url="/wp-json/wc/v3/orders"), paginator)
    assert pages == [RECORDS] and len(endpoint.requests) == 1


def test_page_number_without_totals_stops_on_short_page():
    def no_headers(request):
        response = _woo(request)
        return reply(200, json.loads(response.content))

    paginator = PageNumberPaginator(page_size=3)
    pages, _ = _collect(Endpoint(no_headers), PageRequest(url="/orders"), paginator)
    assert pages == [[1, 2, 3], [4, 5, 6], [7]]


def test_page_number_paypal_total_pages_in_body_and_resume():
    def paypal(request):
        page = int(request.url.params["page"])
        size = int(request.url.params["page_size"])
        return reply(
            200,
            {
                "transaction_details": RECORDS[(page - 1) * size : page * size],
                "page": page,
                "total_pages": 3,
            },
        )

    paginator = PageNumberPaginator(
        size_param="page_size",
        page_size=3,
        total_pages_path="total_pages",
        records_path="transaction_details",
        state={"page": 2},
    )
    pages, states = _collect(
        Endpoint(paypal),
        PageRequest(url="/v1/reporting/transactions"),
        paginator,
        "transaction_details",
    )
    assert pages == [[4, 5, 6], [7]]
    assert states[-1] == {"done": True}


def test_offset_paginator_advances_by_records_returned():
    def qbo_like(request):
        offset = int(request.url.params["offset"])
        limit = min(int(request.url.params["limit"]), 2)  # the platform caps silently at 2
        return reply(200, {"rows": RECORDS[offset : offset + limit], "total": len(RECORDS)})

    paginator = OffsetPaginator(limit=3, records_path="rows", total_path="total")
    pages, states = _collect(Endpoint(qbo_like), PageRequest(url="/query"), paginator, "rows")
    assert pages == [[1, 2], [3, 4], [5, 6], [7]]
    assert states[0] == {"offset": 2, "done": False}


def test_offset_paginator_short_page_stop():
    def plain(request):
        offset = int(request.url.params["offset"])
        return reply(200, RECORDS[offset : offset + int(request.url.params["limit"])])

    pages, _ = _collect(Endpoint(plain), PageRequest(url="/x"), OffsetPaginator(limit=4))
    assert pages == [[1, 2, 3, 4], [5, 6, 7]]


def _amazon(request):
    token = request.url.params.get("NextToken")
    step = {None: ([], "t1"), "t1": ([1, 2], "t2"), "t2": ([3], None)}[token]
    payload = {"Orders": step[0]}
    if step[1]:
        payload["NextToken"] = step[1]
    return reply(200, {"payload": payload})


def test_next_token_continues_through_empty_pages():
    endpoint = Endpoint(_amazon)
    request = PageRequest(url="/orders/v0/orders", params={"MarketplaceIds": "ATVPDKIKX0DER"})
    pages, states = _collect(endpoint, request, NextTokenPaginator(), "payload.Orders")
    assert pages == [[], [1, 2], [3]]
    assert dict(endpoint.requests[1].url.params) == {
        "MarketplaceIds": "ATVPDKIKX0DER",
        "NextToken": "t1",
    }
    assert states[1] == {"token": "t2", "done": False}


def test_next_token_as_sole_parameter():
    def reports(request):
        token = request.url.params.get("nextToken")
        if token:
            assert dict(request.url.params) == {"nextToken": token}
            return reply(200, {"reports": [2]})
        return reply(200, {"reports": [1], "nextToken": "n1"})

    paginator = NextTokenPaginator(token_path="nextToken", param="nextToken", sole_param=True)
    request = PageRequest(
        url="/reports/2021-06-30/reports",
        params={"reportTypes": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"},
    )
    pages, _ = _collect(Endpoint(reports), request, paginator, "reports")
    assert pages == [[1], [2]]


def test_graphql_page_info_sets_after_variable():
    def graphql(request):
        body = json.loads(request.content)
        after = body["variables"].get("after")
        assert body["query"].startswith("query")
        nodes, info = {
            None: ([1, 2], {"hasNextPage": True, "endCursor": "c2"}),
            "c2": ([3], {"hasNextPage": False, "endCursor": "c3"}),
        }[after]
        return reply(200, {"data": {"orders": {"nodes": nodes, "pageInfo": info}}})

    request = PageRequest(
        method="POST",
        url="/graphql.json",
        idempotent=True,
        json={"query": "query { orders }", "variables": {"first": 2}},
    )
    paginator = GraphQLPageInfoPaginator(page_info_path="data.orders.pageInfo")
    pages, states = _collect(Endpoint(graphql), request, paginator, "data.orders.nodes")
    assert pages == [[1, 2], [3]]
    assert states == [{"after": "c2", "done": False}, {"done": True}]
    assert request.json["variables"] == {"first": 2}  # the caller's request is not mutated


def test_a_repeating_cursor_is_refused_not_looped():
    def stuck(request):
        return reply(200, {"data": [{"id": "a"}], "has_more": True})

    paginator = BodyCursorPaginator(
        cursor_path="data[-1].id", param="starting_after", has_more_path="has_more"
    )
    with pytest.raises(PlatformError, match="did not advance"):
        _collect(Endpoint(stuck), PageRequest(url="/v1/charges"), paginator)


def test_resuming_a_finished_paginator_fetches_nothing():
    endpoint = Endpoint(_woo)
    paginator = PageNumberPaginator(page_size=3, state={"done": True})
    pages, _ = _collect(endpoint, PageRequest(url="/orders"), paginator)
    assert pages == [] and endpoint.requests == []


def test_resume_after_a_crash_continues_with_the_next_page():
    endpoint = Endpoint(_stripe)
    request = PageRequest(url="/v1/balance_transactions", params={"limit": 3})

    def make(state=None):
        return BodyCursorPaginator(
            cursor_path="data[-1].id", param="starting_after", has_more_path="has_more", state=state
        )

    first = make()
    client = make_client(endpoint, FakeTime())
    pages = paginate(client, request, first)
    next(pages)
    saved = json.loads(json.dumps(first.state))  # what a checkpoint would store
    resumed, _ = _collect(endpoint, request, make(saved), "data")
    assert [d["id"] for d in resumed[0]] == ["txn_4", "txn_5", "txn_6"]
