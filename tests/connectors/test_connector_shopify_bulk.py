"""Shopify bulk backfill: the connector against the sandbox over real HTTP, and the JSONL
regrouping on its own (shape, exactness, refusals, flat memory)."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import FieldNode, OperationDefinitionNode, parse

from bigledger.errors import PlatformError
from connectors.shopify import OrderFilter, ShopifyConnector
from connectors.shopify_bulk import _byte_lines, bulk_orders_query, regroup_orders
from connectors.shopify_queries import ORDERS_QUERY
from tests.ledger.helpers import ACCOUNTS
from transforms.shopify_orders import order_to_documents

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "shopify" / "order_sst_paid.json"
SIGNED_URL = "https://storage.googleapis.com/bulk/op.jsonl?X-Goog-Signature=secret0123456789"


def connector(sandbox) -> ShopifyConnector:
    return ShopifyConnector("sandbox.myshopify.com", "shpat_sandbox_token",
                            base_url=sandbox.url, budget_seconds=20)  # fmt: skip


@pytest.fixture
def bulk_sandbox(sandbox):
    """The session sandbox; bulk timing settings put back afterwards."""
    yield sandbox
    sandbox.control(dataset={"seed": 11, "size": 300, "currency": "MYR"},
                    bulk={"queue_seconds": 0, "objects_per_second": 0,
                          "url_ttl_seconds": 7 * 86_400})  # fmt: skip


def _normalised(order: dict[str, Any]) -> dict[str, Any]:
    # A paged order keeps the endCursor of its last line-item page; a bulk one has none.
    return {**order, "lineItems": {**order["lineItems"], "pageInfo": None}}


# ---- against the sandbox ------------------------------------------------------------------


def test_bulk_orders_are_the_paged_orders_and_each_one_balances(bulk_sandbox):
    conn = connector(bulk_sandbox)
    flt = OrderFilter(created_from=datetime(2024, 1, 1, 2, tzinfo=UTC),
                      financial_statuses=["paid", "partially_refunded", "refunded"])  # fmt: skip
    bulk = [o for batch in conn.bulk_orders(flt, batch_size=40, interval=0.02) for o in batch]
    paged = [o for page in conn.iter_order_pages(flt) for o in page.records]
    assert bulk and len(bulk) == len(paged) == conn.count_orders(flt)
    assert [_normalised(o) for o in bulk] == [_normalised(o) for o in paged]
    for order in bulk:
        assert order["lineItems"]["pageInfo"] == {"hasNextPage": False, "endCursor": None}
        assert order_to_documents(order, ACCOUNTS).journal.is_balanced()
    rates = [t["rate"] for o in bulk for t in o["taxLines"]]
    assert rates and all(type(r) is Decimal for r in rates)  # never a float


def test_every_order_of_a_2000_order_shop_exactly_once(bulk_sandbox):
    bulk_sandbox.control(dataset={"seed": 11, "size": 2000, "currency": "MYR"})
    conn = connector(bulk_sandbox)
    sizes, ids = [], []
    for batch in conn.bulk_orders(OrderFilter(), batch_size=250, interval=0.02):
        sizes.append(len(batch))
        ids.extend(o["legacyResourceId"] for o in batch)
    assert len(ids) == len(set(ids)) == conn.count_orders(OrderFilter()) == 2000
    assert max(sizes) == 250 and len(sizes) == 8


def test_a_failed_operation_is_a_platform_error_with_its_code(bulk_sandbox):
    bulk_sandbox.control(faults={"bulk_failed": {"count": 1, "error_code": "TIMEOUT"}})
    conn = connector(bulk_sandbox)
    operation_id = conn.start_bulk_orders(OrderFilter())
    with pytest.raises(PlatformError) as info:
        conn.poll_bulk(operation_id, interval=0.02)
    assert info.value.details["errorCode"] == "TIMEOUT"
    assert "TIMEOUT" in str(info.value)


def test_a_second_bulk_query_while_one_runs_is_refused(bulk_sandbox):
    bulk_sandbox.control(bulk={"queue_seconds": 60})
    conn = connector(bulk_sandbox)
    running = conn.start_bulk_orders(OrderFilter())
    with pytest.raises(PlatformError) as info:
        conn.start_bulk_orders(OrderFilter())
    assert info.value.details["codes"] == ["OPERATION_IN_PROGRESS"]
    assert running in str(info.value)


def test_an_expired_result_url_is_a_clear_platform_error(bulk_sandbox):
    conn = connector(bulk_sandbox)
    operation = conn.poll_bulk(conn.start_bulk_orders(OrderFilter()), interval=0.02)
    bulk_sandbox.control(bulk={"url_ttl_seconds": 0})
    with pytest.raises(PlatformError) as info:
        next(conn.iter_bulk_orders(operation["url"]))
    assert "expired" in str(info.value) and info.value.details["status"] == 403
    assert "X-Goog-Signature" not in str(info.value)  # the signature is a credential
    with pytest.raises(PlatformError, match="expired"):
        conn.poll_bulk(operation["id"], interval=0.02)


# ---- the query document and the regrouping on their own ----------------------------------


def _paths(selection_set, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for field in selection_set.selections:
        if not isinstance(field, FieldNode):
            continue  # ...LineItemFields: its fields are added by the caller
        name = field.name.value
        if name in ("edges", "node", "nodes", "pageInfo"):
            if name != "pageInfo":
                out |= _paths(field.selection_set, prefix)
            continue
        out.add(prefix + name)
        if field.selection_set:
            out |= _paths(field.selection_set, f"{prefix}{name}.")
    return out


def _order_node_paths(document: str) -> set[str]:
    parsed = parse(document)
    fragments = {d.name.value: d for d in parsed.definitions if not isinstance(
        d, OperationDefinitionNode)}  # fmt: skip
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    paths = _paths(operation.selection_set)
    for name, fragment in fragments.items():  # LineItemFields is spread in lineItems.nodes
        assert name == "LineItemFields"
        paths |= _paths(fragment.selection_set, "orders.lineItems.")
    return paths


def test_the_bulk_query_selects_exactly_the_paged_order_fields():
    document = bulk_orders_query(OrderFilter(financial_statuses=["paid"]))
    assert 'orders(query: "financial_status:paid", sortKey: CREATED_AT)' in document
    assert "(first" not in document and "$" not in document
    assert _order_node_paths(document) == _order_node_paths(ORDERS_QUERY)


def _jsonl(orders: list[dict[str, Any]]) -> list[bytes]:
    lines = []
    for order in orders:
        order = dict(order)
        children = order.pop("lineItems")["nodes"] + order.pop("shippingLines")["nodes"]
        lines.append(json.dumps(order).encode())
        lines += [json.dumps({**c, "__parentId": order["id"]}).encode() for c in children]
    return lines


def test_children_of_an_order_already_handed_out_are_refused():
    order = json.loads(FIXTURE.read_text())
    second = {**order, "id": "gid://shopify/Order/2"}
    lines = _jsonl([order, second])
    late_child = json.dumps({"id": "gid://shopify/LineItem/9", "__parentId": order["id"]})
    batches = regroup_orders([*lines, late_child.encode()], batch_size=1)
    assert next(batches)[0]["id"] == order["id"]
    with pytest.raises(PlatformError, match="not in the open batch"):
        list(batches)
    with pytest.raises(PlatformError, match="not valid JSON"):
        list(regroup_orders([b'{"id": "gid://shopify/Order/1", "x": 1.5'], 10))


def test_lines_split_across_chunks_are_joined():
    text = b'{"a":1}\n{"b":2}\n{"c":3}'
    chunks = [text[i : i + 3] for i in range(0, len(text), 3)]
    assert list(_byte_lines(chunks)) == [b'{"a":1}', b'{"b":2}', b'{"c":3}']


def _synthetic_file(count: int) -> Iterator[bytes]:
    """A bulk file of `count` fixture-sized orders, produced as it is read."""
    order = json.loads(FIXTURE.read_text())
    template = b"\n".join(_jsonl([order])) + b"\n"
    order_id, item_id = order["id"].encode(), order["lineItems"]["nodes"][0]["id"].encode()
    ship_id = order["shippingLines"]["nodes"][0]["id"].encode()
    buffer: list[bytes] = []
    for n in range(count):
        buffer.append(
            template.replace(order_id, b"gid://shopify/Order/%d" % (10**6 + n))
            .replace(item_id, b"gid://shopify/LineItem/%d" % n)
            .replace(ship_id, b"gid://shopify/ShippingLine/%d" % n)
        )
        if len(buffer) == 20:
            yield b"".join(buffer)
            buffer = []
    if buffer:
        yield b"".join(buffer)


def _file_connector(count: int) -> ShopifyConnector:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "X-Shopify-Access-Token" not in request.headers  # a signed URL needs no token
        return httpx.Response(200, content=_synthetic_file(count))

    return ShopifyConnector("bigledger-demo.myshopify.com", "shpat_test_0123456789",
                            transport=httpx.MockTransport(handler))  # fmt: skip


def test_streaming_20000_orders_keeps_memory_flat():
    count, batch_size = 20_000, 500
    gc.collect()
    tracemalloc.start()
    try:
        # What one batch of these orders costs when held.
        base = tracemalloc.get_traced_memory()[0]
        batches = _file_connector(batch_size + 1).iter_bulk_orders(SIGNED_URL, batch_size)
        held = next(batches)
        one_batch = tracemalloc.get_traced_memory()[0] - base
        batches.close()
        del held
        gc.collect()
        gc.disable()  # nothing here makes cycles; the collector only slows tracing down
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        seen = 0
        conn = _file_connector(count)
        for batch in conn.iter_bulk_orders(SIGNED_URL, batch_size):
            # Consecutive ids from first to last of each batch: every order once, in order.
            first, last = (int(batch[i]["id"].rsplit("/", 1)[1]) for i in (0, -1))
            assert first == 10**6 + seen and last == first + len(batch) - 1
            assert len(batch[-1]["lineItems"]["nodes"]) == 1
            seen += len(batch)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        gc.enable()
        tracemalloc.stop()
    hold_all = one_batch * count / batch_size
    assert seen == count
    # Streaming holds about one batch (plus the one being filled), not the whole file.
    assert peak < hold_all / 10, (peak, one_batch, hold_all)
