"""Shopify search syntax for the `query` argument of `orders` and `ordersCount`.

Grammar (what Shopify documents, within reason):

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          adjacent terms are ANDed
    unary   := ("NOT" | "-") unary | "(" or ")" | term
    term    := [-]field:[op]value | word        op: > >= < <= =    value: bare or '…' / "…"

Unknown fields are ignored with a warning (as Shopify does, in `extensions.search`) rather
than failing the query. A compiled query carries, besides the predicate, the base-index
interval that can contain matches, so a time range never scans orders outside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

from sandbox.shopify.data import CUSTOMER_ID_BASE, FIRST_ORDER_NUMBER, ORDER_ID_BASE, OrderHeader

# ---- syntax tree ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """`field:op value`; field None for a bare word (free text)."""

    field: str | None
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Node


Node = Term | And | Or | Not

_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_OPS = (">=", "<=", ">", "<", "=")


def _tokenize(text: str) -> list[tuple[str, Any]]:
    """Split into ("(", None), (")", None), ("OR"|"AND"|"NOT", None) and ("TERM", Term)."""
    tokens: list[tuple[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append((ch, None))
            i += 1
            continue
        if ch == "-" and i + 1 < n and text[i + 1] == "(":
            tokens.append(("NOT", None))
            i += 1
            continue
        # A word runs to whitespace or a parenthesis; quoted stretches may contain either.
        buf: list[str] = []
        colon = -1  # position in buf of the first unquoted colon
        quoted_from = -1  # position in buf where the first quoted stretch starts
        while i < n and not text[i].isspace() and text[i] not in "()":
            ch = text[i]
            if ch in "'\"":
                if quoted_from < 0:
                    quoted_from = len(buf)
                i += 1
                while i < n and text[i] != ch:
                    if text[i] == "\\" and i + 1 < n:
                        i += 1
                    buf.append(text[i])
                    i += 1
                i += 1  # the closing quote (tolerate a missing one)
                continue
            if ch == ":" and colon < 0 and quoted_from < 0:
                colon = len(buf)
            buf.append(ch)
            i += 1
        word = "".join(buf)
        if word in ("OR", "AND", "NOT") and quoted_from < 0:
            tokens.append((word, None))
            continue
        negate = word.startswith("-") and len(word) > 1 and quoted_from != 0
        if negate:
            word, colon, quoted_from = word[1:], colon - 1, quoted_from - 1
        term = _make_term(word, colon, quoted_from)
        tokens.append(("TERM", Not(term) if negate else term))
    return tokens


def _make_term(word: str, colon: int, quoted_from: int) -> Term:
    """Split `field:opvalue`; an operator counts only when it is written outside quotes."""
    if colon > 0 and _FIELD_RE.fullmatch(word[:colon]):
        field_name, rest = word[:colon].lower(), word[colon + 1 :]
        op = ":"
        for candidate in _OPS:
            unquoted = quoted_from < 0 or colon + 1 + len(candidate) <= quoted_from
            if rest.startswith(candidate) and unquoted:
                op, rest = candidate, rest[len(candidate) :]
                break
        return Term(field_name, op, rest)
    return Term(None, ":", word)


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def parse(self) -> Node | None:
        parts = []
        while self.peek() is not None:
            if self.peek() == ")":  # stray closing parenthesis: ignore, like Shopify
                self.pos += 1
                continue
            node = self.parse_or()
            if node is not None:
                parts.append(node)
        return _join(And, parts)

    def parse_or(self) -> Node | None:
        parts = [self.parse_and()]
        while self.peek() == "OR":
            self.pos += 1
            parts.append(self.parse_and())
        return _join(Or, [p for p in parts if p is not None])

    def parse_and(self) -> Node | None:
        parts = []
        while self.peek() not in (None, ")", "OR"):
            if self.peek() == "AND":
                self.pos += 1
                continue
            node = self.parse_unary()
            if node is not None:
                parts.append(node)
        return _join(And, parts)

    def parse_unary(self) -> Node | None:
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind == "NOT":
            if self.peek() in (None, ")", "OR"):
                return None
            inner = self.parse_unary()
            return None if inner is None else Not(inner)
        if kind == "(":
            inner = self.parse_or()
            if self.peek() == ")":
                self.pos += 1
            return inner
        return value


def _join(kind: type[And] | type[Or], parts: list[Node]) -> Node | None:
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else kind(tuple(parts))


def parse(text: str | None) -> Node | None:
    """Syntax tree of a search string (None for an empty one)."""
    if not text or not text.strip():
        return None
    return _Parser(_tokenize(text)).parse()


# ---- compilation ------------------------------------------------------------------------

Predicate = Callable[[OrderHeader], bool]


class SearchTarget(Protocol):
    """What compilation needs to know about the order store."""

    size: int
    timezone: tzinfo

    def time_index_range(self, attr: str, lo_us: int | None, hi_us: int | None) -> tuple[int, int]:
        """Base-order indices whose `attr` time lies in [lo_us, hi_us)."""
        ...

    def email_of(self, header: OrderHeader) -> str:
        """The order's contact email."""
        ...


@dataclass
class CompiledQuery:
    """A search ready to run: predicate (None = everything), index bounds, warnings."""

    predicate: Predicate | None
    bounds: tuple[int, int]
    # True when every base order inside `bounds` matches, so counting needs no scan.
    base_exact: bool
    warnings: list[dict[str, str]] = field(default_factory=list)


_FINANCIAL_VALUES: dict[str, frozenset[str]] = {
    "paid": frozenset({"PAID"}),
    "pending": frozenset({"PENDING"}),
    "authorized": frozenset({"AUTHORIZED"}),
    "partially_paid": frozenset({"PARTIALLY_PAID"}),
    "partially_refunded": frozenset({"PARTIALLY_REFUNDED"}),
    "refunded": frozenset({"REFUNDED"}),
    "voided": frozenset({"VOIDED"}),
    "expired": frozenset({"EXPIRED"}),
    "unpaid": frozenset({"PENDING", "AUTHORIZED", "PARTIALLY_PAID"}),
}
_FULFILLMENT_VALUES: dict[str, frozenset[str]] = {
    "shipped": frozenset({"FULFILLED"}),
    "fulfilled": frozenset({"FULFILLED"}),
    "partial": frozenset({"PARTIALLY_FULFILLED"}),
    "partially_fulfilled": frozenset({"PARTIALLY_FULFILLED"}),
    "unshipped": frozenset({"UNFULFILLED"}),
    "unfulfilled": frozenset({"UNFULFILLED"}),
    **{
        name.lower(): frozenset({name})
        for name in (
            "RESTOCKED", "PENDING_FULFILLMENT", "OPEN", "IN_PROGRESS", "ON_HOLD",
            "SCHEDULED", "REQUEST_DECLINED",
        )
    },
}  # fmt: skip
_TIME_FIELDS = {"created_at": "created", "processed_at": "created", "updated_at": "updated"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def _us(moment: datetime) -> int:
    """Exact epoch microseconds (no float)."""
    return (moment - _EPOCH) // _ONE_US


def time_interval(op: str, value: str, tz: tzinfo) -> tuple[int | None, int | None] | None:
    """[lo, hi) in epoch microseconds for `op value`; None when the value is no time.

    A bare date means the whole day in the shop's time zone, so `<=2024-01-31` includes
    that day and `>2024-01-31` starts the next one."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
            start = _us(datetime.combine(day, time(), tz))
            end = _us(datetime.combine(day + timedelta(days=1), time(), tz))
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
            start = _us(moment)
            end = start + 1
    except ValueError:
        return None
    if op in (":", "="):
        return start, end
    return {">=": (start, None), ">": (end, None), "<": (None, start), "<=": (None, end)}[op]


class _Compiler:
    def __init__(self, target: SearchTarget, query: str) -> None:
        self.target = target
        self.query = query
        self.full = (0, target.size)
        self.warnings: list[dict[str, str]] = []

    def warn(self, field_name: str, message: str) -> None:
        entry = {"field": field_name, "message": message}
        if entry not in self.warnings:
            self.warnings.append(entry)

    def nothing(self) -> tuple[Predicate | None, tuple[int, int], bool]:
        return (lambda h: False), (0, 0), True

    def compile(self, node: Node) -> tuple[Predicate | None, tuple[int, int], bool]:
        if isinstance(node, Term):
            return self.term(node)
        if isinstance(node, Not):
            pred, _bounds, _exact = self.compile(node.part)
            if pred is None:
                return self.nothing()
            return (lambda h: not pred(h)), self.full, False
        children = [self.compile(part) for part in node.parts]
        if isinstance(node, And):
            preds = [c[0] for c in children if c[0] is not None]
            lo = max(c[1][0] for c in children)
            hi = min(c[1][1] for c in children)
            exact = all(c[2] for c in children)
            return _all(preds), (lo, max(lo, hi)), exact
        # Or: a child that matches everything makes the whole disjunction match everything.
        if any(c[0] is None for c in children):
            return None, self.full, True
        preds = [c[0] for c in children]
        live = [c[1] for c in children if c[1][0] < c[1][1]]
        bounds = (min(b[0] for b in live), max(b[1] for b in live)) if live else (0, 0)
        return (lambda h: any(p(h) for p in preds)), bounds, False

    def term(self, term: Term) -> tuple[Predicate | None, tuple[int, int], bool]:
        name, op, raw = term.field, term.op, term.value
        value = raw.strip().lower()
        if name is None:
            return self.free_text(value)
        if name in _TIME_FIELDS:
            attr = _TIME_FIELDS[name]
            interval = time_interval(op, raw, self.target.timezone)
            if interval is None:
                self.warn(name, f"Invalid timestamp for query filter `{name}`.")
                return None, self.full, True
            lo, hi = interval
            lo_s = lo if lo is not None else -(1 << 62)
            hi_s = hi if hi is not None else 1 << 62

            def in_range(h: OrderHeader) -> bool:
                return lo_s <= getattr(h, attr) * 1_000_000 < hi_s

            return in_range, self.target.time_index_range(attr, lo, hi), True
        if name == "financial_status":
            return self.enum_term(name, value, _FINANCIAL_VALUES, "financial")
        if name == "fulfillment_status":
            return self.enum_term(name, value, _FULFILLMENT_VALUES, "fulfillment")
        if name == "status":
            checks: dict[str, Predicate] = {
                "open": lambda h: not h.closed and not h.cancelled,
                "closed": lambda h: h.closed,
                "cancelled": lambda h: h.cancelled,
            }
            if value == "any":
                return None, self.full, True
            if value not in checks:
                self.warn(name, f"Invalid value '{raw}' for `status`.")
                return self.nothing()
            return checks[value], self.full, False
        if name == "id":
            return self.id_term(op, value)
        if name == "name":
            number = value.lstrip("#")
            if not number.isdigit():
                return self.nothing()
            index = int(number) - FIRST_ORDER_NUMBER
            return self.index_interval(index, index + 1)
        if name == "email":
            if value.endswith("*"):
                prefix = value[:-1]
                return (lambda h: self.target.email_of(h).startswith(prefix)), self.full, False
            return (lambda h: self.target.email_of(h) == value), self.full, False
        if name == "customer_id":
            legacy = value.rsplit("/", 1)[-1]
            if not legacy.isdigit():
                return self.nothing()
            k = int(legacy) - CUSTOMER_ID_BASE
            return (lambda h: h.customer == k), self.full, False
        if name == "gateway":
            return (lambda h: h.gateway == value), self.full, False
        if name == "test":
            wanted = value == "true"
            return (lambda h: h.test is wanted), self.full, False
        if name == "tag":
            return (lambda h: value in h.tags), self.full, False
        if name == "tag_not":
            return (lambda h: value not in h.tags), self.full, False
        self.warn(name, "Invalid search field for this query.")
        return None, self.full, True

    def enum_term(
        self, name: str, value: str, table: dict[str, frozenset[str]], attr: str
    ) -> tuple[Predicate | None, tuple[int, int], bool]:
        if value == "any":
            return None, self.full, True
        allowed = table.get(value)
        if allowed is None:
            self.warn(name, f"Invalid value '{value}' for `{name}`.")
            return self.nothing()
        return (lambda h: getattr(h, attr) in allowed), self.full, False

    def id_term(self, op: str, value: str) -> tuple[Predicate | None, tuple[int, int], bool]:
        legacy = value.rsplit("/", 1)[-1]
        if not legacy.isdigit():
            self.warn("id", f"Invalid value '{value}' for `id`.")
            return self.nothing()
        index = int(legacy) - ORDER_ID_BASE
        lo, hi = {
            ":": (index, index + 1), "=": (index, index + 1), ">": (index + 1, None),
            ">=": (index, None), "<": (None, index), "<=": (None, index + 1),
        }[op]  # fmt: skip
        return self.index_interval(lo, hi)

    def index_interval(
        self, lo: int | None, hi: int | None
    ) -> tuple[Predicate | None, tuple[int, int], bool]:
        size = self.target.size
        lo_c = min(size, max(0, lo if lo is not None else 0))
        hi_c = min(size, max(lo_c, hi if hi is not None else size))
        return (lambda h: lo_c <= h.index < hi_c), (lo_c, hi_c), True

    def free_text(self, value: str) -> tuple[Predicate | None, tuple[int, int], bool]:
        needle = value.lstrip("#")

        def matches(h: OrderHeader) -> bool:
            name = str(FIRST_ORDER_NUMBER + h.index)
            return needle in name or needle in self.target.email_of(h)

        return matches, self.full, False


def _all(preds: list[Predicate]) -> Predicate | None:
    if not preds:
        return None
    if len(preds) == 1:
        return preds[0]
    return lambda h: all(p(h) for p in preds)


def compile_query(text: str | None, target: SearchTarget) -> CompiledQuery:
    """Parse and compile a search string against the store."""
    node = parse(text)
    if node is None:
        return CompiledQuery(None, (0, target.size), True)
    compiler = _Compiler(target, text or "")
    predicate, bounds, exact = compiler.compile(node)
    return CompiledQuery(predicate, bounds, exact, compiler.warnings)
