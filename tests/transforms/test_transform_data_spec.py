"""transform-data end to end: the spec's example, bad rows among good, every target format."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bigledger.errors import DataMappingError
from transforms.transform_data import transform_data

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transform_data"

# The spec's request body, verbatim (with its data rows in the fixture).
SPEC_MAPPING = {
    "name": "company_name",
    "email": "contact_email",
    "phone": "phone_number",
    "address.street": "street_address",
    "address.city": "city",
    "creditLimit": {"field": "credit_limit", "transform": "parseFloat", "default": 0},
}


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def _assert_exact(value: object) -> None:
    """No float anywhere in a record, however deep."""
    assert not isinstance(value, float), value
    if isinstance(value, dict):
        for item in value.values():
            _assert_exact(item)
    if isinstance(value, list):
        for item in value:
            _assert_exact(item)


def test_spec_example_good_rows_transformed_bad_rows_reported() -> None:
    result = transform_data("csv", "bigledger_customer", SPEC_MAPPING,
                            _fixture("customers_spec.csv"))  # fmt: skip
    names = [r["name"] for r in result.records]
    assert names == ["Acme Sdn Bhd", "Beta Trading", "Delta Co"]
    acme = result.records[0]
    assert acme["address"] == {"street": "1 Jalan Ampang", "city": "Kuala Lumpur"}
    assert acme["creditLimit"] == Decimal("5000.00")
    assert type(acme["creditLimit"]) is Decimal
    # An empty credit limit takes the spec's default 0, exactly.
    assert result.records[1]["creditLimit"] == Decimal(0)
    assert type(result.records[1]["creditLimit"]) is Decimal
    assert result.records[2]["creditLimit"] == Decimal("0.10")
    for record in result.records:
        _assert_exact(record)

    errors = [(e.row, e.field, e.value, e.code) for e in result.errors]
    assert errors == [
        (3, "creditLimit", "12.5x", "DATA_MAPPING_ERROR"),
        (3, "email", "not-an-email", "DATA_MAPPING_ERROR"),
        (5, "name", None, "DATA_MAPPING_ERROR"),
    ]
    assert all(e.message for e in result.errors)
    assert result.summary["rows"] == 5
    assert result.summary["transformed"] == 3
    assert result.summary["failed"] == 2
    assert result.summary["errorsByField"] == {"creditLimit": 1, "email": 1, "name": 1}
    assert result.record_rows == [[1], [2], [4]]
    body = result.to_dict()
    assert body["records"][0]["creditLimit"] == "5000.00"
    assert body["errors"][0] == {"row": 3, "field": "creditLimit", "value": "12.5x",
                                 "code": "DATA_MAPPING_ERROR",
                                 "message": "parseFloat: not a number"}  # fmt: skip


def test_same_input_same_output() -> None:
    one = transform_data("csv", "bigledger_customer", SPEC_MAPPING, _fixture("customers_spec.csv"))
    two = transform_data("csv", "bigledger_customer", SPEC_MAPPING, _fixture("customers_spec.csv"))
    assert one.to_dict() == two.to_dict()


def test_json_source_nested_objects_flattened() -> None:
    mapping = {
        "externalId": "id",
        "name": "company.name",
        "email": "company.email",
        "address.street": "address.street",
        "address.city": "address.city",
        "creditLimit": {"field": "credit", "transform": "parseDecimal"},
        "active": {"field": "active", "transform": "boolean"},
        "notes": "tags",
    }
    result = transform_data("json", "bigledger_customer", mapping, _fixture("customers.json"))
    assert result.errors == []
    first, second = result.records
    assert first["creditLimit"] == Decimal("5000.10")  # JSON number read exactly
    assert second["creditLimit"] == Decimal("0.3")
    assert first["notes"] == '["vip", "wholesale"]'
    assert second["active"] is False
    assert "email" not in second and second["address"] == {"city": "Penang"}


def test_jsonl_source_products() -> None:
    mapping = {"sku": "sku", "name": "title", "price": "price", "currency": {"value": "MYR"},
               "quantity": {"field": "stock", "transform": "parseInt"}}  # fmt: skip
    result = transform_data("jsonl", "bigledger_product", mapping, _fixture("products.jsonl"))
    assert [(r["sku"], r["price"], r["quantity"]) for r in result.records] == [
        ("SKU-A", Decimal("19.90"), 12), ("SKU-B", Decimal("7.5"), 0)]
    for record in result.records:
        _assert_exact(record)


def test_orders_one_row_per_line_grouped_by_order_number() -> None:
    mapping = {
        "orderNumber": "order_no",
        "orderDate": {"field": "order_date", "transform": "date", "format": "%d/%m/%Y"},
        "currency": "currency",
        "customer.email": "email",
        "lines.sku": "sku",
        "lines.quantity": {"field": "qty", "transform": "parseInt"},
        "lines.unitPrice": {"field": "unit_price", "transform": "parseDecimal"},
        "shipping": {"field": "shipping", "transform": "parseDecimal", "default": 0},
        "tax": {"field": "tax", "transform": "parseDecimal", "default": 0},
    }
    result = transform_data("csv", "bigledger_order", mapping, _fixture("orders.csv"))
    assert [r["orderNumber"] for r in result.records] == ["SO-1", "SO-2"]
    so1 = result.records[0]
    assert [(line["sku"], line["quantity"]) for line in so1["lines"]] == [("SKU-A", 2),
                                                                          ("SKU-B", 1)]
    assert so1["currency"] == "MYR" and str(so1["orderDate"]) == "2024-01-15"
    assert result.record_rows == [[1, 2], [3]]
    assert [(e.row, e.field, e.value) for e in result.errors] == [(4, "lines.quantity", "two")]
    assert result.summary["failed"] == 1 and result.summary["records"] == 2


def test_order_header_conflict_is_a_row_error() -> None:
    data = "no,date,cur,sku,qty,price\nA,2024-01-01,USD,X,1,1\nA,2024-01-01,EUR,Y,1,2\n"
    mapping = {"orderNumber": "no", "orderDate": "date", "currency": "cur", "lines.sku": "sku",
               "lines.quantity": "qty", "lines.unitPrice": "price"}  # fmt: skip
    result = transform_data("csv", "bigledger_order", mapping, data)
    assert result.records == []
    assert [(e.row, e.field, e.value) for e in result.errors] == [(2, "currency", "EUR")]
    assert result.summary["failed"] == 2


def test_order_total_must_reconcile() -> None:
    data = ("no,date,cur,sku,qty,price,total\n"
            "A,2024-01-01,USD,X,2,1.50,3.00\nB,2024-01-01,USD,X,2,1.50,3.01\n")
    mapping = {"orderNumber": "no", "orderDate": "date", "currency": "cur", "lines.sku": "sku",
               "lines.quantity": "qty", "lines.unitPrice": "price", "total": "total"}  # fmt: skip
    result = transform_data("csv", "bigledger_order", mapping, data)
    assert [r["orderNumber"] for r in result.records] == ["A"]
    assert result.errors[0].row == 2 and "does not equal" in result.errors[0].message


def test_journal_entries_must_balance() -> None:
    mapping = {
        "entryNumber": "entry",
        "date": {"field": "date", "transform": "date"},
        "currency": {"value": "MYR"},
        "memo": "memo",
        "lines.account": "account",
        "lines.debit": {"field": "debit", "transform": "parseDecimal"},
        "lines.credit": {"field": "credit", "transform": "parseDecimal"},
    }
    result = transform_data("csv", "bigledger_journal_entry", mapping, _fixture("journal.csv"))
    assert [r["entryNumber"] for r in result.records] == ["JE-1"]
    (error,) = result.errors
    assert (error.row, error.field, error.code) == (3, "lines", "DATA_MAPPING_ERROR")
    assert "does not balance" in error.message and "199.99" in error.message
    assert result.summary["failed"] == 2 and result.summary["transformed"] == 2


def test_journal_line_with_both_sides_names_its_row() -> None:
    data = "e,d,a,dr,cr\nJ,2024-01-01,x,5,\nJ,2024-01-01,y,5,5\n"
    mapping = {"entryNumber": "e", "date": "d", "currency": {"value": "USD"},
               "lines.account": "a", "lines.debit": "dr", "lines.credit": "cr"}  # fmt: skip
    result = transform_data("csv", "bigledger_journal_entry", mapping, data)
    assert result.records == []
    assert any(e.row == 2 and e.field == "lines" for e in result.errors)


def test_accounts_target() -> None:
    data = "code;name;type\n1000;Cash;Asset\n4000;Sales;Revenue\n9999;Odd;Magic\n"
    mapping = {"code": "code", "name": "name", "type": "type"}
    result = transform_data("csv", "bigledger_account", mapping, data)
    assert [(r["code"], r["type"]) for r in result.records] == [("1000", "asset"),
                                                               ("4000", "income")]
    assert [(e.row, e.field, e.value) for e in result.errors] == [(3, "type", "Magic")]


@pytest.mark.parametrize(
    ("mapping", "named"),
    [
        ({**SPEC_MAPPING, "nickname": "company_name"}, "nickname"),
        ({**SPEC_MAPPING, "address.planet": "city"}, "address.planet"),
        ({**SPEC_MAPPING, "creditLimit": {"field": "credit_limit", "transform": "toFloat"}},
         "toFloat"),
        ({**SPEC_MAPPING, "phone": "telephone"}, "telephone"),
        ({"email": "contact_email"}, "name"),
    ],
)
def test_broken_mapping_is_a_data_mapping_error_naming_the_place(mapping, named) -> None:
    with pytest.raises(DataMappingError) as caught:
        transform_data("csv", "bigledger_customer", mapping, _fixture("customers_spec.csv"))
    assert named in caught.value.message
    assert caught.value.code == "DATA_MAPPING_ERROR"


def test_unknown_target_format() -> None:
    with pytest.raises(DataMappingError, match="bigledger_widget"):
        transform_data("csv", "bigledger_widget", SPEC_MAPPING, "a\n1\n")


def test_fifty_thousand_rows() -> None:
    header = "company_name,contact_email,phone_number,street_address,city,credit_limit"
    rows = [f"Company {i},c{i}@example.com,+60{i:08d},{i} Jalan Ampang,Kuala Lumpur,"
            f"{i % 9999}.{i % 100:02d}" for i in range(50_000)]  # fmt: skip
    rows[777] = "Broken,broken@example.com,,,,1.2.3"
    data = header + "\n" + "\n".join(rows) + "\n"
    result = transform_data("csv", "bigledger_customer", SPEC_MAPPING, data)
    assert result.summary["rows"] == 50_000
    assert result.summary["transformed"] == 49_999
    assert [(e.row, e.value) for e in result.errors] == [(778, "1.2.3")]
    assert result.records[-1]["creditLimit"] == Decimal("49999") % 9999 + Decimal("0.99")
    assert all(type(r["creditLimit"]) is Decimal for r in result.records[:100])
