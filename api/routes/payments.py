"""/v1/integrations/stripe/... and /v1/integrations/paypal/...: processor balances into the
ledger, each a run of its deployment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.credentials import integration_for_sync
from api.orchestrator import start_sync
from api.schemas import PayPalSyncTransactionsRequest, StripeSyncPaymentsRequest

stripe_router = APIRouter(prefix="/v1/integrations/stripe", tags=["stripe"])
paypal_router = APIRouter(prefix="/v1/integrations/paypal", tags=["paypal"])


def _switches(body: Any) -> dict[str, Any]:
    return {"includeRefunds": body.include_refunds,
            "includeChargebacks": body.include_chargebacks,
            "includeFees": body.include_fees}


def _flow_switches(body: Any) -> dict[str, Any]:
    return {"include_refunds": body.include_refunds,
            "include_chargebacks": body.include_chargebacks,
            "include_fees": body.include_fees}


@stripe_router.post("/sync-payments", summary="Sync Stripe payments, refunds, disputes, fees "
                    "and payouts into the ledger")
def stripe_sync_payments(body: StripeSyncPaymentsRequest) -> dict[str, Any]:
    """Balance transactions of the range (or since the last sync); answers at once with the
    sync, whose counters and totals fill in as it runs (GET /v1/integrations/syncs/{id})."""
    credentials = (body.credentials.model_dump(by_alias=True, exclude_none=True)
                   if body.credentials else None)
    integration = integration_for_sync("stripe", body.integration_id, credentials,
                                       "Stripe account", "secretKey")
    date_range = body.date_range.as_date_range() if body.date_range else None
    range_json = date_range.model_dump(mode="json", by_alias=True) if date_range else None
    flow_parameters: dict[str, Any] = {"integration_id": integration.id,
                                       "date_range": range_json, **_flow_switches(body)}
    if body.batch_size is not None:
        flow_parameters["batch_size"] = body.batch_size
    return start_sync(integration, "stripe.sync_payments", "stripe-sync-payments",
                      {"dateRange": range_json, **_switches(body), "batchSize": body.batch_size},
                      flow_parameters, 0)


@paypal_router.post("/sync-transactions", summary="Sync PayPal transactions into the ledger")
def paypal_sync_transactions(body: PayPalSyncTransactionsRequest) -> dict[str, Any]:
    """Transaction Search over the range (split into windows PayPal accepts) or since the last
    sync; answers at once with the sync in the shape of Stripe's sync-payments."""
    credentials = (body.credentials.model_dump(by_alias=True, exclude_none=True)
                   if body.credentials else None)
    integration = integration_for_sync("paypal", body.integration_id, credentials,
                                       "PayPal account", "clientId, clientSecret")
    date_range = body.date_range.as_date_range() if body.date_range else None
    range_json = date_range.model_dump(mode="json", by_alias=True) if date_range else None
    return start_sync(integration, "paypal.sync_transactions", "paypal-sync-transactions",
                      {"dateRange": range_json, **_switches(body)},
                      {"integration_id": integration.id, "date_range": range_json,
                       **_flow_switches(body)}, 0)
