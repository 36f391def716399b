"""Tabular input of the transform-data endpoint -> a pandas DataFrame of strings.

Every cell comes out as a Python str (object dtype, keep_default_na=False): nothing is ever
a float, an empty cell is "" and types are the mapping's business. The frame's index is the
1-based data row a user counts in a spreadsheet, the header NOT counted (the first line
under the header is row 1; in Excel that is row 2).

Formats: csv (delimiter sniffed among , ; tab |, or given), json (an array of objects, as
text or already parsed; nested objects flattened to dotted columns, arrays kept as JSON
text), jsonl (one object per line), xlsx (base64 of the workbook; needs openpyxl).
A file that cannot be read as a table is a ValidationFailed naming what and where.

open_source checks the whole input first (so a bad file fails before any row is mapped) and
then hands the rows over in chunks of CHUNK_ROWS: a CSV of a million rows is never held as
one frame, nor copied whole (io.StringIO would copy the text at 4 bytes a character). Small
chunks are also fast ones: their cells stay in the CPU's cache from split to JSON. A plain
CSV (no quotes, CR or NUL, which the whole-file check sees) is split with str.split, which
reads such a text exactly as pandas' parser does (tested) in a third of the time; any
other goes through pandas' C parser.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from bigledger.errors import ValidationFailed
from bigledger.money import loads_exact

SOURCE_FORMATS = ("csv", "json", "jsonl", "xlsx")
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 50
_MAX_LISTED = 20  # line numbers named in one error
_BLOCK_CHARS = 1 << 16  # text scanned, split or parsed a block at a time (cache-sized)
CHUNK_ROWS = 2000


@dataclass(slots=True)
class TabularSource:
    """A table whose checks have passed: its columns, and its rows read chunk by chunk as
    DataFrames of str indexed by the 1-based data row (the same rows read_source gives)."""

    columns: list[str]
    _read: Callable[[int | None], Iterator[pd.DataFrame]]
    max_rows: int | None = None

    def chunks(self, size: int | None = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """The rows in frames of at most `size` rows (None: one frame)."""
        seen = 0
        for frame in self._read(size):
            if len(frame) == 0:
                continue
            if self.max_rows is not None and seen + len(frame) > self.max_rows:
                _too_many(self.max_rows)
            frame.columns = self.columns
            frame.index = pd.RangeIndex(seen + 1, seen + len(frame) + 1)
            seen += len(frame)
            yield frame
        if seen == 0:
            _no_rows()

    def frame(self) -> pd.DataFrame:
        """Every row in one frame."""
        return next(self.chunks(None))


def open_source(
    source_format: str,
    data: Any,
    *,
    max_rows: int | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
) -> TabularSource:
    """Check `data` in `source_format` as a whole (the errors read_source raises, in the same
    order) and return it ready to be read in chunks."""
    fmt = (source_format or "").strip().lower()
    if fmt == "csv":
        return open_csv(data, delimiter=delimiter, max_rows=max_rows)
    if fmt == "json":
        frame = read_json(data, max_rows=max_rows)
    elif fmt == "jsonl":
        frame = read_jsonl(data, max_rows=max_rows)
    elif fmt == "xlsx":
        frame = read_xlsx(data, sheet=sheet, max_rows=max_rows)
    else:
        raise ValidationFailed(
            f"unknown sourceFormat {source_format!r}; expected one of {', '.join(SOURCE_FORMATS)}",
            details={"field": "sourceFormat", "value": source_format},
        )
    return TabularSource(list(frame.columns), lambda size: _slices(frame, size), max_rows)


def read_source(
    source_format: str,
    data: Any,
    *,
    max_rows: int | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read `data` in `source_format` into a DataFrame of str, index = 1-based data row."""
    return open_source(source_format, data, max_rows=max_rows, delimiter=delimiter,
                       sheet=sheet).frame()  # fmt: skip


def _slices(frame: pd.DataFrame, size: int | None) -> Iterator[pd.DataFrame]:
    if size is None or size >= len(frame):
        yield frame
        return
    for start in range(0, len(frame), size):
        yield frame.iloc[start:start + size].copy()


# --- text and encoding ------------------------------------------------------------------


def decode_text(data: Any, *, what: str = "data") -> str:
    """str as is (a BOM dropped); bytes as UTF-8 (with or without BOM), else a clear error.

    cp1252/latin-1 are not guessed: any byte string decodes under them, so a wrong guess
    would silently corrupt names; the user re-saves as UTF-8 instead.
    """
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise ValidationFailed(
                f"{what} is not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                f"(line {line}); save the file as UTF-8 (CSV UTF-8 in Excel) and retry",
                details={"encoding": "utf-8", "offset": exc.start, "line": line},
            ) from None
    raise ValidationFailed(f"{what} must be text, got {type(data).__name__}")


# --- csv --------------------------------------------------------------------------------


def sniff_delimiter(text: str, given: str | None = None) -> str:
    """The delimiter of a CSV text: `given` when it fits the header, else the candidate
    splitting the first lines into the same number (>1) of fields, the most fields winning."""
    sample = text[: 1 << 16].splitlines()[:_SNIFF_LINES]
    sample = [line for line in sample if line.strip()]
    if not sample:
        raise ValidationFailed("data is empty: no header line", details={"rows": 0})
    counts: dict[str, list[int]] = {}
    for candidate in DELIMITERS:
        try:
            counts[candidate] = [len(r) for r in csv.reader(sample, delimiter=candidate)]
        except csv.Error:  # e.g. an unfinished quote cut by the sample
            counts[candidate] = [1]
    consistent = {d: c[0] for d, c in counts.items() if c[0] > 1 and len(set(c)) == 1}
    header_fields = {d: c[0] for d, c in counts.items()}
    if given is not None:
        if len(given) != 1:
            raise ValidationFailed(f"delimiter must be one character, got {given!r}")
        fields = [len(r) for r in csv.reader(sample[:1], delimiter=given)][0]
        better = max(consistent, key=lambda d: consistent[d], default=None)
        if fields == 1 and better is not None and better != given:
            raise ValidationFailed(
                f"wrong delimiter: {given!r} was given but the header has none; the file "
                f"looks {_name(better)}-separated ({consistent[better]} columns)",
                details={"delimiter": given, "detected": better},
            )
        return given
    if consistent:
        # Ties go to the order of DELIMITERS (comma first).
        return max(consistent, key=lambda d: (consistent[d], -DELIMITERS.index(d)))
    best = max(header_fields, key=lambda d: (header_fields[d], -DELIMITERS.index(d)))
    # No consistent candidate: a ragged file (reported by line) or a single column.
    return best if header_fields[best] > 1 else ","


def _name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(
        delimiter, repr(delimiter)
    )


def read_csv(data: Any, *, delimiter: str | None = None, max_rows: int | None = None
             ) -> pd.DataFrame:  # fmt: skip
    """CSV text or bytes -> DataFrame of str; ragged rows name their lines."""
    return open_csv(data, delimiter=delimiter, max_rows=max_rows).frame()


def open_csv(data: Any, *, delimiter: str | None = None, max_rows: int | None = None
             ) -> TabularSource:  # fmt: skip
    """CSV text or bytes, checked whole (encoding, delimiter, header, ragged rows, size),
    then read by pandas' C parser a chunk at a time."""
    text = decode_text(data)
    if not text.strip():
        raise ValidationFailed("data is empty: expected a header line and data rows",
                               details={"rows": 0})  # fmt: skip
    sep = sniff_delimiter(text, delimiter)
    _check_header(text, sep)
    records, plain = _check_ragged(text, sep)
    try:
        columns = [str(c).strip() for c in _read_csv(text, sep, nrows=0).columns]
    except pd.errors.ParserError as exc:
        raise ValidationFailed(f"data is not a readable CSV: {exc}") from None
    except pd.errors.EmptyDataError:
        raise ValidationFailed("data is empty: no header line", details={"rows": 0}) from None

    def read(size: int | None) -> Iterator[pd.DataFrame]:
        if plain and len(columns) > 1:
            yield from _split_rows(text, sep, columns, size)
            return
        try:
            if size is None:
                yield _read_csv(text, sep)
            else:
                yield from _read_csv(text, sep, chunksize=size)
        except pd.errors.ParserError as exc:  # the scan catches most; the rest lands here
            raise ValidationFailed(f"data is not a readable CSV: {exc}") from None

    rows = records - 1
    if rows == 0:
        _no_rows()
    if max_rows is not None and rows > max_rows:
        # The scan counts a blank-looking line pandas skips (spaces in a one-column file):
        # pandas has the last word, as when it read the file whole.
        if sum(len(frame) for frame in read(CHUNK_ROWS)) > max_rows:
            _too_many(max_rows)
    return TabularSource(columns, read, max_rows)


def _split_rows(text: str, sep: str, columns: list[str], size: int | None
                ) -> Iterator[pd.DataFrame]:  # fmt: skip
    """The data rows of a plain CSV (no quote, CR or NUL; every record as wide as the header,
    checked by _check_ragged), split with str.split: what pandas' parser reads from such a
    text, in a third of its time. Blank lines are skipped; with two columns or more no
    record is blank-looking (pandas would skip a line of spaces)."""
    width = len(columns)
    pending: list[str] = []
    header = True
    for block in _blocks(text):
        lines = block.split("\n")
        if lines and not lines[-1]:
            lines.pop()  # after the block's last newline
        if "" in lines:
            lines = [line for line in lines if line]
        if header and lines:
            lines, header = lines[1:], False
        pending += lines
        if size is not None:
            whole = len(pending) - len(pending) % size
            for start in range(0, whole, size):
                yield _frame_of(pending[start:start + size], sep, width, columns)
            pending = pending[whole:]
    if pending:
        yield _frame_of(pending, sep, width, columns)


def _frame_of(lines: list[str], sep: str, width: int, columns: list[str]) -> pd.DataFrame:
    # One flat list of cells, not a list per row: a million small lists would keep the
    # garbage collector busy.
    cells = np.array(sep.join(lines).split(sep), dtype=object).reshape(len(lines), width)
    return pd.DataFrame(cells, columns=columns, dtype=object, copy=False)


def _blocks(text: str) -> Iterator[str]:
    """`text` in pieces of about _BLOCK_CHARS, each ending after a newline (or at the end)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _BLOCK_CHARS)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _read_csv(text: str, sep: str, **kwargs: Any) -> Any:
    return pd.read_csv(
        _TextReader(text),
        sep=sep,
        dtype=object,  # python str cells, as dtype=str gives, without the wrapper's cost
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=True,
        engine="c",
        **kwargs,
    )


class _TextReader:
    """A file-like view of a str for pandas: hands out slices, so the text is never copied
    whole (the parser encodes each slice to UTF-8 itself)."""

    def __init__(self, text: str) -> None:
        self._text, self._pos = text, 0

    def read(self, size: int | None = -1) -> str:
        end = len(self._text) if size is None or size < 0 else self._pos + size
        piece = self._text[self._pos:end]
        self._pos += len(piece)
        return piece

    def __iter__(self) -> Iterator[str]:
        return _lines(self._text[self._pos:])


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` as io.StringIO(text) gives them (split after each newline only),
    a block at a time so the text is not copied whole."""
    for block in _blocks(text):
        yield from io.StringIO(block)


def _check_ragged(text: str, sep: str) -> tuple[int, bool]:
    """Refuse rows whose field count differs from the header's, naming their lines. The
    number of records (the header included) as the csv module counts them, and whether the
    text is plain: no quote, CR or NUL, so a record is a line split at the delimiter."""
    # A plain text is counted with numpy at memory speed; anything else (or anything odd)
    # goes through the csv module.
    if len(sep.encode()) == 1 and not any(c in text for c in '"\r\x00'):
        records, widths = _count_fields(text, sep)
        if len(widths) <= 1:
            return records, True
    return _ragged_by_csv(text, sep), False


def _count_fields(text: str, sep: str) -> tuple[int, set[int]]:
    records, widths = 0, set()
    code = ord(sep)
    for block in _blocks(text):
        raw = np.frombuffer(block.encode("utf-8"), dtype=np.uint8)
        newlines = np.flatnonzero(raw == 10)
        if len(newlines) == 0 or newlines[-1] != len(raw) - 1:
            newlines = np.append(newlines, len(raw))  # the last line has no newline
        starts = np.concatenate(([0], newlines[:-1] + 1))
        separators = np.flatnonzero(raw == code)
        fields = (np.searchsorted(separators, newlines) - np.searchsorted(separators, starts)
                  + 1)  # fmt: skip
        fields = fields[newlines > starts]  # an empty line is no record
        records += len(fields)
        widths.update(np.unique(fields).tolist())
    return records, widths


def _ragged_by_csv(text: str, sep: str) -> int:
    # One C-speed pass counting fields per record (pandas pads short rows with "" silently,
    # so it cannot tell them); a second, slower pass only when something is off. The first
    # pass is strict: where it fails, the lenient one (the rule) decides.
    strict_error = ""
    try:
        widths = Counter(map(len, csv.reader(_lines(text), delimiter=sep, strict=True)))
    except csv.Error as exc:
        strict_error = str(exc)
        reader = csv.reader(_lines(text), delimiter=sep)
        try:
            widths = Counter(map(len, reader))
        except csv.Error as exc:
            raise ValidationFailed(
                f"data is not a readable CSV: {exc} (line {reader.line_num})",
                details={"line": reader.line_num}) from None  # fmt: skip
    widths.pop(0, None)  # blank lines are skipped
    if len(widths) <= 1:
        if "unexpected end of data" in strict_error:
            _parser_error(text, sep)
        return sum(widths.values())
    reader = csv.reader(_lines(text), delimiter=sep)
    header = next(reader)
    expected = len(header)
    bad: list[dict[str, int]] = []
    total = 0
    for fields in reader:
        if fields and len(fields) != expected:
            total += 1
            if len(bad) < _MAX_LISTED:
                bad.append({"line": reader.line_num, "fields": len(fields)})
    listed = ", ".join(f"line {b['line']} has {b['fields']}" for b in bad)
    more = f" and {total - len(bad)} more" if total > len(bad) else ""
    raise ValidationFailed(
        f"ragged rows: the header has {expected} columns ({_name(sep)}-separated) but "
        f"{listed}{more} (lines count from 1 = the header)",
        details={"expected": expected, "delimiter": sep, "lines": bad, "count": total},
    )


def _parser_error(text: str, sep: str) -> None:
    # The csv module forgives a quote left open at the end of the data; pandas does not. Its
    # error is raised now, before any row is mapped, as when the file was read whole first.
    try:
        for _ in _read_csv(text, sep, chunksize=CHUNK_ROWS):
            pass
    except pd.errors.ParserError as exc:
        raise ValidationFailed(f"data is not a readable CSV: {exc}") from None


def _check_header(text: str, sep: str) -> None:
    header = next(csv.reader(_lines(text), delimiter=sep), [])
    # pandas would rename a repeated "x" to "x.1" and a mapping would pick the wrong one.
    repeated = sorted(n for n, c in Counter(h.strip() for h in header).items() if c > 1)
    if repeated:
        raise ValidationFailed(f"duplicate column(s) in the header: {', '.join(repeated)}",
                               details={"columns": repeated})  # fmt: skip


# --- json and jsonl ---------------------------------------------------------------------


def read_json(data: Any, *, max_rows: int | None = None) -> pd.DataFrame:
    """A JSON array of objects (text, bytes or already parsed) -> DataFrame of str."""
    if isinstance(data, str | bytes | bytearray | memoryview):
        text = decode_text(data)
        if not text.strip():
            raise ValidationFailed("data is empty: expected a JSON array of objects")
        try:
            parsed = loads_exact(text)
        except ValueError as exc:
            raise ValidationFailed(f"data is not valid JSON: {exc}") from None
    else:
        parsed = data
    if isinstance(parsed, Mapping):
        raise ValidationFailed("JSON data must be an array of objects, got an object "
                               "(wrap it in [ ])")  # fmt: skip
    if not isinstance(parsed, list):
        raise ValidationFailed(f"JSON data must be an array of objects, got "
                               f"{type(parsed).__name__}")  # fmt: skip
    if max_rows is not None and len(parsed) > max_rows:
        _too_many(max_rows)
    rows = []
    for index, item in enumerate(parsed):
        if not isinstance(item, Mapping):
            raise ValidationFailed(
                f"JSON data must be an array of objects: item {index + 1} is "
                f"{type(item).__name__}",
                details={"row": index + 1},
            )
        rows.append(flatten(item))
    return _frame(rows, max_rows)


def read_jsonl(data: Any, *, max_rows: int | None = None) -> pd.DataFrame:
    """JSON Lines (one object per line, blank lines skipped) -> DataFrame of str."""
    text = decode_text(data)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = loads_exact(line)
        except ValueError as exc:
            raise ValidationFailed(f"line {number} is not valid JSON: {exc}",
                                   details={"line": number}) from None  # fmt: skip
        if not isinstance(item, dict):
            raise ValidationFailed(
                f"line {number} must be a JSON object, got {type(item).__name__}",
                details={"line": number},
            )
        rows.append(flatten(item))
        if max_rows is not None and len(rows) > max_rows:
            _too_many(max_rows)
    return _frame(rows, max_rows)


def flatten(item: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A JSON object as {dotted.path: str}; arrays stay JSON text (for split/json)."""
    out: dict[str, str] = {}
    for key, value in item.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{path}."))
        else:
            out[path] = cell_text(value)
    return out


def cell_text(value: Any) -> str:
    """A JSON value as the string a CSV cell would hold (null -> "", true -> "true")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        # Only reachable for data parsed by someone else; repr is the shortest text that
        # round-trips, i.e. what the JSON said for any amount with <= 15 digits.
        return repr(value)
    return json.dumps(value, default=str, ensure_ascii=False)


def _frame(rows: list[dict[str, str]], max_rows: int | None) -> pd.DataFrame:
    if not rows:
        raise ValidationFailed("data is empty: no records", details={"rows": 0})
    frame = pd.DataFrame.from_records(rows)
    # Keys missing from some objects are empty cells, as in a CSV.
    frame = frame.fillna("").astype(str)
    return _finish(frame, max_rows)


# --- xlsx -------------------------------------------------------------------------------


def read_xlsx(data: Any, *, sheet: str | int | None = None, max_rows: int | None = None
              ) -> pd.DataFrame:  # fmt: skip
    """Base64 of an .xlsx workbook (or its bytes) -> DataFrame of str (first sheet default)."""
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise ValidationFailed(
            "sourceFormat xlsx is not available on this server (the openpyxl package is "
            "missing); send the sheet as csv",
            details={"sourceFormat": "xlsx", "missing": "openpyxl"},
        ) from None
    if isinstance(data, str):
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("xlsx data must be base64 of the workbook") from None
    elif isinstance(data, bytes | bytearray):
        raw = bytes(data)
    else:
        raise ValidationFailed("xlsx data must be base64 of the workbook")
    if not raw:
        raise ValidationFailed("data is empty: no workbook", details={"rows": 0})
    try:
        frame = pd.read_excel(
            io.BytesIO(raw), sheet_name=0 if sheet is None else sheet, dtype=str,
            keep_default_na=False, na_filter=False, engine="openpyxl",
            nrows=None if max_rows is None else max_rows + 1,
        )  # fmt: skip
    except Exception as exc:  # zipfile/openpyxl raise many kinds for a broken workbook
        raise ValidationFailed(f"data is not a readable xlsx workbook: {exc}") from None
    frame = frame.dropna(how="all").fillna("").astype(str)
    frame.columns = [str(c) for c in frame.columns]
    return _finish(frame, max_rows)


# --- common -----------------------------------------------------------------------------


def _no_rows() -> None:
    raise ValidationFailed("data is empty: a header but no data rows", details={"rows": 0})


def _too_many(max_rows: int) -> None:
    raise ValidationFailed(f"too many rows: at most {max_rows} per request",
                           details={"maxRows": max_rows})  # fmt: skip


def _finish(frame: pd.DataFrame, max_rows: int | None) -> pd.DataFrame:
    if len(frame) == 0:
        _no_rows()
    if max_rows is not None and len(frame) > max_rows:
        _too_many(max_rows)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame
