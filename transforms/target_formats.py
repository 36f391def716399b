"""Target formats of the transform-data endpoint: a registry of pydantic v2 models.

Each format is a model with camelCase fields; nested objects are reached by dotted target
paths (`address.street`), and `lines.<field>` paths make one source row per line, grouped
into one record by the format's group key (orders: externalId or orderNumber; journal
entries: externalId or entryNumber). Money fields are Decimal major units, converted to
integer minor units only in to_documents.

to_documents turns VALID records into the ledger documents of transforms/documents.py,
each with a stable external id (the record's externalId, else a hash of its content) so a
re-load of the same rows is idempotent.

column_model gives, for a format whose records are flat (no lists), the same rules a column
at a time: each field's own pydantic schema run over a list of values, and the model rules
declared with _requires. transform_data uses it to check a million rows without building a
million models; the models stay the one place the rules are written.
"""

from __future__ import annotations

import hashlib
import json
import re
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticUndefined

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


def _per_value(rule: Callable[[list[Any]], tuple[list[bool], list[Any]]],
               message: Callable[[Any], str]) -> Callable[[Any], Any]:  # fmt: skip
    """A field validator for one value made from a rule over a column of values, which
    column_model calls directly: one rule, two speeds."""

    def validate(value: Any) -> Any:
        (ok,), (out,) = rule([value])
        if not ok:
            raise ValueError(message(value))
        return out

    validate.column = rule  # type: ignore[attr-defined]
    return validate


# A shape check, not RFC 5322: one @, a dotted domain, no spaces; one compiled regex is
# cheap at a million rows (a per-character generator was half the run time).
_EMAIL = re.compile(r"[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]+")


def _emails(values: list[str]) -> tuple[list[bool], list[str]]:
    """Email addresses: (valid?, lower-cased) per value."""
    texts = [v.strip() for v in values]
    match = _EMAIL.fullmatch
    return [match(t) is not None for t in texts], [t.lower() for t in texts]


_email = _per_value(_emails, lambda value: f"not an email address: {value!r}")


def _passes_through(*refused: type) -> Callable[[Any], Any]:
    """Mark a before-validator that returns every value unchanged except values of the
    `refused` types: a column holding none of them can skip it (see column_model)."""

    def mark(fn: Any) -> Any:
        fn.refuses = refused
        return fn

    return mark


@_passes_through(float)
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


def _requires(field: str, other: str, message: str) -> Any:
    """A model rule "a value in `field` needs one in `other`", as an after-validator whose
    fields column_model can read (so a column-wise check applies the very same rule)."""

    def check(self: Any) -> Any:
        if getattr(self, field) is not None and getattr(self, other) is None:
            raise ValueError(message)
        return self

    check.requires = (field, other)  # type: ignore[attr-defined]
    return model_validator(mode="after")(check)


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

    _money_needs_currency = _requires("balance", "currency", "balance needs a currency")


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


# --- column-wise validation -------------------------------------------------------------------
# One model per row costs microseconds a row; one field's schema run over a list of values
# costs a tenth of a microsecond a value (pydantic-core loops in Rust). Only the parts of a
# model's rules that a field schema cannot hold are read here: required fields, defaults and
# the _requires rules. A model with any other validator, serializer or computed field gets
# None, and its records are validated one model at a time.

NO_DEFAULT: Any = PydanticUndefined


@dataclass(frozen=True, slots=True)
class ColumnField:
    """A leaf field: its dotted target path, JSON key, whether the model requires it, its
    default (NO_DEFAULT when required) and the check of a list of its values."""

    path: str
    key: str
    required: bool
    default: Any
    check: FieldCheck


@dataclass(frozen=True, slots=True)
class ColumnModel:
    """A model (the record, or a nested object) as columns: its fields in the model's order
    and its _requires rules as (field, other) pairs."""

    path: str
    key: str
    required: bool
    default: Any
    fields: tuple[ColumnField | ColumnModel, ...]
    rules: tuple[tuple[str, str], ...]


class FieldCheck:
    """Validates a list of values with one field's own schema (type, constraints, field
    validators and the model's config): check(values) -> (valid mask, validated values).

    The shortcuts keep it exact: a _passes_through before-validator is dropped for a column
    holding none of the types it refuses; trailing _per_value validators run as their column
    rule after the rest of the schema (in Rust); a plain text field (str, optionally with
    min/max length and the model's whitespace stripping) takes a text with nothing to strip
    as it is, which is what pydantic-core gives back (its whitespace is a subset of
    Python's: tested); a column of few distinct texts through Python validators is
    validated once per distinct text."""

    def __init__(self, annotation: Any, config: ConfigDict) -> None:
        self._adapter = TypeAdapter(list[annotation], config=config)  # type: ignore[valid-type]
        lean, refused = _without_pass_through(annotation)
        lean, rules = _peel_column_rules(lean)
        self._refused = refused
        self._rules = rules
        self._lean = (TypeAdapter(list[lean], config=config)  # type: ignore[valid-type]
                      if refused or rules else None)  # fmt: skip
        self._python = _has_python_validators(lean)
        schema = (self._lean or self._adapter).core_schema.get("items_schema", {})
        #: what validated values are when known from the schema: "str", "decimal", "bool"
        #: or "int" (exactly that type); None when validators decide
        self.kind = None if rules else _kind(schema)
        self._text = _plain_text(schema, config)

    def __call__(self, values: list[Any], plain: np.ndarray | None = None
                 ) -> tuple[np.ndarray, list[Any]]:  # fmt: skip
        """plain, when known: which values are str with nothing to strip."""
        sample = values[:512]
        if (self._python and len(values) > 1024 and all(type(v) is str for v in sample)
                and len(set(sample)) <= 128 and all(type(v) is str for v in values)):  # fmt: skip
            distinct = list(dict.fromkeys(values))
            ok_distinct, out_distinct = self._validate(distinct)
            result = {v: (bool(k), o) for v, k, o in zip(distinct, ok_distinct, out_distinct,
                                                          strict=True)}  # fmt: skip
            pairs = [result[v] for v in values]
            return np.array([k for k, _ in pairs], dtype=bool), [o for _, o in pairs]
        return self._validate(values, plain)

    def _validate(self, values: list[Any], plain: np.ndarray | None = None
                  ) -> tuple[np.ndarray, list[Any]]:  # fmt: skip
        adapter, rules = self._adapter, ()
        if self._lean is not None and not (self._refused and any(issubclass(t, self._refused)
                                              for t in set(map(type, values)))):  # fmt: skip
            adapter, rules = self._lean, self._rules
        if self._text is not None and adapter is (self._lean or self._adapter):
            ok, out = self._texts(adapter, values, plain)
        else:
            ok, out = _validate_list(adapter, values)
        for rule in rules:
            kept = np.flatnonzero(ok)
            if len(kept) == len(out):
                passed, out = rule(out)
                ok = np.array(passed, dtype=bool)
                continue
            passed, changed = rule([out[i] for i in kept])
            ok[kept] = passed
            for i, value in zip(kept.tolist(), changed, strict=True):
                out[i] = value
        return ok, out


    def _texts(self, adapter: TypeAdapter[list[Any]], values: list[Any],
               plain: np.ndarray | None) -> tuple[np.ndarray, list[Any]]:  # fmt: skip
        strip, shortest, longest = self._text  # type: ignore[misc]
        if plain is None or not strip:
            plain = np.array([type(v) is str and (not strip or v.strip() is v)
                              for v in values], dtype=bool)  # fmt: skip
        ok = np.ones(len(values), dtype=bool)
        out, texts, where = values, values, slice(None)
        if not plain.all():
            out = list(values)
            others = np.flatnonzero(~plain)
            ok[others], validated = _validate_list(adapter, [values[i] for i in others])
            for i, value in zip(others.tolist(), validated, strict=True):
                out[i] = value
            where = np.flatnonzero(plain)
            texts = [values[i] for i in where]
        if shortest is not None or longest is not None:
            lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
            fits = np.ones(len(texts), dtype=bool)
            if shortest is not None:
                fits &= lengths >= shortest
            if longest is not None:
                fits &= lengths <= longest
            ok[where] = fits
        return ok, out


def _plain_text(schema: Mapping[str, Any], config: Mapping[str, Any]
                ) -> tuple[bool, int | None, int | None] | None:  # fmt: skip
    """(strip, min length, max length) of a field that is plain text, else None."""
    while schema.get("type") == "nullable":
        schema = schema["schema"]
    if schema.get("type") != "str" or set(schema) - {"type", "min_length", "max_length"}:
        return None
    if set(config) - {"str_strip_whitespace"}:
        return None
    return (bool(config.get("str_strip_whitespace")), schema.get("min_length"),
            schema.get("max_length"))  # fmt: skip


def _validate_list(adapter: TypeAdapter[list[Any]], values: list[Any]
                   ) -> tuple[np.ndarray, list[Any]]:  # fmt: skip
    try:
        return np.ones(len(values), dtype=bool), adapter.validate_python(values)
    except ValidationError as exc:
        ok = np.ones(len(values), dtype=bool)
        ok[sorted({e["loc"][0] for e in exc.errors(include_url=False)})] = False
    out: list[Any] = [None] * len(values)
    kept = np.flatnonzero(ok).tolist()
    for position, value in zip(kept, adapter.validate_python([values[i] for i in kept]),
                               strict=True):  # fmt: skip
        out[position] = value
    return ok, out


def _kind(schema: Mapping[str, Any]) -> str | None:
    while schema.get("type") == "nullable":  # None is never validated here
        schema = schema["schema"]
    kind = schema.get("type")
    if kind in ("str", "decimal", "bool", "int"):
        return str(kind)
    if kind == "literal" and all(type(v) is str for v in schema["expected"]):
        return "str"
    return None


def _without_pass_through(annotation: Any) -> tuple[Any, tuple[type, ...]]:
    """The annotation without its _passes_through before-validators, and what they refuse."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *meta = get_args(annotation)
        inner, refused = _without_pass_through(base)
        kept = []
        for item in meta:
            if isinstance(item, BeforeValidator) and hasattr(item.func, "refuses"):
                refused += item.func.refuses
            else:
                kept.append(item)
        return (Annotated[(inner, *kept)] if kept else inner), refused
    if origin is Union or origin is types.UnionType:
        parts = [_without_pass_through(arg) for arg in get_args(annotation)]
        refused = tuple(t for _, r in parts for t in r)
        return Union[tuple(p for p, _ in parts)], refused  # noqa: UP007
    return annotation, ()


def _peel_column_rules(annotation: Any) -> tuple[Any, list[Any]]:
    """The annotation without the _per_value after-validators that run last, and their
    column rules in the order they run."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *meta = get_args(annotation)
        rules: list[Any] = []
        while meta and isinstance(meta[-1], AfterValidator) and hasattr(meta[-1].func, "column"):
            rules.insert(0, meta.pop().func.column)
        if meta:
            return Annotated[(base, *meta)], rules
        inner, more = _peel_column_rules(base)
        return inner, more + rules
    if origin is Union or origin is types.UnionType:
        given = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(given) == 1 and len(get_args(annotation)) == 2:
            inner, rules = _peel_column_rules(given[0])
            return Union[inner, None], rules  # noqa: UP007
    return annotation, []


def _has_python_validators(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        return _has_python_validators(base) or any(hasattr(m, "func") for m in meta)
    return any(_has_python_validators(arg) for arg in get_args(annotation))


def column_model(target_format: TargetFormat) -> ColumnModel | None:
    """The format's model as columns, or None when its rules need whole records."""
    model = target_format.model
    if model not in _COLUMN_MODELS:
        _COLUMN_MODELS[model] = _column_model(model, "", "", True, NO_DEFAULT)
    return _COLUMN_MODELS[model]


_COLUMN_MODELS: dict[type[BaseModel], ColumnModel | None] = {}


def _column_model(model: type[BaseModel], path: str, key: str, required: bool, default: Any
                  ) -> ColumnModel | None:  # fmt: skip
    decorators = model.__pydantic_decorators__
    if (decorators.validators or decorators.field_validators or decorators.root_validators
            or decorators.field_serializers or decorators.model_serializers
            or decorators.computed_fields
            or model.model_post_init is not BaseModel.model_post_init):  # fmt: skip
        return None
    rules = []
    for decorator in decorators.model_validators.values():
        pair = getattr(decorator.func, "requires", None)
        if decorator.info.mode != "after" or pair is None:
            return None
        rules.append(pair)
    config = ConfigDict(**{k: v for k, v in model.model_config.items()  # type: ignore[typeddict-item]
                           if k not in ("extra", "title")})  # fmt: skip
    fields: list[ColumnField | ColumnModel] = []
    for name, info in model.model_fields.items():
        field_path = f"{path}{name}"
        field_default = NO_DEFAULT if info.is_required() else info.get_default(
            call_default_factory=True)  # fmt: skip
        inner, is_list = _nested_model(info.annotation)
        if inner is not None:
            if is_list:
                return None
            nested = _column_model(inner, f"{field_path}.", name, info.is_required(),
                                   field_default)  # fmt: skip
            if nested is None:
                return None
            fields.append(nested)
        else:
            fields.append(ColumnField(field_path, name, info.is_required(), field_default,
                                      FieldCheck(info.rebuild_annotation(), config)))  # fmt: skip
    names = {f.key: f for f in fields}
    if any(not isinstance(names.get(a), ColumnField) or not isinstance(names.get(b), ColumnField)
           for a, b in rules):  # fmt: skip
        return None
    return ColumnModel(path.removesuffix("."), key, required, default, tuple(fields),
                       tuple(rules))


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
