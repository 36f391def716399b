"""Xero's `where` and `order` parameters, evaluated over records as rendered.

`where` is Xero's C#-like filter: comparisons (`== != > >= < <=`) joined by `AND`/`OR`
(or `&&`/`||`), `NOT`/`!`, parentheses; dotted fields (`Contact.ContactID`); literals
`"text"`, numbers, `true`/`false`/`null`, `DateTime(2024,01,31)`, `Guid("...")`; string
methods `.Contains("x")`, `.StartsWith("x")`, `.EndsWith("x")`, `.ToLower()`, `.ToUpper()`.
Strings compare without regard to case. Anything else is a QueryParseError (HTTP 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.xero.render import parse_ms

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>==|!=|>=|<=|&&|\|\||[><!(),.])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""", re.VERBOSE)  # fmt: skip
_METHODS = ("Contains", "StartsWith", "EndsWith", "ToLower", "ToUpper")


class QueryParseError(ValueError):
    """The `where` or `order` text cannot be understood."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        found = _TOKEN.match(text, position)
        if not found or found.end() == position:
            raise QueryParseError(f"Syntax error at position {position} in '{text}'")
        kind = found.lastgroup or ""
        out.append((kind, found.group(kind)))
        position = found.end()
    return out


def _value(raw: Any) -> Any:
    """A record value made comparable: `/Date(...)/` to datetime, text kept as is."""
    if isinstance(raw, str):
        moment = parse_ms(raw)
        return moment if moment is not None else raw
    if isinstance(raw, bool) or raw is None:
        return raw
    if isinstance(raw, int | Decimal):
        return Decimal(raw)
    return raw


def lookup(record: Record, path: str) -> Any:
    """The value at a dotted path (None when any step is missing)."""
    current: Any = record
    for step in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = next((v for k, v in current.items() if k.lower() == step.lower()), None)
    return _value(current)


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if left is None or right is None:
        return False
    try:
        if op == ">":
            return left > right
        if op == ">=":
            return left >= right
        if op == "<":
            return left < right
        return left <= right
    except TypeError:
        return False


class _Parser:
    """Recursive descent, one method per rule: or_ -> and_ -> not_ -> comparison ->
    operand (literal, or a dotted field with string methods)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryParseError(f"Unexpected end of expression in '{self.text}'")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        kind, text = self.take()
        if text != value:
            raise QueryParseError(f"Expected '{value}' but found '{text}' in '{self.text}'")

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token[1].upper() in words:
            self.pos += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.or_()
        if self.peek() is not None:
            raise QueryParseError(f"Unexpected '{self.peek()[1]}' in '{self.text}'")  # type: ignore[index]
        return predicate

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.keyword("OR", "||"):
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_(self) -> Predicate:
        parts = [self.not_()]
        while self.keyword("AND", "&&"):
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def not_(self) -> Predicate:
        if self.keyword("NOT", "!"):
            inner = self.not_()
            return lambda r: not inner(r)
        return self.comparison()

    def comparison(self) -> Predicate:
        token = self.peek()
        if token is not None and token[1] == "(":
            self.take()
            inner = self.or_()
            self.expect(")")
            return inner
        left = self.operand()
        token = self.peek()
        if token is not None and token[1] in ("==", "!=", ">", ">=", "<", "<="):
            op = self.take()[1]
            right = self.operand()
            return lambda r: _compare(left(r), op, right(r))
        return lambda r: left(r) is True

    def operand(self) -> Callable[[Record], Any]:
        kind, text = self.take()
        if kind == "string":
            value = bytes(text[1:-1], "utf-8").decode("unicode_escape")
            return lambda _r: value
        if kind == "number":
            try:
                number = Decimal(text)
            except InvalidOperation as exc:  # pragma: no cover - the regex allows digits only
                raise QueryParseError(f"Bad number {text}") from exc
            return lambda _r: number
        if kind != "name":
            raise QueryParseError(f"Unexpected '{text}' in '{self.text}'")
        word = text.lower()
        if word in ("true", "false"):
            flag = word == "true"
            return lambda _r: flag
        if word == "null":
            return lambda _r: None
        if text == "DateTime":
            moment = self.datetime_literal()
            return lambda _r: moment
        if text in ("Guid", "GUID"):
            self.expect("(")
            kind, raw = self.take()
            if kind != "string":
                raise QueryParseError(f"Guid() needs a quoted value in '{self.text}'")
            self.expect(")")
            guid = raw[1:-1].lower()
            return lambda _r: guid
        path = [text]
        transforms: list[Callable[[Any], Any]] = []
        while self.peek() is not None and self.peek()[1] == ".":  # type: ignore[index]
            self.take()
            kind, name = self.take()
            if kind != "name":
                raise QueryParseError(f"Expected a field after '.' in '{self.text}'")
            if name in _METHODS:
                transforms.append(self.method(name))
            elif transforms:
                raise QueryParseError(f"No field '{name}' after a method in '{self.text}'")
            else:
                path.append(name)
        dotted = ".".join(path)

        def get(record: Record) -> Any:
            value = lookup(record, dotted)
            for transform in transforms:
                value = transform(value)
            return value

        return get

    def method(self, name: str) -> Callable[[Any], Any]:
        self.expect("(")
        if name in ("ToLower", "ToUpper"):
            self.expect(")")
            return (lambda v: v.lower() if isinstance(v, str) else v) if name == "ToLower" \
                else (lambda v: v.upper() if isinstance(v, str) else v)
        kind, raw = self.take()
        if kind != "string":
            raise QueryParseError(f"{name}() needs a quoted value in '{self.text}'")
        self.expect(")")
        needle = raw[1:-1].lower()
        if name == "Contains":
            return lambda v: isinstance(v, str) and needle in v.lower()
        if name == "StartsWith":
            return lambda v: isinstance(v, str) and v.lower().startswith(needle)
        return lambda v: isinstance(v, str) and v.lower().endswith(needle)

    def datetime_literal(self) -> datetime:
        self.expect("(")
        parts: list[int] = []
        while True:
            kind, text = self.take()
            if kind != "number":
                raise QueryParseError(f"DateTime() takes numbers in '{self.text}'")
            parts.append(int(text))
            kind, text = self.take()
            if text == ")":
                break
            if text != ",":
                raise QueryParseError(f"Expected ',' in DateTime() in '{self.text}'")
        if len(parts) not in (3, 6):
            raise QueryParseError(f"DateTime() takes 3 or 6 numbers in '{self.text}'")
        try:
            return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]
        except ValueError as exc:
            raise QueryParseError(f"Invalid DateTime in '{self.text}': {exc}") from exc


def parse_where(text: str) -> Predicate:
    """A predicate over rendered records for a `where` expression."""
    if not text.strip():
        return lambda _r: True
    return _Parser(text).parse()


_ORDER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)(?:\s+(ASC|DESC))?\s*$", re.IGNORECASE)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, Decimal):
        return (2, value)
    if isinstance(value, datetime):
        return (3, value)
    return (4, str(value).lower())


def apply_order(records: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """`records` sorted by an `order` parameter ("Date DESC, InvoiceNumber"); stable."""
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        found = _ORDER.match(part)
        if not found:
            raise QueryParseError(f"Cannot order by '{part.strip()}'")
        keys.append((found.group(1), (found.group(2) or "ASC").upper() == "DESC"))
    out = list(records)
    for path, descending in reversed(keys):
        out.sort(key=lambda r, p=path: _sort_key(lookup(r, p)), reverse=descending)
    return out
