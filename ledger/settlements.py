"""Idempotent load of marketplace settlements (SettlementDoc): the settlement with its lines,
and one journal entry when it ties out to the cent.

A settlement that does not tie out is stored as `flagged` with its lines and difference, and
nothing is posted for it; the caller records it as a failure so it shows in the sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, update

from ledger.bulk import bulk_insert
from ledger.ids import stable_id
from ledger.models import Settlement, SettlementLine, utcnow
from ledger.posting import plan_entries, post_entries, posted_positions
from ledger.refs import content_hash, existing_refs, write_refs
from ledger.syncs import RecordFailure, add_counters, record_failures, resolve_failures

if TYPE_CHECKING:
    from transforms.documents import SettlementDoc

SETTLEMENT = "settlement"


@dataclass(slots=True)
class SettlementLoadResult:
    """What a load did, and one reconciliation row per settlement."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    posted: int = 0
    flagged: int = 0
    entries_posted: int = 0
    reconciliation: list[dict[str, Any]] = field(default_factory=list)


def reconciliation_row(doc: SettlementDoc) -> dict[str, Any]:
    """A settlement's tie-out in plain values (minor units), for the run's table artifact."""
    return {
        "settlementId": doc.external_id, "currency": doc.currency,
        "depositDate": doc.deposit_date.isoformat() if doc.deposit_date else None,
        "totalMinor": doc.total_minor, "linesTotalMinor": doc.lines_total_minor,
        "differenceMinor": doc.difference_minor, "lines": len(doc.lines),
        "status": "posted" if doc.ties_out else "flagged",
        **{f"{k}Minor": v for k, v in sorted(doc.by_category.items())},
    }


def load_settlements(
    conn: Connection,
    integration_id: str,
    source_type: str,
    docs: Sequence[SettlementDoc],
    *,
    sync_id: str | None = None,
) -> SettlementLoadResult:
    """Store settlements, post the ones that tie out, flag the others (one transaction)."""
    result = SettlementLoadResult()
    latest = {doc.external_id: doc for doc in docs}
    hashes = {ext: content_hash(doc) for ext, doc in latest.items()}
    refs = {ext: ref[0] for ext, ref in existing_refs(conn, integration_id, SETTLEMENT,
                                                            list(latest)).items()}
    new = [e for e in latest if e not in refs]
    changed = [e for e in latest if e in refs and refs[e] != hashes[e]]
    result.created, result.updated = len(new), len(changed)
    result.unchanged = len(latest) - len(new) - len(changed)
    ids = {e: stable_id("stl", integration_id, e) for e in latest}
    if new or changed:
        _write(conn, integration_id, latest, new, changed, ids, hashes)
        # Only settlements that tie out touch the books; a flagged one keeps whatever an
        # earlier, tied-out version of it posted until it ties out again.
        drafts = {e: latest[e].journal for e in new + changed if latest[e].ties_out}
        posted = posted_positions(conn, integration_id, source_type,
                                  [e for e in changed if e in drafts])
        entries = plan_entries(integration_id, source_type, drafts, posted)
        post_entries(conn, entries)
        result.entries_posted = len(entries)
        resolve_failures(conn, integration_id, SETTLEMENT, list(drafts))
    failures = []
    for doc in latest.values():
        result.reconciliation.append(reconciliation_row(doc))
        if doc.ties_out:
            result.posted += 1
        else:
            result.flagged += 1
            failures.append(RecordFailure(
                SETTLEMENT, doc.external_id, "DATA_MAPPING_ERROR",
                f"settlement {doc.external_id} does not tie out: lines add up to "
                f"{doc.lines_total_minor}, total-amount is {doc.total_minor} ({doc.currency} "
                f"minor units, difference {doc.difference_minor}); not posted",
                {"totalMinor": doc.total_minor, "linesTotalMinor": doc.lines_total_minor}))
    if sync_id:
        record_failures(conn, sync_id, integration_id, failures)
        add_counters(conn, sync_id, {
            "settlementsProcessed": len(latest), "settlementsCreated": result.created,
            "settlementsUpdated": result.updated, "settlementsPosted": result.posted,
            "settlementsFlagged": result.flagged,
            "settlementLinesProcessed": sum(len(d.lines) for d in latest.values()),
        })
    return result


def _write(conn, integration_id, latest, new, changed, ids, hashes) -> None:
    now = utcnow()

    def row(e: str) -> dict[str, Any]:
        d = latest[e]
        return {
            "id": ids[e], "integration_id": integration_id, "external_id": e,
            "start_at": d.start, "end_at": d.end, "deposit_date": d.deposit_date,
            "currency": d.currency, "total_minor": d.total_minor,
            "lines_total_minor": d.lines_total_minor,
            "status": "posted" if d.ties_out else "flagged",
            "by_category": dict(d.by_category), "line_count": len(d.lines),
            "created_at": now, "updated_at": now,
        }

    bulk_insert(conn, Settlement.__table__, [row(e) for e in new])
    for e in changed:
        values = row(e)
        values.pop("id"), values.pop("created_at")
        conn.execute(update(Settlement).where(Settlement.id == ids[e]).values(**values))
    if changed:
        conn.execute(delete(SettlementLine).where(
            SettlementLine.settlement_id.in_([ids[e] for e in changed])))
    bulk_insert(conn, SettlementLine.__table__, [
        {"settlement_id": ids[e], "line_no": n, "transaction_type": ln.transaction_type,
         "amount_type": ln.amount_type, "amount_description": ln.amount_description,
         "order_id": ln.order_id, "sku": ln.sku, "posted_date": ln.posted_date,
         "amount_minor": ln.amount_minor, "category": ln.category, "account_id": ln.account_id}
        for e in new + changed for n, ln in enumerate(latest[e].lines, start=1)
    ])
    write_refs(conn, integration_id, SETTLEMENT, new, changed, ids, hashes)
