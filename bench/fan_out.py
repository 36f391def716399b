"""Fan-out of 1,000 SKUs' stock across three channels (two Shopify shops and a WooCommerce
store on the sandbox), through the inventory-fan-out flow.

Run as `python -m bench.fan_out SANDBOX_URL` with BIGLEDGER_DATABASE_URL and PREFECT_API_URL
set; prints one JSON line."""

from __future__ import annotations

import json
import sys
import time


def main(url: str, skus: int = 1000) -> dict:
    from connectors.shopify import ProductFilter, ShopifyConnector
    from flows.inventory import fan_out
    from ledger.db import transaction
    from ledger.integrations import create_integration
    from ledger.migrate import upgrade

    upgrade()
    shop = {"shopDomain": "bench.myshopify.com", "accessToken": "shpat_sandbox_token"}
    woo = {"siteUrl": "https://bigledger-sandbox.example",
           "consumerKey": "ck_sandbox0000000000000000000000000000000000",
           "consumerSecret": "cs_sandbox0000000000000000000000000000000000"}
    with transaction() as conn:
        ids = [create_integration(conn, "shopify", "Shop A", shop, {"baseUrl": url}, {}).id,
               create_integration(conn, "shopify", "Shop B", shop, {"baseUrl": url}, {}).id,
               create_integration(conn, "woocommerce", "Woo", woo, {"baseUrl": url}, {}).id]
    connector = ShopifyConnector("bench.myshopify.com", "shpat_sandbox_token", base_url=url)
    location = connector.list_locations()[0]["legacyResourceId"]
    wanted: list[str] = []
    for page in connector.iter_product_pages(ProductFilter()):
        wanted += [v["sku"] for p in page.records for v in p["variants"]["nodes"] if v["sku"]]
        if len(wanted) >= skus:
            break
    items = [{"sku": sku, "quantity": 10 + n % 90,
              "locations": [{"externalId": f"shopify_location_{location}",
                             "quantity": 10 + n % 90}]}
             for n, sku in enumerate(wanted[:skus])]
    t0 = time.perf_counter()
    run = fan_out(integration_ids=ids, items=items)
    seconds = time.perf_counter() - t0
    return {"skus": len(items), "channels": len(ids), "seconds": seconds,
            "status": run["status"], "counters": run["counters"]}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
