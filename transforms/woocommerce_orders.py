"""WooCommerce order (REST API v3 JSON) -> ledger documents.

Same conventions as the Shopify transform: the journal states the cumulative position the
books should hold for the order, and every amount is integer minor units via
bigledger.money. WooCommerce stores line, shipping and fee totals before tax even when
`prices_include_tax` is true, so income is always credited net of tax and the tax comes
from `tax_lines` (one journal line per rate code).

The order must satisfy WooCommerce's own identity (`WC_Abstract_Order::calculate_totals`):

    total = Σ line_items.total + Σ fee_lines.total + Σ shipping_lines.total
            + Σ tax_lines.tax_total + Σ tax_lines.shipping_tax_total

where line totals are after coupon discounts (`discount_total` = Σ (subtotal − total) is
already netted out) and fee totals may be negative. Anything else is a DataMappingError.
"""

from __future__ import annotations

from datetime import UTC, datetime
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

# Awaiting payment: the customer owes the total.
RECEIVABLE_STATUSES = frozenset({"pending", "on-hold"})
# Money was taken.
PAID_STATUSES = frozenset({"processing", "completed", "refunded"})
# Nothing belongs on the books unless a payment was recorded (date_paid) or refunded.
VOID_STATUSES = frozenset({"cancelled", "failed", "trash", "checkout-draft"})


_Order = dict[str, Any]


def order_to_documents(order: _Order, accounts: PostingAccounts) -> OrderDocuments:
    """Map one WooCommerce order to its customer, sales order and journal draft.

    Raises DataMappingError naming the order and the field for anything unmappable.
    """
    if type(order) is not dict:
        raise DataMappingError(
            f"WooCommerce order must be a JSON object, got {type(order).__name__}"
        )
    external_id = _order_id(order)
    currency = _currency(order)
    included = order.get("prices_include_tax")
    if type(included) is not bool:
        raise _error(order, "prices_include_tax", f"must be true or false, got {included!r}")
    status = order.get("status")
    if status not in RECEIVABLE_STATUSES | PAID_STATUSES | VOID_STATUSES:
        raise _error(order, "status", f"unknown order status {status!r}")

    def money(value: Any, where: str, signed: bool = False) -> int:
        return _amount(value, currency, order, where, signed)

    # -- lines --
    lines: list[SalesOrderLineDoc] = []
    line_subtotal = line_total = line_tax = line_subtotal_tax = 0
    for index, item in enumerate(_list(order, "line_items")):
        where = f"line_items[{index}]"
        quantity = item.get("quantity")
        if type(quantity) is not int or quantity < 0:
            raise _error(order, f"{where}.quantity", f"must be a whole number, got {quantity!r}")
        subtotal = money(item.get("subtotal"), f"{where}.subtotal")
        subtotal_tax = money(item.get("subtotal_tax"), f"{where}.subtotal_tax")
        total = money(item.get("total"), f"{where}.total")
        tax = money(item.get("total_tax"), f"{where}.total_tax")
        line_subtotal += subtotal
        line_subtotal_tax += subtotal_tax
        line_total += total
        line_tax += tax
        # The price as the customer saw it: with its tax when the shop enters prices so.
        shown, shown_after = (
            (subtotal + subtotal_tax, total + tax) if included else (subtotal, total)
        )
        lines.append(SalesOrderLineDoc(
            line_no=index + 1,
            external_id=_id(item.get("id"), order, f"{where}.id"),
            sku=item.get("sku") or None,
            name=item.get("name"),
            quantity=quantity,
            unit_price_minor=shown // quantity if quantity and shown % quantity == 0 else (
                _round_div(shown, quantity) if quantity else shown),
            discount_minor=shown - shown_after,
            tax_minor=tax,
            total_minor=total + tax,
            product_external_id=_optional_id(item.get("product_id")),
            variant_external_id=_optional_id(item.get("variation_id")),
        ))  # fmt: skip

    # -- shipping, fees, taxes, refunds --
    shipping = shipping_line_tax = 0
    for index, ship in enumerate(_list(order, "shipping_lines")):
        shipping += money(ship.get("total"), f"shipping_lines[{index}].total")
        shipping_line_tax += money(ship.get("total_tax"), f"shipping_lines[{index}].total_tax")
    fee_income = fee_discounts = fee_tax = 0
    fee_names: list[str] = []
    for index, fee in enumerate(_list(order, "fee_lines")):
        amount = money(fee.get("total"), f"fee_lines[{index}].total", signed=True)
        fee_tax += money(fee.get("total_tax"), f"fee_lines[{index}].total_tax", signed=True)
        if amount >= 0:
            fee_income += amount
        else:
            fee_discounts -= amount
            fee_names.append(str(fee.get("name") or "fee"))
    taxes: dict[str, list[Any]] = {}  # rate code -> [amount, label]
    cart_tax = shipping_tax = 0
    for index, tax_line in enumerate(_list(order, "tax_lines")):
        where = f"tax_lines[{index}]"
        item_tax = money(tax_line.get("tax_total"), f"{where}.tax_total", signed=True)
        ship_tax = money(tax_line.get("shipping_tax_total"), f"{where}.shipping_tax_total",
                         signed=True)  # fmt: skip
        cart_tax += item_tax
        shipping_tax += ship_tax
        code = str(tax_line.get("rate_code") or tax_line.get("label") or "")
        group = taxes.setdefault(code, [0, tax_line.get("label")])
        group[0] += item_tax + ship_tax
    refunds: list[tuple[str, int]] = []
    for index, refund in enumerate(_list(order, "refunds")):
        where = f"refunds[{index}]"
        amount = -money(refund.get("total"), f"{where}.total", signed=True)
        if amount < 0:
            raise _error(order, f"{where}.total", "a refund must be negative")
        refunds.append((_id(refund.get("id"), order, f"{where}.id"), amount))
    refunded = sum(a for _, a in refunds)
    total = money(order.get("total"), "total")

    # -- reconcile with WooCommerce's identity and its reported subtotals --
    expected = line_total + (fee_income - fee_discounts) + shipping + cart_tax + shipping_tax
    if total != expected:
        raise _error(order, "total", (
            f"total {_fmt(total, currency)} does not reconcile with its parts "
            f"{_fmt(expected, currency)} (lines {_fmt(line_total, currency)} + fees "
            f"{_fmt(fee_income - fee_discounts, currency)} + shipping {_fmt(shipping, currency)}"
            f" + tax {_fmt(cart_tax, currency)} + shipping tax {_fmt(shipping_tax, currency)})"
        ))  # fmt: skip
    discount = line_subtotal - line_total
    for key, computed, what in (
        ("discount_total", discount, "the sum of line subtotals less line totals"),
        ("shipping_total", shipping, "the sum of shipping_lines"),
        ("shipping_tax", shipping_tax, "the sum of tax_lines.shipping_tax_total"),
        ("cart_tax", cart_tax, "the sum of tax_lines.tax_total"),
        ("total_tax", cart_tax + shipping_tax, "the sum of tax_lines"),
    ):
        if order.get(key) is not None and money(order.get(key), key, signed=True) != computed:
            raise _error(order, key, f"{order.get(key)} does not equal {what} "
                                     f"{_fmt(computed, currency)}")  # fmt: skip

    # -- what was paid --
    paid_recorded = bool(order.get("date_paid_gmt") or order.get("date_paid"))
    void = status in VOID_STATUSES and not paid_recorded and not refunds
    outstanding = total if status in RECEIVABLE_STATUSES else 0
    if void:
        financial = "voided"
    elif status in RECEIVABLE_STATUSES:
        financial = "pending"
    elif refunded >= total and refunded:
        financial = "refunded"
    elif refunded:
        financial = "partially_refunded"
    else:
        financial = "paid"

    label = str(order.get("number") or external_id)
    order_date = _datetime(order, "date_created_gmt")
    customer = _customer(order)
    discount_shown = discount + (line_subtotal_tax - line_tax if included else 0)
    sales_order = SalesOrderDoc(
        external_id=external_id,
        order_number=str(order["number"]) if order.get("number") is not None else None,
        order_date=order_date,
        currency=currency,
        financial_status=financial,
        fulfillment_status="fulfilled" if status == "completed" else "unfulfilled",
        status="cancelled" if status in VOID_STATUSES else "open",
        subtotal_minor=line_total + (line_tax if included else 0),
        discount_minor=discount_shown + fee_discounts,
        shipping_minor=shipping + (shipping_line_tax if included else 0),
        tax_minor=cart_tax + shipping_tax,
        total_minor=total,
        refunded_minor=refunded,
        outstanding_minor=outstanding,
        taxes_included=included,
        source_updated_at=(
            _datetime(order, "date_modified_gmt") if order.get("date_modified_gmt") else None
        ),
        customer_external_id=customer.external_id if customer is not None else None,
        lines=tuple(lines),
    )

    journal_lines: list[JournalLineDraft] = []
    if not void:
        add = journal_lines.append
        method = order.get("payment_method") or ""
        gateways = [method] if method else []
        clearing = accounts.clearing_for(gateways)
        via = f" ({method})" if method else ""
        coupons = ", ".join(str(c.get("code")) for c in _list(order, "coupon_lines")
                            if c.get("code"))  # fmt: skip
        _post(add, clearing, total - outstanding, f"Payment {label}{via}")
        _post(add, accounts.receivable_account, outstanding, f"Receivable {label}")
        _post(add, accounts.discount_account, discount,
              f"Discounts {label}" + (f" ({coupons})" if coupons else ""))  # fmt: skip
        _post(add, accounts.discount_account, fee_discounts,
              f"Discount fees {label} ({', '.join(fee_names)})")  # fmt: skip
        _post(add, accounts.sales_account, -line_subtotal, f"Sales {label}")
        _post(add, accounts.shipping_account, -shipping, f"Shipping {label}")
        _post(add, accounts.other_income_account, -fee_income, f"Fees {label}")
        for code, (amount, tax_label) in taxes.items():
            account = accounts.tax_accounts.get(code) or accounts.tax_for(tax_label)
            name = " ".join(str(p) for p in (tax_label, f"[{code}]" if code else None) if p)
            _post(add, account, -amount, f"{name or 'Tax'} {label}")
        for refund_id, amount in refunds:
            memo = f"Refund {refund_id} {label}"
            _post(add, accounts.sales_returns_account, amount, memo)
            _post(add, clearing, -amount, memo)
    journal = JournalDraft(order_date.date(), currency, f"WooCommerce order {label}",
                           tuple(journal_lines))  # fmt: skip
    debits, credits = journal.totals()
    if debits != credits:  # unreachable once the total reconciles; the last guard
        raise _error(order, "journal", f"does not balance: debits {debits} != credits {credits}")
    return OrderDocuments(customer, sales_order, journal)


def _post(add: Any, account: str, net_debit: int, memo: str) -> None:
    if net_debit > 0:
        add(JournalLineDraft(account, net_debit, 0, memo))
    elif net_debit < 0:
        add(JournalLineDraft(account, 0, -net_debit, memo))


def _round_div(amount: int, quantity: int) -> int:
    # Half away from zero on a non-negative amount: the unit price shown, not posted.
    return (2 * amount + quantity) // (2 * quantity)


def _amount(value: Any, currency: str, order: _Order, where: str, signed: bool) -> int:
    if value is None or value == "":
        raise _error(order, where, "missing amount")
    try:
        minor = amount_to_minor(value, currency)
    except MoneyError as exc:
        raise _error(order, where, str(exc)) from None
    if minor < 0 and not signed:
        raise _error(order, where, f"negative amount {value!r}")
    return minor


def _currency(order: _Order) -> str:
    code = order.get("currency")
    try:
        return normalize_currency(code)
    except MoneyError:
        raise _error(order, "currency", f"unknown currency {code!r}") from None


def _list(order: _Order, key: str) -> list[dict[str, Any]]:
    value = order.get(key)
    if value is None:
        return []
    if type(value) is not list or any(type(v) is not dict for v in value):
        raise _error(order, key, "expected a list of objects")
    return value


def _id(value: Any, order: _Order, where: str) -> str:
    if type(value) is int and value > 0:
        return str(value)
    if type(value) is str and value.isdigit():
        return value
    raise _error(order, where, f"not a WooCommerce id: {value!r}")


def _optional_id(value: Any) -> str | None:
    # 0 means "none" in WooCommerce (no variation, deleted product).
    if type(value) is int and value > 0:
        return str(value)
    return None


def _order_id(order: _Order) -> str:
    return _id(order.get("id"), order, "id")


def _customer(order: _Order) -> CustomerDoc | None:
    """The registered customer; a guest (customer_id 0) has none, as in the Shopify transform."""
    customer_id = order.get("customer_id")
    if not customer_id:
        return None
    billing = order.get("billing") if type(order.get("billing")) is dict else {}
    first = billing.get("first_name") or None
    last = billing.get("last_name") or None
    return CustomerDoc(
        _id(customer_id, order, "customer_id"),
        billing.get("email") or None,
        first,
        last,
        f"{first} {last}" if first and last else first or last,
    )


def _datetime(order: _Order, key: str) -> datetime:
    value = order.get(key)
    if type(value) is not str:
        raise _error(order, key, f"missing timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _error(order, key, f"not an ISO 8601 timestamp: {value!r}") from None
    # The *_gmt fields carry no zone but are UTC by definition.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _fmt(minor: int, currency: str) -> str:
    return f"{format_minor(minor, currency)} {currency}"


def _error(order: Any, where: str, problem: str) -> DataMappingError:
    ref = str(order.get("number") or order.get("id") or "?") if type(order) is dict else "?"
    return DataMappingError(
        f"WooCommerce order {ref}: {where}: {problem}",
        details={"order": ref, "field": where},
    )
