"""QuickBooks Online reads and mapping for the migrations: lists, transaction pages, the
Trial Balance report and deleted records, one task run each."""

from __future__ import annotations

import calendar
from datetime import date, datetime
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
# Lists QuickBooks leaves inactive records out of unless the query tests Active.
EVERY_STATE = "Active IN (true, false)"
MONTHS = {name: n for n, name in enumerate(calendar.month_name) if name}


def _connector(integration_id: str) -> Any:
    return connector_for(load_integration(integration_id))


@task(name="quickbooks-company", **OPTIONS)
def quickbooks_company(integration_id: str) -> dict[str, Any]:
    """The company's realm id, home currency, fiscal year start and multicurrency switch."""
    connector = _connector(integration_id)
    prefs = connector.preferences()
    currency = (prefs.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}
    month = (prefs.get("AccountingInfoPrefs") or {}).get("FirstMonthOfFiscalYear") or "January"
    return {"realmId": connector.realm_id, "homeCurrency": str(currency.get("value") or "USD"),
            "fiscalStartMonth": MONTHS.get(str(month), 1),
            "multiCurrency": bool((prefs.get("CurrencyPrefs") or {}).get(
                "MultiCurrencyEnabled"))}


@task(name="extract-quickbooks-list", **OPTIONS)
def extract_quickbooks_list(integration_id: str, entity: str,
                            include_inactive: bool = True) -> list[dict[str, Any]]:
    """Every record of a list entity (Account, Item, Customer, Vendor, Term, TaxRate ...)."""
    where = EVERY_STATE if include_inactive else None
    return list(_connector(integration_id).iter_query(entity, where))


@task(name="extract-quickbooks-transactions", **OPTIONS)
def extract_quickbooks_page(integration_id: str, entity: str, where: str | None,
                            start_position: int, batch_size: int) -> dict[str, Any]:
    """One page of a transaction entity, ordered by Id (stable while new ones arrive)."""
    page = _connector(integration_id).query_page(entity, where, start_position, batch_size)
    return {"records": page.records, "end_cursor": page.end_cursor,
            "has_next_page": page.has_next_page}


@task(name="extract-quickbooks-deleted", **OPTIONS)
def extract_quickbooks_deleted(integration_id: str, entities: list[str],
                               since: datetime) -> dict[str, list[dict[str, Any]]]:
    """The Deleted stubs change data capture reports for these entities since `since`."""
    changes = _connector(integration_id).changes_since(entities, since)
    return {entity: [r for r in records if str(r.get("status", "")).lower() == "deleted"]
            for entity, records in changes.items()}


@task(name="quickbooks-trial-balance", **OPTIONS)
def quickbooks_trial_balance(integration_id: str, start: date,
                             end: date) -> tuple[str, list[TrialBalanceLine]]:
    """QuickBooks' own Trial Balance report for [start, end]: its currency and lines."""
    from transforms.quickbooks_reports import parse_trial_balance, report_currency

    report = _connector(integration_id).trial_balance(start, end)
    return report_currency(report), parse_trial_balance(report)


@task(name="map-quickbooks-transactions", cache_policy=NO_CACHE, persist_result=False)
def map_quickbooks_transactions(entity: str, records: list[dict], context: Any) -> MappedBatch:
    """A page of one entity as SourceTransactionDocs; a record that cannot be mapped is a
    failure kept with its payload, the rest carry on."""
    from transforms.quickbooks_transactions import transaction_to_doc, txn_external_id

    mapper = RecordMapper("source_transaction",
                          lambda record, ctx: transaction_to_doc(entity, record, ctx),
                          lambda record: txn_external_id(entity, str(record.get("Id", "?"))))
    return map_batch(records, mapper, context)
