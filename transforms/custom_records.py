"""Mapped custom-connector records -> ledger documents (pure).

A record here is the output of `ConnectorDefinition.map_record`: target field names
(connectors.custom.TARGET_FIELDS) to values picked by JSONPath. Amounts may be decimal strings,
integers or Decimal (never float); they become integer minor units of the record's currency
(`currency` mapped, else `default_currency`).

Orders: the total is exact. With items mapped, sales is Σ item totals; when tax, shipping and
discount are all mapped the total must reconcile (total = items + shipping + tax − discount),
otherwise what the total holds beyond the mapped parts is credited to other income
("unitemised charges", e.g. the spec's example, which maps no tax or shipping) and a shortfall
is a discount. Without items, sales is the total less shipping and tax plus discount.
An item is an object with `sku`, `name`/`description`,
`quantity`/`qty`, `price`/`unit_price`/`unitPrice` and optionally `total`/`amount`. The
journal debits the clearing account for a paid order (status paid/completed/settled/closed)
and receivables otherwise; a cancelled/void order has an empty journal. Without a mapped
orderDate the caller's `default_date` is used (a DataMappingError when neither exists).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, amount_to_minor, normalize_currency, to_decimal
from transforms.documents import (
    CustomerDoc,
    JournalDraft,
    OrderDocuments,
    PaymentAccounts,
    PaymentDoc,
    PostingAccounts,
    ProductDoc,
    SalesOrderDoc,
    SalesOrderLineDoc,
    VariantDoc,
    lines_from_net,
)

PAID = frozenset({"paid", "completed", "complete", "settled", "closed", "fulfilled"})
VOID = frozenset({"cancelled", "canceled", "void", "voided", "deleted", "failed"})
_PAYMENT_KINDS = frozenset({"charge", "refund", "dispute", "dispute_reversal", "fee", "payout",
                            "payout_reversal", "hold", "release", "adjustment", "transfer",
                            "other"})  # fmt: skip

Record = dict[str, Any]


def record_to_documents(
    target: str, record: Record, *, accounts: PostingAccounts | PaymentAccounts | None = None,
    default_currency: str = "USD", default_date: datetime | None = None, source: str = "custom",
) -> Any:  # fmt: skip
    """Dispatch on the target type: order -> OrderDocuments, customer -> CustomerDoc,
    product -> ProductDoc, payment -> PaymentDoc."""
    if target == "order":
        if not isinstance(accounts, PostingAccounts):
            raise TypeError("an order needs PostingAccounts")
        return order_to_documents(record, accounts, default_currency=default_currency,
                                  default_date=default_date, source=source)  # fmt: skip
    if target == "customer":
        return customer_to_document(record)
    if target == "product":
        return product_to_document(record, default_currency=default_currency)
    if target == "payment":
        if not isinstance(accounts, PaymentAccounts):
            raise TypeError("a payment needs PaymentAccounts")
        return payment_to_document(record, accounts, default_currency=default_currency,
                                   default_date=default_date)  # fmt: skip
    raise DataMappingError(f"unknown target type {target!r}", details={"field": "target"})


# ---- orders ------------------------------------------------------------------------------


def order_to_documents(
    record: Record, accounts: PostingAccounts, *, default_currency: str = "USD",
    default_date: datetime | None = None, source: str = "custom",
) -> OrderDocuments:  # fmt: skip
    """One mapped order -> its customer, sales order and balanced journal draft."""
    _object(record, "order")
    order_id = _text(record, "orderId", "order", required=True)
    assert order_id is not None
    ref = f"order {order_id}"
    currency = _currency(record, default_currency, ref)
    total = _money(record, "total", currency, ref, required=True)
    tax = _money(record, "tax", currency, ref)
    shipping = _money(record, "shipping", currency, ref)
    discount = _money(record, "discount", currency, ref)
    lines = _order_lines(record, currency, ref)
    other = 0  # charges the record states only inside its total (tax or shipping not mapped)
    if lines:
        sales = sum(line.total_minor for line in lines)
        remainder = total - (sales + shipping + tax - discount)
        if remainder and all(key in record for key in ("tax", "shipping", "discount")):
            raise _error(ref, "total", f"total {total} does not reconcile with items {sales} + "
                         f"shipping {shipping} + tax {tax} - discount {discount} "
                         f"(minor units)")  # fmt: skip
        if remainder > 0:
            other = remainder
        elif remainder < 0:
            discount -= remainder  # the items cost more than the total: an unmapped discount
    else:
        sales = total - shipping - tax + discount
        if sales < 0:
            raise _error(ref, "total", "total is less than shipping and tax")
    status = str(record.get("status") or "").strip().lower()
    void = status in VOID
    paid = status in PAID
    outstanding = 0 if paid or void else total
    order_date = _datetime(record, "orderDate", ref, default_date)
    label = str(record.get("orderNumber") or order_id)
    customer = _order_customer(record, ref)
    sales_order = SalesOrderDoc(
        external_id=order_id,
        order_number=str(record["orderNumber"]) if record.get("orderNumber") else None,
        order_date=order_date,
        currency=currency,
        financial_status="voided" if void else ("paid" if paid else "pending"),
        fulfillment_status=None,
        status="cancelled" if void else "open",
        subtotal_minor=sales,
        discount_minor=discount,
        shipping_minor=shipping,
        tax_minor=tax,
        total_minor=total,
        refunded_minor=0,
        outstanding_minor=outstanding,
        taxes_included=False,
        source_updated_at=_datetime(record, "updatedAt", ref, None, optional=True),
        customer_external_id=customer.external_id if customer else None,
        lines=tuple(lines),
    )
    net: dict[str, int] = {}
    if not void:
        debit = accounts.receivable_account if outstanding else accounts.clearing_for(
            [str(record["paymentMethod"])] if record.get("paymentMethod") else [])
        for account, amount in ((debit, total), (accounts.discount_account, discount),
                                (accounts.sales_account, -sales),
                                (accounts.shipping_account, -shipping),
                                (accounts.tax_account, -tax),
                                (accounts.other_income_account, -other)):  # fmt: skip
            net[account] = net.get(account, 0) + amount
    journal = JournalDraft(order_date.date(), currency, f"{source} order {label}",
                           lines_from_net(net, f"{source} order {label}"))  # fmt: skip
    if not journal.is_balanced():  # unreachable: the nets sum to zero by construction
        raise _error(ref, "journal", "does not balance")
    return OrderDocuments(customer, sales_order, journal)


def _order_lines(record: Record, currency: str, ref: str) -> list[SalesOrderLineDoc]:
    items = record.get("items")
    if items is None:
        return []
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise _error(ref, "items", f"expected a list of items, got {type(items).__name__}")
    lines = []
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            raise _error(ref, where, "expected an object")
        quantity = _first(item, "quantity", "qty", "qtyOrdered")
        if type(quantity) is str and quantity.strip().isdigit():
            quantity = int(quantity)
        if type(quantity) is Decimal and quantity == quantity.to_integral_value():
            quantity = int(quantity)
        if type(quantity) is not int or quantity < 0:
            raise _error(ref, f"{where}.quantity", f"must be a whole number, got {quantity!r}")
        price_raw = _first(item, "price", "unit_price", "unitPrice")
        total_raw = _first(item, "total", "amount", "line_total", "lineTotal")
        if price_raw is None and total_raw is None:
            raise _error(ref, f"{where}.price", "missing price")
        try:
            price = amount_to_minor(price_raw, currency) if price_raw is not None else None
            line_total = (amount_to_minor(total_raw, currency) if total_raw is not None
                          else amount_to_minor(to_decimal(price_raw) * quantity, currency))
        except MoneyError as exc:
            raise _error(ref, where, str(exc)) from None
        if price is None:
            price = line_total // quantity if quantity else line_total
        sku = _first(item, "sku", "item_code", "code")
        lines.append(SalesOrderLineDoc(
            line_no=index + 1,
            external_id=str(_first(item, "id", "line_id") or index + 1),
            sku=str(sku) if sku is not None else None,
            name=_opt_str(_first(item, "name", "description", "title")),
            quantity=quantity,
            unit_price_minor=price,
            discount_minor=max(0, price * quantity - line_total),
            tax_minor=0,
            total_minor=line_total,
            product_external_id=str(sku) if sku is not None else None,
            variant_external_id=None,
        ))  # fmt: skip
    return lines


def _order_customer(record: Record, ref: str) -> CustomerDoc | None:
    email = _opt_str(record.get("customerEmail"))
    name = _opt_str(record.get("customerName"))
    first = _opt_str(record.get("customerFirstName"))
    last = _opt_str(record.get("customerLastName"))
    if name is None and (first or last):
        name = " ".join(p for p in (first, last) if p)
    external = _opt_str(record.get("customerId"))
    # Without an id, the email (else the name) identifies the customer, stable across syncs.
    external = external or (email.lower() if email else None) or (name if name else None)
    if external is None:
        return None
    return CustomerDoc(external, email, first, last, name)


# ---- customers, products, payments ---------------------------------------------------


def customer_to_document(record: Record) -> CustomerDoc:
    """One mapped customer -> CustomerDoc (id: customerId, else email, else name)."""
    _object(record, "customer")
    email = _opt_str(record.get("email"))
    first = _opt_str(record.get("firstName"))
    last = _opt_str(record.get("lastName"))
    name = _opt_str(record.get("name")) or (" ".join(p for p in (first, last) if p) or None)
    external = _opt_str(record.get("customerId")) or (email.lower() if email else None) or name
    if external is None:
        raise _error("customer", "name", "a customer needs an id, a name or an email")
    return CustomerDoc(external, email, first, last, name)


def product_to_document(record: Record, *, default_currency: str = "USD") -> ProductDoc:
    """One mapped product -> ProductDoc with one VariantDoc (id: productId, else sku)."""
    _object(record, "product")
    sku = _text(record, "sku", "product", required=True)
    assert sku is not None
    external = _opt_str(record.get("productId")) or sku
    ref = f"product {external}"
    currency = _currency(record, default_currency, ref)
    price = _money(record, "price", currency, ref)
    title = _opt_str(record.get("title")) or _opt_str(record.get("name")) or sku
    status = record.get("status")
    if isinstance(status, bool):
        status = "active" if status else "archived"
    status = str(status).strip().lower() if status not in (None, "") else "active"
    variant = VariantDoc(external, sku, title, price, currency, None,
                         _opt_str(record.get("barcode")), None, None, None, 1)  # fmt: skip
    return ProductDoc(external, title, None, status, _opt_str(record.get("vendor")),
                      _opt_str(record.get("productType")), status == "active",
                      _datetime(record, "updatedAt", ref, None, optional=True),
                      (variant,))  # fmt: skip


def payment_to_document(
    record: Record, accounts: PaymentAccounts, *, default_currency: str = "USD",
    default_date: datetime | None = None,
) -> PaymentDoc:  # fmt: skip
    """One mapped payment -> PaymentDoc; amount > 0 is money in (sales), < 0 money out
    (refunds); the fee goes to the fees account; the clearing account moves by the net."""
    _object(record, "payment")
    payment_id = _text(record, "paymentId", "payment", required=True)
    assert payment_id is not None
    ref = f"payment {payment_id}"
    currency = _currency(record, default_currency, ref)
    amount = _money(record, "amount", currency, ref, required=True, signed=True)
    fee = _money(record, "fee", currency, ref, signed=True)
    kind = str(record.get("kind") or ("charge" if amount >= 0 else "refund")).lower()
    if kind not in _PAYMENT_KINDS:
        kind = "other"
    occurred = _datetime(record, "occurredAt", ref, default_date)
    counter = accounts.sales_account if amount >= 0 else accounts.refunds_account
    net = {accounts.clearing_account: amount - fee}
    net[accounts.fees_account] = net.get(accounts.fees_account, 0) + fee
    net[counter] = net.get(counter, 0) - amount
    memo = f"custom payment {payment_id}"
    journal = JournalDraft(occurred.date(), currency, memo, lines_from_net(net, memo))
    return PaymentDoc(
        external_id=payment_id, kind=kind, currency=currency, amount_minor=amount,
        fee_minor=fee, net_minor=amount - fee, occurred_at=occurred,
        status=str(record.get("status") or "completed").lower(),
        source_id=_opt_str(record.get("sourceId")), order_ref=_opt_str(record.get("orderRef")),
        payout_id=_opt_str(record.get("payoutId")),
        description=_opt_str(record.get("description")), journal=journal,
    )  # fmt: skip


# ---- helpers -----------------------------------------------------------------------------


def _object(record: Any, what: str) -> None:
    if type(record) is not dict:
        raise DataMappingError(f"a mapped {what} must be an object, got {type(record).__name__}")


def _first(item: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if item.get(key) is not None:
            return item[key]
    return None


def _opt_str(value: Any) -> str | None:
    if value is None or isinstance(value, list | dict):
        return None
    text = str(value).strip()
    return text or None


def _text(record: Record, field: str, ref: str, *, required: bool = False) -> str | None:
    value = record.get(field)
    if isinstance(value, bool) or isinstance(value, list | dict):
        raise _error(ref, field, f"expected a single value, got {value!r}")
    text = _opt_str(value)
    if text is None and required:
        raise _error(ref, field, "missing (mapped to nothing in this record)")
    return text


def _currency(record: Record, default: str, ref: str) -> str:
    code = record.get("currency") or default
    try:
        return normalize_currency(code)
    except MoneyError:
        raise _error(ref, "currency", f"unknown currency {code!r}") from None


def _money(record: Record, field: str, currency: str, ref: str, *, required: bool = False,
           signed: bool = False) -> int:  # fmt: skip
    value = record.get(field)
    if value is None or value == "":
        if required:
            raise _error(ref, field, "missing amount")
        return 0
    if isinstance(value, list):
        raise _error(ref, field, f"expected one amount, got a list of {len(value)}")
    try:
        minor = amount_to_minor(value.strip() if isinstance(value, str) else value, currency)
    except MoneyError as exc:
        raise _error(ref, field, str(exc)) from None
    if minor < 0 and not signed:
        raise _error(ref, field, f"negative amount {value!r}")
    return minor


def _datetime(record: Record, field: str, ref: str, default: datetime | None, *,
              optional: bool = False) -> datetime:  # fmt: skip
    value = record.get(field)
    if value is None or value == "":
        if default is not None:
            return default if default.tzinfo else default.replace(tzinfo=UTC)
        if optional:
            return None  # type: ignore[return-value]
        raise _error(ref, field, "not mapped (or empty) and no default date given")
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _error(ref, field, f"not an ISO 8601 date: {value!r}") from None
    else:
        raise _error(ref, field, f"not a date: {value!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _error(ref: str, field: str, problem: str) -> DataMappingError:
    return DataMappingError(f"custom {ref}: {field}: {problem}",
                            details={"record": ref, "field": field})  # fmt: skip
