"""`make demo`: start the local stack and walk through every capability over HTTP.

Processes started (each stopped on Ctrl-C): a Prefect server (SQLite), the platform sandbox,
a worker serving the deployments of prefect.yaml, and the API. The ledger is a fresh SQLite
file under .bigledger/demo/ each time.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bigledger.settings import get_settings
from sandbox.shopify.config import DEFAULT_APP_CLIENT_SECRET

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class Stack:
    """The child processes of the demo; stops them all, even on Ctrl-C."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = open(self.logs / f"{name}.log", "w")
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append((name, proc))

    def check(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}); see "
                                   f"{self.logs / (name + '.log')}")

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # `prefect worker`/serve may need a second signal; then be firm.
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def _wait_http(url: str, stack: Stack, timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check()
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what or url} did not come up within {timeout:.0f} s")


def _wait_deployments(prefect_url: str, stack: Stack, timeout: float = 300) -> int:
    """Until the worker serves every deployment of prefect.yaml (a run the API starts before
    its deployment is registered is refused as ORCHESTRATOR_UNAVAILABLE); how many."""
    from flows.serve import declared_deployments

    wanted = len(declared_deployments())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check()
        try:
            response = httpx.post(f"{prefect_url}/deployments/filter", timeout=5,
                                  json={"limit": 200})
            # READY: the runner polls it (a deployment left from an earlier demo is not).
            ready = [d for d in response.json() if d.get("status") == "READY"]
            if response.status_code == 200 and len(ready) >= wanted:
                return len(ready)
        except (httpx.HTTPError, ValueError, AttributeError):
            pass
        time.sleep(1)
    raise RuntimeError(f"the worker did not serve its {wanted} deployments within "
                       f"{timeout:.0f} s")


def _say(text: str = "") -> None:
    print(text, flush=True)


def run_demo() -> int:
    """Run the walk-through; returns the exit code."""
    settings = get_settings()
    home = (settings.home / "demo").resolve()
    home.mkdir(parents=True, exist_ok=True)
    for old in home.glob("ledger.db*"):
        old.unlink()
    api_key = settings.api_key.get_secret_value() if settings.api_key else secrets.token_urlsafe(24)
    host = "127.0.0.1"
    ports = {"Prefect": settings.prefect_port, "sandbox": settings.sandbox_port,
             "API": settings.api_port}
    busy = [f"{name} port {port}" for name, port in ports.items() if not _port_free(host, port)]
    if busy:
        _say(f"cannot start the demo: {', '.join(busy)} already in use "
             "(set BIGLEDGER_PREFECT_PORT / BIGLEDGER_SANDBOX_PORT / BIGLEDGER_API_PORT)")
        return 1
    prefect_url = f"http://{host}:{settings.prefect_port}/api"
    sandbox_url = f"http://{host}:{settings.sandbox_port}"
    api_url = f"http://{host}:{settings.api_port}"
    env = {
        **os.environ,
        "BIGLEDGER_HOME": str(settings.home.resolve()),
        "BIGLEDGER_DATABASE_URL": f"sqlite:///{home / 'ledger.db'}",
        "BIGLEDGER_API_KEY": api_key,
        "BIGLEDGER_PROJECT_DIR": str(ROOT),
        "PREFECT_HOME": str((settings.home / "prefect").resolve()),
        "PREFECT_API_URL": prefect_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "PREFECT_LOGGING_LEVEL": "INFO",
        # Real time on one machine: the sandboxes deliver webhooks to this API, and the
        # demo's own subscriber (on loopback, plain http) receives the events it sends out.
        "BIGLEDGER_PUBLIC_URL": api_url,
        "BIGLEDGER_ALLOW_PRIVATE_WEBHOOK_ENDPOINTS": "true",
        "BIGLEDGER_ALLOW_INSECURE_HTTP": "true",
    }
    stack = Stack(home)
    try:
        _say("Starting the local stack (logs in .bigledger/demo/*.log) ...")
        server_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
        stack.start("prefect", [str(BIN / "prefect"), "server", "start", "--host", host,
                                "--port", str(settings.prefect_port)], server_env)
        # A Shopify Plus-sized cost budget: the connector paces itself by the bucket it
        # reads back, and 500 orders take seconds rather than minutes.
        stack.start("sandbox", [str(BIN / "bigledger"), "sandbox", "--port",
                                str(settings.sandbox_port), "--size", "500", "--seed", "7",
                                "--restore-rate", "2000", "--max-available", "20000"], env)
        _wait_http(f"{sandbox_url}/__sandbox/stats", stack, what="sandbox")
        _wait_http(f"{prefect_url}/health", stack, timeout=180, what="Prefect server")
        _say(f"  Prefect server  {prefect_url.removesuffix('/api')}")
        stack.start("worker", [str(BIN / "bigledger"), "worker"], env)
        stack.start("api", [str(BIN / "bigledger"), "api"], env)
        _wait_http(f"{api_url}/docs", stack, what="API")
        _say(f"  sandbox         {sandbox_url}  (Shopify Admin GraphQL and WooCommerce REST, "
             "500 orders each)")
        _say(f"  API             {api_url}  (API key: {api_key})")
        served = _wait_deployments(prefect_url, stack)
        _say(f"  worker          serving the {served} deployments of prefect.yaml")
        _say()
        _walkthrough(api_url, api_key, sandbox_url, stack,
                     f"http://{host}:{settings.prefect_port}")
        _say()
        _say(f"Prefect UI:  http://{host}:{settings.prefect_port}  (flow runs, artifacts)")
        _say(f"API docs:    {api_url}/docs   (Authorize with the key above)")
        # The spec's example subscribes https://myapp.com/...: offline, a loopback receiver
        # stands in (the demo's API allows private endpoints).
        _say(f"Python:      BIGLEDGER_API_URL={api_url} BIGLEDGER_API_KEY={api_key} "
             f"BIGLEDGER_SANDBOX_URL={sandbox_url} "
             "BIGLEDGER_WEBHOOK_ENDPOINT=http://127.0.0.1:9/webhooks/shopify "
             ".venv/bin/python -m examples.complete_ecommerce_setup   "
             "(or examples.multi_channel_inventory)")
        _say("Everything keeps running; press Ctrl-C to stop it all.")
        while True:
            stack.check()
            time.sleep(1)
    except KeyboardInterrupt:
        _say("\nstopping ...")
        return 0
    except Exception as exc:  # show the reason, stop everything
        _say(f"demo failed: {exc}")
        return 1
    finally:
        stack.stop()


FINISHED = {"completed", "completed_with_errors", "failed", "cancelled"}
# The sandbox shop's app client secret: Shopify signs its webhook deliveries with it.
DEMO_WEBHOOK_SECRET = DEFAULT_APP_CLIENT_SECRET
SUBSCRIBER_SECRET = "demo-subscriber-secret-0123456789"
ALL_TIME = {"from": "2020-01-01T00:00:00Z", "to": "2030-12-31T23:59:59Z"}


@dataclass
class Walk:
    """What the steps of the walk-through share: the API, the sandbox, the step number and
    the ids and SKUs earlier steps found for later ones."""

    client: httpx.Client
    sandbox_url: str
    stack: Stack
    prefect_ui: str
    number: int = 0
    ids: dict[str, str] = field(default_factory=dict)  # platform -> integration id
    skus: dict[str, list[str]] = field(default_factory=dict)  # platform -> SKUs sold
    locations: list[dict[str, str]] = field(default_factory=list)  # the shop's, by the sandbox

    def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        """One API call; the envelope's data, or the error as an exception."""
        response = self.client.request(method, path, **kw)
        body = json.loads(response.content, parse_float=Decimal)  # money stays exact
        if not body.get("success"):
            raise RuntimeError(f"{method} {path} -> {response.status_code} {body.get('error')}")
        return body["data"]

    def step(self, text: str) -> None:
        """Print the next numbered step."""
        self.number += 1
        _say(f"{self.number}. {text}")

    def sync(self, path: str, body: dict[str, Any], note: str = "") -> dict[str, Any]:
        """Start a sync as its own step, poll it to the end and return the finished sync."""
        started = self.call("POST", path, json=body)
        total = next((k for k in started if k.endswith("ToProcess")), None)
        to_process = (f", {started[total]} {total.removesuffix('ToProcess')} to process"
                      if total and started[total] else "")
        self.step(f"POST {path} -> {started['syncId']} {started['status']}{to_process}{note}")
        return self.finish(started)

    def finish(self, sync: dict[str, Any]) -> dict[str, Any]:
        """The sync once finished (polled if the answer came before the end); a failed sync
        stops the demo with its error."""
        if sync["status"] not in FINISHED:
            sync = _poll(self.call, sync["syncId"], self.stack)
        if sync["status"] in {"failed", "cancelled"}:
            raise RuntimeError(f"sync {sync['syncId']} ({sync['operation']}) {sync['status']}: "
                               f"{sync.get('error')}")
        return sync


def _walkthrough(api_url: str, api_key: str, sandbox_url: str, stack: Stack,
                 prefect_ui: str) -> None:
    # Stock pushes answer when their run ends, within BIGLEDGER_INVENTORY_WAIT_SECONDS.
    timeout = 60 + get_settings().inventory_wait_seconds
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {api_key}"},
                      timeout=timeout) as client:
        walk = Walk(client, sandbox_url, stack, prefect_ui)
        for step in STEPS:
            step(walk)


# --- the steps, in the order a newcomer sees them (one small function each) ----------------

def step_catalog(w: Walk) -> None:
    catalog = w.call("GET", "/v1/integrations/available")
    names = [e["name"] for group in catalog.values() for e in group]
    w.step(f"GET /v1/integrations/available -> {', '.join(names)}")


def step_shopify_setup(w: Walk) -> None:
    integration = w.call("POST", "/v1/integrations/shopify/setup", json={
        "name": "Demo Shopify Store",
        "credentials": {"shopDomain": "demo-store.myshopify.com",
                        "accessToken": "shpat_sandbox_token",
                        "webhookSecret": DEMO_WEBHOOK_SECRET},
        "settings": {"baseUrl": w.sandbox_url, "syncOrders": True},
        "mapping": {"defaultTaxCode": "SST", "defaultPaymentAccount": "acc_stripe",
                    "shippingAccount": "acc_shipping", "discountAccount": "acc_discounts"},
    })
    w.ids["shopify"] = integration["id"]
    w.step(f"POST /v1/integrations/shopify/setup -> {integration['id']}, credentials stored "
           f"encrypted, shown masked: {integration['credentials']}")
    hooks = integration["webhooks"]
    if not hooks["registered"]:
        raise RuntimeError(f"webhooks were not registered: {hooks}")
    _say(f"   webhooks registered in the shop: {len(hooks['subscriptions'])} topics -> "
         f"{hooks['callbackUrl']}; hourly sweep: "
         + ", ".join(f"{s['operation']} next {s.get('nextSync')}" for s in hooks["sweep"]))


def step_shopify_orders(w: Walk) -> None:
    body = {"integrationId": w.ids["shopify"], "dateRange": ALL_TIME}
    for attempt in (1, 2):
        final = w.sync("/v1/integrations/shopify/sync-orders", body,
                       " (the same sync again: nothing may change)" if attempt == 2 else "")
        _say(f"   finished {final['status']}: {_counts(final, 'orders')}")
        _say(f"   Prefect flow run: {w.prefect_ui}/runs/flow-run/{final['flowRunId']}")


def step_shopify_ledger(w: Walk) -> None:
    iid = w.ids["shopify"]
    orders = w.call("GET", "/v1/ledger/sales-orders", params={"integrationId": iid,
                                                             "pageSize": 20})
    entries = w.call("GET", "/v1/ledger/journal-entries",
                     params={"integrationId": iid, "pageSize": 1})
    w.skus["shopify"] = _skus(orders["items"])
    w.step(f"ledger: {orders['total']} sales orders, {entries['total']} journal entries; the "
           "first entry:")
    for entry in entries["items"][:1]:
        _say(f"   {entry['date']} {entry['memo']} ({entry['currency']})")
        for line in entry["lines"]:
            _say(f"     {line['accountId']:<22} Dr {line['debit']:>10}  Cr {line['credit']:>10}")


def step_shopify_products(w: Walk) -> None:
    final = w.sync("/v1/integrations/shopify/sync-products", {
        "integrationId": w.ids["shopify"], "syncType": "full", "includeVariants": True,
        "includeInventory": True, "publishedStatus": "any"})
    _say(f"   finished {final['status']}: {_counts(final, 'products', 'deleted')}; "
         f"{final['inventoryUpdated']} stock levels (variant x location) stored")


def step_shopify_customers(w: Walk) -> None:
    final = w.sync("/v1/integrations/shopify/sync-customers",
                   {"integrationId": w.ids["shopify"], "syncType": "full"})
    known = final["customersProcessed"] - final["customersCreated"] - final["customersFailed"]
    _say(f"   finished {final['status']}: {_counts(final, 'customers')}")
    _say(f"   {known} of them were already ledger customers from "
         "their orders: matched by Shopify id, then email, never a second customer")


def step_shopify_update_inventory(w: Walk) -> None:
    w.locations = _shopify_locations(w.sandbox_url)
    where = w.locations[0]
    sku_set, sku_adjust = w.skus["shopify"][:2]
    items = [
        {"sku": sku_set, "locationId": f"shopify_location_{where['id']}", "quantity": 120,
         "updateType": "set"},
        {"sku": sku_adjust, "locationId": where["id"], "quantity": -3, "updateType": "adjust"},
        {"sku": "NO-SUCH-SKU", "locationId": where["id"], "quantity": 5, "updateType": "set"},
    ]
    answer = w.call("POST", "/v1/integrations/shopify/update-inventory",
                    json={"integrationId": w.ids["shopify"], "items": items})
    waited = answer["status"] in FINISHED
    w.step(f"POST /v1/integrations/shopify/update-inventory ({len(items)} items at "
           f"{where['name']} {where['id']}) -> {answer['syncId']} {answer['status']}"
           + ("" if waited else ", still running: polling"))
    final = w.finish(answer)
    for r in final["results"] or []:
        outcome = (f"applied, now {r['newQuantity']}" if r["applied"]
                   else f"{r['error']['code']} ({r['error']['message']})")
        _say(f"   {r['updateType']:<6} {r['quantity']:>4}  {r['sku']:<14} -> {outcome}")


def step_woocommerce_orders(w: Walk) -> None:
    from sandbox.woocommerce.config import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET

    iid = "int_woocommerce_demo"
    # The spec's body: credentials travel with the sync, are checked against the store and
    # stored encrypted on the integration (created under this id); the flow gets the id only.
    final = w.sync("/v1/integrations/woocommerce/sync-orders", {
        "integrationId": iid,
        "credentials": {"siteUrl": w.sandbox_url, "consumerKey": DEFAULT_CONSUMER_KEY,
                        "consumerSecret": DEFAULT_CONSUMER_SECRET},
        "dateRange": {"from": "2024-01-01", "to": "2030-12-31"},
        "orderStatus": ["processing", "completed"]})
    w.ids["woocommerce"] = iid
    _say(f"   finished {final['status']}: {_counts(final, 'orders')}")
    orders = w.call("GET", "/v1/ledger/sales-orders", params={"integrationId": iid,
                                                             "pageSize": 20})
    w.skus["woocommerce"] = _skus(orders["items"])
    first = orders["items"][0]
    lines = ", ".join(f"{ln['quantity']} x {ln['sku']}" for ln in first["lines"])
    _say(f"   ledger: {orders['total']} WooCommerce sales orders, e.g. #{first['orderNumber']} "
         f"{first['status']} {first['currency']} {first['total']} ({lines})")


def step_woocommerce_products(w: Walk) -> None:
    final = w.sync("/v1/integrations/woocommerce/sync-products",
                   {"integrationId": w.ids["woocommerce"], "syncType": "full"})
    _say(f"   finished {final['status']}: {_counts(final, 'products')}; "
         f"{final['inventoryUpdated']} stock levels stored")


def step_inventory_fan_out(w: Walk) -> None:
    shop_sku, woo_sku = w.skus["shopify"][0], w.skus["woocommerce"][0]
    # Per SKU a total and per-location quantities: each channel takes what is its own
    # (Shopify its locations, WooCommerce the total); the Amazon warehouse is nobody's here.
    items = [
        {"sku": shop_sku, "quantity": 150, "locations": [
            *({"externalId": f"shopify_location_{loc['id']}", "quantity": q}
              for loc, q in zip(w.locations, (100, 40), strict=False)),
            {"externalId": "amazon_warehouse_456", "quantity": 10}]},
        {"sku": woo_sku, "quantity": 42, "locations": []},
    ]
    channels = [w.ids["shopify"], w.ids["woocommerce"]]
    answer = w.call("POST", "/v1/integrations/inventory-sync",
                    json={"items": items, "integrationIds": channels})
    w.step(f"POST /v1/integrations/inventory-sync ({len(items)} SKUs to {len(channels)} "
           f"channels at once, one Prefect task per channel) -> {answer['syncId']} "
           f"{answer['status']}")
    final = w.finish(answer)
    _say(f"   channels updated {final['channelsUpdated']}, failed {final['channelsFailed']}; "
         f"stock levels set {final['inventoryUpdated']}, refused {final['inventoryFailed']}")
    for channel in final["channels"] or []:
        results = "; ".join(
            f"{r['sku']}@{r['location']} "
            + (f"= {r['quantity']}" if r["applied"] else (r["error"] or {}).get("code", "?"))
            for r in channel["results"])
        _say(f"   {channel['platform']:<11} {channel['status']}: {results or channel['error']}")
    for u in final.get("unroutedLocations") or []:
        _say(f"   {'(none)':<11} {u['sku']}@{u['location']} {u['error']['code']}: "
             f"{u['error']['message']}")


def _setup(w: Walk, platform: str, name: str, credentials: dict[str, str]) -> str:
    """Set an integration up against the sandbox (settings.baseUrl points it there)."""
    integration = w.call("POST", f"/v1/integrations/{platform}/setup", json={
        "name": name, "credentials": credentials, "settings": {"baseUrl": w.sandbox_url},
        "mapping": {}})
    w.ids[platform] = integration["id"]
    return integration["id"]


def _clearing(w: Walk, platform: str, account: str) -> str:
    """'USD 0.00' per currency: the clearing account of one integration's books."""
    tb = w.call("GET", "/v1/ledger/trial-balance", params={"integrationId": w.ids[platform]})
    rows = [a for a in tb["accounts"] if a["accountId"] == account]
    return ", ".join(f"{a['currency']} {a['balance']['amount']}" for a in rows) or "empty"


def _days_back(days: int) -> dict[str, str]:
    today = date.today()
    return {"from": (today - timedelta(days=days)).isoformat(), "to": today.isoformat()}


def step_amazon_mws_refused(w: Walk) -> None:
    # The spec's example body still carries MWS keys; MWS is retired.
    r = w.client.post("/v1/integrations/amazon/sync-orders", json={
        "integrationId": "int_amazon_789",
        "credentials": {"sellerId": "A1234567890123", "mwsAccessKey": "AKIAI1234567890ABCDEF",
                        "mwsSecretKey": "secret_key_1234567890abcdef",
                        "marketplaceId": "ATVPDKIKX0DER"},
        "dateRange": {"from": "2024-01-01T00:00:00Z", "to": "2024-01-31T23:59:59Z"}})
    error = r.json()["error"]
    w.step(f"POST /v1/integrations/amazon/sync-orders with the spec's MWS keys -> "
           f"{r.status_code} {error['code']}")
    _say(f"   {error['message']}")


def step_amazon_orders(w: Walk) -> None:
    from sandbox.amazon.config import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_REFRESH_TOKEN,
        DEFAULT_SELLER_ID,
    )

    iid = _setup(w, "amazon", "Demo Amazon seller", {
        "sellerId": DEFAULT_SELLER_ID, "marketplaceId": "ATVPDKIKX0DER",
        "clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
        "refreshToken": DEFAULT_REFRESH_TOKEN})
    final = w.sync("/v1/integrations/amazon/sync-orders", {
        "integrationId": iid, "dateRange": _days_back(89),
        "orderStatus": ["Shipped", "Delivered", "Unshipped"]},
        " (SP-API, paced by the plan Amazon states)")
    _say(f"   finished {final['status']}: {_counts(final, 'orders')}")


def step_amazon_settlements(w: Walk) -> None:
    final = w.sync("/v1/integrations/amazon/sync-fees", {
        "integrationId": w.ids["amazon"], "reportType": "settlement",
        "dateRange": _days_back(89)})
    _say(f"   finished {final['status']}: settlements posted {final['settlementsPosted']}, "
         f"flagged {final['settlementsFlagged']} (reports {final['reportsProcessed']})")
    for row in (final["settlements"] or [])[:4]:
        _say(f"   {row['settlementId']} {row['status']:<7} deposit {row['depositDate']} "
             f"total {row['totalMinor']} = lines {row['linesTotalMinor']} "
             f"(fees {row.get('commissionsMinor', 0) + row.get('fba_feesMinor', 0)}) "
             f"{row['currency']} minor units")
    _say(f"   Amazon clearing left for orders not yet settled: "
         f"{_clearing(w, 'amazon', 'acc_amazon')}")


def step_stripe_payments(w: Walk) -> None:
    from sandbox.stripe.config import DEFAULT_SECRET_KEY

    iid = _setup(w, "stripe", "Demo Stripe account", {"secretKey": DEFAULT_SECRET_KEY})
    final = w.sync("/v1/integrations/stripe/sync-payments", {
        "integrationId": iid, "dateRange": {"from": "2020-01-01T00:00:00Z",
                                            "to": "2030-12-31T23:59:59Z"},
        "includeRefunds": True, "includeChargebacks": True, "includeFees": True})
    _say(f"   finished {final['status']}: payments processed {final['paymentsProcessed']}, "
         f"created {final['paymentsCreated']}, refunds {final['refundsProcessed']}, "
         f"chargebacks {final['chargebacksProcessed']}, fees recorded "
         f"{final['feesRecorded']}, totalAmount {final['totalAmount']} "
         f"totalFees {final['totalFees']} {final['currency'] or ''}")
    _say(f"   Stripe clearing once every payout is in: {_clearing(w, 'stripe', 'acc_stripe')}")


def step_paypal_transactions(w: Walk) -> None:
    from sandbox.paypal.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    iid = _setup(w, "paypal", "Demo PayPal account",
                 {"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET})
    final = w.sync("/v1/integrations/paypal/sync-transactions", {
        "integrationId": iid, "dateRange": _days_back(110)},
        " (110 days: four windows of at most 31 days)")
    _say(f"   finished {final['status']}: payments processed {final['paymentsProcessed']}, "
         f"refunds {final['refundsProcessed']}, chargebacks {final['chargebacksProcessed']}, "
         f"withdrawals {final['payoutsProcessed']}, totalAmount {final['totalAmount']} "
         f"{final['currency'] or ''}")
    _say(f"   PayPal clearing once every withdrawal is in: "
         f"{_clearing(w, 'paypal', 'acc_paypal')}")


def step_quickbooks_chart(w: Walk) -> None:
    from sandbox.quickbooks.config import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_REALM_ID,
        DEFAULT_REFRESH_TOKEN,
    )

    iid = _setup(w, "quickbooks", "Demo QuickBooks company", {
        "realmId": DEFAULT_REALM_ID, "clientId": DEFAULT_CLIENT_ID,
        "clientSecret": DEFAULT_CLIENT_SECRET, "refreshToken": DEFAULT_REFRESH_TOKEN})
    answer = w.call("POST", "/v1/integrations/quickbooks/export-coa", json={
        "integrationId": iid, "options": {"includeInactive": True, "mapToStandard": True}})
    w.step(f"POST /v1/integrations/quickbooks/export-coa -> {answer['syncId']} "
           f"{answer['status']}")
    final = w.finish(answer)
    accounts = final["accounts"] or []
    mapped = [a for a in accounts if a["standardAccountId"]]
    _say(f"   {len(accounts)} accounts imported as ledger accounts, {len(mapped)} mapped to "
         f"the standard chart, {len(final['needsDecision'])} need a decision, e.g.")
    for a in (mapped[:2] + final["needsDecision"][:1]):
        _say(f"   {a['type']} / {a['subtype']} {a['name']!r} -> "
             f"{a['standardAccountId'] or a['note']}")


def step_quickbooks_migration(w: Walk) -> None:
    iid = w.ids["quickbooks"]
    final = w.sync("/v1/integrations/quickbooks/migrate-customers", {"integrationId": iid})
    _say(f"   finished {final['status']}: {_counts(final, 'customers')}")
    final = w.sync("/v1/integrations/quickbooks/migrate-transactions", {
        "integrationId": iid, "dateRange": {"from": "2024-01-01", "to": "2024-06-30"},
        "batchSize": 100})
    _say(f"   finished {final['status']}: transactions processed "
         f"{final['transactionsProcessed']}, journal entries {final['journalEntriesPosted']}")
    _proof(final)


def _proof(final: dict[str, Any]) -> None:
    proof = final["trialBalance"] or {}
    _say(f"   trial balance at {proof.get('asOf')} against the source's own report: "
         f"{proof.get('accountsCompared', 0) - proof.get('accountsDifferent', 0)} of "
         f"{proof.get('accountsCompared')} accounts match to the cent "
         f"({'matched' if proof.get('matched') else 'NOT matched'})")
    for row in (proof.get("accounts") or [])[:3]:
        _say(f"     {row['name'][:30]:<30} source {row['source']:>12}  ledger "
             f"{row['ledger']:>12}")


def step_xero_migration(w: Walk) -> None:
    from sandbox.xero.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    tenant = _xero_tenants(w.sandbox_url)[-1]
    integration = w.call("POST", "/v1/integrations/xero/setup", json={
        "name": "Demo Xero organisation",
        "credentials": {"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
                        "refreshToken": _fresh_xero_token(w.sandbox_url)},
        "settings": {"baseUrl": w.sandbox_url, "tenantId": tenant["tenantId"]},
        "mapping": {}})
    w.ids["xero"] = iid = integration["id"]
    body = {"integrationId": iid, "dateRange": {"from": "2024-01-01", "to": "2024-06-30"}}
    dry = w.sync("/v1/integrations/xero/full-migration", {**body, "dryRun": True},
                 f" (dry run, organisation {tenant['tenantName']!r})")
    plan = dry["dryRun"] or {}
    _say(f"   would create: accounts {plan.get('accounts', {}).get('wouldCreate')}, contacts "
         f"{plan.get('contacts', {}).get('wouldCreate')}, invoices and bills "
         f"{plan.get('Invoices', {}).get('wouldCreate')}, payments "
         f"{plan.get('Payments', {}).get('wouldCreate')}; nothing written")
    final = w.sync("/v1/integrations/xero/full-migration", body)
    _say(f"   finished {final['status']}: transactions processed "
         f"{final['transactionsProcessed']}, journal entries {final['journalEntriesPosted']}")
    _proof(final)


def _xero_tenants(sandbox_url: str) -> list[dict[str, str]]:
    """The organisations the sandbox's grant reaches (a user picks one in Xero's consent
    screen; the demo asks /connections the way an app does)."""
    from sandbox.xero.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    token = httpx.post(f"{sandbox_url}/connect/token", timeout=30,
                       auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
                       data={"grant_type": "refresh_token",
                             "refresh_token": _fresh_xero_token(sandbox_url)})
    token.raise_for_status()
    answer = httpx.get(f"{sandbox_url}/connections", timeout=30, headers={
        "Authorization": f"Bearer {token.json()['access_token']}"})
    answer.raise_for_status()
    return answer.json()


def _fresh_xero_token(sandbox_url: str) -> str:
    """A new grant's refresh token (what the user's "Allow access" in Xero gives an app;
    the sandbox issues one on request). Xero's refresh tokens are single-use."""
    token = f"xero_rt_demo_lookup_{secrets.token_hex(8)}"
    httpx.post(f"{sandbox_url}/__sandbox/xero/control", json={"add_refresh_token": token},
               timeout=30).raise_for_status()
    return token


def step_custom_connector(w: Walk) -> None:
    import pathlib

    from sandbox.legacy_erp.config import DEFAULT_API_KEY

    spec = json.loads((pathlib.Path(__file__).resolve().parents[1] / "tests" / "fixtures" /
                       "custom" / "spec_example.json").read_text())
    connector = w.call("POST", "/v1/integrations/custom/create-connector", json=spec)
    w.step(f"POST /v1/integrations/custom/create-connector (the spec's example) -> "
           f"{connector['connectorId']} version {connector['version']}, endpoints "
           f"{[e['name'] for e in connector['endpoints']]}")
    integration = w.call("POST", f"/v1/integrations/custom/connectors/"
                         f"{connector['connectorId']}/setup", json={
                             "name": "Legacy ERP", "credentials": {
                                 "apiKey": DEFAULT_API_KEY, "baseUrl": w.sandbox_url}})
    w.ids["custom"] = iid = integration["id"]
    final = w.sync(f"/v1/integrations/custom/{iid}/sync",
                   {"parameters": {"from_date": "2020-01-01"}},
                   " (API key, Link-header pages, JSONPath mapping)")
    _say(f"   finished {final['status']}: {_counts(final, 'orders')}")


def step_transform_data(w: Walk) -> None:
    csv = ("company_name,contact_email,phone_number,street_address,city,credit_limit\n"
           "Acme Sdn Bhd,ap@acme.example,+60 3 1234 5678,1 Jalan Ampang,Kuala Lumpur,"
           "15000.50\n"
           "Borneo Trading,sales@borneo.example,+60 88 765 432,2 Jalan Gaya,Kota Kinabalu,\n"
           "Cendana Co,accounts@cendana.example,+60 4 111 2222,3 Lebuh Pantai,George Town,"
           "lots\n")
    answer = w.call("POST", "/v1/integrations/transform-data", json={
        "sourceFormat": "csv", "targetFormat": "bigledger_customer", "load": True,
        "mapping": {"name": "company_name", "email": "contact_email",
                    "phone": "phone_number", "address.street": "street_address",
                    "address.city": "city",
                    "creditLimit": {"field": "credit_limit", "transform": "parseFloat",
                                    "default": 0}},
        "data": csv})
    summary = answer["summary"]
    w.step(f"POST /v1/integrations/transform-data (the spec's example, load: true) -> "
           f"{summary['transformed']} rows transformed, {summary['failed']} refused, "
           f"{answer['loaded']['created']} customers loaded")
    for record in answer["records"][:1]:
        _say(f"   {record['name']}: {record['address']['city']}, creditLimit "
             f"{record['creditLimit']} (exact)")
    for error in answer["errors"]:
        _say(f"   row {error['row']} {error['field']}={error['value']!r}: {error['code']} "
             f"{error['message']}")


def step_inbound_webhook(w: Walk) -> None:
    import base64
    import hashlib
    import hmac

    body = json.dumps({"id": 9001, "name": "#9001", "email": "jon@example.com",
                       "updated_at": "2024-01-15T10:30:00Z", "total_price": "105.98",
                       "currency": "MYR", "financial_status": "paid",
                       "line_items": []}).encode()
    signature = base64.b64encode(hmac.new(DEMO_WEBHOOK_SECRET.encode(), body,
                                          hashlib.sha256).digest()).decode()
    headers = {"X-Shopify-Hmac-Sha256": signature, "X-Shopify-Topic": "orders/create",
               "X-Shopify-Event-Id": "demo-event-1", "Content-Type": "application/json"}
    path = f"/v1/webhooks/shopify/{w.ids['shopify']}"
    answers = [w.client.post(path, content=body, headers=headers) for _ in range(2)]
    forged = w.client.post(path, content=body, headers={**headers,
                                                         "X-Shopify-Hmac-Sha256": "Zm9yZ2Vk"})
    w.step(f"POST {path} (a signed orders/create delivery, twice, then forged) -> "
           f"{answers[0].status_code} kept, {answers[1].status_code} "
           f"duplicate={answers[1].json()['data']['duplicate']}, forged -> "
           f"{forged.status_code} {forged.json()['error']['code']}")


def step_realtime_order(w: Walk) -> None:
    iid = w.ids["shopify"]
    subscriber = _Subscriber()
    sub = w.call("POST", f"/v1/integrations/{iid}/webhooks", json={
        "events": ["order.created", "order.paid", "order.updated"],
        "endpoint": subscriber.url, "secret": SUBSCRIBER_SECRET, "active": True})
    before = w.call("GET", "/v1/ledger/sales-orders",
                    params={"integrationId": iid, "pageSize": 1})["total"]
    started = time.monotonic()
    order = httpx.post(f"{w.sandbox_url}/__sandbox/orders/create",
                       json={"financial_status": "PAID"}, timeout=10).json()
    order_id = str(order.get("legacyResourceId") or order.get("id"))
    w.step(f"POST /v1/integrations/{iid}/webhooks (a subscriber on {subscriber.url}) -> "
           f"{sub['webhookId']}; then a customer pays order {order_id} in the shop")
    deadline = time.monotonic() + 120
    total = before
    while time.monotonic() < deadline and (total == before or not subscriber.received):
        w.stack.check()
        time.sleep(0.5)
        total = w.call("GET", "/v1/ledger/sales-orders",
                       params={"integrationId": iid, "pageSize": 1})["total"]
    if total == before or not subscriber.received:
        raise RuntimeError("the webhook order did not arrive within 120 s")
    event = subscriber.received[0]
    _say(f"   Shopify delivered orders/create signed -> inbox -> process-webhooks fetched the "
         f"order and booked it: {total - before} new sales order in "
         f"{time.monotonic() - started:.1f} s")
    _say(f"   the subscriber got {event['event']} for {event['resourceType']} "
         f"{event['resourceId']}, BigLedger-Signature verified")
    subscriber.stop()


def step_schedules(w: Walk) -> None:
    iid = w.ids["shopify"]
    answer = w.call("POST", f"/v1/integrations/{iid}/schedules", json={
        "frequency": "hourly", "operations": ["sync_orders", "sync_inventory"]})
    status = w.call("GET", f"/v1/integrations/{iid}/status")
    w.step(f"POST /v1/integrations/{iid}/schedules (hourly: sync_orders, sync_inventory) -> "
           + ", ".join(f"{s['operation']} on {s['deployment']} at cron '{s['cron']}'"
                       for s in answer["schedules"]))
    _say(f"   status: syncFrequency {status['syncFrequency']}, nextSync {status['nextSync']} "
         f"(Prefect UI: {w.prefect_ui}/deployments)")


def step_trial_balance(w: Walk) -> None:
    tb = w.call("GET", "/v1/ledger/trial-balance")
    w.step("GET /v1/ledger/trial-balance (every integration):")
    width = max((len(acc["name"]) for acc in tb["accounts"]), default=0)
    for acc in tb["accounts"]:
        _say(f"   {acc['code']} {acc['name']:<{width}} {acc['currency']} "
             f"Dr {acc['debit']['amount']:>12}  Cr {acc['credit']['amount']:>12}")
    for cur, totals in tb["totals"].items():
        _say(f"   total {cur}: Dr {totals['debit']['amount']} = Cr {totals['credit']['amount']}"
             f" (difference {totals['difference']['amount']})")
    _say(f"   balanced: {tb['balanced']}")


def step_status(w: Walk) -> None:
    w.step("GET /v1/integrations/{integrationId}/status and .../health, for each integration:")
    for iid in w.ids.values():
        status = w.call("GET", f"/v1/integrations/{iid}/status")
        day = status["statistics"]["last24Hours"]
        health = w.call("GET", f"/v1/integrations/{iid}/health")
        checks = {c["name"]: c for c in health["checks"]}
        rate = checks["rate_limits"]
        _say(f"   {iid} -> {status['status']}, last sync {status['lastSync']}, next "
             f"{status['nextSync'] or '-'} ({status['syncFrequency']}); last 24h "
             f"{day['recordsProcessed']} records in {day['syncs']} syncs, success "
             f"{day['successRate']} %; live check {checks['connection']['status']} in "
             f"{checks['connection']['responseTime']} ms, rate budget "
             f"{rate['remaining'] if rate['remaining'] is not None else '-'}")
    summary = w.call("GET", "/v1/integrations/analytics")["summary"]
    w.step(f"GET /v1/integrations/analytics -> {summary['activeIntegrations']} active "
           f"integrations, {summary['totalSyncs']} syncs, {summary['successRate']} % loaded "
           f"every record, {summary['averageProcessingTime']} s on average")


STEPS: tuple[Callable[[Walk], None], ...] = (
    step_catalog,
    step_shopify_setup,
    step_shopify_orders,
    step_shopify_ledger,
    step_shopify_products,
    step_shopify_customers,
    step_shopify_update_inventory,
    step_woocommerce_orders,
    step_woocommerce_products,
    step_inventory_fan_out,
    step_amazon_mws_refused,
    step_amazon_orders,
    step_amazon_settlements,
    step_stripe_payments,
    step_paypal_transactions,
    step_quickbooks_chart,
    step_quickbooks_migration,
    step_xero_migration,
    step_custom_connector,
    step_transform_data,
    step_inbound_webhook,
    step_realtime_order,
    step_schedules,
    # Every capability adds its steps above; the books and health are shown last.
    step_trial_balance,
    step_status,
)


# --- helpers ---------------------------------------------------------------------------------

class _Subscriber:
    """A webhook subscriber on loopback: keeps each event whose BigLedger-Signature
    verifies, as a receiver should."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from connectors.outbound import verify

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                good = verify(body, self.headers.get("BigLedger-Signature", ""),
                              SUBSCRIBER_SECRET, int(time.time()))
                if good:
                    received.append(json.loads(body))
                self.send_response(204 if good else 401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bigledger-webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()



def _counts(sync: dict[str, Any], noun: str, *extra: str) -> str:
    """'orders processed 500, created 500, updated 0, failed 0' from the sync's counters."""
    verbs = ("processed", "created", "updated", "failed", *extra)
    return f"{noun} " + ", ".join(f"{v} {sync[noun + v.capitalize()]}" for v in verbs)


def _skus(orders: list[dict[str, Any]]) -> list[str]:
    """The distinct SKUs the orders sold, in order of first sale."""
    return list(dict.fromkeys(ln["sku"] for o in orders for ln in o["lines"] if ln["sku"]))


def _shopify_locations(sandbox_url: str) -> list[dict[str, str]]:
    """The shop's locations, asked of the Shopify sandbox itself (a merchant reads them in
    the Shopify admin): [{id, name}]."""
    version = get_settings().shopify_api_version
    response = httpx.post(
        f"{sandbox_url}/admin/api/{version}/graphql.json", timeout=30,
        headers={"X-Shopify-Access-Token": "shpat_sandbox_token"},
        json={"query": "{ locations(first: 10) { nodes { legacyResourceId name } } }"})
    response.raise_for_status()
    nodes = response.json()["data"]["locations"]["nodes"]
    return [{"id": n["legacyResourceId"], "name": n["name"]} for n in nodes]


def _progress(sync: dict[str, Any]) -> str:
    """'120/500 orders' (or '120 products' when the total is not known up front)."""
    done = next((k for k in sync if k.endswith("Processed")), None)
    if done is None:
        return "running"
    noun = done.removesuffix("Processed")
    total = sync.get(f"{noun}ToProcess")
    return f"{sync[done]}/{total} {noun}" if total else f"{sync[done]} {noun}"


def _poll(call: Callable[..., dict[str, Any]], sync_id: str, stack: Stack,
          timeout: float = 600) -> dict[str, Any]:
    """Poll GET /v1/integrations/syncs/{id} until the sync finishes, printing its progress
    whenever it changes."""
    deadline = time.monotonic() + timeout
    last, said_at = None, -60.0
    while time.monotonic() < deadline:
        stack.check()
        sync = call("GET", f"/v1/integrations/syncs/{sync_id}")
        if sync["status"] in FINISHED:
            return sync
        line = f"   ... {sync['status']}: {_progress(sync)}"
        if line != last and time.monotonic() - said_at >= 5:  # compact: every 5 s at most
            _say(line)
            last, said_at = line, time.monotonic()
        time.sleep(1)
    raise RuntimeError(f"sync {sync_id} did not finish within {timeout:.0f} s")
