"""Loading books migrated from an accounting system (QuickBooks Online, Xero): its chart as
ledger accounts of their own, its contacts as customers (suppliers too), its transactions
with their journals. All idempotent: a re-run writes nothing; a changed transaction posts only
the difference; a voided or deleted one is reversed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from ledger.bulk import bulk_insert
from ledger.ids import stable_id
from ledger.models import Account, Customer, SourceTransaction, utcnow
from ledger.posting import plan_entries, post_entries, posted_positions
from ledger.refs import content_hash, existing_refs, is_older, write_refs
from ledger.syncs import RecordFailure, add_counters, record_failures, resolve_failures, set_cursor

if TYPE_CHECKING:
    from transforms.documents import ContactDoc, SourceAccountDoc, SourceTransactionDoc

# classification -> (ledger account type, normal balance)
ACCOUNT_TYPES: dict[str, tuple[str, str]] = {
    "asset": ("asset", "debit"),
    "liability": ("liability", "credit"),
    "equity": ("equity", "credit"),
    "income": ("income", "credit"),
    "expense": ("expense", "debit"),
}
TRANSACTION = "source_transaction"


@dataclass(slots=True)
class LoadCounts:
    """What a load wrote."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    entries_posted: int = 0


def import_accounts(conn: Connection, integration_id: str, docs: Sequence[SourceAccountDoc],
                    ledger_ids: Mapping[str, str], code_prefix: str) -> LoadCounts:
    """Create or update a ledger account per source account (ids from `ledger_ids`, codes
    `<prefix><source number or id>`, unique in the chart)."""
    counts = LoadCounts()
    ids = {d.external_id: ledger_ids[d.external_id] for d in docs}
    existing = {row.id: row for row in conn.execute(
        select(Account).where(Account.id.in_(list(ids.values())))).all()} if ids else {}
    taken = set(conn.execute(select(Account.code)).scalars())
    for doc in docs:
        account_id = ids[doc.external_id]
        kind, normal = ACCOUNT_TYPES[doc.classification]
        values: dict[str, Any] = {
            "name": doc.name[:200], "type": kind, "subtype": (doc.source_subtype or "")[:40]
            or None, "normal_balance": normal, "is_active": doc.active,
            "integration_id": integration_id, "external_id": doc.external_id,
            "source_code": doc.code, "full_name": doc.full_name, "source_type": doc.source_type,
            "source_subtype": doc.source_subtype,
            "parent_id": ledger_ids.get(doc.parent_external_id or ""),
            "standard_account_id": doc.standard_account_id, "mapping_note": doc.mapping_note,
        }
        row = existing.get(account_id)
        if row is None:
            code = _free_code(f"{code_prefix}{doc.code or doc.external_id}", account_id, taken)
            taken.add(code)
            conn.execute(Account.__table__.insert().values(id=account_id, code=code, **values))
            counts.created += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            conn.execute(update(Account).where(Account.id == account_id).values(**values))
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts


def _free_code(wanted: str, account_id: str, taken: set[str]) -> str:
    code = wanted[:20]
    if code not in taken:
        return code
    suffix = hashlib.blake2b(account_id.encode(), digest_size=3).hexdigest()
    return f"{wanted[:13]}-{suffix}"


def import_contacts(conn: Connection, integration_id: str,
                    docs: Sequence[ContactDoc]) -> tuple[dict[str, str], LoadCounts]:
    """Upsert contacts as ledger customers (suppliers flagged); external id -> customer id."""
    counts = LoadCounts()
    unique = {d.external_id: d for d in docs}
    ids = {ext: stable_id("cus", integration_id, ext) for ext in unique}
    found = {ext: cid for ext, cid in conn.execute(
        select(Customer.external_id, Customer.id).where(
            Customer.integration_id == integration_id,
            Customer.external_id.in_(list(unique))))} if unique else {}
    stored = {cid: row for cid, row in ((r.id, r) for r in conn.execute(
        select(Customer).where(Customer.id.in_(list(found.values()))))
    )} if found else {}
    now = utcnow()
    for ext, doc in unique.items():
        values = _contact_values(doc)
        cid = found.get(ext)
        if cid is None:
            conn.execute(Customer.__table__.insert().values(
                id=ids[ext], integration_id=integration_id, external_id=ext,
                created_at=now, updated_at=now, **values))
            found[ext] = ids[ext]
            counts.created += 1
        elif any(getattr(stored[cid], k) != v for k, v in values.items()):
            conn.execute(update(Customer).where(Customer.id == cid).values(updated_at=now,
                                                                           **values))
            counts.updated += 1
        else:
            counts.unchanged += 1
    return found, counts


def _contact_values(doc: ContactDoc) -> dict[str, Any]:
    return {
        "email": doc.email, "first_name": doc.first_name, "last_name": doc.last_name,
        "name": doc.display_name, "company_name": doc.company_name, "phone": doc.phone,
        "billing_address": dict(doc.billing_address) if doc.billing_address else None,
        "shipping_address": dict(doc.shipping_address) if doc.shipping_address else None,
        "payment_terms": doc.payment_terms, "currency": doc.currency,
        "balance_minor": doc.balance_minor, "is_customer": doc.is_customer,
        "is_supplier": doc.is_supplier, "is_active": doc.active,
    }


def load_transaction_batch(
    conn: Connection, integration_id: str, source_type: str,
    docs: Sequence[SourceTransactionDoc], *, sync_id: str | None = None,
    failures: Sequence[RecordFailure] = (), cursor: tuple[str, str] | None = None,
    resume_cursor: str | None = None,
) -> LoadCounts:
    """Upsert a batch of source transactions and post their journals (differences only), with
    the sync's counters and cursors, all in the caller's transaction."""
    counts = LoadCounts()
    latest = {d.external_id: d for d in docs}
    hashes = {ext: content_hash(d) for ext, d in latest.items()}
    refs = existing_refs(conn, integration_id, TRANSACTION, list(latest))
    new = [e for e in latest if e not in refs]
    # A version older than the one imported (a slow worker, a late page) changes nothing.
    changed = [e for e in latest if e in refs and refs[e][0] != hashes[e]
               and not is_older(latest[e].source_updated_at, refs[e][1])]
    counts.created, counts.updated = len(new), len(changed)
    counts.unchanged = len(latest) - len(new) - len(changed)
    if new or changed:
        contacts = _contact_ids(conn, integration_id,
                                {latest[e].contact_external_id for e in new + changed})
        ids = {e: stable_id("stx", integration_id, e) for e in new + changed}
        now = utcnow()
        rows = [{**_txn_values(latest[e], contacts), "id": ids[e],
                 "integration_id": integration_id, "external_id": e,
                 "created_at": now, "updated_at": now} for e in new]
        bulk_insert(conn, SourceTransaction.__table__, rows)
        # A deletion arrives as a stub (no date, no amounts): the row keeps what it was and
        # only its status changes, and its reversal takes the transaction's own date.
        deleted = [e for e in changed if latest[e].status == "deleted"]
        original_dates = dict(conn.execute(
            select(SourceTransaction.external_id, SourceTransaction.txn_date).where(
                SourceTransaction.integration_id == integration_id,
                SourceTransaction.external_id.in_(deleted))).all()) if deleted else {}
        for e in changed:
            values = ({"status": "deleted"} if e in original_dates
                      else _txn_values(latest[e], contacts))
            conn.execute(update(SourceTransaction).where(SourceTransaction.id == ids[e])
                         .values(updated_at=now, **values))
        drafts = {e: latest[e].journal for e in new + changed}
        posted = posted_positions(conn, integration_id, source_type, changed) if changed else {}
        # A change is dated the transaction's own date, as the source books have it (a void
        # or a deletion in QuickBooks or Xero takes the transaction off its original
        # period), so the ledger's trial balance matches the source's at every date.
        entries = plan_entries(integration_id, source_type, drafts, posted, original_dates)
        post_entries(conn, entries)
        counts.entries_posted = len(entries)
        write_refs(conn, integration_id, TRANSACTION, new, changed, ids, hashes,
                   {e: latest[e].source_updated_at for e in new + changed})
        resolve_failures(conn, integration_id, TRANSACTION, new + changed)
    if sync_id:
        record_failures(conn, sync_id, integration_id, list(failures))
        add_counters(conn, sync_id, {
            "transactionsProcessed": len(docs) + len(failures),
            "transactionsCreated": counts.created, "transactionsUpdated": counts.updated,
            "transactionsFailed": len(failures), "journalEntriesPosted": counts.entries_posted,
        }, resume_cursor=resume_cursor)
    if cursor is not None:
        set_cursor(conn, integration_id, *cursor)
    return counts


def _txn_values(doc: SourceTransactionDoc, contacts: Mapping[str, str]) -> dict[str, Any]:
    return {
        "txn_type": doc.txn_type, "number": doc.number, "txn_date": doc.txn_date,
        "currency": doc.currency, "total_minor": doc.total_minor, "status": doc.status,
        "contact_id": contacts.get(doc.contact_external_id or ""), "memo": doc.memo,
        "source_updated_at": doc.source_updated_at,
    }


def _contact_ids(conn: Connection, integration_id: str, external_ids: set) -> dict[str, str]:
    wanted = [e for e in external_ids if e]
    if not wanted:
        return {}
    return dict(conn.execute(select(Customer.external_id, Customer.id).where(
        Customer.integration_id == integration_id, Customer.external_id.in_(wanted))).all())

