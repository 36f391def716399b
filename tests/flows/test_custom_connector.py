"""Custom connectors end to end: the spec's example definition created through the API
(versioned, listed, updated, deleted), an instance set up against the legacy ERP sandbox, and
the generic custom-sync flow loading its orders into balanced books, twice with no change."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from ledger.models import SalesOrder
from ledger.reports import trial_balance
from sandbox.legacy_erp.config import DEFAULT_API_KEY
from tests.conftest import TEST_API_KEY
from tests.ledger.helpers import dump

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
SPEC = json.loads((Path(__file__).parents[1] / "fixtures" / "custom" /
                   "spec_example.json").read_text())
TABLES = ("sales_orders", "sales_order_lines", "customers", "journal_entries",
          "journal_lines", "external_refs")


@pytest.fixture
def client(ledger_engine):
    with TestClient(create_app()) as c:
        yield c


def test_definitions_are_validated_versioned_listed_and_deleted(client):
    created = client.post("/v1/integrations/custom/create-connector", headers=AUTH, json=SPEC)
    assert created.status_code == 200, created.text
    connector = created.json()["data"]
    assert connector["version"] == 1 and connector["endpoints"][0]["name"] == "getOrders"
    cid = connector["connectorId"]
    changed = copy.deepcopy(SPEC)
    changed["description"] = "now with customers"
    updated = client.put(f"/v1/integrations/custom/connectors/{cid}", headers=AUTH,
                         json=changed)
    assert updated.json()["data"]["version"] == 2
    first = client.get(f"/v1/integrations/custom/connectors/{cid}?version=1", headers=AUTH)
    assert first.json()["data"]["description"] == SPEC["description"]
    listed = client.get("/v1/integrations/custom/connectors", headers=AUTH).json()["data"]
    assert [c["connectorId"] for c in listed] == [cid]
    assert client.delete(f"/v1/integrations/custom/connectors/{cid}",
                         headers=AUTH).status_code == 200
    gone = client.get(f"/v1/integrations/custom/connectors/{cid}", headers=AUTH)
    assert gone.status_code == 404


@pytest.mark.parametrize(("change", "code", "place"), [
    (lambda d: d["endpoints"][0]["mapping"].update(total="$.["), "DATA_MAPPING_ERROR",
     "endpoints[0].mapping.total"),
    (lambda d: d["endpoints"][0]["mapping"].update(colour="$.colour"), "DATA_MAPPING_ERROR",
     "colour"),
    (lambda d: d["authentication"]["fields"].pop(0), None, "apiKey"),
    (lambda d: d["authentication"].update(type="carrier_pigeon"), "VALIDATION_ERROR",
     "authentication"),
])
def test_broken_definitions_name_the_place(client, change, code, place):
    broken = copy.deepcopy(SPEC)
    change(broken)
    r = client.post("/v1/integrations/custom/create-connector", headers=AUTH, json=broken)
    assert r.status_code in (400, 422), r.text
    error = r.json()["error"]
    if code:
        assert error["code"] == code
    assert place in json.dumps(error)


@pytest.mark.usefixtures("prefect_api")
def test_an_instance_syncs_the_legacy_erp_orders_into_balanced_books(client, ledger_engine,
                                                                    sandbox, monkeypatch):
    import api.orchestrator as orchestrator
    from flows.custom import custom_sync

    cid = client.post("/v1/integrations/custom/create-connector", headers=AUTH,
                      json=SPEC).json()["data"]["connectorId"]
    refused = client.post(f"/v1/integrations/custom/connectors/{cid}/setup", headers=AUTH,
                          json={"name": "ERP", "credentials": {"apiKey": "wrong",
                                                               "baseUrl": sandbox.url}})
    assert refused.status_code == 401 and "wrong" not in refused.text
    setup = client.post(f"/v1/integrations/custom/connectors/{cid}/setup", headers=AUTH,
                        json={"name": "Legacy ERP", "credentials": {
                            "apiKey": DEFAULT_API_KEY, "baseUrl": sandbox.url}})
    assert setup.status_code == 200, setup.text
    iid = setup.json()["data"]["id"]
    assert DEFAULT_API_KEY not in setup.text

    started = []
    monkeypatch.setattr(orchestrator, "start_flow_run",
                        lambda name, params, tags: started.append((name, params)) or "fr-1")
    answer = client.post(f"/v1/integrations/custom/{iid}/sync", headers=AUTH,
                         json={"parameters": {"from_date": "2020-01-01"}})
    assert answer.status_code == 200, answer.text
    (name, params), = started
    assert name == "custom-sync" and params["parameters"] == {"from_date": "2020-01-01"}

    run = custom_sync(integration_id=iid, parameters={"from_date": "2020-01-01"})
    assert run["status"] == "completed", run
    assert run["counters"]["ordersCreated"] == 120
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SalesOrder)).scalar_one() == 120
        assert trial_balance(conn)["balanced"]
    before = dump(ledger_engine, TABLES)
    again = custom_sync(integration_id=iid, parameters={"from_date": "2020-01-01"})
    assert again["counters"]["ordersCreated"] == again["counters"]["ordersUpdated"] == 0
    assert dump(ledger_engine, TABLES) == before
