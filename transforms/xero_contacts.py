"""Xero Contact -> ContactDoc (customers, suppliers, or both)."""

from __future__ import annotations

from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, to_minor
from transforms.documents import ContactDoc

# Xero PaymentTerms Type -> how an accountant says it ({day} is the term's Day).
TERMS: dict[str, str] = {
    "DAYSAFTERBILLDATE": "Net {day}",
    "DAYSAFTERBILLMONTH": "{day} days after the end of the invoice month",
    "OFCURRENTMONTH": "Day {day} of the current month",
    "OFFOLLOWINGMONTH": "Day {day} of the following month",
}
_ADDRESS_FIELDS = (("AddressLine1", "line1"), ("AddressLine2", "line2"), ("City", "city"),
                   ("Region", "region"), ("PostalCode", "postal_code"),
                   ("Country", "country"))  # fmt: skip


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _address(contact: dict[str, Any], address_type: str) -> dict[str, str] | None:
    for address in contact.get("Addresses") or ():
        if not isinstance(address, dict) or address.get("AddressType") != address_type:
            continue
        out = {key: text for source, key in _ADDRESS_FIELDS
               if (text := _text(address.get(source)))}  # fmt: skip
        extra = [t for k in ("AddressLine3", "AddressLine4") if (t := _text(address.get(k)))]
        if extra:
            out["line2"] = ", ".join([out["line2"], *extra] if "line2" in out else extra)
        return out or None
    return None


def _phone(contact: dict[str, Any]) -> str | None:
    phones = {p.get("PhoneType"): p for p in contact.get("Phones") or () if isinstance(p, dict)}
    for kind in ("DEFAULT", "MOBILE", "DDI"):
        phone = phones.get(kind)
        number = _text(phone.get("PhoneNumber")) if phone else None
        if phone and number:
            parts = [_text(phone.get("PhoneCountryCode")), _text(phone.get("PhoneAreaCode")),
                     number]  # fmt: skip
            text = " ".join(p for p in parts if p)
            return f"+{text}" if _text(phone.get("PhoneCountryCode")) else text
    return None


def _terms(contact: dict[str, Any]) -> str | None:
    terms = contact.get("PaymentTerms")
    if not isinstance(terms, dict):
        return None
    side = "Sales" if contact.get("IsCustomer") or not contact.get("IsSupplier") else "Bills"
    chosen = terms.get(side) or terms.get("Sales") or terms.get("Bills")
    if not isinstance(chosen, dict) or chosen.get("Day") is None:
        return None
    template = TERMS.get(str(chosen.get("Type")))
    if template is None:
        return f"{chosen.get('Type')} {chosen.get('Day')}"
    return template.format(day=chosen.get("Day"))


def _balance(contact: dict[str, Any], currency: str | None) -> int | None:
    """Receivable less payable outstanding: what the contact owes us (negative: we owe)."""
    balances = contact.get("Balances")
    if not isinstance(balances, dict) or currency is None:
        return None
    total = 0
    found = False
    for side, sign in (("AccountsReceivable", 1), ("AccountsPayable", -1)):
        outstanding = (balances.get(side) or {}).get("Outstanding")
        if outstanding is None:
            continue
        try:
            total += sign * to_minor(outstanding, currency)
        except (MoneyError, ValueError) as exc:
            raise DataMappingError(f"Xero contact {contact.get('ContactID')}: balance "
                                   f"{outstanding!r} is not an amount",
                                   details={"contactId": contact.get("ContactID")}) from exc
        found = True
    return total if found else None


def contact_to_doc(contact: dict[str, Any], base_currency: str | None = None) -> ContactDoc:
    """A Xero Contact as a ContactDoc. The balance is Accounts Receivable outstanding less
    Accounts Payable outstanding (Balances), in the contact's currency (DefaultCurrency, else
    `base_currency`); None when Xero sent no Balances."""
    contact_id = _text(contact.get("ContactID"))
    if contact_id is None:
        raise DataMappingError("Xero contact without a ContactID", details=contact)
    first, last = _text(contact.get("FirstName")), _text(contact.get("LastName"))
    name = _text(contact.get("Name"))
    person = " ".join(p for p in (first, last) if p) or None
    currency = _text(contact.get("DefaultCurrency")) or base_currency
    is_supplier = bool(contact.get("IsSupplier"))
    return ContactDoc(
        external_id=contact_id,
        display_name=name or person or contact_id,
        first_name=first,
        last_name=last,
        # Xero's Name is the organisation when it differs from the person's name.
        company_name=name if name and name != person else None,
        email=_text(contact.get("EmailAddress")),
        phone=_phone(contact),
        billing_address=_address(contact, "POBOX"),
        shipping_address=_address(contact, "STREET"),
        payment_terms=_terms(contact),
        currency=currency.upper() if currency else None,
        balance_minor=_balance(contact, currency.upper() if currency else None),
        active=(_text(contact.get("ContactStatus")) or "ACTIVE").upper() == "ACTIVE",
        # Xero sets IsCustomer/IsSupplier once a contact has a sale or a purchase; a new
        # contact with neither counts as a customer, as Xero's UI files it.
        is_customer=bool(contact.get("IsCustomer")) or not is_supplier,
        is_supplier=is_supplier,
    )
