"""The posting engine: the only way journal entries reach the books.

It refuses an unbalanced entry, and it never rewrites history: for each source document the
transform states the position the books should hold (a JournalDraft); the engine compares
it with what is already posted and posts only the difference as a new entry. Re-running
with the same drafts posts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, func, select

from bigledger.errors import UnbalancedEntry
from ledger.bulk import bulk_insert
from ledger.ids import stable_id
from ledger.models import JournalEntry, JournalLine, utcnow
from transforms.documents import (
    JournalDraft,
    JournalLineDraft,
    lines_from_net,
    net_by_account,
    net_difference,
)

Position = dict[str, dict[str, int]]  # currency -> account -> net debit in minor units


@dataclass(slots=True)
class EntryToPost:
    """A journal entry about to be posted, with its lines."""

    integration_id: str | None
    source_type: str
    source_id: str
    sequence: int
    kind: str
    entry_date: date
    currency: str
    memo: str
    lines: list[JournalLineDraft] = field(default_factory=list)

    @property
    def id(self) -> str:
        return stable_id("je", self.integration_id, self.source_type, self.source_id, self.sequence)


def validate_entry(entry: EntryToPost) -> None:
    """Raise UnbalancedEntry unless every line is one-sided and debits equal credits."""
    if not entry.lines:
        raise UnbalancedEntry(f"entry for {entry.source_type} {entry.source_id} has no lines")
    debits = credits = 0
    for line in entry.lines:
        d, c = line.debit_minor, line.credit_minor
        if not isinstance(d, int) or not isinstance(c, int) or isinstance(d, bool):
            raise UnbalancedEntry("journal amounts must be integer minor units")
        if d < 0 or c < 0 or (d and c) or not (d or c):
            raise UnbalancedEntry(
                f"line {line.account_id} of {entry.source_id} must have exactly one positive side"
            )
        debits += d
        credits += c
    if debits != credits:
        raise UnbalancedEntry(
            f"entry for {entry.source_type} {entry.source_id} does not balance: "
            f"debits {debits} != credits {credits} ({entry.currency} minor units)",
            details={"debits": debits, "credits": credits, "currency": entry.currency},
        )


def post_entries(conn: Connection, entries: list[EntryToPost]) -> None:
    """Validate every entry, then insert them and their lines in bulk (all or nothing)."""
    for entry in entries:
        validate_entry(entry)
    if not entries:
        return
    posted_at = utcnow()
    bulk_insert(
        conn, JournalEntry.__table__,
        [
            {
                "id": e.id, "integration_id": e.integration_id, "source_type": e.source_type,
                "source_id": e.source_id, "sequence": e.sequence, "kind": e.kind,
                "entry_date": e.entry_date, "currency": e.currency, "memo": e.memo,
                "posted_at": posted_at,
            }
            for e in entries
        ],
    )
    bulk_insert(
        conn, JournalLine.__table__,
        [
            {
                "entry_id": e.id, "line_no": n, "account_id": line.account_id,
                "debit_minor": line.debit_minor, "credit_minor": line.credit_minor,
                "currency": e.currency, "memo": line.memo,
            }
            for e in entries
            for n, line in enumerate(e.lines, start=1)
        ],
    )


def posted_positions(
    conn: Connection, integration_id: str | None, source_type: str, source_ids: Iterable[str]
) -> dict[str, tuple[Position, int]]:
    """What is on the books now, per source: its net position and its last entry sequence."""
    ids = list(source_ids)
    result: dict[str, tuple[Position, int]] = {}
    for chunk in _chunks(ids, 500):
        rows = conn.execute(
            select(
                JournalEntry.source_id,
                JournalLine.account_id,
                JournalLine.currency,
                func.sum(JournalLine.debit_minor - JournalLine.credit_minor),
                func.max(JournalEntry.sequence),
            )
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .where(
                JournalEntry.integration_id == integration_id,
                JournalEntry.source_type == source_type,
                JournalEntry.source_id.in_(chunk),
            )
            .group_by(JournalEntry.source_id, JournalLine.account_id, JournalLine.currency)
        )
        for source_id, account, currency, net, max_seq in rows:
            position, seq = result.get(source_id, ({}, -1))
            if net:
                position.setdefault(currency, {})[account] = int(net)
            result[source_id] = (position, max(seq, int(max_seq)))
    return result


def draft_position(draft: JournalDraft) -> Position:
    """A draft's net debit per currency and account."""
    net = net_by_account(draft.lines)
    return {draft.currency: net} if net else {}


def plan_entries(
    integration_id: str | None,
    source_type: str,
    drafts: Mapping[str, JournalDraft],
    posted: Mapping[str, tuple[Position, int]],
    change_dates: Mapping[str, date] | None = None,
) -> list[EntryToPost]:
    """The entries that bring the books from `posted` to `drafts`: originals for new sources,
    one adjustment (or reversal) per currency for changed ones, nothing for unchanged ones."""
    entries: list[EntryToPost] = []
    for source_id, draft in drafts.items():
        current, last_seq = posted.get(source_id, ({}, -1))
        if last_seq < 0:
            if draft.lines:
                entries.append(
                    EntryToPost(integration_id, source_type, source_id, 0, "original",
                                draft.entry_date, draft.currency, draft.memo, list(draft.lines))
                )
            continue
        desired = draft_position(draft)
        kind = "reversal" if not desired else "adjustment"
        # An adjustment belongs to the period of the change (a refund in March does not
        # reopen January), so it takes the source's change date when one is known.
        when = (change_dates or {}).get(source_id) or draft.entry_date
        memo = f"{'Reversal' if kind == 'reversal' else 'Adjustment'}: {draft.memo}"
        for currency in sorted(desired.keys() | current.keys()):
            delta = net_difference(desired.get(currency, {}), current.get(currency, {}))
            if not delta:
                continue
            last_seq += 1
            entries.append(
                EntryToPost(integration_id, source_type, source_id, last_seq, kind,
                            when, currency, memo, list(lines_from_net(delta, memo)))
            )
    return entries


def sync_journal(
    conn: Connection, integration_id: str | None, source_type: str,
    drafts: Mapping[str, JournalDraft],
    change_dates: Mapping[str, date] | None = None,
) -> int:
    """Make the books hold `drafts` for these sources; returns the number of entries posted."""
    posted = posted_positions(conn, integration_id, source_type, drafts.keys())
    entries = plan_entries(integration_id, source_type, drafts, posted, change_dates)
    post_entries(conn, entries)
    return len(entries)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
