"""Processing the webhook inbox: what a batch of deliveries asks for, fetching the current
state it announces, and closing the deliveries.

A delivery is a hint, never the data: an order event re-fetches the order as it is now, so
a late, repeated or out-of-order delivery loads the same current state (and an unchanged
order changes nothing). Events about streams without a fetch-by-id (products, payments,
accounting documents) start the stream's incremental sync instead, once per pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prefect import task

from bigledger.settings import get_settings
from ledger.db import transaction
from ledger.inbox import mark_attempt_failed, mark_processed, pending_deliveries
from ledger.schedules import OPERATIONS
from tasks.connections import connector_for, load_integration
from tasks.retry import retry_if_transient
from tasks.sync_runs import TASK_OPTIONS

# Platforms whose orders can be fetched by id; their order events load the current order.
ORDER_FETCHERS = {"shopify", "woocommerce"}
# Which incremental operation brings in the changes an event announces, per platform and
# resource type ("*": any resource of the platform).
STREAM_OPERATIONS: dict[str, dict[str, str]] = {
    "shopify": {"product": "sync_products", "inventory_level": "sync_products",
                "customer": "sync_customers"},
    "woocommerce": {"product": "sync_products", "customer": "sync_customers"},
    "stripe": {"*": "sync_payments"},
    "quickbooks": {"*": "sync_transactions"},
    "xero": {"*": "sync_transactions"},
}
# Events that change nothing in the books (privacy requests are answered elsewhere; an
# uninstall shows up as failing credentials on the next sync).
IGNORED_EVENTS = {"app.uninstalled", "bulk_operation.finished", "webhook.received",
                  "privacy.customer_data_request", "privacy.customer_redact",
                  "privacy.shop_redact"}


@dataclass(slots=True)
class EventPlan:
    """What a batch of one integration's events asks for."""

    order_ids: list[str] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    ignored: int = 0


def plan_events(platform: str, events: list[dict[str, Any]]) -> EventPlan:
    """Orders to re-fetch (each once, however many events named it) and incremental
    operations to start (each once)."""
    plan = EventPlan()
    orders: dict[str, None] = {}
    operations: dict[str, None] = {}
    streams = STREAM_OPERATIONS.get(platform, {})
    for event in events:
        kind = event.get("resourceType")
        if event.get("event") in IGNORED_EVENTS or not event.get("resourceId"):
            plan.ignored += 1
        elif platform in ORDER_FETCHERS and kind == "order":
            if event.get("event") == "order.deleted":
                plan.ignored += 1  # the books keep a deleted order's history
            else:
                orders[str(event["resourceId"])] = None
        elif (operation := streams.get(kind) or streams.get("*")) is not None:
            operations[operation] = None
        else:
            plan.ignored += 1
    plan.order_ids, plan.operations = list(orders), list(operations)
    return plan


@task(name="claim-inbox-batch", **TASK_OPTIONS)
def claim_inbox_batch(limit: int, integration_id: str | None = None) -> list[dict[str, Any]]:
    """The oldest deliveries waiting to be processed. Processing is idempotent (current state
    is fetched, loads compare hashes, the outbox is keyed by event), so two passes meeting on
    the same delivery cost work, not correctness."""
    with transaction() as conn:
        return pending_deliveries(conn, limit, integration_id)


@task(name="fetch-orders-by-id", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, **TASK_OPTIONS)
def fetch_orders_by_id(integration_id: str, order_ids: list[str]) -> list[dict[str, Any]]:
    """The named orders as the platform has them now (gone ones are simply absent)."""
    connector = connector_for(load_integration(integration_id))
    return connector.fetch_orders_by_ids(order_ids)


@task(name="start-incremental-syncs", retries=2, retry_delay_seconds=[2, 10],
      **TASK_OPTIONS)
def start_incremental_syncs(integration_id: str, platform: str,
                            operations: list[str]) -> list[str]:
    """Start each operation's incremental sync as a run of its deployment and return the
    flow-run ids. Runs asked for within the same minute share an idempotency key, so a
    burst of deliveries starts one run, not thousands."""
    from datetime import UTC, datetime

    from prefect.deployments import run_deployment

    minute = datetime.now(UTC).strftime("%Y%m%d%H%M")
    started = []
    for name in operations:
        operation = OPERATIONS[platform][name]
        run = run_deployment(
            name=f"{operation.flow_name}/{get_settings().deployment_suffix}",
            parameters={**operation.parameters, "integration_id": integration_id},
            timeout=0, as_subflow=False, tags=["webhook", platform, integration_id],
            idempotency_key=f"webhook:{integration_id}:{name}:{minute}")
        started.append(str(run.id))
    return started


@task(name="complete-inbox-batch", **TASK_OPTIONS)
def complete_inbox_batch(integration_id: str, delivery_ids: list[int],
                         events: list[dict[str, Any]]) -> int:
    """Mark the deliveries processed and queue their events for the integration's
    subscribers, in one transaction: an event reaches subscribers only once its changes are
    in the ledger, and none is lost between the two. Returns the deliveries queued."""
    from ledger.outbox import enqueue_events

    with transaction() as conn:
        mark_processed(conn, delivery_ids)
        return enqueue_events(conn, integration_id, events)


@task(name="fail-inbox-batch", **TASK_OPTIONS)
def fail_inbox_batch(delivery_ids: list[int], error: str) -> None:
    with transaction() as conn:
        mark_attempt_failed(conn, delivery_ids, error)
