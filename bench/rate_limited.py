"""A paged order fetch against the sandbox with Shopify's cost bucket on: how close the
connector runs to the rate the bucket allows, and how often it is refused.

Run as `python -m bench.rate_limited SANDBOX_URL`; prints one JSON line. The allowed rate
is the restore rate plus the bucket the run starts with; the achieved rate is the actual
query cost the sandbox charged per second."""

from __future__ import annotations

import json
import sys
import time

import httpx

from connectors.shopify import OrderFilter, ShopifyConnector


def main(url: str) -> dict:
    before = httpx.get(f"{url}/__sandbox/stats").json()
    status = before["throttleStatus"]
    connector = ShopifyConnector("bench.myshopify.com", "shpat_sandbox_token", base_url=url)
    t0 = time.perf_counter()
    orders = sum(len(page.records) for page in connector.iter_order_pages(OrderFilter()))
    seconds = time.perf_counter() - t0
    after = httpx.get(f"{url}/__sandbox/stats").json()
    charged = after["actual_cost"] - before["actual_cost"]
    allowed = status["restoreRate"] * seconds + status["currentlyAvailable"]
    return {"orders": orders, "seconds": seconds, "charged_points": charged,
            "allowed_points": allowed, "of_allowed": charged / allowed,
            "requests": after["requests"] - before["requests"],
            "throttled": after["throttled"] - before["throttled"]}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
