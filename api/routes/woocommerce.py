"""/v1/integrations/woocommerce/...: WooCommerce operations, each a run of its deployment."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from api.credentials import integration_for_sync
from api.orchestrator import start_sync
from api.schemas import SpecModel, WooCommerceSyncOrdersRequest
from bigledger.errors import InvalidCredentials
from connectors.factory import check_connection
from ledger.db import transaction
from ledger.integrations import get_integration
from tasks.connections import connector_for

router = APIRouter(prefix="/v1/integrations/woocommerce", tags=["woocommerce"])


@router.post("/sync-orders", summary="Sync WooCommerce orders into the ledger")
def sync_orders(body: WooCommerceSyncOrdersRequest) -> dict[str, Any]:
    """Credentials in the body are checked against the site and stored encrypted on the
    integration (created under that id if new); the flow only ever gets the id."""
    from connectors.woocommerce import OrderFilter

    credentials = body.credentials.model_dump(by_alias=True) if body.credentials else None
    integration = integration_for_sync(
        "woocommerce", body.integration_id, credentials,
        f"WooCommerce {credentials['siteUrl']}" if credentials else "",
        "siteUrl, consumerKey, consumerSecret")
    date_range = body.date_range.as_date_range() if body.date_range else None
    order_filter: dict[str, Any] = {"statuses": body.order_status or []}
    if date_range:
        order_filter.update(created_from=date_range.from_, created_to=date_range.to)
    to_process = connector_for(integration).count_orders(OrderFilter(**order_filter))
    range_json = date_range.model_dump(mode="json", by_alias=True) if date_range else None
    parameters = {"dateRange": range_json, "orderStatus": body.order_status,
                  "batchSize": body.batch_size}
    flow_parameters = {"integration_id": integration.id, "date_range": range_json,
                       "order_status": body.order_status}
    if body.batch_size is not None:
        flow_parameters["batch_size"] = body.batch_size
    return start_sync(integration, "woocommerce.sync_orders", "woocommerce-sync-orders",
                      parameters, flow_parameters, to_process)


class WooCatalogRequest(SpecModel):
    """POST /v1/integrations/woocommerce/sync-products and /sync-customers (designed in the
    style of Shopify's sync-products; the spec leaves them out)."""

    integration_id: str = Field(alias="integrationId", min_length=1, max_length=64)
    sync_type: Literal["incremental", "full"] = Field(default="incremental", alias="syncType")


def _catalog(kind: str, body: WooCatalogRequest) -> dict[str, Any]:
    with transaction() as conn:
        integration = get_integration(conn, body.integration_id)
    if integration.platform != "woocommerce":
        raise InvalidCredentials(f"integration {integration.id} is a {integration.platform} "
                                 "integration, not woocommerce")
    check_connection(connector_for(integration))  # a refused key: AUTH_FAILED, nothing opened
    return start_sync(integration, f"woocommerce.sync_{kind}", "woocommerce-sync-catalog",
                      {"kind": kind, "syncType": body.sync_type},
                      {"integration_id": integration.id, "kind": kind,
                       "sync_type": body.sync_type}, 0)


@router.post("/sync-products", summary="Sync WooCommerce products, variations and stock")
def sync_products(body: WooCatalogRequest) -> dict[str, Any]:
    return _catalog("products", body)


@router.post("/sync-customers", summary="Sync WooCommerce customers")
def sync_customers(body: WooCatalogRequest) -> dict[str, Any]:
    return _catalog("customers", body)
