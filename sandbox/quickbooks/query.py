"""QuickBooks' query language, as much of it as the Accounting API accepts:

    SELECT * | COUNT(*) | f1, f2 FROM Entity
        [WHERE field op value [AND field op value ...]]
        [ORDERBY field [ASC|DESC] [, ...]] [STARTPOSITION n] [MAXRESULTS n]

with op one of = < > <= >= IN (v, ...) LIKE '%text%'; values are 'strings' (backslash
escapes a quote), numbers, true and false. Keywords are case-insensitive, there is no OR
and no parenthesised expression, exactly as Intuit's parser. Errors carry the fault code
QuickBooks uses (4000 parse error, 4001 invalid query).

A hand-written tokenizer and parser: the grammar is a dozen tokens, smaller than the glue a
parser library would need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

QUERYABLE = frozenset(name.lower() for name in (
    "Id", "SyncToken", "MetaData.CreateTime", "MetaData.LastUpdatedTime", "Active", "Name",
    "FullyQualifiedName", "DisplayName", "GivenName", "FamilyName", "CompanyName",
    "PrimaryEmailAddr", "AccountType", "AccountSubType", "Classification", "CurrentBalance",
    "ParentRef", "SubAccount", "AcctNum", "Type", "Sku", "Taxable", "Balance", "CurrencyRef",
    "TxnDate", "DueDate", "DocNumber", "TotalAmt", "CustomerRef", "VendorRef",
    "DepositToAccountRef", "APAccountRef", "AccountRef", "PaymentType", "PayType",
    "TxnStatus", "AgencyRef", "RateValue", "TaxGroup", "Taxable",
))  # fmt: skip

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),*])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""", re.VERBOSE)
_KEYWORDS = frozenset({"select", "from", "where", "and", "orderby", "asc", "desc",
                       "startposition", "maxresults", "in", "like", "count", "true",
                       "false", "or", "not"})  # fmt: skip


class QueryError(Exception):
    """A query QuickBooks refuses: `code` 4000 (cannot parse) or 4001 (invalid)."""

    def __init__(self, code: str, message: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.message, self.detail = code, message, detail


def _parse_error(detail: str) -> QueryError:
    return QueryError("4000", "Error parsing query", f"QueryParserError: {detail}")


def _invalid(detail: str) -> QueryError:
    return QueryError("4001", "Invalid query", f"QueryValidationError: {detail}")


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token and its 1-based column (for QueryParserError messages)."""

    kind: str  # string | number | op | punct | word | keyword | end
    text: str
    column: int

    @property
    def upper(self) -> str:
        """The token text in upper case."""
        return self.text.upper()


@dataclass(frozen=True, slots=True)
class Condition:
    """One WHERE test: field, operator and its literal value(s)."""

    field: str
    op: str  # = < > <= >= in like
    values: tuple[Any, ...]


@dataclass
class Query:
    """A parsed query."""

    entity: str
    count: bool = False
    fields: tuple[str, ...] | None = None  # None = *
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start_position: int = 1
    max_results: int | None = None


def tokenize(text: str) -> list[Token]:
    """Tokens of a query; unknown characters are a parse error."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            column = pos + 1 + (len(text[pos:]) - len(text[pos:].lstrip()))
            raise _parse_error(f"Lexical error at line 1, column {column}.  Encountered: "
                               f"\"{text[column - 1]}\"")  # fmt: skip
        kind = match.lastgroup or "word"
        value, column = match.group(kind), match.start(kind) + 1
        if kind == "word" and value.lower() in _KEYWORDS:
            kind = "keyword"
        tokens.append(Token(kind, value, column))
        pos = match.end()
    tokens.append(Token("end", "<EOF>", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def fail(self, expecting: str) -> QueryError:
        token = self.peek()
        return _parse_error(f"Encountered \" {token.text} \" at line 1, column {token.column}."
                            f"\nWas expecting: {expecting}")  # fmt: skip

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "keyword" and token.text.lower() == word:
            self.pos += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise self.fail(f'"{word.upper()}"')

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token.kind == "punct" and token.text == char:
            self.pos += 1
            return True
        return False

    def name(self) -> str:
        token = self.peek()
        if token.kind != "word":
            raise self.fail("<ID>")
        self.pos += 1
        return token.text

    def integer(self) -> int:
        token = self.peek()
        if token.kind != "number" or "." in token.text or token.text.startswith("-"):
            raise self.fail("<INTEGER>")
        self.pos += 1
        return int(token.text)

    def value(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind == "keyword" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        self.pos -= 1
        raise self.fail("<STRING> | <NUMBER> | true | false")

    def parse(self) -> Query:
        self.expect_keyword("select")
        count, fields = False, None
        if self.punct("*"):
            pass
        elif self.keyword("count"):
            if not (self.punct("(") and self.punct("*") and self.punct(")")):
                raise self.fail('"(*)"')
            count = True
        else:
            names = [self.name()]
            while self.punct(","):
                names.append(self.name())
            fields = tuple(names)
        self.expect_keyword("from")
        query = Query(entity=self.name(), count=count, fields=fields)
        if self.keyword("where"):
            query.where.append(self.condition())
            while self.keyword("and"):
                query.where.append(self.condition())
            if self.peek().kind == "keyword" and self.peek().text.lower() == "or":
                raise self.fail('"AND" (QuickBooks queries have no OR)')
        if self.keyword("orderby"):
            while True:
                name = self.name()
                descending = False
                if self.keyword("desc"):
                    descending = True
                else:
                    self.keyword("asc")
                query.order.append((name, descending))
                if not self.punct(","):
                    break
        if self.keyword("startposition"):
            query.start_position = self.integer()
        if self.keyword("maxresults"):
            query.max_results = self.integer()
        if self.peek().kind != "end":
            raise self.fail("<EOF>")
        return query

    def condition(self) -> Condition:
        name = self.name()
        token = self.peek()
        if token.kind == "op":
            self.pos += 1
            if token.text in ("!=", "<>"):
                raise _parse_error(f"Encountered \" {token.text} \" at line 1, column "
                                   f"{token.column}. Operator not supported")  # fmt: skip
            return Condition(name, token.text, (self.value(),))
        if self.keyword("in"):
            if not self.punct("("):
                raise self.fail('"("')
            values = [self.value()]
            while self.punct(","):
                values.append(self.value())
            if not self.punct(")"):
                raise self.fail('")"')
            return Condition(name, "in", tuple(values))
        if self.keyword("like"):
            value = self.value()
            if not isinstance(value, str):
                raise self.fail("<STRING>")
            return Condition(name, "like", (value,))
        raise self.fail('"=" | "<" | ">" | "<=" | ">=" | "IN" | "LIKE"')


def parse_query(text: str) -> Query:
    """Parse a query (QueryError when QuickBooks would refuse its syntax)."""
    if not text or not text.strip():
        raise _parse_error("Encountered \"<EOF>\" at line 1, column 1.")
    return _Parser(text).parse()


def validate(query: Query, max_results_cap: int) -> None:
    """Field, paging and value checks QuickBooks makes after parsing."""
    for name in [c.field for c in query.where] + [name for name, _ in query.order]:
        if name.lower() not in QUERYABLE:
            raise _invalid(f"property '{name}' is not queryable")
    if query.start_position < 1:
        raise _invalid("STARTPOSITION must be 1 or more")
    if query.max_results is not None and not 0 < query.max_results <= max_results_cap:
        raise _invalid(f"MAXRESULTS must be between 1 and {max_results_cap}, got "
                       f"{query.max_results}")  # fmt: skip


# ---- evaluation ----------------------------------------------------------------------------


def lookup(record: dict[str, Any], path: str) -> Any:
    """A (dotted, case-insensitive) field of a record; a reference gives its value."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
            continue
        lowered = part.lower()
        value = next((v for k, v in value.items() if k.lower() == lowered), None)
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    if isinstance(value, dict) and "Address" in value:
        return value["Address"]
    return value


def _as_datetime(text: str) -> datetime | None:
    if "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """The two sides in one comparable type, or None when they cannot be compared."""
    if left is None:
        return None
    if isinstance(right, bool) or isinstance(left, bool):
        return (left, right) if isinstance(left, bool) and isinstance(right, bool) else None
    if isinstance(right, Decimal):
        try:
            return Decimal(str(left)), right
        except InvalidOperation:
            return None
    if isinstance(left, str) and isinstance(right, str):
        left_dt, right_dt = _as_datetime(left), _as_datetime(right)
        if left_dt is not None and right_dt is not None:
            return left_dt, right_dt
        if left.isdigit() and right.isdigit():
            return int(left), int(right)
        return left, right
    if isinstance(left, Decimal | int) and isinstance(right, str):
        try:
            return Decimal(left), Decimal(right)
        except InvalidOperation:
            return None
    return None


def _like(value: Any, pattern: str) -> bool:
    if not isinstance(value, str):
        return False
    regex = "".join(".*" if ch == "%" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, flags=re.IGNORECASE | re.DOTALL) is not None


def matches(record: dict[str, Any], conditions: list[Condition]) -> bool:
    """True when the record satisfies every condition."""
    for cond in conditions:
        value = lookup(record, cond.field)
        if cond.op == "like":
            if not _like(value, cond.values[0]):
                return False
            continue
        if cond.op == "in":
            if not any(_compare(value, "=", v) for v in cond.values):
                return False
            continue
        if not _compare(value, cond.op, cond.values[0]):
            return False
    return True


def _compare(value: Any, op: str, literal: Any) -> bool:
    pair = _comparable(value, literal)
    if pair is None:
        return False
    left, right = pair
    try:
        if op == "=":
            return bool(left == right)
        if op == "<":
            return bool(left < right)
        if op == ">":
            return bool(left > right)
        if op == "<=":
            return bool(left <= right)
        return bool(left >= right)
    except TypeError:
        return False


def sort_key(record: dict[str, Any], name: str) -> tuple[int, Any]:
    """Sort key of one field (numbers numerically, times as instants, absent last)."""
    value = lookup(record, name)
    if value is None:
        return (3, "")
    if isinstance(value, bool):
        return (0, Decimal(int(value)))
    if isinstance(value, Decimal | int):
        return (0, Decimal(value))
    text = str(value)
    if text.isdigit():
        return (0, Decimal(text))
    moment = _as_datetime(text)
    if moment is not None:
        return (1, moment.timestamp())
    return (2, text.lower())


def mentions(query: Query, name: str) -> bool:
    """True when the WHERE clause tests this field."""
    return any(c.field.lower() == name.lower() for c in query.where)


def project(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """A sparse record with just the selected top-level fields (plus Id)."""
    wanted = {f.split(".")[0].lower() for f in fields} | {"id"}
    out = {k: v for k, v in record.items() if k.lower() in wanted}
    out["domain"] = record.get("domain", "QBO")
    out["sparse"] = True
    return out
