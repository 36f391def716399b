"""Idempotent load of processor balance movements (PaymentDoc) and their journal entries.

One call loads one batch in the caller's transaction with the sync's counters and cursors,
like ledger.orders. A movement whose document is unchanged is skipped without a write; a
changed one (a pending charge now available, a refund that failed) is updated and its journal
gets only the difference posted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, update

from ledger.bulk import bulk_insert
from ledger.ids import stable_id
from ledger.models import Payment, utcnow
from ledger.posting import plan_entries, post_entries, posted_positions
from ledger.refs import content_hash, existing_refs, write_refs
from ledger.syncs import RecordFailure, add_counters, record_failures, resolve_failures, set_cursor

if TYPE_CHECKING:
    from transforms.documents import PaymentDoc

PAYMENT = "payment"
REFUND_KINDS = {"refund", "refund_failure"}
CHARGEBACK_KINDS = {"dispute", "dispute_reversal"}


@dataclass(slots=True)
class PaymentBatchResult:
    """What one batch did: counts, and per-currency sums of what it processed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    entries_posted: int = 0
    kinds: Counter = field(default_factory=Counter)


def batch_counters(docs: Sequence[PaymentDoc], result: PaymentBatchResult,
                   failures: int) -> dict[str, int]:
    """The spec's sync-payments counters for a batch, plus per-currency money sums
    (`chargesGrossMinor:USD`, `feesMinor:USD`) the API turns into totalAmount/totalFees."""
    counters: Counter = Counter({
        "paymentsProcessed": len(docs) + failures,
        "paymentsCreated": result.created,
        "paymentsUpdated": result.updated,
        "paymentsFailed": failures,
        "refundsProcessed": sum(d.kind in REFUND_KINDS for d in docs),
        "chargebacksProcessed": sum(d.kind in CHARGEBACK_KINDS for d in docs),
        "payoutsProcessed": sum(d.kind in ("payout", "payout_reversal") for d in docs),
        "feesRecorded": sum(1 for d in docs if d.fee_minor or d.kind == "fee"),
    })
    for doc in docs:
        if doc.kind == "charge":
            counters[f"chargesGrossMinor:{doc.currency}"] += doc.amount_minor
        # A fee-kind movement is all fee (its amount is the fee, negative); others carry theirs.
        fee = -doc.amount_minor if doc.kind == "fee" else doc.fee_minor
        if fee:
            counters[f"feesMinor:{doc.currency}"] += fee
    return {k: v for k, v in counters.items() if v or not k.count(":")}


def load_payment_batch(
    conn: Connection,
    integration_id: str,
    source_type: str,
    docs: Sequence[PaymentDoc],
    *,
    sync_id: str | None = None,
    failures: Sequence[RecordFailure] = (),
    cursor: tuple[str, str] | None = None,
    resume_cursor: str | None = None,
) -> PaymentBatchResult:
    """Upsert a batch of movements and post their journals, all in the caller's transaction."""
    result = PaymentBatchResult(failed=len(failures))
    latest = {doc.external_id: doc for doc in docs}  # the same id twice: the later wins
    hashes = {ext: content_hash(doc) for ext, doc in latest.items()}
    refs = {ext: ref[0] for ext, ref in existing_refs(conn, integration_id, PAYMENT,
                                                            list(latest)).items()}
    new = [ext for ext in latest if ext not in refs]
    changed = [ext for ext in latest if ext in refs and refs[ext] != hashes[ext]]
    result.created, result.updated = len(new), len(changed)
    result.unchanged = len(docs) - len(new) - len(changed)
    result.kinds.update(doc.kind for doc in docs)

    if new or changed:
        ids = {ext: stable_id("pay", integration_id, ext) for ext in new + changed}
        _write_payments(conn, integration_id, latest, new, changed, ids)
        drafts = {ext: latest[ext].journal for ext in new + changed}
        posted = posted_positions(conn, integration_id, source_type, changed) if changed else {}
        entries = plan_entries(integration_id, source_type, drafts, posted)
        post_entries(conn, entries)
        result.entries_posted = len(entries)
        write_refs(conn, integration_id, PAYMENT, new, changed, ids, hashes)
        resolve_failures(conn, integration_id, PAYMENT, new + changed)

    if sync_id:
        record_failures(conn, sync_id, integration_id, list(failures))
        add_counters(conn, sync_id, batch_counters(docs, result, len(failures)),
                     resume_cursor=resume_cursor)
    if cursor is not None:
        set_cursor(conn, integration_id, *cursor)
    return result


def _payment_row(integration_id: str, doc: PaymentDoc, pid: str, now) -> dict:
    return {
        "id": pid, "integration_id": integration_id, "external_id": doc.external_id,
        "kind": doc.kind, "currency": doc.currency, "amount_minor": doc.amount_minor,
        "fee_minor": doc.fee_minor, "net_minor": doc.net_minor, "occurred_at": doc.occurred_at,
        "status": doc.status, "source_id": doc.source_id, "order_ref": doc.order_ref,
        "payout_id": doc.payout_id, "description": doc.description,
        "created_at": now, "updated_at": now,
    }


def _write_payments(conn, integration_id, latest, new, changed, ids) -> None:
    now = utcnow()
    bulk_insert(conn, Payment.__table__,
                [_payment_row(integration_id, latest[e], ids[e], now) for e in new])
    if changed:
        rows = []
        for e in changed:
            row = _payment_row(integration_id, latest[e], ids[e], now)
            row.pop("created_at")
            row["b_id"] = row.pop("id")
            rows.append(row)
        cols = {k: bindparam(k) for k in rows[0] if k != "b_id"}
        conn.execute(update(Payment).where(Payment.id == bindparam("b_id")).values(**cols), rows)
