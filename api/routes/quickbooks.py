"""/v1/integrations/quickbooks/...: migrations from QuickBooks Online, each a run of its
deployment. The body names the integration, or carries the company's credentials (checked
with QuickBooks and stored encrypted under int_quickbooks_<companyId>)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.credentials import integration_for_sync
from api.orchestrator import start_sync
from api.schemas import (
    QuickBooksExportCoaRequest,
    QuickBooksMigrateCustomersRequest,
    QuickBooksMigrateTransactionsRequest,
    QuickBooksRequest,
)
from bigledger.settings import get_settings
from ledger.integrations import IntegrationRecord

router = APIRouter(prefix="/v1/integrations/quickbooks", tags=["quickbooks"])
NEEDED = "companyId, clientId, clientSecret, refreshToken"


def _integration(body: QuickBooksRequest) -> IntegrationRecord:
    credentials = body.credentials.stored() if body.credentials else None
    integration_id = body.integration_id or f"int_quickbooks_{credentials['realmId']}"
    name = f"QuickBooks company {credentials['realmId']}" if credentials else ""
    return integration_for_sync("quickbooks", integration_id, credentials, name, NEEDED)


@router.post("/export-coa", summary="Import the QuickBooks chart of accounts")
def export_coa(body: QuickBooksExportCoaRequest) -> dict[str, Any]:
    """Imports the chart and answers, when it finishes in time, with every account's mapping
    to the standard chart and the accounts that need a human decision."""
    integration = _integration(body)
    options = body.options
    return start_sync(integration, "quickbooks.export_coa", "quickbooks-export-coa",
                      {"includeInactive": options.include_inactive,
                       "mapToStandard": options.map_to_standard},
                      {"integration_id": integration.id,
                       "include_inactive": options.include_inactive,
                       "map_to_standard": options.map_to_standard}, 0,
                      wait_seconds=get_settings().inventory_wait_seconds)


@router.post("/migrate-customers", summary="Migrate QuickBooks customers and vendors")
def migrate_customers(body: QuickBooksMigrateCustomersRequest) -> dict[str, Any]:
    integration = _integration(body)
    return start_sync(integration, "quickbooks.migrate_customers",
                      "quickbooks-migrate-customers",
                      {"includeVendors": body.options.include_vendors},
                      {"integration_id": integration.id,
                       "include_vendors": body.options.include_vendors}, 0)


@router.post("/migrate-transactions", summary="Migrate QuickBooks transactions, with the "
             "trial balance proof")
def migrate_transactions(body: QuickBooksMigrateTransactionsRequest) -> dict[str, Any]:
    """Answers at once; the polled sync ends with `trialBalance`, the account-by-account
    comparison with QuickBooks' own report (the run fails unless every account matches)."""
    integration = _integration(body)
    date_range = body.date_range.as_date_range() if body.date_range else None
    range_json = date_range.model_dump(mode="json", by_alias=True) if date_range else None
    flow_parameters: dict[str, Any] = {"integration_id": integration.id,
                                       "date_range": range_json,
                                       "transaction_types": body.transaction_types}
    if body.batch_size is not None:
        flow_parameters["batch_size"] = body.batch_size
    return start_sync(integration, "quickbooks.migrate_transactions",
                      "quickbooks-migrate-transactions",
                      {"dateRange": range_json, "transactionTypes": body.transaction_types,
                       "batchSize": body.batch_size}, flow_parameters, 0)
