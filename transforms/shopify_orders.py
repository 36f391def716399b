"""Shopify order (an Admin GraphQL node shaped by ORDERS_QUERY) -> ledger documents.

Money is read from MoneyBag.shopMoney only (the shop currency = the order's currencyCode);
presentment money is ignored. Every amount becomes integer minor units via bigledger.money.
The journal states the cumulative position the books should hold for the order; the loader
posts differences, so a refund or cancellation arriving later becomes an adjustment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, amount_to_minor, format_minor, normalize_currency
from transforms.documents import (
    CustomerDoc,
    JournalDraft,
    JournalLineDraft,
    OrderDocuments,
    PostingAccounts,
    SalesOrderDoc,
    SalesOrderLineDoc,
)

# Cancelled with one of these statuses means no money ever changed hands, so nothing
# belongs on the books; any other cancelled order keeps its sale and its refunds offset it.
UNCAPTURED_STATUSES = frozenset({"VOIDED", "PENDING", "AUTHORIZED", "EXPIRED"})


_Order = dict[str, Any]


@dataclass(slots=True)
class _Sums:
    """The order's components in minor units, as the payload states them."""

    line_gross: int = 0          # Σ originalUnitPrice × quantity
    line_discounts: int = 0      # Σ line discountAllocations
    shipping_original: int = 0   # Σ shippingLines.originalPrice
    shipping_charged: int = 0    # Σ shippingLines.discountedPrice
    shipping_tax: int = 0        # Σ shippingLines.taxLines (S)
    tax: int = 0                 # Σ order-level taxLines (T)
    refunded: int = 0            # Σ refunds.totalRefunded
    total: int = 0               # totalPrice
    outstanding: int = 0         # totalOutstanding (negative when overpaid)


def order_to_documents(order: _Order, accounts: PostingAccounts) -> OrderDocuments:
    """Map one Shopify order node to its customer, sales order and journal draft.

    Raises DataMappingError naming the order and the field for anything unmappable.
    """
    if type(order) is not dict:
        raise DataMappingError(
            f"Shopify order must be a JSON object, got {type(order).__name__}"
        )
    currency = _currency(order)
    taxes_included = order.get("taxesIncluded")
    if type(taxes_included) is not bool:
        raise _error(order, "taxesIncluded", f"must be true or false, got {taxes_included!r}")

    sums = _Sums()
    lines = _read_line_items(order, currency, taxes_included, sums)
    _read_shipping_lines(order, currency, sums)
    taxes = _read_tax_lines(order, currency, sums)
    refunds = _read_refunds(order, currency, sums)
    _reconcile(order, currency, taxes_included, sums)

    external_id = _order_id(order)
    name = order.get("name") or None
    label = name or external_id
    financial = order.get("displayFinancialStatus")
    fulfillment = order.get("displayFulfillmentStatus")
    cancelled = order.get("cancelledAt") is not None
    order_date = _datetime(order.get("processedAt") or order.get("createdAt"), order,
                           "processedAt")
    updated = order.get("updatedAt")
    customer = _customer(order)
    sales_order = SalesOrderDoc(
        external_id=external_id,
        order_number=name,
        order_date=order_date,
        currency=currency,
        financial_status=financial.lower() if financial else None,
        fulfillment_status=fulfillment.lower() if fulfillment else None,
        status="cancelled" if cancelled else "open",
        subtotal_minor=sums.line_gross - sums.line_discounts,
        discount_minor=sums.line_discounts + sums.shipping_original - sums.shipping_charged,
        shipping_minor=sums.shipping_charged,
        tax_minor=sums.tax,
        total_minor=sums.total,
        refunded_minor=sums.refunded,
        outstanding_minor=sums.outstanding,
        taxes_included=taxes_included,
        source_updated_at=(
            _datetime(updated, order, "updatedAt") if updated is not None else None
        ),
        customer_external_id=customer.external_id if customer is not None else None,
        lines=lines,
    )

    if cancelled and financial in UNCAPTURED_STATUSES:
        journal_lines: tuple[JournalLineDraft, ...] = ()
    else:
        journal_lines = _journal_lines(
            accounts, sums, taxes, refunds, taxes_included, label,
            order.get("paymentGatewayNames") or (),
        )
    journal = JournalDraft(order_date.date(), currency, f"Shopify order {label}", journal_lines)
    debits, credits = journal.totals()
    if debits != credits:  # unreachable once totals reconcile; kept as the last guard
        raise _error(order, "journal", f"does not balance: debits {debits} != credits {credits}")
    return OrderDocuments(customer, sales_order, journal)


def _journal_lines(
    accounts: PostingAccounts,
    sums: _Sums,
    taxes: dict[str | None, list[Any]],
    refunds: list[tuple[str, int]],
    taxes_included: bool,
    label: str,
    gateways: Any,
) -> tuple[JournalLineDraft, ...]:
    """The order's cumulative position: money in (or owed) and discounts against income and
    tax, then one returns/clearing pair per refund. Zero lines are left out."""
    lines: list[JournalLineDraft] = []
    add = lines.append
    clearing = accounts.clearing_for(gateways)
    via = f" ({', '.join(gateways)})" if gateways else ""
    if taxes_included:
        # The tax inside the prices comes out of the income it is part of.
        sales = sums.line_gross - (sums.tax - sums.shipping_tax)
        shipping = sums.shipping_original - sums.shipping_tax
    else:
        sales, shipping = sums.line_gross, sums.shipping_original
    discounts = sums.line_discounts + sums.shipping_original - sums.shipping_charged
    _post(add, clearing, sums.total - sums.outstanding, f"Payment {label}{via}")
    _post(add, accounts.receivable_account, sums.outstanding, f"Receivable {label}")
    _post(add, accounts.discount_account, discounts, f"Discounts {label}")
    _post(add, accounts.sales_account, -sales, f"Sales {label}")
    _post(add, accounts.shipping_account, -shipping, f"Shipping {label}")
    for title, (amount, rate) in taxes.items():
        _post(add, accounts.tax_for(title), -amount, _tax_memo(title, rate))
    for refund_id, amount in refunds:
        memo = f"Refund {refund_id} {label}"
        _post(add, accounts.sales_returns_account, amount, memo)
        _post(add, clearing, -amount, memo)
    return tuple(lines)


def _read_line_items(
    order: _Order, currency: str, taxes_included: bool, sums: _Sums
) -> tuple[SalesOrderLineDoc, ...]:
    docs: list[SalesOrderLineDoc] = []
    for index, item in enumerate(_nodes(order, "lineItems")):
        where = f"lineItems[{index}]"
        if type(item) is not dict:
            raise _error(order, where, "must be an object")
        quantity = item.get("quantity")
        if type(quantity) is not int or quantity < 0:
            raise _error(order, f"{where}.quantity", f"must be a whole number, got {quantity!r}")
        unit = _amount(item.get("originalUnitPriceSet"), currency, order,
                       f"{where}.originalUnitPriceSet")
        discount = 0
        for allocation in item.get("discountAllocations") or ():
            discount += _amount(_get(allocation, "allocatedAmountSet"), currency, order,
                                f"{where}.discountAllocations")
        tax = 0
        for tax_line in item.get("taxLines") or ():
            tax += _amount(_get(tax_line, "priceSet"), currency, order, f"{where}.taxLines")
        gross = unit * quantity
        sums.line_gross += gross
        sums.line_discounts += discount
        docs.append(
            SalesOrderLineDoc(
                line_no=index + 1,
                external_id=_legacy_id(item.get("id"), order, f"{where}.id"),
                sku=item.get("sku") or None,
                name=item.get("name"),
                quantity=quantity,
                unit_price_minor=unit,
                discount_minor=discount,
                tax_minor=tax,
                # what the customer pays for the line: tax is inside the price or on top
                total_minor=gross - discount if taxes_included else gross - discount + tax,
                product_external_id=_optional_id(item.get("product")),
                variant_external_id=_optional_id(item.get("variant")),
            )
        )
    return tuple(docs)


def _read_shipping_lines(order: _Order, currency: str, sums: _Sums) -> None:
    for index, ship in enumerate(_nodes(order, "shippingLines")):
        where = f"shippingLines[{index}]"
        if type(ship) is not dict:
            raise _error(order, where, "must be an object")
        original = _amount(ship.get("originalPriceSet"), currency, order,
                           f"{where}.originalPriceSet")
        charged = _amount(ship.get("discountedPriceSet"), currency, order,
                          f"{where}.discountedPriceSet")
        if charged > original:
            raise _error(order, f"{where}.discountedPriceSet",
                         f"{_fmt(charged, currency)} exceeds the original price "
                         f"{_fmt(original, currency)}")
        sums.shipping_original += original
        sums.shipping_charged += charged
        for tax_line in ship.get("taxLines") or ():
            sums.shipping_tax += _amount(_get(tax_line, "priceSet"), currency, order,
                                         f"{where}.taxLines")


def _read_tax_lines(order: _Order, currency: str, sums: _Sums) -> dict[str | None, list[Any]]:
    """Order-level tax lines grouped by title: title -> [amount, rate or None]."""
    taxes: dict[str | None, list[Any]] = {}
    for index, tax_line in enumerate(order.get("taxLines") or ()):
        amount = _amount(_get(tax_line, "priceSet"), currency, order, f"taxLines[{index}]")
        sums.tax += amount
        title = tax_line.get("title")
        rate = tax_line.get("rate")
        group = taxes.get(title)
        if group is None:
            taxes[title] = [amount, rate]
        else:
            group[0] += amount
            if group[1] != rate:
                group[1] = None  # mixed rates under one title: the memo shows the title only
    return taxes


def _read_refunds(order: _Order, currency: str, sums: _Sums) -> list[tuple[str, int]]:
    """(numeric refund id, amount) per refund."""
    refunds: list[tuple[str, int]] = []
    for index, refund in enumerate(_nodes(order, "refunds")):
        where = f"refunds[{index}]"
        amount = _amount(_get(refund, "totalRefundedSet"), currency, order,
                         f"{where}.totalRefundedSet")
        sums.refunded += amount
        refunds.append((_legacy_id(refund.get("id"), order, f"{where}.id"), amount))
    return refunds


def _reconcile(order: _Order, currency: str, taxes_included: bool, sums: _Sums) -> None:
    """Read the order's totals and refuse the order unless its parts add up to them."""
    sums.total = total = _amount(order.get("totalPriceSet"), currency, order, "totalPriceSet")
    expected = sums.line_gross - sums.line_discounts + sums.shipping_charged
    if not taxes_included:
        expected += sums.tax
    if total != expected:
        raise _error(
            order, "totalPriceSet",
            f"total {_fmt(total, currency)} does not reconcile with its parts "
            f"{_fmt(expected, currency)} (lines {_fmt(sums.line_gross, currency)} - line "
            f"discounts {_fmt(sums.line_discounts, currency)} + shipping "
            f"{_fmt(sums.shipping_charged, currency)}"
            + ("" if taxes_included else f" + tax {_fmt(sums.tax, currency)}") + ")",
        )
    _check_reported(order, currency, "totalTaxSet", sums.tax, "the sum of taxLines")
    # A mismatch here means the refunds list was cut short; posting it would understate them.
    _check_reported(order, currency, "totalRefundedSet", sums.refunded, "the sum of refunds")
    sums.outstanding = _amount(order.get("totalOutstandingSet"), currency, order,
                               "totalOutstandingSet", signed=True)


def _check_reported(order: _Order, currency: str, key: str, computed: int, what: str) -> None:
    bag = order.get(key)
    if bag is not None:
        reported = _amount(bag, currency, order, key)
        if reported != computed:
            raise _error(order, key, f"{_fmt(reported, currency)} does not equal {what} "
                                     f"{_fmt(computed, currency)}")


def _post(add: Any, account: str, net_debit: int, memo: str) -> None:
    # One signed helper so an overpaid order (negative outstanding) credits receivable.
    if net_debit > 0:
        add(JournalLineDraft(account, net_debit, 0, memo))
    elif net_debit < 0:
        add(JournalLineDraft(account, 0, -net_debit, memo))


def _amount(bag: Any, currency: str, order: _Order, where: str, signed: bool = False) -> int:
    """shopMoney.amount of a MoneyBag in minor units, checked against the order currency."""
    try:
        money = bag["shopMoney"]
        amount = money["amount"]
        code = money.get("currencyCode")
    except (KeyError, TypeError, AttributeError):
        raise _error(order, where, "missing shopMoney.amount") from None
    if code != currency and code is not None:
        raise _error(order, where, f"currency {code!r} differs from the order's {currency}")
    try:
        minor = amount_to_minor(amount, currency)
    except MoneyError as exc:
        raise _error(order, where, str(exc)) from None
    if minor < 0 and not signed:
        raise _error(order, where, f"negative amount {amount!r}")
    return minor


def _currency(order: _Order) -> str:
    code = order.get("currencyCode")
    try:
        return normalize_currency(code)
    except MoneyError:
        raise _error(order, "currencyCode", f"unknown currency {code!r}") from None


def _nodes(order: _Order, key: str) -> list[Any]:
    """A connection's nodes (or a plain list, as refunds and bulk exports give them)."""
    value = order.get(key)
    if type(value) is dict:
        value = value.get("nodes")
    if value is None:
        return []
    if type(value) is not list:
        raise _error(order, key, f"expected a list of nodes, got {type(value).__name__}")
    return value


def _get(node: Any, key: str) -> Any:
    return node.get(key) if type(node) is dict else None


def _legacy_id(gid: Any, order: _Order, where: str) -> str:
    # "gid://shopify/LineItem/111" -> "111": the numeric id REST webhooks and the admin use.
    if type(gid) is str:
        tail = gid.rpartition("/")[2].partition("?")[0]
        if tail:
            return tail
    raise _error(order, where, f"not a Shopify id: {gid!r}")


def _optional_id(ref: Any) -> str | None:
    if type(ref) is dict:
        gid = ref.get("id")
        if type(gid) is str:
            return gid.rpartition("/")[2].partition("?")[0] or None
    return None


def _order_id(order: _Order) -> str:
    legacy = order.get("legacyResourceId")
    if legacy is not None and type(legacy) in (str, int) and str(legacy).isdigit():
        return str(legacy)
    return _legacy_id(order.get("id"), order, "legacyResourceId")


def _customer(order: _Order) -> CustomerDoc | None:
    node = order.get("customer")
    if not node:
        return None
    if type(node) is not dict:
        raise _error(order, "customer", "must be an object")
    first = node.get("firstName") or None
    last = node.get("lastName") or None
    full = f"{first} {last}" if first and last else first or last
    return CustomerDoc(
        _legacy_id(node.get("id"), order, "customer.id"),
        # A customer without an email of their own is still reachable at the order's.
        node.get("email") or order.get("email") or None,
        first,
        last,
        full,
    )


def _datetime(value: Any, order: _Order, where: str) -> datetime:
    if type(value) is not str:
        raise _error(order, where, f"missing timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _error(order, where, f"not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is UTC:  # "...Z", the only form Shopify sends
        return parsed
    if parsed.utcoffset() is None:
        # A naive time could be any zone; guessing would shift entries across days.
        raise _error(order, where, f"timestamp without a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def _tax_memo(title: str | None, rate: Any) -> str:
    name = title or "Tax"
    if rate is None or isinstance(rate, bool):
        return name
    try:
        # Through str() so a float rate (0.06) prints as 6, not 6.000000000000001.
        percent = (Decimal(str(rate)) * 100).normalize()
    except ArithmeticError:
        return name
    return f"{name} {percent:f}%"


def _fmt(minor: int, currency: str) -> str:
    return f"{format_minor(minor, currency)} {currency}"


def _error(order: Any, where: str, problem: str) -> DataMappingError:
    ref = "?"
    if type(order) is dict:
        name = order.get("name")
        gid = order.get("id") or order.get("legacyResourceId")
        ref = f"{name} ({gid})" if name and gid else str(name or gid or "?")
    return DataMappingError(
        f"Shopify order {ref}: {where}: {problem}",
        details={"order": ref, "field": where},
    )
