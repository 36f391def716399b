"""Schedules: POST/GET/DELETE /v1/integrations/{id}/schedules become schedules of the
operations' Prefect deployments (visible in Prefect, carrying the integration as their
parameter), and the status answers nextSync/syncFrequency from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.orchestrator import prefect_schedule_slugs
from ledger.models import SyncSchedule
from ledger.schedules import cron_for, next_run
from tests.conftest import TEST_API_KEY, make_shopify_integration

pytestmark = pytest.mark.usefixtures("prefect_api")
AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}


@pytest.fixture(scope="module")
def deployments(prefect_api):
    """The deployments schedules attach to, registered as `bigledger worker` would."""
    from flows.serve import build_deployments

    for deployment in build_deployments():
        if deployment.flow_name in ("shopify-sync-orders", "shopify-sync-products"):
            deployment.apply()


@pytest.fixture
def client(ledger_engine, deployments):
    with TestClient(create_app()) as c:
        yield c


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(SyncSchedule)).scalar_one()


def test_schedules_become_prefect_deployment_schedules(client, ledger_engine):
    iid = make_shopify_integration(ledger_engine, "http://127.0.0.1:9", integration_id="int_s1")
    r = client.post(f"/v1/integrations/{iid}/schedules", headers=AUTH,
                    json={"frequency": "hourly", "operations": ["sync_orders", "sync_inventory"]})
    assert r.status_code == 200, r.text
    answer = r.json()["data"]
    orders, inventory = answer["schedules"]
    assert (orders["operation"], inventory["operation"]) == ("sync_orders", "sync_inventory")
    assert orders["deployment"] == "shopify-sync-orders/default"
    assert inventory["deployment"] == "shopify-sync-products/default"

    in_prefect = prefect_schedule_slugs("shopify-sync-orders")[orders["scheduleId"]]
    assert in_prefect["active"] and in_prefect["parameters"] == {"integration_id": iid}
    assert in_prefect["cron"] == orders["cron"] == cron_for("hourly", iid, "sync_orders")
    products = prefect_schedule_slugs("shopify-sync-products")[inventory["scheduleId"]]
    assert products["parameters"] == {"integration_id": iid, "include_inventory": True}

    next_sync = datetime.fromisoformat(answer["nextSync"].replace("Z", "+00:00"))
    assert datetime.now(UTC) < next_sync <= datetime.now(UTC) + timedelta(hours=1)
    status = client.get(f"/v1/integrations/{iid}/status", headers=AUTH).json()["data"]
    assert status["syncFrequency"] == "hourly" and status["nextSync"] == answer["nextSync"]

    # A worker (re)starting re-applies the deployments: the integration's schedules stay.
    from flows.serve import build_deployments
    for deployment in build_deployments():
        if deployment.flow_name == "shopify-sync-orders":
            deployment.apply()
    assert orders["scheduleId"] in prefect_schedule_slugs("shopify-sync-orders")

    listed = client.get(f"/v1/integrations/{iid}/schedules", headers=AUTH).json()["data"]
    assert [s["scheduleId"] for s in listed] == [orders["scheduleId"], inventory["scheduleId"]]

    # Scheduling an operation again replaces its schedule, in the ledger and in Prefect.
    daily = client.post(f"/v1/integrations/{iid}/schedules", headers=AUTH,
                        json={"frequency": "daily", "operations": ["sync_orders"]})
    new_id = daily.json()["data"]["schedules"][0]["scheduleId"]
    slugs = prefect_schedule_slugs("shopify-sync-orders")
    assert new_id in slugs and orders["scheduleId"] not in slugs
    assert stored(ledger_engine) == 2

    gone = client.delete(f"/v1/integrations/{iid}/schedules/{new_id}", headers=AUTH)
    assert gone.status_code == 200
    assert new_id not in prefect_schedule_slugs("shopify-sync-orders")
    assert client.delete(f"/v1/integrations/{iid}/schedules/{new_id}",
                         headers=AUTH).status_code == 404
    status = client.get(f"/v1/integrations/{iid}/status", headers=AUTH).json()["data"]
    assert status["syncFrequency"] == "hourly"  # the inventory schedule is left
    client.delete(f"/v1/integrations/{iid}/schedules/{inventory['scheduleId']}", headers=AUTH)
    status = client.get(f"/v1/integrations/{iid}/status", headers=AUTH).json()["data"]
    assert (status["nextSync"], status["syncFrequency"]) == (None, "manual")


def test_a_cron_is_read_in_its_time_zone(client, ledger_engine):
    iid = make_shopify_integration(ledger_engine, "http://127.0.0.1:9", integration_id="int_s2")
    r = client.post(f"/v1/integrations/{iid}/schedules", headers=AUTH,
                    json={"frequency": "0 9 * * *", "operations": ["sync_orders"],
                          "timezone": "Asia/Kuala_Lumpur"})
    assert r.status_code == 200, r.text
    next_sync = r.json()["data"]["nextSync"]
    assert next_sync.endswith("T01:00:00Z")  # 09:00 in Kuala Lumpur (UTC+8)
    schedule = r.json()["data"]["schedules"][0]
    client.delete(f"/v1/integrations/{iid}/schedules/{schedule['scheduleId']}", headers=AUTH)


@pytest.mark.parametrize(("body", "says"), [
    ({"frequency": "hourly", "operations": ["sync_orders", "sync_payments"]}, "sync_payments"),
    ({"frequency": "61 * * * *", "operations": ["sync_orders"]}, "cron"),
    ({"frequency": "every now and then", "operations": ["sync_orders"]}, "frequency"),
    ({"frequency": "hourly", "operations": ["sync_orders"], "timezone": "Mars/Olympus"},
     "time zone"),
    ({"frequency": "hourly", "operations": []}, "operations"),
])
def test_bad_schedules_are_refused_and_nothing_is_kept(client, ledger_engine, body, says):
    iid = make_shopify_integration(ledger_engine, "http://127.0.0.1:9", integration_id="int_s3")
    r = client.post(f"/v1/integrations/{iid}/schedules", headers=AUTH, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "VALIDATION_ERROR" and says in r.text
    assert stored(ledger_engine) == 0


def test_a_deployment_prefect_does_not_have_leaves_nothing_behind(client, ledger_engine,
                                                                  monkeypatch):
    from bigledger.settings import get_settings

    iid = make_shopify_integration(ledger_engine, "http://127.0.0.1:9", integration_id="int_s4")
    monkeypatch.setenv("BIGLEDGER_DEPLOYMENT_SUFFIX", "never-deployed")
    get_settings.cache_clear()
    try:
        r = client.post(f"/v1/integrations/{iid}/schedules", headers=AUTH,
                        json={"frequency": "hourly", "operations": ["sync_customers"]})
    finally:
        monkeypatch.delenv("BIGLEDGER_DEPLOYMENT_SUFFIX")
        get_settings.cache_clear()
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "ORCHESTRATOR_UNAVAILABLE"
    assert stored(ledger_engine) == 0


def test_next_run_follows_the_cron():
    after = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
    assert next_run("0 * * * *", "UTC", after) == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    assert next_run("15 2 * * *", "UTC", after) == datetime(2026, 1, 6, 2, 15, tzinfo=UTC)
    minute = int(cron_for("hourly", "int_a", "sync_orders").split()[0])
    assert 0 <= minute < 60 and cron_for("hourly", "int_a", "sync_orders") == \
        cron_for("hourly", "int_a", "sync_orders")


def test_a_custom_connector_with_schedule_sync_gets_a_schedule(client, ledger_engine, sandbox):
    import json
    from pathlib import Path

    from flows.serve import build_deployments
    from sandbox.legacy_erp.config import DEFAULT_API_KEY

    for deployment in build_deployments():
        if deployment.flow_name == "custom-sync":
            deployment.apply()
    spec = json.loads((Path(__file__).parents[1] / "fixtures" / "custom" /
                       "spec_example.json").read_text())
    assert spec["scheduleSync"] is True
    spec["scheduleSync"] = "30 2 * * *"  # a cron is accepted as well as true/hourly/daily
    cid = client.post("/v1/integrations/custom/create-connector", headers=AUTH,
                      json=spec).json()["data"]["connectorId"]
    r = client.post(f"/v1/integrations/custom/connectors/{cid}/setup", headers=AUTH,
                    json={"name": "ERP", "credentials": {"apiKey": DEFAULT_API_KEY,
                                                         "baseUrl": sandbox.url}})
    assert r.status_code == 200, r.text
    schedule = r.json()["data"]["schedule"]
    assert (schedule["kind"], schedule["operation"], schedule["cron"]) == \
        ("connector", "sync", "30 2 * * *")
    in_prefect = prefect_schedule_slugs("custom-sync")[schedule["scheduleId"]]
    assert in_prefect["parameters"] == {"integration_id": r.json()["data"]["id"]}
    client.delete(f"/v1/integrations/{r.json()['data']['id']}/schedules/"
                  f"{schedule['scheduleId']}", headers=AUTH)
