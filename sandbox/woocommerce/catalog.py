"""Deterministic WooCommerce catalog and customers, plus the stock overlay writes land in.

Products 10..21 are the products the order generator sells (same name, price and SKU
`SKU-0010`…), so order lines and catalog SKUs agree; products after them are generated from
the seed, about half of them variable with 2-4 variations of their own SKU. Product and
variation ids come from WordPress's one posts table, so they never collide with each other.
Customers are the registered buyers of the order generator (id `2 + k`, same name, email
and billing address). Nothing generated is mutated: a stock write goes to `StockOverlay` and
is merged into every later read, with `date_modified_gmt` bumped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.woocommerce.config import WooCommerceSandboxConfig
from sandbox.woocommerce.data import _FIRST, _LAST, _PRODUCTS, CUSTOMER_ID_BASE, OrderDataset

PRODUCT_ID_BASE = 10  # the order generator's product_id = 10 + index in _PRODUCTS
VARIATION_ID_BASE = 900_000
VARIATION_STRIDE = 8
_EXTRA = (
    ("Stoneware Bowl", 2200, ()), ("Merino Beanie", 3200, ("S", "M", "L")),
    ("Organic Cotton Tee", 2800, ("XS", "S", "M", "L", "XL")), ("Cast Iron Skillet", 5400, ()),
    ("Ceramic Vase", 3900, ("White", "Sage", "Terracotta")), ("Notebook A5", 1450, ()),
    ("Wool Throw", 8900, ("Grey", "Oat")), ("Herbal Tea Sampler", 1999, ()),
)  # fmt: skip
_CATEGORIES = ((15, "Uncategorized", "uncategorized"), (16, "Kitchen", "kitchen"),
               (17, "Apparel", "apparel"), (18, "Home", "home"))  # fmt: skip


def stamp(ts: int) -> str:
    """WordPress's REST date: ISO 8601 without a zone."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


@dataclass
class StockOverlay:
    """Runtime stock writes: (product_id, variation_id or 0) -> (quantity, modified epoch)."""

    levels: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)


class Catalog:
    """Products, variations and customers of one sandbox store, generated from the config."""

    def __init__(self, config: WooCommerceSandboxConfig, orders: OrderDataset,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.config = config
        self.fmt = orders.fmt
        self._price = orders._price
        self._local = config.utc_offset_minutes * 60
        self._start = int(config.start.timestamp())
        self.clock = clock
        self.overlay = StockOverlay()
        self._products: dict[int, dict[str, Any]] = {}
        self._variations: dict[int, dict[int, dict[str, Any]]] = {}
        for i in range(config.catalog_size):
            self._generate(i)

    # ---- generation ---------------------------------------------------------------------

    def _dates(self, created: int, modified: int) -> dict[str, str]:
        return {"date_created": stamp(created + self._local), "date_created_gmt": stamp(created),
                "date_modified": stamp(modified + self._local),
                "date_modified_gmt": stamp(modified)}  # fmt: skip

    def _prices(self, rng: random.Random, cents: int) -> dict[str, Any]:
        regular = self._price(cents)
        sale = regular * rng.choice((70, 80, 90)) // 100 if rng.random() < 0.2 else None
        return {"price": self.fmt(sale if sale is not None else regular),
                "regular_price": self.fmt(regular),
                "sale_price": self.fmt(sale) if sale is not None else "",
                "on_sale": sale is not None}  # fmt: skip

    def _stock(self, rng: random.Random, always: bool = False) -> dict[str, Any]:
        managed = always or rng.random() < 0.8
        quantity = rng.randint(0, 150) if managed else None
        status = "instock" if not managed or (quantity or 0) > 0 else "outofstock"
        return {"manage_stock": managed, "stock_quantity": quantity, "stock_status": status,
                "backorders": "no"}  # fmt: skip

    def _generate(self, i: int) -> None:
        cfg = self.config
        rng = random.Random(cfg.seed * 7_919 + i)
        pid = PRODUCT_ID_BASE + i
        if i < len(_PRODUCTS):
            name, cents = _PRODUCTS[i]
            options: tuple[str, ...] = ()
        else:
            base, cents, options = _EXTRA[(i - len(_PRODUCTS)) % len(_EXTRA)]
            round_ = (i - len(_PRODUCTS)) // len(_EXTRA)
            name = base if round_ == 0 else f"{base} No. {round_ + 1}"
        created = self._start - 86_400 * 30 + i * 3_600
        modified = created + rng.randint(0, 86_400)
        cat = _CATEGORIES[i % len(_CATEGORIES)]
        status = "publish" if i < len(_PRODUCTS) or rng.random() < 0.85 else "draft"
        slug = name.lower().replace(" ", "-").replace(".", "")
        product: dict[str, Any] = {
            "id": pid, "name": name, "slug": slug,
            "permalink": f"{cfg.site_url}/product/{slug}/",
            **self._dates(created, modified),
            "type": "variable" if options else "simple", "status": status, "featured": False,
            "catalog_visibility": "visible", "description": "", "short_description": "",
            "sku": "" if options else f"SKU-{pid:04d}",
            "purchasable": True, "total_sales": 0, "virtual": False, "downloadable": False,
            "tax_status": "taxable", "tax_class": "",
            "weight": str(Decimal(rng.randint(1, 40)) / 10), "global_unique_id": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "categories": [{"id": cat[0], "name": cat[1], "slug": cat[2]}],
            "attributes": [], "variations": [], "parent_id": 0, "menu_order": 0,
            "meta_data": [],
        }  # fmt: skip
        if not options:
            product.update(self._prices(rng, cents))
            product.update(self._stock(rng, always=i < len(_PRODUCTS)))
            if rng.random() < 0.5:
                product["global_unique_id"] = f"0{rng.randrange(10**11, 10**12)}"
            self._products[pid] = product
            return
        variations: dict[int, dict[str, Any]] = {}
        for k, option in enumerate(options):
            vid = VARIATION_ID_BASE + VARIATION_STRIDE * i + k
            variation = {
                "id": vid, "type": "variation", "parent_id": pid,
                **self._dates(created, modified),
                "description": "", "permalink": f"{cfg.site_url}/product/{slug}/?attribute_pa="
                f"{option.lower()}", "sku": f"SKU-{pid:04d}-{option.upper()}",
                **self._prices(rng, cents + 200 * k), "status": "publish", "purchasable": True,
                "virtual": False, "downloadable": False, "tax_status": "taxable",
                "tax_class": "", **self._stock(rng), "global_unique_id": "",
                "weight": product["weight"] if rng.random() < 0.5 else "",
                "dimensions": {"length": "", "width": "", "height": ""},
                "attributes": [{"id": 1, "name": "Option", "option": option}],
                "menu_order": k, "meta_data": [],
            }  # fmt: skip
            variations[vid] = variation
        prices = sorted((Decimal(v["price"]), v["price"]) for v in variations.values())
        product.update({"price": prices[0][1], "regular_price": "", "sale_price": "",
                        "on_sale": any(v["on_sale"] for v in variations.values()),
                        "manage_stock": False, "stock_quantity": None,
                        "stock_status": "instock", "backorders": "no",
                        "variations": list(variations),
                        "attributes": [{"id": 1, "name": "Option", "position": 0,
                                        "visible": True, "variation": True,
                                        "options": list(options)}]})  # fmt: skip
        self._products[pid] = product
        self._variations[pid] = variations

    # ---- reads (overlay merged) ---------------------------------------------------------

    def _merged(self, record: dict[str, Any], key: tuple[int, int]) -> dict[str, Any]:
        written = self.overlay.levels.get(key)
        if written is None:
            return dict(record)
        quantity, modified = written
        return {**record, "manage_stock": True, "stock_quantity": quantity,
                "stock_status": "instock" if quantity > 0 else "outofstock",
                "date_modified": stamp(modified + self._local),
                "date_modified_gmt": stamp(modified)}  # fmt: skip

    def product_ids(self) -> list[int]:
        """Every product id, ascending."""
        return list(self._products)

    def product(self, pid: int) -> dict[str, Any] | None:
        """Product `pid` as REST v3 shows it (variations as ids), or None."""
        record = self._products.get(pid)
        return None if record is None else self._merged(record, (pid, 0))

    def variations(self, pid: int) -> list[dict[str, Any]] | None:
        """The variations of product `pid` in menu order; None for an unknown product."""
        if pid not in self._products:
            return None
        return [self._merged(v, (pid, vid)) for vid, v in self._variations.get(pid, {}).items()]

    def variation(self, pid: int, vid: int) -> dict[str, Any] | None:
        """One variation of product `pid`, or None."""
        record = self._variations.get(pid, {}).get(vid)
        return None if record is None else self._merged(record, (pid, vid))

    def all_variations(self) -> list[dict[str, Any]]:
        """Every variation of every product."""
        return [v for pid in self._variations for v in self.variations(pid) or []]

    def set_stock(self, pid: int, vid: int, quantity: int | None, manage: bool | None) -> None:
        """Apply a stock write; an unchanged level leaves the record (and its date) alone."""
        current = self.variation(pid, vid) if vid else self.product(pid)
        assert current is not None
        managed = current["manage_stock"] is True if manage is None else manage
        if not managed or quantity is None:
            return  # WooCommerce only stores a quantity for a product that manages stock
        if current["manage_stock"] is True and current["stock_quantity"] == quantity:
            return
        previous = self.overlay.levels.get((pid, vid), (0, 0))[1]
        base = int(self.config.start.timestamp())
        modified = max(int(self.clock()), previous + 1, base)
        self.overlay.levels[(pid, vid)] = (quantity, modified)

    # ---- customers ----------------------------------------------------------------------

    def customer_count(self) -> int:
        """Registered customers (the order generator's pool)."""
        return self.config.customer_pool

    def customer(self, k: int) -> dict[str, Any]:
        """Customer k (id 2 + k), as the order generator bills them."""
        first, last = _FIRST[k % len(_FIRST)], _LAST[(k // len(_FIRST)) % len(_LAST)]
        email = f"{first.lower()}.{k}@example.com".replace("ü", "u")
        created = self._start - 86_400 * 60 + k * 60
        modified = self.customer_modified(k)
        address = {"first_name": first, "last_name": last, "company": "",
                   "address_1": f"{k % 200 + 1} Market Street", "address_2": "",
                   "city": "Springfield", "state": "CA", "postcode": "94105", "country": "US"}
        return {
            "id": CUSTOMER_ID_BASE + k, **self._dates(created, modified), "email": email,
            "first_name": first, "last_name": last, "role": "customer",
            "username": email.split("@")[0],
            "billing": {**address, "email": email, "phone": f"+1555{k:07d}"},
            "shipping": {**address, "phone": ""}, "is_paying_customer": True,
            "avatar_url": "", "meta_data": [],
        }  # fmt: skip

    def customer_modified(self, k: int) -> int:
        """Epoch seconds of customer k's last change."""
        created = self._start - 86_400 * 60 + k * 60
        return created + (k * 7_919 % 86_400)
