"""Reading transform-data input: csv/json/jsonl/xlsx into a frame of strings, clear errors."""

from __future__ import annotations

import base64
import importlib.util
import io

import pandas as pd
import pytest

from bigledger.errors import ValidationFailed
from transforms.tabular_sources import read_source
from transforms.transform_data import transform_data


def _all_str(frame: pd.DataFrame) -> bool:
    return all(type(v) is str for col in frame.columns for v in frame[col].tolist())


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed(sep: str) -> None:
    text = sep.join(["name", "amount", "city"]) + "\n" + sep.join(["A", "1.10", "KL"]) + "\n"
    frame = read_source("csv", text)
    assert list(frame.columns) == ["name", "amount", "city"]
    assert frame.loc[1, "amount"] == "1.10"
    assert _all_str(frame)


def test_csv_cells_stay_strings_and_rows_count_from_one() -> None:
    frame = read_source("csv", 'sku,price,qty\n007,19.90,\n"A,B",1e3,NaN\n')
    assert list(frame.index) == [1, 2]
    assert frame.loc[1, "sku"] == "007"  # leading zeros kept: never a number
    assert frame.loc[1, "qty"] == ""
    assert frame.loc[2, "sku"] == "A,B" and frame.loc[2, "qty"] == "NaN"
    assert _all_str(frame)


def test_csv_utf8_bom_and_bytes() -> None:
    text = "name,city\nKopitiam Ré,Ipoh\n"
    assert read_source("csv", "\ufeff" + text).columns[0] == "name"
    frame = read_source("csv", ("\ufeff" + text).encode("utf-8"))
    assert frame.loc[1, "name"] == "Kopitiam Ré"


def test_csv_bad_encoding_is_a_clear_error() -> None:
    with pytest.raises(ValidationFailed, match="not valid UTF-8.*line 2"):
        read_source("csv", "name,city\nKopitiam Ré,Ipoh\n".encode("cp1252"))


def test_ragged_rows_name_their_lines() -> None:
    text = "a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n"
    with pytest.raises(ValidationFailed) as caught:
        read_source("csv", text)
    assert "line 3 has 2" in caught.value.message and "line 5 has 4" in caught.value.message
    assert [d["line"] for d in caught.value.details["lines"]] == [3, 5]


def test_wrong_delimiter_given_is_a_clear_error() -> None:
    with pytest.raises(ValidationFailed, match="wrong delimiter.*semicolon"):
        read_source("csv", "a;b;c\n1;2;3\n", delimiter=",")


def test_wrong_delimiter_through_the_engine() -> None:
    text = "name;email\nA;a@x.my\n"
    with pytest.raises(ValidationFailed, match="semicolon-separated"):
        transform_data("csv", "bigledger_customer", {"name": "name"}, text, delimiter="\t")
    # Sniffed, the same file just works.
    result = transform_data("csv", "bigledger_customer", {"name": "name", "email": "email"}, text)
    assert result.records == [{"name": "A", "email": "a@x.my", "active": True}]


@pytest.mark.parametrize("text", ["", "   \n\n", "a,b,c\n"])
def test_empty_input(text: str) -> None:
    with pytest.raises(ValidationFailed, match="empty"):
        read_source("csv", text)


def test_duplicate_header() -> None:
    with pytest.raises(ValidationFailed, match="duplicate.*email"):
        read_source("csv", "email,name,email\n1,2,3\n")


def test_max_rows() -> None:
    with pytest.raises(ValidationFailed, match="too many rows"):
        read_source("csv", "a\n1\n2\n3\n", max_rows=2)


def test_json_array_text_or_parsed_flattens_nested_objects() -> None:
    text = '[{"id": 1, "price": 19.90, "customer": {"name": "A", "address": {"city": "KL"}},' \
           ' "tags": ["x"], "paid": true, "note": null}, {"id": 2}]'
    frame = read_source("json", text)
    assert frame.loc[1, "price"] == "19.90"  # the JSON text, exactly
    assert frame.loc[1, "customer.address.city"] == "KL"
    assert frame.loc[1, "tags"] == '["x"]' and frame.loc[1, "paid"] == "true"
    assert frame.loc[1, "note"] == "" and frame.loc[2, "price"] == ""
    assert _all_str(frame)
    parsed = read_source("json", [{"id": 1, "name": "A"}])
    assert parsed.loc[1, "id"] == "1"


@pytest.mark.parametrize(
    ("text", "message"),
    [('{"id": 1}', "array of objects"), ("[1, 2]", "item 1"), ("[", "not valid JSON"),
     ("[]", "empty"), ('[{"a": NaN}]', "not valid JSON")],
)
def test_json_errors(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        read_source("json", text)


def test_jsonl_lines() -> None:
    frame = read_source("jsonl", '{"a": 1.50}\n\n{"a": 2, "b": {"c": "x"}}\n')
    assert frame["a"].tolist() == ["1.50", "2"] and frame.loc[2, "b.c"] == "x"
    with pytest.raises(ValidationFailed, match="line 2 must be a JSON object"):
        read_source("jsonl", '{"a": 1}\n[1]\n')
    with pytest.raises(ValidationFailed, match="line 3 is not valid JSON"):
        read_source("jsonl", '{"a": 1}\n\n{"a": \n')


def test_unknown_source_format() -> None:
    with pytest.raises(ValidationFailed, match="sourceFormat"):
        read_source("parquet", "x")


@pytest.mark.skipif(importlib.util.find_spec("openpyxl") is not None,
                    reason="openpyxl installed")  # fmt: skip
def test_xlsx_without_openpyxl_is_a_clear_error() -> None:
    with pytest.raises(ValidationFailed, match="openpyxl"):
        read_source("xlsx", base64.b64encode(b"PK").decode())


@pytest.mark.skipif(importlib.util.find_spec("openpyxl") is None, reason="needs openpyxl")
def test_xlsx_base64() -> None:
    buffer = io.BytesIO()
    pd.DataFrame({"sku": ["007", "B"], "price": ["19.90", "5"]}).to_excel(buffer, index=False)
    frame = read_source("xlsx", base64.b64encode(buffer.getvalue()).decode())
    assert frame.loc[1, "sku"] == "007" and frame.loc[1, "price"] == "19.90"
    assert _all_str(frame)
