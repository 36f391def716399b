"""Xero migration: `xero-full-migration` (designed here; the spec leaves it TODO).

In dependency order: the chart of accounts (ledger accounts of their own, mapped to the
standard chart), contacts, then invoices and bills, credit notes, payments, bank transactions
and manual journals, each with the journal Xero posts; then the proof — the ledger's trial
balance at the range end against Xero's own Trial Balance report, account by account, to the
cent (profit and loss of earlier financial years folded into retained earnings as Xero shows
them). A dry run reads everything and reports what would be created, writing nothing.

OAuth 2 refresh tokens are single-use: each rotated one is stored (encrypted) the moment it
arrives. Xero's limits (60 calls a minute and 5,000 a day per organisation) are read from its
headers; the connector slows down before a refusal, and a day limit fails the run with the
time it resets, to be resumed then.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote
from pydantic import Field

from flows.common import closing_on_error, pipeline, resume_point
from flows.params import DateRange
from tasks.migrations import (
    comparison_table,
    count_new_records,
    import_chart,
    import_contact_batch,
    ledger_postings,
    load_source_transactions,
    post_opening_balances,
    publish_comparison,
    require_parity,
)
from tasks.sync_runs import finish_sync_run, open_sync_run, record_sync_result
from tasks.xero import (
    extract_xero_all,
    extract_xero_page,
    map_xero_records,
    xero_organisation,
    xero_trial_balance,
)

SOURCE_TYPE = "xero.transaction"
OPENING_TYPE = "xero.opening"
DOCUMENTS = {"invoices": "Invoices", "credit_notes": "CreditNotes", "payments": "Payments",
             "bank_transactions": "BankTransactions", "manual_journals": "ManualJournals"}
Part = Literal["accounts", "contacts", "invoices", "credit_notes", "payments",
               "bank_transactions", "manual_journals"]
PNL_CLASSES = {"REVENUE", "EXPENSE"}


@flow(name="xero-full-migration", log_prints=False, validate_parameters=True)
def full_migration(
    integration_id: str,
    date_range: DateRange | None = None,
    include: list[Part] | None = None,
    dry_run: bool = False,
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 100,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Migrate a Xero organisation into the ledger and prove the books against Xero's Trial
    Balance (or, with dry_run, report what would be created).

    Args:
        integration_id: BigLedger integration id (int_xero_...); its tokens and tenant are
            loaded from the ledger, never passed here.
        date_range: Documents dated in this range; a range that starts after the
            organisation's first transaction opens with Xero's balances of the day before.
            Empty: the whole history up to today.
        include: The parts to migrate (accounts, contacts, invoices, credit_notes, payments,
            bank_transactions, manual_journals). Empty: all of them.
        dry_run: Read and map everything, write nothing, report what would be created.
        batch_size: Documents per page (one extract, map and load task run each).
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    from transforms.xero_accounts import account_to_doc, ledger_account_id
    from transforms.xero_contacts import contact_to_doc
    from transforms.xero_transactions import build_context

    logger = get_run_logger()
    parts = set(include or Part.__args__)
    parameters = {"dateRange": date_range.model_dump(mode="json", by_alias=True)
                  if date_range else None, "include": sorted(parts), "dryRun": dry_run,
                  "batchSize": batch_size}
    run = open_sync_run(integration_id, "xero.full_migration", parameters, sync_id,
                        flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        org = xero_organisation(integration_id)
        tenant, currency = org["tenantId"], org["baseCurrency"].upper()
        start = date_range.from_.date() if date_range else None
        end = date_range.to.date() if date_range else datetime.now(UTC).date()
        accounts = extract_xero_all(integration_id, "Accounts")
        account_docs = [account_to_doc(a) for a in accounts]
        ids = {d.external_id: ledger_account_id(tenant, d.external_id) for d in account_docs}
        plan: dict[str, Any] = {"organisation": org["name"], "tenantId": tenant}
        if dry_run:
            plan["accounts"] = count_new_records(integration_id, "account",
                                                 list(ids.values()))
        else:
            # The chart is needed by every journal, whether asked for or not.
            import_chart(integration_id, sync_id, quote(account_docs), ids, "XERO-")
        if "contacts" in parts:
            contacts = [contact_to_doc(c, currency)
                        for c in extract_xero_all(integration_id, "Contacts")]
            if dry_run:
                plan["contacts"] = count_new_records(integration_id, "contact",
                                                     [c.external_id for c in contacts])
            else:
                for n in range(0, len(contacts), 500):
                    import_contact_batch(integration_id, sync_id,
                                         quote(contacts[n:n + 500]))
        context = build_context(tenant, accounts, currency)
        where = _where(start, end)
        resources = [DOCUMENTS[p] for p in DOCUMENTS if p in parts]
        progress = create_progress_artifact(progress=0.0,
                                            description=f"Xero migration {sync_id}")
        first, position = resume_point(run["resume_cursor"], resources)
        for n, resource in enumerate(resources[first:], start=first):
            logger.info("sync %s: Xero %s from page %s", sync_id, resource, position or 1)
            found: list[int] = [0, 0]

            def fetch(cursor: str | None, resource: str = resource):
                return extract_xero_page.submit(integration_id, resource, cursor, where,
                                                batch_size)

            def process(page: dict[str, Any], resource: str = resource,
                        found: list[int] = found) -> None:
                mapped = map_xero_records(resource, quote(page["records"]), quote(context))
                if dry_run:
                    new = count_new_records(integration_id, "transaction",
                                            [d.external_id for d in mapped.documents])
                    found[0] += new["wouldCreate"]
                    found[1] += len(mapped.failures)
                    return
                cursor = f"{resource}:{page['end_cursor']}" if page["end_cursor"] else None
                load_source_transactions(integration_id, sync_id, SOURCE_TYPE, quote(mapped),
                                         resume_cursor=cursor)

            pipeline(fetch, process, position, 0, progress)
            position = None
            if dry_run:
                plan[resource] = {"wouldCreate": found[0], "wouldFail": found[1]}
            update_progress_artifact(progress, progress=90.0 * (n + 1) / len(resources))
        if dry_run:
            record_sync_result(sync_id, {"dryRun": plan}, {})
            return finish_sync_run(sync_id)
        if start is not None:
            opening = xero_trial_balance(integration_id, start - timedelta(days=1), currency)
            if opening:
                post_opening_balances(integration_id, OPENING_TYPE, start - timedelta(days=1),
                                      currency, quote(opening), ids)
        proof = _prove(integration_id, sync_id, org, accounts, end, currency)
        record_sync_result(sync_id, {"trialBalance": proof}, {})
        require_parity(proof, "Xero")
    return finish_sync_run(sync_id)


def _where(start: date | None, end: date) -> str:
    """Xero's filter on a document's date."""
    def stamp(day: date) -> str:
        return f"DateTime({day.year},{day.month:02d},{day.day:02d})"

    terms = [f"Date <= {stamp(end)}"]
    if start is not None:
        terms.insert(0, f"Date >= {stamp(start)}")
    return " AND ".join(terms)


def _prove(integration_id: str, sync_id: str, org: dict[str, Any],
           accounts: list[dict[str, Any]], end: date, currency: str) -> dict[str, Any]:
    """The ledger against Xero's Trial Balance at `end`, account by account."""
    from transforms.xero_reports import financial_year_start, fold_prior_years

    report = xero_trial_balance(integration_id, end, currency)
    year_start = financial_year_start(end, org["yearEndMonth"], org["yearEndDay"])
    postings = ledger_postings(integration_id, (SOURCE_TYPE, OPENING_TYPE), end)
    to_date: dict[str, int] = {}
    before_year: dict[str, int] = {}
    for day, account, net in postings:
        to_date[account] = to_date.get(account, 0) + net
        if day < year_start:
            before_year[account] = before_year.get(account, 0) + net
    pnl = {a["AccountID"] for a in accounts if str(a.get("Class", "")).upper() in PNL_CLASSES}
    retained = next((a["AccountID"] for a in accounts
                     if a.get("SystemAccount") == "RETAINEDEARNINGS"), "RETAINEDEARNINGS")
    ledger = fold_prior_years(to_date, before_year, pnl, retained)
    names = {a["AccountID"]: a.get("Name") or "" for a in accounts}
    rows = comparison_table(ledger, report, names, currency)
    return publish_comparison(sync_id, end, currency, rows)

