"""Shopify bulk operations as tasks: start, wait, download to disk, then read it back one
batch per task run from a byte offset — so a large backfill runs in flat memory and a killed
run resumes at its last committed batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from bigledger.settings import get_settings
from connectors.shopify_bulk import regroup_orders
from tasks.connections import connector_for, load_integration
from tasks.retry import retry_if_transient

OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


def bulk_file(sync_id: str) -> Path:
    """Where a sync's bulk result is kept until the sync is done."""
    folder = get_settings().home / "bulk"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{sync_id}.jsonl"


@task(name="run-shopify-bulk-orders", retries=2, retry_delay_seconds=[10, 60],
      retry_condition_fn=retry_if_transient, **OPTIONS)
def run_shopify_bulk_orders(integration_id: str, order_filter: dict[str, Any],
                            sync_id: str) -> str:
    """Start a bulk query of the filter's orders, wait for it, and save its JSONL to disk."""
    from connectors.shopify import OrderFilter

    connector = connector_for(load_integration(integration_id))
    operation = connector.start_bulk_orders(OrderFilter(**order_filter))
    done = connector.poll_bulk(operation)
    path = bulk_file(sync_id)
    if done.get("url"):
        connector.download_bulk(done["url"], str(path))
    else:
        path.write_bytes(b"")  # nothing matched
    return str(path)


@task(name="read-shopify-bulk-batch", **OPTIONS)
def read_bulk_batch(path: str, offset: str | None, batch_size: int) -> dict[str, Any]:
    """The next `batch_size` complete orders from a byte offset; the cursor is the offset of
    the first order not read, always at an order's own line (children follow their order)."""
    lines: list[bytes] = []
    orders = 0
    with open(path, "rb") as f:
        f.seek(int(offset or 0))
        while True:
            position = f.tell()
            raw = f.readline()
            if not raw:
                return _batch(lines, position, has_next=False)
            if b'"__parentId"' not in raw and raw.strip():
                if orders == batch_size:
                    return _batch(lines, position, has_next=True)
                orders += 1
            lines.append(raw)


def _batch(lines: list[bytes], position: int, has_next: bool) -> dict[str, Any]:
    records = [order for batch in regroup_orders(lines, batch_size=len(lines) + 1)
               for order in batch]
    return {"records": records, "end_cursor": str(position), "has_next_page": has_next}
