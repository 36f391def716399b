"""QuickBooks Online customers and vendors -> ContactDoc.

external_id is "Customer:<Id>" or "Vendor:<Id>" (the two are separate records in
QuickBooks, even for one business), the same value SourceTransactionDoc.contact_external_id
carries. Balance is the open balance in the contact's own currency, as QuickBooks states
it; terms are resolved by name from the Term list when the record only holds the id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, amount_to_minor, normalize_currency
from transforms.documents import ContactDoc

_ADDRESS_FIELDS = (("Line1", "line1"), ("Line2", "line2"), ("City", "city"),
                   ("CountrySubDivisionCode", "region"), ("PostalCode", "postal_code"),
                   ("Country", "country"))  # fmt: skip


def contact_external_id(kind: str, record_id: str) -> str:
    """"Customer:12" / "Vendor:40": the id a ContactDoc and a transaction share."""
    return f"{kind}:{record_id}"


def customer_to_doc(customer: Mapping[str, Any], terms: Mapping[str, str] | None = None,
                    home_currency: str | None = None) -> ContactDoc:  # fmt: skip
    """A QuickBooks Customer as a ContactDoc (is_customer). `terms` maps Term Id -> Name;
    `home_currency` is the currency of a record that names none (multicurrency off)."""
    return _contact("Customer", customer, customer.get("SalesTermRef"), terms, home_currency)


def vendor_to_doc(vendor: Mapping[str, Any], terms: Mapping[str, str] | None = None,
                  home_currency: str | None = None) -> ContactDoc:  # fmt: skip
    """A QuickBooks Vendor as a ContactDoc (is_supplier)."""
    return _contact("Vendor", vendor, vendor.get("TermRef"), terms, home_currency)


def _contact(kind: str, record: Mapping[str, Any], term_ref: Any,
             terms: Mapping[str, str] | None, home_currency: str | None) -> ContactDoc:
    record_id = record.get("Id")
    display = _text(record.get("DisplayName"))
    if not isinstance(record_id, str) or not record_id:
        raise DataMappingError(f"quickbooks {kind.lower()} without an Id",
                               details={"record": dict(record)})  # fmt: skip
    given, family = _text(record.get("GivenName")), _text(record.get("FamilyName"))
    company = _text(record.get("CompanyName"))
    display = display or company or " ".join(p for p in (given, family) if p) or record_id
    currency = _ref_value(record.get("CurrencyRef")) or home_currency
    balance = None
    raw_balance = record.get("Balance")
    if raw_balance is not None and currency:
        try:
            currency = normalize_currency(currency)
            balance = amount_to_minor(raw_balance, currency)
        except MoneyError as exc:
            raise DataMappingError(f"quickbooks {kind.lower()} {record_id}: {exc}",
                                   details={"id": record_id}) from None
    return ContactDoc(
        external_id=contact_external_id(kind, record_id),
        display_name=display,
        first_name=given,
        last_name=family,
        company_name=company,
        email=_text((record.get("PrimaryEmailAddr") or {}).get("Address")),
        phone=_text((record.get("PrimaryPhone") or {}).get("FreeFormNumber")),
        billing_address=_address(record.get("BillAddr")),
        shipping_address=_address(record.get("ShipAddr")),
        payment_terms=_terms(term_ref, terms),
        currency=currency,
        balance_minor=balance,
        active=record.get("Active", True) is not False,
        is_customer=kind == "Customer",
        is_supplier=kind == "Vendor",
    )


def _address(value: Any) -> dict[str, str] | None:
    if not isinstance(value, Mapping):
        return None
    out = {key: text for source, key in _ADDRESS_FIELDS
           if (text := _text(value.get(source))) is not None}  # fmt: skip
    return out or None


def _terms(ref: Any, terms: Mapping[str, str] | None) -> str | None:
    if not isinstance(ref, Mapping):
        return None
    name = _text(ref.get("name"))
    if name:
        return name
    term_id = _ref_value(ref)
    if term_id and terms:
        return terms.get(term_id)
    return None


def _ref_value(value: Any) -> str | None:
    if isinstance(value, Mapping):
        inner = value.get("value")
        return str(inner) if inner not in (None, "") else None
    return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
