"""PayPal flows. `paypal-sync-transactions`: Transaction Search into the ledger.

PayPal answers at most 31 days and 10,000 transactions per query and publishes
transactions up to 3 hours late: the connector splits any range into windows it accepts
(halving a window that is still too large), and an incremental sync never moves its mark
past what PayPal says is complete, so a late transaction is read by the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows.common import closing_on_error, pipeline
from flows.params import DateRange
from tasks.payments import (
    excluded_kinds,
    extract_paypal_transactions,
    load_payments,
    map_payments,
)
from tasks.sync_runs import finish_sync_run, open_sync_run, read_stream_cursor

STREAM = "paypal.transactions"
SOURCE_TYPE = "paypal.payment"
LOOKBACK = timedelta(hours=1)
FIRST_SYNC_DAYS = 90


@flow(name="paypal-sync-transactions", log_prints=False, validate_parameters=True)
def sync_transactions(
    integration_id: str,
    date_range: DateRange | None = None,
    include_refunds: bool = True,
    include_chargebacks: bool = True,
    include_fees: bool = True,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Sync PayPal payments, refunds, chargebacks, fees, holds and withdrawals into the ledger.

    Args:
        integration_id: BigLedger integration id (int_paypal_...); its client id and secret
            are loaded from the ledger, never passed here.
        date_range: Transactions initiated in this range (any length: split into windows of
            at most 31 days). Empty: incremental, since the last sync (the first one reads
            the last 90 days).
        include_refunds: Sync refunds and reversals.
        include_chargebacks: Sync chargebacks and their reversals.
        include_fees: Sync standalone fees (fees on a payment always come with it).
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    from connectors.paypal import PUBLICATION_LAG, settled_until

    logger = get_run_logger()
    parameters = {
        "dateRange": date_range.model_dump(mode="json", by_alias=True) if date_range else None,
        "includeRefunds": include_refunds, "includeChargebacks": include_chargebacks,
        "includeFees": include_fees,
    }
    run = open_sync_run(integration_id, "paypal.sync_transactions", parameters, sync_id,
                        flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        excluded = excluded_kinds(include_refunds, include_chargebacks, include_fees)
        now = datetime.now(UTC)
        incremental = date_range is None
        if incremental:
            mark = read_stream_cursor(integration_id, STREAM)
            start = (datetime.fromisoformat(mark) - LOOKBACK if mark
                     else now - timedelta(days=FIRST_SYNC_DAYS))
            end = now - PUBLICATION_LAG
        else:
            start, end = date_range.from_, date_range.to
        logger.info("sync %s: PayPal transactions from %s to %s", sync_id, start, end)
        progress = create_progress_artifact(progress=0.0,
                                            description=f"PayPal transactions of {sync_id}")
        refreshed: list[datetime] = []

        def fetch(cursor: str | None):
            return extract_paypal_transactions.submit(integration_id, start, end, cursor)

        def process(page: dict[str, Any]) -> None:
            if page.get("last_refreshed"):
                refreshed.append(datetime.fromisoformat(page["last_refreshed"]))
            mapped = map_payments(integration_id, quote(page["records"]), excluded)
            stream_cursor = None
            if incremental and not page["has_next_page"]:
                # Never past what PayPal has published, nor past the range read.
                safe = min(settled_until(now, min(refreshed) if refreshed else None), end)
                stream_cursor = (STREAM, safe.isoformat())
            load_payments(integration_id, sync_id, SOURCE_TYPE, quote(mapped),
                          resume_cursor=None if incremental else page["end_cursor"],
                          stream_cursor=stream_cursor)

        pipeline(fetch, process, None if incremental else run["resume_cursor"], 0, progress,
                 process_last_page=True)
    return finish_sync_run(sync_id)
