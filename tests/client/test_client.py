"""bigledger.client against the live API over real HTTP (uvicorn on loopback, the platform
sandbox behind it): every method once, the spec's bodies as dicts and as keywords, answers
typed, money as exact Decimals, error envelopes raised as their exceptions. Flow runs are
recorded instead of started (their flows have tests of their own)."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from bigledger import client as bl
from bigledger.client import BigLedgerClient
from ledger.db import transaction
from ledger.syncs import add_counters, mark_finished
from tests.conftest import TEST_API_KEY, LiveServer

SPEC_CONNECTOR = json.loads((Path(__file__).parents[1] / "fixtures" / "custom" /
                             "spec_example.json").read_text())
ALL_TIME = {"from": "2020-01-01T00:00:00Z", "to": "2030-12-31T23:59:59Z"}


@pytest.fixture
def live(ledger_engine, sandbox, monkeypatch):
    """The API on a real port; flow runs recorded, not started; loopback webhook endpoints
    allowed; stock pushes answer at once (no waiting for a run nobody executes)."""
    import api.orchestrator as orchestrator
    import api.routes.integrations as integration_routes
    from bigledger.settings import get_settings

    started: list[tuple[str, dict]] = []

    def start(name: str, params: dict, tags: list[str]) -> str:
        started.append((name, params))
        return str(uuid.uuid4())

    monkeypatch.setattr(orchestrator, "start_flow_run", start)
    monkeypatch.setattr(orchestrator, "flow_run_state", lambda _id: "RUNNING")
    if hasattr(integration_routes, "flow_run_state"):
        monkeypatch.setattr(integration_routes, "flow_run_state", lambda _id: "RUNNING")
    for key, value in {"BIGLEDGER_ALLOW_PRIVATE_WEBHOOK_ENDPOINTS": "true",
                       "BIGLEDGER_ALLOW_INSECURE_HTTP": "true",
                       "BIGLEDGER_INVENTORY_WAIT_SECONDS": "0"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BIGLEDGER_PUBLIC_URL", raising=False)
    get_settings.cache_clear()
    from api.app import create_app

    server = LiveServer(create_app())
    try:
        with BigLedgerClient(server.url, TEST_API_KEY, timeout=60) as client:
            yield client, started, sandbox
    finally:
        server.stop()
        get_settings.cache_clear()


def shopify(client: BigLedgerClient, sandbox, name: str = "Main Store") -> bl.Integration:
    return client.integrations.setup("shopify", {
        "name": name,
        "credentials": {"shopDomain": "mystore.myshopify.com",
                        "accessToken": "shpat_sandbox_token"},
        "settings": {"baseUrl": sandbox.url, "syncOrders": True},
        "mapping": {"defaultTaxCode": "SST", "defaultPaymentAccount": "acc_stripe"}})


def test_setup_syncs_polling_and_the_errors_of_the_api(live, ledger_engine):
    client, started, sandbox = live
    catalog = client.integrations.available()
    assert {e.id for group in catalog.values() for e in group} >= {"shopify", "amazon"}
    assert isinstance(catalog["ecommerce"][0], bl.CatalogEntry)
    assert catalog["ecommerce"][0].webhook_support is True

    integration = shopify(client, sandbox)
    assert isinstance(integration, bl.Integration) and integration.platform == "shopify"
    assert integration.id.startswith("int_shopify_") and integration["id"] == integration.id
    assert integration.credentials["accessToken"] != "shpat_sandbox_token"  # masked
    assert integration["connection"]["currencyCode"] == "MYR"  # extra fields are kept

    # The spec's dict body and keywords (snake_case, camelized) mix; keywords win.
    sync = client.integrations.shopify.sync_orders(
        integration.id, {"dateRange": ALL_TIME, "orderStatus": ["pending"]},
        order_status=["paid", "partially_paid"], batch_size=100)
    assert isinstance(sync, bl.Sync) and sync.status == "processing" and not sync.finished
    assert sync.sync_id.startswith("sync_") and sync.orders_processed == 0
    assert sync.orders_to_process == sync["ordersToProcess"] > 0
    name, params = started[-1]
    assert name == "shopify-sync-orders" and params["integration_id"] == integration.id
    assert params["order_status"] == ["paid", "partially_paid"] and params["batch_size"] == 100

    products = client.integrations.shopify.sync_products(integration.id, sync_type="full",
                                                         published_status="any")
    assert products.operation == "shopify.sync_products" and products["productsToProcess"] > 0
    customers = client.integrations.shopify.sync_customers(integration.id,
                                                           {"syncType": "full"})
    assert started[-1][0] == "shopify-sync-customers" and customers.status == "processing"
    pushed = client.integrations.shopify.update_inventory(integration.id, items=[
        {"sku": "WIDGET-001", "locationId": "shopify_location_123", "quantity": 150,
         "updateType": "set"}])
    assert started[-1][1]["items"][0]["locationId"] == "shopify_location_123"
    assert pushed["itemsToProcess"] == 1

    # Polling: a sync still running times out with its last state; a finished one returns.
    with pytest.raises(bl.SyncTimeoutError) as waited:
        client.wait_for_sync(sync.sync_id, timeout=0.3, interval=0.1)
    assert waited.value.sync.status == "processing"
    with transaction(ledger_engine) as conn:
        add_counters(conn, sync.sync_id, {"ordersProcessed": 300, "ordersCreated": 300})
        mark_finished(conn, sync.sync_id, "completed")
    done = client.integrations.syncs.wait(sync, timeout=10, interval=0.1)
    assert done.finished and (done.status, done.orders_created) == ("completed", 300)
    assert client.integrations.syncs.get(sync.sync_id).finished_at is not None

    retry = client.integrations.retry_failed(integration.id, sync_id=sync.sync_id,
                                             retry_type="all", max_retries=2)
    assert retry.operation == "retry_failed" and started[-1][0] == "retry-failed"
    assert started[-1][1]["max_retries"] == 2

    status = client.integrations.status(integration.id)
    assert isinstance(status, bl.IntegrationStatus) and status.integration_id == integration.id
    assert status.status == "healthy" and status.last_sync is not None
    assert status.statistics["last24Hours"]["ordersCreated"] == 300

    # Error envelopes become exceptions carrying the API's code.
    with pytest.raises(bl.AuthFailedError) as refused:
        client.integrations.setup("shopify", name="Bad", settings={"baseUrl": sandbox.url},
                                  credentials={"shopDomain": "x.myshopify.com",
                                               "accessToken": "shpat_wrong"})
    assert refused.value.code == "AUTH_FAILED" and refused.value.status_code == 401
    with pytest.raises(bl.ValidationError) as invalid:
        client.integrations.shopify.sync_orders(integration.id, batch_size=5000)
    assert invalid.value.status_code == 422
    assert any(d["field"] == "batchSize" for d in invalid.value.details)
    with pytest.raises(bl.NotFoundError):
        client.integrations.syncs.get("sync_does_not_exist")
    with pytest.raises(bl.NotFoundError):
        client.integrations.setup("myspace", name="x", credentials={})
    with pytest.raises(bl.InvalidCredentialsError):  # a WooCommerce id on a Shopify path
        client.integrations.woocommerce.sync_products(integration.id)
    with BigLedgerClient(client.base_url, "not-the-key") as stranger:
        with pytest.raises(bl.UnauthorizedError) as unauthorized:
            stranger.integrations.available()
        assert "not-the-key" not in repr(stranger) + str(unauthorized.value)
    assert TEST_API_KEY not in repr(client)


@pytest.fixture(autouse=True)
def _one_database(ledger_url):
    """The client sees HTTP only: one backend is enough (the API's own tests run on both)."""
    if not ledger_url.startswith("sqlite"):
        pytest.skip("client tests run on the SQLite ledger")



def test_money_comes_back_as_exact_decimals(live, ledger_engine):
    from sandbox.stripe.config import DEFAULT_SECRET_KEY

    client, started, sandbox = live
    stripe = client.integrations.setup("stripe", name="Stripe", settings={"baseUrl": sandbox.url},
                                       credentials={"secretKey": DEFAULT_SECRET_KEY})
    sync = client.integrations.stripe.sync_payments(
        stripe.id, date_range=ALL_TIME, include_refunds=True, include_chargebacks=False,
        include_fees=True)
    assert started[-1][1]["include_chargebacks"] is False
    assert sync.total_amount == 0 and isinstance(sync.total_amount, Decimal)
    with transaction(ledger_engine) as conn:
        add_counters(conn, sync.sync_id, {"chargesGrossMinor:USD": 12_500_050,
                                          "feesMinor:USD": 375_015,
                                          "chargesGrossMinor:KWD": 1_250})
    polled = client.integrations.syncs.get(sync.sync_id)
    assert polled.total_amount is None  # two currencies: one total each
    totals = {t["currency"]: t["totalAmount"] for t in polled["totals"]}
    assert totals == {"USD": Decimal("125000.50"), "KWD": Decimal("1.250")}
    assert str(totals["USD"]) == "125000.50" and str(totals["KWD"]) == "1.250"  # exact digits
    assert all(isinstance(v, Decimal) for v in totals.values())

    single = client.integrations.stripe.sync_payments(stripe.id).sync_id
    with transaction(ledger_engine) as conn:
        add_counters(conn, single, {"chargesGrossMinor:USD": 12_500_050,
                                    "feesMinor:USD": 375_015})
    one = client.integrations.syncs.get(single)
    assert (one.total_amount, one.total_fees, one.currency) == (
        Decimal("125000.50"), Decimal("3750.15"), "USD")

    tb = client.ledger.trial_balance(integration_id=stripe.id)
    assert tb["balanced"] is True
    entries = client.ledger.journal_entries(integration_id=stripe.id, page_size=5)
    orders = client.ledger.sales_orders(page=1, page_size=5)
    assert isinstance(entries, bl.Page) and entries.total == 0 and orders.page_size == 5


def test_every_platform_group_reaches_its_endpoint(live, ledger_engine):
    from bigledger.demo import _fresh_xero_token, _xero_tenants
    from sandbox.amazon import config as amazon
    from sandbox.legacy_erp.config import DEFAULT_API_KEY
    from sandbox.paypal import config as paypal
    from sandbox.quickbooks import config as qbo
    from sandbox.woocommerce.config import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET
    from sandbox.xero import config as xero

    client, started, sandbox = live
    integrations = client.integrations

    woo = integrations.woocommerce.sync_orders("int_woo_456", {
        "credentials": {"siteUrl": sandbox.url, "consumerKey": DEFAULT_CONSUMER_KEY,
                        "consumerSecret": DEFAULT_CONSUMER_SECRET},
        "dateRange": {"from": "2024-01-01", "to": "2030-12-31"},
        "orderStatus": ["processing", "completed"]})
    assert woo.integration_id == "int_woo_456" and started[-1][0] == "woocommerce-sync-orders"
    integrations.woocommerce.sync_products("int_woo_456", sync_type="full")
    integrations.woocommerce.sync_customers("int_woo_456")
    assert started[-1][1]["kind"] == "customers"
    stock = integrations.woocommerce.update_inventory("int_woo_456", {"items": [
        {"sku": "SKU-0001", "quantity": 7, "updateType": "set"}]})
    assert stock.operation == "inventory.fan_out"
    assert started[-1][1]["items"] == [{"sku": "SKU-0001", "quantity": 7, "locations": []}]
    calls = len(started)
    with pytest.raises(bl.ValidationError):  # WooCommerce takes levels, not changes
        integrations.woocommerce.update_inventory("int_woo_456", items=[
            {"sku": "SKU-0001", "quantity": -1, "updateType": "adjust"}])
    assert len(started) == calls

    shop = shopify(client, sandbox)
    fan = integrations.inventory_sync({"items": [
        {"sku": "SKU-0001", "quantity": 150, "locations": [
            {"externalId": "shopify_location_123", "quantity": 100},
            {"externalId": "amazon_warehouse_456", "quantity": 50}]}]},
        integration_ids=[shop.id, "int_woo_456"])
    assert started[-1][1]["integration_ids"] == [shop.id, "int_woo_456"]
    assert fan.status == "processing"
    one = integrations.inventory_sync(shop.id, items=[{"sku": "SKU-0001", "quantity": 3}])
    assert one.operation == "inventory.fan_out" and started[-1][1]["integration_ids"] == [shop.id]

    seller = integrations.setup("amazon", name="Amazon", settings={"baseUrl": sandbox.url},
                                credentials={"sellerId": amazon.DEFAULT_SELLER_ID,
                                             "marketplaceId": "ATVPDKIKX0DER",
                                             "clientId": amazon.DEFAULT_CLIENT_ID,
                                             "clientSecret": amazon.DEFAULT_CLIENT_SECRET,
                                             "refreshToken": amazon.DEFAULT_REFRESH_TOKEN})
    integrations.amazon.sync_orders(seller.id, order_status=["Shipped"],
                                    date_range={"from": "2024-01-01", "to": "2024-01-31"})
    assert started[-1][0] == "amazon-sync-orders"
    integrations.amazon.sync_fees(seller.id, report_type="settlement")
    assert started[-1][0] == "amazon-sync-fees"
    with pytest.raises(bl.NotFoundError):  # no Amazon stock push in the API (yet)
        integrations.amazon.update_inventory(seller.id, items=[
            {"sku": "X", "locationId": "1", "quantity": 1, "updateType": "set"}])
    with pytest.raises(bl.InvalidCredentialsError) as mws:  # the spec's retired MWS keys
        integrations.amazon.sync_orders("int_amazon_789", credentials={
            "sellerId": "A1234567890123", "mwsAccessKey": "AKIAI1234567890ABCDEF",
            "mwsSecretKey": "secret_key_1234567890abcdef", "marketplaceId": "ATVPDKIKX0DER"})
    assert "MWS" in mws.value.message

    pp = integrations.setup("paypal", name="PayPal", settings={"baseUrl": sandbox.url},
                            credentials={"clientId": paypal.DEFAULT_CLIENT_ID,
                                         "clientSecret": paypal.DEFAULT_CLIENT_SECRET})
    tx = integrations.paypal.sync_transactions(pp.id, date_range={"from": "2024-01-01",
                                                                  "to": "2024-03-31"})
    assert tx.operation == "paypal.sync_transactions" and tx.total_amount == 0

    qb = integrations.setup("quickbooks", name="QBO", settings={"baseUrl": sandbox.url},
                            credentials={"realmId": qbo.DEFAULT_REALM_ID,
                                         "clientId": qbo.DEFAULT_CLIENT_ID,
                                         "clientSecret": qbo.DEFAULT_CLIENT_SECRET,
                                         "refreshToken": fresh_quickbooks_grant(sandbox)})
    coa = integrations.quickbooks.export_coa(qb.id, {"options": {"includeInactive": True}})
    assert coa.operation == "quickbooks.export_coa"
    assert started[-1][1]["include_inactive"] is True
    integrations.quickbooks.migrate_customers(qb.id, options={"includeVendors": False})
    assert started[-1][1]["include_vendors"] is False
    integrations.quickbooks.migrate_transactions(
        {"integrationId": qb.id, "dateRange": {"from": "2024-01-01", "to": "2024-06-30"},
         "transactionTypes": ["invoice", "bill", "payment", "journal_entry"]}, batch_size=100)
    assert started[-1][1]["transaction_types"] == ["invoice", "bill", "payment",
                                                   "journal_entry"]

    tenant = _xero_tenants(sandbox.url)[-1]["tenantId"]
    org = integrations.setup("xero", name="Xero", settings={"baseUrl": sandbox.url,
                                                            "tenantId": tenant},
                             credentials={"clientId": xero.DEFAULT_CLIENT_ID,
                                          "clientSecret": xero.DEFAULT_CLIENT_SECRET,
                                          "refreshToken": _fresh_xero_token(sandbox.url)})
    migration = integrations.xero.full_migration(org.id, dry_run=True)
    assert migration.operation == "xero.full_migration" and started[-1][1]["dry_run"] is True

    connector = integrations.custom.create_connector(SPEC_CONNECTOR)
    assert isinstance(connector, bl.CustomConnector) and connector.version == 1
    assert [c.connector_id for c in integrations.custom.list_connectors()] == [
        connector.connector_id]
    v2 = integrations.custom.update_connector(connector.connector_id,
                                              {**SPEC_CONNECTOR, "description": "v2"})
    assert v2.version == 2
    assert integrations.custom.get_connector(connector.connector_id, version=1).description \
        == SPEC_CONNECTOR["description"]
    erp = integrations.custom.setup(connector.connector_id, name="Legacy ERP", credentials={
        "apiKey": DEFAULT_API_KEY, "baseUrl": sandbox.url})
    assert erp.platform == "custom" and DEFAULT_API_KEY not in json.dumps(erp.credentials)
    integrations.custom.sync(erp.id, parameters={"from_date": "2020-01-01"})
    assert started[-1][0] == "custom-sync"
    assert integrations.custom.delete_connector(connector.connector_id).deleted is True
    with pytest.raises(bl.NotFoundError):
        integrations.custom.get_connector(connector.connector_id)

    csv = ("company_name,contact_email,credit_limit\n"
           "Acme Sdn Bhd,ap@acme.example,15000.50\nCendana Co,ap@cendana.example,lots\n")
    result = integrations.transform_data(
        source_format="csv", target_format="bigledger_customer", data=csv,
        mapping={"name": "company_name", "email": "contact_email",
                 "creditLimit": {"field": "credit_limit", "transform": "parseFloat",
                                 "default": 0}})
    assert isinstance(result, bl.TransformResult) and len(result.records) == 1
    assert Decimal(str(result.records[0]["creditLimit"])) == Decimal("15000.50")
    assert result.errors[0]["code"] == "DATA_MAPPING_ERROR" and result.loaded is None


def test_webhook_subscriptions(live):
    client, _started, sandbox = live
    shop = shopify(client, sandbox)
    hooks = client.integrations.webhooks
    created = hooks.create(shop.id, {"events": ["order.created", "order.updated"],
                                     "endpoint": "http://127.0.0.1:9/bigledger-webhook"})
    assert isinstance(created, bl.WebhookSubscription) and created.active
    assert created.secret and created.secret != "****"  # generated, shown this once
    assert [h.webhook_id for h in hooks.list(shop.id)] == [created.webhook_id]
    assert hooks.get(shop.id, created.webhook_id).secret == "****"
    changed = hooks.update(shop.id, created.webhook_id, active=False,
                           events=["product.updated"])
    assert (changed.active, changed.events) == (False, ["product.updated"])
    page = hooks.deliveries(shop.id, created.webhook_id, limit=10, status="failed")
    assert isinstance(page, bl.WebhookDeliveries) and page.items == [] and not page.has_more
    with pytest.raises(bl.ValidationError):  # deliveries go over http(s) only
        hooks.create(shop.id, events=["*"], endpoint="ftp://example.com/bigledger")
    assert hooks.delete(shop.id, created.webhook_id).deleted is True
    with pytest.raises(bl.NotFoundError):
        hooks.get(shop.id, created.webhook_id)


@pytest.fixture
def shopify_deployments(prefect_api):
    """The deployments schedules attach to, registered as `bigledger worker` would."""
    from flows.serve import build_deployments

    for deployment in build_deployments():
        if deployment.flow_name in ("shopify-sync-orders", "shopify-sync-products"):
            deployment.apply()


def test_schedules(live, shopify_deployments, prefect_api, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    client, _started, sandbox = live
    shop = shopify(client, sandbox)
    answer = client.integrations.schedules.create(shop.id, {
        "frequency": "hourly", "operations": ["sync_orders", "sync_inventory"]})
    assert isinstance(answer, bl.ScheduleSet) and answer.next_sync is not None
    assert [s.operation for s in answer.schedules] == ["sync_orders", "sync_inventory"]
    listed = client.integrations.schedules.list(shop.id)
    assert {s.schedule_id for s in listed} == {s.schedule_id for s in answer.schedules}
    assert client.integrations.status(shop.id).sync_frequency == "hourly"
    for s in listed:
        assert client.integrations.schedules.delete(shop.id, s.schedule_id).deleted
    assert client.integrations.schedules.list(shop.id) == []


def test_health_and_analytics(live):
    client, started, sandbox = live
    shop = shopify(client, sandbox)
    client.integrations.shopify.sync_orders(shop.id, date_range=ALL_TIME)
    health = client.integrations.health(shop.id)
    assert isinstance(health, bl.Health) and health.status in ("healthy", "degraded")
    connection = health.check("connection")
    assert connection.status == "healthy" and connection.response_time >= 0
    assert {c.name for c in health.checks} == {"connection", "webhook_endpoint",
                                               "rate_limits"}
    analytics = client.integrations.analytics()
    assert isinstance(analytics, bl.Analytics)
    assert analytics.summary.active_integrations >= 1 and analytics.summary.total_syncs >= 1
    mine = next(i for i in analytics.by_integration if i.integration_id == shop.id)
    assert mine.type == "shopify" and mine.syncs == 1
    assert isinstance(mine.success_rate, Decimal | int)
    with pytest.raises(bl.NotFoundError):
        client.integrations.health("int_nobody")


def _has_route(path: str) -> bool:
    from api.app import create_app

    return "get" in create_app().openapi()["paths"].get(path, {})


def test_integrations_by_id_and_by_platform(live):
    if not _has_route("/v1/integrations"):
        pytest.skip("the API has no GET /v1/integrations listing yet")
    client, _started, sandbox = live
    first = shopify(client, sandbox, "Main Store")
    assert client.integrations.get("shopify").id == first.id  # the spec's get(channel)
    assert client.integrations.get(first.id).name == "Main Store"
    second = shopify(client, sandbox, "Outlet")
    assert {i.id for i in client.integrations.list("shopify")} == {first.id, second.id}
    assert client.integrations.get("shopify").id == second.id  # the newest of two shops
    assert client.integrations.get("shopify", name="Main Store").id == first.id
    with pytest.raises(bl.NotFoundError):
        client.integrations.get("woocommerce")
    assert client.integrations["shopify"] is client.integrations.shopify


def test_errors_without_a_server_and_throttling():
    def throttled(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer k-secret"
        return httpx.Response(429, headers={"Retry-After": "7"}, json={
            "success": False, "error": {"code": "RATE_LIMIT_EXCEEDED",
                                        "message": "slow down", "details": None}})

    with BigLedgerClient("http://api.test", "k-secret",
                         transport=httpx.MockTransport(throttled)) as client:
        with pytest.raises(bl.RateLimitExceededError) as limited:
            client.integrations.available()
    assert (limited.value.retry_after, limited.value.code) == (7.0, "RATE_LIMIT_EXCEEDED")
    assert "k-secret" not in str(limited.value) + repr(client)

    def proxy_error(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    with BigLedgerClient("http://api.test", "k", transport=httpx.MockTransport(proxy_error)) \
            as client, pytest.raises(bl.InternalServerError) as bad:
        client.integrations.syncs.get("sync_1")
    assert bad.value.status_code == 502

    with BigLedgerClient("http://127.0.0.1:9", "k", timeout=2) as client, \
            pytest.raises(bl.BigLedgerConnectionError):
        client.integrations.available()
    with pytest.raises(ValueError):
        BigLedgerClient("http://api.test", "")


def fresh_quickbooks_grant(sandbox) -> str:
    """A new connection of the app: refresh tokens rotate, so a used one is no good twice."""
    answer = httpx.post(f"{sandbox.url}/__sandbox/quickbooks/grant", timeout=10)
    answer.raise_for_status()
    return answer.json()["refresh_token"]
