"""/v1/integrations/shopify/...: Shopify operations, each a run of its Prefect deployment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.envelope import ok
from api.orchestrator import start_flow_run
from api.schemas import ShopifySyncOrdersRequest
from api.views import sync_view
from bigledger.errors import IntegrationError, InvalidCredentials
from flows.params import shopify_order_filter
from ledger.db import transaction
from ledger.integrations import get_integration
from ledger.syncs import create_sync_run, get_cursor, get_sync_run, mark_finished, update_sync_run
from tasks.connections import connector_for

router = APIRouter(prefix="/v1/integrations/shopify", tags=["shopify"])


@router.post("/sync-orders", summary="Sync Shopify orders into the ledger")
def sync_orders(body: ShopifySyncOrdersRequest) -> dict[str, Any]:
    """Count the orders, open a sync and start the flow run; answers at once."""
    from connectors.shopify import OrderFilter
    from flows.shopify import ORDERS_STREAM

    with transaction() as conn:
        integration = get_integration(conn, body.integration_id)
        mark = None if body.date_range else get_cursor(conn, integration.id, ORDERS_STREAM)
    if integration.platform != "shopify":
        raise InvalidCredentials(f"integration {integration.id} is a {integration.platform} "
                                 "integration, not shopify")
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
    with transaction() as conn:
        run = create_sync_run(conn, integration.id, "shopify.sync_orders", parameters)
        update_sync_run(conn, run["id"], records_to_process=to_process)
    flow_parameters = {
        "integration_id": integration.id,
        "date_range": parameters["dateRange"],
        "order_status": body.order_status,
        "fulfillment_status": body.fulfillment_status,
        "sync_id": run["id"],
    }
    if body.batch_size is not None:
        flow_parameters["batch_size"] = body.batch_size
    try:
        flow_run_id = start_flow_run("shopify-sync-orders", flow_parameters,
                                     tags=["api", "shopify", integration.id])
    except IntegrationError as exc:
        with transaction() as conn:
            mark_finished(conn, run["id"], "failed", error_code=str(exc.code),
                          error_message=exc.message)
        raise
    with transaction() as conn:
        update_sync_run(conn, run["id"], flow_run_id=flow_run_id, status="processing")
        run = get_sync_run(conn, run["id"])
    view = sync_view(run)
    return ok(view)
