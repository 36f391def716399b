"""Xero reads and mapping for the full migration: the organisation, lists, document pages
and the Trial Balance report, one task run each."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.connections import connector_for, load_integration
from tasks.map import MappedBatch, RecordMapper, map_batch
from tasks.retry import retry_if_transient
from transforms.documents import TrialBalanceLine

OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False,
                           "retries": 3, "retry_delay_seconds": [2, 10, 60],
                           "retry_jitter_factor": 0.5, "retry_condition_fn": retry_if_transient}


def _connector(integration_id: str) -> Any:
    return connector_for(load_integration(integration_id))


@task(name="xero-organisation", **OPTIONS)
def xero_organisation(integration_id: str) -> dict[str, Any]:
    """The selected tenant, its base currency and financial year end."""
    connector = _connector(integration_id)
    org = connector.check_connection()
    return {"tenantId": connector.tenant_id, "name": org.get("Name"),
            "baseCurrency": str(org.get("BaseCurrency") or "USD"),
            "yearEndMonth": int(org.get("FinancialYearEndMonth") or 12),
            "yearEndDay": int(org.get("FinancialYearEndDay") or 31)}


@task(name="extract-xero-all", **OPTIONS)
def extract_xero_all(integration_id: str, resource: str) -> list[dict[str, Any]]:
    """Every record of a resource (Accounts, TaxRates, Contacts ...), page after page."""
    return [r for page in _connector(integration_id).iter_resource(resource)
            for r in page.records]


@task(name="extract-xero-page", **OPTIONS)
def extract_xero_page(integration_id: str, resource: str, page: str | None,
                      where: str | None, page_size: int) -> dict[str, Any]:
    """One page of a document resource (Invoices, Payments, ...)."""
    found = _connector(integration_id).fetch_page(resource, int(page or 1), where=where,
                                                  page_size=page_size)
    return {"records": found.records, "end_cursor": found.end_cursor,
            "has_next_page": found.has_next_page}


@task(name="xero-trial-balance", **OPTIONS)
def xero_trial_balance(integration_id: str, as_of: date,
                       currency: str) -> list[TrialBalanceLine]:
    """Xero's own Trial Balance report as of a date, parsed (YTD columns)."""
    from transforms.xero_reports import parse_trial_balance

    return parse_trial_balance(_connector(integration_id).trial_balance(as_of), currency)


@task(name="map-xero-records", cache_policy=NO_CACHE, persist_result=False)
def map_xero_records(resource: str, records: list[dict], context: Any) -> MappedBatch:
    """A page of one resource as SourceTransactionDocs; unmappable records are failures."""
    from transforms.xero_transactions import transaction_to_doc

    def external_id(record: dict) -> str:  # as the transform names it: "Invoice:<id>"
        for key in ("CreditNoteID", "InvoiceID", "PaymentID", "BankTransactionID",
                    "ManualJournalID", "JournalID"):
            if record.get(key):
                return f"{key.removesuffix('ID')}:{record[key]}"
        return f"{resource}:?"

    mapper = RecordMapper("source_transaction",
                          lambda record, ctx: transaction_to_doc(resource, record, ctx),
                          external_id)
    return map_batch(records, mapper, context)
