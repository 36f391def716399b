"""Target formats of the transform-data endpoint: a registry of pydantic v2 models.

Each format is a model with camelCase fields; nested objects are reached by dotted target
paths (`address.street`), and `lines.<field>` paths make one source row per line, grouped
into one record by the format's group key (orders: externalId or orderNumber; journal
entries: externalId or entryNumber). Money fields are Decimal major units, converted to
integer minor units only in to_documents.

to_documents turns VALID records into the ledger documents of transforms/documents.py,
each with a stable external id (the record's externalId, else a hash of its content) so a
re-load of the same rows is idempotent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, normalize_currency, round_to_minor, to_minor
from transforms.documents import (
    ContactDoc,
    InventoryLevelDoc,
    JournalDraft,
    JournalLineDraft,
    OrderDocuments,
    PostingAccounts,
    ProductDoc,
    SalesOrderDoc,
    SalesOrderLineDoc,
    SourceAccountDoc,
    VariantDoc,
    lines_from_net,
)

# --- field types ------------------------------------------------------------------------

def _currency(value: str) -> str:
    try:
        return normalize_currency(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


# A shape check, not RFC 5322: one @, a dotted domain, no spaces; one compiled regex is
# cheap at a million rows (a per-character generator was half the run time).
_EMAIL = re.compile(r"[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]+")


def _email(value: str) -> str:
    text = value.strip()
    if not _EMAIL.fullmatch(text):
        raise ValueError(f"not an email address: {value!r}")
    return text.lower()


def _no_float(value: Any) -> Any:
    # A float has already lost exactness; the transforms never produce one.
    if isinstance(value, float):
        raise ValueError("amounts must be exact (a decimal string), not a float")
    return value


Currency = Annotated[str, AfterValidator(_currency)]
Email = Annotated[str, AfterValidator(_email)]
Money = Annotated[Decimal, BeforeValidator(_no_float), Field(allow_inf_nan=False)]
NonNegativeMoney = Annotated[Money, Field(ge=0)]

_CLASSIFICATIONS = {
    "asset": "asset", "assets": "asset",
    "liability": "liability", "liabilities": "liability",
    "equity": "equity",
    "income": "income", "revenue": "income", "other income": "income",
    "expense": "expense", "expenses": "expense", "cost of sales": "expense",
    "cost of goods sold": "expense",
}  # fmt: skip


def _classification(value: str) -> str:
    key = value.strip().lower()
    if key not in _CLASSIFICATIONS:
        raise ValueError(
            f"unknown account type {value!r}; use asset, liability, equity, income or expense"
        )
    return _CLASSIFICATIONS[key]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- customers and vendors ----------------------------------------------------------------


class Address(_Model):
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    region: str | None = None
    postalCode: str | None = None
    country: str | None = None


class Customer(_Model):
    """bigledger_customer: one customer per row."""

    externalId: str | None = None
    name: str = Field(min_length=1)
    companyName: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    email: Email | None = None
    phone: str | None = None
    address: Address | None = None
    shippingAddress: Address | None = None
    creditLimit: NonNegativeMoney | None = None
    balance: Money | None = None
    currency: Currency | None = None
    paymentTerms: str | None = None
    taxNumber: str | None = None
    active: bool = True
    notes: str | None = None

    @model_validator(mode="after")
    def _money_needs_currency(self) -> Customer:
        if self.balance is not None and self.currency is None:
            raise ValueError("balance needs a currency")
        return self


class Vendor(Customer):
    """bigledger_vendor: one supplier per row (same fields as a customer)."""


# --- products -------------------------------------------------------------------------------


class Product(_Model):
    """bigledger_product: one sellable product (a single variant) per row."""

    externalId: str | None = None
    sku: str | None = None
    name: str = Field(min_length=1)
    description: str | None = None
    price: NonNegativeMoney
    currency: Currency
    compareAtPrice: NonNegativeMoney | None = None
    cost: NonNegativeMoney | None = None
    barcode: str | None = None
    quantity: int | None = None
    location: str | None = None
    weight: Annotated[Decimal, BeforeValidator(_no_float), Field(ge=0)] | None = None
    weightUnit: Literal["GRAMS", "KILOGRAMS", "OUNCES", "POUNDS"] | None = None
    category: str | None = None
    vendor: str | None = None
    status: Literal["active", "draft", "archived"] = "active"


# --- orders -------------------------------------------------------------------------------


class OrderCustomer(_Model):
    externalId: str | None = None
    name: str | None = None
    email: Email | None = None


class OrderLine(_Model):
    externalId: str | None = None
    sku: str | None = None
    name: str | None = None
    quantity: int = Field(gt=0)
    unitPrice: NonNegativeMoney
    discount: NonNegativeMoney = Decimal(0)
    tax: NonNegativeMoney = Decimal(0)


class Order(_Model):
    """bigledger_order: lines come one row per line (grouped by externalId or orderNumber)
    or as a JSON array in one column (transform `json`).

    total, when given, must equal Σ(quantity × unitPrice − discount) − discount + shipping
    (+ line and order tax unless taxesIncluded).
    """

    externalId: str | None = None
    orderNumber: str | None = None
    orderDate: date | datetime
    currency: Currency
    status: Literal["open", "cancelled"] = "open"
    financialStatus: Literal["pending", "paid"] = "pending"
    customer: OrderCustomer | None = None
    lines: list[OrderLine] = Field(min_length=1)
    shipping: NonNegativeMoney = Decimal(0)
    tax: NonNegativeMoney = Decimal(0)
    discount: NonNegativeMoney = Decimal(0)
    taxesIncluded: bool = False
    total: Money | None = None
    memo: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Order:
        if not (self.externalId or self.orderNumber):
            raise ValueError("an order needs an externalId or an orderNumber")
        parts = order_parts(self)  # raises ValueError for amounts finer than the currency
        if self.total is not None:
            given = _minor(self.total, self.currency, "total")
            if given != parts["total"]:
                raise ValueError(
                    f"total {self.total} does not equal its lines, shipping, tax and "
                    f"discount ({Decimal(parts['total']).scaleb(-_exp(self.currency))})"
                )
        return self


# --- chart of accounts and journal entries ------------------------------------------------------


class Account(_Model):
    """bigledger_account: one account of a chart per row."""

    externalId: str | None = None
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    type: Annotated[str, AfterValidator(_classification)]
    subtype: str | None = None
    parentCode: str | None = None
    currency: Currency | None = None
    description: str | None = None
    active: bool = True
    standardAccountId: str | None = None


class JournalLine(_Model):
    account: str = Field(min_length=1)
    debit: NonNegativeMoney | None = None
    credit: NonNegativeMoney | None = None
    memo: str | None = None

    @model_validator(mode="after")
    def _one_side(self) -> JournalLine:
        debit, credit = self.debit or 0, self.credit or 0
        if (debit > 0) == (credit > 0):
            raise ValueError("exactly one of debit and credit must be positive")
        return self


class JournalEntry(_Model):
    """bigledger_journal_entry: rows are lines grouped by externalId or entryNumber; the
    entry must balance (Σ debit == Σ credit, to the minor unit) or it is a row error."""

    externalId: str | None = None
    entryNumber: str | None = None
    date: date
    memo: str | None = None
    reference: str | None = None
    currency: Currency
    lines: list[JournalLine] = Field(min_length=2)

    @model_validator(mode="after")
    def _balance(self) -> JournalEntry:
        if not (self.externalId or self.entryNumber):
            raise ValueError("a journal entry needs an externalId or an entryNumber")
        debits = credits = 0
        for index, line in enumerate(self.lines):
            debits += _minor(line.debit or 0, self.currency, f"lines[{index}].debit")
            credits += _minor(line.credit or 0, self.currency, f"lines[{index}].credit")
        if debits != credits:
            exp = _exp(self.currency)
            raise ValueError(
                f"does not balance: debits {Decimal(debits).scaleb(-exp)} != credits "
                f"{Decimal(credits).scaleb(-exp)} {self.currency}"
            )
        return self


def _exp(currency: str) -> int:
    from bigledger.money import currency_exponent

    return currency_exponent(currency)


def _minor(amount: Any, currency: str, where: str) -> int:
    try:
        return to_minor(amount, currency)
    except MoneyError as exc:
        raise ValueError(f"{where}: {exc}") from None


def order_parts(order: Order) -> dict[str, Any]:
    """The order's amounts in minor units: goods, discounts, tax, shipping, sales, total."""
    cur = order.currency
    goods = line_discount = line_tax = 0
    lines = []
    for index, line in enumerate(order.lines):
        gross = _minor(line.unitPrice * line.quantity, cur, f"lines[{index}] quantity × unitPrice")
        disc = _minor(line.discount, cur, f"lines[{index}].discount")
        tax = _minor(line.tax, cur, f"lines[{index}].tax")
        goods, line_discount, line_tax = goods + gross, line_discount + disc, line_tax + tax
        lines.append((gross, disc, tax))
    discount = line_discount + _minor(order.discount, cur, "discount")
    tax = line_tax + _minor(order.tax, cur, "tax")
    shipping = _minor(order.shipping, cur, "shipping")
    total = goods - discount + shipping + (0 if order.taxesIncluded else tax)
    sales = goods - (tax if order.taxesIncluded else 0)
    return {"goods": goods, "discount": discount, "tax": tax, "shipping": shipping,
            "sales": sales, "total": total, "lines": lines}  # fmt: skip


# --- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetFormat:
    """A target format: its model, the object type it loads as and, for formats with
    lines, the list field and the keys that group rows into one record."""

    name: str
    model: type[BaseModel]
    object_type: str
    lines_field: str | None = None
    group_keys: tuple[str, ...] = ()
    # After externalId, the fields that identify a record across re-loads (first present).
    natural_keys: tuple[str, ...] = ()

    @property
    def adapter(self) -> TypeAdapter[list[Any]]:
        """A TypeAdapter validating a list of records in one call."""
        return _adapter(self.model)

    def paths(self) -> dict[str, bool]:
        """Every mappable target path -> whether it is required."""
        return _paths(self.model)


_ADAPTERS: dict[type[BaseModel], TypeAdapter[list[Any]]] = {}


def _adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    if model not in _ADAPTERS:
        _ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return _ADAPTERS[model]


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(model, is_list) when the annotation is a model, an optional model or a list of them."""
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if origin is list:
        inner, _ = _nested_model(get_args(annotation)[0])
        return inner, True
    for arg in get_args(annotation):
        if arg is type(None):
            continue
        inner, is_list = _nested_model(arg)
        if inner is not None:
            return inner, is_list
    return None, False


def _paths(model: type[BaseModel], prefix: str = "", required: bool = True) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        needed = required and info.is_required()
        out[path] = needed
        inner, _ = _nested_model(info.annotation)
        if inner is not None:
            out.update(_paths(inner, f"{path}.", needed))
    return out


TARGET_FORMATS: dict[str, TargetFormat] = {
    f.name: f
    for f in (
        TargetFormat("bigledger_customer", Customer, "customer", natural_keys=("email",)),
        TargetFormat("bigledger_vendor", Vendor, "vendor", natural_keys=("email",)),
        TargetFormat("bigledger_product", Product, "product", natural_keys=("sku",)),
        TargetFormat("bigledger_order", Order, "order", "lines", ("externalId", "orderNumber"),
                     ("orderNumber",)),
        TargetFormat("bigledger_account", Account, "account", natural_keys=("code",)),
        TargetFormat("bigledger_journal_entry", JournalEntry, "journal_entry", "lines",
                     ("externalId", "entryNumber"), ("entryNumber",)),
    )
}  # fmt: skip


def get_target_format(name: str) -> TargetFormat:
    """The registered format, or a DataMappingError listing the known ones."""
    try:
        return TARGET_FORMATS[name]
    except (KeyError, TypeError):
        raise DataMappingError(
            f"unknown targetFormat {name!r}; expected one of {', '.join(TARGET_FORMATS)}",
            details={"field": "targetFormat", "value": name},
        ) from None


# --- records -> ledger documents --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportedDocument:
    """One record as the loader upserts it: (object_type, external_id) is its unique key."""

    object_type: str
    external_id: str
    document: Any  # ContactDoc | ProductDoc | OrderDocuments | SourceAccountDoc | JournalDraft
    journal: JournalDraft | None = None


def record_external_id(target_format: str, record: Mapping[str, Any]) -> str:
    """The record's externalId, else its natural key (orderNumber, entryNumber, sku, code,
    email), else a hash of its content: the same record gets the same id on every load."""
    fmt = get_target_format(target_format)
    for key in ("externalId", *fmt.natural_keys):
        given = record.get(key)
        if given:
            return str(given)
    canonical = json.dumps(record, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha256(f"{target_format}\n{canonical}".encode()).hexdigest()
    return f"td_{digest[:24]}"


def to_documents(
    target_format: str,
    records: Iterable[Mapping[str, Any]],
    *,
    accounts: PostingAccounts | None = None,
) -> list[ImportedDocument]:
    """VALID records -> ImportedDocument list; orders need `accounts` for their journal."""
    fmt = get_target_format(target_format)
    builder = _BUILDERS[fmt.name]
    if fmt.name == "bigledger_order" and accounts is None:
        raise ValueError("bigledger_order needs PostingAccounts to build its journal")
    out = []
    for record in records:
        model = fmt.model.model_validate(record)
        external_id = record_external_id(fmt.name, record)
        out.append(builder(model, external_id, accounts))
    return out


def _address(address: Address | None) -> dict[str, str] | None:
    if address is None:
        return None
    mapped = {
        "line1": address.street, "line2": address.street2, "city": address.city,
        "region": address.region, "postal_code": address.postalCode, "country": address.country,
    }  # fmt: skip
    kept = {k: v for k, v in mapped.items() if v}
    return kept or None


def _contact(model: Customer, external_id: str, supplier: bool) -> ContactDoc:
    return ContactDoc(
        external_id=external_id,
        display_name=model.name,
        first_name=model.firstName,
        last_name=model.lastName,
        company_name=model.companyName,
        email=model.email,
        phone=model.phone,
        billing_address=_address(model.address),
        shipping_address=_address(model.shippingAddress),
        payment_terms=model.paymentTerms,
        currency=model.currency,
        balance_minor=(
            to_minor(model.balance, model.currency)
            if model.balance is not None and model.currency
            else None
        ),
        active=model.active,
        is_customer=not supplier,
        is_supplier=supplier,
    )


def _customer_doc(model: Any, external_id: str, _: Any) -> ImportedDocument:
    return ImportedDocument("customer", external_id, _contact(model, external_id, False))


def _vendor_doc(model: Any, external_id: str, _: Any) -> ImportedDocument:
    return ImportedDocument("vendor", external_id, _contact(model, external_id, True))


def _product_doc(model: Product, external_id: str, _: Any) -> ImportedDocument:
    inventory: tuple[InventoryLevelDoc, ...] = ()
    if model.quantity is not None:
        inventory = (InventoryLevelDoc(external_id, model.location or "default",
                                       model.quantity, None),)  # fmt: skip
    variant = VariantDoc(
        external_id=external_id,
        sku=model.sku,
        title=model.name,
        price_minor=to_minor(model.price, model.currency),
        currency=model.currency,
        compare_at_price_minor=(
            to_minor(model.compareAtPrice, model.currency) if model.compareAtPrice else None
        ),
        barcode=model.barcode,
        weight=str(model.weight) if model.weight is not None else None,
        weight_unit=model.weightUnit,
        inventory_item_external_id=external_id,
        position=1,
    )
    product = ProductDoc(
        external_id=external_id,
        title=model.name,
        handle=None,
        status=model.status,
        vendor=model.vendor,
        product_type=model.category,
        published=model.status == "active",
        source_updated_at=None,
        variants=(variant,),
        inventory=inventory,
    )
    return ImportedDocument("product", external_id, product)


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0), tzinfo=UTC)


def _order_doc(model: Order, external_id: str, accounts: PostingAccounts) -> ImportedDocument:
    cur = model.currency
    parts = order_parts(model)
    label = model.orderNumber or external_id
    lines = []
    for index, (line, (gross, disc, tax)) in enumerate(zip(model.lines, parts["lines"],
                                                           strict=True), start=1):  # fmt: skip
        lines.append(SalesOrderLineDoc(
            line_no=index,
            external_id=line.externalId or f"{external_id}:{index}",
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price_minor=round_to_minor(line.unitPrice, cur),
            discount_minor=disc,
            tax_minor=tax,
            total_minor=gross - disc + (0 if model.taxesIncluded else tax),
            product_external_id=None,
            variant_external_id=None,
        ))  # fmt: skip
    total = parts["total"]
    paid = model.financialStatus == "paid"
    cancelled = model.status == "cancelled"
    customer = None
    if model.customer is not None and (model.customer.externalId or model.customer.email):
        cid = model.customer.externalId or model.customer.email or ""
        customer = ContactDoc(cid, model.customer.name or cid, None, None, None,
                              model.customer.email, None, None, None, None, cur, None, True,
                              True, False)  # fmt: skip
    order_date = _as_datetime(model.orderDate)
    sales_order = SalesOrderDoc(
        external_id=external_id,
        order_number=model.orderNumber,
        order_date=order_date,
        currency=cur,
        financial_status=model.financialStatus,
        fulfillment_status=None,
        status=model.status,
        subtotal_minor=parts["goods"] - sum(d for _, d, _ in parts["lines"]),
        discount_minor=parts["discount"],
        shipping_minor=parts["shipping"],
        tax_minor=parts["tax"],
        total_minor=total,
        refunded_minor=0,
        outstanding_minor=0 if paid or cancelled else total,
        taxes_included=model.taxesIncluded,
        source_updated_at=None,
        customer_external_id=customer.external_id if customer is not None else None,
        lines=tuple(lines),
    )
    net: dict[str, int] = {}
    if not cancelled:  # a cancelled order has nothing on the books
        debit_account = accounts.clearing_account if paid else accounts.receivable_account
        for account, amount in (
            (debit_account, total),
            (accounts.discount_account, parts["discount"]),
            (accounts.sales_account, -parts["sales"]),
            (accounts.tax_account, -parts["tax"]),
            (accounts.shipping_account, -parts["shipping"]),
        ):
            net[account] = net.get(account, 0) + amount
    journal = JournalDraft(order_date.date(), cur, f"Imported order {label}",
                           lines_from_net(net, f"Order {label}"))  # fmt: skip
    if not journal.is_balanced():  # unreachable: the model checked the parts add up
        raise DataMappingError(f"order {label}: journal does not balance")
    # ContactDoc is the richer customer document; OrderDocuments types it as CustomerDoc.
    documents = OrderDocuments(customer, sales_order, journal)  # type: ignore[arg-type]
    return ImportedDocument("order", external_id, documents, journal)


def _account_doc(model: Account, external_id: str, _: Any) -> ImportedDocument:
    doc = SourceAccountDoc(
        external_id=external_id,
        code=model.code,
        name=model.name,
        full_name=None,
        source_type=model.type,
        source_subtype=model.subtype,
        classification=model.type,
        active=model.active,
        currency=model.currency,
        parent_external_id=model.parentCode,
        standard_account_id=model.standardAccountId,
        mapping_note=(
            "given in the import" if model.standardAccountId else "imported; not yet mapped"
        ),
    )
    return ImportedDocument("account", external_id, doc)


def _journal_doc(model: JournalEntry, external_id: str, _: Any) -> ImportedDocument:
    cur = model.currency
    lines = tuple(
        JournalLineDraft(line.account, to_minor(line.debit or 0, cur),
                         to_minor(line.credit or 0, cur), line.memo or model.memo or "")
        for line in model.lines
    )  # fmt: skip
    memo = model.memo or f"Imported journal entry {model.entryNumber or external_id}"
    journal = JournalDraft(model.date, cur, memo, lines)
    if not journal.is_balanced():  # unreachable: the model checked the balance
        raise DataMappingError(f"journal entry {external_id} does not balance")
    return ImportedDocument("journal_entry", external_id, journal, journal)


_BUILDERS: dict[str, Any] = {
    "bigledger_customer": _customer_doc,
    "bigledger_vendor": _vendor_doc,
    "bigledger_product": _product_doc,
    "bigledger_order": _order_doc,
    "bigledger_account": _account_doc,
    "bigledger_journal_entry": _journal_doc,
}
