"""Shopify product (Admin GraphQL 2025-01 shape, as the connector returns it) -> ProductDoc.

Pure: no I/O. Prices become integer minor units of the shop currency; the weight, a GraphQL
Float, is kept as the exact decimal text it was sent as (the connector parses JSON numbers
as Decimal, never float); stock is the `available` quantity of each inventory level.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, normalize_currency, to_minor
from transforms.documents import InventoryLevelDoc, ProductDoc, VariantDoc

STATUSES = frozenset({"active", "draft", "archived"})
WEIGHT_UNITS = frozenset({"GRAMS", "KILOGRAMS", "OUNCES", "POUNDS"})


def product_to_documents(product: dict[str, Any], currency: str) -> ProductDoc:
    """Map one complete product (variants and, if fetched, inventory levels) to a ProductDoc."""
    if not isinstance(product, dict):
        raise DataMappingError("product must be an object")
    pid = product.get("id")
    if not isinstance(pid, str) or not pid:
        raise DataMappingError("product has no id", details={"product": _brief(product)})
    try:
        currency = normalize_currency(currency)
    except MoneyError as exc:
        raise DataMappingError(f"product {pid}: {exc}") from None
    title = product.get("title")
    if not isinstance(title, str):
        raise _err(pid, f"product {pid} has no title")
    status = product.get("status")
    if not isinstance(status, str) or status.lower() not in STATUSES:
        raise DataMappingError(
            f"product {pid} has unknown status {status!r}", details={"productId": pid}
        )
    variants: list[VariantDoc] = []
    inventory: list[InventoryLevelDoc] = []
    for variant in _nodes(product, "variants", pid):
        doc = _variant(variant, currency, pid)
        variants.append(doc)
        item = variant.get("inventoryItem") or {}
        if isinstance(item, dict) and "inventoryLevels" in item:
            inventory.extend(_levels(item, pid))
    return ProductDoc(
        external_id=legacy_id(pid),
        title=title,
        handle=product.get("handle"),
        status=status.lower(),
        vendor=product.get("vendor") or None,
        product_type=product.get("productType") or None,
        published=product.get("publishedAt") is not None,
        source_updated_at=_time(product.get("updatedAt"), pid, "updatedAt"),
        variants=tuple(sorted(variants, key=lambda v: v.position)),
        inventory=tuple(inventory),
    )


def _err(pid: str, message: str) -> DataMappingError:
    return DataMappingError(message, details={"productId": pid})


def _brief(product: dict[str, Any]) -> dict[str, Any]:
    return {k: product.get(k) for k in ("id", "title", "handle")}


def _nodes(holder: dict[str, Any], key: str, pid: str) -> list[dict[str, Any]]:
    """Nodes of a nested connection; refuses one that says it was cut off."""
    connection = holder.get(key)
    if connection is None:
        return []
    if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
        raise _err(pid, f"product {pid}: {key} is not a connection")
    if (connection.get("pageInfo") or {}).get("hasNextPage"):
        raise DataMappingError(
            f"product {pid}: {key} is incomplete (hasNextPage); fetch every page first",
            details={"productId": pid},
        )
    return connection["nodes"]


def legacy_id(gid: str) -> str:
    """'gid://shopify/Product/8000000000021' -> '8000000000021': the numeric id orders, REST
    webhooks and deletion events also use, so every Shopify record keys the same way."""
    return gid.rsplit("/", 1)[-1]


def _money(value: Any, currency: str, pid: str, what: str) -> int:
    try:
        return to_minor(value, currency)
    except MoneyError as exc:
        raise _err(pid, f"product {pid}: {what}: {exc}") from None


def _variant(variant: dict[str, Any], currency: str, pid: str) -> VariantDoc:
    vid = variant.get("id")
    if not isinstance(vid, str) or not vid:
        raise _err(pid, f"product {pid} has a variant without id")
    price = variant.get("price")
    if price is None:
        raise _err(pid, f"variant {vid} has no price")
    compare = variant.get("compareAtPrice")
    position = variant.get("position")
    if isinstance(position, bool) or not isinstance(position, int):
        raise _err(pid, f"variant {vid} has no integer position")
    item = variant.get("inventoryItem")
    weight, unit = _weight(item, vid, pid)
    return VariantDoc(
        external_id=legacy_id(vid),
        sku=variant.get("sku") or None,
        title=variant.get("title"),
        price_minor=_money(price, currency, pid, f"variant {vid} price"),
        currency=currency,
        compare_at_price_minor=None
        if compare is None
        else _money(compare, currency, pid, f"variant {vid} compareAtPrice"),
        barcode=variant.get("barcode") or None,
        weight=weight,
        weight_unit=unit,
        inventory_item_external_id=legacy_id(item["id"])
        if isinstance(item, dict) and item.get("id") else None,
        position=position,
    )


def _weight(item: Any, vid: str, pid: str) -> tuple[str | None, str | None]:
    if not isinstance(item, dict):
        return None, None
    weight = (item.get("measurement") or {}).get("weight")
    if weight is None:
        return None, None
    value, unit = weight.get("value"), weight.get("unit")
    if isinstance(value, float):
        raise DataMappingError(
            f"variant {vid}: weight {value!r} was parsed as float; parse the JSON with "
            "parse_float=Decimal to keep it exact",
            details={"productId": pid},
        )
    number = isinstance(value, int | Decimal) and not isinstance(value, bool)
    if not number or (isinstance(value, Decimal) and not value.is_finite()):
        raise _err(pid, f"variant {vid}: weight {value!r} is not a number")  # fmt: skip
    if value < 0:
        raise _err(pid, f"variant {vid}: negative weight {value}")
    if unit not in WEIGHT_UNITS:
        raise _err(pid, f"variant {vid}: unknown weight unit {unit!r}")  # fmt: skip
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    return text, unit


def _levels(item: dict[str, Any], pid: str) -> list[InventoryLevelDoc]:
    item_id = item.get("id")
    if not isinstance(item_id, str):
        raise _err(pid, f"product {pid}: inventory item without id")
    out = []
    for level in _nodes(item, "inventoryLevels", pid):
        location = (level.get("location") or {}).get("id")
        if not isinstance(location, str):
            raise _err(pid, f"inventory item {item_id}: level without location id")  # fmt: skip
        quantity = next(
            (
                q.get("quantity")
                for q in level.get("quantities") or []
                if q.get("name") == "available"
            ),
            None,
        )
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise DataMappingError(
                f"inventory item {item_id} at {location}: no integer 'available' quantity",
                details={"productId": pid},
            )
        out.append(InventoryLevelDoc(
            inventory_item_external_id=legacy_id(item_id),
            location_external_id=legacy_id(location),
            available=quantity,
            updated_at=_time(level.get("updatedAt"), pid, "inventory level updatedAt"),
        ))  # fmt: skip
    return out


def _time(value: Any, pid: str, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _err(pid, f"product {pid}: {what} {value!r} is not a time") from None  # fmt: skip
    if moment.utcoffset() is None:
        raise _err(pid, f"product {pid}: {what} {value!r} has no time zone")  # fmt: skip
    return moment
