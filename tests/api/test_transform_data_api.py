"""POST /v1/integrations/transform-data as the spec: the spec's example verbatim, per-row
errors among good rows, bad files and mappings as clear errors, `load` writing the valid
records into the ledger once however often it is sent."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.envelope import ok
from ledger.models import Account, Customer, JournalEntry
from tests.conftest import TEST_API_KEY
from transforms.transform_data import transform_data

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
SPEC_MAPPING = {
    "name": "company_name",
    "email": "contact_email",
    "phone": "phone_number",
    "address.street": "street_address",
    "address.city": "city",
    "creditLimit": {"field": "credit_limit", "transform": "parseFloat", "default": 0},
}
CSV = ("company_name,contact_email,phone_number,street_address,city,credit_limit\n"
       "Acme Sdn Bhd,ap@acme.example,+60 3 1234 5678,1 Jalan Ampang,Kuala Lumpur,15000.50\n"
       "Borneo Trading,sales@borneo.example,+60 88 765 432,2 Jalan Gaya,Kota Kinabalu,\n"
       "Cendana Co,not-an-email,+60 4 111 2222,3 Lebuh Pantai,George Town,lots\n")


@pytest.fixture
def client(ledger_engine):
    with TestClient(create_app()) as c:
        yield c


def post(client, **body):
    return client.post("/v1/integrations/transform-data", headers=AUTH, json=body)


def test_the_spec_example_with_a_bad_row_among_good_ones(client):
    r = post(client, sourceFormat="csv", targetFormat="bigledger_customer",
             mapping=SPEC_MAPPING, data=CSV)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [c["name"] for c in data["records"]] == ["Acme Sdn Bhd", "Borneo Trading"]
    first = data["records"][0]
    assert first["address"] == {**first["address"], "street": "1 Jalan Ampang",
                                "city": "Kuala Lumpur"}
    assert first["creditLimit"] == "15000.50"  # exact, never a float
    assert data["records"][1]["creditLimit"] == "0"  # the default
    assert {e["row"] for e in data["errors"]} == {3}
    assert {e["code"] for e in data["errors"]} == {"DATA_MAPPING_ERROR"}
    assert {e["field"] for e in data["errors"]} >= {"creditLimit"}
    assert data["summary"]["transformed"] == 2 and data["summary"]["failed"] == 1


def test_load_writes_the_valid_rows_once(client, ledger_engine):
    for _ in range(2):
        r = post(client, sourceFormat="csv", targetFormat="bigledger_customer",
                 mapping=SPEC_MAPPING, data=CSV, load=True)
        assert r.status_code == 200, r.text
    assert r.json()["data"]["loaded"]["created"] == 0
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 2


def test_journal_entries_load_balanced_and_unknown_accounts_are_refused(client, ledger_engine):
    mapping = {"entryNumber": "no", "date": {"field": "date", "transform": "date",
                                             "format": "%d/%m/%Y"},
               "memo": "memo", "currency": "ccy", "lines.account": "account",
               "lines.debit": {"field": "debit", "transform": "parseDecimal"},
               "lines.credit": {"field": "credit", "transform": "parseDecimal"}}
    csv = ("no,date,memo,ccy,account,debit,credit\n"
           "J1,31/01/2024,Rent,MYR,acc_bank,,1200.00\n"
           "J1,31/01/2024,Rent,MYR,acc_other_income,1200.00,\n")
    r = post(client, sourceFormat="csv", targetFormat="bigledger_journal_entry",
             mapping=mapping, data=csv, load=True)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["loaded"]["journalEntriesPosted"] == 1
    bad = post(client, sourceFormat="csv", targetFormat="bigledger_journal_entry",
               mapping=mapping, data=csv.replace("acc_bank", "acc_nowhere"), load=True)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "DATA_MAPPING_ERROR"
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 1


@pytest.mark.parametrize(("body", "code"), [
    ({"targetFormat": "bigledger_unicorn"}, "DATA_MAPPING_ERROR"),
    ({"mapping": {"name": "no_such_column"}}, "DATA_MAPPING_ERROR"),
    ({"mapping": {"name": {"field": "company_name", "transform": "explode"}}},
     "DATA_MAPPING_ERROR"),
    ({"data": "a;b\n1;2;3\n"}, None),  # ragged rows: a clear error either way
    ({"data": ""}, None),
])
def test_bad_mappings_and_files_are_clear_errors(client, body, code):
    full = {"sourceFormat": "csv", "targetFormat": "bigledger_customer",
            "mapping": SPEC_MAPPING, "data": CSV, **body}
    r = post(client, **full)
    assert r.status_code in (400, 422), r.text
    assert r.json()["success"] is False
    if code:
        assert r.json()["error"]["code"] == code


def test_json_input_and_a_huge_body(client):
    rows = [{"company_name": "Acme", "contact_email": "a@b.example", "phone_number": "1",
             "street_address": "x", "city": "y", "credit_limit": "10"}]
    r = post(client, sourceFormat="json", targetFormat="bigledger_customer",
             mapping=SPEC_MAPPING, data=rows)
    assert r.status_code == 200 and r.json()["data"]["summary"]["transformed"] == 1
    huge = client.post("/v1/integrations/transform-data", headers=AUTH,
                       content=b'{"data": "' + b"x" * (6 * 1024 * 1024) + b'"}')
    assert huge.status_code == 413


TRICKY_CSV = ("company_name,contact_email,phone_number,street_address,city,credit_limit\n"
              '"Quote ""Q"" Sdn Bhd",q@q.my,,"1 Jalan\\Back",Ipoh,1.50\n'
              "Ré & Cö 😀,re@co.my,+60,,Melaka,0.10\n"
              "  Padded  , PAD@X.MY ,,,,\n"
              "Bad,bad,,,,(1)\n")


def test_the_answer_is_the_records_answer_byte_for_byte(client):
    r = post(client, sourceFormat="csv", targetFormat="bigledger_customer",
             mapping=SPEC_MAPPING, data=TRICKY_CSV)
    assert r.status_code == 200, r.text
    result = transform_data("csv", "bigledger_customer", SPEC_MAPPING, TRICKY_CSV)
    # What the endpoint answered when it validated every record and rendered the envelope.
    expected = json.dumps(ok(result.to_dict()), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode()
    assert r.content == expected
    assert r.headers["content-type"] == "application/json"
    assert r.json()["data"]["records"][0]["name"] == 'Quote "Q" Sdn Bhd'


def test_a_large_answer_is_sent_from_a_spooled_file(client, monkeypatch):
    small = post(client, sourceFormat="csv", targetFormat="bigledger_customer",
                 mapping=SPEC_MAPPING, data=TRICKY_CSV)
    monkeypatch.setattr("api.routes.transform._IN_MEMORY", 64)
    monkeypatch.setattr("api.routes.transform._SEND", 100)
    large = post(client, sourceFormat="csv", targetFormat="bigledger_customer",
                 mapping=SPEC_MAPPING, data=TRICKY_CSV)
    assert large.status_code == 200
    assert large.content == small.content
    assert large.headers["content-length"] == str(len(small.content))


def test_a_load_in_chunks_writes_each_record_once(client, ledger_engine, monkeypatch):
    monkeypatch.setattr("transforms.transform_data.CHUNK_ROWS", 1)
    loaded = []
    for _ in range(2):
        r = post(client, sourceFormat="csv", targetFormat="bigledger_customer",
                 mapping=SPEC_MAPPING, data=CSV, load=True)
        assert r.status_code == 200, r.text
        loaded.append(r.json()["data"]["loaded"])
    assert [(x["records"], x["created"], x["updated"]) for x in loaded] == [(2, 2, 0),
                                                                           (2, 0, 0)]
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 2


def test_accounts_in_chunks_still_find_a_parent_that_comes_later(client, ledger_engine,
                                                                  monkeypatch):
    monkeypatch.setattr("transforms.transform_data.CHUNK_ROWS", 1)
    chart = "code,name,type,parent\n1110,Petty Cash,asset,1100\n1100,Cash,asset,\n"
    mapping = {"code": "code", "name": "name", "type": "type", "parentCode": "parent"}
    answers = [post(client, sourceFormat="csv", targetFormat="bigledger_account",
                    mapping=mapping, data=chart, load=True) for _ in range(2)]
    assert [a.json()["data"]["loaded"]["created"] for a in answers] == [2, 0]
    assert answers[1].json()["data"]["loaded"]["updated"] == 0
    with ledger_engine.connect() as conn:
        rows = {r.source_code: r for r in conn.execute(
            select(Account).where(Account.source_code.in_(["1100", "1110"])))}
    assert rows["1110"].parent_id == rows["1100"].id


def test_nothing_valid_loads_nothing(client, ledger_engine):
    r = post(client, sourceFormat="csv", targetFormat="bigledger_customer",
             mapping=SPEC_MAPPING, data="company_name,contact_email,phone_number,"
             "street_address,city,credit_limit\n,bad,,,,x\n", load=True,
             integrationId="int_nowhere")
    assert r.status_code == 200, r.text  # the integration is only looked up to load records
    assert "loaded" not in r.json()["data"]
