"""The sandbox's customers: the very pool the generated orders draw their buyers from.

Customer k is `OrderDataset.customer(k)` (same gid, email, names, phone, tags) with the
fields only the `customers` query shows added: `updatedAt`, `state`, `defaultEmailAddress`,
`numberOfOrders` and `amountSpent`. The directory is materialised on first use (orders-only
sandboxes never build it); runtime changes (`touch`) live on the same dicts, and an order's
`customer` then resolves to the changed customer, as Shopify's live object would.

`numberOfOrders` counts the customer's orders (guest orders excluded); `amountSpent` is what
they paid net of refunds (received - refunded) over those orders, runtime order changes
included. Both need to know which orders a customer placed: one scan of the order headers
(about 3 µs an order) builds that index the first time either field is asked for; amounts are
then computed per customer on demand and cached until an order changes. A generated
customer's `updatedAt` lies between its `createdAt` and the dataset start; placing an order
does not bump it (the sandbox's simplification: only `touch` does).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from sandbox.shopify.catalog import _compare, _text, _time_term
from sandbox.shopify.config import ShopifySandboxConfig
from sandbox.shopify.data import CUSTOMER_ID_BASE, OrderDataset, iso, mix64
from sandbox.shopify.search import Term

_MASK = (1 << 64) - 1
_DAY = 86_400
CUSTOMER_STATES = ("ENABLED", "DISABLED", "INVITED", "DECLINED")

Predicate = Callable[[dict[str, Any]], bool]


class CustomerError(ValueError):
    """A runtime customer change that cannot apply (unknown customer, bad value)."""


class CustomerDirectory:
    """Customers of one sandbox shop, in id order, with their order statistics."""

    def __init__(self, store: Any, config: ShopifySandboxConfig) -> None:
        self.store = store  # the OrderStore whose orders these customers placed
        self.dataset: OrderDataset = store.dataset
        self.config = config
        self.clock = config.clock
        self._key = mix64((config.seed ^ 0xC05_7043E) & _MASK)
        start = int(config.start.timestamp())
        self.customers: dict[int, dict[str, Any]] = {}
        for k in range(config.customer_pool):
            self.customers[CUSTOMER_ID_BASE + k] = self._extend(k, start)
        self._orders_of: dict[int, list[int]] | None = None
        self._spent: dict[int, int] = {}
        self._spent_version = -1

    def _extend(self, k: int, start: int) -> dict[str, Any]:
        customer = self.dataset.customer(k)
        legacy = CUSTOMER_ID_BASE + k
        created = start - _DAY * (1 + k % 700)  # as OrderDataset.customer's createdAt
        h = mix64((self._key + k) & _MASK)
        updated = created + (h & 0xFFFFFFFF) % (start - created)
        roll = (h >> 32) % 100
        state = (
            "ENABLED"
            if roll < 70
            else "DISABLED"
            if roll < 88
            else ("INVITED" if roll < 96 else "DECLINED")
        )
        customer.update(
            updatedAt=iso(updated),
            state=state,
            defaultEmailAddress={"emailAddress": customer["email"]},
            _k=k,
            _legacy=legacy,
            _created=created,
            _updated=updated,
        )
        return customer

    # ---- reading ----------------------------------------------------------------------

    def customer_list(self) -> list[dict[str, Any]]:
        """Every customer in id order."""
        return list(self.customers.values())

    def get(self, legacy: int) -> dict[str, Any] | None:
        return self.customers.get(legacy)

    def orders_of(self, k: int) -> list[int]:
        """Indices of the orders customer k placed (one header scan, then cached)."""
        if self._orders_of is None:
            index: dict[int, list[int]] = {}
            header = self.store.header
            for i in range(self.store.size):
                c = header(i).customer
                if c is not None:
                    index.setdefault(c, []).append(i)
            self._orders_of = index
        return self._orders_of.get(k, [])

    def number_of_orders(self, customer: dict[str, Any]) -> str:
        return str(len(self.orders_of(self._k_of(customer))))

    def amount_spent(self, customer: dict[str, Any]) -> dict[str, str]:
        """MoneyV2 of what the customer paid, net of refunds, in the shop currency."""
        if self._spent_version != self.store.version:
            self._spent.clear()
            self._spent_version = self.store.version
        k = self._k_of(customer)
        minor = self._spent.get(k)
        if minor is None:
            minor = 0
            for i in self.orders_of(k):
                order = self.store.order(i)
                minor += order["_received"] - order["_refunded"]
            self._spent[k] = minor
        return {"amount": self.dataset.fmt(minor), "currencyCode": self.dataset.currency}

    @staticmethod
    def _k_of(customer: dict[str, Any]) -> int:
        k = customer.get("_k")
        if k is None:  # an order's embedded copy: its gid says who it is
            k = int(customer["id"].rsplit("/", 1)[-1]) - CUSTOMER_ID_BASE
        return k

    def live(self, embedded: dict[str, Any] | None) -> dict[str, Any] | None:
        """The customer as it is now for an order's embedded copy."""
        if embedded is None:
            return None
        return self.customers.get(CUSTOMER_ID_BASE + self._k_of(embedded), embedded)

    # ---- runtime changes ------------------------------------------------------------

    def touch(
        self,
        legacy: int,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        state: str | None = None,
    ) -> dict[str, Any]:
        """Bump a customer's updatedAt to now (optionally changing names, email, state)."""
        customer = self.customers.get(legacy)
        if customer is None:
            raise CustomerError(f"no customer {legacy}")
        if state is not None and state not in CUSTOMER_STATES:
            raise CustomerError(f"unknown state {state!r}")
        now = max(int(self.clock()), customer["_updated"] + 1)
        if first_name is not None:
            customer["firstName"] = first_name or None
        if last_name is not None:
            customer["lastName"] = last_name or None
        if first_name is not None or last_name is not None:
            parts = [p for p in (customer["firstName"], customer["lastName"]) if p]
            customer["displayName"] = " ".join(parts) or customer["email"] or ""
        if email is not None:
            customer["email"] = email or None
            customer["defaultEmailAddress"] = {"emailAddress": email} if email else None
        if state is not None:
            customer["state"] = state
        customer["_updated"] = now
        customer["updatedAt"] = iso(now)
        return {
            "id": customer["id"],
            "updatedAt": customer["updatedAt"],
            "firstName": customer["firstName"],
            "lastName": customer["lastName"],
            "email": customer["email"],
            "state": customer["state"],
        }


# ---- search ---------------------------------------------------------------------------------


def customer_terms(tz: tzinfo) -> Callable[[Term], Predicate | None | str]:
    """Search fields of `customers` / `customersCount`."""

    def term(t: Term) -> Predicate | None | str:
        name, op, value = t.field, t.op, t.value.strip().lower()
        if name is None:  # free text: name or email
            return lambda c: value in c["displayName"].lower() or value in (c["email"] or "")
        if name in ("updated_at", "created_at"):
            pred = _time_term(op, t.value, tz, "_updated" if name == "updated_at" else "_created")
            return pred if pred is not None else f"Invalid timestamp for query filter `{name}`."
        if name == "email":
            return lambda c: _text(c["email"], value)
        if name in ("first_name", "last_name", "phone"):
            key = {"first_name": "firstName", "last_name": "lastName"}.get(name, name)
            return lambda c: _text(c[key], value)
        if name == "state":
            wanted = {v.strip().upper() for v in value.split(",") if v.strip()}
            return lambda c: c["state"] in wanted
        if name in ("tag", "tags"):
            return lambda c: any(_text(tag, value) for tag in c["tags"])
        if name == "id":
            legacy = value.rsplit("/", 1)[-1]
            if not legacy.isdigit():
                return lambda c: False
            return lambda c: _compare(op, c["_legacy"], int(legacy))
        return "Invalid search field for this query."

    return term
