"""The spec's "Complete E-commerce Setup" example, in Python with bigledger.client, line for
line (the JavaScript is in the comments).

Run it against a running stack (`make demo` starts one):

    export BIGLEDGER_API_KEY=...            # the key `make demo` prints
    export BIGLEDGER_API_URL=http://127.0.0.1:8000 BIGLEDGER_SANDBOX_URL=http://127.0.0.1:8765
    export BIGLEDGER_WEBHOOK_ENDPOINT=https://your-receiver.example/webhooks/shopify
    .venv/bin/python -m examples.complete_ecommerce_setup

SHOPIFY_ACCESS_TOKEN defaults to the sandbox's token. The webhook endpoint must be an https
URL whose host resolves to a public address (unless the API allows private endpoints, as the
demo's does); the spec's https://myapp.com/... is the default.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from bigledger.client import BigLedgerClient
from examples._common import client_from_env, sandbox_url_from_env

SANDBOX_ACCESS_TOKEN = "shpat_sandbox_token"  # what the Shopify sandbox accepts
WEBHOOK_ENDPOINT = "https://myapp.com/webhooks/shopify"


# Set up Shopify integration with full sync
# async function setupShopifyIntegration() {
def setup_shopify_integration(client: BigLedgerClient, sandbox_url: str | None = None, *,
                              webhook_endpoint: str = WEBHOOK_ENDPOINT) -> dict[str, Any]:
    """The spec's setupShopifyIntegration: create the integration, start the historical
    order sync, subscribe a webhook endpoint, schedule hourly syncs. `sandbox_url` points
    the shop at the Shopify sandbox (None: the real Shopify). Returns the four answers."""
    # 1. Create integration
    # const integration = await client.integrations.setup('shopify', {
    integration = client.integrations.setup("shopify", {
        "name": "Main Store",
        "credentials": {
            "shopDomain": "mystore.myshopify.com",
            # accessToken: process.env.SHOPIFY_ACCESS_TOKEN
            "accessToken": os.environ.get("SHOPIFY_ACCESS_TOKEN", SANDBOX_ACCESS_TOKEN),
        },
        "settings": {
            "syncOrders": True,
            "syncProducts": True,
            "syncCustomers": True,
            "autoCreateCustomers": True,
            "defaultTaxCode": "SST",
            # Not in the JavaScript: where the shop's Admin API is (the sandbox here).
            **({"baseUrl": sandbox_url} if sandbox_url else {}),
        },
    })

    # 2. Initial data sync
    # const historicalSync = await client.integrations.shopify.syncOrders(integration.id, {
    historical_sync = client.integrations.shopify.sync_orders(integration.id, {
        "dateRange": {
            "from": "2024-01-01T00:00:00Z",
            "to": datetime.now(UTC),  # new Date().toISOString()
        },
        "orderStatus": ["paid", "partially_paid"],
    })

    # 3. Set up real-time webhooks
    # const webhook = await client.integrations.webhooks.create(integration.id, {
    webhook = client.integrations.webhooks.create(integration.id, {
        "events": ["order.created", "order.updated", "product.updated"],
        "endpoint": webhook_endpoint,
    })

    # 4. Schedule regular syncs
    # const schedule = await client.integrations.schedules.create(integration.id, {
    schedule = client.integrations.schedules.create(integration.id, {
        "frequency": "hourly",
        "operations": ["sync_orders", "sync_inventory"],
    })

    # return { integration, historicalSync, webhook, schedule };
    return {"integration": integration, "historicalSync": historical_sync,
            "webhook": webhook, "schedule": schedule}


def main() -> int:
    """Run the example and follow the historical sync to its end."""
    endpoint = os.environ.get("BIGLEDGER_WEBHOOK_ENDPOINT", WEBHOOK_ENDPOINT)
    with client_from_env() as client:
        result = setup_shopify_integration(client, sandbox_url_from_env(),
                                           webhook_endpoint=endpoint)
        integration, sync = result["integration"], result["historicalSync"]
        print(f"integration {integration.id} ({integration.name}), credentials shown masked: "
              f"{integration.credentials}")
        print(f"historical sync {sync.sync_id}: {sync.status}, "
              f"{sync.orders_to_process} orders to process")
        webhook = result["webhook"]
        print(f"webhook {webhook.webhook_id} -> {webhook.endpoint} for {webhook.events}; "
              f"signing secret (shown once): {webhook.secret}")
        for s in result["schedule"].schedules:
            print(f"schedule {s.schedule_id}: {s.operation} {s.frequency} on {s.deployment}, "
                  f"next {s.next_sync:%Y-%m-%d %H:%M}Z")
        done = client.wait_for_sync(sync, timeout=600)
        print(f"historical sync {done.status}: orders processed {done.orders_processed}, "
              f"created {done.orders_created}, updated {done.orders_updated}, "
              f"failed {done.orders_failed}")
        return 0 if done.status in ("completed", "completed_with_errors") else 1


if __name__ == "__main__":
    raise SystemExit(main())
