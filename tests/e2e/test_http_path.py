"""The whole path over real HTTP: API -> Prefect deployment run -> worker -> connector ->
sandbox -> ledger, on SQLite and on PostgreSQL; and no secret anywhere it could leak."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_API_KEY, LiveServer
from tests.ledger.helpers import dump

pytestmark = pytest.mark.e2e
ALL = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
BIN = Path(sys.executable).parent


@pytest.fixture
def stack(ledger_engine, ledger_url, sandbox, prefect_api, monkeypatch, tmp_path):
    """API in a thread, a worker process serving prefect.yaml's deployments."""
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)  # the API's server thread reads env
    # Real time on loopback: the sandbox delivers webhooks to the API (its public URL is set
    # once it runs), and subscribers on loopback receive the events the worker sends.
    realtime = {"BIGLEDGER_ALLOW_PRIVATE_WEBHOOK_ENDPOINTS": "true",
                "BIGLEDGER_ALLOW_INSECURE_HTTP": "true"}
    for key, value in realtime.items():
        monkeypatch.setenv(key, value)
    env = {**os.environ, "BIGLEDGER_DATABASE_URL": ledger_url, "PREFECT_API_URL": prefect_api,
           "PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_LOGGING_LEVEL": "DEBUG"}
    worker_log = tmp_path / "worker.log"
    worker = subprocess.Popen([str(BIN / "bigledger"), "worker"], env=env,
                              stdout=open(worker_log, "w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    wait_for_deployment(worker)
    from api.app import create_app

    api = LiveServer(create_app())
    monkeypatch.setenv("BIGLEDGER_PUBLIC_URL", api.url)
    from bigledger.settings import get_settings

    get_settings.cache_clear()
    client = httpx.Client(base_url=api.url, timeout=60,
                          headers={"Authorization": f"Bearer {TEST_API_KEY}"})
    try:
        yield {"api": client, "worker_log": worker_log, "sandbox": sandbox, "worker": worker}
    finally:
        client.close()
        api.stop()
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_for_deployment(worker, timeout: float = 90) -> None:
    """Until the worker has registered the deployments it serves."""
    from prefect import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            assert worker.poll() is None, "the worker died"
            try:
                deployment = client.read_deployment_by_name("shopify-sync-orders/default")
                if not deployment.paused:
                    return
            except Exception:  # noqa: BLE001 - not there yet
                pass
            time.sleep(0.5)
    raise AssertionError("the worker did not register its deployments")


def wait_for_sync(client: httpx.Client, sync_id: str, worker, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker died"
        data = client.get(f"/v1/integrations/syncs/{sync_id}").json()["data"]
        if data["status"] not in ("pending", "processing"):
            return data
        time.sleep(0.5)
    raise AssertionError(f"sync {sync_id} still running after {timeout} s")


def test_setup_sync_status_over_http(stack, ledger_engine, prefect_api):
    api, sandbox = stack["api"], stack["sandbox"]
    secret = f"shpat_e2e_{uuid.uuid4().hex}"
    sandbox.control(access_tokens=[secret])
    responses: list[str] = []

    def call(method: str, path: str, **kw) -> httpx.Response:
        r = api.request(method, path, **kw)
        responses.append(r.text)
        return r

    # A wrong token is refused by the platform: AUTH_FAILED, and nothing is stored.
    r = call("POST", "/v1/integrations/shopify/setup", json={
        "name": "Main Store", "credentials": {"shopDomain": "main.myshopify.com",
                                              "accessToken": "shpat_not_the_right_one"},
        "settings": {"baseUrl": sandbox.url}})
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTH_FAILED"

    r = call("POST", "/v1/integrations/shopify/setup", json={
        "name": "Main Store",
        "credentials": {"shopDomain": "main.myshopify.com", "accessToken": secret,
                        "webhookSecret": "whsec_e2e_webhook_secret"},
        "settings": {"baseUrl": sandbox.url, "syncOrders": True},
        "mapping": {"defaultTaxCode": "SST", "defaultPaymentAccount": "acc_stripe",
                    "shippingAccount": "acc_shipping", "discountAccount": "acc_discounts"}})
    assert r.status_code == 200, r.text
    integration = r.json()["data"]
    iid = integration["id"]
    assert iid.startswith("int_shopify_")
    assert integration["credentials"]["shopDomain"] == "main.myshopify.com"
    assert integration["credentials"]["accessToken"].endswith(secret[-4:])
    assert integration["connection"]["currencyCode"] == "MYR"

    body = {"integrationId": iid, "dateRange": ALL, "batchSize": 100}
    r = call("POST", "/v1/integrations/shopify/sync-orders", json=body)
    assert r.status_code == 200, r.text
    started = r.json()["data"]
    assert started["status"] == "processing" and started["syncId"].startswith("sync_")
    assert started["ordersToProcess"] == 300
    assert started["ordersProcessed"] == started["ordersCreated"] == 0
    assert started["startedAt"] and started["estimatedCompletion"]

    done = wait_for_sync(api, started["syncId"], stack["worker"])
    assert done["status"] == "completed", done
    assert (done["ordersProcessed"], done["ordersCreated"], done["ordersFailed"]) == (300, 300, 0)
    responses.append(str(done))

    tb = call("GET", "/v1/ledger/trial-balance").json()["data"]
    assert tb["balanced"] is True and tb["totals"]["MYR"]["difference"]["minor"] == 0
    orders = call("GET", "/v1/ledger/sales-orders", params={"integrationId": iid}).json()["data"]
    assert orders["total"] == 300
    status = call("GET", f"/v1/integrations/{iid}/status").json()["data"]
    assert status["status"] == "healthy" and status["lastSync"]
    assert status["statistics"]["last24Hours"]["ordersCreated"] == 300

    # The same sync again through the API changes nothing.
    before = dump(ledger_engine)
    again = call("POST", "/v1/integrations/shopify/sync-orders", json=body).json()["data"]
    again = wait_for_sync(api, again["syncId"], stack["worker"])
    assert (again["status"], again["ordersCreated"], again["ordersUpdated"]) == (
        "completed", 0, 0)
    assert dump(ledger_engine) == before

    # Products, variants and stock through their own deployment.
    r = call("POST", "/v1/integrations/shopify/sync-products",
             json={"integrationId": iid, "syncType": "full", "includeVariants": True,
                   "includeInventory": True, "publishedStatus": "any"})
    assert r.status_code == 200, r.text
    products = r.json()["data"]
    assert products["productsToProcess"] >= 160 and products["status"] == "processing"
    products = wait_for_sync(api, products["syncId"], stack["worker"])
    assert products["status"] == "completed", products
    assert products["productsCreated"] == products["productsToProcess"]
    assert products["inventoryUpdated"] > 0

    # A stock push answers item by item once its flow run is done.
    from sqlalchemy import select

    from ledger.models import InventoryLevel, Location, ProductVariant

    with ledger_engine.connect() as conn:
        sku, location = conn.execute(
            select(ProductVariant.sku, Location.external_id)
            .join(InventoryLevel, InventoryLevel.variant_id == ProductVariant.id)
            .join(Location, Location.id == InventoryLevel.location_id).limit(1)).one()
    r = call("POST", "/v1/integrations/shopify/update-inventory", json={
        "integrationId": iid, "items": [
            {"sku": sku, "locationId": f"shopify_location_{location}", "quantity": 150,
             "updateType": "set"},
            {"sku": "GADGET-002", "locationId": location, "quantity": -5,
             "updateType": "adjust"}]})
    assert r.status_code == 200, r.text
    pushed = r.json()["data"]
    assert pushed["status"] == "completed_with_errors", pushed
    assert [x["applied"] for x in pushed["results"]] == [True, False]
    assert pushed["results"][0]["newQuantity"] == 150
    assert pushed["results"][1]["error"]["code"] == "UNKNOWN_SKU"
    before = dump(ledger_engine)

    # A token revoked upstream: AUTH_FAILED at once, no sync opened, nothing loaded.
    sandbox.control(faults={"token_revoked": True})
    r = call("POST", "/v1/integrations/shopify/sync-orders", json=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTH_FAILED"
    assert dump(ledger_engine) == before

    # No secret in any API answer, flow-run parameter, Prefect log or the worker's output.
    for text in responses:
        assert secret not in text and "whsec_e2e_webhook_secret" not in text
    assert_no_secret_in_prefect(secret, done["flowRunId"])
    assert secret not in stack["worker_log"].read_text()


def assert_no_secret_in_prefect(secret: str, flow_run_id: str) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(flow_run_id)])))
        assert runs and all(secret not in str(run.parameters) for run in runs)
        logs = client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[uuid.UUID(flow_run_id)])))
        assert logs, "the flow run logged nothing: the search would prove nothing"
        assert all(secret not in log.message for log in logs)
