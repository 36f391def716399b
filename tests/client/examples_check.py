"""The spec's two JavaScript examples, written in Python with the client (examples/), run end
to end against the e2e stack: API, a worker running the flows, Prefect, the sandbox."""

from __future__ import annotations

import httpx
import pytest

from bigledger.client import BigLedgerClient, NotFoundError
from examples import complete_ecommerce_setup, multi_channel_inventory
from examples.complete_ecommerce_setup import setup_shopify_integration
from examples.multi_channel_inventory import (
    RUNNABLE_CHANNELS,
    connect_channels,
    sandbox_updates,
    sync_inventory_multi_channel,
)
from tests.conftest import TEST_API_KEY


def check_the_spec_examples(stack, monkeypatch, capsys) -> None:  # noqa: F811
    """Run by tests/e2e/test_demo_walkthrough.py after the walk-through, on its stack (one
    worker start for both): every deployment is served by then."""
    sandbox = stack["sandbox"]
    base_url = str(stack["api"].base_url).rstrip("/")
    with BigLedgerClient(base_url, TEST_API_KEY) as client:
        # "Complete E-commerce Setup": the four answers, then the historical sync finishes.
        result = setup_shopify_integration(
            client, sandbox.url, webhook_endpoint="http://127.0.0.1:9/webhooks/shopify")
        integration = result["integration"]
        assert integration.name == "Main Store" and integration.platform == "shopify"
        assert integration.settings["defaultTaxCode"] == "SST"
        started = result["historicalSync"]
        assert started.status == "processing" and started.orders_to_process > 0
        assert started.parameters["orderStatus"] == ["paid", "partially_paid"]
        assert result["webhook"].events == ["order.created", "order.updated",
                                            "product.updated"]
        schedule = result["schedule"]
        assert [s.operation for s in schedule.schedules] == ["sync_orders", "sync_inventory"]
        assert {s.deployment for s in schedule.schedules} == {
            "shopify-sync-orders/default", "shopify-sync-products/default"}
        done = client.wait_for_sync(started, timeout=240, interval=0.5)
        assert done.status == "completed", done.error
        assert done.orders_processed == done.orders_created == started.orders_to_process
        assert client.ledger.trial_balance()["balanced"] is True
        status = client.integrations.status(integration.id)
        assert status.sync_frequency == "hourly" and status.last_sync is not None

        # The runnable script: configured from the environment, follows its sync to the end.
        env = {"BIGLEDGER_API_URL": base_url, "BIGLEDGER_API_KEY": TEST_API_KEY,
               "BIGLEDGER_SANDBOX_URL": sandbox.url,
               "BIGLEDGER_WEBHOOK_ENDPOINT": "http://127.0.0.1:9/webhooks/shopify"}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert complete_ecommerce_setup.main() == 0
        out = capsys.readouterr().out
        assert "historical sync completed: orders processed" in out, out
        newest = out.split("integration ", 1)[1].split(" ", 1)[0]

        # "Multi-Channel Inventory Management" finds each channel's integration by platform.
        r = httpx.post(f"{sandbox.url}/__sandbox/woocommerce/control", timeout=10,
                       json={"dataset": {"seed": 5, "size": 60}, "clear_faults": True})
        assert r.status_code == 200, r.text
        connected = connect_channels(client, sandbox.url, RUNNABLE_CHANNELS)
        assert connected["shopify"].id == newest  # the newest of the shop's integrations
        woo = client.integrations.woocommerce.sync_orders(
            connected["woocommerce"].id, date_range={"from": "2024-01-01", "to": "2030-12-31"})
        assert client.wait_for_sync(woo, timeout=240).status == "completed"
        updates = sandbox_updates(client, sandbox.url, connected)
        assert {u["soldOn"] for u in updates} == {"shopify", "woocommerce"}
        results = sync_inventory_multi_channel(client, updates, RUNNABLE_CHANNELS)
        shopify_sync, woo_sync = [client.wait_for_sync(r, timeout=240) for r in results]
        assert shopify_sync.operation == "shopify.update_inventory"
        # Each shop sets the levels of its own SKUs and names the other's unknown.
        by_sku = {r["sku"]: r for r in shopify_sync.results}
        for update in updates:
            outcome = by_sku[update["sku"]]
            if update["soldOn"] == "shopify":
                assert outcome["applied"], outcome
                assert outcome["newQuantity"] == update["availableQuantity"], outcome
            else:
                assert outcome["error"]["code"] == "UNKNOWN_SKU", outcome
        (channel,) = woo_sync["channels"]
        applied = {r["sku"]: r["quantity"] for r in channel["results"] if r["applied"]}
        assert applied == {u["sku"]: u["availableQuantity"] for u in updates
                           if u["soldOn"] == "woocommerce"}, channel
        # The spec's channel list includes Amazon, which has no stock push in the API yet.
        connect_channels(client, sandbox.url, ["amazon"])
        with pytest.raises(NotFoundError):
            sync_inventory_multi_channel(client, updates[:1], ["amazon"])

        assert multi_channel_inventory.main([]) == 0
        out = capsys.readouterr().out
        assert "shopify: sync" in out and "woocommerce: sync" in out, out
