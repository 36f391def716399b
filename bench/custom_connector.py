"""A custom connector's records per second: the spec's example definition against the legacy
ERP sandbox, through the custom-sync flow into a ledger.

Run as `python -m bench.custom_connector SANDBOX_URL` with BIGLEDGER_DATABASE_URL and
PREFECT_API_URL set; prints one JSON line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(url: str) -> dict:
    from connectors.custom import load_definition
    from flows.custom import custom_sync
    from ledger.db import transaction
    from ledger.integrations import create_integration
    from ledger.migrate import upgrade
    from ledger.reports import trial_balance
    from sandbox.legacy_erp.config import DEFAULT_API_KEY

    upgrade()
    spec = json.loads((Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "custom" /
                       "spec_example.json").read_text())
    definition = load_definition(spec).model_dump(mode="json", by_alias=True,
                                                  exclude_none=True)
    with transaction() as conn:
        iid = create_integration(conn, "custom", "bench", {"apiKey": DEFAULT_API_KEY,
                                                          "baseUrl": url},
                                 {"definition": definition, "baseUrl": url}, {}).id
    t0 = time.perf_counter()
    run = custom_sync(integration_id=iid, parameters={"from_date": "2000-01-01"})
    seconds = time.perf_counter() - t0
    with transaction() as conn:
        balanced = trial_balance(conn)["balanced"]
    orders = run["counters"].get("ordersCreated", 0)
    return {"orders": orders, "seconds": seconds, "orders_per_second": orders / seconds,
            "status": run["status"], "balanced": balanced}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
