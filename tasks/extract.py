"""Extract: one platform page per task run."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.connections import connector_for, load_integration
from tasks.retry import retry_if_transient


@task(name="extract-shopify-orders-page", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def extract_shopify_orders_page(
    integration_id: str, order_filter: dict[str, Any], after: str | None, first: int | None
) -> dict[str, Any]:
    """Fetch one page of Shopify orders (complete with all line items) after a cursor."""
    from connectors.shopify import OrderFilter

    connector = connector_for(load_integration(integration_id))
    page = connector.fetch_orders_page(OrderFilter(**order_filter), after=after, first=first)
    return {"records": page.records, "end_cursor": page.end_cursor,
            "has_next_page": page.has_next_page}


@task(name="count-shopify-orders", retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE, persist_result=False)
def count_shopify_orders(integration_id: str, order_filter: dict[str, Any]) -> int:
    """How many orders the filter matches (for progress and the API's ordersToProcess)."""
    from connectors.shopify import OrderFilter

    connector = connector_for(load_integration(integration_id))
    return connector.count_orders(OrderFilter(**order_filter))
