"""/v1/integrations/amazon/...: Amazon Seller Central on the Selling Partner API, each
operation a run of its deployment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.credentials import integration_for_sync
from api.orchestrator import start_sync
from api.schemas import AmazonSyncFeesRequest, AmazonSyncOrdersRequest
from bigledger.errors import InvalidCredentials
from ledger.db import transaction
from ledger.integrations import get_integration

router = APIRouter(prefix="/v1/integrations/amazon", tags=["amazon"])
SP_API_FIELDS = "sellerId, marketplaceId, clientId, clientSecret, refreshToken"


@router.post("/sync-orders", summary="Sync Amazon orders into the ledger")
def sync_orders(body: AmazonSyncOrdersRequest) -> dict[str, Any]:
    """Credentials in the body (SP-API's; old MWS keys are refused with what SP-API needs)
    are checked with Amazon and stored encrypted; the flow gets only the integration id."""
    credentials = (body.credentials.model_dump(by_alias=True, exclude_none=True)
                   if body.credentials else None)
    integration = integration_for_sync(
        "amazon", body.integration_id, credentials,
        f"Amazon seller {credentials.get('sellerId')}" if credentials else "", SP_API_FIELDS)
    date_range = body.date_range.as_date_range() if body.date_range else None
    range_json = date_range.model_dump(mode="json", by_alias=True) if date_range else None
    return start_sync(integration, "amazon.sync_orders", "amazon-sync-orders",
                      {"dateRange": range_json, "orderStatus": body.order_status},
                      {"integration_id": integration.id, "date_range": range_json,
                       "order_status": body.order_status}, 0)


@router.post("/sync-fees", summary="Reconcile Amazon settlements: fees, refunds and deposits")
def sync_fees(body: AmazonSyncFeesRequest) -> dict[str, Any]:
    """Settlements whose period ends in the range (or published since the last sync), each
    posted when it ties out to the cent; the sync's result is the reconciliation table."""
    with transaction() as conn:
        integration = get_integration(conn, body.integration_id)
    if integration.platform != "amazon":
        raise InvalidCredentials(f"integration {integration.id} is a {integration.platform} "
                                 "integration, not amazon")
    date_range = body.date_range.as_date_range() if body.date_range else None
    range_json = date_range.model_dump(mode="json", by_alias=True) if date_range else None
    return start_sync(integration, "amazon.sync_fees", "amazon-sync-fees",
                      {"dateRange": range_json, "reportType": body.report_type},
                      {"integration_id": integration.id, "date_range": range_json,
                       "report_type": body.report_type}, 0)
