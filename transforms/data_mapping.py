"""The transform-data mapping: parse it, check it against a target format, apply it
column-wise with pandas.

A mapping is {target path: rule}. A rule is
- "source_column" (the spec's short form),
- {"field": "col", "transform": "parseFloat", "default": 0, ...args} (the spec's form;
  extra keys are the transform's arguments, e.g. "format" for date),
- {"field": "col", "transforms": ["trim", {"name": "date", "format": "%d/%m/%Y"}]} (a chain,
  applied left to right; an addition to the spec),
- {"value": constant} (the same value on every row; an addition).
A rule may omit "field" when a step brings its own input (concat with "fields").

Empty cells are missing: every transform passes a missing value through untouched, and
`default` (the rule's or the transform) fills it at the end. parseFloat is the spec's name
and is EXACT like parseDecimal: both give Decimal, never float.

A value a transform cannot convert is a per-row error (RowError); a mapping that cannot
work at all (unknown target path, transform or column) is a DataMappingError naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from bigledger.errors import DataMappingError, ErrorCode
from bigledger.money import MoneyError, amount_to_minor, from_minor, loads_exact
from transforms.target_formats import TargetFormat


@dataclass(frozen=True, slots=True)
class RowError:
    """One value of one row that could not be mapped. row is the 1-based data row (the
    header not counted: a spreadsheet shows it on line row + 1)."""

    row: int
    field: str  # the target path
    value: str | None  # the source value as read
    message: str
    code: str = str(ErrorCode.DATA_MAPPING_ERROR)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: row, field, value, code, message."""
        return {"row": self.row, "field": self.field, "value": self.value,
                "code": self.code, "message": self.message}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FieldRule:
    """How one target path gets its value."""

    target: str
    source: str | None
    steps: tuple[Step, ...] = ()
    default: Any = None
    has_default: bool = False
    constant: Any = None
    has_constant: bool = False

    def columns(self) -> list[str]:
        """Every source column the rule reads (its field and any concat fields)."""
        cols = [self.source] if self.source is not None else []
        for step in self.steps:
            if step.name == "concat":
                cols.extend(step.args.get("fields", []))
            if step.name == "cents" and "currencyField" in step.args:
                cols.append(step.args["currencyField"])
        return cols


@dataclass(frozen=True, slots=True)
class MappingPlan:
    """A parsed, checked mapping for one target format."""

    target_format: TargetFormat
    rules: tuple[FieldRule, ...]

    def columns(self) -> list[str]:
        """The source columns the mapping reads, in mapping order."""
        seen: dict[str, None] = {}
        for rule in self.rules:
            for col in rule.columns():
                seen.setdefault(col, None)
        return list(seen)


# --- transforms ---------------------------------------------------------------------------
# Each takes the PRESENT (non-missing) values as an object Series, its args and the frame,
# and returns (values, bad mask or None, message for the bad ones). Outputs of "" count as
# missing afterwards.

_Result = tuple[pd.Series, "pd.Series | None", str]

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(_NUMBER)
_INT_RE = re.compile(r"[+-]?\d+")
_TRUE = ("true", "yes", "y", "1", "t", "on")
_FALSE = ("false", "no", "n", "0", "f", "off")
_BOOLEANS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}


# Hot transforms loop over Python lists: pandas' object-dtype string methods call a lambda
# per value through its own machinery, several times slower for the same str methods.


def _text(s: pd.Series) -> pd.Series:
    return s if s.map(type).eq(str).all() else s.map(str)


def _strings(s: pd.Series) -> list[str]:
    values = s.tolist()
    return values if all(type(v) is str for v in values) else [str(v) for v in values]


_PARENS = re.compile(r"^\((.*)\)$")


def _numeric_texts(s: pd.Series, args: Mapping[str, Any]) -> list[str]:
    texts = [v.strip() for v in _strings(s)]
    thousands = args.get("thousands")
    if thousands:
        texts = [v.replace(thousands, "") for v in texts]
    decimal = args.get("decimal")
    if decimal and decimal != ".":
        texts = [v.replace(decimal, ".") for v in texts]
    # Accounting exports write a negative as (12.50).
    return [_PARENS.sub(r"-\1", v) if v[:1] == "(" else v for v in texts]


def _numeric_text(s: pd.Series, args: Mapping[str, Any]) -> pd.Series:
    return pd.Series(_numeric_texts(s, args), index=s.index, dtype=object)


def _series(values: list[Any], s: pd.Series) -> pd.Series:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return pd.Series(arr, index=s.index, dtype=object)


def _filled(s: pd.Series, ok: pd.Series, values: pd.Series) -> pd.Series:
    """None everywhere but where ok, there `values` (as Python objects: pandas' own
    setitem would turn ints into floats next to a None)."""
    arr = np.full(len(s), None, dtype=object)
    arr[ok.to_numpy(dtype=bool)] = values.to_numpy(dtype=object)
    return pd.Series(arr, index=s.index, dtype=object)


def _parse_decimal(s: pd.Series, args: Mapping[str, Any], _: pd.DataFrame) -> _Result:
    texts = _numeric_texts(s, args)
    match = _NUMBER_RE.fullmatch
    # Digits with at most one point ("1234.50") match _NUMBER too; two str methods tell
    # them faster than the regex, which still decides every other text.
    out = [Decimal(t) if t.replace(".", "", 1).isdecimal() or match(t) else None
           for t in texts]  # fmt: skip
    return _series(out, s), _nones(out, s), "not a number"


def _parse_int(s: pd.Series, args: Mapping[str, Any], _: pd.DataFrame) -> _Result:
    texts = _numeric_texts(s, args)
    match = _INT_RE.fullmatch
    out = [int(t) if match(t) else None for t in texts]
    return _series(out, s), _nones(out, s), "not a whole number"


def _nones(values: list[Any], s: pd.Series) -> pd.Series:
    return pd.Series(np.fromiter((v is None for v in values), dtype=bool, count=len(values)),
                     index=s.index)  # fmt: skip


def _trim(s: pd.Series, _: Mapping[str, Any], __: pd.DataFrame) -> _Result:
    return _series([v.strip() for v in _strings(s)], s), None, ""


def _lower(s: pd.Series, _: Mapping[str, Any], __: pd.DataFrame) -> _Result:
    return _series([v.lower() for v in _strings(s)], s), None, ""


def _upper(s: pd.Series, _: Mapping[str, Any], __: pd.DataFrame) -> _Result:
    return _series([v.upper() for v in _strings(s)], s), None, ""


def _to_datetime(s: pd.Series, fmt: str | None, utc: bool) -> pd.Series:
    return pd.to_datetime(_text(s).str.strip(), format=fmt or "ISO8601", errors="coerce",
                          utc=utc)  # fmt: skip


def _date(s: pd.Series, args: Mapping[str, Any], _: pd.DataFrame) -> _Result:
    parsed = _to_datetime(s, args.get("format"), utc=False)
    ok = parsed.notna()
    out = _filled(s, ok, parsed[ok].dt.strftime("%Y-%m-%d"))
    want = f" {args['format']!r}" if args.get("format") else " YYYY-MM-DD"
    return out, ~ok, f"not a date in the format{want}"


def _datetime(s: pd.Series, args: Mapping[str, Any], _: pd.DataFrame) -> _Result:
    tz = args.get("timezone")
    parsed = _to_datetime(s, args.get("format"), utc=tz is None)
    if tz is not None and parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    if tz is not None:
        parsed = parsed.dt.tz_convert("UTC")
    ok = parsed.notna()
    out = _filled(s, ok, parsed[ok].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    want = f" {args['format']!r}" if args.get("format") else " ISO 8601"
    return out, ~ok, f"not a date-time in the format{want}"


def _boolean(s: pd.Series, _: Mapping[str, Any], __: pd.DataFrame) -> _Result:
    out = [_BOOLEANS.get(v.strip().lower()) for v in _strings(s)]
    return _series(out, s), _nones(out, s), "not a boolean (true/false, yes/no, y/n, 1/0)"


def _split(s: pd.Series, args: Mapping[str, Any], _: pd.DataFrame) -> _Result:
    sep = args.get("separator", ",")
    parts = _text(s).str.split(sep, regex=False)
    return parts.map(lambda items: [i.strip() for i in items if i.strip()]), None, ""


def _json(s: pd.Series, _: Mapping[str, Any], __: pd.DataFrame) -> _Result:
    out: list[Any] = []
    bad: list[bool] = []
    for text in _text(s).tolist():
        try:
            out.append(loads_exact(text))
            bad.append(False)
        except ValueError:
            out.append(None)
            bad.append(True)
    arr = np.empty(len(out), dtype=object)
    arr[:] = out
    return pd.Series(arr, index=s.index, dtype=object), pd.Series(bad, index=s.index), (
        "not valid JSON")


def _currencies(s: pd.Series, args: Mapping[str, Any], frame: pd.DataFrame) -> pd.Series:
    if "currencyField" in args:
        return frame.loc[s.index, args["currencyField"]].str.strip()
    return pd.Series(args.get("currency"), index=s.index, dtype=object)


def _cents(s: pd.Series, args: Mapping[str, Any], frame: pd.DataFrame) -> _Result:
    amounts = _numeric_text(s, args)
    currencies = _currencies(s, args, frame)
    out, bad = [], []
    for amount, currency in zip(amounts.tolist(), currencies.tolist(), strict=True):
        try:
            out.append(amount_to_minor(amount, currency))
            bad.append(False)
        except (MoneyError, TypeError):
            out.append(None)
            bad.append(True)
    return (pd.Series(out, index=s.index, dtype=object), pd.Series(bad, index=s.index),
            "not an amount in its currency's minor units (too many decimals or no currency)")


def _from_cents(s: pd.Series, args: Mapping[str, Any], frame: pd.DataFrame) -> _Result:
    minor, bad, _ = _parse_int(s, args, frame)
    currencies = _currencies(s, args, frame)
    out = []
    for value, currency, is_bad in zip(minor.tolist(), currencies.tolist(), bad.tolist(),
                                       strict=True):  # fmt: skip
        try:
            out.append(None if is_bad else from_minor(value, currency))
        except MoneyError:
            out.append(None)
    result = pd.Series(out, index=s.index, dtype=object)
    return result, result.isna(), "not whole minor units of a known currency"


def _replace(s: pd.Series, args: Mapping[str, Any], _: pd.DataFrame) -> _Result:
    t = _text(s)
    if "pattern" in args:
        return t.str.replace(args["pattern"], str(args.get("new", "")), regex=True), None, ""
    return t.str.replace(str(args["old"]), str(args.get("new", "")), regex=False), None, ""


def _map_values(s: pd.Series, args: Mapping[str, Any], _: pd.DataFrame) -> _Result:
    table = args["values"]
    t = _text(s).str.strip()
    mapped = t.map(table)
    unknown = mapped.isna() & ~t.isin(list(table))
    if args.get("strict", True):
        return mapped.astype(object), unknown, f"not one of {', '.join(map(str, table))}"
    return mapped.where(~unknown, t).astype(object), None, ""


def _as_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


# Steps that see missing values too (they exist to fill them).
def _concat(s: pd.Series, args: Mapping[str, Any], frame: pd.DataFrame) -> _Result:
    sep = str(args.get("separator", " "))
    acc = pd.Series([_as_text(v) for v in s.tolist()], index=s.index, dtype=object)
    for column in args["fields"]:
        part = frame[column].str.strip()
        joined = acc + sep + part
        acc = joined.where((acc != "") & (part != ""), acc + part)
    return acc, None, ""


def _default(s: pd.Series, args: Mapping[str, Any], _: pd.DataFrame) -> _Result:
    return s.where(s.notna(), args["value"]).astype(object), None, ""


@dataclass(frozen=True, slots=True)
class _Transform:
    fn: Callable[[pd.Series, Mapping[str, Any], pd.DataFrame], _Result]
    args: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    sees_missing: bool = False
    one_of: tuple[str, ...] = ()  # at least one of these args


_F = frozenset
TRANSFORMS: dict[str, _Transform] = {
    "parseFloat": _Transform(_parse_decimal, _F({"thousands", "decimal"})),
    "parseDecimal": _Transform(_parse_decimal, _F({"thousands", "decimal"})),
    "parseInt": _Transform(_parse_int, _F({"thousands"})),
    "trim": _Transform(_trim),
    "lower": _Transform(_lower),
    "upper": _Transform(_upper),
    "date": _Transform(_date, _F({"format"})),
    "datetime": _Transform(_datetime, _F({"format", "timezone"})),
    "boolean": _Transform(_boolean),
    "split": _Transform(_split, _F({"separator"})),
    "json": _Transform(_json),
    "cents": _Transform(_cents, _F({"currency", "currencyField", "thousands", "decimal"}),
                        one_of=("currency", "currencyField")),
    "fromCents": _Transform(_from_cents, _F({"currency", "currencyField"}),
                            one_of=("currency", "currencyField")),
    "replace": _Transform(_replace, _F({"old", "new", "pattern"}), one_of=("old", "pattern")),
    "map": _Transform(_map_values, _F({"values", "strict"}), _F({"values"})),
    "concat": _Transform(_concat, _F({"fields", "separator"}), _F({"fields"}), True),
    "default": _Transform(_default, _F({"value"}), _F({"value"}), True),
}  # fmt: skip

_RULE_KEYS = {"field", "transform", "transforms", "default", "value"}


# --- parsing and checking -------------------------------------------------------------------


def parse_mapping(mapping: Any, target_format: TargetFormat) -> MappingPlan:
    """Parse and check a mapping against the target format (not yet against the data)."""
    if not isinstance(mapping, Mapping) or not mapping:
        raise DataMappingError("mapping must be a non-empty object of target path -> source",
                               details={"field": "mapping"})  # fmt: skip
    paths = target_format.paths()
    rules = []
    for target, spec in mapping.items():
        if target not in paths:
            raise DataMappingError(
                f"mapping: unknown target field {target!r} for {target_format.name}",
                details={"field": f"mapping.{target}", "known": sorted(paths)},
            )
        rules.append(_parse_rule(str(target), spec))
    mapped = {r.target for r in rules}
    for path, required in paths.items():
        parent = path.rsplit(".", 1)[0] if "." in path else None
        covered = path in mapped or any(m.startswith(f"{path}.") for m in mapped) or (
            parent is not None and parent in mapped)  # fmt: skip
        if required and not covered:
            raise DataMappingError(
                f"mapping: required target field {path!r} of {target_format.name} is not "
                "mapped (map a column or give {\"value\": ...})",
                details={"field": f"mapping.{path}"},
            )
    lines = target_format.lines_field
    if lines and any(r.target.startswith(f"{lines}.") for r in rules):
        if not any(r.target in target_format.group_keys for r in rules):
            keys = " or ".join(target_format.group_keys)
            raise DataMappingError(
                f"mapping: one row per {lines[:-1]} needs {keys} mapped to group the rows",
                details={"field": f"mapping.{target_format.group_keys[0]}"},
            )
    return MappingPlan(target_format, tuple(rules))


def _parse_rule(target: str, spec: Any) -> FieldRule:
    where = f"mapping.{target}"
    if isinstance(spec, str):
        if not spec:
            raise DataMappingError(f"{where}: empty source field", details={"field": where})
        return FieldRule(target, spec)
    if not isinstance(spec, Mapping):
        raise DataMappingError(
            f"{where}: must be a source field name or an object with field/transform/"
            f"default/value, got {type(spec).__name__}",
            details={"field": where},
        )
    if "value" in spec:
        extra = set(spec) - {"value"}
        if extra:
            raise DataMappingError(f"{where}: a constant takes no {', '.join(sorted(extra))}",
                                   details={"field": where})  # fmt: skip
        return FieldRule(target, None, constant=_exact(spec["value"]), has_constant=True)
    source = spec.get("field")
    if source is not None and (not isinstance(source, str) or not source):
        raise DataMappingError(f"{where}.field must be a column name", details={"field": where})
    steps: list[Step] = []
    if "transform" in spec and "transforms" in spec:
        raise DataMappingError(f"{where}: give transform or transforms, not both",
                               details={"field": where})  # fmt: skip
    if "transform" in spec:
        args = {k: v for k, v in spec.items() if k not in _RULE_KEYS}
        steps.append(_parse_step(where, spec["transform"], args))
    elif "transforms" in spec:
        chain = spec["transforms"]
        if not isinstance(chain, list):
            raise DataMappingError(f"{where}.transforms must be a list", details={"field": where})
        extra = set(spec) - _RULE_KEYS
        if extra:
            raise DataMappingError(f"{where}: unknown key(s) {', '.join(sorted(extra))}",
                                   details={"field": where})  # fmt: skip
        for index, item in enumerate(chain):
            if isinstance(item, Mapping):
                args = {k: v for k, v in item.items() if k not in ("name", "transform")}
                name = item.get("name", item.get("transform"))
                steps.append(_parse_step(f"{where}.transforms[{index}]", name, args))
            else:
                steps.append(_parse_step(f"{where}.transforms[{index}]", item, {}))
    else:
        extra = set(spec) - _RULE_KEYS
        if extra:
            raise DataMappingError(f"{where}: unknown key(s) {', '.join(sorted(extra))}",
                                   details={"field": where})  # fmt: skip
    if source is None and not any(s.name == "concat" for s in steps):
        raise DataMappingError(f"{where}: needs a source \"field\" (or \"value\")",
                               details={"field": where})  # fmt: skip
    has_default = "default" in spec
    return FieldRule(target, source, tuple(steps), _exact(spec.get("default")), has_default)


def _parse_step(where: str, name: Any, args: dict[str, Any]) -> Step:
    transform = TRANSFORMS.get(name) if isinstance(name, str) else None
    if transform is None:
        raise DataMappingError(
            f"{where}: unknown transform {name!r}; known: {', '.join(TRANSFORMS)}",
            details={"field": where, "transform": name},
        )
    unknown = set(args) - transform.args
    if unknown:
        raise DataMappingError(
            f"{where}: transform {name} takes no {', '.join(sorted(unknown))} (it takes: "
            f"{', '.join(sorted(transform.args)) or 'nothing'})",
            details={"field": where, "transform": name},
        )
    missing = transform.required - set(args)
    if missing or (transform.one_of and not set(transform.one_of) & set(args)):
        need = ", ".join(sorted(missing)) or " or ".join(transform.one_of)
        raise DataMappingError(f"{where}: transform {name} needs {need}",
                               details={"field": where, "transform": name})  # fmt: skip
    if name == "concat" and (not isinstance(args["fields"], list) or not all(
            isinstance(f, str) for f in args["fields"])):  # fmt: skip
        raise DataMappingError(f"{where}: concat fields must be a list of column names",
                               details={"field": where})  # fmt: skip
    if name == "map" and not isinstance(args["values"], Mapping):
        raise DataMappingError(f"{where}: map values must be an object",
                               details={"field": where})  # fmt: skip
    if name == "replace" and "pattern" in args:
        try:
            re.compile(args["pattern"])
        except re.error as exc:
            raise DataMappingError(f"{where}: bad pattern: {exc}",
                                   details={"field": where}) from None  # fmt: skip
    return Step(name, {k: _exact(v) for k, v in args.items()})


def _exact(value: Any) -> Any:
    # A float default/constant from an already-parsed body: its shortest repr is what the
    # user typed, so it becomes that Decimal rather than the binary fraction.
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def check_columns(plan: MappingPlan, columns: list[str]) -> None:
    """Every source column the mapping reads exists in the data, else a DataMappingError
    naming the target path and the column (with a delimiter hint for a one-column CSV)."""
    available = set(columns)
    for rule in plan.rules:
        for column in rule.columns():
            if column not in available:
                hint = ""
                if len(columns) == 1 and any(d in columns[0] for d in ",;\t|"):
                    hint = (f"; the data has one column {columns[0]!r}: is the delimiter "
                            "wrong?")  # fmt: skip
                raise DataMappingError(
                    f"mapping.{rule.target}: source field {column!r} is not in the data "
                    f"(columns: {', '.join(columns)}){hint}",
                    details={"field": f"mapping.{rule.target}", "source": column,
                             "columns": list(columns)},  # fmt: skip
                )


# --- applying ------------------------------------------------------------------------------


@dataclass(slots=True)
class MappedColumns:
    """The mapping's output: one object array per target path (None = missing), and the
    per-row errors found on the way (bad_rows marks every row with at least one)."""

    values: dict[str, np.ndarray]
    errors: list[RowError]
    bad_rows: np.ndarray  # bool, one per row
    error_count: int = 0
    errors_by_field: dict[str, int] = field(default_factory=dict)
    bad_by_field: dict[str, np.ndarray] = field(default_factory=dict)
    # Rows whose value is the rule's default (not the data's), per target path.
    defaulted: dict[str, tuple[np.ndarray, Any]] = field(default_factory=dict)
    # (rule number, step number) of each error: a file read in chunks lists its errors in
    # the order one pass over the whole file would (rule by rule, step by step).
    error_steps: list[tuple[int, int]] = field(default_factory=list)
    # Per target path, when known without looking again: where the value is None ...
    nones: dict[str, np.ndarray] = field(default_factory=dict)
    # ... and where it is the cell's own text with nothing to strip (a rule with no steps).
    plain: dict[str, np.ndarray] = field(default_factory=dict)


def apply_mapping(plan: MappingPlan, frame: pd.DataFrame, *, max_errors: int = 1000
                  ) -> MappedColumns:  # fmt: skip
    """Apply every rule column-wise over the whole frame (index = 1-based data rows).
    At most max_errors errors are listed per rule and step (the counts count them all)."""
    n = len(frame)
    index = frame.index
    out: dict[str, np.ndarray] = {}
    bad_rows = np.zeros(n, dtype=bool)
    errors: list[RowError] = []
    error_steps: list[tuple[int, int]] = []
    by_field: dict[str, int] = {}
    bad_by_field: dict[str, np.ndarray] = {}
    defaulted: dict[str, tuple[np.ndarray, Any]] = {}
    nones: dict[str, np.ndarray] = {}
    plain: dict[str, np.ndarray] = {}
    count = 0
    rows = index.to_numpy()
    for rule_no, rule in enumerate(plan.rules):
        if rule.has_constant:
            column = np.empty(n, dtype=object)
            column[:] = [rule.constant] * n if isinstance(rule.constant, list | dict) else (
                rule.constant)  # fmt: skip
            out[rule.target] = column
            continue
        if rule.source is not None:
            original = frame[rule.source].to_numpy(dtype=object)
            # pandas' str dtype marks missing as NaN; here missing is None, in object arrays.
            arr = original.copy()
            blank, as_is = _blank(original)
            arr[blank] = None
            if not rule.steps and as_is is not None:
                nones[rule.target], plain[rule.target] = blank, as_is
        else:
            original = np.full(n, None, dtype=object)
            arr = original.copy()
        rule_bad = np.zeros(n, dtype=bool)
        for step_no, step in enumerate(rule.steps):
            transform = TRANSFORMS[step.name]
            if transform.sees_missing:
                values = pd.Series(arr, index=index, dtype=object)
                result, bad, message = transform.fn(values, step.args, frame)
                arr = result.to_numpy(dtype=object, copy=True)
            else:
                present = pd.notna(arr) & ~rule_bad
                if not present.any():
                    continue
                sub = pd.Series(arr[present], index=index[present], dtype=object)
                result, bad, message = transform.fn(sub, step.args, frame)
                arr = arr.copy()
                arr[present] = result.to_numpy(dtype=object)
                if bad is not None:
                    full = np.zeros(n, dtype=bool)
                    full[present] = np.asarray(bad, dtype=bool)
                    bad = full
            if bad is not None:
                bad = np.asarray(bad, dtype=bool) & ~rule_bad
                if bad.any():
                    positions = np.flatnonzero(bad)
                    count += len(positions)
                    by_field[rule.target] = by_field.get(rule.target, 0) + len(positions)
                    for pos in positions[:max_errors]:
                        errors.append(RowError(int(rows[pos]), rule.target,
                                               _shown(original[pos]), f"{step.name}: {message}"))
                        error_steps.append((rule_no, step_no))
                    rule_bad |= bad
                    arr[bad] = None
            # An empty string out of a step (trim of "  ") is a missing value too.
            if step.name in ("trim", "replace", "concat", "default", "map"):
                arr[arr == ""] = None
        arr = arr.copy()
        if rule.has_default:
            missing = pd.isna(arr) & ~rule_bad
            arr[missing] = rule.default
            defaulted[rule.target] = (missing, rule.default)
            if rule.default is not None:
                nones[rule.target] = rule_bad  # the rest was missing and is the default now
        out[rule.target] = arr
        bad_rows |= rule_bad
        if rule_bad.any():
            bad_by_field[rule.target] = rule_bad
    return MappedColumns(out, errors, bad_rows, count, by_field, bad_by_field, defaulted,
                         error_steps, nones, plain)  # fmt: skip


def _blank(values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Empty or whitespace-only cells (the same as pandas' .str.strip() == ""), and the
    cells that are text with nothing to strip (None when some cell is not text)."""
    strip = str.strip  # refuses anything but text; gives a new str for a str subclass
    try:
        # 2: blank, 1: nothing to strip (strip gives the very same str back), 0: the rest
        codes = np.array([2 if not (s := strip(v)) else s is v for v in values.tolist()],
                         dtype=np.int8)  # fmt: skip
    except TypeError:  # a cell that is not text (no source gives one) is not blank
        return np.array([isinstance(v, str) and not v.strip() for v in values.tolist()],
                        dtype=bool), None  # fmt: skip
    return codes == 2, codes == 1


def _shown(value: Any) -> str | None:
    return None if value is None else str(value)
