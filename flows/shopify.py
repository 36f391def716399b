"""Shopify flows. `shopify-sync-orders`: orders from the GraphQL Admin API into the ledger.

With a dateRange it syncs the orders created in that range; without one it is incremental,
fetching what changed since the stream's high-water mark. Pages are fetched one task run
each, the next page is fetched while the current one is mapped and loaded, and each batch
commits with its counters and resume cursor, so a killed run continues where it stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from bigledger.settings import get_settings
from flows.common import closing_on_error, high_water, pipeline
from flows.params import (
    DateRange,
    InventoryUpdate,
    ShopifyFinancialStatus,
    ShopifyFulfillmentStatus,
    shopify_order_filter,
)
from tasks.bulk import (
    bulk_file,
    download_bulk_orders,
    plan_bulk_slices,
    read_bulk_batch,
    slice_filter,
    start_bulk_orders,
)
from tasks.extract import (
    count_shopify_orders,
    count_shopify_products,
    extract_shopify_customers,
    extract_shopify_orders,
    extract_shopify_product_deletions,
    extract_shopify_products,
    shopify_shop_currency,
)
from tasks.inventory import push_shopify_inventory, record_inventory_results
from tasks.load import load_customers, load_orders, load_products, mark_deleted_products
from tasks.map import map_products, map_records, map_shopify_customers
from tasks.sync_runs import (
    add_sync_counters,
    finish_sync_run,
    open_sync_run,
    read_stream_cursor,
    set_records_to_process,
)

ORDERS_STREAM = "shopify.orders"
# Shopify's search index trails its writes a little: incremental syncs re-read this much.
INCREMENTAL_LOOKBACK_SECONDS = 300


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
    with closing_on_error(sync_id):
        order_filter, incremental = _order_filter(
            integration_id, date_range, order_status, fulfillment_status
        )
        total = count_shopify_orders(integration_id, order_filter)
        set_records_to_process(sync_id, total)
        logger.info("sync %s: %d orders to process", sync_id, total)
        progress = create_progress_artifact(
            progress=0.0, description=f"Shopify orders of {sync_id}"
        )
        resume = run["resume_cursor"]
        first_sync = incremental and "updated_from" not in order_filter
        if (not incremental or first_sync) and (
                total >= get_settings().shopify_bulk_threshold
                or (resume or "").startswith(BULK_CURSOR)):
            # A big backfill: one bulk query instead of ~11 orders per request.
            _run_bulk(integration_id, sync_id, order_filter, incremental, batch_size, resume,
                      total, progress)
        else:
            # A range sync resumes after its last committed page; an incremental one resumes
            # from the high-water mark its batches committed, so it needs no page cursor.
            after = None if incremental else resume
            _run_pages(integration_id, sync_id, order_filter, incremental, batch_size, after,
                       total, progress)
    return finish_sync_run(sync_id)


def _order_filter(
    integration_id: str, date_range: DateRange | None,
    order_status: list[str] | None, fulfillment_status: list[str] | None,
) -> tuple[dict[str, Any], bool]:
    """The connector filter: a created_at range, or updated_at since the high-water mark."""
    mark = None if date_range is not None else read_stream_cursor(integration_id, ORDERS_STREAM)
    return shopify_order_filter(date_range, order_status, fulfillment_status, mark)


BULK_CURSOR = "bulk:"
# Read-back batches from a bulk file cost no API requests, so they can be small: 250 orders
# keep a 100,000-order backfill under 200 MB (measured: 196 MB; 202 MB at 500, 214 at 1000).
BULK_BATCH_CAP = 250


def _bulk_cursor(plan: list[tuple[int, int]], part: int, offset: str) -> str:
    """'bulk:<slice>:<byte offset>:<slices as from-to epoch seconds>' — the plan travels
    with the cursor, so a resumed run slices exactly as the killed one did."""
    return f"{BULK_CURSOR}{part}:{offset}:" + ",".join(f"{a}-{b}" for a, b in plan)


def _parse_bulk_cursor(value: str | None) -> tuple[list[tuple[int, int]], int, str] | None:
    try:
        part, offset, plan = value.removeprefix(BULK_CURSOR).split(":", 2)  # type: ignore
        slices = [tuple(int(x) for x in span.split("-", 1)) for span in plan.split(",")]
        return slices, int(part), offset  # type: ignore[return-value]
    except (AttributeError, ValueError):
        return None


def _run_bulk(
    integration_id: str, sync_id: str, order_filter: dict[str, Any], incremental: bool,
    batch_size: int, resume: str | None, total: int, progress_id: Any,
) -> None:
    """Orders from bulk operations, one per created_at slice, relayed: while slice n is read
    back and loaded batch by batch, Shopify already builds slice n+1's file. The resume
    cursor names the slice and the byte offset of its next order."""
    resumed = _parse_bulk_cursor(resume)
    if resumed:
        plan, first_part, offset = resumed
    else:
        plan, first_part, offset = plan_bulk_slices(integration_id, order_filter, total), 0, "0"
    if first_part >= len(plan):
        return
    path = bulk_file(sync_id, first_part)
    if offset == "0" or not path.exists():
        operation = start_bulk_orders(integration_id,
                                      slice_filter(order_filter, plan[first_part]))
        add_sync_counters(sync_id, {"bulkOperations": 1})
        path = Path(download_bulk_orders(integration_id, operation, str(path)))
        offset = "0"
    marks: list[str] = []
    done = 0
    for part in range(first_part, len(plan)):
        following = None
        if part + 1 < len(plan):
            following = start_bulk_orders(integration_id,
                                          slice_filter(order_filter, plan[part + 1]))
            add_sync_counters(sync_id, {"bulkOperations": 1})
        last_slice = following is None

        def fetch(cursor: str | None, path: Path = path):
            return read_bulk_batch.submit(str(path), cursor, min(batch_size, BULK_BATCH_CAP))

        def process(page: dict[str, Any], part: int = part, last_slice: bool = last_slice):
            records = page["records"]
            mapped = map_records(integration_id, "shopify.order", quote(records))
            if incremental and records:
                marks.append(high_water(records))
            records.clear()  # the raw orders are mapped: free them while the batch loads
            # The stream's mark moves once, with the very last batch: slices run in created
            # order, so an earlier batch's updatedAt mark could skip orders still to come.
            final = last_slice and not page["has_next_page"]
            mark = max(marks) if final and marks else None
            cursor = (_bulk_cursor(plan, part, page["end_cursor"]) if page["has_next_page"]
                      else _bulk_cursor(plan, part + 1, "0"))
            load_orders(integration_id, sync_id, "shopify.order", quote(mapped),
                        resume_cursor=cursor,
                        stream_cursor=(ORDERS_STREAM, mark) if mark else None)

        done = pipeline(fetch, process, None if offset == "0" else offset, total, progress_id,
                        done=done, process_last_page=True)
        path.unlink(missing_ok=True)
        if following is not None:
            path = Path(download_bulk_orders(integration_id, following,
                                             str(bulk_file(sync_id, part + 1))))
            offset = "0"


def _run_pages(
    integration_id: str, sync_id: str, order_filter: dict[str, Any], incremental: bool,
    batch_size: int, after: str | None, total: int, progress_id: Any,
) -> None:
    """Orders batch by batch; each load commits its cursor."""

    def fetch(cursor: str | None):
        return extract_shopify_orders.submit(integration_id, order_filter, cursor, batch_size)

    def process(page: dict[str, Any]) -> None:
        records = page["records"]
        mapped = map_records(integration_id, "shopify.order", quote(records))
        mark = high_water(records) if incremental else None
        records.clear()  # the raw orders are mapped: free them while the batch loads
        load_orders(
            integration_id, sync_id, "shopify.order", quote(mapped),
            resume_cursor=page["end_cursor"],
            stream_cursor=(ORDERS_STREAM, mark) if mark else None,
        )

    pipeline(fetch, process, after, total, progress_id)


PRODUCTS_STREAM = "shopify.products"
PRODUCT_DELETIONS_STREAM = "shopify.product_deletions"


@flow(name="shopify-sync-products", log_prints=False, validate_parameters=True)
def sync_products(
    integration_id: str,
    sync_type: Literal["incremental", "full"] = "incremental",
    include_variants: bool = True,
    include_inventory: bool = True,
    published_status: Literal["published", "unpublished", "any"] = "any",
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 250,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Sync Shopify products, variants (SKU, price, barcode, weight) and stock per location
    into the ledger; products deleted upstream are marked deleted, never erased.

    Args:
        integration_id: BigLedger integration id (int_shopify_...).
        sync_type: incremental (what changed since the last sync) or full (everything).
        include_variants: Fetch and store variants.
        include_inventory: Fetch and store stock levels per location (needs variants).
        published_status: Only published, only unpublished, or any product.
        batch_size: Products per batch (one extract, map and load task run each), 1-1000.
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    logger = get_run_logger()
    parameters = {"syncType": sync_type, "includeVariants": include_variants,
                  "includeInventory": include_inventory, "publishedStatus": published_status,
                  "batchSize": batch_size}
    run = open_sync_run(integration_id, "shopify.sync_products", parameters, sync_id,
                        flow_run.get_id())
    sync_id = run["id"]
    include_inventory = include_inventory and include_variants
    with closing_on_error(sync_id):
        mark = (read_stream_cursor(integration_id, PRODUCTS_STREAM)
                if sync_type == "incremental" else None)
        product_filter: dict[str, Any] = {"published_status": published_status,
                                          "sort_key": "UPDATED_AT"}
        if mark:
            product_filter["updated_from"] = (datetime.fromisoformat(mark)
                                              - timedelta(seconds=INCREMENTAL_LOOKBACK_SECONDS))
        total = count_shopify_products(integration_id, product_filter)
        set_records_to_process(sync_id, total)
        logger.info("sync %s: %d products to process", sync_id, total)
        currency = shopify_shop_currency(integration_id)
        progress = create_progress_artifact(progress=0.0,
                                             description=f"Shopify products of {sync_id}")

        def fetch(cursor: str | None):
            return extract_shopify_products.submit(integration_id, product_filter, cursor,
                                                   batch_size, include_variants,
                                                   include_inventory)

        def process(page: dict[str, Any]) -> None:
            mapped = map_products(quote(page["records"]), currency)
            mark = high_water(page["records"])
            load_products(integration_id, sync_id, quote(mapped), include_variants,
                          resume_cursor=page["end_cursor"],
                          stream_cursor=(PRODUCTS_STREAM, mark) if mark else None)

        pipeline(fetch, process, None, total, progress)
        since = (read_stream_cursor(integration_id, PRODUCT_DELETIONS_STREAM)
                 if sync_type == "incremental" else None)
        events = extract_shopify_product_deletions(integration_id, since)
        mark_deleted_products(integration_id, sync_id, events, PRODUCT_DELETIONS_STREAM)
    return finish_sync_run(sync_id)


@flow(name="shopify-update-inventory", log_prints=False, validate_parameters=True)
def update_inventory(
    integration_id: str,
    items: Annotated[list[InventoryUpdate], Field(min_length=1, max_length=500)],
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Set or adjust Shopify stock per SKU and location; each item gets its own result
    (applied with the new quantity, or its error), and the ledger's stock follows.

    Args:
        integration_id: BigLedger integration id (int_shopify_...).
        items: The stock changes: sku, locationId, quantity, updateType (set | adjust).
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    payload = [i.model_dump(by_alias=True) for i in items]
    run = open_sync_run(integration_id, "shopify.update_inventory", {"items": payload},
                        sync_id, flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        set_records_to_process(sync_id, len(payload))
        results = push_shopify_inventory(integration_id, payload)
        record_inventory_results(integration_id, sync_id, results)
    return finish_sync_run(sync_id)


CUSTOMERS_STREAM = "shopify.customers"


@flow(name="shopify-sync-customers", log_prints=False, validate_parameters=True)
def sync_customers(
    integration_id: str,
    sync_type: Literal["incremental", "full"] = "incremental",
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 500,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Sync Shopify customers from their own query; a customer already met in orders is the
    same ledger customer (matched by Shopify id, then by email).

    Args:
        integration_id: BigLedger integration id (int_shopify_...).
        sync_type: incremental (updated since the last sync) or full.
        batch_size: Customers per batch (one extract, map and load task run each), 1-1000.
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    run = open_sync_run(integration_id, "shopify.sync_customers",
                        {"syncType": sync_type, "batchSize": batch_size}, sync_id,
                        flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        flt: dict[str, Any] = {"sort_key": "UPDATED_AT"}
        mark = (read_stream_cursor(integration_id, CUSTOMERS_STREAM)
                if sync_type == "incremental" else None)
        if mark:
            flt["updated_from"] = datetime.fromisoformat(mark) - timedelta(
                seconds=INCREMENTAL_LOOKBACK_SECONDS)
        progress = create_progress_artifact(progress=0.0,
                                            description=f"Shopify customers of {sync_id}")

        def fetch(cursor: str | None):
            return extract_shopify_customers.submit(integration_id, flt, cursor, batch_size)

        def process(page: dict[str, Any]) -> None:
            mapped = map_shopify_customers(quote(page["records"]))
            mark = high_water(page["records"])
            load_customers(integration_id, sync_id, quote(mapped),
                           resume_cursor=page["end_cursor"],
                           stream_cursor=(CUSTOMERS_STREAM, mark) if mark else None)

        pipeline(fetch, process, None, 0, progress)
    return finish_sync_run(sync_id)
