"""`make demo`: start the local stack and walk through setup -> sync orders -> status over HTTP.

Processes started (each stopped on Ctrl-C): a Prefect server (SQLite), the platform sandbox,
a worker serving the deployments of prefect.yaml, and the API. The ledger is a fresh SQLite
file under .bigledger/demo/ each time.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bigledger.settings import get_settings

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
        _say(f"  sandbox         {sandbox_url}  (Shopify Admin GraphQL, 500 orders)")
        _say(f"  API             {api_url}  (API key: {api_key})")
        _say()
        _walkthrough(api_url, api_key, sandbox_url, stack,
                     f"http://{host}:{settings.prefect_port}")
        _say()
        _say(f"Prefect UI:  http://{host}:{settings.prefect_port}  (flow runs, artifacts)")
        _say(f"API docs:    {api_url}/docs   (Authorize with the key above)")
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


def _walkthrough(api_url: str, api_key: str, sandbox_url: str, stack: Stack,
                 prefect_ui: str) -> None:
    client = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {api_key}"},
                          timeout=60)

    def call(method: str, path: str, **kw: Any) -> dict[str, Any]:
        response = client.request(method, path, **kw)
        body = response.json()
        if not body.get("success"):
            raise RuntimeError(f"{method} {path} -> {response.status_code} {body.get('error')}")
        return body["data"]

    catalog = call("GET", "/v1/integrations/available")
    names = [e["name"] for group in catalog.values() for e in group]
    _say(f"1. GET /v1/integrations/available -> {', '.join(names)}")

    integration = call("POST", "/v1/integrations/shopify/setup", json={
        "name": "Demo Shopify Store",
        "credentials": {"shopDomain": "demo-store.myshopify.com",
                        "accessToken": "shpat_sandbox_token"},
        "settings": {"baseUrl": sandbox_url, "syncOrders": True},
        "mapping": {"defaultTaxCode": "SST", "defaultPaymentAccount": "acc_stripe",
                    "shippingAccount": "acc_shipping", "discountAccount": "acc_discounts"},
    })
    iid = integration["id"]
    _say(f"2. POST /v1/integrations/shopify/setup -> {iid}, credentials stored encrypted, "
         f"shown masked: {integration['credentials']}")

    body = {"integrationId": iid,
            "dateRange": {"from": "2020-01-01T00:00:00Z", "to": "2030-12-31T23:59:59Z"}}
    for attempt in (1, 2):
        sync = call("POST", "/v1/integrations/shopify/sync-orders", json=body)
        _say(f"{2 + attempt}. POST /v1/integrations/shopify/sync-orders -> {sync['syncId']} "
             f"{sync['status']}, {sync['ordersToProcess']} orders to process"
             + (" (the same sync again: nothing may change)" if attempt == 2 else ""))
        final = _poll(call, sync["syncId"], stack)
        _say(f"   finished {final['status']}: processed {final['ordersProcessed']}, created "
             f"{final['ordersCreated']}, updated {final['ordersUpdated']}, failed "
             f"{final['ordersFailed']}")
        _say(f"   Prefect flow run: {prefect_ui}/runs/flow-run/{final['flowRunId']}")

    orders = call("GET", "/v1/ledger/sales-orders", params={"integrationId": iid, "pageSize": 1})
    entries = call("GET", "/v1/ledger/journal-entries",
                   params={"integrationId": iid, "pageSize": 1})
    _say(f"5. ledger: {orders['total']} sales orders, {entries['total']} journal entries; the "
         "first entry:")
    for entry in entries["items"][:1]:
        _say(f"   {entry['date']} {entry['memo']} ({entry['currency']})")
        for line in entry["lines"]:
            _say(f"     {line['accountId']:<22} Dr {line['debit']:>10}  Cr {line['credit']:>10}")
    tb = call("GET", "/v1/ledger/trial-balance")
    _say("6. GET /v1/ledger/trial-balance:")
    for acc in tb["accounts"]:
        _say(f"   {acc['code']} {acc['name']:<34} {acc['currency']} "
             f"Dr {acc['debit']['amount']:>12}  Cr {acc['credit']['amount']:>12}")
    for cur, totals in tb["totals"].items():
        _say(f"   total {cur}: Dr {totals['debit']['amount']} = Cr {totals['credit']['amount']}"
             f" (difference {totals['difference']['amount']})")
    _say(f"   balanced: {tb['balanced']}")
    status = call("GET", f"/v1/integrations/{iid}/status")
    _say(f"7. GET /v1/integrations/{iid}/status -> {status['status']}, last sync "
         f"{status['lastSync']}, last 24h {status['statistics']['last24Hours']}")


def _poll(call, sync_id: str, stack: Stack, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        stack.check()
        sync = call("GET", f"/v1/integrations/syncs/{sync_id}")
        if sync["status"] in {"completed", "completed_with_errors", "failed", "cancelled"}:
            return sync
        line = f"   ... {sync['status']}: {sync['ordersProcessed']}/{sync['ordersToProcess']}"
        if line != last:
            _say(line)
            last = line
        time.sleep(1)
    raise RuntimeError(f"sync {sync_id} did not finish within {timeout:.0f} s")
