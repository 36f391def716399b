"""A verified webhook delivery -> normalized events (the spec's "Webhook Event Processing").

Pure: no I/O. Each event carries the spec's fields (event, source, integrationId, timestamp,
data) plus what the processing flow needs: the platform's event id for deduplication, the
resource type and id it concerns, and when it happened (ordering per resource).

`data` is a small summary; money in it is an exact decimal string ("105.98"), never a float
(the spec's example shows JSON numbers). The platform's own record rides along in
`payload` so the flow need not parse the body again; for orders the flow still re-fetches
the current record, because deliveries arrive late, twice or out of order.

Topics this module does not know are kept as `webhook.received` with the platform topic,
never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, normalize_currency, to_decimal

GENERIC_EVENT = "webhook.received"


class VerifiedDelivery(Protocol):
    """What the normalizers read from connectors.webhook_signatures.Verified."""

    platform: str
    event_id: str | None
    topic: str | None
    payload: Any
    body_sha256: str
    ping: bool
    intent_to_receive: bool
    source: str | None
    triggered_at: str | None


@dataclass(frozen=True)
class WebhookEvent:
    """One normalized event."""

    event: str  # "order.created"
    source: str  # platform
    integration_id: str
    occurred_at: datetime  # aware, UTC
    event_id: str  # unique per platform event; the dedup key within (integration, source)
    resource_type: str  # "order", "invoice", "charge" ...
    resource_id: str
    topic: str  # the platform's own topic / type / operation
    data: dict[str, Any]
    payload: Any = field(default=None, repr=False, compare=False)

    @property
    def timestamp(self) -> str:
        """`occurred_at` as ISO 8601 UTC with a `Z`, the spec's `timestamp`."""
        return _iso(self.occurred_at)

    def to_spec(self) -> dict[str, Any]:
        """The spec's shape plus eventId, resourceType, resourceId and topic."""
        return {
            "event": self.event,
            "source": self.source,
            "integrationId": self.integration_id,
            "timestamp": self.timestamp,
            "eventId": self.event_id,
            "resourceType": self.resource_type,
            "resourceId": self.resource_id,
            "topic": self.topic,
            "data": self.data,
        }


# -- small helpers --------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (Z, offset or none = UTC), unix seconds, or Xero's `/Date(ms)/` -> UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    ms = re.fullmatch(r"/Date\((-?\d+)([+-]\d{4})?\)/", value.strip())
    if ms:
        return datetime.fromtimestamp(int(ms.group(1)) / 1000, UTC)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        # WooCommerce *_gmt, Xero eventDateUtc: UTC without an offset.
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _first_time(*values: Any) -> datetime | None:
    for value in values:
        moment = parse_time(value)
        if moment is not None:
            return moment
    return None


def _id(value: Any) -> str | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    return str(value)


def _money(value: Any, where: str, topic: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return str(to_decimal(value))
    except (MoneyError, ValueError, TypeError):
        raise DataMappingError(f"webhook {topic}: {where} is not an exact amount") from None


def _currency(value: Any) -> str | None:
    if not value:
        return None
    try:
        return normalize_currency(value)
    except MoneyError:
        return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


_PAST = {
    "create": "created", "created": "created", "update": "updated", "updated": "updated",
    "delete": "deleted", "deleted": "deleted", "restore": "restored", "restored": "restored",
    "void": "voided", "voided": "voided", "merge": "merged", "merged": "merged",
    "emailed": "emailed", "paid": "paid", "cancelled": "cancelled", "fulfilled": "fulfilled",
    "partially_fulfilled": "partially_fulfilled", "uninstalled": "uninstalled",
    "finish": "finished",
}


# -- Shopify ---------------------------------------------------------------------------------

# topic -> (event name, resource type)
SHOPIFY_TOPICS: dict[str, tuple[str, str]] = {
    "orders/create": ("order.created", "order"),
    "orders/updated": ("order.updated", "order"),
    "orders/paid": ("order.paid", "order"),
    "orders/cancelled": ("order.cancelled", "order"),
    "orders/fulfilled": ("order.fulfilled", "order"),
    "orders/partially_fulfilled": ("order.partially_fulfilled", "order"),
    "orders/edited": ("order.updated", "order"),
    "orders/delete": ("order.deleted", "order"),
    # A refund changes its order's books: it is ordered and re-fetched with the order.
    "refunds/create": ("refund.created", "order"),
    "products/create": ("product.created", "product"),
    "products/update": ("product.updated", "product"),
    "products/delete": ("product.deleted", "product"),
    "inventory_levels/update": ("inventory.updated", "inventory_level"),
    "inventory_levels/connect": ("inventory.connected", "inventory_level"),
    "inventory_levels/disconnect": ("inventory.disconnected", "inventory_level"),
    "customers/create": ("customer.created", "customer"),
    "customers/update": ("customer.updated", "customer"),
    "customers/delete": ("customer.deleted", "customer"),
    "app/uninstalled": ("app.uninstalled", "shop"),
    "bulk_operations/finish": ("bulk_operation.finished", "bulk_operation"),
    "customers/data_request": ("privacy.customer_data_request", "customer"),
    "customers/redact": ("privacy.customer_redact", "customer"),
    "shop/redact": ("privacy.shop_redact", "shop"),
}
_SHOPIFY_ENUM = {topic.replace("/", "_").upper(): topic for topic in SHOPIFY_TOPICS}


def _shopify_topic(topic: str) -> str:
    # GraphQL subscriptions may report ORDERS_CREATE; map back to the REST form.
    return _SHOPIFY_ENUM.get(topic, topic) if "/" not in topic else topic.lower()


def _shopify_order_data(order: dict[str, Any], topic: str) -> dict[str, Any]:
    customer = _obj(order.get("customer"))
    items = []
    for index, item in enumerate(order.get("line_items") or []):
        item = _obj(item)
        items.append({
            "productId": _id(item.get("product_id")),
            "variantId": _id(item.get("variant_id")),
            "sku": item.get("sku"),
            "name": item.get("name") or item.get("title"),
            "quantity": item.get("quantity"),
            "price": _money(item.get("price"), f"line_items[{index}].price", topic),
        })
    return {
        "orderId": _id(order.get("id")),
        "orderNumber": order.get("name"),
        "customer": {
            "id": _id(customer.get("id")),
            "email": customer.get("email") or order.get("email"),
            "firstName": customer.get("first_name"),
            "lastName": customer.get("last_name"),
        } if customer or order.get("email") else None,
        "items": items,
        "total": _money(order.get("total_price"), "total_price", topic),
        "currency": _currency(order.get("currency")),
        "status": order.get("financial_status"),
        "fulfillmentStatus": order.get("fulfillment_status"),
        "cancelledAt": order.get("cancelled_at"),
    }


def shopify_events(
    payload: Any,
    *,
    topic: str,
    event_id: str,
    integration_id: str,
    received_at: datetime,
    triggered_at: str | None = None,
    shop_domain: str | None = None,
) -> list[WebhookEvent]:
    """One Shopify delivery (one resource) -> one normalized event."""
    body = _obj(payload)
    rest_topic = _shopify_topic(topic or "")
    event, resource_type = SHOPIFY_TOPICS.get(rest_topic, (GENERIC_EVENT, "unknown"))
    resource_id = _id(body.get("id"))
    data: dict[str, Any]
    if resource_type == "order" and rest_topic == "refunds/create":
        resource_id = _id(body.get("order_id"))
        data = {"orderId": resource_id, "refundId": _id(body.get("id"))}
    elif resource_type == "order":
        data = _shopify_order_data(body, rest_topic)
    elif resource_type == "inventory_level":
        item, location = _id(body.get("inventory_item_id")), _id(body.get("location_id"))
        resource_id = f"{item}:{location}" if item and location else None
        data = {"inventoryItemId": item, "locationId": location, "available": body.get("available")}
    elif resource_type == "product":
        data = {"productId": resource_id, "title": body.get("title"), "status": body.get("status")}
    elif resource_type == "shop":
        resource_id = shop_domain or _id(body.get("myshopify_domain")) or resource_id
        data = {"shopDomain": shop_domain}
    else:
        data = {"id": resource_id}
    if resource_type == "customer" and rest_topic.startswith("customers/") and "id" not in body:
        resource_id = _id(_obj(body.get("customer")).get("id"))
    occurred = _first_time(
        body.get("updated_at"), triggered_at, body.get("created_at")
    ) or received_at
    return [
        WebhookEvent(
            event=event,
            source="shopify",
            integration_id=integration_id,
            occurred_at=occurred,
            event_id=event_id,
            resource_type=resource_type,
            resource_id=resource_id or event_id,
            topic=topic or "",
            data=data,
            payload=payload,
        )
    ]


# -- WooCommerce -----------------------------------------------------------------------------

_WOO_RESOURCES = {"order", "product", "customer", "coupon"}


def _woo_order_data(order: dict[str, Any], topic: str) -> dict[str, Any]:
    billing = _obj(order.get("billing"))
    items = []
    for index, item in enumerate(order.get("line_items") or []):
        item = _obj(item)
        items.append({
            "productId": _id(item.get("product_id")),
            "variantId": _id(item.get("variation_id")) if item.get("variation_id") else None,
            "sku": item.get("sku"),
            "name": item.get("name"),
            "quantity": item.get("quantity"),
            "price": _money(item.get("price"), f"line_items[{index}].price", topic),
        })
    return {
        "orderId": _id(order.get("id")),
        "orderNumber": _id(order.get("number")),
        "customer": {
            "id": _id(order.get("customer_id")) if order.get("customer_id") else None,
            "email": billing.get("email"),
            "firstName": billing.get("first_name"),
            "lastName": billing.get("last_name"),
        } if billing or order.get("customer_id") else None,
        "items": items,
        "total": _money(order.get("total"), "total", topic),
        "currency": _currency(order.get("currency")),
        "status": order.get("status"),
    }


def woocommerce_events(
    payload: Any,
    *,
    topic: str,
    event_id: str,
    integration_id: str,
    received_at: datetime,
) -> list[WebhookEvent]:
    """One WooCommerce delivery (`order.created` ...; `deleted` has only the id) -> one event."""
    body = _obj(payload)
    resource, _, action = (topic or "").partition(".")
    verb = _PAST.get(action)
    if resource in _WOO_RESOURCES and verb in {"created", "updated", "deleted", "restored"}:
        event, resource_type = f"{resource}.{verb}", resource
    else:
        event, resource_type = GENERIC_EVENT, resource if resource in _WOO_RESOURCES else "unknown"
    resource_id = _id(body.get("id"))
    if resource_type == "order" and verb != "deleted":
        data = _woo_order_data(body, topic)
    else:
        data = {"id": resource_id}
    occurred = _first_time(
        body.get("date_modified_gmt"), body.get("date_created_gmt")
    ) or received_at
    return [
        WebhookEvent(
            event=event,
            source="woocommerce",
            integration_id=integration_id,
            occurred_at=occurred,
            event_id=event_id,
            resource_type=resource_type,
            resource_id=resource_id or event_id,
            topic=topic or "",
            data=data,
            payload=payload,
        )
    ]


# -- Stripe ----------------------------------------------------------------------------------

STRIPE_TYPES: dict[str, str] = {
    "charge.succeeded": "charge.succeeded",
    "charge.failed": "charge.failed",
    "charge.captured": "charge.captured",
    "charge.refunded": "charge.refunded",
    "charge.updated": "charge.updated",
    "charge.dispute.created": "dispute.created",
    "charge.dispute.updated": "dispute.updated",
    "charge.dispute.closed": "dispute.closed",
    "charge.dispute.funds_withdrawn": "dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated": "dispute.funds_reinstated",
    "charge.refund.updated": "refund.updated",
    "refund.created": "refund.created",
    "refund.updated": "refund.updated",
    "refund.failed": "refund.failed",
    "payout.created": "payout.created",
    "payout.updated": "payout.updated",
    "payout.paid": "payout.paid",
    "payout.failed": "payout.failed",
    "payout.canceled": "payout.canceled",
    "payment_intent.succeeded": "payment_intent.succeeded",
    "payment_intent.payment_failed": "payment_intent.payment_failed",
    "payment_intent.canceled": "payment_intent.canceled",
    "balance.available": "balance.available",
}


def stripe_events(
    payload: Any, *, integration_id: str, received_at: datetime
) -> list[WebhookEvent]:
    """One Stripe event object -> one normalized event about its `data.object`."""
    body = _obj(payload)
    event_type = body.get("type") if isinstance(body.get("type"), str) else ""
    event_id = _id(body.get("id"))
    if event_id is None:
        raise DataMappingError("stripe webhook event has no id")
    obj = _obj(_obj(body.get("data")).get("object"))
    resource_type = obj.get("object") if isinstance(obj.get("object"), str) else "unknown"
    resource_id = _id(obj.get("id")) or event_id
    amount = obj.get("amount")
    data = {
        "id": resource_id,
        # Stripe amounts are already integer minor units.
        "amount": amount if type(amount) is int else None,
        "currency": _currency(obj.get("currency")),
        "status": obj.get("status"),
        "charge": _id(obj.get("charge")) if isinstance(obj.get("charge"), str) else None,
        "previousAttributes": _obj(body.get("data")).get("previous_attributes"),
    }
    occurred = _first_time(body.get("created")) or received_at
    return [
        WebhookEvent(
            event=STRIPE_TYPES.get(event_type, GENERIC_EVENT),
            source="stripe",
            integration_id=integration_id,
            occurred_at=occurred,
            event_id=event_id,
            resource_type=resource_type,
            resource_id=resource_id,
            topic=event_type,
            data=data,
            payload=obj,
        )
    ]


# -- QuickBooks ------------------------------------------------------------------------------

QUICKBOOKS_OPERATIONS = {
    "Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided",
    "Merge": "merged", "Emailed": "emailed",
}


def quickbooks_events(
    payload: Any, *, integration_id: str, received_at: datetime
) -> list[WebhookEvent]:
    """A QuickBooks delivery (classic `eventNotifications` or CloudEvents) -> one event per
    changed entity. Notifications carry ids only; the flow fetches the entity."""
    if isinstance(payload, dict) and "eventNotifications" in payload:
        return _quickbooks_classic(payload, integration_id, received_at)
    cloud = payload if isinstance(payload, list) else [payload]
    return [_quickbooks_cloud(_obj(item), integration_id, received_at) for item in cloud]


def _quickbooks_classic(
    payload: dict[str, Any], integration_id: str, received_at: datetime
) -> list[WebhookEvent]:
    events = []
    for notification in payload.get("eventNotifications") or []:
        notification = _obj(notification)
        realm = _id(notification.get("realmId"))
        entities = _obj(notification.get("dataChangeEvent")).get("entities") or []
        for entity in entities:
            entity = _obj(entity)
            name = str(entity.get("name") or "")
            operation = str(entity.get("operation") or "")
            entity_id = _id(entity.get("id"))
            if not name or entity_id is None:
                raise DataMappingError("quickbooks webhook entity without name or id")
            resource_type = _snake(name)
            verb = QUICKBOOKS_OPERATIONS.get(operation)
            last_updated = entity.get("lastUpdated")
            data = {
                "realmId": realm, "entity": name, "id": entity_id, "operation": operation,
                "lastUpdated": last_updated,
            }
            if entity.get("deletedId"):
                data["deletedId"] = _id(entity.get("deletedId"))
            events.append(WebhookEvent(
                event=f"{resource_type}.{verb}" if verb else GENERIC_EVENT,
                source="quickbooks",
                integration_id=integration_id,
                occurred_at=parse_time(last_updated) or received_at,
                # No id on the wire: what changed, where and when is unique and stable.
                event_id=f"{realm}:{name}:{entity_id}:{operation}:{last_updated}",
                resource_type=resource_type,
                resource_id=entity_id,
                topic=f"{name}.{operation}",
                data=data,
                payload=entity,
            ))
    return events


def _quickbooks_cloud(
    item: dict[str, Any], integration_id: str, received_at: datetime
) -> WebhookEvent:
    # type like "qbo.invoice.created.v1" (format partly assumed): entity, then the verb.
    type_ = str(item.get("type") or "")
    parts = [p for p in type_.split(".") if p]
    verb = next((_PAST[p.lower()] for p in parts[1:] if p.lower() in _PAST), None)
    entity = parts[1] if len(parts) > 2 and parts[0].lower() == "qbo" else None
    resource_type = _snake(entity) if entity else "unknown"
    entity_id = _id(item.get("intuitentityid")) or _id(_obj(item.get("data")).get("id"))
    event_id = _id(item.get("id"))
    if event_id is None:
        raise DataMappingError("quickbooks CloudEvent without id")
    known = entity and verb and verb in QUICKBOOKS_OPERATIONS.values()
    return WebhookEvent(
        event=f"{resource_type}.{verb}" if known else GENERIC_EVENT,
        source="quickbooks",
        integration_id=integration_id,
        occurred_at=parse_time(item.get("time")) or received_at,
        event_id=event_id,
        resource_type=resource_type,
        resource_id=entity_id or event_id,
        topic=type_,
        data={
            "realmId": _id(item.get("intuitaccountid")), "entity": entity, "id": entity_id,
            "type": type_,
        },
        payload=item,
    )


# -- Xero ------------------------------------------------------------------------------------

XERO_CATEGORIES = {
    "INVOICE": "invoice", "CONTACT": "contact", "CREDITNOTE": "credit_note",
    "SUBSCRIPTION": "subscription",
}


def xero_events(
    payload: Any, *, integration_id: str, received_at: datetime
) -> list[WebhookEvent]:
    """A Xero delivery -> one event per entry of `events` (ids only; the flow fetches)."""
    events = []
    for item in _obj(payload).get("events") or []:
        item = _obj(item)
        category = str(item.get("eventCategory") or "")
        event_type = str(item.get("eventType") or "")
        resource_id = _id(item.get("resourceId"))
        tenant = _id(item.get("tenantId"))
        if resource_id is None:
            raise DataMappingError("xero webhook event without resourceId")
        resource_type = XERO_CATEGORIES.get(category, _snake(category.lower()) or "unknown")
        verb = _PAST.get(event_type.lower())
        known = category in XERO_CATEGORIES and verb in {"created", "updated"}
        when = item.get("eventDateUtc")
        events.append(WebhookEvent(
            event=f"{resource_type}.{verb}" if known else GENERIC_EVENT,
            source="xero",
            integration_id=integration_id,
            occurred_at=parse_time(when) or received_at,
            # No id on the wire: tenant, resource, change and time identify the event.
            event_id=f"{tenant}:{category}:{resource_id}:{event_type}:{when}",
            resource_type=resource_type,
            resource_id=resource_id,
            topic=f"{category}.{event_type}",
            data={
                "tenantId": tenant, "tenantType": item.get("tenantType"),
                "resourceId": resource_id, "resourceUrl": item.get("resourceUrl"),
                "eventCategory": category, "eventType": event_type,
                **({"data": item["data"]} if "data" in item else {}),
            },
            payload=item,
        ))
    return events


# -- dispatcher ------------------------------------------------------------------------------


def normalize_delivery(
    verified: VerifiedDelivery, *, integration_id: str, received_at: datetime
) -> list[WebhookEvent]:
    """A verified delivery -> its normalized events ([] for a Woo ping or Xero handshake).

    `received_at` (aware) is the fallback time when the payload carries none.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    if verified.ping or verified.intent_to_receive:
        return []
    # Without a platform id, the body hash identifies the delivery (retries re-send it).
    delivery_id = verified.event_id or f"sha256:{verified.body_sha256}"
    platform = verified.platform
    if platform == "shopify":
        return shopify_events(
            verified.payload, topic=verified.topic or "", event_id=delivery_id,
            integration_id=integration_id, received_at=received_at,
            triggered_at=verified.triggered_at, shop_domain=verified.source,
        )
    if platform == "woocommerce":
        return woocommerce_events(
            verified.payload, topic=verified.topic or "", event_id=delivery_id,
            integration_id=integration_id, received_at=received_at,
        )
    if platform == "stripe":
        return stripe_events(
            verified.payload, integration_id=integration_id, received_at=received_at
        )
    if platform == "quickbooks":
        return quickbooks_events(
            verified.payload, integration_id=integration_id, received_at=received_at
        )
    if platform == "xero":
        return xero_events(verified.payload, integration_id=integration_id, received_at=received_at)
    raise ValueError(f"no webhook normalizer for platform {platform!r}")
