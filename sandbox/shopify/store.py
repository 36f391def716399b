"""The sandbox's orders: generated base orders plus an overlay of orders changed at runtime.

Base orders are never materialised as a collection. A page is produced by walking indices
in sort order from the cursor, testing cheap headers against the search predicate, and
merging in the (small) overlay of modified orders by their current sort key. Memory is
O(page + overlay) whatever the shop size.
"""

from __future__ import annotations

import base64
import heapq
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.shopify.config import ShopifySandboxConfig
from sandbox.shopify.data import (
    MAX_REFUNDS_PER_ORDER,
    ORDER_ID_BASE,
    OrderDataset,
    OrderHeader,
    iso,
)
from sandbox.shopify.search import CompiledQuery, compile_query

# Which header attribute each OrderSortKeys value orders by. Keys the sandbox has no cheap
# order for (TOTAL_PRICE, CUSTOMER_NAME, ...) fall back to id order, which is still a
# stable total order, so pagination stays correct.
SORT_ATTRIBUTES = {"CREATED_AT": "created", "PROCESSED_AT": "created", "UPDATED_AT": "updated"}
ACTIONS = ("touch", "refund", "cancel", "pay", "fulfill")
CREATE_STATUSES = ("PAID", "PENDING", "AUTHORIZED", "PARTIALLY_PAID")


class CursorError(ValueError):
    """A cursor that this sandbox did not issue."""


class ActionError(ValueError):
    """A runtime order change that does not fit the order's state (HTTP 409)."""


@dataclass
class Page:
    """One page of order indices in response order, with Relay page info."""

    indices: list[int]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def encode_cursor(last_id: int, last_value: int | str) -> str:
    """Opaque cursor in Shopify's style: base64 of {"last_id", "last_value"}."""
    raw = json.dumps({"last_id": last_id, "last_value": last_value}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int | str]:
    """(last_id, last_value) of a cursor; CursorError when it is not one of ours."""
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        last_id, last_value = data["last_id"], data["last_value"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CursorError("Invalid cursor.") from exc
    if not isinstance(last_id, int) or not isinstance(last_value, int | str):
        raise CursorError("Invalid cursor.")
    return last_id, last_value


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


class OrderStore:
    """Orders of one sandbox shop: search, sort, paginate, count and modify."""

    def __init__(self, config: ShopifySandboxConfig) -> None:
        self.config = config
        self.dataset = OrderDataset(config)
        self.size = config.size
        self.timezone = ZoneInfo(config.iana_timezone)
        # index -> (header, full order) of orders changed at runtime
        self.overlay: dict[int, tuple[OrderHeader, dict[str, Any]]] = {}
        self.version = 0  # bumps on every overlay change; keys the count cache
        self._counts: OrderedDict[tuple[str, int], int] = OrderedDict()

    # ---- SearchTarget protocol ------------------------------------------------------

    def time_index_range(self, attr: str, lo_us: int | None, hi_us: int | None) -> tuple[int, int]:
        """Base indices whose generated `attr` time is within [lo_us, hi_us)."""
        ts_of = self.dataset.created_ts if attr == "created" else self.dataset.updated_ts
        lo = 0 if lo_us is None else self.dataset.first_index_at_or_after(ts_of, lo_us)
        hi = self.size if hi_us is None else self.dataset.first_index_at_or_after(ts_of, hi_us)
        return lo, max(lo, hi)

    def email_of(self, header: OrderHeader) -> str:
        """Contact email of an order, as its full form would show it."""
        if header.customer is None:
            return f"guest.{header.index}@mail.example"
        return self.dataset.customer_email(header.customer)

    # ---- reading ----------------------------------------------------------------------

    def index_of(self, legacy_id: int) -> int | None:
        """Order index of a numeric order id, or None when the shop has no such order."""
        index = legacy_id - ORDER_ID_BASE
        return index if 0 <= index < self.size else None

    def header(self, index: int) -> OrderHeader:
        entry = self.overlay.get(index)
        return entry[0] if entry else self.dataset.header(index)

    def order(self, index: int) -> dict[str, Any]:
        """The current full order (runtime changes included)."""
        entry = self.overlay.get(index)
        return entry[1] if entry else self.dataset.order(index)

    def compile(self, query: str | None) -> CompiledQuery:
        return compile_query(query, self)

    def page(
        self,
        compiled: CompiledQuery,
        sort_key: str,
        reverse: bool,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
    ) -> Page:
        """A page of matches in sort order; `first`/`after` forward or `last`/`before` back."""
        attr = SORT_ATTRIBUTES.get(sort_key, "id")
        forward = first is not None
        want = first if forward else (last or 0)
        cursor = after if forward else before
        boundary = None
        if cursor is not None:
            last_id, last_value = decode_cursor(cursor)
            value = last_value if isinstance(last_value, int) else _epoch(last_value)
            boundary = (value, last_id - ORDER_ID_BASE)
        # Walking backwards from `before` is walking the opposite direction.
        descending = reverse if forward else not reverse
        found = list(islice(self._walk(compiled, attr, descending, boundary), want + 1))
        more = len(found) > want
        found = found[:want]
        if not forward:
            found.reverse()
        cursors = [self._cursor(i, attr) for i in found]
        if forward:
            return Page(found, cursors, more, after is not None)
        return Page(found, cursors, before is not None, more)

    def count(self, query: str | None) -> int:
        """Number of orders matching a search (cached until the overlay changes)."""
        key = (query or "", self.version)
        cached = self._counts.get(key)
        if cached is not None:
            self._counts.move_to_end(key)
            return cached
        compiled = self.compile(query)
        lo, hi = compiled.bounds
        overlay = self.overlay
        if compiled.base_exact:
            total = (hi - lo) - sum(1 for j in overlay if lo <= j < hi)
        else:
            pred = compiled.predicate
            header = self.dataset.header
            total = sum(1 for i in range(lo, hi) if i not in overlay and pred(header(i)))
        pred = compiled.predicate
        total += sum(1 for h, _ in overlay.values() if pred is None or pred(h))
        self._counts[key] = total
        if len(self._counts) > 256:
            self._counts.popitem(last=False)
        return total

    # ---- walking in sort order ------------------------------------------------------

    def _base_value(self, attr: str) -> Callable[[int], int]:
        if attr == "created":
            return self.dataset.created_ts
        if attr == "updated":
            return self.dataset.updated_ts
        return lambda i: i

    def _current_value(self, header: OrderHeader, attr: str) -> int:
        return header.index if attr == "id" else getattr(header, attr)

    def _cursor(self, index: int, attr: str) -> str:
        value = self._current_value(self.header(index), attr)
        return encode_cursor(ORDER_ID_BASE + index, value if attr == "id" else iso(value))

    def _first_after(self, value_of: Callable[[int], int], key: tuple[int, int]) -> int:
        """Smallest base index whose (value, index) sorts after `key` (values rise with i)."""
        lo, hi = 0, self.size
        while lo < hi:
            mid = (lo + hi) // 2
            if (value_of(mid), mid) > key:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _walk(
        self,
        compiled: CompiledQuery,
        attr: str,
        descending: bool,
        boundary: tuple[int, int] | None,
    ) -> Iterator[int]:
        """Matching order indices in sort order, strictly after `boundary` if given."""
        lo, hi = compiled.bounds
        value_of = self._base_value(attr)
        if boundary is not None:
            if descending:  # indices whose key sorts before the boundary
                hi = min(hi, self._first_after(value_of, (boundary[0], boundary[1] - 1)))
            else:
                lo = max(lo, self._first_after(value_of, boundary))
        overlay = self.overlay
        pred = compiled.predicate
        base_pred = None if compiled.base_exact else pred
        header = self.dataset.header
        indices = range(hi - 1, lo - 1, -1) if descending else range(lo, max(lo, hi))
        base = (
            i for i in indices if i not in overlay and (base_pred is None or base_pred(header(i)))
        )
        if not overlay:
            yield from base
            return
        # Modified orders keep their index but may have a new sort value (updated_at):
        # merge them in by (value, index), the same total order the base walk follows.
        extra = []
        for h, _ in overlay.values():
            key = (self._current_value(h, attr), h.index)
            if boundary is not None and ((key >= boundary) if descending else (key <= boundary)):
                continue
            if pred is None or pred(h):
                extra.append(key)
        extra.sort(reverse=descending)
        keyed = ((value_of(i), i) for i in base)
        for _, index in heapq.merge(keyed, extra, reverse=descending):
            yield index

    # ---- runtime changes ------------------------------------------------------------

    def update(
        self,
        legacy_id: int,
        action: str,
        amount: str | None = None,
        reason: str | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Change an order as the shop admin would and bump its updatedAt to now.

        Actions: touch (only updatedAt), refund (all that is left, or `amount`), cancel
        (voids unpaid, refunds paid), pay (capture what is outstanding), fulfill."""
        index = self.index_of(legacy_id)
        if index is None:
            raise KeyError(legacy_id)
        if action not in ACTIONS:
            raise ActionError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
        old_header = self.header(index)
        order = self.order(index)
        if index not in self.overlay:
            order = self.dataset.build(old_header)  # a private copy we may change
        # Never move updatedAt backwards, even when generated data lies in the future.
        now = max(int(self.config.clock()), old_header.updated + 1)
        changes: dict[str, Any] = {"updated": now}
        status = old_header.financial
        if action == "refund":
            if status not in ("PAID", "PARTIALLY_REFUNDED"):
                raise ActionError(f"cannot refund an order that is {status}")
            refundable = order["_received"] - order["_refunded"]
            minor = refundable if amount is None else self._minor(amount)
            if not 0 < minor <= refundable:
                raise ActionError(f"refund amount must be within (0, {refundable}] minor units")
            status = self._add_refund(order, index, now, minor, note)
        elif action == "cancel":
            if old_header.cancelled:
                raise ActionError("order is already cancelled")
            if status in ("PENDING", "AUTHORIZED"):
                status = "VOIDED"
                order["_outstanding"] = 0
            elif status in ("PAID", "PARTIALLY_REFUNDED", "PARTIALLY_PAID"):
                order["_outstanding"] = 0
                left = order["_received"] - order["_refunded"]
                if left > 0:
                    self._add_refund(order, index, now, left, note or "Order cancelled")
                status = "REFUNDED"
            changes.update(cancelled=True, closed=True, cancel_reason=(reason or "CUSTOMER"))
            order["cancelledAt"] = iso(now)
            order["cancelReason"] = changes["cancel_reason"]
            order["closedAt"] = iso(now)
            order["closed"] = True
            for item in order["_line_items"]:
                item["currentQuantity"] = 0
        elif action == "pay":
            if status not in ("PENDING", "AUTHORIZED", "PARTIALLY_PAID"):
                raise ActionError(f"nothing to capture on an order that is {status}")
            order["_outstanding"] = 0
            order["_received"] = order["_total"]
            status = "PAID"
        elif action == "fulfill":
            if old_header.cancelled:
                raise ActionError("cannot fulfill a cancelled order")
            changes["fulfillment"] = "FULFILLED"
            order["displayFulfillmentStatus"] = "FULFILLED"
        if note and action == "touch":
            order["note"] = note
        changes["financial"] = status
        order["displayFinancialStatus"] = status
        order["updatedAt"] = iso(now)
        bag = self.dataset.money_bag
        order["totalRefundedSet"] = bag(order["_refunded"])
        order["totalOutstandingSet"] = bag(order["_outstanding"])
        order["totalReceivedSet"] = bag(order["_received"])
        order["netPaymentSet"] = bag(order["_received"] - order["_refunded"])
        header = old_header.copy(**changes)
        self.overlay[index] = (header, order)
        self.version += 1
        self._counts.clear()
        return {
            "id": order["id"],
            "legacyResourceId": order["legacyResourceId"],
            "updatedAt": order["updatedAt"],
            "displayFinancialStatus": status,
            "displayFulfillmentStatus": order["displayFulfillmentStatus"],
            "cancelledAt": order["cancelledAt"],
            "totalRefunded": order["totalRefundedSet"]["shopMoney"]["amount"],
            "totalOutstanding": order["totalOutstandingSet"]["shopMoney"]["amount"],
        }

    def create(self, financial: str = "PAID", note: str | None = None) -> dict[str, Any]:
        """Place a new order now: the next generated order (index = size), open and
        unfulfilled, created and updated at the clock's now. It lives in the overlay, so
        searches and sorts see it by its real times."""
        if financial not in CREATE_STATUSES:
            raise ActionError(f"a new order is one of {', '.join(CREATE_STATUSES)}")
        index = self.size
        now = int(self.config.clock())
        header = self.dataset.header(index).copy(
            created=now, updated=now, financial=financial, fulfillment="UNFULFILLED",
            cancelled=False, cancel_reason=None, closed=False,
        )  # fmt: skip
        order = self.dataset.build(header)
        if note:
            order["note"] = note
        self.size += 1
        self.dataset.size += 1
        self.overlay[index] = (header, order)
        self.version += 1
        self._counts.clear()
        return order

    def _add_refund(
        self, order: dict[str, Any], index: int, when: int, minor: int, note: str | None
    ) -> str:
        refunds = order["_refunds"]
        if len(refunds) >= MAX_REFUNDS_PER_ORDER:
            raise ActionError("too many refunds on this order")
        refunds.append(self.dataset.refund_dict(index, len(refunds), when, minor, note))
        order["_refunded"] += minor
        return "REFUNDED" if order["_refunded"] >= order["_total"] else "PARTIALLY_REFUNDED"

    def _minor(self, amount: str) -> int:
        """A decimal amount string in the shop currency -> minor units (exact or refused)."""
        try:
            value = Decimal(str(amount)).scaleb(self.dataset.exponent)
        except InvalidOperation as exc:
            raise ActionError(f"not an amount: {amount!r}") from exc
        if not value.is_finite() or value != value.to_integral_value():
            raise ActionError(f"{amount!r} has more decimals than {self.dataset.currency} allows")
        return int(value)
