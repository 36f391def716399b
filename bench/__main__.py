"""`make bench`: orders per second and peak memory of the Shopify order sync, beside the raw
ceiling measured in the same run. Figures are printed, never asserted.

For each size (default 10,000 and 100,000 orders; BENCH_SIZES=... to change), with the
sandbox's throttling off:
  ceiling   the same GraphQL pages fetched with bare httpx + the same rows written with COPY
  pipeline  the shopify-sync-orders flow (Prefect tasks, connector, transform, idempotent
            load with balanced journal entries) into a fresh PostgreSQL ledger
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import BIN, ROOT, free_port, fresh_postgres, start, stop, wait_http


def run_json(args: list[str], env: dict[str, str], timeout: float = 3600) -> dict:
    out = subprocess.run(args, cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                         text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args[-2:])} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
    work = Path(tempfile.mkdtemp(prefix="bigledger-bench-"))
    env = {"BIGLEDGER_HOME": str(work), "PREFECT_HOME": str(work / "prefect"),
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_LEVEL": "WARNING",
           "BIGLEDGER_SECRET_KEY": "yLf1tqS1Ktm0QJ1oWmvnbbOqRcS0Ea2jTQrYSq1mF3k="}
    prefect_port = free_port()
    print(f"bench: work dir {work}; starting a Prefect server ...", flush=True)
    server = start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                    str(prefect_port)], work / "prefect.log", env)
    results = []
    try:
        wait_http(f"http://127.0.0.1:{prefect_port}/api/health")
        env["PREFECT_API_URL"] = f"http://127.0.0.1:{prefect_port}/api"
        for size in sizes:
            results.append(bench_size(size, work, env))
    finally:
        stop(server)
    print()
    print("Shopify order sync, sandbox throttling off, PostgreSQL ledger")
    print(f"{'orders':>8} {'page':>5} | {'ceiling o/s':>11} (fetch s, COPY s) | "
          f"{'pipeline o/s':>12} {'ratio':>6} | {'peak MB':>7} (after imports) | balanced")
    for r in results:
        c, p = r["ceiling"], r["pipeline"]
        ceiling = c["orders"] / (c["fetch_s"] + c["copy_s"])
        rate = p["salesOrders"] / p["seconds"]
        print(f"{r['size']:>8} {c['page_size']:>5} | {ceiling:>11,.0f} ({c['fetch_s']:.1f}, "
              f"{c['copy_s']:.1f}) | {rate:>12,.0f} {rate / ceiling:>6.0%} | "
              f"{p['peak_mb']:>7.0f} ({p['baseline_mb']:.0f}) | {p['balanced']}")
    return 0


def bench_size(size: int, work: Path, env: dict[str, str]) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"\n{size:,} orders: sandbox on {url}", flush=True)
    sandbox = start([str(BIN / "bigledger"), "sandbox", "--port", str(port), "--size",
                     str(size), "--seed", "1", "--no-throttle"], work / f"sandbox-{size}.log",
                    env)
    try:
        wait_http(f"{url}/__sandbox/health")
        ceiling_db = fresh_postgres("bigledger_bench_ceiling")
        pipeline_db = fresh_postgres("bigledger_bench_pipeline")
        if not (ceiling_db and pipeline_db):
            raise SystemExit("make bench needs PostgreSQL at 127.0.0.1:5432")
        ceiling = run_json([sys.executable, "-m", "bench.ceiling", url, ceiling_db], env)
        print(f"  ceiling: {ceiling}", flush=True)
        pipeline = run_json([sys.executable, "-m", "bench.pipeline", url],
                            {**env, "BIGLEDGER_DATABASE_URL": pipeline_db})
        print(f"  pipeline: {pipeline}", flush=True)
    finally:
        stop(sandbox)
    return {"size": size, "ceiling": ceiling, "pipeline": pipeline}


if __name__ == "__main__":
    sys.exit(main())
