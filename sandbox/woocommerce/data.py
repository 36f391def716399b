"""Deterministic WooCommerce orders, generated lazily: order i is a pure function of (seed, i).

Nothing is stored per order. `header(i)` gives the fields the list filters look at (times,
status) from one hash mix; `build(i)` gives the full REST v3 order from
`random.Random(seed * 1_000_003 + i)`. Creation and modification times increase strictly
with i, so a date range is an index range found by binary search.

Money is integer minor units until it is written out as WooCommerce's decimal strings. Every
order satisfies WooCommerce's own totals (`WC_Abstract_Order::calculate_totals`), checked by
`check_order_arithmetic`:

    line.total          = line.subtotal − line discount          (both before tax, always)
    discount_total      = Σ (line.subtotal − line.total)        (already netted out of totals)
    discount_tax        = Σ (line.subtotal_tax − line.total_tax)
    cart_tax            = Σ tax_lines.tax_total = Σ line.total_tax + Σ fee.total_tax
    shipping_tax        = Σ tax_lines.shipping_tax_total = Σ shipping_lines.total_tax
    total               = Σ line.total + Σ fee.total + shipping_total + cart_tax + shipping_tax
    total_tax           = cart_tax + shipping_tax

Line and shipping totals are stored before tax even when `prices_include_tax` is true (the
tax inside an entered price is extracted per line); fees may be negative (a discount).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bigledger.money import currency_exponent
from sandbox.shopify.currencies import profile_for
from sandbox.shopify.data import _Weighted, mix64, money_formatter
from sandbox.woocommerce.config import WooCommerceSandboxConfig

ORDER_ID_BASE = 1000
ORDER_ID_STRIDE = 4  # an order's refunds take the post ids right after it
ITEM_ID_BASE = 100_000
ITEM_STRIDE = 16  # line, shipping, fee, coupon and tax items of one order
CUSTOMER_ID_BASE = 2  # WordPress user 1 is the site admin
MAX_REFUNDS = ORDER_ID_STRIDE - 1

STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
PAID_STATUSES = frozenset({"processing", "completed", "refunded"})

_MASK = (1 << 64) - 1
_ONE = Decimal(1)
_STATUS = _Weighted([
    ("completed", 55), ("processing", 18), ("pending", 6), ("on-hold", 6),
    ("cancelled", 6), ("refunded", 5), ("failed", 4),
])  # fmt: skip
_PAID_METHODS = (
    ("stripe", "Credit Card (Stripe)", 45), ("ppcp-gateway", "PayPal", 25),
    ("woocommerce_payments", "WooPayments", 15), ("cod", "Cash on delivery", 10),
    ("bacs", "Direct bank transfer", 5),
)  # fmt: skip
_UNPAID_METHODS = (
    ("bacs", "Direct bank transfer", 50), ("cheque", "Check payments", 20),
    ("stripe", "Credit Card (Stripe)", 20), ("cod", "Cash on delivery", 10),
)  # fmt: skip

# (rate_id, rate_code, label, rate); regimes per currency with "shipping is taxable".
_Rate = tuple[int, str, str, Decimal]
_REGIMES: dict[str, tuple[tuple[tuple[_Rate, ...], bool], ...]] = {
    "USD": (
        (((1, "US-CA-STATE TAX-1", "State Tax", Decimal("0.0725")),
          (2, "US-CA-COUNTY TAX-2", "County Tax", Decimal("0.01"))), False),
        (((3, "US-NY-SALES TAX-1", "Sales Tax", Decimal("0.04")),
          (4, "US-NY-NYC TAX-2", "NYC Tax", Decimal("0.045"))), True),
    ),
    "GBP": ((((5, "GB-VAT-1", "VAT", Decimal("0.20")),), True),),
    "EUR": ((((6, "DE-MWST-1", "MwSt.", Decimal("0.19")),), True),),
    "JPY": ((((7, "JP-CONSUMPTION TAX-1", "消費税", Decimal("0.10")),), True),),
    "MYR": (
        (((8, "MY-SST-1", "SST", Decimal("0.06")),), False),
        (((9, "MY-SERVICE TAX-1", "Service Tax", Decimal("0.08")),), True),
    ),
}  # fmt: skip
_DEFAULT_REGIMES = ((((10, "TAX-1", "Tax", Decimal("0.10")),), True),)

_PRODUCTS = (
    ("Organic Coffee Beans 500g", 1899), ("Ceramic Pour-Over Set", 4500), ("Linen Apron", 2950),
    ("Beeswax Candle", 1250), ("Travel Tumbler", 2400), ("Hand-thrown Mug", 1600),
    ("Loose Leaf Green Tea", 1100), ("Walnut Serving Board", 6800), ("Gift Card", 5000),
    ("Cold Brew Kit", 3499), ("Espresso Grinder", 18900), ("Tote Bag", 999),
)  # fmt: skip
_SHIPPING = (
    ("flat_rate", "Flat rate", 500, 45), ("flat_rate", "Express", 1500, 15),
    ("free_shipping", "Free shipping", 0, 25), ("local_pickup", "Local pickup", 0, 15),
)  # fmt: skip
_COUPONS = (("welcome10", "percent", "0.10"), ("spring15", "percent", "0.15"),
            ("5off", "fixed_cart", "500"), ("bulk20", "percent", "0.20"))  # fmt: skip
_FIRST = ("Ava", "Ben", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Isla", "Jun",
          "Kavya", "Liam", "Mei", "Noah", "Olivia", "Priya", "Ravi", "Sofia", "Tom", "Yuki")
_LAST = ("Smith", "Tan", "Garcia", "Lee", "Müller", "Sato", "Kumar", "Brown", "Ng", "Rossi",
         "Dubois", "Chen", "Patel", "Silva", "Jones")  # fmt: skip
_REFUND_REASONS = ("Damaged in transit", "Customer changed their mind", "Wrong size", "")


def _tax(amount: int, rate: Decimal) -> int:
    # PHP round(): half away from zero (WooCommerce's wc_round_tax_total).
    return int((Decimal(amount) * rate).quantize(_ONE, rounding=ROUND_HALF_UP))


def _stamp(ts: int) -> str:
    """WordPress's REST date: ISO 8601 without a zone."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


class OrderHeader:
    """The filterable part of order i."""

    __slots__ = ("index", "created", "modified", "status")

    def __init__(self, index: int, created: int, modified: int, status: str) -> None:
        self.index = index
        self.created = created
        self.modified = modified
        self.status = status

    @property
    def order_id(self) -> int:
        return ORDER_ID_BASE + ORDER_ID_STRIDE * self.index


class OrderDataset:
    """All orders of one sandbox store, generated on demand."""

    def __init__(self, config: WooCommerceSandboxConfig) -> None:
        self.config = config
        self.size = config.size
        self.currency = config.currency
        self.exponent = currency_exponent(config.currency)
        self.fmt: Callable[[int], str] = money_formatter(self.exponent, "fixed")
        self._key = mix64(config.seed & _MASK)
        self._start = int(config.start.timestamp())
        self._step = config.interval_seconds
        self._c_span = self._step // 3
        self._m_span = self._step * 3 // 5
        self._offset = config.utc_offset_minutes * 60
        scale = profile_for(config.currency).scale
        # US cents -> this currency's minor units, at its price level.
        self._scale = scale * Decimal(10) ** self.exponent / 100
        self._regimes = _REGIMES.get(config.currency, _DEFAULT_REGIMES)

    # ---- time <-> index -----------------------------------------------------------------

    def _h(self, i: int) -> int:
        return mix64((self._key + i) & _MASK)

    def created_ts(self, i: int) -> int:
        """Creation time (UTC epoch seconds), strictly increasing in i."""
        return self._start + i * self._step + (((self._h(i) & 0xFFFF) * self._c_span) >> 16)

    def modified_ts(self, i: int) -> int:
        """Last modification (UTC epoch seconds), strictly increasing in i."""
        h = self._h(i)
        created = self._start + i * self._step + (((h & 0xFFFF) * self._c_span) >> 16)
        return created + ((((h >> 16) & 0xFFFF) * self._m_span) >> 16)

    def first_index_at_or_after(self, ts_of: Callable[[int], int], bound: int) -> int:
        """Smallest i in [0, size] with ts_of(i) >= bound (epoch seconds)."""
        lo, hi = 0, self.size
        guess = (bound - self._start) // self._step
        lo = max(0, min(self.size, guess - 1))
        hi = max(0, min(self.size, guess + 2))
        if lo > 0 and ts_of(lo - 1) >= bound:
            lo = 0
        if hi < self.size and ts_of(hi) < bound:
            hi = self.size
        while lo < hi:
            mid = (lo + hi) // 2
            if ts_of(mid) >= bound:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def header(self, i: int) -> OrderHeader:
        """Times and status of order i from one hash mix."""
        h = self._h(i)
        created = self._start + i * self._step + (((h & 0xFFFF) * self._c_span) >> 16)
        modified = created + ((((h >> 16) & 0xFFFF) * self._m_span) >> 16)
        return OrderHeader(i, created, modified, _STATUS.pick((h >> 32) & 0xFFFF))

    def index_of(self, order_id: int) -> int | None:
        """The index of an order id, or None when no such order exists."""
        offset = order_id - ORDER_ID_BASE
        if offset < 0 or offset % ORDER_ID_STRIDE:
            return None
        i = offset // ORDER_ID_STRIDE
        return i if i < self.size else None

    # ---- full orders --------------------------------------------------------------------

    def _price(self, cents: int) -> int:
        return max(1, int((Decimal(cents) * self._scale).quantize(_ONE, rounding=ROUND_HALF_UP)))

    def order(self, i: int) -> dict[str, Any]:
        """The REST v3 JSON of order i."""
        return self.build(self.header(i))

    def build(self, h: OrderHeader) -> dict[str, Any]:
        """Full order for a header; see the module docstring for its arithmetic."""
        cfg = self.config
        rng = random.Random(cfg.seed * 1_000_003 + h.index)
        fmt = self.fmt
        order_id = h.order_id
        item_ids = iter(range(ITEM_ID_BASE + ITEM_STRIDE * h.index,
                              ITEM_ID_BASE + ITEM_STRIDE * (h.index + 1)))  # fmt: skip
        status = h.status
        incl = cfg.prices_include_tax
        if incl is None:
            incl = rng.random() < 0.5
        rates, shipping_taxable = rng.choice(self._regimes)
        if rng.random() < 0.08:  # exempt customer or export: no tax at all
            rates = ()
        divisor = 1 + sum((r[3] for r in rates), Decimal(0))

        # -- line items: the discount is worked out on the price as entered --
        picks = [(rng.choice(_PRODUCTS), rng.choice((1, 1, 1, 2, 3)))
                 for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))]  # fmt: skip
        coupon = rng.choice(_COUPONS) if rng.random() < 0.3 else None
        bases = [self._price(cents) * qty for (_, cents), qty in picks]
        discounts = [0] * len(bases)
        if coupon is not None:
            if coupon[1] == "percent":
                rate = Decimal(coupon[2])
                discounts = [_tax(b, rate) for b in bases]
            else:
                amount = min(self._price(int(coupon[2])), sum(bases))
                spread = [amount * b // sum(bases) for b in bases]
                spread[-1] += amount - sum(spread)
                discounts = spread
        tax_by_rate: dict[int, int] = {r[0]: 0 for r in rates}
        lines: list[dict[str, Any]] = []
        amounts: list[tuple[int, int, int, int]] = []  # subtotal, its tax, total, its tax
        for ((name, _cents), qty), base, off in zip(picks, bases, discounts, strict=True):
            if incl:
                sub_taxes = [_tax(base, r[3] / divisor) for r in rates]
                subtotal = base - sum(sub_taxes)
                taxes = [_tax(base - off, r[3] / divisor) for r in rates]
                total = base - off - sum(taxes)
            else:
                subtotal = base
                sub_taxes = [_tax(base, r[3]) for r in rates]
                total = base - off
                taxes = [_tax(total, r[3]) for r in rates]
            for r, t in zip(rates, taxes, strict=True):
                tax_by_rate[r[0]] += t
            amounts.append((subtotal, sum(sub_taxes), total, sum(taxes)))
            product_id = 10 + _PRODUCTS.index((name, _cents))
            lines.append({
                "id": next(item_ids),
                "name": name,
                "product_id": product_id,
                "variation_id": 0,
                "quantity": qty,
                "tax_class": "",
                "subtotal": fmt(subtotal),
                "subtotal_tax": fmt(sum(sub_taxes)),
                "total": fmt(total),
                "total_tax": fmt(sum(taxes)),
                "taxes": [{"id": r[0], "total": fmt(t), "subtotal": fmt(s)}
                          for r, t, s in zip(rates, taxes, sub_taxes, strict=True)],
                "meta_data": [],
                "sku": f"SKU-{product_id:04d}",
                # A JSON number in real responses (PHP float): the unit price before tax.
                "price": float(Decimal(total).scaleb(-self.exponent) / qty),
                "parent_name": None,
            })

        # -- shipping: always entered before tax --
        shipping_lines: list[dict[str, Any]] = []
        ship_tax_by_rate: dict[int, int] = {r[0]: 0 for r in rates}
        cost = 0
        if rng.random() < 0.85:
            method, title, cents, _w = rng.choices(_SHIPPING, weights=[s[3] for s in _SHIPPING])[0]
            cost = self._price(cents) if cents else 0
            s_taxes = [_tax(cost, r[3]) for r in rates] if shipping_taxable else []
            for r, t in zip(rates, s_taxes, strict=False):
                ship_tax_by_rate[r[0]] += t
            shipping_lines.append({
                "id": next(item_ids), "method_title": title, "method_id": method,
                "instance_id": "1", "total": fmt(cost), "total_tax": fmt(sum(s_taxes)),
                "taxes": [{"id": r[0], "total": fmt(t), "subtotal": ""}
                          for r, t in zip(rates, s_taxes, strict=False)],
                "meta_data": [],
            })  # fmt: skip

        # -- fees: gift wrap (taxable), payment surcharge, loyalty discount (negative) --
        fee_lines: list[dict[str, Any]] = []
        fee_specs: list[tuple[str, int, bool]] = []
        if rng.random() < 0.15:
            fee_specs.append(("Gift wrap", self._price(400), True))
        if rng.random() < 0.08:
            fee_specs.append(("Payment surcharge", self._price(150), False))
        line_sum = sum(a[2] for a in amounts)
        if rng.random() < 0.08 and line_sum >= 2:
            # Never more than half the cart, so the order total stays positive.
            fee_specs.append(("Loyalty discount", -min(self._price(300), line_sum // 2), False))
        for fee_name, amount, taxable in fee_specs:
            f_taxes = [_tax(amount, r[3]) for r in rates] if taxable else []
            for r, t in zip(rates, f_taxes, strict=False):
                tax_by_rate[r[0]] += t
            fee_lines.append({
                "id": next(item_ids), "name": fee_name, "tax_class": "",
                "tax_status": "taxable" if taxable else "none", "amount": fmt(amount),
                "total": fmt(amount), "total_tax": fmt(sum(f_taxes)),
                "taxes": [{"id": r[0], "total": fmt(t), "subtotal": ""}
                          for r, t in zip(rates, f_taxes, strict=False)],
                "meta_data": [],
            })  # fmt: skip

        # -- totals (the identity in the module docstring) --
        line_total = line_sum
        discount_total = sum(a[0] - a[2] for a in amounts)
        discount_tax = sum(a[1] - a[3] for a in amounts)
        fee_total = sum(a for _, a, _ in fee_specs)
        shipping_total = cost if shipping_lines else 0
        cart_tax = sum(tax_by_rate.values())
        shipping_tax = sum(ship_tax_by_rate.values())
        total = line_total + fee_total + shipping_total + cart_tax + shipping_tax

        coupon_lines = []
        if coupon is not None and discount_total:
            coupon_lines.append({
                "id": next(item_ids), "code": coupon[0], "discount": fmt(discount_total),
                "discount_tax": fmt(discount_tax), "meta_data": [],
            })  # fmt: skip
        tax_lines = [
            {"id": next(item_ids), "rate_code": code, "rate_id": rate_id, "label": label,
             "compound": False, "tax_total": fmt(tax_by_rate[rate_id]),
             "shipping_tax_total": fmt(ship_tax_by_rate[rate_id]), "meta_data": []}
            for rate_id, code, label, _rate in rates
        ]  # fmt: skip

        # -- payment and refunds --
        paid = status in PAID_STATUSES
        if status == "cancelled" and rng.random() < 0.15:
            paid = True  # paid, then cancelled and refunded in full by the shop
        methods = _PAID_METHODS if paid else _UNPAID_METHODS
        method, method_title, _ = rng.choices(methods, weights=[m[2] for m in methods])[0]
        refunds: list[dict[str, Any]] = []
        refund_total = 0
        if paid and total > 0:
            if status in ("refunded", "cancelled"):
                amounts = [total]
            elif rng.random() < 0.12:
                first = max(1, total * rng.choice((10, 25, 50)) // 100)
                amounts = [first] + ([max(1, (total - first) // 4)] if rng.random() < 0.3 else [])
            else:
                amounts = []
            for k, amount in enumerate(amounts):
                refund_total += amount
                refunds.append({"id": order_id + 1 + k, "reason": rng.choice(_REFUND_REASONS),
                                "total": fmt(-amount)})  # fmt: skip
        paid_ts = h.created + rng.randint(5, 120) if paid else None

        # -- customer --
        guest = rng.random() < 0.25
        k = rng.randrange(cfg.customer_pool)
        first, last = _FIRST[k % len(_FIRST)], _LAST[(k // len(_FIRST)) % len(_LAST)]
        email = (f"guest{h.index}@example.com" if guest
                 else f"{first.lower()}.{k}@example.com").replace("ü", "u")  # fmt: skip
        address = {"first_name": first, "last_name": last, "company": "",
                   "address_1": f"{k % 200 + 1} Market Street", "address_2": "",
                   "city": "Springfield", "state": "CA", "postcode": "94105",
                   "country": "US"}  # fmt: skip
        local = self._offset
        created, modified = h.created, h.modified
        completed_ts = modified if status == "completed" else None
        return {
            "id": order_id,
            "parent_id": 0,
            "status": status,
            "currency": self.currency,
            "version": "9.4.2",
            "prices_include_tax": incl,
            "date_created": _stamp(created + local),
            "date_modified": _stamp(modified + local),
            "discount_total": fmt(discount_total),
            "discount_tax": fmt(discount_tax),
            "shipping_total": fmt(shipping_total),
            "shipping_tax": fmt(shipping_tax),
            "cart_tax": fmt(cart_tax),
            "total": fmt(total),
            "total_tax": fmt(cart_tax + shipping_tax),
            "customer_id": 0 if guest else CUSTOMER_ID_BASE + k,
            "order_key": f"wc_order_{mix64(order_id ^ self._key) & 0xFFFFFFFFFFFF:012x}",
            "billing": {**address, "email": email, "phone": f"+1555{k:07d}"},
            "shipping": {**address, "phone": ""},
            "payment_method": method,
            "payment_method_title": method_title,
            "transaction_id": f"txn_{order_id}" if paid else "",
            "customer_ip_address": f"203.0.113.{k % 254 + 1}",
            "customer_user_agent": "Mozilla/5.0",
            "created_via": "checkout",
            "customer_note": "",
            "date_completed": _stamp(completed_ts + local) if completed_ts else None,
            "date_paid": _stamp(paid_ts + local) if paid_ts else None,
            "cart_hash": f"{mix64(order_id) & 0xFFFFFFFF:08x}",
            "number": str(order_id),
            "meta_data": [],
            "line_items": lines,
            "tax_lines": tax_lines,
            "shipping_lines": shipping_lines,
            "fee_lines": fee_lines,
            "coupon_lines": coupon_lines,
            "refunds": refunds,
            "payment_url": f"{cfg.site_url}/checkout/order-pay/{order_id}/",
            "is_editable": status in ("pending", "on-hold"),
            "needs_payment": status in ("pending", "failed"),
            "needs_processing": True,
            "date_created_gmt": _stamp(created),
            "date_modified_gmt": _stamp(modified),
            "date_completed_gmt": _stamp(completed_ts) if completed_ts else None,
            "date_paid_gmt": _stamp(paid_ts) if paid_ts else None,
            "currency_symbol": self.currency,
        }

