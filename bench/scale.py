"""Running at scale: two Prefect workers, one shared rate limit per seller.

`python -m bench.scale` prints one JSON line. It starts, all on loopback:
  - a Prefect server whose database is a fresh PostgreSQL database (beside `test`),
  - a process work pool with two queues and one `prefect worker` per queue,
  - two Amazon SP-API sandboxes, one per seller (shop), each metering its own buckets,
  - a ledger in another fresh PostgreSQL database with three integrations: seller A
    connected twice (two marketplaces' books, one SP-API budget) and seller B once,
then registers the deployments (`prefect --no-prompt deploy --all`), creates the shared
limits (tasks.limits.ensure_rate_limits) and starts three amazon-sync-orders runs at once:
A-1 on worker 1, A-2 on worker 2, B on worker 1. Seller A's two runs overlap on different
workers and draw on one getOrderItems budget; the sandbox's own counters, sampled every
0.25 s, show whether that budget was ever exceeded (429s, and calls in any window against
burst + rate x window).

BENCH_SCALE_COMPARE=1 repeats the runs with BIGLEDGER_SHARED_RATE_LIMITS=false (each worker
pacing alone) to show what the shared limit prevents. BENCH_SCALE_ORDERS sets the orders
per seller (default 60). Every process started here is stopped, and the two databases are
dropped, at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import BIN, PG_ADMIN_URL, ROOT, free_port, fresh_postgres, wait_http

POOL = "bigledger-process"
QUEUES = ("worker-1", "worker-2")
SECRET_KEY = "yLf1tqS1Ktm0QJ1oWmvnbbOqRcS0Ea2jTQrYSq1mF3k="
SELLERS = {"A": "A2SCALESELLERAAA", "B": "A2SCALESELLERBBB"}
# The sandbox sellers' plan: the published one six times faster (x-amzn-RateLimit-Limit says
# so), so a run takes seconds; the integrations state it in settings.rateLimits.
MULTIPLIER = 6
SAMPLE_SECONDS = 0.25


# ---- processes ------------------------------------------------------------------------------


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def stop_group(proc: subprocess.Popen, grace: float = 8.0) -> None:
    """SIGTERM the process group, then again (a Prefect worker wants two), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    # Flow-run subprocesses live in the worker's group: make sure none outlives it.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Sandbox:
    """One Amazon seller's SP-API sandbox served by uvicorn in a thread."""

    def __init__(self, seller_id: str, size: int) -> None:
        import uvicorn

        from sandbox.amazon import AmazonSandboxConfig, create_app
        from sandbox.amazon.config import DEFAULT_REFRESH_TOKEN

        self.start_at = (datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0)
        config = AmazonSandboxConfig(
            seed=7, size=size, start=self.start_at, interval_seconds=3600,
            seller_id=seller_id, refresh_tokens=((DEFAULT_REFRESH_TOKEN, seller_id),),
            rate_multiplier=MULTIPLIER)  # fmt: skip
        self.config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1",
                                                    port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_http(f"{self.url}/__sandbox/amazon/stats", timeout=30)

    def plan(self, operation: str) -> tuple[float, float]:
        rate, burst = self.config.plan(operation)
        return float(rate), float(burst)

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/__sandbox/amazon/stats", timeout=10).json()

    def reset(self) -> None:
        httpx.post(f"{self.url}/__sandbox/amazon/control", timeout=10,
                   json={"reset_stats": True, "reset_buckets": True}).raise_for_status()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Sampler(threading.Thread):
    """Samples each sandbox's counters: (seconds, getOrderItems calls, getOrders calls, 429s)."""

    def __init__(self, sandboxes: dict[str, Sandbox]) -> None:
        super().__init__(daemon=True)
        self.sandboxes = sandboxes
        self.samples: dict[str, list[tuple[float, int, int, int]]] = {k: [] for k in sandboxes}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for name, box in self.sandboxes.items():
                stats = box.stats()
                self.samples[name].append((time.monotonic(), stats["requests"]["getOrderItems"],
                                           stats["requests"]["getOrders"], stats["throttled"]))
            self.done.wait(SAMPLE_SECONDS)


def limit_check(samples: list[tuple[float, int, int, int]], rate: float, burst: float,
                ) -> dict[str, Any]:  # fmt: skip
    """Calls the sandbox's bucket let through, against the bucket: the worst window's excess
    over burst + rate x window (<= 0: never over the limit; refused calls, counted among the
    requests, are left out), and the rate once the burst was spent."""
    calls = [(t, n - refused) for t, n, _, refused in samples]
    worst = max((n2 - n1 - burst - rate * (t2 - t1)
                 for i, (t1, n1) in enumerate(calls) for t2, n2 in calls[i:]), default=0.0)
    active = [(t, n) for t, n in calls if n > 0]
    if len(active) < 2 or active[-1][1] <= burst:
        steady = None
    else:
        after_burst = next((t, n) for t, n in active if n >= burst)
        last = max(active, key=lambda s: s[1])
        steady = ((last[1] - after_burst[1]) / (last[0] - after_burst[0])
                  if last[0] > after_burst[0] else None)
    return {"acceptedCalls": calls[-1][1] if calls else 0, "worstWindowExcess": round(worst, 2),
            "rateAfterBurst": round(steady, 3) if steady else None, "limitRate": rate,
            "limitBurst": burst}


# ---- the bench ------------------------------------------------------------------------------


def main() -> dict[str, Any]:
    orders = int(os.environ.get("BENCH_SCALE_ORDERS", "60"))
    compare = os.environ.get("BENCH_SCALE_COMPARE", "") not in ("", "0", "false")
    work = Path(tempfile.mkdtemp(prefix="bigledger-scale-"))
    tag = f"{os.getpid()}"
    prefect_db = fresh_postgres(f"bigledger_scale_prefect_{tag}")
    ledger_db = fresh_postgres(f"bigledger_scale_ledger_{tag}")
    if prefect_db is None or ledger_db is None:
        return {"bench": "scale", "skipped": "PostgreSQL is not running"}
    prefect_port = free_port()
    api = f"http://127.0.0.1:{prefect_port}/api"
    env = {**os.environ, "BIGLEDGER_HOME": str(work), "PREFECT_HOME": str(work / "prefect"),
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_LEVEL": "WARNING", "BIGLEDGER_SECRET_KEY": SECRET_KEY,
           "BIGLEDGER_DATABASE_URL": ledger_db, "BIGLEDGER_PROJECT_DIR": str(ROOT),
           "PREFECT_API_URL": api}
    env.pop("BIGLEDGER_SHARED_RATE_LIMITS", None)
    os.environ.update({k: env[k] for k in ("BIGLEDGER_HOME", "PREFECT_HOME", "DO_NOT_TRACK",
                                           "BIGLEDGER_SECRET_KEY", "BIGLEDGER_DATABASE_URL",
                                           "PREFECT_API_URL", "PREFECT_LOGGING_LEVEL")})
    asyncpg_url = make_url(prefect_db).set(drivername="postgresql+asyncpg")
    procs: list[subprocess.Popen] = []
    sandboxes: dict[str, Sandbox] = {}
    t0 = time.monotonic()
    try:
        procs.append(start(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
             str(prefect_port)], work / "server.log",
            {**env, "PREFECT_SERVER_DATABASE_CONNECTION_URL":
                asyncpg_url.render_as_string(hide_password=False)}))  # fmt: skip
        sandboxes = {name: Sandbox(seller, orders) for name, seller in SELLERS.items()}
        integrations = make_integrations(sandboxes, orders)
        wait_http(f"{api}/health", timeout=240)
        server_ready = time.monotonic() - t0
        limits = ensure_limits()
        make_pool()
        deployed = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
                                  cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=300)  # fmt: skip
        if deployed.returncode != 0:
            raise RuntimeError(f"prefect deploy failed:\n{deployed.stdout[-2000:]}"
                               f"{deployed.stderr[-2000:]}")
        result: dict[str, Any] = {"bench": "scale", "ordersPerSeller": orders,
                                  "prefectDatabase": "postgresql",
                                  "serverReadySeconds": round(server_ready, 1),
                                  "sharedLimits": limits}
        result["shared"] = run_round(work, env, sandboxes, integrations, shared=True)
        if compare:
            result["perWorkerOnly"] = run_round(work, env, sandboxes, integrations,
                                                shared=False)
        shared = result["shared"]
        result["ok"] = bool(shared["ok"])
        result["seconds"] = round(time.monotonic() - t0, 1)
        return result
    finally:
        for proc in reversed(procs):
            stop_group(proc)
        for box in sandboxes.values():
            box.stop()
        drop_databases([f"bigledger_scale_prefect_{tag}", f"bigledger_scale_ledger_{tag}"])


def make_integrations(sandboxes: dict[str, Sandbox], orders: int) -> dict[str, dict]:
    """Seller A connected twice, seller B once; each states its plan in settings.rateLimits."""
    from ledger.integrations import create_integration
    from ledger.migrate import upgrade
    from sandbox.amazon.config import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_REFRESH_TOKEN,
    )

    upgrade()
    from ledger.db import transaction

    out: dict[str, dict] = {}
    plan = {op: dict(zip(("rate", "burst"), sandboxes["A"].plan(op), strict=True))
            for op in ("getOrders", "getOrderItems", "getOrder")}
    for key, seller, queue in (("A-1", "A", QUEUES[0]), ("A-2", "A", QUEUES[1]),
                               ("B", "B", QUEUES[0])):
        box = sandboxes[seller]
        iid = f"int_amazon_scale_{key.replace('-', '').lower()}"
        with transaction() as conn:
            create_integration(conn, "amazon", f"Seller {key}", {
                "sellerId": SELLERS[seller], "marketplaceId": "ATVPDKIKX0DER",
                "clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
                "refreshToken": DEFAULT_REFRESH_TOKEN},
                {"baseUrl": box.url, "rateLimits": plan}, {}, integration_id=iid)  # fmt: skip
        end = box.start_at + timedelta(hours=orders + 1)
        out[key] = {"id": iid, "seller": seller, "queue": queue,
                    "dateRange": {"from": box.start_at.isoformat(), "to": end.isoformat()}}
    return out


def ensure_limits() -> int:
    from tasks.limits import ensure_rate_limits

    return len(ensure_rate_limits())


def make_pool() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        for queue in QUEUES:
            client.create_work_queue(name=queue, work_pool_name=POOL)


def run_round(work: Path, env: dict[str, str], sandboxes: dict[str, Sandbox],
              integrations: dict[str, dict], *, shared: bool) -> dict[str, Any]:
    """Start the two workers, the three runs at once, and judge seller A's budget."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    label = "shared" if shared else "alone"
    # INFO: the worker's log names each flow run it submits (the proof of who ran what).
    worker_env = {**env, "PREFECT_LOGGING_LEVEL": "INFO", "PREFECT_WORKER_QUERY_SECONDS": "1",
                  "PREFECT_WORKER_PREFETCH_SECONDS": "1",
                  "BIGLEDGER_SHARED_RATE_LIMITS": "true" if shared else "false"}
    for box in sandboxes.values():
        box.reset()
    workers = [start([str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--work-queue",
                      queue, "--name", f"{queue}-{label}", "--type", "process"],
                     work / f"{queue}-{label}.log", worker_env)
               for queue in QUEUES]  # fmt: skip
    sampler = Sampler(sandboxes)
    sampler.start()
    try:
        runs = {}
        for key, integ in integrations.items():
            run = run_deployment("amazon-sync-orders/default", timeout=0,
                                 work_queue_name=integ["queue"],
                                 parameters={"integration_id": integ["id"],
                                             "date_range": integ["dateRange"]})
            runs[key] = run.id
        final = wait_runs(runs, timeout=600)
    finally:
        sampler.done.set()
        sampler.join(5)
        for proc in workers:
            stop_group(proc)
    logs = {q: (work / f"{q}-{label}.log").read_text(errors="replace") for q in QUEUES}
    out_runs = {}
    with get_client(sync_client=True) as client:
        for key, run_id in runs.items():
            fr = client.read_flow_run(run_id)
            ran_on = [q for q in QUEUES if str(run_id) in logs[q]]
            out_runs[key] = {
                "state": fr.state.type.value if fr.state else None,
                "workQueue": fr.work_queue_name, "pickedUpBy": ran_on,
                "start": fr.start_time.isoformat() if fr.start_time else None,
                "end": fr.end_time.isoformat() if fr.end_time else None,
                "seconds": round(fr.total_run_time.total_seconds(), 1),
            }
    overlap = overlap_seconds(final["A-1"], final["A-2"])
    checks = {}
    for seller, box in sandboxes.items():
        rate, burst = box.plan("getOrderItems")
        samples = sampler.samples[seller]
        checks[seller] = {**limit_check(samples, rate, burst),
                          "throttled": samples[-1][3] if samples else None,
                          "getOrdersCalls": samples[-1][2] if samples else 0}
    a = checks["A"]
    completed = all(r["state"] == "COMPLETED" for r in out_runs.values())
    different_workers = (out_runs["A-1"]["pickedUpBy"] == [QUEUES[0]]
                         and out_runs["A-2"]["pickedUpBy"] == [QUEUES[1]])
    return {
        "runs": out_runs, "sellerAOverlapSeconds": round(overlap, 1),
        "sandboxes": checks, "ledger": ledger_counts(integrations),
        "ok": (completed and different_workers and overlap > 0 and a["throttled"] == 0
               and a["worstWindowExcess"] <= 1.0),
    }


def wait_runs(runs: dict[str, Any], timeout: float) -> dict[str, tuple[float, float]]:
    """Poll until every run is final; (start, end) epoch seconds per run."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            flow_runs = {key: client.read_flow_run(rid) for key, rid in runs.items()}
            if all(fr.state and fr.state.is_final() for fr in flow_runs.values()):
                return {key: (fr.start_time.timestamp() if fr.start_time else 0.0,
                              fr.end_time.timestamp() if fr.end_time else 0.0)
                        for key, fr in flow_runs.items()}  # fmt: skip
            if time.monotonic() > deadline:
                states = {k: fr.state.type.value if fr.state else None
                          for k, fr in flow_runs.items()}  # fmt: skip
                raise TimeoutError(f"flow runs not finished after {timeout} s: {states}")
            time.sleep(1)


def overlap_seconds(a: tuple[float, float], b: tuple[float, float]) -> float:
    return min(a[1], b[1]) - max(a[0], b[0])


def ledger_counts(integrations: dict[str, dict]) -> dict[str, Any]:
    from ledger.db import transaction
    from ledger.reports import trial_balance

    out: dict[str, Any] = {}
    with transaction() as conn:
        for key, integ in integrations.items():
            out[key] = conn.execute(text(
                "SELECT count(*) FROM sales_orders WHERE integration_id = :i"),
                {"i": integ["id"]}).scalar_one()  # fmt: skip
        out["balanced"] = trial_balance(conn)["balanced"]
    return out


def drop_databases(names: list[str]) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                assert name.startswith("bigledger_scale_")  # never the `test` database
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


if __name__ == "__main__":
    outcome = main()
    print(json.dumps(outcome))
    sys.exit(0 if outcome.get("ok", True) else 1)
