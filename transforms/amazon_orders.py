"""Amazon SP-API order (Orders v0 JSON with its `OrderItems`) -> ledger documents.

Amazon collects the money and pays it out in settlements, so a charged order debits the
Amazon clearing account (`accounts.clearing_for(["amazon"])`) with what the buyer pays; the
settlement transform later credits exactly those Order rows (principal, tax, shipping,
promotions) back out of it, so the clearing account empties when both are posted.

Money objects are `{"CurrencyCode", "Amount"}` with a decimal string Amount. Per item:

    paid = ItemPrice + ItemTax + ShippingPrice + ShippingTax + GiftWrapPrice + GiftWrapTax
           + CODFee − PromotionDiscount − PromotionDiscountTax − ShippingDiscount
           − ShippingDiscountTax − CODFeeDiscount

and OrderTotal, when Amazon sends it, must equal Σ paid (else DataMappingError). ItemPrice
is the price of the whole quantity. Pending orders (no money yet) and cancelled ones have an
empty journal. Prices are taken as exclusive of tax, as US marketplaces send them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, amount_to_minor, format_minor, normalize_currency
from transforms.documents import (
    CustomerDoc,
    JournalDraft,
    OrderDocuments,
    PostingAccounts,
    SalesOrderDoc,
    SalesOrderLineDoc,
    lines_from_net,
)

# Amazon has charged, or will charge on shipment: the sale belongs on the books.
CHARGED_STATUSES = frozenset({"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"})
# No money yet (Amazon shows no prices while the payment is pending).
PENDING_STATUSES = frozenset({"Pending", "PendingAvailability"})
VOID_STATUSES = frozenset({"Canceled", "Unfulfillable"})
KNOWN_STATUSES = CHARGED_STATUSES | PENDING_STATUSES | VOID_STATUSES

# Currencies of the marketplaces, for orders that carry no money at all (Pending).
MARKETPLACE_CURRENCIES = {
    "ATVPDKIKX0DER": "USD", "A2EUQ1WTGCTBG2": "CAD", "A1AM78C64UM0Y8": "MXN",
    "A2Q3Y263D00KWC": "BRL", "A1F83G8C2ARO7P": "GBP", "A1PA6795UKMFR9": "EUR",
    "A13V1IB3VIYZZH": "EUR", "APJ6JRA9NG5V4": "EUR", "A1RKKUPIHCS9HS": "EUR",
    "A1805IZSGTT6HS": "EUR", "AMEN7PMS3EDWL": "EUR", "A2NODRKZP88ZB9": "SEK",
    "A1C3SOZRARQ6R3": "PLN", "A33AVAJ2PDY3EV": "TRY", "A2VIGQ35RCS4UG": "AED",
    "A21TJRUUN4KGV": "INR", "ARBP9OOSHTCHU": "EGP", "A17E79C6D8DWNP": "SAR",
    "A1VC38T7YXB528": "JPY", "A39IBJ37TRP1C6": "AUD", "A19VAU5U5O7RUS": "SGD",
}  # fmt: skip

_ADDED = ("ItemPrice", "ItemTax", "ShippingPrice", "ShippingTax", "GiftWrapPrice",
          "GiftWrapTax", "CODFee")  # fmt: skip
_TAKEN = ("PromotionDiscount", "PromotionDiscountTax", "ShippingDiscount",
          "ShippingDiscountTax", "CODFeeDiscount")  # fmt: skip

_Order = dict[str, Any]


def order_to_documents(order: _Order, accounts: PostingAccounts) -> OrderDocuments:
    """Map one Amazon order (with `OrderItems`) to its customer, sales order and journal.

    Raises DataMappingError naming the order and the field for anything unmappable.
    """
    if type(order) is not dict:
        raise DataMappingError(f"Amazon order must be a JSON object, got {type(order).__name__}")
    external_id = order.get("AmazonOrderId")
    if not isinstance(external_id, str) or not external_id.strip():
        raise _error(order, "AmazonOrderId", "missing")
    status = order.get("OrderStatus")
    if status not in KNOWN_STATUSES:
        raise _error(order, "OrderStatus", f"unknown order status {status!r}")
    items = order.get("OrderItems")
    if type(items) is not list or any(type(i) is not dict for i in items):
        raise _error(order, "OrderItems", "expected the list of order items (getOrderItems)")
    currency = _currency(order, items)

    def money(holder: dict[str, Any], key: str, where: str) -> int:
        return _money(holder.get(key), currency, order, f"{where}.{key}", key in _TAKEN)

    # -- items --
    lines: list[SalesOrderLineDoc] = []
    sums = dict.fromkeys(_ADDED + _TAKEN, 0)
    for index, item in enumerate(items):
        where = f"OrderItems[{index}]"
        quantity = item.get("QuantityOrdered")
        if type(quantity) is not int or quantity < 0:
            raise _error(order, f"{where}.QuantityOrdered", f"not a whole number: {quantity!r}")
        amounts = {key: money(item, key, where) for key in _ADDED + _TAKEN}
        for key in _TAKEN:
            # Discounts are positive in the US payloads; a marketplace that signs them
            # negative means the same reduction (OrderTotal below proves the reading).
            amounts[key] = abs(amounts[key])
        for key, value in amounts.items():
            sums[key] += value
        price, promotion = amounts["ItemPrice"], amounts["PromotionDiscount"]
        tax = amounts["ItemTax"] - amounts["PromotionDiscountTax"]
        item_id = item.get("OrderItemId")
        if not isinstance(item_id, str) or not item_id:
            raise _error(order, f"{where}.OrderItemId", "missing")
        lines.append(SalesOrderLineDoc(
            line_no=index + 1,
            external_id=item_id,
            sku=item.get("SellerSKU") or None,
            name=item.get("Title"),
            quantity=quantity,
            unit_price_minor=_unit_price(price, quantity),
            discount_minor=promotion,
            tax_minor=tax,
            total_minor=price - promotion + tax,
            product_external_id=item.get("ASIN") or None,
            variant_external_id=None,
        ))  # fmt: skip

    sales = sums["ItemPrice"] + sums["GiftWrapPrice"]
    shipping = sums["ShippingPrice"]
    discounts = sums["PromotionDiscount"] + sums["ShippingDiscount"]
    tax = (sums["ItemTax"] + sums["ShippingTax"] + sums["GiftWrapTax"]
           - sums["PromotionDiscountTax"] - sums["ShippingDiscountTax"])  # fmt: skip
    fees = sums["CODFee"] - sums["CODFeeDiscount"]
    total = sales + shipping + tax + fees - discounts
    stated = order.get("OrderTotal")
    if stated is not None:
        if type(stated) is not dict:
            raise _error(order, "OrderTotal", "expected a Money object")
        stated_total = _money(stated, currency, order, "OrderTotal")
        if stated_total != total:
            raise _error(order, "OrderTotal", (
                f"{_fmt(stated_total, currency)} does not reconcile with its items "
                f"{_fmt(total, currency)} (items {_fmt(sales, currency)} + shipping "
                f"{_fmt(shipping, currency)} + tax {_fmt(tax, currency)} + fees "
                f"{_fmt(fees, currency)} − discounts {_fmt(discounts, currency)})"
            ))  # fmt: skip
    elif status in CHARGED_STATUSES:
        raise _error(order, "OrderTotal", f"missing on a {status} order")

    charged = status in CHARGED_STATUSES
    order_date = _datetime(order, "PurchaseDate")
    customer = _customer(order)
    sales_order = SalesOrderDoc(
        external_id=external_id,
        order_number=order.get("SellerOrderId") or external_id,
        order_date=order_date,
        currency=currency,
        financial_status="paid" if charged else ("pending" if status in PENDING_STATUSES
                                                 else "voided"),  # fmt: skip
        fulfillment_status={"Shipped": "fulfilled", "PartiallyShipped": "partial"}.get(
            status, "unfulfilled"),  # fmt: skip
        status="cancelled" if status in VOID_STATUSES else "open",
        subtotal_minor=sales - sums["PromotionDiscount"],
        discount_minor=discounts,
        shipping_minor=shipping - sums["ShippingDiscount"],
        tax_minor=tax,
        total_minor=total,
        refunded_minor=0,  # Amazon reports refunds in settlements, not on the order
        outstanding_minor=0,
        taxes_included=False,
        source_updated_at=(
            _datetime(order, "LastUpdateDate") if order.get("LastUpdateDate") else None
        ),
        customer_external_id=customer.external_id if customer is not None else None,
        lines=tuple(lines),
    )

    net: dict[str, int] = {}
    if charged:
        def post(account: str, amount: int) -> None:
            net[account] = net.get(account, 0) + amount

        post(accounts.clearing_for(["amazon"]), total)
        post(accounts.sales_account, -sales)
        post(accounts.shipping_account, -shipping)
        post(accounts.tax_account, -tax)
        post(accounts.other_income_account, -fees)
        post(accounts.discount_account, discounts)
    label = external_id
    journal = JournalDraft(order_date.date(), currency, f"Amazon order {label}",
                           lines_from_net(net, f"Amazon order {label}"))  # fmt: skip
    debits, credits = journal.totals()
    if debits != credits:  # unreachable: total is the sum of its parts; the last guard
        raise _error(order, "journal", f"does not balance: debits {debits} != credits {credits}")
    return OrderDocuments(customer, sales_order, journal)


def _unit_price(price: int, quantity: int) -> int:
    if quantity <= 0:
        return price
    whole, rest = divmod(price, quantity)
    # Exact whenever Amazon's ItemPrice is quantity × unit; else half up (shown, not posted).
    return whole + (1 if 2 * rest >= quantity else 0)


def _currency(order: _Order, items: list[dict[str, Any]]) -> str:
    found: set[str] = set()
    candidates = [order.get("OrderTotal")] + [item.get(key) for item in items
                                              for key in _ADDED + _TAKEN]  # fmt: skip
    for money in candidates:
        if type(money) is dict and money.get("CurrencyCode") is not None:
            found.add(str(money["CurrencyCode"]).strip().upper())
    if len(found) > 1:
        raise _error(order, "CurrencyCode", f"mixes currencies {sorted(found)}")
    code = next(iter(found), None) or MARKETPLACE_CURRENCIES.get(str(order.get("MarketplaceId")))
    if code is None:
        raise _error(order, "CurrencyCode", "no money and an unknown MarketplaceId")
    try:
        return normalize_currency(code)
    except MoneyError:
        raise _error(order, "CurrencyCode", f"unknown currency {code!r}") from None


def _money(value: Any, currency: str, order: _Order, where: str, signed: bool = False) -> int:
    """Minor units of a Money object; absent means zero (Amazon omits unused charges)."""
    if value is None:
        return 0
    if type(value) is not dict:
        raise _error(order, where, f"expected a Money object, got {value!r}")
    amount = value.get("Amount")
    if amount is None or amount == "":
        return 0
    try:
        minor = amount_to_minor(amount, currency)
    except MoneyError as exc:
        raise _error(order, where, str(exc)) from None
    if minor < 0 and not signed:
        raise _error(order, where, f"negative amount {amount!r}")
    return minor


def _customer(order: _Order) -> CustomerDoc | None:
    """The buyer when Amazon shares an email (its anonymised relay address is stable per
    buyer and seller, so it serves as the id); None when BuyerInfo is withheld."""
    info = order.get("BuyerInfo")
    email = info.get("BuyerEmail") if type(info) is dict else None
    if not isinstance(email, str) or "@" not in email:
        return None
    name = info.get("BuyerName") if isinstance(info.get("BuyerName"), str) else None
    first, _, last = (name or "").strip().partition(" ")
    return CustomerDoc(email.strip().lower(), email.strip(), first or None, last.strip() or None,
                       name.strip() if name and name.strip() else None)  # fmt: skip


def _datetime(order: _Order, key: str) -> datetime:
    value = order.get(key)
    if type(value) is not str:
        raise _error(order, key, f"missing timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _error(order, key, f"not an ISO 8601 timestamp: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _fmt(minor: int, currency: str) -> str:
    return f"{format_minor(minor, currency)} {currency}"


def _error(order: Any, where: str, problem: str) -> DataMappingError:
    ref = str(order.get("AmazonOrderId") or "?") if type(order) is dict else "?"
    return DataMappingError(f"Amazon order {ref}: {where}: {problem}",
                            details={"order": ref, "field": where})  # fmt: skip
