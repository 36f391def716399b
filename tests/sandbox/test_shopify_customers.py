"""Sandbox customers: the pool orders buy from, paged in every sort order, searched,
counted, touched at runtime, with order statistics that agree with the orders."""

from __future__ import annotations

from sandbox.shopify.data import CUSTOMER_ID_BASE
from tests.sandbox.conftest import FakeClock

FIELDS = """id legacyResourceId email defaultEmailAddress { emailAddress } firstName lastName
displayName phone createdAt updatedAt numberOfOrders amountSpent { amount currencyCode }
state tags"""
CUSTOMERS = """
query($first: Int!, $after: String, $query: String, $sortKey: CustomerSortKeys,
      $reverse: Boolean) {
  customers(first: $first, after: $after, query: $query, sortKey: $sortKey, reverse: $reverse) {
    nodes { FIELDS }
    pageInfo { hasNextPage endCursor }
  }
}
""".replace("FIELDS", FIELDS)
COUNT = "query($q: String) { customersCount(query: $q, limit: null) { count precision } }"
ORDERS = """
query($after: String) {
  orders(first: 50, after: $after) {
    nodes { id email totalReceivedSet { shopMoney { amount } }
            totalRefundedSet { shopMoney { amount } }
            customer { id email firstName lastName displayName updatedAt numberOfOrders } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def walk(shop, sort_key="ID", query=None, first=7, reverse=False):
    out, cursor = [], None
    while True:
        conn = shop.data(
            CUSTOMERS,
            {"first": first, "after": cursor, "query": query, "sortKey": sort_key,
             "reverse": reverse},
        )["customers"]  # fmt: skip
        out += conn["nodes"]
        if not conn["pageInfo"]["hasNextPage"]:
            return out
        cursor = conn["pageInfo"]["endCursor"]


def all_orders(shop):
    out, cursor = [], None
    while True:
        conn = shop.data(ORDERS, {"after": cursor})["orders"]
        out += conn["nodes"]
        if not conn["pageInfo"]["hasNextPage"]:
            return out
        cursor = conn["pageInfo"]["endCursor"]


def test_pool_pages_once_in_every_sort_order(make_shop):
    shop = make_shop(size=120, customer_pool=23)
    by_id = walk(shop)
    assert [c["legacyResourceId"] for c in by_id] == [str(CUSTOMER_ID_BASE + k) for k in range(23)]
    for sort_key in ("UPDATED_AT", "NAME", "CREATED_AT", "ID"):
        for reverse in (False, True):
            seen = walk(shop, sort_key, first=4, reverse=reverse)
            assert sorted(c["id"] for c in seen) == sorted(c["id"] for c in by_id)
            if sort_key == "UPDATED_AT":
                stamps = [c["updatedAt"] for c in seen]
                assert stamps == sorted(stamps, reverse=reverse)
            if sort_key == "NAME":
                names = [c["displayName"] for c in seen]
                assert names == sorted(names, reverse=reverse)
    for c in by_id:
        assert c["displayName"] == f"{c['firstName']} {c['lastName']}"
        assert c["defaultEmailAddress"] == {"emailAddress": c["email"]}
        assert c["state"] in ("ENABLED", "DISABLED", "INVITED", "DECLINED")
        assert c["createdAt"] <= c["updatedAt"] <= "2024-01-01T00:00:00Z"
        assert c["amountSpent"]["currencyCode"] == "MYR"
        assert c["numberOfOrders"].isdigit()


def test_same_pool_and_statistics_as_the_orders(make_shop):
    shop = make_shop(size=150, customer_pool=20)
    customers = {c["id"]: c for c in walk(shop, first=250)}
    orders = all_orders(shop)
    placed: dict[str, int] = {}
    spent: dict[str, int] = {}
    for order in orders:
        buyer = order["customer"]
        if buyer is None:
            continue
        truth = customers[buyer["id"]]  # every buyer is a customer of the pool
        for key in ("email", "firstName", "lastName", "displayName", "updatedAt"):
            assert buyer[key] == truth[key]
        assert order["email"] == truth["email"]
        placed[buyer["id"]] = placed.get(buyer["id"], 0) + 1
        cents = int(order["totalReceivedSet"]["shopMoney"]["amount"].replace(".", ""))
        cents -= int(order["totalRefundedSet"]["shopMoney"]["amount"].replace(".", ""))
        spent[buyer["id"]] = spent.get(buyer["id"], 0) + cents
    assert sum(placed.values()) > 100
    for gid, customer in customers.items():
        assert int(customer["numberOfOrders"]) == placed.get(gid, 0)
        assert int(customer["amountSpent"]["amount"].replace(".", "")) == spent.get(gid, 0)


def test_search_and_count(make_shop):
    shop = make_shop(size=50, customer_pool=40)
    everyone = walk(shop, first=250)
    assert shop.data(COUNT, {"q": None})["customersCount"] == {"count": 40, "precision": "EXACT"}
    target = everyone[17]
    hits = walk(shop, query=f"email:{target['email']}")
    assert [c["id"] for c in hits] == [target["id"]]
    assert shop.data(COUNT, {"q": f"email:{target['email']}"})["customersCount"]["count"] == 1
    stamps = sorted(c["updatedAt"] for c in everyone)
    bound = stamps[25]
    newer = walk(shop, "UPDATED_AT", query=f"updated_at:>='{bound}'")
    assert [c["updatedAt"] for c in newer] == stamps[25:]
    assert shop.data(COUNT, {"q": f"updated_at:>='{bound}'"})["customersCount"]["count"] == 15
    enabled = [c for c in everyone if c["state"] == "ENABLED"]
    assert len(walk(shop, query="state:enabled")) == len(enabled)
    # Counts cap at `limit` like ordersCount; unknown fields warn and match everything.
    capped = shop.data("{ customersCount(limit: 5) { count precision } }")["customersCount"]
    assert capped == {"count": 5, "precision": "AT_LEAST"}
    body = shop.gql('{ customers(first: 1, query: "shoe_size:9") { nodes { id } } }')
    assert body["extensions"]["search"][0]["warnings"]


def test_touch_bumps_updated_at_and_renames_everywhere(make_shop):
    clock = FakeClock(1_760_000_000)
    shop = make_shop(size=60, customer_pool=10, clock=clock)
    orders = all_orders(shop)
    order = next(o for o in orders if o["customer"])
    legacy = int(order["customer"]["id"].rsplit("/", 1)[1])
    before = walk(shop, "UPDATED_AT")
    high_water = before[-1]["updatedAt"]
    response = shop.client.post(
        f"/__sandbox/customers/{legacy}/update", json={"firstName": "Renamed"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["updatedAt"] == "2025-10-09T08:53:20Z"
    changed = walk(shop, "UPDATED_AT", query=f"updated_at:>'{high_water}'")
    assert [(c["legacyResourceId"], c["firstName"]) for c in changed] == [(str(legacy), "Renamed")]
    assert changed[0]["displayName"] == f"Renamed {changed[0]['lastName']}"
    assert walk(shop, "UPDATED_AT")[-1]["legacyResourceId"] == str(legacy)
    again = next(o for o in all_orders(shop) if o["id"] == order["id"])
    assert again["customer"]["firstName"] == "Renamed"
    assert again["customer"]["updatedAt"] == "2025-10-09T08:53:20Z"
    # A second touch in the same second still moves forward; unknown ids and bad bodies fail.
    second = shop.client.post(f"/__sandbox/customers/{legacy}/update", json={}).json()
    assert second["updatedAt"] == "2025-10-09T08:53:21Z"
    assert shop.client.post("/__sandbox/customers/1/update", json={}).status_code == 404
    bad = shop.client.post(f"/__sandbox/customers/{legacy}/update", json={"state": "GONE"})
    assert bad.status_code == 422


def test_customer_lookup_and_cost(make_shop):
    shop = make_shop(size=10, customer_pool=5)
    gid = f"gid://shopify/Customer/{CUSTOMER_ID_BASE + 3}"
    node = shop.data("query($id: ID!) { customer(id: $id) { id email } }", {"id": gid})
    assert node["customer"]["id"] == gid
    missing = shop.data('{ customer(id: "gid://shopify/Customer/1") { id } }')
    assert missing["customer"] is None
    body = shop.gql(
        "{ customers(first: 10) { nodes { id amountSpent { amount } } pageInfo { hasNextPage } } }"
    )
    # A connection costs 2 + first x (node 1 + amountSpent 1) like every other connection.
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 10 * 2
    assert body["extensions"]["cost"]["actualQueryCost"] == 2 + 5 * 2
