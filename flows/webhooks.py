"""`process-webhooks`: the webhook inbox into the ledger, then out to subscribers.

The API keeps each verified delivery in the inbox and answers the platform at once; this flow
(started by the API after deliveries arrive, and on an interval as a safety net) takes the
waiting deliveries oldest first, per integration: order events re-fetch the current orders
and load them like a sync does; events of other streams start that stream's incremental sync.
A batch whose processing fails stays in the inbox and is tried again on the next pass. Then
the processed events go to the subscribers (deliver-webhook-events).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from bigledger.errors import IntegrationError
from tasks.load import load_orders
from tasks.map import map_records
from tasks.sync_runs import finish_sync_run, open_sync_run
from tasks.webhooks import (
    claim_inbox_batch,
    complete_inbox_batch,
    fail_inbox_batch,
    fetch_orders_by_id,
    plan_events,
    start_incremental_syncs,
)


@flow(name="process-webhooks", log_prints=False, validate_parameters=True)
def process_webhooks(
    integration_id: str | None = None,
    batch_size: Annotated[int, Field(ge=1, le=5000)] = 1000,
    max_batches: Annotated[int, Field(ge=1, le=1000)] = 50,
    deliver: bool = True,
) -> dict[str, Any]:
    """Process the waiting webhook deliveries into the ledger.

    Args:
        integration_id: Only this integration's deliveries. Empty: every integration's.
        batch_size: Deliveries taken per pass, 1-5000.
        max_batches: Passes at most per run (a later run takes the rest).
        deliver: Send the processed events to subscribers at the end.
    """
    logger = get_run_logger()
    totals: dict[str, Any] = defaultdict(int)
    for _ in range(max_batches):
        batch = claim_inbox_batch(batch_size, integration_id)
        if not batch:
            break
        by_integration: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for delivery in batch:
            by_integration[delivery["integration_id"]].append(delivery)
        for iid, deliveries in by_integration.items():
            outcome = _process_integration(iid, deliveries)
            for key, value in outcome.items():
                totals[key] += value
        if len(batch) < batch_size:
            break
    if deliver:
        from flows.outbound import deliver_webhook_events

        totals["outbound"] = deliver_webhook_events()
    logger.info("webhooks processed: %s", dict(totals))
    return dict(totals)


def _process_integration(integration_id: str, deliveries: list[dict[str, Any]]) -> dict:
    """One integration's share of a pass; a failure leaves its deliveries in the inbox."""
    ids = [d["id"] for d in deliveries]
    platform = deliveries[0]["platform"]
    events = [e for d in deliveries for e in d["events"] or []]
    plan = plan_events(platform, events)
    try:
        loaded = 0
        if plan.order_ids:
            run = open_sync_run(integration_id, f"{platform}.webhook_orders",
                                {"orders": len(plan.order_ids)}, None, flow_run.get_id())
            try:
                records = fetch_orders_by_id(integration_id, plan.order_ids)
                loaded = len(records)
                mapped = map_records(integration_id, f"{platform}.order", quote(records))
                load_orders(integration_id, run["id"], f"{platform}.order", quote(mapped))
            except IntegrationError as exc:
                finish_sync_run(run["id"], str(exc.code), exc.message)
                raise
            finish_sync_run(run["id"])
        started = (start_incremental_syncs(integration_id, platform, plan.operations)
                   if plan.operations else [])
        queued = complete_inbox_batch(integration_id, ids, events)
    except Exception as exc:  # kept in the inbox; the next pass tries again
        message = exc.message if isinstance(exc, IntegrationError) else \
            f"{type(exc).__name__}: {exc}"
        fail_inbox_batch(ids, message)
        get_run_logger().warning("webhooks of %s not processed yet: %s", integration_id,
                                 message)
        return {"deliveries_failed": len(ids)}
    return {"deliveries_processed": len(ids), "orders_fetched": loaded,
            "syncs_started": len(started), "events_ignored": plan.ignored,
            "outbound_queued": queued}
