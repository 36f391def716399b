"""QuickBooks Online migration flows.

`quickbooks-export-coa`: the chart of accounts imported as ledger accounts of their own, each
mapped to the BigLedger standard account of its AccountType/AccountSubType (or listed for a
human decision). `quickbooks-migrate-customers`: customers and vendors with contact, address,
terms and balance. `quickbooks-migrate-transactions`: every transaction of the range (invoices,
bills, payments, journal entries, credit memos, sales and refund receipts, deposits,
transfers, purchases, vendor credits, bill payments) as ledger documents with the journal
QuickBooks posts, then the proof: the ledger's trial balance at the range end against
QuickBooks' own Trial Balance report, account by account; the run succeeds only when every
account matches to the cent.

Re-running changes nothing (every load is an idempotent upsert; journals post only
differences); a run killed half-way resumes after its last committed page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from flows.common import closing_on_error, pipeline, resume_point
from flows.params import DateRange
from tasks.migrations import (
    comparison_table,
    import_chart,
    import_contact_batch,
    ledger_postings,
    load_source_transactions,
    post_opening_balances,
    publish_comparison,
    require_parity,
)
from tasks.quickbooks import (
    extract_quickbooks_deleted,
    extract_quickbooks_list,
    extract_quickbooks_page,
    map_quickbooks_transactions,
    quickbooks_company,
    quickbooks_trial_balance,
)
from tasks.sync_runs import finish_sync_run, open_sync_run, record_sync_result

SOURCE_TYPE = "quickbooks.transaction"
OPENING_TYPE = "quickbooks.opening"
TransactionType = Literal["journal_entry", "invoice", "credit_memo", "sales_receipt",
                          "refund_receipt", "payment", "bill", "vendor_credit",
                          "bill_payment", "purchase", "deposit", "transfer"]
PNL_TYPES = {"Income", "Cost of Goods Sold", "Expense", "Other Income", "Other Expense"}
# Change data capture looks back at most 30 days.
CDC_WINDOW = timedelta(days=29)


def _chart(integration_id: str, sync_id: str, accounts: list[dict[str, Any]],
           realm_id: str, map_to_standard: bool = True) -> list[Any]:
    """Import the accounts as ledger accounts; their docs."""
    from dataclasses import replace

    from transforms.quickbooks_accounts import account_to_doc, ledger_account_id

    docs = [account_to_doc(a) for a in accounts]
    if not map_to_standard:
        docs = [replace(d, standard_account_id=None, mapping_note="not mapped (mapToStandard "
                        "false)") for d in docs]
    ids = {d.external_id: ledger_account_id(realm_id, d.external_id) for d in docs}
    import_chart(integration_id, sync_id, quote(docs), ids, "QBO-")
    return docs


@flow(name="quickbooks-export-coa", log_prints=False, validate_parameters=True)
def export_coa(integration_id: str, include_inactive: bool = False,
               map_to_standard: bool = True, sync_id: str | None = None) -> dict[str, Any]:
    """Import QuickBooks' chart of accounts, each account mapped to the BigLedger standard
    chart by AccountType/AccountSubType; the result lists every mapping and the accounts that
    need a human decision.

    Args:
        integration_id: BigLedger integration id (int_quickbooks_...); its OAuth tokens are
            loaded from the ledger (rotated ones saved back encrypted), never passed here.
        include_inactive: Import inactive accounts too.
        map_to_standard: Map each account to a standard account.
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    run = open_sync_run(integration_id, "quickbooks.export_coa",
                        {"includeInactive": include_inactive, "mapToStandard": map_to_standard},
                        sync_id, flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        company = quickbooks_company(integration_id)
        accounts = extract_quickbooks_list(integration_id, "Account", include_inactive)
        docs = _chart(integration_id, sync_id, accounts, company["realmId"], map_to_standard)
        rows = [{"accountId": d.external_id, "number": d.code, "name": d.full_name or d.name,
                 "type": d.source_type, "subtype": d.source_subtype, "active": d.active,
                 "standardAccountId": d.standard_account_id, "note": d.mapping_note,
                 "needsDecision": d.mapping_note.startswith("decide")} for d in docs]
        create_table_artifact(key=f"{sync_id.replace('_', '-').lower()}-chart-mapping",
                              table=rows or [{"accountId": None}],
                              description="QuickBooks accounts and their standard accounts")
        record_sync_result(sync_id, {"accounts": rows}, {
            "accountsNeedingDecision": sum(r["needsDecision"] for r in rows)})
    return finish_sync_run(sync_id)


@flow(name="quickbooks-migrate-customers", log_prints=False, validate_parameters=True)
def migrate_customers(integration_id: str, include_vendors: bool = True,
                      sync_id: str | None = None) -> dict[str, Any]:
    """Migrate QuickBooks customers (and vendors, as suppliers) with their contact details,
    addresses, payment terms and open balances.

    Args:
        integration_id: BigLedger integration id (int_quickbooks_...).
        include_vendors: Migrate vendors too (as suppliers).
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    from transforms.quickbooks_customers import customer_to_doc, vendor_to_doc

    run = open_sync_run(integration_id, "quickbooks.migrate_customers",
                        {"includeVendors": include_vendors}, sync_id, flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        company = quickbooks_company(integration_id)
        terms = {t["Id"]: t.get("Name") for t in extract_quickbooks_list(integration_id, "Term")}
        home = company["homeCurrency"]
        kinds = [("Customer", customer_to_doc)] + ([("Vendor", vendor_to_doc)]
                                                    if include_vendors else [])
        for entity, to_doc in kinds:
            records = extract_quickbooks_list(integration_id, entity)
            docs = [to_doc(r, terms, home) for r in records]
            for start in range(0, len(docs), 500):
                import_contact_batch(integration_id, sync_id, quote(docs[start:start + 500]))
    return finish_sync_run(sync_id)


@flow(name="quickbooks-migrate-transactions", log_prints=False, validate_parameters=True)
def migrate_transactions(
    integration_id: str,
    date_range: DateRange | None = None,
    transaction_types: list[TransactionType] | None = None,
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 100,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Migrate QuickBooks transactions into the ledger and prove the books: the ledger's trial
    balance at the range end must equal QuickBooks' Trial Balance report to the cent.

    Args:
        integration_id: BigLedger integration id (int_quickbooks_...).
        date_range: Transactions dated in this range (TxnDate, the company's days); a range
            that starts after the company's first transaction opens with QuickBooks' own
            balances of the day before. Empty: the whole history up to today.
        transaction_types: Which types (invoice, bill, payment, journal_entry, ...). Empty:
            all of them. The proof is meaningful when every type is migrated.
        batch_size: Transactions per page (one extract, map and load task run each).
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    from transforms.quickbooks_transactions import TXN_TYPES

    logger = get_run_logger()
    wanted = set(transaction_types or TXN_TYPES.values())
    entities = [e for e, kind in TXN_TYPES.items() if kind in wanted]
    parameters = {"dateRange": date_range.model_dump(mode="json", by_alias=True)
                  if date_range else None, "transactionTypes": sorted(wanted),
                  "batchSize": batch_size}
    run = open_sync_run(integration_id, "quickbooks.migrate_transactions", parameters,
                        sync_id, flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        company = quickbooks_company(integration_id)
        realm = company["realmId"]
        start = date_range.from_.date() if date_range else None
        end = date_range.to.date() if date_range else datetime.now(UTC).date()
        accounts = extract_quickbooks_list(integration_id, "Account")
        _chart(integration_id, sync_id, accounts, realm)
        context = _context(integration_id, company, accounts, entities, end)
        progress = create_progress_artifact(progress=0.0,
                                            description=f"QuickBooks migration {sync_id}")
        where = " AND ".join(filter(None, [
            f"TxnDate >= '{start.isoformat()}'" if start else None,
            f"TxnDate <= '{end.isoformat()}'"]))
        first, position = resume_point(run["resume_cursor"], entities)
        for n, entity in enumerate(entities[first:], start=first):
            logger.info("sync %s: QuickBooks %s from %s", sync_id, entity, position)

            def fetch(cursor: str | None, entity: str = entity):
                return extract_quickbooks_page.submit(
                    integration_id, entity, where, int(cursor or 1), batch_size)

            def process(page: dict[str, Any], entity: str = entity) -> None:
                mapped = map_quickbooks_transactions(entity, quote(page["records"]),
                                                     quote(context))
                load_source_transactions(integration_id, sync_id, SOURCE_TYPE, quote(mapped),
                                         resume_cursor=f"{entity}:{page['end_cursor']}")

            pipeline(fetch, process, position, 0, progress)
            position = None
            update_progress_artifact(progress, progress=90.0 * (n + 1) / len(entities))
        _deleted(integration_id, sync_id, entities, context)
        if start is not None:
            _opening(integration_id, company, start, accounts, realm)
        proof = _prove(integration_id, sync_id, company, accounts, realm, end)
        record_sync_result(sync_id, {"trialBalance": proof}, {})
        require_parity(proof, "QuickBooks")
    return finish_sync_run(sync_id)


def _context(integration_id: str, company: dict[str, Any], accounts: list[dict[str, Any]],
             entities: list[str], end: date) -> Any:
    """What the postings need: accounts, items, tax rates and agencies; with multicurrency,
    the home totals of the documents foreign payments relieve."""
    from transforms.quickbooks_transactions import LINKABLE, build_context, linked_total

    linked: dict[str, tuple[int, int]] = {}
    if company["multiCurrency"] and {"Payment", "BillPayment"} & set(entities):
        for entity in sorted(LINKABLE):
            for record in extract_quickbooks_list(integration_id, entity, False):
                found = linked_total(entity, record, company["homeCurrency"])
                if found:
                    linked[found[0]] = found[1]
    return build_context(
        company["realmId"], company["homeCurrency"], accounts,
        extract_quickbooks_list(integration_id, "Item"),
        extract_quickbooks_list(integration_id, "TaxRate"),
        extract_quickbooks_list(integration_id, "TaxAgency", False), linked)


def _deleted(integration_id: str, sync_id: str, entities: list[str], context: Any) -> None:
    """Transactions deleted in QuickBooks (change data capture, 30 days back) come off the
    books: their stubs map to empty journals, which reverse what was posted."""
    since = datetime.now(UTC) - CDC_WINDOW
    for entity, stubs in extract_quickbooks_deleted(integration_id, entities, since).items():
        if stubs:
            mapped = map_quickbooks_transactions(entity, quote(stubs), quote(context))
            load_source_transactions(integration_id, sync_id, SOURCE_TYPE, quote(mapped))


def _opening(integration_id: str, company: dict[str, Any], start: date,
             accounts: list[dict[str, Any]], realm: str) -> None:
    """QuickBooks' balances the day before the range, as the ledger's opening entry."""
    from transforms.quickbooks_accounts import ledger_account_id
    from transforms.quickbooks_reports import fiscal_year_start

    day = start - timedelta(days=1)
    currency, lines = quickbooks_trial_balance(
        integration_id, fiscal_year_start(day, company["fiscalStartMonth"]), day)
    if lines:
        ids = {a["Id"]: ledger_account_id(realm, a["Id"]) for a in accounts}
        post_opening_balances(integration_id, OPENING_TYPE, day, currency, quote(lines), ids)


def _prove(integration_id: str, sync_id: str, company: dict[str, Any],
           accounts: list[dict[str, Any]], realm: str, end: date) -> dict[str, Any]:
    """The ledger against QuickBooks' Trial Balance at `end`, account by account."""
    from transforms.quickbooks_reports import expected_trial_balance, fiscal_year_start

    first_month = company["fiscalStartMonth"]
    currency, report = quickbooks_trial_balance(
        integration_id, fiscal_year_start(end, first_month), end)
    pnl = {a["Id"] for a in accounts if a.get("AccountType") in PNL_TYPES}
    retained = next((a["Id"] for a in accounts
                     if a.get("AccountSubType") == "RetainedEarnings"), "RetainedEarnings")
    ledger = expected_trial_balance(
        ledger_postings(integration_id, (SOURCE_TYPE, OPENING_TYPE), end), end,
        income_statement_accounts=pnl, retained_earnings_account=retained,
        first_month=first_month)
    names = {a["Id"]: a.get("FullyQualifiedName") or a.get("Name") for a in accounts}
    rows = comparison_table(ledger, report, names, currency)
    return publish_comparison(sync_id, end, currency, rows)
