"""Stripe flows. `stripe-sync-payments`: balance transactions into the ledger.

Balance transactions are Stripe's own ledger of the account balance: every charge, refund,
dispute, fee and payout moves it. Each becomes a payment in the ledger with a journal
through the Stripe clearing account, so once a period's payouts are synced the clearing
account for that period is exactly zero.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from flows.common import closing_on_error, pipeline
from flows.params import DateRange
from tasks.payments import (
    excluded_kinds,
    extract_stripe_balance_transactions,
    load_payments,
    map_payments,
)
from tasks.sync_runs import finish_sync_run, open_sync_run, read_stream_cursor

STREAM = "stripe.balance_transactions"
SOURCE_TYPE = "stripe.payment"
LOOKBACK = timedelta(hours=1)


@flow(name="stripe-sync-payments", log_prints=False, validate_parameters=True)
def sync_payments(
    integration_id: str,
    date_range: DateRange | None = None,
    include_refunds: bool = True,
    include_chargebacks: bool = True,
    include_fees: bool = True,
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 500,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Sync Stripe payments, refunds, disputes, fees and payouts into the ledger.

    Args:
        integration_id: BigLedger integration id (int_stripe_...); its secret key is loaded
            from the ledger, never passed here.
        date_range: Balance transactions created in this range. Empty: incremental, every
            transaction created since the last sync.
        include_refunds: Sync refunds (and failed refunds).
        include_chargebacks: Sync disputes and their reversals.
        include_fees: Sync standalone Stripe fees (fees on a charge always come with it).
        batch_size: Transactions per batch (one extract, map and load task run each).
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    logger = get_run_logger()
    parameters = {
        "dateRange": date_range.model_dump(mode="json", by_alias=True) if date_range else None,
        "includeRefunds": include_refunds, "includeChargebacks": include_chargebacks,
        "includeFees": include_fees, "batchSize": batch_size,
    }
    run = open_sync_run(integration_id, "stripe.sync_payments", parameters, sync_id,
                        flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        excluded = excluded_kinds(include_refunds, include_chargebacks, include_fees)
        incremental = date_range is None
        created_from = created_to = None
        if incremental:
            mark = read_stream_cursor(integration_id, STREAM)
            created_from = datetime.fromisoformat(mark) - LOOKBACK if mark else None
        else:
            created_from, created_to = date_range.from_, date_range.to
        logger.info("sync %s: Stripe balance transactions from %s to %s", sync_id,
                    created_from or "the beginning", created_to or "now")
        progress = create_progress_artifact(progress=0.0,
                                            description=f"Stripe payments of {sync_id}")
        newest: list[str] = []  # Stripe lists newest first: the first batch has the mark

        def fetch(after: str | None):
            return extract_stripe_balance_transactions.submit(
                integration_id, created_from, created_to, after, batch_size)

        def process(page: dict[str, Any]) -> None:
            records = page["records"]
            if not newest and records:
                newest.append(max(_created(r) for r in records).isoformat())
            mapped = map_payments(integration_id, quote(records), excluded)
            # The stream's mark moves only with the last batch: a run that dies half-way
            # re-reads the same window next time instead of skipping its older half.
            last = not page["has_next_page"]
            load_payments(integration_id, sync_id, SOURCE_TYPE, quote(mapped),
                          resume_cursor=None if incremental else page["end_cursor"],
                          stream_cursor=(STREAM, newest[0]) if last and incremental and newest
                          else None)

        pipeline(fetch, process, None if incremental else run["resume_cursor"], 0, progress,
                 process_last_page=True)
    return finish_sync_run(sync_id)


def _created(txn: dict[str, Any]) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(int(txn["created"]), UTC)
