"""WooCommerce product (REST v3, variations attached by the connector) -> ProductDoc.

Pure: no I/O. A simple product is its own single variant; a variable product's variants are
its variations (the connector replaces the `variations` id list with the full objects). Ids
are WooCommerce's numeric post ids as strings. Prices ("19.90" strings) become integer minor
units; the weight string is kept exactly, in the store's weight unit. WooCommerce has no
locations, so stock is one level per managed-stock variant at location "default"; the
inventory item is the variant itself (or its parent when the variation's `manage_stock` is
"parent", i.e. the parent product holds the stock for all its variations).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, normalize_currency, to_minor
from transforms.documents import InventoryLevelDoc, ProductDoc, VariantDoc

DEFAULT_LOCATION = "default"
# WordPress post status -> ProductDoc status.
STATUSES = {"publish": "active", "draft": "draft", "pending": "draft", "future": "draft",
            "private": "archived", "trash": "deleted"}  # fmt: skip
# WooCommerce > Settings > Products "Weight unit" -> VariantDoc.weight_unit.
WEIGHT_UNITS = {"kg": "KILOGRAMS", "g": "GRAMS", "lbs": "POUNDS", "oz": "OUNCES"}


def product_to_documents(
    product: dict[str, Any], currency: str, weight_unit: str = "kg"
) -> ProductDoc:
    """Map one complete WooCommerce product to a ProductDoc (`weight_unit`: the store's)."""
    if not isinstance(product, dict):
        raise DataMappingError("WooCommerce product must be an object")
    pid = _id(product.get("id"), "?", "id")
    try:
        currency = normalize_currency(currency)
    except MoneyError as exc:
        raise _err(pid, f"currency: {exc}") from None
    unit = WEIGHT_UNITS.get(weight_unit)
    if unit is None:
        raise _err(pid, f"unknown weight unit {weight_unit!r}")
    name = product.get("name")
    if not isinstance(name, str):
        raise _err(pid, "no name")
    status = STATUSES.get(str(product.get("status")))
    if status is None:
        raise _err(pid, f"unknown status {product.get('status')!r}")
    kind = product.get("type")
    updated = _time(product, pid, "date_modified_gmt")
    variants: list[VariantDoc] = []
    inventory: dict[str, InventoryLevelDoc] = {}
    if kind == "variable":
        variations = product.get("variations")
        if not isinstance(variations, list):
            raise _err(pid, "variations is not a list")
        if any(not isinstance(v, dict) for v in variations):
            raise _err(pid, "variations are ids, not objects; fetch them first")
        ordered = sorted(variations, key=lambda v: (_order(v), _id(v.get("id"), pid, "id")))
        for position, variation in enumerate(ordered, start=1):
            vid = _id(variation.get("id"), pid, "variation id")
            label = _label(variation) or None
            title = f"{name} - {label}" if label else name
            stock_holder = product if variation.get("manage_stock") == "parent" else variation
            item = pid if stock_holder is product else vid
            # A variation without its own weight ships at the parent's.
            weight = variation.get("weight") or product.get("weight")
            variants.append(_variant(variation, vid, title, weight, item, position, currency,
                                     unit, pid))  # fmt: skip
            _level(inventory, stock_holder, item, pid)
    elif kind in ("simple", "grouped", "external", None):
        variants.append(_variant(product, pid, name, product.get("weight"), pid, 1, currency,
                                 unit, pid))  # fmt: skip
        _level(inventory, product, pid, pid)
    else:
        raise _err(pid, f"unknown product type {kind!r}")
    categories = product.get("categories") or []
    first = categories[0] if isinstance(categories, list) and categories else None
    return ProductDoc(
        external_id=pid,
        title=name,
        handle=product.get("slug") or None,
        status=status,
        vendor=None,
        product_type=(first.get("name") or None) if isinstance(first, dict) else None,
        published=status == "active",
        source_updated_at=updated,
        variants=tuple(variants),
        inventory=tuple(inventory.values()),
    )


def _variant(record: dict[str, Any], vid: str, title: str, weight: Any, item: str,
             position: int, currency: str, unit: str, pid: str) -> VariantDoc:  # fmt: skip
    price = _money(record.get("price"), currency, pid, f"{vid} price")
    regular = _money(record.get("regular_price"), currency, pid, f"{vid} regular_price")
    # As Shopify's compareAtPrice: the struck-through price, only when something is cheaper.
    compare = regular if regular is not None and price is not None and regular > price else None
    if weight is not None and not isinstance(weight, str):
        raise _err(pid, f"{vid}: weight {weight!r} is not a string")
    return VariantDoc(
        external_id=vid,
        sku=record.get("sku") or None,
        title=title,
        # WooCommerce allows a product without a price (not purchasable): 0, not a failure.
        price_minor=price if price is not None else 0,
        currency=currency,
        compare_at_price_minor=compare,
        barcode=record.get("global_unique_id") or None,
        weight=weight.strip() or None if isinstance(weight, str) else None,
        weight_unit=unit if isinstance(weight, str) and weight.strip() else None,
        inventory_item_external_id=item,
        position=position,
    )


def _level(inventory: dict[str, InventoryLevelDoc], holder: dict[str, Any], item: str,
           pid: str) -> None:  # fmt: skip
    if holder.get("manage_stock") is not True or item in inventory:
        return
    quantity = holder.get("stock_quantity")
    if quantity is None:
        quantity = 0  # managed but never counted: WooCommerce treats it as none in stock
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise _err(pid, f"{item}: stock_quantity {quantity!r} is not an integer")
    inventory[item] = InventoryLevelDoc(
        inventory_item_external_id=item,
        location_external_id=DEFAULT_LOCATION,
        available=quantity,
        updated_at=_time(holder, pid, "date_modified_gmt"),
    )


def _label(variation: dict[str, Any]) -> str:
    attributes = variation.get("attributes") or []
    return ", ".join(str(a.get("option")) for a in attributes
                     if isinstance(a, dict) and a.get("option"))  # fmt: skip


def _order(variation: dict[str, Any]) -> int:
    value = variation.get("menu_order")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _money(value: Any, currency: str, pid: str, what: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return to_minor(value, currency)
    except MoneyError as exc:
        raise _err(pid, f"{what}: {exc}") from None


def _id(value: Any, pid: str, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DataMappingError(f"WooCommerce product {pid}: {what} {value!r} is not an id",
                               details={"productId": pid})  # fmt: skip
    return str(value)


def _time(record: dict[str, Any], pid: str, key: str) -> datetime | None:
    value = record.get(key)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _err(pid, f"{key} {value!r} is not a time") from None
    # The *_gmt fields carry no zone but are UTC by definition.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _err(pid: str, problem: str) -> DataMappingError:
    return DataMappingError(f"WooCommerce product {pid}: {problem}", details={"productId": pid})
