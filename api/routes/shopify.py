"""/v1/integrations/shopify/...: Shopify operations, each a run of its Prefect deployment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter

from api.orchestrator import start_sync
from api.schemas import (
    ShopifySyncCustomersRequest,
    ShopifySyncOrdersRequest,
    ShopifySyncProductsRequest,
    ShopifyUpdateInventoryRequest,
)
from bigledger.errors import InvalidCredentials
from bigledger.settings import get_settings
from flows.params import shopify_order_filter
from ledger.db import transaction
from ledger.integrations import IntegrationRecord, get_integration
from ledger.syncs import get_cursor
from tasks.connections import connector_for

router = APIRouter(prefix="/v1/integrations/shopify", tags=["shopify"])


def _shopify_integration(integration_id: str) -> IntegrationRecord:
    with transaction() as conn:
        integration = get_integration(conn, integration_id)
    if integration.platform != "shopify":
        raise InvalidCredentials(f"integration {integration.id} is a {integration.platform} "
                                 "integration, not shopify")
    return integration


@router.post("/sync-orders", summary="Sync Shopify orders into the ledger")
def sync_orders(body: ShopifySyncOrdersRequest) -> dict[str, Any]:
    """Count the orders, open a sync and start the flow run; answers at once."""
    from connectors.shopify import OrderFilter
    from flows.shopify import ORDERS_STREAM

    integration = _shopify_integration(body.integration_id)
    with transaction() as conn:
        mark = None if body.date_range else get_cursor(conn, integration.id, ORDERS_STREAM)
    order_filter, _ = shopify_order_filter(body.date_range, body.order_status,
                                           body.fulfillment_status, mark)
    # Counting first also proves the credentials still work: a refused token answers
    # AUTH_FAILED here and nothing is written.
    to_process = connector_for(integration).count_orders(OrderFilter(**order_filter))
    parameters = {
        "dateRange": body.date_range.model_dump(mode="json", by_alias=True)
        if body.date_range else None,
        "orderStatus": body.order_status, "fulfillmentStatus": body.fulfillment_status,
        "batchSize": body.batch_size,
    }
    flow_parameters = {
        "integration_id": integration.id, "date_range": parameters["dateRange"],
        "order_status": body.order_status, "fulfillment_status": body.fulfillment_status,
    }
    if body.batch_size is not None:
        flow_parameters["batch_size"] = body.batch_size
    return start_sync(integration, "shopify.sync_orders", "shopify-sync-orders", parameters,
                      flow_parameters, to_process)


@router.post("/sync-products", summary="Sync Shopify products, variants and stock")
def sync_products(body: ShopifySyncProductsRequest) -> dict[str, Any]:
    """Count the products, open a sync and start the flow run; answers at once."""
    from connectors.shopify import ProductFilter
    from flows.shopify import INCREMENTAL_LOOKBACK_SECONDS, PRODUCTS_STREAM

    integration = _shopify_integration(body.integration_id)
    product_filter: dict[str, Any] = {"published_status": body.published_status}
    if body.sync_type == "incremental":
        with transaction() as conn:
            mark = get_cursor(conn, integration.id, PRODUCTS_STREAM)
        if mark:
            product_filter["updated_from"] = datetime.fromisoformat(mark) - timedelta(
                seconds=INCREMENTAL_LOOKBACK_SECONDS)
    to_process = connector_for(integration).count_products(ProductFilter(**product_filter))
    parameters = body.model_dump(by_alias=True, exclude={"integration_id"})
    flow_parameters = {
        "integration_id": integration.id, "sync_type": body.sync_type,
        "include_variants": body.include_variants,
        "include_inventory": body.include_inventory,
        "published_status": body.published_status,
    }
    return start_sync(integration, "shopify.sync_products", "shopify-sync-products",
                      parameters, flow_parameters, to_process)


@router.post("/update-inventory", summary="Set or adjust Shopify stock per SKU and location")
def update_inventory(body: ShopifyUpdateInventoryRequest) -> dict[str, Any]:
    """Start the inventory push and answer with each item's result when it finishes within
    BIGLEDGER_INVENTORY_WAIT_SECONDS (else with the syncId to poll)."""
    integration = _shopify_integration(body.integration_id)
    items = [i.model_dump(by_alias=True) for i in body.items]
    return start_sync(integration, "shopify.update_inventory", "shopify-update-inventory",
                      {"items": items}, {"integration_id": integration.id, "items": items},
                      len(items), wait_seconds=get_settings().inventory_wait_seconds)


@router.post("/sync-customers", summary="Sync Shopify customers")
def sync_customers(body: ShopifySyncCustomersRequest) -> dict[str, Any]:
    """Count the customers, open a sync and start the flow run (designed here in the style
    of sync-products; the spec leaves it out)."""
    from connectors.shopify import CustomerFilter
    from flows.shopify import CUSTOMERS_STREAM, INCREMENTAL_LOOKBACK_SECONDS

    integration = _shopify_integration(body.integration_id)
    flt: dict[str, Any] = {}
    if body.sync_type == "incremental":
        with transaction() as conn:
            mark = get_cursor(conn, integration.id, CUSTOMERS_STREAM)
        if mark:
            flt["updated_from"] = datetime.fromisoformat(mark) - timedelta(
                seconds=INCREMENTAL_LOOKBACK_SECONDS)
    to_process = connector_for(integration).count_customers(CustomerFilter(**flt))
    return start_sync(integration, "shopify.sync_customers", "shopify-sync-customers",
                      {"syncType": body.sync_type},
                      {"integration_id": integration.id, "sync_type": body.sync_type},
                      to_process)
