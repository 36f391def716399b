"""Every transform of the transform-data mapping, and its parsing errors."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bigledger.errors import DataMappingError
from transforms.data_mapping import TRANSFORMS
from transforms.transform_data import transform_data


def _one(rule: Any, values: list[str], target: str = "notes", extra: dict | None = None,
         header: str = "v", more: str = "") -> tuple[list[Any], list[tuple[int, str | None]]]:
    """Map column v through `rule` into a customer's `target`; (values, [(row, value)])."""
    rows = "\n".join(f"{value}{more}" for value in values)
    data = f"{header},name\n" + "\n".join(f"{line},N" for line in rows.split("\n")) + "\n"
    mapping = {"name": "name", target: rule, **(extra or {})}
    result = transform_data("csv", "bigledger_customer", mapping, data)
    assert result.summary["rows"] == len(values)
    by_row = {r: rec for r, rec in zip((rr[0] for rr in result.record_rows),
                                       result.records, strict=True)}  # fmt: skip
    out = [by_row[i + 1].get(target.split(".")[0]) if i + 1 in by_row else "ERROR"
           for i in range(len(values))]  # fmt: skip
    return out, [(e.row, e.value) for e in result.errors]


def test_parse_float_and_decimal_are_exact() -> None:
    for name in ("parseFloat", "parseDecimal"):
        out, errors = _one({"field": "v", "transform": name}, ["0.10", "1e2", "(12.50)", "x",
                                                                " 7 ", ""], "creditLimit")
        assert out[:3] == [Decimal("0.10"), Decimal("1E+2"), "ERROR"]  # negative limit refused
        assert all(type(v) is Decimal for v in out[:2])
        assert out[3] == "ERROR" and out[4] == Decimal(7) and out[5] is None
        assert (4, "x") in errors


def test_parse_decimal_thousands_and_decimal_comma() -> None:
    out, errors = _one({"field": "v", "transform": "parseDecimal", "thousands": ".",
                        "decimal": ","}, ['"1.234,56"'], "balance",
                       {"currency": {"value": "EUR"}})  # fmt: skip
    assert out == [Decimal("1234.56")] and errors == []


def test_parse_int() -> None:
    data = "sku,name,price,qty\nA,Kopi,1,12\nB,Teh,1,1.5\nC,Milo,1,\"1,200\"\n"
    mapping = {"sku": "sku", "name": "name", "price": "price", "currency": {"value": "MYR"},
               "quantity": {"field": "qty", "transform": "parseInt", "thousands": ","}}
    result = transform_data("csv", "bigledger_product", mapping, data)
    assert [r["quantity"] for r in result.records] == [12, 1200]
    assert all(type(r["quantity"]) is int for r in result.records)
    assert [(e.row, e.value) for e in result.errors] == [(2, "1.5")]
    # An int into a text field is refused by the model, not silently turned to text.
    out, errors = _one({"field": "v", "transform": "parseInt"}, ["12"], "notes")
    assert out == ["ERROR"] and errors == [(1, "12")]


def test_trim_lower_upper() -> None:
    out, _ = _one({"field": "v", "transforms": ["trim", "upper"]}, ["  ab c "], "notes")
    assert out == ["AB C"]
    out, _ = _one({"field": "v", "transform": "lower"}, ["MiXeD"], "notes")
    assert out == ["mixed"]
    # Only blanks after trim is missing: the default applies.
    out, _ = _one({"field": "v", "transform": "trim", "default": "none"}, ['"   "'], "notes")
    assert out == ["none"]


def test_date_with_format_outputs_iso() -> None:
    rows = "no,d,cur,sku,qty,price\n"
    rows += "A,31/01/2024,USD,X,1,1\nB,31/02/2024,USD,X,1,1\nC,2024-01-31,USD,X,1,1\n"
    mapping = {"orderNumber": "no", "currency": "cur", "lines.sku": "sku",
               "lines.quantity": "qty", "lines.unitPrice": "price",
               "orderDate": {"field": "d", "transform": "date", "format": "%d/%m/%Y"}}
    result = transform_data("csv", "bigledger_order", mapping, rows)
    assert [r["orderDate"] for r in result.records] == [date(2024, 1, 31)]
    assert [(e.row, e.value) for e in result.errors] == [(2, "31/02/2024"), (3, "2024-01-31")]
    assert "%d/%m/%Y" in result.errors[0].message
    out, _ = _one({"field": "v", "transform": "date", "format": "%m/%d/%y"}, ["01/31/24"])
    assert out == ["2024-01-31"]


def test_datetime_to_utc() -> None:
    rows = "no,d,cur,sku,qty,price\nA,2024-01-31T10:00:00+08:00,USD,X,1,1\n"
    rows += "B,2024-01-31 10:00,USD,X,1,1\n"
    mapping = {"orderNumber": "no", "currency": "cur", "lines.sku": "sku",
               "lines.quantity": "qty", "lines.unitPrice": "price",
               "orderDate": {"field": "d", "transform": "datetime"}}
    result = transform_data("csv", "bigledger_order", mapping, rows)
    dates = [r["orderDate"] for r in result.records]
    assert all(isinstance(d, datetime) for d in dates)
    assert [d.isoformat() for d in dates] == ["2024-01-31T02:00:00+00:00",
                                              "2024-01-31T10:00:00+00:00"]
    out, _ = _one({"field": "v", "transform": "datetime", "timezone": "Asia/Kuala_Lumpur",
                   "format": "%d/%m/%Y %H:%M"}, ["31/01/2024 08:30"])  # fmt: skip
    assert out == ["2024-01-31T00:30:00Z"]


def test_boolean() -> None:
    values = ["true", "FALSE", "yes", "No", "1", "0", "y", "n", "maybe"]
    out, errors = _one({"field": "v", "transform": "boolean"}, values, "active")
    assert out == [True, False, True, False, True, False, True, False, "ERROR"]
    assert errors == [(9, "maybe")]


def test_split_and_json() -> None:
    out, _ = _one({"field": "v", "transform": "split", "separator": "|"}, ["a| b ||c"],
                  "shippingAddress", header="v")
    # split gives a list; a list is not an address, so this is a row error (field named).
    assert out == ["ERROR"]
    data = ('no,d,cur,lines\n'
            'A,2024-01-01,USD,"[{""sku"": ""X"", ""quantity"": 2, ""unitPrice"": 1.10}]"\n')
    mapping = {"orderNumber": "no", "orderDate": "d", "currency": "cur",
               "lines": {"field": "lines", "transform": "json"}}
    result = transform_data("csv", "bigledger_order", mapping, data)
    assert result.records[0]["lines"][0]["unitPrice"] == Decimal("1.10")
    split = TRANSFORMS["split"].fn
    import pandas as pd
    parts, _, _ = split(pd.Series(["a| b ||c"], dtype=object), {"separator": "|"}, pd.DataFrame())
    assert parts.tolist() == [["a", "b", "c"]]


def test_cents_and_from_cents() -> None:
    import pandas as pd
    frame = pd.DataFrame({"cur": ["USD", "JPY", "USD", "KWD"]})
    values = pd.Series(["19.90", "1500", "1.234", "1.234"], dtype=object)
    out, bad, _ = TRANSFORMS["cents"].fn(values, {"currencyField": "cur"}, frame)
    assert out.tolist() == [1990, 1500, None, 1234]
    assert bad.tolist() == [False, False, True, False]
    assert all(type(v) is int for v in out.tolist() if v is not None)
    out, bad, _ = TRANSFORMS["fromCents"].fn(pd.Series(["1990", "x"], dtype=object),
                                             {"currency": "USD"}, frame.iloc[:2])
    assert out.tolist()[0] == Decimal("19.90") and bad.tolist() == [False, True]
    # In a mapping: fromCents feeds a Decimal field.
    out, _ = _one({"field": "v", "transform": "fromCents", "currency": "USD"}, ["500001"],
                  "creditLimit")
    assert out == [Decimal("5000.01")]


def test_concat_replace_map_default_value() -> None:
    data = "first,last,name,code\nAli, Bakar,X,A-1\nSiti,,Y,B-2\n"
    mapping = {
        "name": {"transforms": [{"name": "concat", "fields": ["first", "last"]}]},
        "notes": {"field": "code", "transform": "replace", "old": "-", "new": ""},
        "paymentTerms": {"field": "code", "transforms": [
            {"name": "replace", "pattern": r"-\d+$", "new": ""},
            {"name": "map", "values": {"A": "Net 30", "B": "Net 60"}}]},
        "currency": {"value": "MYR"},
        "phone": {"field": "last", "transforms": [{"name": "default", "value": "n/a"}]},
    }
    result = transform_data("csv", "bigledger_customer", mapping, data)
    assert [(r["name"], r["notes"], r["paymentTerms"], r["currency"], r["phone"])
            for r in result.records] == [("Ali Bakar", "A1", "Net 30", "MYR", "Bakar"),
                                         ("Siti", "B2", "Net 60", "MYR", "n/a")]  # fmt: skip


def test_map_strict_unknown_is_row_error() -> None:
    out, errors = _one({"field": "v", "transform": "map", "values": {"a": "Net 30"}},
                       ["a", "b"], "paymentTerms")
    assert out == ["Net 30", "ERROR"] and errors == [(2, "b")]


def test_every_transform_is_tested() -> None:
    tested = {"parseFloat", "parseDecimal", "parseInt", "trim", "lower", "upper", "date",
              "datetime", "boolean", "split", "json", "cents", "fromCents", "concat",
              "replace", "map", "default"}  # fmt: skip
    assert set(TRANSFORMS) == tested


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"field": "v", "transform": "date", "fmt": "%d"}, "fmt"),
        ({"field": "v", "transform": "cents"}, "currency"),
        ({"field": "v", "transforms": ["trim", "explode"]}, "explode"),
        ({"field": "v", "transforms": "trim"}, "transforms"),
        ({"field": "v", "transform": "replace", "pattern": "("}, "pattern"),
        ({"value": 1, "field": "v"}, "constant"),
        (42, "notes"),
        ({"transform": "trim"}, "field"),
        ({"field": "v", "colour": "red"}, "colour"),
    ],
)
def test_bad_rules_name_the_place(rule: Any, named: str) -> None:
    with pytest.raises(DataMappingError) as caught:
        transform_data("csv", "bigledger_customer", {"name": "name", "notes": rule},
                       "v,name\n1,N\n")  # fmt: skip
    assert named in caught.value.message
    assert "notes" in caught.value.message


def test_float_default_becomes_exact_decimal() -> None:
    out, _ = _one({"field": "v", "transform": "parseFloat", "default": 0.1}, [""], "creditLimit")
    assert out == [Decimal("0.1")]
