"""The sandbox's product catalog: products, variants, inventory items, locations and stock.

Product p is a pure function of (seed, p, currency, start). The first products are the very
pool the generated orders sell from (`OrderDataset._products`), extended in place with the
catalog fields, so an order line's `sku` and `variant { id }` resolve here; products past
that pool are generated the same way. A catalog of a few thousand products is materialised
on first use (orders-only sandboxes never build it); runtime changes (touch, delete,
inventory mutations) live on the same dicts.

Inventory mutations follow Shopify 2025-01: a request with any user error applies nothing;
`inventorySetQuantities` refuses a negative quantity (INVALID_QUANTITY_NEGATIVE) while
`inventoryAdjustQuantities` may take `available` below zero (overselling), down to
-2,000,000,000 (INVALID_QUANTITY_TOO_LOW).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from sandbox.shopify.config import ShopifySandboxConfig
from sandbox.shopify.data import (
    _ADJECTIVES,
    _NOUNS,
    _PRICE_TIERS,
    _VARIANT_OPTIONS,
    _VENDORS,
    PRODUCT_ID_BASE,
    VARIANT_ID_BASE,
    OrderDataset,
    _slug,
    _Weighted,
    iso,
    mix64,
)
from sandbox.shopify.search import And, Node, Not, Or, Term, parse, time_interval

INVENTORY_ITEM_ID_BASE = 49_000_000_000_000
LOCATION_ID_BASE = 61_000_000_000
ADJUSTMENT_GROUP_ID_BASE = 300_000_000_000
MAX_CATALOG = 5_000
_MASK = (1 << 64) - 1
_DAY = 86_400

_STATUS = _Weighted([("ACTIVE", 80), ("DRAFT", 12), ("ARCHIVED", 8)])
_LOCATION_NAMES = ("Main Warehouse", "City Store", "Overflow Depot")
# Weights as Shopify's Float: values whose shortest repr is their exact decimal text.
_WEIGHTS = (
    ("GRAMS", ("250", "500", "120", "75.5", "1000")),
    ("KILOGRAMS", ("0.25", "1.2", "2", "0.75")),
    ("POUNDS", ("0.5", "1.1", "3")),
    ("OUNCES", ("8", "3.5", "12")),
)
QUANTITY_NAMES = (
    "available", "committed", "damaged", "incoming", "on_hand", "quality_control",
    "reserved", "safety_stock",
)  # fmt: skip
INVENTORY_REASONS = frozenset({
    "correction", "cycle_count_available", "damaged", "movement_created", "movement_updated",
    "movement_received", "movement_canceled", "other", "promotion", "quality_control",
    "received", "reservation_created", "reservation_deleted", "reservation_updated",
    "restock", "safety_stock", "shrinkage",
})  # fmt: skip
MAX_SET_QUANTITY = 1_000_000_000
MAX_ADJUSTED = 2_000_000_000


def default_product_count(config: ShopifySandboxConfig, pool: int) -> int:
    """Catalog size: `config.products`, else a tenth of the order count, at least the pool
    the orders sell from and at most MAX_CATALOG."""
    if config.products is not None:
        return config.products
    return max(pool, min(config.size // 10, MAX_CATALOG))


def legacy_of(gid: Any, kind: str) -> int | None:
    """Numeric tail of `gid://shopify/{kind}/{n}` (query string ignored), else None."""
    prefix = f"gid://shopify/{kind}/"
    if not isinstance(gid, str) or not gid.startswith(prefix):
        return None
    tail = gid[len(prefix) :].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


class CatalogError(ValueError):
    """A runtime catalog change that cannot apply (unknown product)."""


class ProductCatalog:
    """Products, variants, inventory items, locations and levels of one sandbox shop."""

    def __init__(self, dataset: OrderDataset, config: ShopifySandboxConfig) -> None:
        self.dataset = dataset
        self.config = config
        self.clock = config.clock
        key = mix64((config.seed ^ 0x5EED_CA7A) & _MASK)
        self._key = key
        self.start_ts = int(config.start.timestamp())
        pool: list[dict[str, Any]] = dataset._products
        count = default_product_count(config, len(pool))
        n_locations = 2 + mix64(key) % 2
        self.locations: list[dict[str, Any]] = []
        for k in range(n_locations):
            legacy = LOCATION_ID_BASE + k
            self.locations.append({
                "id": f"gid://shopify/Location/{legacy}",
                "legacyResourceId": str(legacy),
                "_legacy": legacy,
                "name": _LOCATION_NAMES[k],
                "isActive": True,
            })  # fmt: skip
        self.location_by_legacy = {loc["_legacy"]: loc for loc in self.locations}
        self.products: dict[int, dict[str, Any]] = {}
        self.items: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._groups = 0
        for p in range(count):
            base = pool[p] if p < len(pool) else self._extra_product(p)
            self._extend(p, count, base)

    # ---- generation -----------------------------------------------------------------

    def _extra_product(self, p: int) -> dict[str, Any]:
        """Product p past the order pool, drawn like the pool's products."""
        ds = self.dataset
        rng = random.Random(mix64((self._key + p) & _MASK))
        adjective = _ADJECTIVES[p % len(_ADJECTIVES)]
        noun, product_type = _NOUNS[(p // len(_ADJECTIVES) + p) % len(_NOUNS)]
        title = f"{adjective} {noun}"
        legacy = PRODUCT_ID_BASE + p
        product: dict[str, Any] = {
            "id": f"gid://shopify/Product/{legacy}",
            "legacyResourceId": str(legacy),
            "title": title,
            "handle": f"{_slug(title)}-{p}",
            "vendor": _VENDORS[rng.randrange(len(_VENDORS))],
            "productType": product_type,
        }
        tiers = _Weighted([((lo, hi), w) for lo, hi, w in _PRICE_TIERS])
        lo, hi = tiers.pick(rng.randrange(65536))
        base = ds._from_cents(rng.randint(lo, hi))
        if ds.exponent >= 2:
            base += (99, 50, 0, 90)[rng.randrange(4)] * 10 ** (ds.exponent - 2)
        options = _VARIANT_OPTIONS[rng.randrange(len(_VARIANT_OPTIONS))]
        n_variants = rng.choice((1, 1, 2, 3, 4))
        prefix = "".join(word[0] for word in title.split()).upper()
        variants = []
        for v in range(n_variants):
            vtitle = "Default Title" if n_variants == 1 else options[v % len(options)]
            price = base + (v * base // 10 if ds.exponent else v * base // 10 // 10 * 10)
            vlegacy = VARIANT_ID_BASE + p * 10 + v
            variants.append({
                "id": f"gid://shopify/ProductVariant/{vlegacy}",
                "legacyResourceId": str(vlegacy),
                "sku": f"{prefix}-{p:04d}-{v + 1}" if p >= 1000 else f"{prefix}-{p:03d}-{v + 1}",
                "title": vtitle,
                "displayName": title if n_variants == 1 else f"{title} - {vtitle}",
                "price": ds.fmt(price),
                "product": product,
                "_price": price,
            })  # fmt: skip
        product["_variants"] = variants
        return product

    def _extend(self, p: int, count: int, product: dict[str, Any]) -> None:
        """Add the catalog fields (status, times, variants' stock) to product p."""
        rng = random.Random(mix64((self._key ^ (p * 0x9E3779B1)) & _MASK))
        created = self.start_ts - (count - p) * 3 * 3600 - rng.randrange(3600)
        updated = created + rng.randrange(0, 60 * _DAY)
        status = _STATUS.pick(rng.randrange(65536))
        published = status == "ACTIVE" and rng.randrange(10) > 0
        legacy = int(product["legacyResourceId"])
        product.update(
            status=status,
            createdAt=iso(created),
            updatedAt=iso(updated),
            publishedAt=iso(created + rng.randrange(600, _DAY)) if published else None,
            _legacy=legacy,
            _created=created,
            _updated=updated,
        )
        fmt = self.dataset.fmt
        for position, variant in enumerate(product["_variants"], start=1):
            vlegacy = int(variant["legacyResourceId"])
            item_legacy = INVENTORY_ITEM_ID_BASE + (vlegacy - VARIANT_ID_BASE)
            unit, values = _WEIGHTS[rng.randrange(len(_WEIGHTS))]
            price = variant["_price"]
            item: dict[str, Any] = {
                "id": f"gid://shopify/InventoryItem/{item_legacy}",
                "legacyResourceId": str(item_legacy),
                "_legacy": item_legacy,
                "sku": variant["sku"],
                "tracked": rng.randrange(10) > 0,
                "measurement": {
                    "id": f"gid://shopify/InventoryItemMeasurement/{item_legacy}",
                    "weight": {"unit": unit, "value": float(values[rng.randrange(len(values))])},
                },
                "variant": variant,
            }
            levels = []
            for loc in self.locations:
                roll = rng.randrange(100)
                available = -rng.randint(1, 3) if roll < 4 else rng.randint(0, 150)
                levels.append({
                    "id": f"gid://shopify/InventoryLevel/{item_legacy}"
                          f"?inventory_item_id={item_legacy}&location_id={loc['_legacy']}",
                    "_legacy": loc["_legacy"],
                    "location": loc,
                    "item": item,
                    "createdAt": product["createdAt"],
                    "updatedAt": iso(updated),
                    "_q": {"available": available, "committed": rng.randint(0, 4)},
                })  # fmt: skip
            item["_levels"] = levels
            variant.update(
                _legacy=vlegacy,
                position=position,
                compareAtPrice=fmt(price + max(1, price // 5)) if rng.randrange(10) < 3 else None,
                barcode="".join(str(rng.randrange(10)) for _ in range(13))
                if rng.randrange(5)
                else None,
                inventoryItem=item,
            )
            self.items[item_legacy] = item
        self.products[legacy] = product

    # ---- reading ----------------------------------------------------------------------

    def product_list(self) -> list[dict[str, Any]]:
        """Live products in id order."""
        return list(self.products.values())

    def variants(self) -> list[dict[str, Any]]:
        """Live variants in id order."""
        out = [v for p in self.products.values() for v in p["_variants"]]
        out.sort(key=lambda v: v["_legacy"])
        return out

    def level(self, item_legacy: int, location_legacy: int) -> dict[str, Any] | None:
        item = self.items.get(item_legacy)
        if item is None:
            return None
        return next((lv for lv in item["_levels"] if lv["_legacy"] == location_legacy), None)

    # ---- runtime changes ------------------------------------------------------------

    def _now_after(self, previous: int) -> int:
        return max(int(self.clock()), previous + 1)

    def touch(self, legacy: int, title: str | None = None, status: str | None = None) -> dict:
        """Bump a product's updatedAt to now (optionally changing title or status)."""
        product = self.products.get(legacy)
        if product is None:
            raise CatalogError(f"no product {legacy}")
        now = self._now_after(product["_updated"])
        if title:
            product["title"] = title
        if status:
            product["status"] = status
            if status != "ACTIVE":
                product["publishedAt"] = None
        product["_updated"] = now
        product["updatedAt"] = iso(now)
        return {"id": product["id"], "updatedAt": product["updatedAt"], "status": product["status"]}

    def delete(self, legacy: int) -> dict[str, Any]:
        """Delete a product (with its variants and stock) and record a deletion event."""
        product = self.products.pop(legacy, None)
        if product is None:
            raise CatalogError(f"no product {legacy}")
        for variant in product["_variants"]:
            self.items.pop(variant["inventoryItem"]["_legacy"], None)
        last = self.events[-1]["_ts"] if self.events else 0
        now = max(int(self.clock()), last)
        event = {
            "subjectId": product["id"],
            "subjectType": "PRODUCT",
            "occurredAt": iso(now),
            "_legacy": len(self.events) + 1,
            "_ts": now,
        }
        self.events.append(event)
        return {"id": product["id"], "deletedAt": event["occurredAt"]}

    def _group(self, reason: str, uri: str | None, changes: list[dict[str, Any]]) -> dict:
        self._groups += 1
        legacy = ADJUSTMENT_GROUP_ID_BASE + self._groups
        return {
            "id": f"gid://shopify/InventoryAdjustmentGroup/{legacy}",
            "createdAt": iso(int(self.clock())),
            "reason": reason,
            "referenceDocumentUri": uri,
            "_changes": changes,
        }

    def _locate(
        self, n: int, list_name: str, item_id: Any, location_id: Any, errors: list[dict]
    ) -> dict[str, Any] | None:
        """The level an input row addresses, or None with a user error appended."""
        item_legacy = legacy_of(item_id, "InventoryItem")
        loc_legacy = legacy_of(location_id, "Location")
        path = ["input", list_name, str(n)]
        if item_legacy is None or item_legacy not in self.items:
            errors.append(_user_error([*path, "inventoryItemId"], "INVALID_INVENTORY_ITEM",
                                      "The specified inventory item could not be found."))
            return None
        if loc_legacy is None or loc_legacy not in self.location_by_legacy:
            errors.append(_user_error([*path, "locationId"], "INVALID_LOCATION",
                                      "The specified location could not be found."))
            return None
        level = self.level(item_legacy, loc_legacy)
        if level is None:
            errors.append(_user_error(
                [*path, "locationId"], "ITEM_NOT_STOCKED_AT_LOCATION",
                "The specified inventory item is not stocked at the location.",
            ))  # fmt: skip
        return level

    def set_quantities(self, data: dict[str, Any]) -> dict[str, Any]:
        """inventorySetQuantities: absolute values; all rows apply or none."""
        errors: list[dict[str, Any]] = []
        name, reason = data.get("name"), data.get("reason")
        if name not in ("available", "on_hand"):
            errors.append(_user_error(["input", "name"], "INVALID_NAME",
                                      "The quantity name must be either 'available' or 'on_hand'."))
        if reason not in INVENTORY_REASONS:
            errors.append(_user_error(["input", "reason"], "INVALID_REASON",
                                      "The specified reason is invalid."))
        ignore = bool(data.get("ignoreCompareQuantity"))
        planned: list[tuple[dict[str, Any], int]] = []
        for n, row in enumerate(data.get("quantities") or []):
            level = self._locate(n, "quantities", row["inventoryItemId"], row["locationId"], errors)
            quantity = row["quantity"]
            path = ["input", "quantities", str(n), "quantity"]
            if quantity < 0:
                errors.append(_user_error(path, "INVALID_QUANTITY_NEGATIVE",
                                          "The quantity can't be negative."))
                continue
            if quantity > MAX_SET_QUANTITY:
                errors.append(_user_error(path, "INVALID_QUANTITY_TOO_HIGH",
                                          "The total quantity can't be higher than 1,000,000,000."))
                continue
            if level is None or name not in ("available", "on_hand"):
                continue
            compare = row.get("compareQuantity")
            if not ignore:
                cpath = ["input", "quantities", str(n), "compareQuantity"]
                if compare is None:
                    errors.append(_user_error(cpath, "COMPARE_QUANTITY_REQUIRED",
                                              "The compareQuantity argument must be given to each "
                                              "quantity or ignored using ignoreCompareQuantity."))
                    continue
                if compare != _quantity(level, name):
                    errors.append(_user_error(cpath, "COMPARE_QUANTITY_STALE",
                                              "The compareQuantity value does not match "
                                              "persisted value."))
                    continue
            target = quantity if name == "available" else quantity - level["_q"]["committed"]
            planned.append((level, target - level["_q"]["available"]))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        return self._apply(reason, data.get("referenceDocumentUri"), planned)

    def adjust_quantities(self, data: dict[str, Any]) -> dict[str, Any]:
        """inventoryAdjustQuantities: deltas on `available`; all rows apply or none."""
        errors: list[dict[str, Any]] = []
        name, reason = data.get("name"), data.get("reason")
        if name != "available":
            known = name in QUANTITY_NAMES
            errors.append(_user_error(
                ["input", "name"],
                "INVALID_QUANTITY_DOCUMENT" if known else "INVALID_QUANTITY_NAME",
                "A ledger document URI is required except when adjusting available."
                if known else "The specified quantity name is invalid.",
            ))  # fmt: skip
        if reason not in INVENTORY_REASONS:
            errors.append(_user_error(["input", "reason"], "INVALID_REASON",
                                      "The specified reason is invalid."))
        planned: list[tuple[dict[str, Any], int]] = []
        pending: dict[int, int] = {}  # id(level) -> delta already planned in this request
        for n, row in enumerate(data.get("changes") or []):
            level = self._locate(n, "changes", row["inventoryItemId"], row["locationId"], errors)
            if level is None:
                continue
            delta = row["delta"]
            after = level["_q"]["available"] + pending.get(id(level), 0) + delta
            path = ["input", "changes", str(n), "delta"]
            if after > MAX_ADJUSTED:
                errors.append(_user_error(path, "INVALID_QUANTITY_TOO_HIGH",
                                          "The quantity can't be higher than 2,000,000,000."))
            elif after < -MAX_ADJUSTED:
                errors.append(_user_error(path, "INVALID_QUANTITY_TOO_LOW",
                                          "The quantity can't be lower than -2,000,000,000."))
            else:
                pending[id(level)] = pending.get(id(level), 0) + delta
                planned.append((level, delta))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        return self._apply(reason, data.get("referenceDocumentUri"), planned)

    def _apply(
        self, reason: str, uri: str | None, planned: list[tuple[dict[str, Any], int]]
    ) -> dict[str, Any]:
        now = iso(int(self.clock()))
        changes = []
        for level, delta in planned:
            level["_q"]["available"] += delta
            level["updatedAt"] = now
            for qname in ("available", "on_hand"):
                changes.append({
                    "name": qname,
                    "delta": delta,
                    "quantityAfterChange": _quantity(level, qname),
                    "item": level["item"],
                    "location": level["location"],
                    "ledgerDocumentUri": None,
                })  # fmt: skip
        return {"inventoryAdjustmentGroup": self._group(reason, uri, changes), "userErrors": []}


def _quantity(level: dict[str, Any], name: str) -> int:
    q = level["_q"]
    if name == "available":
        return q["available"]
    if name == "committed":
        return q["committed"]
    if name == "on_hand":
        return q["available"] + q["committed"]
    return 0


def quantities(level: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """InventoryLevel.quantities(names:) for the names asked, in the order asked."""
    return [
        {
            "id": f"{level['id']}&name={name}",
            "name": name,
            "quantity": _quantity(level, name),
            "updatedAt": level["updatedAt"],
        }
        for name in names
    ]


def _user_error(field: list[str], code: str, message: str) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message}


# ---- search ---------------------------------------------------------------------------

Predicate = Callable[[dict[str, Any]], bool]


def _time_term(op: str, raw: str, tz: tzinfo, attr: str) -> Predicate | None:
    interval = time_interval(op, raw, tz)
    if interval is None:
        return None
    lo = interval[0] if interval[0] is not None else -(1 << 62)
    hi = interval[1] if interval[1] is not None else 1 << 62
    return lambda obj: lo <= obj[attr] * 1_000_000 < hi


def _compare(op: str, have: int, want: int) -> bool:
    return {":": have == want, "=": have == want, ">": have > want, ">=": have >= want,
            "<": have < want, "<=": have <= want}[op]  # fmt: skip


def _text(value: Any, wanted: str) -> bool:
    have = str(value or "").lower()
    return have.startswith(wanted[:-1]) if wanted.endswith("*") else have == wanted


class _SearchCompiler:
    """Shopify search syntax over catalog dicts; unknown fields warn and match everything."""

    def __init__(self, tz: tzinfo, terms: Callable[[Term], Predicate | None | str]) -> None:
        self.tz = tz
        self.terms = terms
        self.warnings: list[dict[str, str]] = []

    def compile(self, node: Node) -> Predicate | None:
        if isinstance(node, Term):
            result = self.terms(node)
            if isinstance(result, str):
                entry = {"field": node.field or "", "message": result}
                if entry not in self.warnings:
                    self.warnings.append(entry)
                return None
            return result
        if isinstance(node, Not):
            inner = self.compile(node.part)
            return (lambda o: False) if inner is None else (lambda o: not inner(o))
        parts = [self.compile(part) for part in node.parts]
        if isinstance(node, And):
            live = [p for p in parts if p is not None]
            return (lambda o: all(p(o) for p in live)) if live else None
        assert isinstance(node, Or)
        if any(p is None for p in parts):
            return None
        return lambda o: any(p(o) for p in parts)  # type: ignore[misc]


def compile_search(
    text: str | None, tz: tzinfo, terms: Callable[[Term], Predicate | None | str]
) -> tuple[Predicate | None, list[dict[str, str]]]:
    """(predicate or None for everything, warnings) of a search string."""
    node = parse(text)
    if node is None:
        return None, []
    compiler = _SearchCompiler(tz, terms)
    return compiler.compile(node), compiler.warnings


def product_terms(tz: tzinfo) -> Callable[[Term], Predicate | None | str]:
    """Search fields of `products` / `productsCount`."""

    def term(t: Term) -> Predicate | None | str:
        name, op, value = t.field, t.op, t.value.strip().lower()
        if name is None:
            return lambda p: value in p["title"].lower()
        if name in ("updated_at", "created_at"):
            pred = _time_term(op, t.value, tz, "_updated" if name == "updated_at" else "_created")
            return pred if pred is not None else f"Invalid timestamp for query filter `{name}`."
        if name == "status":
            wanted = {v.strip().upper() for v in value.split(",") if v.strip()}
            return lambda p: p["status"] in wanted
        if name == "published_status":
            if value == "any":
                return None
            if value in ("published", "visible"):
                return lambda p: p["publishedAt"] is not None
            if value in ("unpublished", "hidden"):
                return lambda p: p["publishedAt"] is None
            return f"Invalid value '{t.value}' for `published_status`."
        if name == "id":
            legacy = value.rsplit("/", 1)[-1]
            if not legacy.isdigit():
                return lambda p: False
            return lambda p: _compare(op, p["_legacy"], int(legacy))
        if name == "sku":
            return lambda p: any(_text(v["sku"], value) for v in p["_variants"])
        if name in ("vendor", "product_type", "handle", "title"):
            key = {"product_type": "productType"}.get(name, name)
            return lambda p: _text(p[key], value)
        return "Invalid search field for this query."

    return term


def variant_terms(tz: tzinfo) -> Callable[[Term], Predicate | None | str]:
    """Search fields of `productVariants`."""

    def term(t: Term) -> Predicate | None | str:
        name, value = t.field, t.value.strip().lower()
        if name is None:
            return lambda v: value in str(v["sku"] or "").lower() or value in v["title"].lower()
        if name == "sku":
            return lambda v: _text(v["sku"], value)
        if name == "barcode":
            return lambda v: _text(v.get("barcode"), value)
        if name in ("id", "product_id"):
            legacy = value.rsplit("/", 1)[-1]
            if not legacy.isdigit():
                return lambda v: False
            if name == "id":
                return lambda v: _compare(t.op, v["_legacy"], int(legacy))
            return lambda v: v["product"]["_legacy"] == int(legacy)
        return "Invalid search field for this query."

    return term


def deletion_terms(tz: tzinfo) -> Callable[[Term], Predicate | None | str]:
    """Search fields of `deletionEvents`."""

    def term(t: Term) -> Predicate | None | str:
        if t.field == "occurred_at":
            pred = _time_term(t.op, t.value, tz, "_ts")
            return pred if pred is not None else "Invalid timestamp for query filter `occurred_at`."
        if t.field == "subject_type":
            wanted = t.value.strip().upper()
            return lambda e: e["subjectType"] == wanted
        return "Invalid search field for this query."

    return term

