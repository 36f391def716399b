"""transform-data column by column (transform_data_json, what the endpoint answers with):
the same bytes as validating every record with its model (transform_data), whatever the
chunk size, on files full of bad rows; and the column checks agree with the models."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Annotated, Any

import numpy as np
import pytest
from annotated_types import MaxLen
from pydantic import ConfigDict, TypeAdapter, ValidationError

from transforms.data_mapping import _NUMBER_RE
from transforms.target_formats import (
    NO_DEFAULT,
    TARGET_FORMATS,
    ColumnModel,
    FieldCheck,
    column_model,
)
from transforms.transform_data import dumps, transform_data, transform_data_json

CUSTOMER_MAPPING = {
    "externalId": {"field": "id", "transform": "trim"},
    "name": "company_name",
    "email": "contact_email",
    "phone": "phone_number",
    "address.street": "street_address",
    "address.city": {"field": "city", "transform": "upper"},
    "creditLimit": {"field": "credit_limit", "transform": "parseFloat", "default": 0},
    "balance": {"field": "balance", "transform": "parseDecimal"},
    "currency": "currency",
    "active": {"field": "active", "transform": "boolean"},
    "notes": {"field": "since", "transform": "date", "format": "%d/%m/%Y"},
}
HEADER = "id,company_name,contact_email,phone_number,street_address,city,credit_limit,balance," \
         "currency,active,since"
ROWS = [
    "C1,Acme Sdn Bhd,ap@acme.my,+60 3 1234,1 Jalan Ampang,Kuala Lumpur,5000.00,,,yes,01/02/2024",
    "C2,  Padded Name  , AP@Padded.MY ,,2 Jalan,ipoh,,10.50,myr,no,",  # strips, lowers, default
    "C3,Bad Number,b@b.my,,,,12.5x,,,,",  # parseFloat error
    "C4,,nobody@x.my,,,,1,,,,",  # name missing: the model's error
    "C5,Bad Email,not-an-email,,,,1,,,,",  # email rule
    "C6,Negative,n@n.my,,,,-1,,,,",  # creditLimit >= 0
    "C7,No Currency,c@c.my,,,,1,99.99,,,",  # balance needs a currency (model rule)
    "C8,Bad Currency,d@d.my,,,,1,1,XXX,,",  # currency rule
    "C9,Bad Bool,e@e.my,,,,1,,,maybe,",  # boolean error
    "C10,Bad Date,f@f.my,,,,1,,,,31/02/2024",  # date error
    'C11,"Quote ""q"" \\ back, slash",g@g.my,,"tab\there",,0.10,,,,',  # JSON escapes
    "C12," + "L" * 5000 + ",h@h.my,,,,1E+3,,,,",  # a very long name, an exponent
    "C13,Ré & Cö 😀,i@i.my,,\u2028line sep,,(12.50),,,,",  # unicode; (12.50) is negative
    "C14,Two Errors,bad,,,,x,,,,",  # two errors in one row
    "C15,Blank City,j@j.my,,street only,   ,0,,,,",
    ",No Id,k@k.my,,,,00012.340,,USD,TRUE,",
    "C17,\x1cControl,l@l.my,,,,1,,,,",  # a control character pydantic keeps and JSON escapes
    "C18,Currency Only,m@m.my,,,,1,,eur,,",
]
MIXED = HEADER + "\n" + "\n".join(ROWS) + "\n"


def _record_path(*args: Any, **kwargs: Any) -> bytes:
    return dumps(transform_data(*args, **kwargs).to_dict()).encode()


def _column_path(*args: Any, **kwargs: Any) -> bytes:
    return b"".join(transform_data_json(*args, **kwargs))


@pytest.mark.parametrize("chunk_rows", [1, 7, 2000])
def test_the_column_path_answers_what_the_models_answer_on_a_mixed_file(chunk_rows) -> None:
    expected = _record_path("csv", "bigledger_customer", CUSTOMER_MAPPING, MIXED,
                            chunk_rows=100_000)  # fmt: skip
    assert _column_path("csv", "bigledger_customer", CUSTOMER_MAPPING, MIXED,
                        chunk_rows=chunk_rows) == expected  # fmt: skip
    assert _record_path("csv", "bigledger_customer", CUSTOMER_MAPPING, MIXED,
                        chunk_rows=chunk_rows) == expected  # fmt: skip
    answer = json.loads(expected)
    errors = {(e["row"], e["field"]) for e in answer["errors"]}
    assert errors == {(3, "creditLimit"), (4, "name"), (5, "email"), (6, "creditLimit"),
                      (7, "record"), (8, "currency"), (9, "active"), (10, "notes"),
                      (13, "creditLimit"), (14, "creditLimit"), (14, "email")}  # fmt: skip
    assert {e["code"] for e in answer["errors"]} == {"DATA_MAPPING_ERROR"}
    records = {r.get("externalId"): r for r in answer["records"]}
    assert records["C1"] == {"externalId": "C1", "name": "Acme Sdn Bhd", "email": "ap@acme.my",
                             "phone": "+60 3 1234", "address": {"street": "1 Jalan Ampang",
                                                                "city": "KUALA LUMPUR"},
                             "creditLimit": "5000.00", "active": True, "notes": "2024-02-01"}
    assert records["C2"]["name"] == "Padded Name" and records["C2"]["email"] == "ap@padded.my"
    assert records["C2"]["creditLimit"] == "0" and records["C2"]["balance"] == "10.50"
    assert records["C2"]["currency"] == "MYR" and "phone" not in records["C2"]
    assert records["C11"]["name"] == 'Quote "q" \\ back, slash'
    assert records["C12"]["creditLimit"] == "1E+3" and len(records["C12"]["name"]) == 5000
    assert records["C15"]["address"] == {"street": "street only"}
    assert records[None]["creditLimit"] == "12.340"  # exact: 00012.340, never a float
    assert records["C17"]["name"] == "\x1cControl"
    assert "\\u001cControl" in expected.decode()
    assert answer["summary"]["failed"] == 10 and answer["summary"]["records"] == 8


@pytest.mark.parametrize(("target", "mapping", "data"), [
    ("bigledger_vendor", {"name": "n", "email": "e", "balance": "b", "currency": "c"},
     "n,e,b,c\nSupplier,s@s.my,1.5,usd\n,x@x.my,,\nNo Cur,y@y.my,2,\nBad,z,1,MYR\n"),
    ("bigledger_product", {"sku": "sku", "name": "name", "price": "price",
                           "currency": {"value": "myr"},
                           "quantity": {"field": "qty", "transform": "parseInt"},
                           "weight": {"field": "w", "transform": "parseDecimal"},
                           "weightUnit": "unit", "status": "status"},
     "sku,name,price,qty,w,unit,status\nA,Kopi,19.90,12,0.5,GRAMS,draft\nB,Teh,-1,1,,,\n"
     "C,Milo,abc,x,1,TONS,gone\nD,,1,1,-2,,\nE,Air,0,,,KILOGRAMS,\n"),
    ("bigledger_account", {"code": "code", "name": "name", "type": "type",
                           "currency": "cur", "parentCode": "parent"},
     "code;name;type;cur;parent\n1000;Cash;Asset;myr;\n4000;Sales;Revenue;;\n9999;Odd;Magic;;\n"
     ";Nameless;equity;;\n1100;Bank;assets;XYZ;1000\n"),
])
def test_every_flat_format(target, mapping, data) -> None:
    expected = _record_path("csv", target, mapping, data)
    for chunk_rows in (1, 2, 1000):
        assert _column_path("csv", target, mapping, data, chunk_rows=chunk_rows) == expected
    answer = json.loads(expected)
    assert answer["records"] and answer["errors"]


def test_chunk_boundaries_do_not_change_which_errors_are_listed() -> None:
    # Over max_errors, one pass over the whole file lists the mapping's errors rule by rule
    # (creditLimit's before email's), then the models' errors: chunks must list the same.
    rows = [f"C{i},Name {i},{'bad' if i % 3 == 0 else f'n{i}@x.my'},,,,"
            f"{'x' if i % 4 == 0 else i},,,," for i in range(1, 40)]
    data = HEADER + "\n" + "\n".join(rows) + "\n"
    expected = _record_path("csv", "bigledger_customer", CUSTOMER_MAPPING, data, max_errors=5,
                            chunk_rows=100_000)  # fmt: skip
    for chunk_rows in (1, 3, 7, 16):
        for path in (_column_path, _record_path):
            assert path("csv", "bigledger_customer", CUSTOMER_MAPPING, data, max_errors=5,
                        chunk_rows=chunk_rows) == expected  # fmt: skip
    answer = json.loads(expected)
    assert [(e["row"], e["field"]) for e in answer["errors"]] == [
        (4, "creditLimit"), (8, "creditLimit"), (12, "creditLimit"), (16, "creditLimit"),
        (20, "creditLimit")]
    assert answer["summary"]["errors"] == 9 + 13  # rows 12, 24 and 36 have both
    assert list(answer["summary"]["errorsByField"]) == ["creditLimit", "email"]


def test_json_sources_and_formats_with_lines_take_the_same_path() -> None:
    rows = [{"company": {"name": f"Co {i}", "email": f"c{i}@x.my" if i != 3 else "bad"},
             "limit": f"{i}.50"} for i in range(1, 12)]
    mapping = {"name": "company.name", "email": "company.email",
               "creditLimit": {"field": "limit", "transform": "parseDecimal"}}
    expected = _record_path("json", "bigledger_customer", mapping, rows)
    assert _column_path("json", "bigledger_customer", mapping, rows, chunk_rows=4) == expected
    orders = ("no,date,cur,sku,qty,price\nA,2024-01-01,USD,X,2,1.50\nB,2024-01-02,USD,Y,x,1\n"
              "A,,,Z,1,2.00\nC,2024-01-03,EUR,Z,1,3\n")  # order A's rows are apart
    mapping = {"orderNumber": "no", "orderDate": "date", "currency": "cur", "lines.sku": "sku",
               "lines.quantity": {"field": "qty", "transform": "parseInt"},
               "lines.unitPrice": "price"}  # fmt: skip
    expected = _record_path("csv", "bigledger_order", mapping, orders)
    assert _column_path("csv", "bigledger_order", mapping, orders, chunk_rows=1) == expected
    assert [r["orderNumber"] for r in json.loads(expected)["records"]] == ["A", "C"]


def test_the_answer_comes_a_chunk_at_a_time() -> None:
    data = HEADER + "\n" + "\n".join(ROWS[:1] * 50) + "\n"
    parts = list(transform_data_json("csv", "bigledger_customer", CUSTOMER_MAPPING, data,
                                     chunk_rows=10))  # fmt: skip
    assert len(parts) == 2 + 5  # the opening, one part per chunk, errors and summary
    assert json.loads(b"".join(parts))["summary"]["records"] == 50


# --- the column checks are the models' rules ------------------------------------------------

CANDIDATES: list[Any] = [
    "Acme", " Acme ", "", "   ", "\x1cx", "x\u00a0", "\u2028", "a@b.co", " A@B.CO ", "a@b",
    "MYR", "myr", " usd ", "XXX", "Asset", "revenue", "Magic", "active", "draft", "GRAMS",
    "grams", "12", "1.50", "-1", "abc", "NaN", "Infinity", True, False, 0, 1, -3, 12, 2**70,
    Decimal("0"), Decimal("1.50"), Decimal("-0.01"), Decimal("NaN"), Decimal("-0"),
    Decimal("1E+3"), 1.5, ["a"], {"k": "v"}, None,
]


def _leaves(model: ColumnModel) -> list[Any]:
    out = []
    for item in model.fields:
        out += _leaves(item) if isinstance(item, ColumnModel) else [item]
    return out


@pytest.mark.parametrize("name", ["bigledger_customer", "bigledger_vendor", "bigledger_product",
                                  "bigledger_account"])
def test_each_field_check_accepts_and_gives_what_the_model_does(name) -> None:
    fmt = TARGET_FORMATS[name]
    model = column_model(fmt)
    assert model is not None
    for leaf in _leaves(model):
        for plain in (None, True):
            values = [v for v in CANDIDATES if v is not None]
            given = None
            if plain:  # the mapping says which texts have nothing to strip
                values = [v for v in values if type(v) is str]
                given = np.array([v.strip() is v for v in values])
            ok, out = leaf.check(values, given)
            for value, valid, got in zip(values, ok, out, strict=True):
                expected = _model_says(fmt.model, leaf.path, value)
                # repr: Decimal("1.50") == Decimal("1.5"), but they are not the same answer
                assert (bool(valid), repr(got) if valid else None) == expected, (leaf.path,
                                                                                 value)


def _model_says(model: Any, path: str, value: Any) -> tuple[bool, Any]:
    """(valid, validated value) of `value` in `path` of a record otherwise valid."""
    base: dict[str, Any] = {"name": "N", "price": "1", "currency": "MYR", "code": "1",
                            "type": "asset"}  # fmt: skip
    record = {k: v for k, v in base.items() if k in model.model_fields}
    head, _, rest = path.partition(".")
    record[head] = {rest: value} if rest else value
    if head == "balance" and "currency" not in record:
        record["currency"] = "MYR"
    try:
        validated = model.model_validate(record)
    except ValidationError:
        return False, None
    got = getattr(validated, head)
    return True, repr(getattr(got, rest) if rest else got)


def test_required_fields_and_defaults_come_from_the_model() -> None:
    model = column_model(TARGET_FORMATS["bigledger_customer"])
    assert model is not None
    fields = {leaf.path: leaf for leaf in _leaves(model)}
    assert fields["name"].required and fields["name"].default is NO_DEFAULT
    assert fields["active"].default is True and fields["email"].default is None
    assert model.rules == (("balance", "currency"),)
    # Formats with lines are validated record by record.
    assert column_model(TARGET_FORMATS["bigledger_order"]) is None


def test_a_length_limit_is_kept_by_the_plain_text_shortcut() -> None:
    config = ConfigDict(str_strip_whitespace=True)
    check = FieldCheck(Annotated[str, MaxLen(5)], config)
    values = ["short", "too long", " pad ", "  toolong  ", "", 7]
    ok, out = check(values)
    adapter = TypeAdapter(Annotated[str, MaxLen(5)], config=config)
    for value, valid, got in zip(values, ok, out, strict=True):
        try:
            expected = (True, adapter.validate_python(value))
        except ValidationError:
            expected = (False, None)
        assert (bool(valid), got if valid else None) == expected, value
    assert ok.tolist() == [True, False, True, False, True, False]


def test_pydantic_strips_no_whitespace_python_keeps() -> None:
    # The plain-text shortcut takes a text Python's strip() leaves alone as pydantic's
    # answer: true only while pydantic's whitespace is a subset of Python's.
    adapter = TypeAdapter(list[str], config=ConfigDict(str_strip_whitespace=True))
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    values = [f"{chr(c)}x{chr(c)}" for c in points]
    stripped = [c for c, v, out in zip(points, values, adapter.validate_python(values),
                                       strict=True) if out != v]  # fmt: skip
    assert stripped and all(chr(c).isspace() for c in stripped)


def test_the_digits_shortcut_of_parse_decimal_takes_only_numbers() -> None:
    # parseDecimal reads "1234.50" without its regex: whatever the shortcut takes, the
    # regex takes too (the rest still goes through the regex).
    rng = random.Random(3)
    alphabet = "0123456789..+-eE _x\u0661\u0662\u00b2"  # Arabic-Indic digits, a superscript
    for _ in range(100_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        if text.replace(".", "", 1).isdecimal():
            assert _NUMBER_RE.fullmatch(text), text
