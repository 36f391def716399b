"""Shopify bulk operations as tasks: start, wait, download to disk, then read it back one
batch per task run from a byte offset — so a large backfill runs in flat memory and a killed
run resumes at its last committed batch."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from bigledger.settings import get_settings
from connectors.shopify_bulk import regroup_orders
from tasks.connections import connector_for, load_integration
from tasks.retry import retry_if_transient

OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


def bulk_file(sync_id: str, part: int = 0) -> Path:
    """Where a sync's bulk result (one file per slice) is kept until it is loaded."""
    folder = get_settings().home / "bulk"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{sync_id}-{part}.jsonl"


# A slice of this many orders (or fewer) per bulk operation: the first slice's file is ready
# soon, and each later one is built by Shopify while the one before it is loaded.
BULK_SLICE_ORDERS = 25_000
MAX_BULK_SLICES = 10


def slice_bounds(first: datetime, last: datetime, total: int) -> list[tuple[int, int]]:
    """Split [first, last] (whole seconds) into contiguous, non-overlapping inclusive ranges of
    epoch seconds, one per bulk operation, about BULK_SLICE_ORDERS orders each if the orders
    are spread evenly in time."""
    lo, hi = int(first.timestamp()), int(last.timestamp())
    slices = max(1, min(MAX_BULK_SLICES, -(-total // BULK_SLICE_ORDERS), hi - lo + 1))
    edges = [lo + (hi - lo + 1) * k // slices for k in range(slices)] + [hi + 1]
    return [(edges[k], edges[k + 1] - 1) for k in range(slices)]


@task(name="plan-shopify-bulk-slices", retries=2, retry_delay_seconds=[5, 30],
      retry_condition_fn=retry_if_transient, **OPTIONS)
def plan_bulk_slices(integration_id: str, order_filter: dict[str, Any],
                     total: int) -> list[tuple[int, int]]:
    """The created_at slices (epoch seconds, inclusive) a backfill's bulk operations cover."""
    from connectors.shopify import OrderFilter

    connector = connector_for(load_integration(integration_id))
    bounds = connector.order_created_bounds(OrderFilter(**order_filter))
    if bounds is None:
        return []
    return slice_bounds(bounds[0], bounds[1], total)


def slice_filter(order_filter: dict[str, Any], bounds: tuple[int, int]) -> dict[str, Any]:
    """The order filter narrowed to one slice (Shopify times have whole seconds, so the
    inclusive slices neither overlap nor leave a gap)."""
    return {**order_filter,
            "created_from": datetime.fromtimestamp(bounds[0], UTC),
            "created_to": datetime.fromtimestamp(bounds[1], UTC)}


@task(name="start-shopify-bulk-orders", retries=2, retry_delay_seconds=[10, 60],
      retry_condition_fn=retry_if_transient, **OPTIONS)
def start_bulk_orders(integration_id: str, order_filter: dict[str, Any]) -> str:
    """Start a bulk query of the filter's orders; Shopify runs it while we do other work."""
    from connectors.shopify import OrderFilter

    connector = connector_for(load_integration(integration_id))
    return connector.start_bulk_orders(OrderFilter(**order_filter))


@task(name="download-shopify-bulk-orders", retries=2, retry_delay_seconds=[10, 60],
      retry_condition_fn=retry_if_transient, **OPTIONS)
def download_bulk_orders(integration_id: str, operation_id: str, path: str) -> str:
    """Wait for a bulk operation and stream its JSONL to `path` (empty when nothing matched)."""
    connector = connector_for(load_integration(integration_id))
    done = connector.poll_bulk(operation_id)
    # Written under a temporary name and renamed when whole: a resumed run must never read a
    # half-downloaded file as if it were complete.
    partial = f"{path}.part"
    if done.get("url"):
        connector.download_bulk(done["url"], partial)
    else:
        Path(partial).write_bytes(b"")
    os.replace(partial, path)
    return path


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
