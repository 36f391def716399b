"""Shopify webhooks in the sandbox: GraphQL subscriptions and signed REST-shaped deliveries.

Registration is the Admin GraphQL API's (`webhookSubscriptionCreate(topic:,
webhookSubscription: {callbackUrl, format})`, `webhookSubscriptions(first:, callbackUrl:,
topics:)`, `webhookSubscription(id:)`, `webhookSubscriptionUpdate`, `webhookSubscriptionDelete`)
with Shopify's user errors: a second subscription for the same topic and address is refused
("Address for this topic has already been taken"), an address that is not an absolute
http(s) URL is "invalid". The sandbox accepts http:// callbacks (Shopify wants https) so a
receiver on loopback can listen; XML format is refused, as only JSON is rendered.

Deliveries carry Shopify's headers (X-Shopify-Topic, -Hmac-Sha256, -Shop-Domain,
-API-Version, -Webhook-Id, -Event-Id, -Triggered-At) and the REST resource as the body (ids
as numbers, money as decimal strings, times in the shop's zone), signed with the app's
client secret (`ShopifySandboxConfig.app_client_secret`): base64 HMAC-SHA256 over the exact
bytes sent. Subscriptions to one topic share the event's X-Shopify-Event-Id; each delivery
has its own X-Shopify-Webhook-Id, which a duplicate or retry repeats.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sandbox.webhook_sender import Delivery, Subscription, WebhookSender

SUBSCRIPTION_ID_BASE = 1_200_000_000
DEFAULT_API_VERSION = "2025-01"

# GraphQL WebhookSubscriptionTopic -> REST topic (X-Shopify-Topic). Topics the sandbox
# generates events for are marked in README.md; the rest are accepted and stay quiet.
TOPICS: dict[str, str] = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_CANCELLED": "orders/cancelled",
    "ORDERS_FULFILLED": "orders/fulfilled",
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    "ORDERS_EDITED": "orders/edited",
    "ORDERS_DELETE": "orders/delete",
    "REFUNDS_CREATE": "refunds/create",
    "PRODUCTS_CREATE": "products/create",
    "PRODUCTS_UPDATE": "products/update",
    "PRODUCTS_DELETE": "products/delete",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "INVENTORY_LEVELS_CONNECT": "inventory_levels/connect",
    "INVENTORY_LEVELS_DISCONNECT": "inventory_levels/disconnect",
    "CUSTOMERS_CREATE": "customers/create",
    "CUSTOMERS_UPDATE": "customers/update",
    "CUSTOMERS_DELETE": "customers/delete",
    "APP_UNINSTALLED": "app/uninstalled",
    "BULK_OPERATIONS_FINISH": "bulk_operations/finish",
}
ENUM_OF = {rest: enum for enum, rest in TOPICS.items()}
_FULFILLMENT = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial",
                "RESTOCKED": "restocked"}  # fmt: skip


def _user_error(field: list[str] | None, message: str) -> dict[str, Any]:
    return {"field": field, "message": message}


def _valid_url(url: Any) -> bool:
    if not isinstance(url, str) or not url.strip():
        return False
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def sign(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256(client secret, raw body)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class ShopifyWebhooks:
    """Subscriptions of one sandbox shop and the deliveries its events cause."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.sender = WebhookSender("shopify", user_agent="Shopify-Captain-Hook")

    # ---- registration (GraphQL) ---------------------------------------------------------

    def node(self, sub: Subscription) -> dict[str, Any]:
        """A WebhookSubscription as the GraphQL schema shapes it."""
        number = int(sub.id.rsplit("/", 1)[-1])
        version = sub.extra["api_version"]
        return {
            "__typename": "WebhookSubscription",
            "id": sub.id,
            "legacyResourceId": str(number),
            "topic": sub.extra["topic_enum"],
            "format": sub.extra["format"],
            "callbackUrl": sub.url,
            "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": sub.url},
            "includeFields": list(sub.extra["include_fields"]),
            "metafieldNamespaces": list(sub.extra["metafield_namespaces"]),
            "filter": sub.extra["filter"],
            "apiVersion": {"handle": version, "displayName": version, "supported": True},
            "createdAt": _iso(sub.created_at),
            "updatedAt": _iso(sub.updated_at),
            "_number": number,
        }

    def _check_input(self, data: Mapping[str, Any], topic_enum: str,
                     skip: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
        url = data.get("callbackUrl")
        field = ["webhookSubscription", "callbackUrl"]
        if not _valid_url(url):
            return [_user_error(field, "Address is invalid")]
        if data.get("format") == "XML":
            return [_user_error(["webhookSubscription", "format"],
                                "Format XML is not supported by this sandbox; use JSON")]
        for other in self.sender.subscriptions.values():
            if other.id != skip and other.url == url and other.extra["topic_enum"] == topic_enum:
                return [_user_error(field, "Address for this topic has already been taken")]
        return []

    def create(self, topic_enum: str, data: Mapping[str, Any], api_version: str) -> dict:
        """webhookSubscriptionCreate."""
        errors = self._check_input(data, topic_enum)
        if errors:
            return {"webhookSubscription": None, "userErrors": errors}
        number = SUBSCRIPTION_ID_BASE + self.sender.next_number()
        sub = Subscription(
            id=f"gid://shopify/WebhookSubscription/{number}",
            url=str(data["callbackUrl"]).strip(),
            topics=(TOPICS[topic_enum],),
            extra={
                "topic_enum": topic_enum,
                "format": data.get("format") or "JSON",
                "include_fields": tuple(data.get("includeFields") or ()),
                "metafield_namespaces": tuple(data.get("metafieldNamespaces") or ()),
                "filter": data.get("filter"),
                "api_version": api_version,
            },
        )
        self.sender.add(sub)
        return {"webhookSubscription": self.node(sub), "userErrors": []}

    def update(self, sub_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """webhookSubscriptionUpdate: change the address, format or fields of one."""
        sub = self.sender.subscriptions.get(sub_id)
        if sub is None:
            return {"webhookSubscription": None,
                    "userErrors": [_user_error(["id"], "Webhook subscription does not exist")]}
        merged = {"callbackUrl": sub.url, "format": sub.extra["format"], **{
            k: v for k, v in data.items() if v is not None}}  # fmt: skip
        errors = self._check_input(merged, sub.extra["topic_enum"], skip=sub.id)
        if errors:
            return {"webhookSubscription": None, "userErrors": errors}
        sub.url = str(merged["callbackUrl"]).strip()
        sub.extra["format"] = merged["format"]
        for key, name in (("includeFields", "include_fields"),
                          ("metafieldNamespaces", "metafield_namespaces")):  # fmt: skip
            if data.get(key) is not None:
                sub.extra[name] = tuple(data[key])
        if "filter" in data:
            sub.extra["filter"] = data["filter"]
        sub.updated_at = self.sandbox.config.clock()
        return {"webhookSubscription": self.node(sub), "userErrors": []}

    def delete(self, sub_id: str) -> dict[str, Any]:
        """webhookSubscriptionDelete."""
        if self.sender.remove(sub_id) is None:
            return {"deletedWebhookSubscriptionId": None,
                    "userErrors": [_user_error(["id"], "Webhook subscription does not exist")]}
        return {"deletedWebhookSubscriptionId": sub_id, "userErrors": []}

    def listing(self, callback_url: str | None, topics: list[str] | None,
                fmt: str | None) -> list[dict[str, Any]]:  # fmt: skip
        """Subscriptions filtered as `webhookSubscriptions(callbackUrl:, topics:, format:)`."""
        nodes = []
        for sub in self.sender.subscriptions.values():
            if callback_url is not None and sub.url != callback_url:
                continue
            if topics and sub.extra["topic_enum"] not in topics:
                continue
            if fmt is not None and sub.extra["format"] != fmt:
                continue
            nodes.append(self.node(sub))
        return nodes

    # ---- deliveries ---------------------------------------------------------------------

    def deliver(self, topic: str, payload: dict[str, Any], triggered_at: float | None = None,
                ) -> list[Delivery]:  # fmt: skip
        """One event: a signed delivery of `payload` to every subscription to `topic`."""
        subs = self.sender.matching(topic)
        if not subs:
            return []
        config = self.sandbox.config
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        event_id = str(uuid.uuid4())
        when = _iso(config.clock() if triggered_at is None else triggered_at)
        secret = config.app_client_secret
        deliveries = []
        for sub in subs:
            static = {
                "X-Shopify-Topic": topic,
                "X-Shopify-Shop-Domain": config.shop_domain,
                "X-Shopify-API-Version": sub.extra["api_version"],
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Event-Id": event_id,
                "X-Shopify-Triggered-At": when,
                "X-Shopify-Hmac-Sha256": sign(secret, body),
            }
            deliveries.append(Delivery(
                url=sub.url, body=body, sign=lambda _b, _t, h=static: h, topic=topic,
                event_id=event_id, subscription_id=sub.id,
            ))  # fmt: skip
        return self.sender.emit(deliveries)

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.sandbox.config.iana_timezone)

    def order_events(self, index: int, topics: list[str], refund: dict | None = None) -> None:
        """Deliver `topics` about order `index` as it is now (refunds/create: `refund`)."""
        if not any(self.sender.matching(t) for t in topics):
            return  # nobody listens: skip rendering
        store = self.sandbox.store
        order = store.order(index)
        rest = rest_order(order, self._zone(), self._live_customer(order))
        updated = store.header(index).updated
        for topic in topics:
            if topic == "refunds/create":
                if refund is not None:
                    self.deliver(topic, rest_refund(refund, order, self._zone()), updated)
            else:
                self.deliver(topic, rest, updated)

    def _live_customer(self, order: dict[str, Any]) -> dict[str, Any] | None:
        directory = self.sandbox.customers_if_built
        embedded = order.get("customer")
        return embedded if directory is None else directory.live(embedded)

    def product_event(self, topic: str, product: dict[str, Any]) -> None:
        if self.sender.matching(topic):
            self.deliver(topic, rest_product(product, self._zone()))

    def product_deleted(self, legacy: int) -> None:
        if self.sender.matching("products/delete"):
            self.deliver("products/delete", {"id": legacy})

    def customer_event(self, topic: str, customer: dict[str, Any]) -> None:
        if self.sender.matching(topic):
            self.deliver(topic, rest_customer(customer, self._zone()))

    def inventory_events(self, result: dict[str, Any]) -> None:
        """inventory_levels/update for each level an inventory mutation changed."""
        group = result.get("inventoryAdjustmentGroup")
        if not group or not self.sender.matching("inventory_levels/update"):
            return
        seen: set[tuple[int, int]] = set()
        zone = self._zone()
        for change in group["_changes"]:
            if change["name"] != "available":
                continue
            item, location = change["item"], change["location"]
            key = (item["_legacy"], location["_legacy"])
            if key in seen:
                continue
            seen.add(key)
            level = next(lv for lv in item["_levels"] if lv["_legacy"] == location["_legacy"])
            self.deliver("inventory_levels/update", {
                "inventory_item_id": item["_legacy"],
                "location_id": location["_legacy"],
                "available": level["_q"]["available"],
                "updated_at": _local(level["updatedAt"], zone),
                "admin_graphql_api_id": level["id"],
            })  # fmt: skip


# ---- REST renderings of the sandbox's GraphQL-shaped records ---------------------------------


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(value: str | None, zone: ZoneInfo) -> str | None:
    """GraphQL UTC time -> the REST form in the shop's zone (2024-01-01T08:00:00+08:00)."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(zone).isoformat()


def _amount(bag: dict[str, Any] | None) -> str | None:
    return None if bag is None else bag["shopMoney"]["amount"]


def _money_set(bag: dict[str, Any]) -> dict[str, Any]:
    shop, presentment = bag["shopMoney"], bag["presentmentMoney"]
    return {"shop_money": {"amount": shop["amount"], "currency_code": shop["currencyCode"]},
            "presentment_money": {"amount": presentment["amount"],
                                  "currency_code": presentment["currencyCode"]}}  # fmt: skip


def _legacy(gid: str | None) -> int | None:
    return None if not gid else int(gid.rsplit("/", 1)[-1])


def _tax_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"title": t["title"], "rate": t["rate"], "price": _amount(t["priceSet"]),
             "price_set": _money_set(t["priceSet"]), "channel_liable": t["channelLiable"]}
            for t in lines]  # fmt: skip


def rest_customer(customer: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """A customer as the REST API (and customers/* webhooks) shows it."""
    legacy = customer.get("_legacy") or int(customer["id"].rsplit("/", 1)[-1])
    return {
        "id": legacy,
        "email": customer.get("email"),
        "first_name": customer.get("firstName"),
        "last_name": customer.get("lastName"),
        "phone": customer.get("phone"),
        "state": (customer.get("state") or "ENABLED").lower(),
        "verified_email": customer.get("verifiedEmail", True),
        "tags": ", ".join(customer.get("tags") or []),
        "created_at": _local(customer.get("createdAt"), zone),
        "updated_at": _local(customer.get("updatedAt") or customer.get("createdAt"), zone),
        "admin_graphql_api_id": f"gid://shopify/Customer/{legacy}",
    }


def rest_order(order: dict[str, Any], zone: ZoneInfo,
               customer: dict[str, Any] | None) -> dict[str, Any]:  # fmt: skip
    """An order as the REST API (and orders/* webhooks) shows it."""
    number = int(order["name"].lstrip("#"))
    line_items = []
    for item in order["_line_items"]:
        variant = item.get("variant") or {}
        product = item.get("product") or {}
        line_items.append({
            "id": item["_legacy"],
            "admin_graphql_api_id": item["id"],
            "product_id": _legacy(product.get("id")),
            "variant_id": _legacy(variant.get("id")),
            "sku": item["sku"],
            "name": item["name"],
            "title": item["title"],
            "variant_title": item["variantTitle"],
            "vendor": item["vendor"],
            "quantity": item["quantity"],
            "current_quantity": item["currentQuantity"],
            "price": _amount(item["originalUnitPriceSet"]),
            "price_set": _money_set(item["originalUnitPriceSet"]),
            "total_discount": _amount(item["totalDiscountSet"]),
            "total_discount_set": _money_set(item["totalDiscountSet"]),
            "discount_allocations": [
                {"amount": _amount(a["allocatedAmountSet"]),
                 "amount_set": _money_set(a["allocatedAmountSet"])}
                for a in item["discountAllocations"]],
            "taxable": item["taxable"],
            "requires_shipping": item["requiresShipping"],
            "gift_card": item["isGiftCard"],
            "tax_lines": _tax_lines(item["taxLines"]),
        })  # fmt: skip
    shipping_lines = [{
        "id": line["_legacy"],
        "title": line["title"],
        "code": line["code"],
        "source": line["source"],
        "carrier_identifier": line["carrierIdentifier"],
        "price": _amount(line["originalPriceSet"]),
        "price_set": _money_set(line["originalPriceSet"]),
        "discounted_price": _amount(line["discountedPriceSet"]),
        "discounted_price_set": _money_set(line["discountedPriceSet"]),
        "tax_lines": _tax_lines(line["taxLines"]),
    } for line in order["_shipping_lines"]]  # fmt: skip
    customer_rest = None if customer is None else rest_customer(customer, zone)
    gateways = order["paymentGatewayNames"]
    return {
        "id": int(order["legacyResourceId"]),
        "admin_graphql_api_id": order["id"],
        "name": order["name"],
        "order_number": number,
        "number": number - 1000,
        "email": order["email"],
        "contact_email": order["email"],
        "phone": order["phone"],
        "note": order["note"],
        "created_at": _local(order["createdAt"], zone),
        "updated_at": _local(order["updatedAt"], zone),
        "processed_at": _local(order["processedAt"], zone),
        "cancelled_at": _local(order["cancelledAt"], zone),
        "cancel_reason": (order["cancelReason"] or "").lower() or None,
        "closed_at": _local(order["closedAt"], zone),
        "confirmed": order["confirmed"],
        "test": order["test"],
        "currency": order["currencyCode"],
        "presentment_currency": order["presentmentCurrencyCode"],
        "taxes_included": order["taxesIncluded"],
        "financial_status": order["displayFinancialStatus"].lower(),
        "fulfillment_status": _FULFILLMENT.get(order["displayFulfillmentStatus"]),
        "gateway": gateways[0] if gateways else None,
        "payment_gateway_names": list(gateways),
        "source_name": order["sourceName"],
        "tags": ", ".join(order["tags"]),
        "discount_codes": [{"code": code} for code in order["discountCodes"]],
        "subtotal_price": _amount(order["subtotalPriceSet"]),
        "subtotal_price_set": _money_set(order["subtotalPriceSet"]),
        "total_price": _amount(order["totalPriceSet"]),
        "total_price_set": _money_set(order["totalPriceSet"]),
        "total_tax": _amount(order["totalTaxSet"]),
        "total_tax_set": _money_set(order["totalTaxSet"]),
        "total_discounts": _amount(order["totalDiscountsSet"]),
        "total_discounts_set": _money_set(order["totalDiscountsSet"]),
        "total_shipping_price_set": _money_set(order["totalShippingPriceSet"]),
        "total_outstanding": _amount(order["totalOutstandingSet"]),
        "total_line_items_price": None,
        "total_weight": 0,
        "tax_lines": _tax_lines(order["taxLines"]),
        "customer": customer_rest,
        "line_items": line_items,
        "shipping_lines": shipping_lines,
        "refunds": [rest_refund(r, order, zone) for r in order["_refunds"]],
    }


def rest_refund(refund: dict[str, Any], order: dict[str, Any], zone: ZoneInfo) -> dict:
    """A refund as the REST API (and refunds/create) shows it: one successful transaction."""
    legacy = int(refund["legacyResourceId"])
    gateways = order["paymentGatewayNames"]
    created = _local(refund["createdAt"], zone)
    return {
        "id": legacy,
        "admin_graphql_api_id": refund["id"],
        "order_id": int(order["legacyResourceId"]),
        "created_at": created,
        "processed_at": created,
        "note": refund["note"],
        "restock": False,
        "user_id": None,
        "refund_line_items": [],
        "order_adjustments": [],
        "transactions": [{
            "id": legacy,
            "order_id": int(order["legacyResourceId"]),
            "kind": "refund",
            "status": "success",
            "amount": _amount(refund["totalRefundedSet"]),
            "currency": order["currencyCode"],
            "gateway": gateways[0] if gateways else None,
            "created_at": created,
            "processed_at": created,
        }],
    }  # fmt: skip


def rest_product(product: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """A product as the REST API (and products/* webhooks) shows it, with its variants."""
    legacy = product["_legacy"]
    variants = []
    for variant in product["_variants"]:
        item = variant.get("inventoryItem") or {}
        levels = item.get("_levels") or []
        variants.append({
            "id": variant["_legacy"],
            "admin_graphql_api_id": variant["id"],
            "product_id": legacy,
            "title": variant["title"],
            "sku": variant["sku"],
            "price": variant["price"],
            "compare_at_price": variant.get("compareAtPrice"),
            "position": variant.get("position"),
            "barcode": variant.get("barcode"),
            "inventory_item_id": item.get("_legacy"),
            "inventory_quantity": sum(lv["_q"]["available"] for lv in levels),
        })  # fmt: skip
    return {
        "id": legacy,
        "admin_graphql_api_id": product["id"],
        "title": product["title"],
        "handle": product["handle"],
        "vendor": product["vendor"],
        "product_type": product["productType"],
        "status": product["status"].lower(),
        "created_at": _local(product["createdAt"], zone),
        "updated_at": _local(product["updatedAt"], zone),
        "published_at": _local(product.get("publishedAt"), zone),
        "tags": "",
        "variants": variants,
    }


__all__ = ["ENUM_OF", "TOPICS", "ShopifyWebhooks", "rest_order", "sign"]
