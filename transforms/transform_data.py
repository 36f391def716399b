"""POST /v1/integrations/transform-data: the pure engine the endpoint calls.

    result = transform_data("csv", "bigledger_customer", mapping, data)   # records as dicts
    for part in transform_data_json("csv", "bigledger_customer", mapping, data): ...  # bytes

reads the data (transforms.tabular_sources), checks and applies the mapping column-wise
(transforms.data_mapping), assembles nested records (dotted paths; `lines.*` rows grouped
by the format's key) and validates them against the target model
(transforms.target_formats). A file or mapping that cannot work raises ValidationFailed /
DataMappingError before anything is produced; a bad value is a RowError and its row (with
every row of the same record) is left out of `records`.

Flat formats (customers, vendors, products, accounts) are read and checked in chunks, so
memory does not grow with the file. transform_data_json validates them a column at a time
with each field's own pydantic schema (target_formats.column_model) and writes the JSON of
the records straight from the columns; a row the columns cannot vouch for (a bad value, a
missing required field, a broken model rule) goes through the model like every row of
transform_data does, and the answer is the same, byte for byte. Formats with lines group
rows from anywhere in the file, so they are read whole and validated record by record.

Rows are numbered 1, 2, ... from the first data row; the header is not counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from transforms.data_mapping import (
    MappedColumns,
    MappingPlan,
    RowError,
    apply_mapping,
    check_columns,
    parse_mapping,
)
from transforms.tabular_sources import CHUNK_ROWS, open_source
from transforms.target_formats import (
    NO_DEFAULT,
    ColumnField,
    ColumnModel,
    TargetFormat,
    column_model,
    get_target_format,
)

DEFAULT_MAX_ROWS = 1_000_000
DEFAULT_MAX_ERRORS = 1_000


@dataclass(slots=True)
class TransformResult:
    """Valid records (camelCase dicts of Decimal/int/str/bool/date, never float), the
    per-row errors (at most max_errors listed; the summary counts all) and the summary."""

    records: list[dict[str, Any]]
    errors: list[RowError]
    summary: dict[str, Any]
    record_rows: list[list[int]] = field(default_factory=list)  # source rows of each record

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: amounts as decimal strings (exact), dates as ISO 8601."""
        return {
            "records": [jsonable(r) for r in self.records],
            "errors": [e.to_dict() for e in self.errors],
            "summary": self.summary,
        }


def jsonable(value: Any) -> Any:
    """Decimal -> str, date/datetime -> ISO text, recursively; everything else as is."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# The API's JSON: what its response class writes (compact, UTF-8, no NaN).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """`value` as the API writes it (after jsonable)."""
    return _ENCODER.encode(jsonable(value))


def transform_data(
    source_format: str,
    target_format: str,
    mapping: Mapping[str, Any],
    data: Any,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_errors: int = DEFAULT_MAX_ERRORS,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    chunk_rows: int | None = None,
) -> TransformResult:
    """Transform `data` in `source_format` into `target_format` records through `mapping`,
    every record validated by its model; the records are kept (for tests and loading)."""
    run = TransformRun(source_format, target_format, mapping, data, max_rows=max_rows,
                       max_errors=max_errors, delimiter=delimiter, sheet=sheet,
                       chunk_rows=chunk_rows)  # fmt: skip
    records: list[dict[str, Any]] = []
    record_rows: list[list[int]] = []
    for chunk in run.chunks(column_wise=False):
        records += chunk.records or []
        record_rows += chunk.record_rows
    return TransformResult(records, run.errors(), run.summary(), record_rows)


def transform_data_json(
    source_format: str,
    target_format: str,
    mapping: Mapping[str, Any],
    data: Any,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_errors: int = DEFAULT_MAX_ERRORS,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    chunk_rows: int | None = None,
    on_records: Callable[[list[dict[str, Any]]], None] | None = None,
    tail: Callable[[], Mapping[str, Any]] | None = None,
) -> Iterator[bytes]:
    """The answer's `data` object, {"records": [...], "errors": [...], "summary": {...}}, as
    UTF-8 JSON in parts, one chunk of rows at a time: the same bytes as dumps(
    transform_data(...).to_dict()). A bad mapping or file raises here, before any part.

    on_records gets each chunk's valid records as dicts (for loading; those chunks are then
    validated record by record); tail's items are written after the summary. chunk_rows:
    rows per chunk (default CHUNK_ROWS; the answer is the same for any size)."""
    run = TransformRun(source_format, target_format, mapping, data, max_rows=max_rows,
                       max_errors=max_errors, delimiter=delimiter, sheet=sheet,
                       chunk_rows=chunk_rows)  # fmt: skip
    return _json_parts(run, on_records, tail)


def _json_parts(run: TransformRun, on_records: Callable[[list[dict[str, Any]]], None] | None,
                tail: Callable[[], Mapping[str, Any]] | None) -> Iterator[bytes]:  # fmt: skip
    yield b'{"records":['
    first = True
    for chunk in run.chunks(column_wise=on_records is None):
        if on_records is not None and chunk.records:
            on_records(chunk.records)
        if chunk.json:
            yield (chunk.json if first else "," + chunk.json).encode("utf-8")
            first = False
    errors = ",".join(_ENCODER.encode(e.to_dict()) for e in run.errors())
    end = f'],"errors":[{errors}],"summary":{_ENCODER.encode(run.summary())}'
    for key, value in (tail() if tail is not None else {}).items():
        end += f",{_ENCODER.encode(key)}:{dumps(value)}"
    yield (end + "}").encode("utf-8")


@dataclass(slots=True)
class Chunk:
    """One chunk's output: its valid records as JSON texts joined by commas, and (when
    validated record by record) the records and their source rows."""

    json: str
    count: int
    records: list[dict[str, Any]] | None = None
    record_rows: list[list[int]] = field(default_factory=list)


class TransformRun:
    """One transform over a checked source: chunks() maps and validates the rows chunk by
    chunk; errors() and summary() are complete once every chunk has been read."""

    def __init__(self, source_format: str, target_format: str, mapping: Mapping[str, Any],
                 data: Any, *, max_rows: int | None, max_errors: int,
                 delimiter: str | None = None, sheet: str | int | None = None,
                 chunk_rows: int | None = None) -> None:  # fmt: skip
        fmt = get_target_format(target_format)
        self.plan = parse_mapping(mapping, fmt)  # a broken mapping fails before the data is read
        self.source = open_source(source_format, data, max_rows=max_rows, delimiter=delimiter,
                                  sheet=sheet)  # fmt: skip
        check_columns(self.plan, self.source.columns)
        self.format = fmt
        self.max_errors = max_errors
        self.log = _ErrorLog(max_errors)
        self.grouped = bool(fmt.lines_field and any(
            r.target.startswith(f"{fmt.lines_field}.") for r in self.plan.rules))  # fmt: skip
        # Rows grouped into one record may lie anywhere in the file: read it whole.
        self.chunk_rows = None if self.grouped else (chunk_rows or CHUNK_ROWS)
        self.rows = 0
        self.failed = 0
        self.records = 0

    def chunks(self, *, column_wise: bool) -> Iterator[Chunk]:
        """Every chunk's output, in row order."""
        writer = None
        if column_wise and not self.grouped:
            writer = _ColumnWriter.build(self.format, self.plan)
        for frame in self.source.chunks(self.chunk_rows):
            mapped = apply_mapping(self.plan, frame, max_errors=self.max_errors)
            self.log.add_mapping(mapped)
            rows = frame.index.to_numpy()
            bad = mapped.bad_rows.copy()
            if writer is not None:
                chunk = writer.write(mapped, rows, bad, self.log.add)
            elif self.grouped:
                chunk = _grouped_chunk(self.format, mapped, rows, bad, self.log.add)
            else:
                chunk = _flat_chunk(self.format, mapped, rows, bad, self.log.add)
            self.rows += len(rows)
            self.failed += int(bad.sum())
            self.records += chunk.count
            yield chunk

    def errors(self) -> list[RowError]:
        """The errors listed, by row (a row's errors in mapping order)."""
        return self.log.listed()

    def summary(self) -> dict[str, Any]:
        """The counts of the whole run."""
        listed = self.log.listed()
        return {
            "sourceRows": self.rows,
            "rows": self.rows,
            "transformed": self.rows - self.failed,
            "failed": self.failed,
            "records": self.records,
            "errors": self.log.total,
            "errorsListed": len(listed),
            "errorsByField": self.log.by_field(self.plan),
            "targetFormat": self.format.name,
        }


class _ErrorLog:
    """The errors of every chunk, listed as one pass over the whole file lists them: the
    mapping's errors rule by rule and step by step, then the records' (at most max_errors
    in all, then sorted by row); memory stays within max_errors per rule and step."""

    def __init__(self, max_errors: int) -> None:
        self.max_errors = max_errors
        self.total = 0
        self._mapping: dict[tuple[int, int], list[RowError]] = {}
        self._mapping_by_field: dict[str, int] = {}
        self._records: list[RowError] = []
        self._records_by_field: dict[str, int] = {}

    def add_mapping(self, mapped: MappedColumns) -> None:
        for error, step in zip(mapped.errors, mapped.error_steps, strict=True):
            listed = self._mapping.setdefault(step, [])
            if len(listed) < self.max_errors:
                listed.append(error)
        for name, count in mapped.errors_by_field.items():
            self._mapping_by_field[name] = self._mapping_by_field.get(name, 0) + count
        self.total += mapped.error_count

    def add(self, error: RowError) -> None:
        self.total += 1
        self._records_by_field[error.field] = self._records_by_field.get(error.field, 0) + 1
        if len(self._records) < self.max_errors:
            self._records.append(error)

    def listed(self) -> list[RowError]:
        errors = [e for step in sorted(self._mapping) for e in self._mapping[step]]
        errors = (errors + self._records)[: self.max_errors]
        errors.sort(key=lambda e: e.row)  # stable: a row's errors keep mapping order
        return errors

    def by_field(self, plan: MappingPlan) -> dict[str, int]:
        counts = {r.target: self._mapping_by_field[r.target] for r in plan.rules
                  if r.target in self._mapping_by_field}  # fmt: skip
        for name, count in self._records_by_field.items():
            counts[name] = counts.get(name, 0) + count
        return counts


# --- column by column ---------------------------------------------------------------------

_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')
# The bytes JSON escapes (in UTF-8 they never occur inside a multi-byte character).
_UNSAFE = np.zeros(256, dtype=bool)
_UNSAFE[[*range(0x20), ord('"'), ord("\\")]] = True


@dataclass(slots=True)
class _Leaf:
    field: ColumnField
    node: int  # index of its object in _ColumnWriter.nodes; 0 = the record
    mapped: bool
    key: str  # JSON of the key


@dataclass(slots=True)
class _Node:
    model: ColumnModel
    parent: int  # -1 for the record
    key: str
    items: list[tuple[str, int]] = field(default_factory=list)  # ("leaf"|"node", index)


class _ColumnWriter:
    """A flat format checked a column at a time with each field's own schema, and its
    records written as JSON straight from the columns.

    A row is clean when every value it has passes its field's check, every required field
    has a value and the model's rules hold: the model would accept it as it is, so its JSON
    is its columns'. Any other row is validated as a record (the same errors, the same JSON
    as transform_data); a clean row with a mapping error is left out without another word,
    as the record path would leave it."""

    def __init__(self, fmt: TargetFormat, leaves: list[_Leaf], nodes: list[_Node],
                 constants: set[str]) -> None:  # fmt: skip
        self.format = fmt
        self.leaves = leaves
        self.nodes = nodes
        self.constants = constants
        self._separators: dict[tuple[tuple[bool, ...], tuple[bool, ...]], list[str]] = {}

    @classmethod
    def build(cls, fmt: TargetFormat, plan: MappingPlan) -> _ColumnWriter | None:
        """The writer for `plan`, or None when its records need validating one by one."""
        model = column_model(fmt)
        if model is None:
            return None
        targets = {r.target for r in plan.rules}
        leaves: list[_Leaf] = []
        nodes = [_Node(model, -1, "")]

        def walk(index: int) -> bool:
            for item in nodes[index].model.fields:
                if isinstance(item, ColumnModel):
                    under = any(t.startswith(f"{item.path}.") for t in targets)
                    always = item.default is not None and item.default is not NO_DEFAULT
                    if item.path in targets or always or (item.default is NO_DEFAULT
                                                          and not under):  # fmt: skip
                        return False  # an object mapped whole, or one that is always there
                    if not under:
                        continue  # never given: left out, as its default None is
                    nodes.append(_Node(item, index, _ENCODER.encode(item.key)))
                    nodes[index].items.append(("node", len(nodes) - 1))
                    if not walk(len(nodes) - 1):
                        return False
                    continue
                mapped = item.path in targets
                if not mapped and (item.default is None or item.default is NO_DEFAULT):
                    if item.default is NO_DEFAULT:
                        return False  # every row would be refused: let the model say why
                    continue
                nodes[index].items.append(("leaf", len(leaves)))
                leaves.append(_Leaf(item, index, mapped, _ENCODER.encode(item.key)))
            return True

        if not walk(0):
            return None
        constants = {r.target for r in plan.rules if r.has_constant}
        return cls(fmt, leaves, nodes, constants)

    def write(self, mapped: MappedColumns, rows: np.ndarray, bad: np.ndarray,
              add: Callable[[RowError], None]) -> Chunk:  # fmt: skip
        """The chunk's records as JSON; errors go to `add`, refused rows are marked in bad."""
        n = len(rows)
        values = mapped.values
        clean = np.ones(n, dtype=bool)
        within = [np.ones(n, dtype=bool)]  # per node: rows where the object is there
        for node in self.nodes[1:]:
            paths = [p for p in values if p.startswith(f"{node.model.path}.")]
            there = ~np.logical_and.reduce([mapped.nones[p] if p in mapped.plain
                                            else _is_missing(values[p]) for p in paths])
            within.append(there)
            missing = within[node.parent] & ~there
            if node.model.required:
                clean &= ~(missing & ~_reported(mapped, node.model.path, n, nested=True))
        # Row by row: the text before each value, the value's JSON, ..., the closing text.
        pieces = np.empty((n, 2 * len(self.leaves) + 1), dtype=object)
        pieces[:, 1::2] = ""
        shown: list[np.ndarray] = []  # per leaf: rows where its value is written
        quoted: list[bool] = []
        has: dict[str, np.ndarray] = {}  # per path: rows whose model attribute is not None
        for index, leaf in enumerate(self.leaves):
            got, outputs = np.zeros(n, dtype=bool), []
            if leaf.mapped:
                got, outputs, valid = self._check(leaf, mapped, within[leaf.node], n)
                clean &= valid
            missing = within[leaf.node] & ~got
            default_rows = np.zeros(n, dtype=bool)
            if leaf.field.required:
                clean &= ~(missing & ~_reported(mapped, leaf.field.path, n))
            elif leaf.field.default is not None:
                default_rows = missing
            texts, quote = _texts(outputs, leaf.field.check.kind)
            column = pieces[:, 2 * index + 1]
            if default_rows.any():
                default, default_quoted = _texts([leaf.field.default], None)
                if texts and quote != default_quoted:  # one way of writing per column
                    texts, default = _unquoted(texts, quote), _unquoted(default, default_quoted)
                    quote = False
                else:
                    quote = default_quoted if not texts else quote
                column[default_rows] = default[0]
            if texts:
                column[got] = _objects(texts)
            shown.append(got | default_rows)
            has[leaf.field.path] = shown[-1]
            quoted.append(quote)
        for index, node in enumerate(self.nodes):
            prefix = f"{node.model.path}." if node.model.path else ""
            for name, other in node.model.rules:
                empty = np.zeros(n, dtype=bool)
                broken = has.get(prefix + name, empty) & ~has.get(prefix + other, empty)
                clean &= ~(broken & within[index])
        return self._assemble(mapped, rows, bad, add, clean, pieces, shown + within[1:], quoted)

    def _check(self, leaf: _Leaf, mapped: MappedColumns, within: np.ndarray, n: int
               ) -> tuple[np.ndarray, list[Any], np.ndarray]:  # fmt: skip
        """(rows with a valid, not-None value, their validated values, rows not refused)."""
        path = leaf.field.path
        column = mapped.values[path]
        check = leaf.field.check
        nones = mapped.nones.get(path)
        present = (~nones if nones is not None else _given(column)) & within
        same = np.zeros(n, dtype=bool)  # rows holding the rule's one constant or default
        constant: Any = None
        if path in self.constants:
            same, constant = present, column[0]
        elif path in mapped.defaulted:
            mask, constant = mapped.defaulted[path]
            same = mask & present
        varied = np.flatnonzero(present & ~same)
        plain = mapped.plain.get(path)
        ok, outputs = check(column[varied].tolist(), None if plain is None else plain[varied])
        valid = np.ones(n, dtype=bool)
        valid[varied[~ok]] = False
        if check.kind is not None and ok.all() and not same.any():
            return present, outputs, valid  # the usual case: every value valid, in row order
        out = np.empty(n, dtype=object)
        out[varied] = _objects(outputs)
        if same.any():
            one_ok, one = check([constant])
            valid[same] = bool(one_ok[0])
            out[same] = one[0] if one_ok[0] else None
        got = valid & present & _given(out)
        return got, out[got].tolist(), valid

    def _assemble(self, mapped: MappedColumns, rows: np.ndarray, bad: np.ndarray,
                  add: Callable[[RowError], None], clean: np.ndarray, pieces: np.ndarray,
                  shown: list[np.ndarray], quoted: list[bool]) -> Chunk:  # fmt: skip
        slow = np.flatnonzero(~clean)
        literal: dict[int, str] = {}
        if len(slow):
            records = _nest({k: v[slow] for k, v in mapped.values.items()}, len(slow))
            groups = [np.array([p]) for p in slow]
            dumped, ok = _checked(self.format, mapped, records, groups, [[]] * len(slow), rows,
                                  bad, add)  # fmt: skip
            literal = {int(slow[i]): dumps(r) for i, r in zip(ok, dumped, strict=True)}
        fast = clean & ~bad
        count = int(fast.sum()) + len(literal)
        if count == 0:
            return Chunk("", 0)
        signatures, inverse = _signatures(np.column_stack(shown))
        table = np.empty((len(signatures), len(self.leaves) + 1), dtype=object)
        for i, signature in enumerate(signatures):
            table[i] = self._separators_for(tuple(bool(b) for b in signature), quoted)
        pieces[:, 0::2] = table[inverse]
        pieces[~fast] = ""
        for position, text in literal.items():
            pieces[position, 0] = "," + text
        return Chunk("".join(pieces.ravel().tolist())[1:], count)

    def _separators_for(self, signature: tuple[bool, ...], quoted: list[bool]) -> list[str]:
        """The text around the values of a row whose leaves (then objects) are written as
        `signature` says: seps[i] goes before leaf i's value, seps[-1] after the last."""
        key = (tuple(quoted), signature)
        if key in self._separators:
            return self._separators[key]
        if len(self._separators) > 4096:  # a file of ever new shapes: keep memory flat
            self._separators.clear()
        width = len(self.leaves)
        seps = [""] * (width + 1)
        pending = ",{"

        def walk(node: _Node) -> None:
            nonlocal pending
            first = True
            for kind, index in node.items:
                if kind == "leaf":
                    if not signature[index]:
                        continue
                    quote = '"' if quoted[index] else ""
                    seps[index] = pending + ("" if first else ",") + self.leaves[index].key + (
                        ":" + quote)  # fmt: skip
                    pending = quote
                else:
                    if not signature[width + index - 1]:
                        continue
                    pending += ("" if first else ",") + self.nodes[index].key + ":{"
                    walk(self.nodes[index])
                    pending += "}"
                first = False

        walk(self.nodes[0])
        seps[width] = pending + "}"
        self._separators[key] = seps
        return seps


def _given(values: np.ndarray) -> np.ndarray:
    """Where the value is not None (a NaN is a value, as a record's dict keeps it). Not
    `values != None`: a Decimal compares itself to None through the numbers ABCs, slowly."""
    missing = np.asarray(pd.isna(values), dtype=bool)
    if missing.any():
        odd = np.flatnonzero(missing)
        missing[odd] = [v is None for v in values[odd].tolist()]
    return ~missing


def _objects(values: list[Any]) -> np.ndarray:
    # np.array would read a list value as a dimension and str values as a fixed-width array.
    return np.fromiter(values, dtype=object, count=len(values))


def _signatures(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a bool matrix and, per row, the index of its own."""
    if bits.shape[1] <= 62:
        weights = np.left_shift(np.int64(1), np.arange(bits.shape[1], dtype=np.int64))
        numbers = bits.astype(np.int64) @ weights
        distinct, first, inverse = np.unique(numbers, return_index=True, return_inverse=True)
        return bits[first], inverse
    distinct, inverse = np.unique(bits, axis=0, return_inverse=True)
    return distinct, inverse.reshape(-1)


def _reported(mapped: MappedColumns, path: str, n: int, *, nested: bool = False
              ) -> np.ndarray:  # fmt: skip
    """Rows where a missing `path` follows from a mapping error already listed (the record
    path does not list it again: see _already_reported)."""
    out = np.zeros(n, dtype=bool)
    for name, rows in mapped.bad_by_field.items():
        if name == path or (nested and name.startswith(f"{path}.")):
            out |= rows
    return out


def _texts(values: list[Any], kind: str | None) -> tuple[list[str], bool]:
    """The JSON of each value (of `kind` when known); quoted: the texts are the insides of
    JSON strings (the quotes go into the separators)."""
    if kind == "decimal":
        return list(map(str, values)), True
    if kind == "bool":
        return ["true" if v else "false" for v in values], False
    if kind == "int":
        return list(map(str, values)), False
    try:
        joined = "".join(values)  # all text, or a TypeError
    except TypeError:
        pass
    else:
        if not _UNSAFE[np.frombuffer(joined.encode("utf-8", "surrogatepass"), np.uint8)].any():
            return values, True
        return [_ENCODER.encode(v)[1:-1] if _NEEDS_ESCAPE.search(v) else v
                for v in values], True  # fmt: skip
    kinds = set(map(type, values))
    if kinds <= {str, Decimal}:
        return _texts([v if type(v) is str else str(v) for v in values], "str")
    if kinds <= {bool}:
        return _texts(values, "bool")
    if kinds <= {int}:
        return _texts(values, "int")
    return [dumps(v) for v in values], False


def _unquoted(texts: list[str], quoted: bool) -> list[str]:
    return [f'"{t}"' for t in texts] if quoted else texts


# --- record by record ---------------------------------------------------------------------


def _flat_chunk(fmt: TargetFormat, mapped: MappedColumns, rows: np.ndarray, bad: np.ndarray,
                add: Callable[[RowError], None]) -> Chunk:  # fmt: skip
    n = len(rows)
    records = _nest(mapped.values, n)
    groups = [np.array([i]) for i in range(n)]
    line_rows: list[list[int]] = [[] for _ in range(n)]
    return _records_chunk(fmt, mapped, records, groups, line_rows, rows, bad, add)


def _grouped_chunk(fmt: TargetFormat, mapped: MappedColumns, rows: np.ndarray,
                   bad: np.ndarray, add: Callable[[RowError], None]) -> Chunk:  # fmt: skip
    prefix = f"{fmt.lines_field}."
    line_cols = {k[len(prefix):]: v for k, v in mapped.values.items() if k.startswith(prefix)}
    head_cols = {k: v for k, v in mapped.values.items() if not k.startswith(prefix)}
    records, groups, line_rows = _grouped(fmt, head_cols, line_cols, rows, bad, add,
                                          mapped.defaulted)  # fmt: skip
    return _records_chunk(fmt, mapped, records, groups, line_rows, rows, bad, add)


def _records_chunk(fmt: TargetFormat, mapped: MappedColumns, records: list[dict[str, Any]],
                   groups: list[np.ndarray], line_rows: list[list[int]], rows: np.ndarray,
                   bad: np.ndarray, add: Callable[[RowError], None]) -> Chunk:  # fmt: skip
    dumped, ok = _checked(fmt, mapped, records, groups, line_rows, rows, bad, add)
    record_rows = [[int(rows[p]) for p in groups[i]] for i in ok]
    return Chunk(",".join(dumps(r) for r in dumped), len(dumped), dumped, record_rows)


def _checked(fmt: TargetFormat, mapped: MappedColumns, records: list[dict[str, Any]],
             groups: list[np.ndarray], line_rows: list[list[int]], rows: np.ndarray,
             bad: np.ndarray, add: Callable[[RowError], None]
             ) -> tuple[list[dict[str, Any]], list[int]]:  # fmt: skip
    """Validate records (built from the rows at positions `groups`) with the model; errors go
    to `add`, the rows of a refused record are marked in `bad`. The valid records, dumped,
    and their indices."""
    prefix = f"{fmt.lines_field}." if fmt.lines_field else None
    # Records with a bad row are validated too, so the user sees all of a row's problems at
    # once; what follows from a value already reported (now missing) is not repeated.
    models, failed = _validate(fmt, records)
    failed_records: set[int] = set()
    for index, error in failed:
        failed_records.add(index)
        row_error = _row_error(fmt, error, rows, groups[index], line_rows[index])
        if not _already_reported(mapped.bad_by_field, row_error, groups[index], prefix):
            add(row_error)
    ok = [i for i, _ in models if i not in failed_records and not bad[groups[i]].any()]
    for i, group in enumerate(groups):
        if i in failed_records or bad[group].any():
            bad[group] = True  # one bad row leaves its whole record out
    by_index = dict(models)
    dumped = fmt.adapter.dump_python([by_index[i] for i in ok], exclude_none=True) if ok else []
    return dumped, ok


def _is_missing(arr: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(arr), dtype=bool)


def _nest(columns: Mapping[str, np.ndarray], n: int) -> list[dict[str, Any]]:
    """Per-row dicts from {dotted path: array}; missing values and all-missing objects are
    left out so the model's defaults apply."""
    leaves: dict[str, np.ndarray] = {}
    groups: dict[str, dict[str, np.ndarray]] = {}
    for path, arr in columns.items():
        head, _, rest = path.partition(".")
        if rest:
            groups.setdefault(head, {})[rest] = arr
        else:
            leaves[path] = arr
    for head, sub in groups.items():
        empty = np.logical_and.reduce([_is_missing(a) for a in sub.values()])
        nested = np.empty(n, dtype=object)
        nested[:] = _nest(sub, n)
        nested[empty] = None
        leaves[head] = nested
    keys = list(leaves)
    return [{k: v for k, v in zip(keys, values, strict=True) if v is not None}
            for values in zip(*leaves.values(), strict=True)]  # fmt: skip


def _grouped(
    fmt: TargetFormat,
    head_cols: dict[str, np.ndarray],
    line_cols: dict[str, np.ndarray],
    rows: np.ndarray,
    bad: np.ndarray,
    add: Any,
    defaulted: Mapping[str, tuple[np.ndarray, Any]],
) -> tuple[list[dict[str, Any]], list[np.ndarray], list[list[int]]]:
    """One record per group key: header fields from the group's first non-empty value
    (a different non-empty value later is a row error), one line per row with line data."""
    n = len(rows)
    key_path = next(k for k in fmt.group_keys if k in head_cols)
    keys = head_cols[key_path]
    no_key = _is_missing(keys)
    for pos in np.flatnonzero(no_key & ~bad):
        add(RowError(int(rows[pos]), key_path, None,
                     f"empty: rows are grouped into one {fmt.object_type} by {key_path}"))
    bad |= no_key
    codes, _ = pd.factorize(pd.Series(keys, dtype=object).map(
        lambda v: None if v is None else str(v)))  # fmt: skip
    valid = codes >= 0
    count = int(codes.max()) + 1 if valid.any() else 0
    code_series = pd.Series(codes[valid])
    order = np.argsort(codes, kind="stable")
    order = order[codes[order] >= 0]
    bounds = np.searchsorted(codes[order], np.arange(count + 1))
    groups = [order[bounds[g]:bounds[g + 1]] for g in range(count)]

    header: dict[str, np.ndarray] = {}
    for path, arr in head_cols.items():
        default = None
        if path in defaulted:
            # A default stands in only where no row of the record gives a value.
            mask, default = defaulted[path]
            arr = arr.copy()
            arr[mask] = None
        series = pd.Series(arr[valid], dtype=object)
        first = series.groupby(code_series.to_numpy(), sort=True).first()
        first_arr = np.full(count, default, dtype=object)
        first_values = first.to_numpy(dtype=object, copy=True)
        first_values[_is_missing(first_values)] = default  # an all-empty group gives NaN
        first_arr[first.index.to_numpy()] = first_values
        header[path] = first_arr
        expected = np.full(n, None, dtype=object)
        expected[valid] = first_arr[codes[valid]]
        differs = valid & ~_is_missing(arr) & (arr != expected)
        for pos in np.flatnonzero(differs):
            add(RowError(int(rows[pos]), path, str(arr[pos]),
                         f"differs from the first row of {fmt.object_type} "
                         f"{keys[pos]} ({expected[pos]})"))
        bad |= differs
    records = _nest(header, count)
    line_dicts = _nest(line_cols, n)
    line_rows: list[list[int]] = []
    for g, positions in enumerate(groups):
        # A row with no line data carries only header fields (e.g. the order's first row).
        with_lines = [p for p in positions if line_dicts[p]]
        records[g][fmt.lines_field or "lines"] = [line_dicts[p] for p in with_lines]
        line_rows.append(with_lines)
    return records, groups, line_rows


def _validate(fmt: TargetFormat, records: list[dict[str, Any]]
              ) -> tuple[list[tuple[int, Any]], list[tuple[int, dict[str, Any]]]]:  # fmt: skip
    """Validate all records in one call; on errors, again without the failed ones.
    Returns ([(record index, model)], [(record index, pydantic error)])."""
    failed: list[tuple[int, dict[str, Any]]] = []
    remaining = list(range(len(records)))
    adapter = fmt.adapter
    while remaining:
        try:
            models = adapter.validate_python([records[i] for i in remaining])
        except ValidationError as exc:
            bad_local = set()
            for error in exc.errors(include_url=False):
                local = error["loc"][0]
                bad_local.add(local)
                failed.append((remaining[local], error))
            remaining = [r for i, r in enumerate(remaining) if i not in bad_local]
            continue
        return list(zip(remaining, models, strict=True)), failed
    return [], failed


def _already_reported(bad_by_field: Mapping[str, np.ndarray], error: RowError,
                      group: np.ndarray, prefix: str | None) -> bool:  # fmt: skip
    candidates = [error.field]
    if prefix:
        candidates.append(prefix + error.field)
    # A nested path (address.city) missing because its object is: check the object too.
    candidates += [k for k in bad_by_field if k.startswith(f"{error.field}.")]
    return any(c in bad_by_field and bad_by_field[c][group].any() for c in candidates)


def _row_error(fmt: TargetFormat, error: Mapping[str, Any], rows: np.ndarray,
               group: np.ndarray, line_rows: list[int]) -> RowError:  # fmt: skip
    loc = error["loc"][1:]
    row = int(rows[group[0]])
    if (len(loc) >= 2 and loc[0] == fmt.lines_field and isinstance(loc[1], int)
            and loc[1] < len(line_rows)):  # fmt: skip
        row = int(rows[line_rows[loc[1]]])
    path = ".".join(str(p) for p in loc if not isinstance(p, int))
    if not path:
        path = fmt.lines_field if fmt.lines_field else "record"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "required, but empty or not mapped"
    value = error.get("input")
    shown = None if error["type"] == "missing" or isinstance(value, dict | list) else str(value)
    return RowError(row, path, shown, message)
