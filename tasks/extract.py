"""Extract: one platform page per task run."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.connections import connector_for, load_integration
from tasks.retry import retry_if_transient


@task(name="extract-shopify-orders", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def extract_shopify_orders(
    integration_id: str, order_filter: dict[str, Any], after: str | None, batch_size: int
) -> dict[str, Any]:
    """Fetch the next `batch_size` orders after a cursor, complete with all line items.

    Shopify's query-cost limit allows only about ten complete orders per API page, so one
    task run covers as many API pages as the batch needs: Prefect's per-task cost is paid
    per batch, never per page of ten.
    """
    from connectors.shopify import OrderFilter

    connector = connector_for(load_integration(integration_id))
    flt = OrderFilter(**order_filter)
    records: list[dict[str, Any]] = []
    cursor, has_next = after, True
    while has_next and len(records) < batch_size:
        page = connector.fetch_orders_page(flt, after=cursor,
                                           first=min(batch_size - len(records),
                                                     connector.max_orders_page_size()))
        records.extend(page.records)
        cursor, has_next = page.end_cursor or cursor, page.has_next_page
    return {"records": records, "end_cursor": cursor, "has_next_page": has_next}


@task(name="count-shopify-orders", retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE, persist_result=False)
def count_shopify_orders(integration_id: str, order_filter: dict[str, Any]) -> int:
    """How many orders the filter matches (for progress and the API's ordersToProcess)."""
    from connectors.shopify import OrderFilter

    connector = connector_for(load_integration(integration_id))
    return connector.count_orders(OrderFilter(**order_filter))


@task(name="extract-shopify-products", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def extract_shopify_products(
    integration_id: str, product_filter: dict[str, Any], after: str | None, batch_size: int,
    include_variants: bool, include_inventory: bool,
) -> dict[str, Any]:
    """Fetch the next `batch_size` products after a cursor, complete with variants and stock."""
    from connectors.shopify import ProductFilter

    connector = connector_for(load_integration(integration_id))
    flt = ProductFilter(**product_filter)
    records: list[dict[str, Any]] = []
    cursor, has_next = after, True
    while has_next and len(records) < batch_size:
        page = connector.fetch_products_page(
            flt, after=cursor, include_variants=include_variants,
            include_inventory=include_inventory,
            first=min(batch_size - len(records),
                      connector.max_products_page_size(include_variants, include_inventory)))
        records.extend(page.records)
        cursor, has_next = page.end_cursor or cursor, page.has_next_page
    return {"records": records, "end_cursor": cursor, "has_next_page": has_next}


@task(name="count-shopify-products", retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE, persist_result=False)
def count_shopify_products(integration_id: str, product_filter: dict[str, Any]) -> int:
    """How many products the filter matches."""
    from connectors.shopify import ProductFilter

    connector = connector_for(load_integration(integration_id))
    return connector.count_products(ProductFilter(**product_filter))


@task(name="shopify-shop-currency", retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE, persist_result=False)
def shopify_shop_currency(integration_id: str) -> str:
    """The shop's currency: product prices come without one."""
    return connector_for(load_integration(integration_id)).shop_info()["currencyCode"]


@task(name="extract-shopify-product-deletions", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE, persist_result=False)
def extract_shopify_product_deletions(integration_id: str, since: str | None) -> list[dict]:
    """Products deleted upstream since a time (all of them when `since` is empty)."""
    from datetime import datetime

    connector = connector_for(load_integration(integration_id))
    start = datetime.fromisoformat(since) if since else None
    return list(connector.iter_deleted_products(start))


@task(name="extract-woocommerce-orders", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def extract_woocommerce_orders(
    integration_id: str, order_filter: dict[str, Any], page: str | None, batch_size: int
) -> dict[str, Any]:
    """Fetch the next `batch_size` WooCommerce orders from a page number (the cursor),
    100 per request, the most WooCommerce serves."""
    from connectors.woocommerce import OrderFilter

    connector = connector_for(load_integration(integration_id))
    flt = OrderFilter(**order_filter)
    number = int(page or 1)
    records: list[dict[str, Any]] = []
    has_next = True
    while has_next and len(records) < batch_size:
        result = connector.fetch_orders_page(flt, page=number, per_page=100)
        records.extend(result.records)
        has_next = result.has_next
        number += 1
    return {"records": records, "end_cursor": str(number), "has_next_page": has_next}


@task(name="count-woocommerce-orders", retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE, persist_result=False)
def count_woocommerce_orders(integration_id: str, order_filter: dict[str, Any]) -> int:
    """How many WooCommerce orders the filter matches (X-WP-Total)."""
    from connectors.woocommerce import OrderFilter

    connector = connector_for(load_integration(integration_id))
    return connector.count_orders(OrderFilter(**order_filter))


@task(name="extract-woocommerce-collection", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def extract_woocommerce_collection(
    integration_id: str, kind: str, flt: dict[str, Any], page: str | None, batch_size: int
) -> dict[str, Any]:
    """The next `batch_size` WooCommerce products (with their variations) or customers from
    a page number, 100 per request."""
    from connectors.woocommerce import CustomerFilter, ProductFilter

    connector = connector_for(load_integration(integration_id))
    fetch, model = {"products": (connector.fetch_products_page, ProductFilter),
                    "customers": (connector.fetch_customers_page, CustomerFilter)}[kind]
    number = int(page or 1)
    records: list[dict[str, Any]] = []
    has_next = True
    while has_next and len(records) < batch_size:
        result = fetch(model(**flt), page=number, per_page=100)
        records.extend(result.records)
        has_next = result.has_next
        number += 1
    return {"records": records, "end_cursor": str(number), "has_next_page": has_next}


@task(name="woocommerce-store-currency", retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE, persist_result=False)
def woocommerce_store_currency(integration_id: str) -> str:
    """The store's currency: the integration's `settings.currency`, else its newest order's
    (WooCommerce product prices carry none)."""
    from connectors.woocommerce import OrderFilter

    integration = load_integration(integration_id)
    if integration.settings.get("currency"):
        return str(integration.settings["currency"])
    page = connector_for(integration).fetch_orders_page(OrderFilter(), page=1, per_page=1)
    if not page.records:
        raise ValueError("set settings.currency on the integration: the store has no orders "
                         "to read its currency from")
    return str(page.records[0]["currency"])


@task(name="extract-shopify-customers", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def extract_shopify_customers(integration_id: str, customer_filter: dict[str, Any],
                              after: str | None, batch_size: int) -> dict[str, Any]:
    """The next `batch_size` Shopify customers after a cursor."""
    from connectors.shopify import CustomerFilter

    connector = connector_for(load_integration(integration_id))
    flt = CustomerFilter(**customer_filter)
    records: list[dict[str, Any]] = []
    cursor, has_next = after, True
    while has_next and len(records) < batch_size:
        page = connector.fetch_customers_page(
            flt, after=cursor,
            first=min(batch_size - len(records), connector.max_customers_page_size()))
        records.extend(page.records)
        cursor, has_next = page.end_cursor or cursor, page.has_next_page
    return {"records": records, "end_cursor": cursor, "has_next_page": has_next}


@task(name="extract-amazon-orders", retries=3, retry_delay_seconds=[5, 30, 60],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def extract_amazon_orders(integration_id: str, order_filter: dict[str, Any],
                          next_token: str | None) -> dict[str, Any]:
    """One getOrders page (up to 100 orders), each with its items; the connector paces the
    calls within Amazon's per-operation rate and burst limits."""
    from connectors.amazon import OrderFilter

    connector = connector_for(load_integration(integration_id))
    page = connector.fetch_orders_page(OrderFilter(**order_filter), next_token)
    return {"records": page.records, "end_cursor": page.end_cursor,
            "has_next_page": page.has_next_page}
