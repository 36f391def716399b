"""Bulk query operations in the Shopify sandbox: lifecycle, JSONL layout, rules, expiry, faults."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.sandbox.conftest import FakeClock, Shop

RUN = """
mutation Run($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""
FIELDS = "id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url " \
         "partialDataUrl query"  # fmt: skip
CURRENT = f"{{ currentBulkOperation(type: QUERY) {{ {FIELDS} }} }}"
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on BulkOperation {{ {FIELDS} }} }} }}"
ORDERS = """
{
  orders(query: "financial_status:paid", sortKey: CREATED_AT) {
    edges {
      node {
        id
        name
        totalPriceSet { shopMoney { amount currencyCode } }
        taxLines { rate }
        lineItems { edges { node { id sku originalUnitPriceSet { shopMoney { amount } } } } }
        shippingLines { nodes { id title } }
      }
    }
  }
}
"""


def run(shop: Shop, query: str = ORDERS) -> dict[str, Any]:
    return shop.data(RUN, {"query": query})["bulkOperationRunQuery"]


def current(shop: Shop) -> dict[str, Any]:
    return shop.data(CURRENT)["currentBulkOperation"]


def wait_done(shop: Shop, seen: list[str] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        op = current(shop)
        if seen is not None and (not seen or seen[-1] != op["status"]):
            seen.append(op["status"])
        if op["status"] not in ("CREATED", "RUNNING", "CANCELING"):
            return op
        assert time.monotonic() < deadline, op
        time.sleep(0.01)


def download(shop: Shop, url: str) -> list[dict[str, Any]]:
    response = shop.client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jsonl")
    return [json.loads(line) for line in response.text.splitlines()]


def test_lifecycle_created_running_completed(make_shop):
    clock = FakeClock()
    shop = make_shop(size=300, clock=clock, bulk_queue_seconds=5, bulk_objects_per_second=1000)
    started = run(shop)
    assert started["userErrors"] == []
    op_id = started["bulkOperation"]["id"]
    assert op_id.startswith("gid://shopify/BulkOperation/")
    assert started["bulkOperation"]["status"] == "CREATED"
    time.sleep(0.05)
    assert current(shop)["status"] == "CREATED"  # the config clock has not moved
    clock.advance(5)
    deadline = time.monotonic() + 5
    while current(shop)["status"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.05)
    running = current(shop)
    assert running["status"] == "RUNNING" and running["url"] is None
    assert running["objectCount"] == "0"  # paced by the frozen clock: nothing written yet
    clock.advance(3600)
    done = wait_done(shop)
    assert done["status"] == "COMPLETED" and done["errorCode"] is None
    assert done["completedAt"] >= done["createdAt"]
    assert shop.data(NODE, {"id": op_id})["node"] == done
    lines = download(shop, done["url"])
    assert int(done["objectCount"]) == len(lines)
    assert int(done["fileSize"]) == len(shop.client.get(done["url"]).content)
    paid = shop.data('{ ordersCount(query: "financial_status:paid") { count } }')
    assert int(done["rootObjectCount"]) == paid["ordersCount"]["count"] > 0


def test_jsonl_lines_children_follow_their_parent(make_shop):
    shop = make_shop(size=400)
    run(shop)
    op = wait_done(shop)
    lines = download(shop, op["url"])
    parent = None
    roots: list[dict[str, Any]] = []
    children: dict[str, list[str]] = {}
    for line in lines:
        if "__parentId" not in line:
            parent = line["id"]
            roots.append(line)
            assert "lineItems" not in line and "shippingLines" not in line
            assert isinstance(line["totalPriceSet"]["shopMoney"]["amount"], str)
        else:
            assert line["__parentId"] == parent  # grouped: right after its own order
            children.setdefault(parent, []).append(line["id"])
    created = [r["id"] for r in roots]
    assert len(set(created)) == len(created)
    # The same orders, lines and order as a paged query with the same filter.
    paged = shop.data(
        """{ orders(first: 250, query: "financial_status:paid", sortKey: CREATED_AT) {
             nodes { id lineItems(first: 50) { nodes { id } }
                     shippingLines(first: 10) { nodes { id } } } } }"""
    )["orders"]["nodes"]
    assert created[: len(paged)] == [o["id"] for o in paged]
    for order in paged:
        expected = [n["id"] for n in order["lineItems"]["nodes"]]
        expected += [n["id"] for n in order["shippingLines"]["nodes"]]
        assert children.get(order["id"], []) == expected


def test_one_bulk_query_at_a_time(make_shop):
    clock = FakeClock()
    shop = make_shop(size=50, clock=clock, bulk_queue_seconds=60)
    first = run(shop)["bulkOperation"]["id"]
    refused = run(shop)
    assert refused["bulkOperation"] is None
    assert refused["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
    assert first in refused["userErrors"][0]["message"]
    clock.advance(60)
    assert wait_done(shop)["status"] == "COMPLETED"
    again = run(shop)
    assert again["userErrors"] == [] and again["bulkOperation"]["id"] != first


def test_result_url_expires_like_a_signed_url(make_shop):
    clock = FakeClock()
    shop = make_shop(size=50, clock=clock, bulk_url_ttl_seconds=3600)
    run(shop)
    op = wait_done(shop)
    assert download(shop, op["url"])
    forged = op["url"].rsplit("=", 1)[0] + "=0123456789abcdef0123456789abcdef"
    assert shop.client.get(forged).status_code == 403
    clock.advance(3601)
    response = shop.client.get(op["url"])
    assert response.status_code == 403 and b"expired" in response.content
    expired = shop.data(NODE, {"id": op["id"]})["node"]
    assert expired["status"] == "EXPIRED" and expired["url"] is None


def test_failure_fault_fails_with_error_code_and_partial_data(make_shop):
    shop = make_shop(size=300)
    shop.control(faults={"bulk_failed": {"count": 1, "error_code": "TIMEOUT",
                                         "after_objects": 20}})  # fmt: skip
    run(shop)
    failed = wait_done(shop)
    assert failed["status"] == "FAILED" and failed["errorCode"] == "TIMEOUT"
    assert failed["url"] is None and failed["partialDataUrl"]
    partial = download(shop, failed["partialDataUrl"])
    assert len(partial) == int(failed["objectCount"]) >= 20
    assert "__parentId" not in partial[0]
    assert shop.stats()["faults_served"]["bulk_failed"] == 1
    run(shop)  # the fault was for one operation only
    assert wait_done(shop)["status"] == "COMPLETED"


def test_nothing_matched_completes_without_a_file(make_shop):
    shop = make_shop(size=20)
    run(shop, ORDERS.replace("financial_status:paid", "name:nothing-like-this"))
    op = wait_done(shop)
    assert op["status"] == "COMPLETED" and op["objectCount"] == "0" and op["url"] is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ orders { edges { node { id nope } } }", "Invalid bulk query"),
        ("{ orders { edges { node { id nope } } } }", "Cannot query field 'nope'"),
        ('{ node(id: "gid://shopify/Order/1") { id } }', "top level `node`"),
        ("{ products { edges { node { id } } } }", "`orders`"),
        ("query($q: String) { orders(query: $q) { edges { node { id } } } }", "variables"),
        ("{ orders { edges { node { name lineItems { edges { node { id } } } } } } }", "`id`"),
    ],
)
def test_invalid_bulk_queries_are_user_errors(make_shop, query, message):
    shop = make_shop(size=10)
    payload = run(shop, query)
    assert payload["bulkOperation"] is None
    error = payload["userErrors"][0]
    assert error["code"] == "INVALID" and error["field"] == ["query"]
    assert message in error["message"]
    assert current(shop) is None


def test_dataset_reset_cancels_a_running_operation(make_shop):
    clock = FakeClock()
    shop = make_shop(size=50, clock=clock, bulk_queue_seconds=60)
    run(shop)
    shop.control(dataset={"size": 60})
    assert wait_done(shop)["status"] == "CANCELED"
    assert run(shop)["userErrors"] == []
