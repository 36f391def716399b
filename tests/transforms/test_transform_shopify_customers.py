"""Shopify customer node -> CustomerDoc, and one customer whether met in the customers query
or in an order (same external id, email and names as transforms/shopify_orders.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bigledger.errors import DataMappingError
from connectors.shopify import CustomerFilter, OrderFilter, ShopifyConnector
from sandbox.shopify import ShopifySandboxConfig, create_app
from tests.connectors.test_connector_shopify_products import AppTransport
from tests.sandbox.conftest import FakeClock
from tests.transforms.conftest import standard_accounts
from transforms.documents import CustomerDoc
from transforms.shopify_customers import (
    customer_external_id,
    customer_to_document,
    customer_updated_at,
)
from transforms.shopify_orders import _customer, order_to_documents

NODE = {
    "id": "gid://shopify/Customer/7000000000026",
    "legacyResourceId": "7000000000026",
    "email": "zara.ismail.26@example.com",
    "defaultEmailAddress": {"emailAddress": "zara.ismail.26@example.com"},
    "firstName": "Zara",
    "lastName": "Ismail",
    "displayName": "Zara Ismail",
    "updatedAt": "2023-12-09T13:50:37Z",
    "numberOfOrders": "4",
    "amountSpent": {"amount": "2274.86", "currencyCode": "MYR"},
    "state": "ENABLED",
    "tags": [],
}


def test_maps_a_customer_node():
    assert customer_to_document(NODE) == CustomerDoc(
        "7000000000026", "zara.ismail.26@example.com", "Zara", "Ismail", "Zara Ismail"
    )
    assert customer_updated_at(NODE) == datetime(2023, 12, 9, 13, 50, 37, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "last", "name"),
    [("Zara", None, "Zara"), (None, "Ismail", "Ismail"), ("", "", None), (None, None, None)],
)
def test_names_follow_the_order_transform(first, last, name):
    node = {**NODE, "firstName": first, "lastName": last}
    doc = customer_to_document(node)
    assert (doc.first_name, doc.last_name, doc.name) == (first or None, last or None, name)
    # The order transform's helper, given the same node, agrees field for field.
    assert _customer({"customer": node}) == doc


def test_email_falls_back_to_default_email_address():
    node = {**NODE, "email": None, "defaultEmailAddress": {"emailAddress": "z@example.com"}}
    assert customer_to_document(node).email == "z@example.com"
    assert customer_to_document({**node, "defaultEmailAddress": None}).email is None
    assert customer_to_document({"id": "gid://shopify/Customer/5?x=1"}) == CustomerDoc(
        "5", None, None, None, None
    )


@pytest.mark.parametrize("bad", [None, [], {"id": None}, {"id": ""}, {"id": 12}])
def test_refuses_what_is_not_a_customer(bad):
    with pytest.raises(DataMappingError):
        customer_to_document(bad)
    with pytest.raises(DataMappingError):
        customer_external_id(bad)


@pytest.mark.parametrize("stamp", [None, "yesterday", "2024-01-01T00:00:00"])
def test_updated_at_must_be_an_aware_timestamp(stamp):
    with pytest.raises(DataMappingError):
        customer_updated_at({**NODE, "updatedAt": stamp})


def test_customer_query_and_orders_give_one_ledger_customer():
    app = create_app(
        ShopifySandboxConfig(size=120, customer_pool=15, throttling=False, clock=FakeClock())
    )
    conn = ShopifyConnector(
        "sandbox.myshopify.com",
        "shpat_sandbox_token",
        base_url="http://127.0.0.1",
        transport=AppTransport(app),
        budget_seconds=5,
    )
    from_customers = {
        doc.external_id: doc
        for page in conn.iter_customer_pages(CustomerFilter())
        for doc in map(customer_to_document, page.records)
    }
    assert len(from_customers) == 15
    matched = 0
    for page in conn.iter_order_pages(OrderFilter()):
        for order in page.records:
            doc = order_to_documents(order, standard_accounts()).customer
            if doc is None:
                continue
            assert doc == from_customers[doc.external_id]  # id, email, names: identical
            matched += 1
    assert matched > 100
