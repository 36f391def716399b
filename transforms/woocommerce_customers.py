"""WooCommerce customer (REST v3 `GET /customers`) -> CustomerDoc. Pure: no I/O.

The id is the WordPress user id as a string, the same key the order transform gives a
registered buyer (`customer_id`), so a customer synced here and one met in an order are one.
"""

from __future__ import annotations

from typing import Any

from bigledger.errors import DataMappingError
from transforms.documents import CustomerDoc


def customer_to_document(customer: dict[str, Any]) -> CustomerDoc:
    """Map one WooCommerce customer; names and email fall back to the billing address."""
    if not isinstance(customer, dict):
        raise DataMappingError("WooCommerce customer must be an object")
    cid = customer.get("id")
    if isinstance(cid, bool) or not isinstance(cid, int) or cid <= 0:
        raise DataMappingError(f"WooCommerce customer has no id: {cid!r}",
                               details={"customerId": cid})  # fmt: skip
    billing = customer.get("billing") if isinstance(customer.get("billing"), dict) else {}
    email = _text(customer.get("email")) or _text(billing.get("email"))
    first = _text(customer.get("first_name")) or _text(billing.get("first_name"))
    last = _text(customer.get("last_name")) or _text(billing.get("last_name"))
    return CustomerDoc(
        external_id=str(cid),
        email=email,
        first_name=first,
        last_name=last,
        name=f"{first} {last}" if first and last else first or last,
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
