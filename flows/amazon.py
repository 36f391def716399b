"""Amazon flows on the Selling Partner API.

`amazon-sync-orders`: getOrders (NextToken) with getOrderItems per order, paced within the
operations' published rate and burst limits, posted like the other channels (the order total
to the Amazon clearing account).

`amazon-sync-fees`: the V2 settlement reports Amazon publishes once per settlement period:
each document downloaded, parsed by header name and posted as one journal entry when its
lines add up to its total-amount to the cent (flagged and not posted otherwise). With the
orders synced, the Amazon clearing account empties as each settlement is deposited.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from flows.common import closing_on_error, high_water, pipeline
from flows.params import DateRange
from tasks.extract import extract_amazon_orders
from tasks.load import load_orders
from tasks.map import map_records
from tasks.settlements import (
    download_settlement_report,
    list_settlement_reports,
    post_settlement_report,
)
from tasks.sync_runs import (
    finish_sync_run,
    open_sync_run,
    read_stream_cursor,
    record_sync_result,
)

ORDERS_STREAM = "amazon.orders"
REPORTS_STREAM = "amazon.settlement_reports"
LOOKBACK = timedelta(minutes=10)
# Reports are kept 90 days; a settlement's report appears a day or so after its period ends.
REPORT_RETENTION = timedelta(days=89)
REPORT_DELAY = timedelta(days=7)
AmazonOrderStatus = Literal["PendingAvailability", "Pending", "Unshipped", "PartiallyShipped",
                            "Shipped", "InvoiceUnconfirmed", "Canceled", "Unfulfillable",
                            "Delivered"]


@flow(name="amazon-sync-orders", log_prints=False, validate_parameters=True)
def sync_orders(
    integration_id: str,
    date_range: DateRange | None = None,
    order_status: list[AmazonOrderStatus] | None = None,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Sync Amazon orders (with their items) into the ledger.

    Args:
        integration_id: BigLedger integration id (int_amazon_...); its LWA credentials are
            loaded from the ledger, never passed here.
        date_range: Orders created in this range. Empty: incremental, every order updated
            since the last sync.
        order_status: Amazon order statuses to include (Shipped, Unshipped, ...). Empty: all.
            "Delivered" (the spec's example) is not an Amazon status: it reads as Shipped.
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    logger = get_run_logger()
    parameters = {
        "dateRange": date_range.model_dump(mode="json", by_alias=True) if date_range else None,
        "orderStatus": order_status,
    }
    run = open_sync_run(integration_id, "amazon.sync_orders", parameters, sync_id,
                        flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        statuses = sorted({"Shipped" if s == "Delivered" else s for s in order_status or []})
        order_filter: dict[str, Any] = {"statuses": statuses}
        incremental = date_range is None
        if incremental:
            mark = read_stream_cursor(integration_id, ORDERS_STREAM)
            order_filter["updated_after"] = (datetime.fromisoformat(mark) - LOOKBACK if mark
                                             else datetime.now(UTC) - timedelta(days=30))
        else:
            order_filter.update(created_after=date_range.from_, created_before=date_range.to)
        logger.info("sync %s: Amazon orders %s", sync_id, order_filter)
        progress = create_progress_artifact(progress=0.0,
                                            description=f"Amazon orders of {sync_id}")

        def fetch(next_token: str | None):
            return extract_amazon_orders.submit(integration_id, order_filter, next_token)

        def process(page: dict[str, Any]) -> None:
            records = page["records"]
            mapped = map_records(integration_id, "amazon.order", quote(records))
            mark = high_water(records, "LastUpdateDate") if incremental else None
            load_orders(integration_id, sync_id, "amazon.order", quote(mapped),
                        resume_cursor=None if incremental else page["end_cursor"],
                        stream_cursor=(ORDERS_STREAM, mark) if mark else None)

        pipeline(fetch, process, None if incremental else run["resume_cursor"], 0, progress)
    return finish_sync_run(sync_id)


@flow(name="amazon-sync-fees", log_prints=False, validate_parameters=True)
def sync_fees(
    integration_id: str,
    date_range: DateRange | None = None,
    report_type: Literal["settlement"] = "settlement",
    max_reports: Annotated[int, Field(ge=1, le=500)] = 100,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Reconcile Amazon settlements: fees, refunds, reserves and the deposit, posted per
    settlement when it ties out to the cent.

    Args:
        integration_id: BigLedger integration id (int_amazon_...).
        date_range: Settlements whose period ends in this range. Empty: every settlement
            report published since the last sync (the first one: the last 90 days).
        report_type: settlement (the V2 flat-file settlement report).
        max_reports: At most this many reports per run (the oldest first).
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    logger = get_run_logger()
    parameters = {
        "dateRange": date_range.model_dump(mode="json", by_alias=True) if date_range else None,
        "reportType": report_type,
    }
    run = open_sync_run(integration_id, "amazon.sync_fees", parameters, sync_id,
                        flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        now = datetime.now(UTC)
        oldest = now - REPORT_RETENTION
        if date_range is None:
            mark = read_stream_cursor(integration_id, REPORTS_STREAM)
            since = max(datetime.fromisoformat(mark) - LOOKBACK, oldest) if mark else oldest
            until = None
        else:
            since = max(date_range.from_, oldest)
            until = min(date_range.to + REPORT_DELAY, now)
        reports = list_settlement_reports(integration_id, since, until)
        if date_range is not None:
            reports = [r for r in reports if _in_range(r.get("dataEndTime"), date_range)]
        reports = sorted(reports, key=lambda r: r.get("createdTime") or "")[:max_reports]
        logger.info("sync %s: %d settlement reports", sync_id, len(reports))
        progress = create_progress_artifact(progress=0.0,
                                            description=f"Amazon settlements of {sync_id}")
        rows: list[dict[str, Any]] = []
        # Download the next report while this one is posted (Amazon's document links expire
        # after five minutes, so each is fetched just before it is needed).
        pending = (download_settlement_report.submit(integration_id,
                                                     reports[0]["reportDocumentId"])
                   if reports else None)
        for n, report in enumerate(reports):
            content = pending.result()
            if n + 1 < len(reports):
                pending = download_settlement_report.submit(
                    integration_id, reports[n + 1]["reportDocumentId"])
            mark = report.get("createdTime") if date_range is None else None
            rows.extend(post_settlement_report(
                integration_id, sync_id, report["reportId"], quote(content),
                stream_cursor=(REPORTS_STREAM, mark) if mark else None))
            update_progress_artifact(progress, progress=100.0 * (n + 1) / len(reports))
        create_table_artifact(
            key=f"{sync_id.replace('_', '-').lower()}-reconciliation",
            table=rows or [{"settlementId": None, "status": "no settlement reports"}],
            description=f"Amazon settlement reconciliation of {sync_id}: posted when the lines "
                        "add up to total-amount to the cent")
        record_sync_result(sync_id, rows, {"reportsProcessed": len(reports)})
    return finish_sync_run(sync_id)


def _in_range(stamp: str | None, date_range: DateRange) -> bool:
    if not stamp:
        return True  # keep what we cannot place; the ledger load is idempotent anyway
    value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return date_range.from_ <= value <= date_range.to
