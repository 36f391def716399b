"""Shopify flows. `shopify-sync-orders`: orders from the GraphQL Admin API into the ledger.

With a dateRange it syncs the orders created in that range; without one it is incremental,
fetching what changed since the stream's high-water mark. Pages are fetched one task run
each, the next page is fetched while the current one is mapped and loaded, and each batch
commits with its counters and resume cursor, so a killed run continues where it stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from bigledger.errors import IntegrationError
from flows.params import (
    DateRange,
    ShopifyFinancialStatus,
    ShopifyFulfillmentStatus,
    shopify_order_filter,
)
from tasks.extract import count_shopify_orders, extract_shopify_orders
from tasks.load import load_orders
from tasks.map import map_records
from tasks.sync_runs import (
    finish_sync_run,
    open_sync_run,
    read_stream_cursor,
    set_records_to_process,
)

ORDERS_STREAM = "shopify.orders"


@flow(name="shopify-sync-orders", log_prints=False, validate_parameters=True)
def sync_orders(
    integration_id: str,
    date_range: DateRange | None = None,
    order_status: list[ShopifyFinancialStatus] | None = None,
    fulfillment_status: list[ShopifyFulfillmentStatus] | None = None,
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 500,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Sync Shopify orders into the ledger: sales orders, customers and balanced journal
    entries, idempotently.

    Args:
        integration_id: BigLedger integration id (int_shopify_...); its credentials are
            loaded from the ledger, never passed here.
        date_range: Orders created in this range. Empty: incremental, every order updated
            since the last sync.
        order_status: Financial statuses to include (paid, partially_paid, ...). Empty: all.
        fulfillment_status: Fulfillment statuses to include (fulfilled, partial, ...).
            Empty: all.
        batch_size: Orders per batch (one extract, map and load task run each), 1-1000.
            Each batch commits with its cursor, so a killed run loses at most one batch.
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    logger = get_run_logger()
    parameters = {
        "dateRange": date_range.model_dump(mode="json", by_alias=True) if date_range else None,
        "orderStatus": order_status, "fulfillmentStatus": fulfillment_status,
        "batchSize": batch_size,
    }
    run = open_sync_run(integration_id, "shopify.sync_orders", parameters, sync_id,
                        flow_run.get_id())
    sync_id = run["id"]
    try:
        order_filter, incremental = _order_filter(
            integration_id, date_range, order_status, fulfillment_status
        )
        total = count_shopify_orders(integration_id, order_filter)
        set_records_to_process(sync_id, total)
        logger.info("sync %s: %d orders to process", sync_id, total)
        progress = create_progress_artifact(
            progress=0.0, description=f"Shopify orders of {sync_id}"
        )
        # A range sync resumes after its last committed page; an incremental one resumes
        # from the high-water mark its batches committed, so it needs no page cursor.
        after = None if incremental else run["resume_cursor"]
        _run_pages(integration_id, sync_id, order_filter, incremental, batch_size, after,
                   total, progress)
    except IntegrationError as exc:
        finish_sync_run(sync_id, str(exc.code), exc.message)
        raise
    except Exception as exc:
        finish_sync_run(sync_id, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
        raise
    return finish_sync_run(sync_id)


def _order_filter(
    integration_id: str, date_range: DateRange | None,
    order_status: list[str] | None, fulfillment_status: list[str] | None,
) -> tuple[dict[str, Any], bool]:
    """The connector filter: a created_at range, or updated_at since the high-water mark."""
    mark = None if date_range is not None else read_stream_cursor(integration_id, ORDERS_STREAM)
    return shopify_order_filter(date_range, order_status, fulfillment_status, mark)


def _run_pages(
    integration_id: str, sync_id: str, order_filter: dict[str, Any], incremental: bool,
    batch_size: int, after: str | None, total: int, progress_id: Any,
) -> None:
    """Fetch batch n+1 while batch n is mapped and loaded; each load commits its cursor."""
    pending = extract_shopify_orders.submit(integration_id, order_filter, after, batch_size)
    done = 0
    while True:
        page = pending.result()
        if page["has_next_page"]:
            pending = extract_shopify_orders.submit(
                integration_id, order_filter, page["end_cursor"], batch_size
            )
        records = page["records"]
        if records:
            # quote(): Prefect would otherwise walk every nested dict of the batch looking
            # for futures, which costs more than mapping it.
            mapped = map_records(integration_id, "shopify.order", quote(records))
            high_water = _high_water(records) if incremental else None
            load_orders(
                integration_id, sync_id, "shopify.order", quote(mapped),
                resume_cursor=page["end_cursor"],
                stream_cursor=(ORDERS_STREAM, high_water) if high_water else None,
            )
            done += len(records)
            if total:
                update_progress_artifact(progress_id, progress=min(100.0, 100.0 * done / total))
        if not page["has_next_page"]:
            break


def _high_water(records: list[dict]) -> str | None:
    """The newest updatedAt in a page, normalised to UTC ISO 8601."""
    stamps = [r.get("updatedAt") for r in records if r.get("updatedAt")]
    if not stamps:
        return None
    newest = max(datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps)
    return newest.astimezone(UTC).isoformat()
