"""Our pipeline: the shopify-sync-orders flow end to end against the sandbox.

Run as `python -m bench.pipeline SANDBOX_URL` with BIGLEDGER_DATABASE_URL and PREFECT_API_URL
set; prints one JSON line with the wall time, the peak memory of this process and what the
ledger holds afterwards.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main(sandbox_url: str) -> dict:
    from ledger.db import transaction
    from ledger.integrations import create_integration
    from ledger.migrate import upgrade
    from ledger.reports import counts, trial_balance

    upgrade()
    with transaction() as conn:
        create_integration(conn, "shopify", "bench",
                           {"shopDomain": "bench.myshopify.com",
                            "accessToken": "shpat_sandbox_token"},
                           {"baseUrl": sandbox_url}, {}, integration_id="int_shopify_bench")
    from flows.shopify import sync_orders

    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    run = sync_orders(integration_id="int_shopify_bench",
                      date_range={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"})
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with transaction() as conn:
        tb = trial_balance(conn)
        rows = counts(conn)
    return {"seconds": seconds, "status": run["status"], "counters": run["counters"],
            "baseline_mb": baseline_mb, "peak_mb": peak_mb, "balanced": tb["balanced"], **rows}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
