"""Deterministic Amazon orders and the settlements that pay them out, generated lazily.

Order i is a pure function of (seed, marketplace, start, interval, buyer pool) and i. Its
filterable part (`header(i)`: purchase, status, channel, shipment, last update, refund time)
comes from one hash mix, so date filters and settlement periods never build whole orders
they do not return. Purchase times increase strictly with i; every other time of an order
lies within a bounded lag after its purchase, so a time window is an index range found by
binary search plus that lag.

Money is integer minor units until it is rendered (Orders API: "1234.56" strings;
settlement files: the marketplace's local number format). The amounts obey:

    item total   = ItemPrice + ItemTax + ShippingPrice + ShippingTax
                   − PromotionDiscount − ShippingDiscount        (discount taxes are zero)
    OrderTotal   = Σ item totals                                 (absent on Pending/Canceled)
    ItemTax      = rate × (ItemPrice − PromotionDiscount), half up
    settlement   : for each shipped order, in the period of its shipment, Order rows
                   Principal + Tax + Shipping + ShippingTax + Promotion (negative) = OrderTotal,
                   then its fees (negative) and, on a facilitator-tax marketplace, the tax
                   Amazon withholds (negative). total-amount = Σ rows.
"""

from __future__ import annotations

import bisect
import gzip
import random
import time
import zlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from bigledger.money import currency_exponent
from sandbox.amazon.config import AmazonSandboxConfig
from sandbox.amazon.marketplaces import Marketplace, marketplace
from sandbox.shopify.data import _Weighted, mix64

_MASK = (1 << 64) - 1
_ONE = Decimal(1)
MINUTE, HOUR, DAY = 60, 3600, 86400
# Every order's shipment, cancellation or last update lies within this lag of its purchase.
MAX_UPDATE_LAG = 2 * DAY
# A refund is posted at most this long after its order shipped.
MAX_REFUND_LAG = 21 * DAY
REPORT_DELAY = 2 * HOUR  # settlement report created after its period ends
DEPOSIT_DELAY = DAY  # deposit-date after the period ends

SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
SETTLEMENT_COLUMNS = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date",
    "total-amount", "currency", "transaction-type", "order-id", "merchant-order-id",
    "adjustment-id", "shipment-id", "marketplace-name", "amount-type", "amount-description",
    "amount", "fulfillment-id", "posted-date", "posted-date-time", "order-item-code",
    "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
    "promotion-id",
)  # fmt: skip

ORDER_STATUSES = (
    "PendingAvailability", "Pending", "Unshipped", "PartiallyShipped", "Shipped",
    "InvoiceUnconfirmed", "Canceled", "Unfulfillable",
)  # fmt: skip
_STATUS = _Weighted([("Shipped", 80), ("Unshipped", 5), ("Pending", 6), ("Canceled", 9)])
_ID_MUL = 7_654_321  # coprime with 10**7: order i <-> the last id group is a bijection
_ID_INV = pow(_ID_MUL, -1, 10**7)

# (SellerSKU, ASIN, title, US price in cents)
PRODUCTS = (
    ("BL-COFFEE-500", "B0C1COF500", "Organic Coffee Beans 500g", 1899),
    ("BL-POUR-SET", "B0C2POURST", "Ceramic Pour-Over Set", 4500),
    ("BL-APRON-LIN", "B0C3APRONL", "Linen Apron", 2950),
    ("BL-CANDLE-BW", "B0C4CANDLE", "Beeswax Candle", 1250),
    ("BL-TUMBLER", "B0C5TUMBLR", "Travel Tumbler", 2400),
    ("BL-MUG-HAND", "B0C6MUGHND", "Hand-thrown Mug", 1600),
    ("BL-TEA-GREEN", "B0C7TEAGRN", "Loose Leaf Green Tea", 1100),
    ("BL-BOARD-WAL", "B0C8BOARDW", "Walnut Serving Board", 6800),
    ("BL-COLDBREW", "B0C9COLDBR", "Cold Brew Kit", 3499),
    ("BL-GRINDER", "B0CAGRINDR", "Espresso Grinder", 18900),
    ("BL-TOTE", "B0CBTOTEBG", "Tote Bag", 999),
    ("BL-FILTERS", "B0CCFILTER", "Paper Filters (100)", 599),
)
_FIRST = ("Ava", "Ben", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Isla", "Jun",
          "Kavya", "Liam", "Mei", "Noah", "Olivia", "Priya", "Ravi", "Sofia", "Tom", "Yuki")
_LAST = ("Smith", "Tan", "Garcia", "Lee", "Mueller", "Sato", "Kumar", "Brown", "Ng", "Rossi",
         "Dubois", "Chen", "Patel", "Silva", "Jones")  # fmt: skip
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def iso(ts: int) -> str:
    """SP-API timestamp: ISO 8601 UTC with a Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _half_up(value: Decimal) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP))


def _base36(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        out.append(_ALNUM[digit])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Header:
    """The filterable part of order i (epoch seconds; shipped/refund_at None when never)."""

    index: int
    created: int
    status: str
    channel: str  # AFN | MFN
    updated: int
    shipped: int | None
    refund_at: int | None


@dataclass(frozen=True, slots=True)
class Item:
    """One order item in minor units; the money of a Pending order is unknown (priced False)."""

    item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    price: int  # ItemPrice: the whole quantity
    tax: int
    shipping: int
    shipping_tax: int
    promotion: int
    shipping_discount: int
    promotion_id: str | None

    @property
    def total(self) -> int:
        """What the buyer pays for this item (discount taxes are zero in the sandbox)."""
        return (self.price + self.tax + self.shipping + self.shipping_tax - self.promotion
                - self.shipping_discount)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Order:
    """Order i with its items (amounts in minor units)."""

    header: Header
    order_id: str
    items: tuple[Item, ...]
    buyer_email: str | None
    buyer_name: str | None
    postal_code: str
    prime: bool

    @property
    def priced(self) -> bool:
        """Amazon shows no money for a Pending order."""
        return self.header.status not in ("Pending", "PendingAvailability")

    @property
    def has_total(self) -> bool:
        """OrderTotal is sent for orders that will be (or were) charged."""
        return self.header.status not in ("Pending", "PendingAvailability", "Canceled")

    @property
    def total(self) -> int:
        """Σ item totals (what the buyer is charged)."""
        return sum(item.total for item in self.items)


@dataclass(frozen=True, slots=True)
class Row:
    """One settlement detail row: its posting time, amount and the other column values."""

    posted: int
    amount: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class Settlement:
    """Settlement k: its period, rows and the total-amount it reports."""

    number: int
    settlement_id: str
    start: int
    end: int
    deposit: int
    rows: tuple[Row, ...]
    total: int  # as reported (may be off by one minor unit on purpose)
    rows_total: int
    order_ids: frozenset[str] = field(default_factory=frozenset)
    refunded_order_ids: frozenset[str] = field(default_factory=frozenset)


class AmazonDataset:
    """All orders and settlements of one sandbox seller, generated on demand."""

    def __init__(self, config: AmazonSandboxConfig) -> None:
        self.config = config
        self.size = config.size
        self.market: Marketplace = marketplace(config.marketplace_id)
        self.currency = self.market.currency
        self.exponent = currency_exponent(self.currency)
        self._key = mix64((config.seed & _MASK) ^ zlib.crc32(config.marketplace_id.encode()))
        self._start = int(config.start.timestamp())
        self._step = config.interval_seconds
        self._period = config.settlement_days * DAY
        self._id_offset = self._key % 10**7
        self._id_middle = (self._key >> 24) % 10**7
        self.order = lru_cache(maxsize=4096)(self._build)
        self.settlement = lru_cache(maxsize=16)(self._settlement)
        self._documents: dict[str, int] | None = None

    # ---- money ------------------------------------------------------------------------

    def money(self, us_cents: int) -> int:
        """A US-cent amount at this marketplace's price level, in its minor units."""
        scaled = Decimal(us_cents) * self.market.price_scale * Decimal(10) ** self.exponent
        return max(1, _half_up(scaled / 100))

    def price(self, us_cents: int) -> int:
        """A shelf price: x.99 (or a round ten for zero-decimal currencies)."""
        if self.exponent == 0:
            return max(10, _half_up(Decimal(self.money(us_cents)) / 10) * 10)
        whole = max(1, _half_up(Decimal(self.money(us_cents)) / 10**self.exponent))
        return whole * 10**self.exponent - 1

    def api_amount(self, minor: int) -> str:
        """Orders API Money.Amount: a decimal string with a point."""
        return self._format(minor, ".")

    def report_amount(self, minor: int) -> str:
        """A settlement amount in the marketplace's local format (1234.56 / 1234,56)."""
        return self._format(minor, "," if self.market.decimal_comma else ".")

    def _format(self, minor: int, point: str) -> str:
        sign = "-" if minor < 0 else ""
        if self.exponent == 0:
            return f"{sign}{abs(minor)}"
        whole, frac = divmod(abs(minor), 10**self.exponent)
        return f"{sign}{whole}{point}{frac:0{self.exponent}d}"

    def _money_json(self, minor: int) -> dict[str, str]:
        return {"CurrencyCode": self.currency, "Amount": self.api_amount(minor)}

    # ---- time <-> index ---------------------------------------------------------------

    def _h(self, i: int) -> int:
        return mix64((self._key + i) & _MASK)

    def created_ts(self, i: int) -> int:
        """Purchase time (epoch seconds), strictly increasing in i."""
        return self._start + i * self._step + (((self._h(i) & 0xFFFF) * (self._step // 2)) >> 16)

    def first_created_at_or_after(self, bound: int) -> int:
        """Smallest i in [0, size] purchased at or after `bound`."""
        return bisect.bisect_left(range(self.size), bound, key=self.created_ts)

    def header(self, i: int) -> Header:
        """Times, status and channel of order i from one hash mix."""
        h = self._h(i)
        created = self._start + i * self._step + (((h & 0xFFFF) * (self._step // 2)) >> 16)
        status = _STATUS.pick((h >> 16) & 0xFFFF)
        channel = "AFN" if ((h >> 32) & 0xFF) < 154 else "MFN"
        lag = ((h >> 40) & 0xFFFF) / 65536
        shipped = refund_at = None
        if status == "Shipped":
            shipped = created + 2 * HOUR + int(lag * 38 * HOUR)
            updated = shipped
            if ((h >> 56) & 0xFF) < 20:  # about 8% of shipped orders are refunded later
                h2 = mix64(h)
                refund_at = shipped + 3 * DAY + int((h2 & 0xFFFF) / 65536 * 17 * DAY)
        elif status == "Canceled":
            updated = created + 10 * MINUTE + int(lag * 6 * HOUR)
        elif status == "Unshipped":
            updated = created + int(lag * HOUR)
        else:
            updated = created + int(lag * 15 * MINUTE)
        return Header(i, created, status, channel, updated, shipped, refund_at)

    # ---- ids --------------------------------------------------------------------------

    def order_id(self, i: int) -> str:
        """AmazonOrderId of order i: 3-7-7 digits, unique per index."""
        last = (i * _ID_MUL + self._id_offset) % 10**7
        middle = (self._id_middle + i * 31) % 10**7
        return f"{self.market.order_prefix:03d}-{middle:07d}-{last:07d}"

    def index_of(self, order_id: str) -> int | None:
        """The index of an AmazonOrderId, or None when this seller has no such order."""
        parts = order_id.split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 7:
            return None
        i = ((int(parts[2]) - self._id_offset) * _ID_INV) % 10**7
        if i >= self.size or self.order_id(i) != order_id:
            return None
        return i

    def _item_id(self, i: int, n: int) -> str:
        return f"{self._key % 90_000 + 10_000:05d}{i * 8 + n:09d}"

    # ---- full orders ------------------------------------------------------------------

    def _build(self, i: int) -> Order:
        """Order i with its items; see the module docstring for its arithmetic."""
        h = self.header(i)
        rng = random.Random(mix64(self._h(i) ^ 0x5DEECE66D))
        market = self.market
        rate = rng.choice(market.tax_rates)
        picks = rng.sample(range(len(PRODUCTS)), rng.choice((1, 1, 1, 2, 2, 3)))
        shipping = self.money(499) if h.channel == "MFN" else (
            self.money(599) if rng.random() < 0.3 else 0)  # fmt: skip
        free_shipping = shipping > 0 and rng.random() < 0.15
        items: list[Item] = []
        for n, product in enumerate(picks):
            sku, asin, title, cents = PRODUCTS[product]
            quantity = rng.choice((1, 1, 1, 2, 3))
            price = self.price(cents) * quantity
            promo_id = None
            promotion = 0
            if rng.random() < 0.2:
                promotion = max(1, _half_up(Decimal(price) / 10))
                promo_id = f"PLM-{_base36(mix64(self._key ^ product), 10).upper()}"
            ship = shipping if n == 0 else 0
            ship_discount = ship if free_shipping else 0
            tax = _half_up((price - promotion) * rate)
            ship_tax = _half_up((ship - ship_discount) * rate) if market.shipping_taxable else 0
            items.append(Item(self._item_id(i, n), sku, asin, title, quantity, price, tax, ship,
                              ship_tax, promotion, ship_discount, promo_id))  # fmt: skip
        buyer = rng.randrange(self.config.buyer_pool)
        mixed = mix64(self._key ^ (buyer + 0xB0B))
        email = name = None
        if h.status not in ("Pending", "PendingAvailability") and rng.random() < 0.7:
            tld = market.domain.removeprefix("www.amazon.")
            email = f"{_base36(mixed, 15)}@marketplace.amazon.{tld}"
            name = f"{_FIRST[mixed % len(_FIRST)]} {_LAST[(mixed >> 8) % len(_LAST)]}"
        postal = f"{(mixed >> 16) % 90_000 + 10_000:05d}"
        prime = h.channel == "AFN" and rng.random() < 0.6
        return Order(h, self.order_id(i), tuple(items), email, name, postal, prime)

    def order_json(self, order: Order) -> dict[str, Any]:
        """The getOrders/getOrder JSON of an order (without its items)."""
        h = order.header
        shipped_count = sum(it.quantity for it in order.items) if h.status == "Shipped" else 0
        unshipped = 0 if h.status in ("Shipped", "Canceled") else sum(
            it.quantity for it in order.items)  # fmt: skip
        body: dict[str, Any] = {
            "AmazonOrderId": order.order_id,
            "SellerOrderId": order.order_id,
            "PurchaseDate": iso(h.created),
            "LastUpdateDate": iso(h.updated),
            "OrderStatus": h.status,
            "FulfillmentChannel": h.channel,
            "SalesChannel": self.market.name,
            "ShipServiceLevel": "Std Dom" if h.channel == "MFN" else "Expedited",
            "NumberOfItemsShipped": shipped_count,
            "NumberOfItemsUnshipped": unshipped,
            "PaymentMethod": "Other",
            "PaymentMethodDetails": ["Standard"],
            "MarketplaceId": self.market.id,
            "ShipmentServiceLevelCategory": "Standard" if h.channel == "MFN" else "Expedited",
            "OrderType": "StandardOrder",
            "EarliestShipDate": iso(h.created + HOUR),
            "LatestShipDate": iso(h.created + MAX_UPDATE_LAG),
            "IsBusinessOrder": False,
            "IsPrime": order.prime,
            "IsPremiumOrder": False,
            "IsGlobalExpressEnabled": False,
            "IsReplacementOrder": False,
            "IsSoldByAB": False,
            "IsISPU": False,
            "IsAccessPointOrder": False,
            "BuyerInfo": {},
        }
        if order.has_total:
            body["OrderTotal"] = self._money_json(order.total)
        if order.priced:
            body["ShippingAddress"] = {"PostalCode": order.postal_code,
                                       "CountryCode": self.market.country}  # fmt: skip
        if order.buyer_email:
            body["BuyerInfo"] = {"BuyerEmail": order.buyer_email, "BuyerName": order.buyer_name}
        return body

    def items_json(self, order: Order) -> list[dict[str, Any]]:
        """The getOrderItems JSON of an order's items (no money while Pending)."""
        out = []
        shipped = order.header.status == "Shipped"
        for item in order.items:
            body: dict[str, Any] = {
                "ASIN": item.asin,
                "SellerSKU": item.sku,
                "OrderItemId": item.item_id,
                "Title": item.title,
                "QuantityOrdered": item.quantity,
                "QuantityShipped": item.quantity if shipped else 0,
                "ProductInfo": {"NumberOfItems": "1"},
                "ConditionId": "New",
                "ConditionSubtypeId": "New",
                "IsTransparency": False,
            }
            if order.priced:
                money = self._money_json
                body.update({
                    "ItemPrice": money(item.price),
                    "ItemTax": money(item.tax),
                    "ShippingPrice": money(item.shipping),
                    "ShippingTax": money(item.shipping_tax),
                    "ShippingDiscount": money(item.shipping_discount),
                    "ShippingDiscountTax": money(0),
                    "PromotionDiscount": money(item.promotion),
                    "PromotionDiscountTax": money(0),
                })  # fmt: skip
                if item.promotion_id:
                    body["PromotionIds"] = [item.promotion_id]
            out.append(body)
        return out

    # ---- fees -------------------------------------------------------------------------

    def commission(self, item: Item) -> int:
        """Referral fee: 15% of what the buyer pays before tax, at least 0.30 USD-equivalent."""
        base = item.price - item.promotion + item.shipping - item.shipping_discount
        return max(self.money(30), _half_up(Decimal(base) * Decimal("0.15")))

    def fba_fee(self, item: Item) -> int:
        """FBA per-unit fulfilment fee."""
        return self.money(322) * item.quantity

    def refund_commission(self, item: Item) -> int:
        """Refund administration fee: 20% of the commission, at most 5 USD-equivalent."""
        return min(self.money(500), _half_up(Decimal(self.commission(item)) / 5))

    # ---- settlements ------------------------------------------------------------------

    def settlement_count(self) -> int:
        """Periods from `start` until the last shipment or refund any order can have."""
        if self.size == 0:
            return 0
        horizon = self.created_ts(self.size - 1) + MAX_UPDATE_LAG + MAX_REFUND_LAG
        return -(-(horizon - self._start) // self._period)

    def period(self, k: int) -> tuple[int, int]:
        """[start, end) of settlement period k (epoch seconds)."""
        start = self._start + k * self._period
        return start, start + self._period

    def settlement_id(self, k: int) -> str:
        """The settlement-id of period k (11 digits)."""
        return str(10_000_000_000 + ((self._key >> 20) % 9_000_000) * 1000 + k)

    def report_id(self, k: int) -> str:
        """The reportId of settlement k's report."""
        return str(50_000_000_000 + ((self._key >> 7) % 9_000_000) * 1000 + k)

    def report_number(self, report_id: str) -> int | None:
        """k of a reportId, or None when it is not one of ours."""
        if not report_id.isdigit():
            return None
        k = int(report_id) % 1000
        if k >= self.settlement_count() or self.report_id(k) != report_id:
            return None
        return k

    def document_id(self, k: int) -> str:
        """The reportDocumentId of settlement k's document."""
        a, b = mix64(self._key ^ (k + 1)), mix64(self._key ^ ~k & _MASK)
        digits = f"{a:016x}{b:016x}"
        return (f"amzn1.spdoc.1.4.{self.market.region}.{digits[:8]}-{digits[8:12]}-"
                f"{digits[12:16]}-{digits[16:20]}-{digits[20:]}.T{digits[:3].upper()}R"
                f"{k:04d}")  # fmt: skip

    def document_number(self, document_id: str) -> int | None:
        """k of a reportDocumentId, or None."""
        if self._documents is None:
            self._documents = {self.document_id(k): k for k in range(self.settlement_count())}
        return self._documents.get(document_id)

    def report_created(self, k: int) -> int:
        """When settlement k's report appears (after its period ends)."""
        return self.period(k)[1] + REPORT_DELAY

    def _settlement(self, k: int) -> Settlement:
        t0, t1 = self.period(k)
        rows: list[Row] = []
        shipped_ids: set[str] = set()
        refunded_ids: set[str] = set()
        lo = self.first_created_at_or_after(t0 - MAX_UPDATE_LAG - MAX_REFUND_LAG)
        hi = self.first_created_at_or_after(t1)
        for i in range(lo, hi):
            h = self.header(i)
            if h.shipped is not None and t0 <= h.shipped < t1:
                order = self.order(i)
                rows.extend(self._order_rows(order))
                shipped_ids.add(order.order_id)
            if h.refund_at is not None and t0 <= h.refund_at < t1:
                order = self.order(i)
                rows.extend(self._refund_rows(order))
                refunded_ids.add(order.order_id)
        rows.extend(self._other_rows(k, t0, t1, any(r.values.get("fulfillment-id") == "AFN"
                                                    for r in rows)))  # fmt: skip
        rows.sort(key=lambda r: r.posted)  # stable: an order's rows stay together
        rows_total = sum(r.amount for r in rows)
        total = rows_total + (1 if k in self.config.mismatch_settlements else 0)
        return Settlement(k, self.settlement_id(k), t0, t1, t1 + DEPOSIT_DELAY, tuple(rows),
                          total, rows_total, frozenset(shipped_ids),
                          frozenset(refunded_ids))  # fmt: skip

    def _common(self, order: Order, posted: int) -> dict[str, str]:
        market = self.market
        return {
            "order-id": order.order_id,
            "merchant-order-id": order.order_id if order.header.channel == "MFN" else "",
            "shipment-id": "D" + _base36(mix64(self._key ^ order.header.index), 8).upper(),
            "marketplace-name": market.name,
            "fulfillment-id": order.header.channel,
            "posted-date": time.strftime(market.posted_date_format, time.gmtime(posted)),
            "posted-date-time": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(posted)),
        }

    def _order_rows(self, order: Order) -> list[Row]:
        posted = order.header.shipped
        assert posted is not None
        common = self._common(order, posted)
        facilitator = self.market.facilitator_tax
        rows: list[Row] = []
        for item in order.items:
            base = {**common, "transaction-type": "Order", "order-item-code": item.item_id,
                    "sku": item.sku, "quantity-purchased": str(item.quantity)}  # fmt: skip
            amounts: list[tuple[str, str, int, str]] = [
                ("ItemPrice", "Principal", item.price, ""),
                ("ItemPrice", "Tax", item.tax, ""),
                ("ItemPrice", "Shipping", item.shipping, ""),
                ("ItemPrice", "ShippingTax", item.shipping_tax, ""),
                ("Promotion", "Principal", -item.promotion, item.promotion_id or ""),
                ("Promotion", "Shipping", -item.shipping_discount, ""),
            ]
            if facilitator:
                amounts += [
                    ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -item.tax, ""),
                    ("ItemWithheldTax", "MarketplaceFacilitatorTax-Shipping",
                     -item.shipping_tax, ""),
                ]  # fmt: skip
            amounts.append(("ItemFees", "Commission", -self.commission(item), ""))
            if order.header.channel == "AFN":
                amounts.append(("ItemFees", "FBAPerUnitFulfillmentFee", -self.fba_fee(item), ""))
            for amount_type, description, amount, promotion in amounts:
                if amount == 0 and (amount_type, description) != ("ItemPrice", "Principal"):
                    continue
                rows.append(self._row(posted, amount, base, amount_type, description, promotion))
        return rows

    def _refund_rows(self, order: Order) -> list[Row]:
        """The first item refunded in full (no shipping), with the commission given back
        less Amazon's refund administration fee."""
        posted = order.header.refund_at
        assert posted is not None
        item = order.items[0]
        index = order.header.index
        base = {**self._common(order, posted), "transaction-type": "Refund",
                "adjustment-id": f"{mix64(self._key ^ (index << 3)) % 10**14:014d}",
                "merchant-adjustment-item-id": f"{mix64(self._key ^ (index << 4)) % 10**14:014d}",
                "order-item-code": item.item_id, "sku": item.sku,
                "quantity-purchased": ""}  # fmt: skip
        amounts: list[tuple[str, str, int, str]] = [
            ("ItemPrice", "Principal", -item.price, ""),
            ("ItemPrice", "Tax", -item.tax, ""),
            ("Promotion", "Principal", item.promotion, item.promotion_id or ""),
        ]
        if self.market.facilitator_tax:
            amounts.append(("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", item.tax,
                            ""))  # fmt: skip
        amounts += [
            ("ItemFees", "Commission", self.commission(item), ""),
            ("ItemFees", "RefundCommission", -self.refund_commission(item), ""),
        ]
        principal = ("ItemPrice", "Principal")
        return [self._row(posted, amount, base, amount_type, description, promotion)
                for amount_type, description, amount, promotion in amounts
                if amount != 0 or (amount_type, description) == principal]  # fmt: skip

    def _other_rows(self, k: int, t0: int, t1: int, fba: bool) -> list[Row]:
        market = self.market
        base = {"transaction-type": "other-transaction", "marketplace-name": market.name}

        def row(posted: int, description: str, amount: int) -> Row:
            values = {**base,
                      "posted-date": time.strftime(market.posted_date_format, time.gmtime(posted)),
                      "posted-date-time": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                        time.gmtime(posted))}  # fmt: skip
            return self._row(posted, amount, values, "other-transaction", description, "")

        mixed = mix64(self._key ^ (k * 0x9E3779B1))
        rows = []
        if k > 0:
            rows.append(row(t0, "Previous Reserve Amount Balance", self._reserve(k - 1)))
        if fba:
            rows.append(row(min(t1 - 1, t0 + 7 * DAY), "Storage Fee",
                            -self.money(500 + mixed % 5500)))  # fmt: skip
        if k % 2 == 0:
            fee = _half_up(Decimal(market.subscription_fee) * 10**self.exponent)
            rows.append(row(t0 + HOUR, "Subscription Fee", -fee))
        rows.append(row(t1 - 1, "Current Reserve Amount", -self._reserve(k)))
        return rows

    def _reserve(self, k: int) -> int:
        """Funds Amazon holds back at the end of period k and releases in period k+1."""
        return self.money(2000 + mix64(self._key ^ (k + 0xE5E)) % 10_000)

    def _row(self, posted: int, amount: int, base: dict[str, str], amount_type: str,
             description: str, promotion: str) -> Row:  # fmt: skip
        values = {**base, "amount-type": amount_type, "amount-description": description,
                  "amount": self.report_amount(amount), "promotion-id": promotion}  # fmt: skip
        return Row(posted, amount, values)

    def settlement_text(self, k: int) -> str:
        """Settlement k as a Flat File V2: header, summary row, one row per amount."""
        s = self.settlement(k)
        fmt = self.market.settlement_date_format

        def stamp(ts: int) -> str:
            return time.strftime(fmt, time.gmtime(ts))

        summary = {"settlement-id": s.settlement_id, "settlement-start-date": stamp(s.start),
                   "settlement-end-date": stamp(s.end), "deposit-date": stamp(s.deposit),
                   "total-amount": self.report_amount(s.total), "currency": self.currency}
        lines = ["\t".join(SETTLEMENT_COLUMNS),
                 "\t".join(summary.get(c, "") for c in SETTLEMENT_COLUMNS)]  # fmt: skip
        for row in s.rows:
            values = {"settlement-id": s.settlement_id, **row.values}
            lines.append("\t".join(values.get(c, "") for c in SETTLEMENT_COLUMNS))
        return "\n".join(lines) + "\n"

    def settlement_document(self, k: int, *, compress: bool) -> bytes:
        """The bytes a presigned link serves for settlement k (gzip when flagged)."""
        body = self.settlement_text(k).encode(self.config.document_encoding)
        return gzip.compress(body, mtime=0) if compress else body
