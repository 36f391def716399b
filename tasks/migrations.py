"""Tasks every accounting migration (QuickBooks Online, Xero) shares: importing the chart
and the contacts, loading transactions, posting opening balances, and the proof — the
ledger's trial balance against the source's own report, account by account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from bigledger.errors import DataMappingError
from bigledger.money import format_minor
from ledger.db import transaction
from ledger.models import Account, Customer, ExternalRef, JournalEntry, JournalLine
from ledger.posting import sync_journal
from ledger.source_books import import_accounts, import_contacts, load_transaction_batch
from ledger.syncs import add_counters
from tasks.map import MappedBatch
from tasks.retry import retry_if_transient
from transforms.documents import (
    ContactDoc,
    JournalDraft,
    SourceAccountDoc,
    TrialBalanceLine,
    lines_from_net,
)

OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="import-chart-of-accounts", retries=2, retry_delay_seconds=[1, 5],
      retry_condition_fn=retry_if_transient, **OPTIONS)
def import_chart(integration_id: str, sync_id: str | None, docs: list[SourceAccountDoc],
                 ledger_ids: dict[str, str], code_prefix: str) -> dict[str, int]:
    """Create or update a ledger account per source account, counted on the sync."""
    with transaction() as conn:
        counts = import_accounts(conn, integration_id, docs, ledger_ids, code_prefix)
        if sync_id:
            add_counters(conn, sync_id, {"accountsProcessed": len(docs),
                                         "accountsCreated": counts.created,
                                         "accountsUpdated": counts.updated})
    return asdict(counts)


@task(name="import-contacts", retries=2, retry_delay_seconds=[1, 5],
      retry_condition_fn=retry_if_transient, **OPTIONS)
def import_contact_batch(integration_id: str, sync_id: str | None,
                         docs: list[ContactDoc]) -> dict[str, int]:
    """Upsert a batch of contacts as ledger customers (suppliers flagged)."""
    with transaction() as conn:
        _, counts = import_contacts(conn, integration_id, docs)
        if sync_id:
            # customers* count every contact (the spec's word), suppliers* the vendors among
            add_counters(conn, sync_id, {
                "customersProcessed": len(docs),
                "suppliersProcessed": sum(d.is_supplier for d in docs),
                "customersCreated": counts.created, "customersUpdated": counts.updated})
    return asdict(counts)


@task(name="load-source-transactions", retries=3, retry_delay_seconds=[1, 3, 10],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, **OPTIONS)
def load_source_transactions(integration_id: str, sync_id: str | None, source_type: str,
                             batch: MappedBatch, resume_cursor: str | None = None
                             ) -> dict[str, int]:  # fmt: skip
    """Upsert a batch of migrated transactions and post their journals, with the sync's
    counters and resume cursor, all or nothing."""
    with transaction() as conn:
        counts = load_transaction_batch(conn, integration_id, source_type, batch.documents,
                                        sync_id=sync_id, failures=batch.failures,
                                        resume_cursor=resume_cursor)
    return asdict(counts)


@task(name="post-opening-balances", **OPTIONS)
def post_opening_balances(integration_id: str, source_type: str, day: date, currency: str,
                          lines: list[TrialBalanceLine], ledger_ids: dict[str, str]) -> int:
    """The source's trial balance the day before a migrated range, as one opening entry
    (so a range that starts mid-history still ends with the source's books); re-posting
    the same balances posts nothing."""
    net: dict[str, int] = {}
    for line in lines:
        account = ledger_ids[line.account_external_id]
        net[account] = net.get(account, 0) + line.net_minor
    draft = JournalDraft(day, currency, f"Opening balances at {day.isoformat()}",
                         lines_from_net({a: v for a, v in net.items() if v}))
    with transaction() as conn:
        return sync_journal(conn, integration_id, source_type,
                            {f"opening:{day.isoformat()}": draft})


def ledger_postings(integration_id: str, source_types: tuple[str, ...], end: date
                    ) -> list[tuple[date, str, int]]:  # fmt: skip
    """(date, source account id, net debit) of one integration's migrated journals up to
    `end`; accounts that are not migrated ones keep their ledger id."""
    with transaction() as conn:
        external = dict(conn.execute(select(Account.id, Account.external_id).where(
            Account.integration_id == integration_id)).all())
        rows = conn.execute(
            select(JournalEntry.entry_date, JournalLine.account_id,
                   JournalLine.debit_minor - JournalLine.credit_minor)
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .where(JournalEntry.integration_id == integration_id,
                   JournalEntry.source_type.in_(source_types),
                   JournalEntry.entry_date <= end)).all()
    return [(day, external.get(account) or account, int(net)) for day, account, net in rows]


def comparison_table(ledger: Mapping[str, int], report: list[TrialBalanceLine],
                     names: Mapping[str, str], currency: str) -> list[dict[str, Any]]:
    """One row per account either side lists: the source's and the ledger's net debit."""
    reported = {line.account_external_id: line for line in report}
    rows = []
    for account in sorted(set(reported) | {a for a, v in ledger.items() if v}):
        line = reported.get(account)
        source = line.net_minor if line else 0
        mine = ledger.get(account, 0)
        rows.append({
            "accountId": account,
            "name": line.account_name if line else names.get(account, ""),
            "source": format_minor(source, currency), "ledger": format_minor(mine, currency),
            "difference": format_minor(mine - source, currency),
            "matched": mine == source,
        })
    return rows


def publish_comparison(sync_id: str, as_of: date, currency: str,
                       rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The comparison as a table artifact and as the run's answer."""
    mismatched = [r for r in rows if not r["matched"]]
    create_table_artifact(
        key=f"{sync_id.replace('_', '-').lower()}-trial-balance",
        table=rows or [{"accountId": None, "matched": True}],
        description=f"Trial balance at {as_of.isoformat()} ({currency}): ledger against the "
                    f"source's own report — {len(rows) - len(mismatched)} of {len(rows)} "
                    "accounts match to the cent")
    return {"asOf": as_of.isoformat(), "currency": currency, "matched": not mismatched,
            "accountsCompared": len(rows), "accountsDifferent": len(mismatched),
            "accounts": rows}


def require_parity(proof: dict[str, Any], source: str) -> None:
    """Fail the migration (DATA_MAPPING_ERROR naming the accounts) unless every account
    matched the source's trial balance to the cent."""
    if not proof["matched"]:
        raise DataMappingError(
            f"the ledger's trial balance at {proof['asOf']} differs from {source}'s on "
            f"{proof['accountsDifferent']} of {proof['accountsCompared']} accounts",
            details={"accounts": [r for r in proof["accounts"] if not r["matched"]]})


@task(name="count-new-records", **OPTIONS)
def count_new_records(integration_id: str, kind: str, ids: list[str]) -> dict[str, int]:
    """For a dry run: how many of these (ledger account ids, contact or transaction external
    ids) a migration would create, and how many exist already."""
    if not ids:
        return {"wouldCreate": 0, "existing": 0}
    with transaction() as conn:
        if kind == "account":
            stmt = select(Account.id).where(Account.id.in_(ids))
        elif kind == "contact":
            stmt = select(Customer.external_id).where(Customer.integration_id == integration_id,
                                                      Customer.external_id.in_(ids))
        else:
            stmt = select(ExternalRef.external_id).where(
                ExternalRef.integration_id == integration_id,
                ExternalRef.object_type == "source_transaction",
                ExternalRef.external_id.in_(ids))
        have = set(conn.execute(stmt).scalars())
    return {"wouldCreate": len(set(ids) - have), "existing": len(have)}
