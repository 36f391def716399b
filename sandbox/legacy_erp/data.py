"""Deterministic, lazily generated ERP records: order i, customer i and product i depend only
on the seed, i and the currency, so any page is computed without generating the others.

Amounts are decimal strings (`"123.45"`), the way most ERPs export them; the sum identity
`total_amount = Σ quantity × price + tax_amount + shipping_amount` holds exactly.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bigledger.money import currency_exponent
from sandbox.legacy_erp.config import LegacyErpSandboxConfig

FIRST = ("Aisyah", "Wei", "Ravi", "Siti", "Jun", "Priya", "Ahmad", "Mei", "Daniel", "Nur")
LAST = ("Tan", "Lim", "Kumar", "Abdullah", "Wong", "Lee", "Ng", "Ismail", "Chong", "Raj")
ITEMS = ("Widget", "Gadget", "Bracket", "Valve", "Sensor", "Cable", "Panel", "Filter")
STATUSES = ("paid", "paid", "paid", "pending", "cancelled")
TAX_RATE = Decimal("0.06")


class ErpDataset:
    """Orders, customers and products of one sandbox ERP."""

    def __init__(self, config: LegacyErpSandboxConfig) -> None:
        self.config = config
        self.quantum = Decimal(1).scaleb(-currency_exponent(config.currency))

    def _rng(self, kind: str, index: int) -> random.Random:
        return random.Random(f"{self.config.seed}:{kind}:{index}")

    def _money(self, value: Decimal) -> str:
        return str(value.quantize(self.quantum, rounding=ROUND_HALF_UP))

    # -- customers and products -----------------------------------------------------------

    def customer(self, index: int) -> dict[str, Any]:
        """Customer i (0-based)."""
        rng = self._rng("customer", index)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        return {
            "customer_no": f"C{index + 1:05d}",
            "name": f"{first} {last}",
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}.{last.lower()}{index + 1}@example.com",
            "phone": f"+60 3-{rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}",
        }

    def product(self, index: int) -> dict[str, Any]:
        """Product i (0-based)."""
        rng = self._rng("product", index)
        price = Decimal(rng.randrange(500, 50_000)).scaleb(-2)
        return {
            "item_code": f"SKU-{index + 1:05d}",
            "description": f"{rng.choice(ITEMS)} {index + 1}",
            "unit_price": self._money(price),
            "barcode": f"{rng.randrange(10**12, 10**13)}",
            "active": rng.random() > 0.1,
        }

    # -- orders -------------------------------------------------------------------------

    def order_time(self, index: int) -> datetime:
        """When order i was placed (strictly increasing with i)."""
        return self.config.start + timedelta(seconds=index * self.config.interval_seconds)

    def order(self, index: int) -> dict[str, Any]:
        """Order i (0-based) shaped for the spec's example mapping."""
        config = self.config
        rng = self._rng("order", index)
        customer = self.customer(rng.randrange(config.customers))
        lines = []
        subtotal = Decimal(0)
        for _ in range(rng.randint(1, 4)):
            product = self.product(rng.randrange(config.products))
            quantity = rng.randint(1, 5)
            price = Decimal(product["unit_price"])
            subtotal += price * quantity
            lines.append({"sku": product["item_code"], "name": product["description"],
                          "quantity": quantity, "price": product["unit_price"]})  # fmt: skip
        tax = Decimal(self._money(subtotal * TAX_RATE))
        shipping = Decimal(self._money(Decimal(rng.choice((0, 0, 500, 1000))).scaleb(-2)))
        total = subtotal + tax + shipping
        return {
            "id": index + 1,
            "order_no": f"SO-{index + 1:06d}",
            "order_date": self.order_time(index).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": rng.choice(STATUSES),
            "currency": config.currency,
            "customer": {"id": customer["customer_no"], "name": customer["name"],
                         "email": customer["email"]},  # fmt: skip
            "line_items": lines,
            "subtotal_amount": self._money(subtotal),
            "tax_amount": self._money(tax),
            "shipping_amount": self._money(shipping),
            "total_amount": self._money(total),
        }

    def order_range(self, from_date: date | None, to_date: date | None) -> tuple[int, int]:
        """[lo, hi) of the orders placed on from_date .. to_date (both inclusive, UTC)."""
        lo, hi = 0, self.config.size
        if from_date is not None:
            lo = self._first_at_or_after(datetime.combine(from_date, datetime.min.time(), UTC))
        if to_date is not None:
            after = datetime.combine(to_date + timedelta(days=1), datetime.min.time(), UTC)
            hi = self._first_at_or_after(after)
        return lo, max(lo, hi)

    def _first_at_or_after(self, moment: datetime) -> int:
        seconds = (moment - self.config.start).total_seconds()
        index = math.ceil(seconds / self.config.interval_seconds)
        return min(max(index, 0), self.config.size)
