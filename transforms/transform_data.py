"""POST /v1/integrations/transform-data: the pure engine the endpoint calls.

    result = transform_data("csv", "bigledger_customer", mapping, data)

reads the data (transforms.tabular_sources), checks and applies the mapping column-wise
(transforms.data_mapping), assembles nested records (dotted paths; `lines.*` rows grouped
by the format's key) and validates them against the target model
(transforms.target_formats). A file or mapping that cannot work raises ValidationFailed /
DataMappingError; a bad value is a RowError and its row (with every row of the same
record) is left out of `records`.

Rows are numbered 1, 2, ... from the first data row; the header is not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from transforms.data_mapping import (
    MappingPlan,
    RowError,
    apply_mapping,
    check_columns,
    parse_mapping,
)
from transforms.tabular_sources import read_source
from transforms.target_formats import TargetFormat, get_target_format

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
) -> TransformResult:
    """Transform `data` in `source_format` into `target_format` records through `mapping`."""
    fmt = get_target_format(target_format)
    plan = parse_mapping(mapping, fmt)  # a broken mapping fails before the data is read
    frame = read_source(source_format, data, max_rows=max_rows, delimiter=delimiter,
                        sheet=sheet)  # fmt: skip
    check_columns(plan, list(frame.columns))
    return _run(plan, frame, max_errors)


def _run(plan: MappingPlan, frame: pd.DataFrame, max_errors: int) -> TransformResult:
    fmt = plan.target_format
    n = len(frame)
    rows = frame.index.to_numpy()
    mapped = apply_mapping(plan, frame, max_errors=max_errors)
    errors = mapped.errors
    counter = _Counter(mapped.error_count, dict(mapped.errors_by_field))
    bad = mapped.bad_rows.copy()

    def add(error: RowError) -> None:
        counter.add(error.field)
        if len(errors) < max_errors:
            errors.append(error)

    lines = fmt.lines_field
    prefix = f"{lines}." if lines else None
    line_cols = {k[len(prefix):]: v for k, v in mapped.values.items()
                 if prefix and k.startswith(prefix)}  # fmt: skip
    head_cols = {k: v for k, v in mapped.values.items() if not (prefix and k.startswith(prefix))}
    if line_cols:
        records, groups, line_rows = _grouped(fmt, head_cols, line_cols, rows, bad, add,
                                              mapped.defaulted)  # fmt: skip
    else:
        records = _nest(head_cols, n)
        groups = [np.array([i]) for i in range(n)]
        line_rows = [[] for _ in range(n)]

    # Records with a bad row are validated too, so the user sees all of a row's problems at
    # once; what follows from a value already reported (now missing) is not repeated.
    models, failed = _validate(fmt, records)
    failed_records: set[int] = set()
    for index, error in failed:
        failed_records.add(index)
        row_error = _row_error(fmt, error, rows, groups[index], line_rows[index])
        if not _already_reported(mapped.bad_by_field, row_error, groups[index], prefix):
            add(row_error)
    ok = [i for i, model in models if i not in failed_records and not bad[groups[i]].any()]
    for i, group in enumerate(groups):
        if i in failed_records or bad[group].any():
            bad[group] = True  # one bad row leaves its whole record out
    by_index = dict(models)
    dumped = fmt.adapter.dump_python([by_index[i] for i in ok], exclude_none=True) if ok else []
    record_rows = [[int(rows[p]) for p in groups[i]] for i in ok]

    errors.sort(key=lambda e: e.row)  # stable: a row's errors keep mapping order
    failed_rows = int(bad.sum())
    summary = {
        "sourceRows": n,
        "rows": n,
        "transformed": n - failed_rows,
        "failed": failed_rows,
        "records": len(dumped),
        "errors": counter.total,
        "errorsListed": len(errors),
        "errorsByField": counter.by_field,
        "targetFormat": fmt.name,
    }
    return TransformResult(dumped, errors, summary, record_rows)


@dataclass(slots=True)
class _Counter:
    total: int
    by_field: dict[str, int]

    def add(self, name: str) -> None:
        self.total += 1
        self.by_field[name] = self.by_field.get(name, 0) + 1


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
