"""WooCommerce flows. `woocommerce-sync-orders`: orders from the REST API v3 into the ledger.

With a dateRange it syncs the orders created in it (page by page, oldest id first, resumable
by page); without one it is incremental: every order modified since the stream's high-water
mark, less a lookback, re-read from page one each run (duplicates are harmless upserts).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from flows.common import closing_on_error, high_water, pipeline
from flows.params import DateRange
from tasks.extract import (
    count_woocommerce_orders,
    extract_woocommerce_collection,
    extract_woocommerce_orders,
    woocommerce_store_currency,
)
from tasks.load import load_customers, load_orders, load_products
from tasks.map import map_records, map_woocommerce
from tasks.sync_runs import (
    finish_sync_run,
    open_sync_run,
    read_stream_cursor,
    set_records_to_process,
)

ORDERS_STREAM = "woocommerce.orders"
LOOKBACK = timedelta(minutes=5)
WooOrderStatus = Literal["any", "pending", "processing", "on-hold", "completed", "cancelled",
                         "refunded", "failed"]


@flow(name="woocommerce-sync-orders", log_prints=False, validate_parameters=True)
def sync_orders(
    integration_id: str,
    date_range: DateRange | None = None,
    order_status: list[WooOrderStatus] | None = None,
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 500,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Sync WooCommerce orders into the ledger: sales orders with their line, tax, shipping,
    fee and coupon lines, customers and balanced journal entries, idempotently.

    Args:
        integration_id: BigLedger integration id (int_woocommerce_...); its keys are loaded
            from the ledger, never passed here.
        date_range: Orders created in this range. Empty: incremental, every order modified
            since the last sync.
        order_status: Statuses to include (processing, completed, ...). Empty: all.
        batch_size: Orders per batch (one extract, map and load task run each), 1-1000.
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    logger = get_run_logger()
    parameters = {
        "dateRange": date_range.model_dump(mode="json", by_alias=True) if date_range else None,
        "orderStatus": order_status, "batchSize": batch_size,
    }
    run = open_sync_run(integration_id, "woocommerce.sync_orders", parameters, sync_id,
                        flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        order_filter: dict[str, Any] = {"statuses": order_status or []}
        incremental = date_range is None
        if incremental:
            mark = read_stream_cursor(integration_id, ORDERS_STREAM)
            if mark:
                order_filter["modified_from"] = datetime.fromisoformat(mark) - LOOKBACK
        else:
            order_filter.update(created_from=date_range.from_, created_to=date_range.to)
        total = count_woocommerce_orders(integration_id, order_filter)
        set_records_to_process(sync_id, total)
        logger.info("sync %s: %d orders to process", sync_id, total)
        progress = create_progress_artifact(progress=0.0,
                                            description=f"WooCommerce orders of {sync_id}")

        def fetch(page: str | None):
            return extract_woocommerce_orders.submit(integration_id, order_filter, page,
                                                     batch_size)

        def process(page: dict[str, Any]) -> None:
            records = page["records"]
            mapped = map_records(integration_id, "woocommerce.order", quote(records))
            mark = high_water(records, "date_modified_gmt") if incremental else None
            load_orders(integration_id, sync_id, "woocommerce.order", quote(mapped),
                        resume_cursor=page["end_cursor"],
                        stream_cursor=(ORDERS_STREAM, mark) if mark else None)

        # A range sync resumes at the page after its last committed batch.
        pipeline(fetch, process, None if incremental else run["resume_cursor"], total,
                 progress)
    return finish_sync_run(sync_id)


@flow(name="woocommerce-sync-catalog", log_prints=False, validate_parameters=True)
def sync_catalog(
    integration_id: str,
    kind: Literal["products", "customers"] = "products",
    sync_type: Literal["incremental", "full"] = "incremental",
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 250,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Sync WooCommerce products (with variations and stock) or customers into the ledger.

    Args:
        integration_id: BigLedger integration id (int_woocommerce_...).
        kind: products or customers.
        sync_type: incremental (modified since the last sync) or full.
        batch_size: Records per batch (one extract, map and load task run each), 1-1000.
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    stream = f"woocommerce.{kind}"
    run = open_sync_run(integration_id, f"woocommerce.sync_{kind}",
                        {"kind": kind, "syncType": sync_type, "batchSize": batch_size},
                        sync_id, flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        flt: dict[str, Any] = {}
        mark = read_stream_cursor(integration_id, stream) if sync_type == "incremental" else None
        if mark:
            flt["modified_from"] = datetime.fromisoformat(mark) - LOOKBACK
        currency = woocommerce_store_currency(integration_id) if kind == "products" else None
        progress = create_progress_artifact(progress=0.0,
                                            description=f"WooCommerce {kind} of {sync_id}")

        def fetch(page: str | None):
            return extract_woocommerce_collection.submit(integration_id, kind, flt, page,
                                                         batch_size)

        def process(page: dict[str, Any]) -> None:
            mapped = map_woocommerce(kind, quote(page["records"]), currency)
            mark = high_water(page["records"], "date_modified_gmt")
            cursor = (stream, mark) if mark else None
            if kind == "products":
                load_products(integration_id, sync_id, quote(mapped), True,
                              resume_cursor=page["end_cursor"], stream_cursor=cursor)
            else:
                load_customers(integration_id, sync_id, quote(mapped),
                               resume_cursor=page["end_cursor"], stream_cursor=cursor)

        pipeline(fetch, process, None, 0, progress)
    return finish_sync_run(sync_id)
