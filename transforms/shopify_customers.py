"""Shopify customer (Admin GraphQL 2025-01 `customers` node) -> CustomerDoc. Pure: no I/O.

The conventions are those of the order transform's `_customer` (transforms/shopify_orders.py),
mirrored here because that helper takes an order, not a customer node:

* external_id is the numeric tail of the gid (`gid://shopify/Customer/7000000000026` ->
  `"7000000000026"`), the same key an order's `customer { id }` gets;
* first/last name are taken as sent, an empty string meaning None; name is "First Last" when
  both are present, else whichever is;
* email is the customer's `email`; where the order transform falls back to the order's email,
  a customer node falls back to `defaultEmailAddress.emailAddress` (2025-01's replacement).

So a customer synced from the `customers` query and the same customer met in an order map
to one ledger customer (tests/transforms/test_transform_shopify_customers.py checks it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bigledger.errors import DataMappingError
from transforms.documents import CustomerDoc


def customer_to_document(node: dict[str, Any]) -> CustomerDoc:
    """Map one customer node; raises DataMappingError when it has no usable id."""
    if type(node) is not dict:
        raise DataMappingError(
            f"Shopify customer must be an object, got {type(node).__name__}",
            details={"field": "customer"},
        )
    first = node.get("firstName") or None
    last = node.get("lastName") or None
    full = f"{first} {last}" if first and last else first or last
    default = node.get("defaultEmailAddress")
    fallback = default.get("emailAddress") if type(default) is dict else None
    return CustomerDoc(
        customer_external_id(node),
        node.get("email") or fallback or None,
        first,
        last,
        full,
    )


def customer_external_id(node: dict[str, Any]) -> str:
    """The numeric id of a customer node (tail of its gid), as orders key customers."""
    gid = node.get("id") if type(node) is dict else None
    if type(gid) is str:
        tail = gid.rpartition("/")[2].partition("?")[0]
        if tail:
            return tail
    raise DataMappingError(
        f"Shopify customer: id: not a Shopify id: {gid!r}",
        details={"customer": _brief(node), "field": "id"},
    )


def customer_updated_at(node: dict[str, Any]) -> datetime:
    """`updatedAt` as an aware UTC datetime (the incremental sync's high-water mark)."""
    value = node.get("updatedAt") if type(node) is dict else None
    if type(value) is not str:
        raise _time_error(node, f"missing timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _time_error(node, f"not an ISO 8601 timestamp: {value!r}") from None
    if parsed.utcoffset() is None:
        raise _time_error(node, f"timestamp without a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def _time_error(node: Any, problem: str) -> DataMappingError:
    ref = _brief(node)
    return DataMappingError(
        f"Shopify customer {ref}: updatedAt: {problem}",
        details={"customer": ref, "field": "updatedAt"},
    )


def _brief(node: Any) -> str:
    if type(node) is dict:
        return str(node.get("id") or node.get("legacyResourceId") or "?")
    return "?"
