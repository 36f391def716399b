"""Deterministic Shopify orders, generated lazily: order i is a pure function of (seed, i).

Nothing is stored per order, so a 1,000,000-order shop costs no more memory than a 10-order
one. Two layers keep page serving and filtering cheap:

* `header(i)`: the handful of fields search filters look at (times, statuses, customer,
  gateway, tags), derived from three 64-bit hash mixes, about a microsecond each;
* `build(header)`: the full GraphQL-shaped order with lines, taxes, shipping and refunds,
  drawn from `random.Random(seed * 1_000_003 + i)`.

`created_at` and `updated_at` both increase strictly with i, so a time range maps to an
index range by binary search. Money is integer minor units throughout and tax is rounded
half-even with `Decimal`; every order satisfies the identities in `check_money_identity`.
"""

from __future__ import annotations

import random
import re
import time
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sandbox.shopify.config import ShopifySandboxConfig
from sandbox.shopify.currencies import TaxRegime, exponent_for, profile_for

# Numeric ids (the tail of each gid). Child ids are derived from the order index so any
# object can be located again from its id alone.
ORDER_ID_BASE = 5_500_000_000_000
LINE_ITEM_ID_BASE = 14_000_000_000_000
LINE_ITEM_STRIDE = 100  # so an order may have up to 99 line items
SHIPPING_LINE_ID_BASE = 4_700_000_000_000
SHIPPING_LINE_STRIDE = 4
REFUND_ID_BASE = 910_000_000_000
REFUND_STRIDE = 16
CUSTOMER_ID_BASE = 7_000_000_000_000
PRODUCT_ID_BASE = 8_000_000_000_000
VARIANT_ID_BASE = 44_000_000_000_000
FIRST_ORDER_NUMBER = 1001
MAX_REFUNDS_PER_ORDER = REFUND_STRIDE

_MASK = (1 << 64) - 1
_ONE = Decimal(1)

FINANCIAL_STATUSES = (
    "PENDING", "AUTHORIZED", "PARTIALLY_PAID", "PAID",
    "PARTIALLY_REFUNDED", "REFUNDED", "VOIDED", "EXPIRED",
)  # fmt: skip
# Money has been taken from the customer in these states (before any refund).
PAID_STATES = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED", "PARTIALLY_PAID"})
CANCEL_REASONS = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF")


def mix64(x: int) -> int:
    """SplitMix64 finaliser: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class _Weighted:
    """Pick a value from a 16-bit hash slice with fixed integer weights."""

    __slots__ = ("values", "thresholds")

    def __init__(self, pairs: Sequence[tuple[Any, int]]) -> None:
        total = sum(w for _, w in pairs)
        self.values = tuple(v for v, _ in pairs)
        cumulative, acc = [], 0
        for _, w in pairs[:-1]:
            acc += w
            cumulative.append(acc * 65536 // total)
        self.thresholds = tuple(cumulative)

    def pick(self, u16: int) -> Any:
        return self.values[bisect_right(self.thresholds, u16)]


_FINANCIAL = _Weighted([
    ("PAID", 7000), ("PENDING", 450), ("AUTHORIZED", 450), ("PARTIALLY_PAID", 300),
    ("PARTIALLY_REFUNDED", 700), ("REFUNDED", 550), ("VOIDED", 350), ("EXPIRED", 200),
])  # fmt: skip
_FULFILLMENT = {
    "PAID": _Weighted([
        ("FULFILLED", 64), ("UNFULFILLED", 25), ("PARTIALLY_FULFILLED", 6), ("IN_PROGRESS", 2),
        ("ON_HOLD", 1), ("SCHEDULED", 1), ("PENDING_FULFILLMENT", 1),
    ]),
    "PARTIALLY_REFUNDED": _Weighted(
        [("FULFILLED", 70), ("PARTIALLY_FULFILLED", 20), ("UNFULFILLED", 10)]
    ),
    "REFUNDED": _Weighted([("UNFULFILLED", 45), ("RESTOCKED", 35), ("FULFILLED", 20)]),
    "PENDING": _Weighted([("UNFULFILLED", 90), ("ON_HOLD", 10)]),
    "AUTHORIZED": _Weighted([("UNFULFILLED", 80), ("FULFILLED", 10), ("PARTIALLY_FULFILLED", 10)]),
    "PARTIALLY_PAID": _Weighted([("UNFULFILLED", 70), ("FULFILLED", 30)]),
    "VOIDED": _Weighted([("UNFULFILLED", 1)]),
    "EXPIRED": _Weighted([("UNFULFILLED", 1)]),
}  # fmt: skip
_GATEWAY = _Weighted([("shopify_payments", 50), ("stripe", 20), ("paypal", 18), ("manual", 12)])
# Unpaid orders are mostly bank transfers and cash on delivery.
_GATEWAY_UNPAID = _Weighted([("manual", 70), ("paypal", 15), ("shopify_payments", 15)])
_TAG_POOL = ("wholesale", "vip", "first-order", "gift", "priority", "subscription", "pos", "repeat")

_FIRST_NAMES = (
    "Aisyah", "Wei Ling", "Arjun", "Siti", "Jun", "Hiroshi", "Emma", "Liam", "Mei", "Rahul",
    "Nur", "Daniel", "Sofia", "Kenji", "Priya", "Omar", "Chloe", "Ahmad", "Yuki", "Grace",
    "Farid", "Hannah", "Ravi", "Lucas", "Amani", "Ethan", "Zara", "Ming", "Olivia", "Haruto",
    "Isabel", "Kavya", "Noah", "Fatimah", "Leo", "Aiko", "Ben", "Chen", "Dina", "Marco",
)  # fmt: skip
_LAST_NAMES = (
    "Tan", "Lim", "Abdullah", "Nair", "Wong", "Sato", "Smith", "Garcia", "Lee", "Kumar",
    "Ibrahim", "Chen", "Suzuki", "Brown", "Ng", "Rahman", "Müller", "Rossi", "Ong", "Patel",
    "Yamamoto", "Hassan", "Dubois", "Kaur", "Teo", "Jones", "Ismail", "Novak", "Choi", "Silva",
)  # fmt: skip
_ADJECTIVES = (
    "Premium", "Classic", "Organic", "Vintage", "Handmade", "Eco", "Deluxe", "Everyday",
    "Limited", "Travel", "Signature", "Minimal",
)  # fmt: skip
_NOUNS = (
    ("Widget", "Gadgets"), ("Cotton Tee", "Apparel"), ("Ceramic Mug", "Homeware"),
    ("Leather Wallet", "Accessories"), ("Scented Candle", "Homeware"), ("Yoga Mat", "Fitness"),
    ("Coffee Beans", "Grocery"), ("Notebook", "Stationery"), ("Water Bottle", "Fitness"),
    ("Phone Case", "Electronics"), ("Wireless Earbuds", "Electronics"), ("Silk Scarf", "Apparel"),
    ("Desk Lamp", "Homeware"), ("Tote Bag", "Accessories"), ("Green Tea", "Grocery"),
    ("Running Socks", "Apparel"),
)  # fmt: skip
_VENDORS = ("Acme Co", "Kedai Maju", "Northwind", "Sakura Goods", "Atlas Supply", "Blue Harbor")
_VARIANT_OPTIONS = (
    ("S", "M", "L", "XL"), ("Black", "White", "Navy", "Red"), ("250g", "500g", "1kg"),
)  # fmt: skip
_SOURCES = _Weighted(
    [("web", 80), ("pos", 9), ("shopify_draft_order", 5), ("iphone", 3), ("android", 3)]
)
_REFUND_NOTES = ("Customer changed their mind", "Item damaged in transit", "Wrong size", None)
_ORDER_NOTES = ("Please gift wrap", "Leave at the front door", "Call before delivery")
# Price tiers in US cents with weights; scaled to the shop currency by its profile.
_PRICE_TIERS = ((500, 2500, 45), (2500, 8000, 35), (8000, 25000, 15), (25000, 90000, 5))
# (title, code, source, carrier, low cents, high cents, weight)
_SHIPPING_OPTIONS = (
    ("Standard Shipping", "STANDARD", "shopify", None, 299, 699, 55),
    ("Express Shipping", "EXPRESS", "shopify", "dhl", 999, 1999, 20),
    ("Free Shipping", "FREE", "shopify", None, 0, 0, 20),
    ("Local Pickup", "PICKUP", "shopify", None, 0, 0, 5),
)
_PERCENT_CODES = (("SAVE10", "0.10"), ("WELCOME15", "0.15"), ("VIP20", "0.20"), ("FLASH5", "0.05"))
_FIXED_DISCOUNT_CENTS = (500, 1000, 2000)


def iso(ts: int) -> str:
    """Epoch seconds as Shopify's DateTime string (UTC, second precision)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def money_formatter(exponent: int, style: str) -> Callable[[int], str]:
    """Integer minor units -> Decimal scalar string in the configured style."""
    scale = 10**exponent

    if style == "trimmed":

        def trimmed(minor: int) -> str:
            sign = "-" if minor < 0 else ""
            whole, frac = divmod(abs(minor), scale)
            digits = f"{frac:0{exponent}d}".rstrip("0") if exponent else ""
            return f"{sign}{whole}.{digits or '0'}"

        return trimmed
    if exponent == 0:
        return str

    def fixed(minor: int) -> str:
        sign = "-" if minor < 0 else ""
        whole, frac = divmod(abs(minor), scale)
        return f"{sign}{whole}.{frac:0{exponent}d}"

    return fixed


def _round(amount: Decimal) -> int:
    return int(amount.quantize(_ONE, rounding=ROUND_HALF_EVEN))


def _slug(text: str) -> str:
    """ASCII handle of a name ("Müller" -> "muller", "Wei Ling" -> "wei-ling")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


class OrderHeader:
    """The cheap, filterable part of an order (everything search syntax can ask about)."""

    __slots__ = (
        "index", "created", "updated", "financial", "fulfillment", "cancelled", "cancel_reason",
        "closed", "test", "customer", "gateway", "tags", "regime", "tax_free", "taxes_included",
    )  # fmt: skip

    def __init__(
        self, index: int, created: int, updated: int, financial: str, fulfillment: str,
        cancelled: bool, cancel_reason: str | None, closed: bool, test: bool,
        customer: int | None, gateway: str, tags: tuple[str, ...], regime: int | None,
        tax_free: bool, taxes_included: bool,
    ) -> None:  # fmt: skip
        # Positional and explicit: this runs once per scanned order during filtering.
        self.index = index
        self.created = created
        self.updated = updated
        self.financial = financial
        self.fulfillment = fulfillment
        self.cancelled = cancelled
        self.cancel_reason = cancel_reason
        self.closed = closed
        self.test = test
        self.customer = customer
        self.gateway = gateway
        self.tags = tags
        self.regime = regime
        self.tax_free = tax_free
        self.taxes_included = taxes_included

    def copy(self, **changes: Any) -> OrderHeader:
        """A changed copy (used when an order is modified at runtime)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return OrderHeader(**values)

    @property
    def order_id(self) -> int:
        return ORDER_ID_BASE + self.index


class OrderDataset:
    """All orders of one sandbox shop, generated on demand from the config."""

    def __init__(self, config: ShopifySandboxConfig) -> None:
        self.config = config
        self.size = config.size
        self.seed = config.seed
        self.currency = config.currency
        self.exponent = exponent_for(config.currency)
        self.profile = profile_for(config.currency)
        self.fmt = money_formatter(self.exponent, config.money_format)
        self._key = mix64(config.seed & _MASK)
        self._start = int(config.start.timestamp())
        self._step = config.interval_seconds
        # Jitter spans that keep created and updated strictly increasing in i:
        # created offset < step/3 and update lag < 3/5 step, together < step.
        self._c_span = self._step // 3
        self._d_span = self._step * 3 // 5
        self._pool = config.customer_pool
        self._regimes = self.profile.regimes
        regime_weights = [(n, r.weight) for n, r in enumerate(self._regimes)]
        self._regime_pick = _Weighted(regime_weights or [(None, 1)])
        self._tax_templates = self._make_tax_templates()
        self._products = self._make_products()
        self._shipping = self._make_shipping_options()
        self._shipping_pick = _Weighted([(n, opt[-1]) for n, opt in enumerate(_SHIPPING_OPTIONS)])
        self._fixed_discounts = tuple(self._from_cents(c) for c in _FIXED_DISCOUNT_CENTS)

    # ---- time <-> index -------------------------------------------------------------

    def created_ts(self, i: int) -> int:
        """Creation time of order i in epoch seconds (strictly increasing in i)."""
        h = mix64((self._key + i) & _MASK)
        return self._start + i * self._step + (((h & 0xFFFF) * self._c_span) >> 16)

    def updated_ts(self, i: int) -> int:
        """Last update of order i as generated (strictly increasing in i)."""
        h = mix64((self._key + i) & _MASK)
        base = self._start + i * self._step + (((h & 0xFFFF) * self._c_span) >> 16)
        return base + ((((h >> 16) & 0xFFFF) * self._d_span) >> 16)

    def first_index_at_or_after(self, ts_of: Callable[[int], int], bound_us: int) -> int:
        """Smallest i in [0, size] with ts_of(i) (seconds) >= bound_us (microseconds)."""
        step_us = self._step * 1_000_000
        offset = bound_us - self._start * 1_000_000
        # ts_of(i) lies in [start + i*step, start + (i+1)*step), which pins i to two slots.
        lo = max(0, min(self.size, offset // step_us - 1))
        hi = max(0, min(self.size, -(-offset // step_us) + 1))
        while lo < hi:
            mid = (lo + hi) // 2
            if ts_of(mid) * 1_000_000 >= bound_us:
                hi = mid
            else:
                lo = mid + 1
        return lo

    # ---- headers --------------------------------------------------------------------

    def header(self, i: int) -> OrderHeader:
        """The filterable fields of order i, from three hash mixes and no allocation churn."""
        h1 = mix64((self._key + i) & _MASK)
        created = self._start + i * self._step + (((h1 & 0xFFFF) * self._c_span) >> 16)
        updated = created + ((((h1 >> 16) & 0xFFFF) * self._d_span) >> 16)
        financial = _FINANCIAL.pick((h1 >> 32) & 0xFFFF)
        fulfillment = _FULFILLMENT[financial].pick((h1 >> 48) & 0xFFFF)
        h2 = mix64(h1 ^ 0x5DEECE66D)
        h3 = mix64(h2)
        cancelled = financial == "VOIDED" or (financial == "REFUNDED" and (h3 & 0xFF) < 102)
        if cancelled and fulfillment == "FULFILLED":
            fulfillment = "RESTOCKED"
        if financial == "VOIDED":
            cancel_reason = CANCEL_REASONS[(h3 >> 8) % 6]
        elif cancelled:
            cancel_reason = ("CUSTOMER", "INVENTORY")[(h3 >> 8) & 1]
        else:
            cancel_reason = None
        closed = cancelled or (
            fulfillment == "FULFILLED"
            and financial in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED")
            and ((h3 >> 16) & 0xFF) < 154
        )
        if (h2 & 0xFFFF) < 2621:  # about 4% guest checkouts
            customer = None
        else:
            v = (h2 >> 16) & 0xFFFFF
            # One order in five comes from a small circle of regulars; the rest spread
            # evenly over the pool, so customers recur without a single one dominating.
            pool = min(self._pool, 50) if (h2 >> 36) & 0xF < 3 else self._pool
            customer = (v * pool) >> 20
        pick = _GATEWAY_UNPAID if financial == "PENDING" else _GATEWAY
        gateway = pick.pick((h2 >> 40) & 0xFFFF)
        test = (h2 >> 56) == 0  # about one order in 256 is a test order
        tag_bits = (h3 >> 24) & 0xFFFF
        if tag_bits < 45875:  # 70% untagged
            tags: tuple[str, ...] = ()
        else:
            first = _TAG_POOL[tag_bits % 8]
            second = _TAG_POOL[(tag_bits >> 3) % 8]
            single = (tag_bits & 0x40) or first == second
            tags = (first,) if single else tuple(sorted((first, second)))
        regime = self._regime_pick.pick((h3 >> 40) & 0xFFFF)
        tax_free = regime is None or ((h3 >> 56) % 100) < self.profile.tax_free_percent
        taxes_included = ((h3 >> 48) & 0xFF) * 100 < self.profile.taxes_included_percent * 256
        return OrderHeader(
            i, created, updated, financial, fulfillment, cancelled, cancel_reason, closed,
            test, customer, gateway, tags, regime, tax_free, taxes_included,
        )  # fmt: skip

    # ---- customers ------------------------------------------------------------------

    def customer_email(self, k: int) -> str:
        first = _FIRST_NAMES[k % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(k // len(_FIRST_NAMES) + k) % len(_LAST_NAMES)]
        return f"{_slug(first)}.{_slug(last)}.{k}@example.com"

    def customer(self, k: int) -> dict[str, Any]:
        """Customer k of the pool (same dict content every time it is asked for)."""
        first = _FIRST_NAMES[k % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(k // len(_FIRST_NAMES) + k) % len(_LAST_NAMES)]
        legacy = CUSTOMER_ID_BASE + k
        return {
            "id": f"gid://shopify/Customer/{legacy}",
            "legacyResourceId": str(legacy),
            "firstName": first,
            "lastName": last,
            "displayName": f"{first} {last}",
            "email": self.customer_email(k),
            "phone": None if k % 3 else f"+6012{k % 10_000_000:07d}",
            "verifiedEmail": k % 11 != 0,
            "createdAt": iso(self._start - 86_400 * (1 + k % 700)),
            "tags": ["vip"] if k % 50 == 0 else [],
        }

    # ---- full orders ----------------------------------------------------------------

    def order(self, i: int) -> dict[str, Any]:
        """The full GraphQL-shaped order i."""
        return self.build(self.header(i))

    def build(self, h: OrderHeader) -> dict[str, Any]:
        """Expand a header into the full order; internal values sit under "_" keys."""
        i = h.index
        rng = random.Random(self.seed * 1_000_003 + i)
        cur = self.currency
        fmt = self.fmt

        def bag(minor: int) -> dict[str, Any]:
            money = {"amount": fmt(minor), "currencyCode": cur}
            return {"shopMoney": money, "presentmentMoney": money}

        regime: TaxRegime | None = None if h.tax_free else self._regimes[h.regime]
        templates = None if regime is None else self._tax_templates[h.regime]
        divisor = None
        if regime is not None and h.taxes_included:
            divisor = _ONE + sum(rate for _, rate in regime.lines)
        tax_totals = [0] * (len(regime.lines) if regime else 0)
        taxed = []  # non-empty once any line or shipping line carries tax lines

        def tax_lines(taxable: int) -> list[dict[str, Any]]:
            if regime is None or taxable <= 0:
                return []
            taxed.append(True)
            out = []
            for n, (_title, rate) in enumerate(regime.lines):
                amount = Decimal(taxable) * rate
                minor = _round(amount / divisor if divisor is not None else amount)
                tax_totals[n] += minor
                out.append({**templates[n], "priceSet": bag(minor)})
            return out

        # -- line items: the rare huge order makes clients page through lineItems.
        if rng.randrange(500) == 0:
            n_lines = rng.randint(30, 60)
        else:
            n_lines = rng.choices((1, 2, 3, 4, 5), (45, 25, 15, 9, 6))[0]
        picks = []
        for _ in range(n_lines):
            product = self._products[rng.randrange(len(self._products))]
            variant = product["_variants"][rng.randrange(len(product["_variants"]))]
            roll = rng.randrange(100)
            if roll < 70:
                qty = 1
            elif roll < 88:
                qty = 2
            else:
                qty = rng.randint(3, 5) if roll < 98 else rng.randint(6, 20)
            picks.append((product, variant, qty, variant["_price"] * qty))
        line_gross = sum(p[3] for p in picks)

        # -- order-level discount, allocated to lines exactly.
        allocations: list[list[int]] = [[] for _ in picks]
        codes: list[str] = []
        roll = rng.randrange(100)
        if roll < 18:
            code, pct = _PERCENT_CODES[rng.randrange(len(_PERCENT_CODES))]
            codes.append(code)
            rate = Decimal(pct)
            for n, p in enumerate(picks):
                allocations[n].append(_round(Decimal(p[3]) * rate))
        elif roll < 25:
            fixed = min(self._fixed_discounts[rng.randrange(3)], line_gross * 3 // 10)
            if fixed > 0:
                codes.append("TAKEOFF")
                shares = [fixed * p[3] // line_gross for p in picks]
                for n in range(fixed - sum(shares)):  # remainder: one minor unit per line
                    shares[n % len(shares)] += 1
                for n, share in enumerate(shares):
                    if share:
                        allocations[n].append(share)
        for n, p in enumerate(picks):  # an occasional automatic line discount on top
            if rng.randrange(100) < 6:
                extra = (p[3] - sum(allocations[n])) // 10
                if extra > 0:
                    allocations[n].append(extra)
        line_discounts = sum(sum(a) for a in allocations)

        # -- line item dicts
        line_items = []
        quantity_total = 0
        voided_items = h.cancelled or h.fulfillment == "RESTOCKED"
        for n, (product, variant, qty, gross) in enumerate(picks):
            quantity_total += qty
            discount = sum(allocations[n])
            taxable_line = product["_taxable"]
            line_id = LINE_ITEM_ID_BASE + i * LINE_ITEM_STRIDE + n
            line_items.append({
                "id": f"gid://shopify/LineItem/{line_id}",
                "_legacy": line_id,
                "name": variant["displayName"],
                "title": product["title"],
                "variantTitle": None if variant["title"] == "Default Title" else variant["title"],
                "sku": variant["sku"],
                "vendor": product["vendor"],
                "quantity": qty,
                "currentQuantity": 0 if voided_items else qty,
                "requiresShipping": product["_ships"],
                "taxable": taxable_line,
                "isGiftCard": False,
                "variant": variant,
                "product": product,
                "originalUnitPriceSet": bag(variant["_price"]),
                "originalTotalSet": bag(gross),
                "totalDiscountSet": bag(discount),
                "discountAllocations": [{"allocatedAmountSet": bag(a)} for a in allocations[n]],
                "taxLines": tax_lines(gross - discount) if taxable_line else [],
                "customAttributes": [],
            })  # fmt: skip

        # -- shipping
        roll = rng.randrange(100)
        n_ship = 0 if roll < 5 else 2 if roll < 7 else 1
        shipping_lines = []
        ship_original = ship_discounted = 0
        for k in range(n_ship):
            option = self._shipping[self._shipping_pick.pick(rng.randrange(65536))]
            title, code, source, carrier, low, high = option
            price = rng.randint(low, high) if high else 0
            price = self._round_price(price)
            discounted = price
            ship_allocs: list[int] = []
            if price and rng.randrange(100) < 9:
                discounted = 0 if rng.randrange(2) else price // 2
                ship_allocs.append(price - discounted)
                codes.append("FREESHIP" if discounted == 0 else "HALFSHIP")
            ship_original += price
            ship_discounted += discounted
            sid = SHIPPING_LINE_ID_BASE + i * SHIPPING_LINE_STRIDE + k
            shipping_lines.append({
                "id": f"gid://shopify/ShippingLine/{sid}",
                "_legacy": sid,
                "title": title,
                "code": code,
                "source": source,
                "carrierIdentifier": carrier,
                "custom": False,
                "isRemoved": False,
                "originalPriceSet": bag(price),
                "discountedPriceSet": bag(discounted),
                "discountAllocations": [{"allocatedAmountSet": bag(a)} for a in ship_allocs],
                "taxLines": tax_lines(discounted) if regime and regime.shipping_taxable else [],
            })  # fmt: skip

        # -- totals: the identities the ledger transform checks
        tax = sum(tax_totals)
        subtotal = line_gross - line_discounts
        total = subtotal + ship_discounted + (0 if h.taxes_included else tax)
        discounts = line_discounts + (ship_original - ship_discounted)
        # Order tax lines are the per-title sums of the line and shipping tax lines.
        order_tax_lines = []
        if taxed:
            order_tax_lines = [
                {**templates[n], "priceSet": bag(minor)} for n, minor in enumerate(tax_totals)
            ]

        # -- payment state
        financial = h.financial
        outstanding = refunded = 0
        refunds: list[dict[str, Any]] = []
        if financial in ("PENDING", "AUTHORIZED"):
            outstanding = total
        elif financial == "PARTIALLY_PAID":
            paid = min(total - 1, max(1, total * rng.randint(20, 80) // 100))
            outstanding = total - paid
        elif financial in ("REFUNDED", "PARTIALLY_REFUNDED"):
            if financial == "REFUNDED":
                amounts = [total]
                if rng.randrange(10) < 3:
                    first = min(total - 1, max(1, total * rng.randint(20, 70) // 100))
                    amounts = [first, total - first]
            else:
                amounts = [min(total - 1, max(1, total * rng.randint(10, 60) // 100))]
            for k, amount in enumerate(amounts):
                when = h.updated if k == len(amounts) - 1 else (h.created + h.updated) // 2
                refunds.append(self.refund_dict(i, k, when, amount, rng.choice(_REFUND_NOTES), bag))
                refunded += amount
        received = total - outstanding if financial in PAID_STATES else 0

        customer = None if h.customer is None else self.customer(h.customer)
        email = customer["email"] if customer else f"guest.{i}@mail.example"
        updated_iso = iso(h.updated)
        return {
            "id": f"gid://shopify/Order/{ORDER_ID_BASE + i}",
            "legacyResourceId": str(ORDER_ID_BASE + i),
            "name": f"#{FIRST_ORDER_NUMBER + i}",
            "email": email,
            "phone": customer["phone"] if customer else None,
            "note": _ORDER_NOTES[rng.randrange(3)] if rng.randrange(20) == 0 else None,
            "createdAt": iso(h.created),
            "updatedAt": updated_iso,
            "processedAt": iso(h.created),
            "cancelledAt": updated_iso if h.cancelled else None,
            "cancelReason": h.cancel_reason,
            "closedAt": updated_iso if h.closed else None,
            "closed": h.closed,
            "confirmed": True,
            "currencyCode": cur,
            "presentmentCurrencyCode": cur,
            "taxesIncluded": h.taxes_included,
            "test": h.test,
            "displayFinancialStatus": financial,
            "displayFulfillmentStatus": h.fulfillment,
            "paymentGatewayNames": [h.gateway],
            "tags": list(h.tags),
            "discountCodes": codes,
            "sourceName": _SOURCES.pick(rng.randrange(65536)),
            "customer": customer,
            "subtotalLineItemsQuantity": quantity_total,
            "subtotalPriceSet": bag(subtotal),
            "totalPriceSet": bag(total),
            "totalTaxSet": bag(tax),
            "totalDiscountsSet": bag(discounts),
            "totalShippingPriceSet": bag(ship_discounted),
            "totalRefundedSet": bag(refunded),
            "totalOutstandingSet": bag(outstanding),
            "totalReceivedSet": bag(received),
            "netPaymentSet": bag(received - refunded),
            "taxLines": order_tax_lines,
            "_index": i,
            "_total": total,
            "_outstanding": outstanding,
            "_refunded": refunded,
            "_received": received,
            "_line_items": line_items,
            "_shipping_lines": shipping_lines,
            "_refunds": refunds,
        }

    def refund_dict(
        self, i: int, k: int, when: int, amount: int, note: str | None,
        bag: Callable[[int], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Refund number k of order i."""
        legacy = REFUND_ID_BASE + i * REFUND_STRIDE + k
        return {
            "id": f"gid://shopify/Refund/{legacy}",
            "legacyResourceId": str(legacy),
            "createdAt": iso(when),
            "updatedAt": iso(when),
            "note": note,
            "totalRefundedSet": (bag or self.money_bag)(amount),
        }

    def money_bag(self, minor: int) -> dict[str, Any]:
        """A MoneyBag in the shop currency (shop and presentment money are the same)."""
        money = {"amount": self.fmt(minor), "currencyCode": self.currency}
        return {"shopMoney": money, "presentmentMoney": money}

    # ---- pools, built once per dataset ---------------------------------------------

    def _from_cents(self, cents: int) -> int:
        """US cents -> a plausible price in this currency's minor units."""
        major = Decimal(cents) * self.profile.scale / 100
        if self.exponent == 0:
            step = 100 if major >= 1000 else 10
            return max(step, _round(major / step) * step)
        unit = 10**self.exponent
        whole_units = max(1, int(major))
        return whole_units * unit

    def _round_price(self, minor: int) -> int:
        if minor == 0:
            return 0
        return self._from_cents(minor)

    def _make_tax_templates(self) -> list[list[dict[str, Any]]]:
        return [
            [
                {
                    "title": title,
                    "rate": float(rate),
                    "ratePercentage": float(rate * 100),
                    "channelLiable": False,
                    "source": "Shopify",
                }
                for title, rate in regime.lines
            ]
            for regime in self._regimes
        ]

    def _make_products(self) -> list[dict[str, Any]]:
        rng = random.Random(mix64(self._key ^ 0xC0FFEE))
        tiers = _Weighted([((lo, hi), w) for lo, hi, w in _PRICE_TIERS])
        endings = (99, 50, 0, 90)
        products = []
        for p in range(160):
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
                "_taxable": rng.randrange(100) >= 3,
                "_ships": product_type != "Stationery" or rng.randrange(2) == 0,
            }
            lo, hi = tiers.pick(rng.randrange(65536))
            base = self._from_cents(rng.randint(lo, hi))
            if self.exponent >= 2:
                base += endings[rng.randrange(4)] * 10 ** (self.exponent - 2)
            options = _VARIANT_OPTIONS[rng.randrange(len(_VARIANT_OPTIONS))]
            n_variants = rng.choice((1, 1, 2, 3, 4))
            prefix = "".join(word[0] for word in f"{adjective} {noun}".split()).upper()
            variants = []
            for v in range(n_variants):
                vtitle = "Default Title" if n_variants == 1 else options[v % len(options)]
                price = base + (v * base // 10 if self.exponent else v * base // 10 // 10 * 10)
                vlegacy = VARIANT_ID_BASE + p * 10 + v
                variants.append({
                    "id": f"gid://shopify/ProductVariant/{vlegacy}",
                    "legacyResourceId": str(vlegacy),
                    "sku": f"{prefix}-{p:03d}-{v + 1}",
                    "title": vtitle,
                    "displayName": title if n_variants == 1 else f"{title} - {vtitle}",
                    "price": self.fmt(price),
                    "product": product,
                    "_price": price,
                })  # fmt: skip
            product["_variants"] = variants
            products.append(product)
        return products

    def _make_shipping_options(self) -> list[tuple[str, str, str, str | None, int, int]]:
        return [
            (title, code, source, carrier, low, high)
            for title, code, source, carrier, low, high, _w in _SHIPPING_OPTIONS
        ]


def check_money_identity(order: dict[str, Any]) -> list[str]:
    """Problems with an order's money (empty when exact); mirrors what the transform checks."""

    def amt(bag: dict[str, Any] | None) -> Decimal:
        return Decimal(bag["shopMoney"]["amount"]) if bag else Decimal(0)

    problems = []
    lines = order["_line_items"]
    gross = sum((amt(li["originalUnitPriceSet"]) * li["quantity"] for li in lines), Decimal(0))
    allocations = [d for li in lines for d in li["discountAllocations"]]
    line_disc = sum((amt(d["allocatedAmountSet"]) for d in allocations), Decimal(0))
    ships = order["_shipping_lines"]
    ship_disc = sum((amt(s["discountedPriceSet"]) for s in ships), Decimal(0))
    ship_orig = sum((amt(s["originalPriceSet"]) for s in ships), Decimal(0))
    per_title: dict[str, Decimal] = {}
    for holder in [*lines, *ships]:
        for t in holder["taxLines"]:
            per_title[t["title"]] = per_title.get(t["title"], Decimal(0)) + amt(t["priceSet"])
    refunds = order["_refunds"]
    order_titles = {t["title"]: amt(t["priceSet"]) for t in order["taxLines"]}
    if {k: v for k, v in per_title.items() if v} != {k: v for k, v in order_titles.items() if v}:
        problems.append(f"order taxLines {order_titles} != per-title sum {per_title}")
    tax = sum(order_titles.values(), Decimal(0))
    expected_total = gross - line_disc + ship_disc + (0 if order["taxesIncluded"] else tax)
    checks = {
        "totalPriceSet": expected_total,
        "subtotalPriceSet": gross - line_disc,
        "totalDiscountsSet": line_disc + ship_orig - ship_disc,
        "totalShippingPriceSet": ship_disc,
        "totalTaxSet": tax,
        "totalRefundedSet": sum((amt(r["totalRefundedSet"]) for r in refunds), Decimal(0)),
    }
    for field, expected in checks.items():
        if amt(order[field]) != expected:
            problems.append(f"{field} {amt(order[field])} != {expected}")
    total = amt(order["totalPriceSet"])
    outstanding = amt(order["totalOutstandingSet"])
    status = order["displayFinancialStatus"]
    if status in ("PENDING", "AUTHORIZED") and outstanding != total:
        problems.append(f"{status} outstanding {outstanding} != total {total}")
    if status == "PARTIALLY_PAID" and not 0 < outstanding < total:
        problems.append(f"PARTIALLY_PAID outstanding {outstanding} not within (0, {total})")
    if status not in ("PENDING", "AUTHORIZED", "PARTIALLY_PAID") and outstanding != 0:
        problems.append(f"{status} outstanding {outstanding} != 0")
    refunded = amt(order["totalRefundedSet"])
    if status == "REFUNDED" and refunded <= 0:
        problems.append("REFUNDED without refunds")
    if status == "PARTIALLY_REFUNDED" and not 0 < refunded < total:
        problems.append(f"PARTIALLY_REFUNDED refunded {refunded} not within (0, {total})")
    return problems
