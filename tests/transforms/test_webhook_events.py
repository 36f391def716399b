"""Verified deliveries -> normalized events in the spec's "Webhook Event Processing" shape."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from bigledger.errors import DataMappingError
from connectors.webhook_signatures import (
    verify_quickbooks,
    verify_shopify,
    verify_stripe,
    verify_woocommerce,
    verify_xero,
)
from transforms.webhook_events import (
    GENERIC_EVENT,
    normalize_delivery,
    parse_time,
    shopify_events,
)

RECEIVED = datetime(2024, 2, 1, 12, 0, tzinfo=UTC)
INTEGRATION = "int_1"


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify(topic: str, payload: dict, **extra: str):
    body = json.dumps(payload).encode()
    headers = {"X-Shopify-Hmac-Sha256": sign("k", body), "X-Shopify-Topic": topic,
               "X-Shopify-Event-Id": "ev-9", "X-Shopify-Shop-Domain": "demo.myshopify.com",
               **extra}
    return normalize_delivery(verify_shopify(body, headers, "k"), integration_id=INTEGRATION,
                              received_at=RECEIVED)


SHOPIFY_ORDER = {
    "id": 12345, "name": "#1001", "email": "customer@example.com",
    "created_at": "2024-01-15T10:30:00Z", "updated_at": "2024-01-15T18:30:00+08:00",
    "currency": "MYR", "total_price": "105.98", "financial_status": "paid",
    "fulfillment_status": None,
    "customer": {"id": 789, "email": "customer@example.com", "first_name": "John",
                 "last_name": "Doe"},
    "line_items": [{"product_id": 456, "variant_id": 790, "sku": "WIDGET-001",
                    "name": "Premium Widget", "quantity": 2, "price": "49.99"}],
}


def test_shopify_order_created_matches_spec_shape():
    [event] = shopify("orders/create", SHOPIFY_ORDER)
    spec = event.to_spec()
    assert spec["event"] == "order.created"
    assert spec["source"] == "shopify"
    assert spec["integrationId"] == INTEGRATION
    # updated_at 18:30+08:00 is 10:30 UTC.
    assert spec["timestamp"] == "2024-01-15T10:30:00Z"
    assert (spec["eventId"], spec["resourceType"], spec["resourceId"]) == (
        "ev-9", "order", "12345")
    assert spec["data"] == {
        "orderId": "12345", "orderNumber": "#1001",
        "customer": {"id": "789", "email": "customer@example.com", "firstName": "John",
                     "lastName": "Doe"},
        "items": [{"productId": "456", "variantId": "790", "sku": "WIDGET-001",
                   "name": "Premium Widget", "quantity": 2, "price": "49.99"}],
        "total": "105.98", "currency": "MYR", "status": "paid", "fulfillmentStatus": None,
        "cancelledAt": None,
    }
    # The spec's shape serializes with no float anywhere.
    text = json.dumps(spec)
    assert "105.98" in text and json.loads(text)["data"]["total"] == "105.98"
    assert event.payload["id"] == 12345


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        ("orders/updated", SHOPIFY_ORDER, ("order.updated", "order", "12345")),
        ("orders/paid", SHOPIFY_ORDER, ("order.paid", "order", "12345")),
        ("orders/cancelled", SHOPIFY_ORDER, ("order.cancelled", "order", "12345")),
        ("ORDERS_CREATE", SHOPIFY_ORDER, ("order.created", "order", "12345")),
        ("refunds/create", {"id": 55, "order_id": 12345, "created_at": "2024-01-16T00:00:00Z"},
         ("refund.created", "order", "12345")),
        ("products/update", {"id": 456, "title": "Widget", "updated_at": "2024-01-01T00:00:00Z"},
         ("product.updated", "product", "456")),
        ("inventory_levels/update", {"inventory_item_id": 1, "location_id": 2, "available": 5,
                                     "updated_at": "2024-01-01T00:00:00Z"},
         ("inventory.updated", "inventory_level", "1:2")),
        ("app/uninstalled", {"id": 1, "name": "Demo"},
         ("app.uninstalled", "shop", "demo.myshopify.com")),
        ("customers/redact", {"shop_id": 1, "customer": {"id": 789}},
         ("privacy.customer_redact", "customer", "789")),
    ],
)
def test_shopify_topics(topic, payload, expected):
    [event] = shopify(topic, payload)
    assert (event.event, event.resource_type, event.resource_id) == expected
    assert event.topic == topic


def test_shopify_refund_keeps_refund_id():
    [event] = shopify("refunds/create", {"id": 55, "order_id": 12345})
    assert event.data == {"orderId": "12345", "refundId": "55"}
    assert event.occurred_at == RECEIVED  # no time in payload or headers


def test_shopify_unknown_topic_is_kept_generic():
    [event] = shopify("fulfillment_events/create", {"id": 3})
    assert event.event == GENERIC_EVENT
    assert event.topic == "fulfillment_events/create"
    assert event.resource_id == "3"


def test_shopify_time_falls_back_to_triggered_at():
    [event] = shopify("app/uninstalled", {"id": 1},
                      **{"X-Shopify-Triggered-At": "2024-01-20T01:02:03.5Z"})
    assert event.occurred_at == datetime(2024, 1, 20, 1, 2, 3, 500000, tzinfo=UTC)
    assert event.timestamp == "2024-01-20T01:02:03.500000Z"


def test_shopify_bad_amount_is_a_mapping_error():
    with pytest.raises(DataMappingError, match="total_price"):
        shopify("orders/create", {**SHOPIFY_ORDER, "total_price": "1O5.98"})


def test_shopify_is_deterministic():
    first = shopify_events(SHOPIFY_ORDER, topic="orders/create", event_id="e",
                           integration_id="i", received_at=RECEIVED)
    again = shopify_events(SHOPIFY_ORDER, topic="orders/create", event_id="e",
                           integration_id="i", received_at=RECEIVED)
    assert first == again


# -- WooCommerce -----------------------------------------------------------------------------


def woo(topic: str, payload: dict):
    body = json.dumps(payload).encode()
    headers = {"X-WC-Webhook-Signature": sign("k", body), "X-WC-Webhook-Topic": topic,
               "X-WC-Webhook-Delivery-ID": "del-1"}
    return normalize_delivery(verify_woocommerce(body, headers, "k"),
                              integration_id=INTEGRATION, received_at=RECEIVED)


WOO_ORDER = {
    "id": 727, "number": "727", "status": "processing", "currency": "USD", "total": "29.35",
    "customer_id": 0, "date_created_gmt": "2024-01-10T09:00:00",
    "date_modified_gmt": "2024-01-10T09:05:00",
    "billing": {"first_name": "Jane", "last_name": "Roe", "email": "jane@example.com"},
    "line_items": [{"product_id": 93, "variation_id": 0, "sku": "", "name": "Woo Single",
                    "quantity": 2, "price": 12.5}],
}


def test_woo_order_created():
    [event] = woo("order.created", WOO_ORDER)
    assert (event.event, event.source, event.event_id) == ("order.created", "woocommerce", "del-1")
    assert (event.resource_type, event.resource_id) == ("order", "727")
    assert event.occurred_at == datetime(2024, 1, 10, 9, 5, tzinfo=UTC)  # *_gmt is UTC
    assert event.data["total"] == "29.35"
    assert event.data["items"][0]["price"] == "12.5"  # a JSON number parsed exactly
    assert event.data["customer"] == {"id": None, "email": "jane@example.com",
                                      "firstName": "Jane", "lastName": "Roe"}


@pytest.mark.parametrize(
    ("topic", "expected"),
    [("order.updated", "order.updated"), ("order.deleted", "order.deleted"),
     ("order.restored", "order.restored"), ("product.created", "product.created"),
     ("customer.deleted", "customer.deleted"), ("coupon.updated", "coupon.updated"),
     ("action.woocommerce_custom", GENERIC_EVENT)],
)
def test_woo_topics(topic, expected):
    [event] = woo(topic, {"id": 5})
    assert event.event == expected
    assert event.resource_id == "5"
    assert event.occurred_at == RECEIVED


def test_woo_ping_gives_no_event():
    v = verify_woocommerce(b"webhook_id=9", {}, "k")
    assert normalize_delivery(v, integration_id=INTEGRATION, received_at=RECEIVED) == []


# -- Stripe ----------------------------------------------------------------------------------


def stripe(event: dict):
    body = json.dumps(event).encode()
    t = 1700000000
    sig = hmac.new(b"whsec", f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    v = verify_stripe(body, {"Stripe-Signature": f"t={t},v1={sig}"}, "whsec", now=t)
    return normalize_delivery(v, integration_id=INTEGRATION, received_at=RECEIVED)


@pytest.mark.parametrize(
    ("type_", "obj", "expected"),
    [
        ("charge.succeeded", {"object": "charge", "id": "ch_1", "amount": 1000,
                              "currency": "usd", "status": "succeeded"},
         ("charge.succeeded", "charge", "ch_1")),
        ("charge.refunded", {"object": "charge", "id": "ch_1", "amount": 1000,
                             "currency": "jpy"}, ("charge.refunded", "charge", "ch_1")),
        ("charge.dispute.created", {"object": "dispute", "id": "dp_1", "amount": 500,
                                    "currency": "usd", "charge": "ch_1"},
         ("dispute.created", "dispute", "dp_1")),
        ("payout.paid", {"object": "payout", "id": "po_1", "amount": 9000, "currency": "eur"},
         ("payout.paid", "payout", "po_1")),
        ("customer.subscription.created", {"object": "subscription", "id": "sub_1"},
         (GENERIC_EVENT, "subscription", "sub_1")),
    ],
)
def test_stripe_types(type_, obj, expected):
    [event] = stripe({"id": "evt_1", "object": "event", "type": type_, "created": 1700000000,
                      "data": {"object": obj}})
    assert (event.event, event.resource_type, event.resource_id) == expected
    assert event.event_id == "evt_1"
    assert event.topic == type_
    assert event.occurred_at == datetime.fromtimestamp(1700000000, UTC)
    assert event.data["amount"] == obj.get("amount")
    assert type(event.data["amount"]) in (int, type(None))


def test_stripe_currency_upper_and_dispute_charge():
    [event] = stripe({"id": "evt_2", "type": "charge.dispute.created", "created": 1,
                      "data": {"object": {"object": "dispute", "id": "dp_1", "amount": 5,
                                          "currency": "usd", "charge": "ch_9"}}})
    assert event.data["currency"] == "USD"
    assert event.data["charge"] == "ch_9"


# -- QuickBooks ------------------------------------------------------------------------------

QBO_BODY = (
    b'{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":'
    b'[{"name":"Invoice","id":"130","operation":"Create","lastUpdated":"2024-01-01T00:00:00.000Z"}]}}]}'
)


def qbo(body: bytes):
    v = verify_quickbooks(body, {"intuit-signature": sign("tok", body)}, "tok")
    return normalize_delivery(v, integration_id=INTEGRATION, received_at=RECEIVED)


def test_quickbooks_reference_body():
    [event] = qbo(QBO_BODY)
    assert (event.event, event.resource_type, event.resource_id) == (
        "invoice.created", "invoice", "130")
    assert event.event_id == "1185883450:Invoice:130:Create:2024-01-01T00:00:00.000Z"
    assert event.occurred_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert event.data["realmId"] == "1185883450"


def test_quickbooks_all_operations_and_batches():
    t = "2024-01-02T00:00:00Z"
    entities = [
        {"name": "Invoice", "id": "1", "operation": "Update", "lastUpdated": t},
        {"name": "Customer", "id": "2", "operation": "Delete", "lastUpdated": t},
        {"name": "Payment", "id": "3", "operation": "Void", "lastUpdated": t},
        {"name": "Customer", "id": "4", "operation": "Merge", "deletedId": "5",
         "lastUpdated": "2024-01-02T00:00:00Z"},
        {"name": "JournalEntry", "id": "6", "operation": "Create",
         "lastUpdated": "2024-01-02T00:00:00Z"},
        {"name": "Invoice", "id": "7", "operation": "Teleport", "lastUpdated": "2024-01-02"},
    ]
    body = json.dumps({"eventNotifications": [
        {"realmId": "r1", "dataChangeEvent": {"entities": entities[:3]}},
        {"realmId": "r2", "dataChangeEvent": {"entities": entities[3:]}},
    ]}).encode()
    events = qbo(body)
    assert [e.event for e in events] == [
        "invoice.updated", "customer.deleted", "payment.voided", "customer.merged",
        "journal_entry.created", GENERIC_EVENT]
    assert events[3].data["deletedId"] == "5"
    assert events[3].data["realmId"] == "r2"
    assert len({e.event_id for e in events}) == len(events)


def test_quickbooks_cloudevents():
    items = [
        {"specversion": "1.0", "id": "ce-1", "source": "intuit", "type": "qbo.invoice.created.v1",
         "time": "2024-01-03T00:00:00Z", "intuitentityid": "130", "intuitaccountid": "r1"},
        {"specversion": "1.0", "id": "ce-2", "type": "qbo.customer.deleted.v1",
         "time": "2024-01-03T00:00:00Z", "intuitentityid": "9", "intuitaccountid": "r1"},
        {"specversion": "1.0", "id": "ce-3", "type": "com.other.thing",
         "intuitentityid": "1"},
    ]
    events = qbo(json.dumps(items).encode())
    assert [(e.event, e.resource_type, e.resource_id, e.event_id) for e in events] == [
        ("invoice.created", "invoice", "130", "ce-1"),
        ("customer.deleted", "customer", "9", "ce-2"),
        (GENERIC_EVENT, "unknown", "1", "ce-3"),
    ]
    assert events[2].occurred_at == RECEIVED


# -- Xero ------------------------------------------------------------------------------------


def xero(payload: dict):
    body = json.dumps(payload).encode()
    v = verify_xero(body, {"x-xero-signature": sign("key", body)}, "key")
    return normalize_delivery(v, integration_id=INTEGRATION, received_at=RECEIVED)


def test_xero_events():
    events = xero({"events": [
        {"resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/i1", "resourceId": "i1",
         "eventDateUtc": "2024-01-04T05:06:07.123", "eventType": "CREATE",
         "eventCategory": "INVOICE", "tenantId": "t1", "tenantType": "ORGANISATION"},
        {"resourceId": "c1", "eventDateUtc": "2024-01-04T05:06:08", "eventType": "UPDATE",
         "eventCategory": "CONTACT", "tenantId": "t1"},
        {"resourceId": "n1", "eventDateUtc": "2024-01-04T05:06:09", "eventType": "UPDATE",
         "eventCategory": "CREDITNOTE", "tenantId": "t1", "data": {"x": 1}},
        {"resourceId": "z1", "eventDateUtc": "2024-01-04T05:06:09", "eventType": "ARCHIVE",
         "eventCategory": "INVOICE", "tenantId": "t1"},
    ], "firstEventSequence": 1, "lastEventSequence": 4, "entropy": "e"})
    assert [(e.event, e.resource_type, e.resource_id) for e in events] == [
        ("invoice.created", "invoice", "i1"), ("contact.updated", "contact", "c1"),
        ("credit_note.updated", "credit_note", "n1"), (GENERIC_EVENT, "invoice", "z1")]
    assert events[0].occurred_at == datetime(2024, 1, 4, 5, 6, 7, 123000, tzinfo=UTC)
    assert events[0].event_id == "t1:INVOICE:i1:CREATE:2024-01-04T05:06:07.123"
    assert events[2].data["data"] == {"x": 1}


def test_xero_intent_to_receive_gives_no_event():
    assert xero({"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
                 "entropy": "e"}) == []


# -- helpers ---------------------------------------------------------------------------------


def test_parse_time_forms():
    assert parse_time("/Date(1573755038314+0000)/") == datetime(
        2019, 11, 14, 18, 10, 38, 314000, tzinfo=UTC)
    assert parse_time(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_time("not a date") is None
    assert parse_time(None) is None


def test_received_at_must_be_aware():
    v = verify_xero(b'{"events":[]}', {"x-xero-signature": sign("k", b'{"events":[]}')}, "k")
    with pytest.raises(ValueError):
        normalize_delivery(v, integration_id=INTEGRATION, received_at=datetime(2024, 1, 1))
