"""The spec's "Multi-Channel Inventory Management" example, in Python with bigledger.client,
line for line (the JavaScript is in the comments).

Run it against a running stack (`make demo` starts one) once the channels have orders:

    export BIGLEDGER_API_KEY=...            # the key `make demo` prints
    export BIGLEDGER_API_URL=http://127.0.0.1:8000 BIGLEDGER_SANDBOX_URL=http://127.0.0.1:8765
    .venv/bin/python -m examples.multi_channel_inventory [--channels shopify,woocommerce]

Channels not set up yet are set up against the sandbox first. Two things differ from the
JavaScript, both because of the platforms:
* Shopify keeps stock per location, and its update-inventory needs `locationId`: an update
  may carry the shop's location, which goes into the Shopify items (WooCommerce has no
  locations and takes the SKU's level).
* The API has no Amazon stock push yet (`client.integrations.amazon.update_inventory`
  answers NOT_FOUND), so the runnable default leaves Amazon out of the spec's channels.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bigledger.client import BigLedgerClient, Integration, NotFoundError, Sync
from examples._common import client_from_env, sandbox_url_from_env

CHANNELS = ("shopify", "amazon", "woocommerce")  # the spec's list
RUNNABLE_CHANNELS = ("shopify", "woocommerce")  # those the API can push stock to today


# Sync inventory across multiple channels
# async function syncInventoryMultiChannel(inventoryUpdates) {
def sync_inventory_multi_channel(client: BigLedgerClient,
                                 inventory_updates: list[Mapping[str, Any]],
                                 channels: Iterable[str] = CHANNELS, *,
                                 names: Mapping[str, str] | None = None) -> list[Sync]:
    """The spec's syncInventoryMultiChannel: each channel's integration gets every update as
    an absolute level, all channels at once. An update is {sku, availableQuantity} and, for
    Shopify, the shop's `locationId`. A channel with several integrations uses its newest,
    or the one `names` names. Returns each channel's sync, in the order of `channels`; the
    first channel that fails raises, as Promise.all rejects."""
    # const channels = ['shopify', 'amazon', 'woocommerce'];
    channels = list(channels)
    names = names or {}

    # const syncTasks = channels.map(async (channel) => {
    def sync_task(channel: str) -> Sync:
        # const integration = await client.integrations.get(channel);
        integration = client.integrations.get(channel, name=names.get(channel))

        # return await client.integrations[channel].updateInventory(integration.id, {
        return client.integrations[channel].update_inventory(integration.id, {
            # items: inventoryUpdates.map(update => ({
            "items": [
                {
                    "sku": update["sku"],
                    "quantity": update["availableQuantity"],
                    "updateType": "set",
                    # Shopify's stock is per location (see the module's docstring).
                    **({"locationId": update["locationId"]} if update.get("locationId") else {}),
                }
                for update in inventory_updates
            ],
        })

    # const results = await Promise.all(syncTasks);
    with ThreadPoolExecutor(max_workers=max(1, len(channels))) as pool:
        sync_tasks = [pool.submit(sync_task, channel) for channel in channels]
        results = [task.result() for task in sync_tasks]
    # return results;
    return results


# --- running it against the sandbox --------------------------------------------------------


def connect_channels(client: BigLedgerClient, sandbox_url: str,
                     channels: Iterable[str]) -> dict[str, Integration]:
    """Each channel's integration: the one integrations.get(channel) finds (the newest),
    else one set up now against the sandbox (the same credentials `make demo` uses)."""
    connected = {}
    for channel in channels:
        try:
            connected[channel] = client.integrations.get(channel)
        except NotFoundError:
            connected[channel] = client.integrations.setup(
                channel, _sandbox_setup(channel, sandbox_url))
    return connected


def _sandbox_setup(channel: str, sandbox_url: str) -> dict[str, Any]:
    if channel == "shopify":
        credentials = {"shopDomain": "mystore.myshopify.com",
                       "accessToken": "shpat_sandbox_token"}
    elif channel == "woocommerce":
        from sandbox.woocommerce.config import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET

        credentials = {"siteUrl": sandbox_url, "consumerKey": DEFAULT_CONSUMER_KEY,
                       "consumerSecret": DEFAULT_CONSUMER_SECRET}
    elif channel == "amazon":
        from sandbox.amazon.config import (
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            DEFAULT_REFRESH_TOKEN,
            DEFAULT_SELLER_ID,
        )

        credentials = {"sellerId": DEFAULT_SELLER_ID, "marketplaceId": "ATVPDKIKX0DER",
                       "clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
                       "refreshToken": DEFAULT_REFRESH_TOKEN}
    else:
        raise ValueError(f"no sandbox credentials for {channel}")
    return {"name": f"Sandbox {channel}", "credentials": credentials,
            "settings": {"baseUrl": sandbox_url}}


def sandbox_updates(client: BigLedgerClient, sandbox_url: str,
                    connected: Mapping[str, Integration]) -> list[dict[str, Any]]:
    """Inventory updates for two SKUs each shop has sold (read from the ledger's sales
    orders; `soldOn` says which), each at the Shopify shop's first location (asked of the
    sandbox, as a merchant reads it in the Shopify admin): Shopify needs one on every item."""
    from bigledger.demo import _shopify_locations

    location = None
    if "shopify" in connected:
        location = f"shopify_location_{_shopify_locations(sandbox_url)[0]['id']}"
    updates = []
    for channel, integration in connected.items():
        orders = client.ledger.sales_orders(integration_id=integration.id, page_size=5)
        skus = list(dict.fromkeys(line["sku"] for order in orders.items
                                  for line in order["lines"] if line["sku"]))[:2]
        updates += [{"sku": sku, "availableQuantity": 40 + 5 * n, "soldOn": channel,
                     **({"locationId": location} if location else {})}
                    for n, sku in enumerate(skus)]
    return updates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", default=",".join(RUNNABLE_CHANNELS),
                        help="comma-separated channels (the spec's: shopify,amazon,woocommerce)")
    channels = [c for c in parser.parse_args(argv).channels.split(",") if c]
    sandbox_url = sandbox_url_from_env()
    with client_from_env() as client:
        connected = connect_channels(client, sandbox_url, channels)
        updates = sandbox_updates(client, sandbox_url, connected)
        if not updates:
            print("the channels have no sales orders yet: run their order syncs first "
                  "(`make demo` does)")
            return 1
        print(f"{len(updates)} stock levels to {', '.join(channels)}: "
              + ", ".join(f"{u['sku']}={u['availableQuantity']}" for u in updates))
        try:
            results = sync_inventory_multi_channel(client, updates, channels)
        except NotFoundError as exc:
            print(f"refused: {exc}")
            return 1
        for channel, sync in zip(channels, results, strict=True):
            done = client.wait_for_sync(sync, timeout=300)
            print(f"{channel}: sync {done.sync_id} {done.status}")
            for line in _outcomes(done):
                print(f"   {line}")
    return 0


def _outcomes(sync: Sync) -> list[str]:
    """One line per SKU (and location): its new level or its error code."""
    rows = sync.results or [r for c in (sync.get("channels") or []) for r in c["results"]]
    return [f"{r['sku']}{'@' + str(r['location']) if r.get('location') else ''} -> "
            + (f"{r.get('newQuantity', r.get('quantity'))}" if r["applied"]
               else (r.get("error") or {}).get("code", "?"))
            for r in rows]


if __name__ == "__main__":
    raise SystemExit(main())
