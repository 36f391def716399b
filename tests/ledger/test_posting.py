"""The posting engine refuses unbalanced entries and never rewrites history."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from bigledger.errors import UnbalancedEntry
from ledger.models import JournalEntry
from ledger.posting import EntryToPost, post_entries, sync_journal
from ledger.reports import trial_balance, unbalanced_entries
from tests.ledger.helpers import make_integration
from transforms.documents import JournalDraft, JournalLineDraft


def draft(*lines: tuple[str, int, int], currency: str = "MYR") -> JournalDraft:
    return JournalDraft(date(2024, 1, 15), currency, "test",
                        tuple(JournalLineDraft(a, d, c, "") for a, d, c in lines))


def test_unbalanced_entry_is_refused_and_nothing_is_written(ledger_engine):
    entry = EntryToPost(None, "manual", "x1", 0, "original", date(2024, 1, 1), "MYR", "bad",
                        [JournalLineDraft("acc_bank", 1000, 0),
                         JournalLineDraft("acc_sales", 0, 999)])
    with pytest.raises(UnbalancedEntry) as info:
        with ledger_engine.begin() as conn:
            post_entries(conn, [entry])
    assert info.value.details == {"debits": 1000, "credits": 999, "currency": "MYR"}
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 0


def test_entry_without_lines_is_refused(ledger_engine):
    entry = EntryToPost(None, "manual", "x2", 0, "original", date(2024, 1, 1), "MYR", "", [])
    with pytest.raises(UnbalancedEntry), ledger_engine.begin() as conn:
        post_entries(conn, [entry])


def test_changes_post_adjustments_and_reversals_never_edits(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        sale = draft(("acc_receivable", 10600, 0), ("acc_sales", 0, 10000), ("acc_tax_sst", 0, 600))
        assert sync_journal(conn, iid, "shopify.order", {"1": sale}) == 1
        assert sync_journal(conn, iid, "shopify.order", {"1": sale}) == 0  # same again: nothing
        paid = draft(("acc_stripe", 10600, 0), ("acc_sales", 0, 10000), ("acc_tax_sst", 0, 600))
        assert sync_journal(conn, iid, "shopify.order", {"1": paid},
                            {"1": date(2024, 2, 1)}) == 1
        assert sync_journal(conn, iid, "shopify.order", {"1": draft()}) == 1  # voided
    with ledger_engine.connect() as conn:
        entries = conn.execute(
            select(JournalEntry.sequence, JournalEntry.kind, JournalEntry.entry_date)
            .order_by(JournalEntry.sequence)).all()
        assert [(s, k) for s, k, _ in entries] == [
            (0, "original"), (1, "adjustment"), (2, "reversal")]
        assert entries[1][2] == date(2024, 2, 1)  # the adjustment sits in the period of change
        tb = trial_balance(conn)
        assert tb["balanced"]
        assert all(a["balance_minor"] == 0 for a in tb["accounts"])  # fully reversed
        assert unbalanced_entries(conn) == []


def test_trial_balance_sums_to_zero_per_currency(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = make_integration(conn)
        sync_journal(conn, iid, "shopify.order", {
            "1": draft(("acc_stripe", 1500, 0), ("acc_sales", 0, 1500), currency="JPY"),
            "2": draft(("acc_stripe", 10600, 0), ("acc_sales", 0, 10000), ("acc_tax_sst", 0, 600)),
        })
        tb = trial_balance(conn)
    assert tb["balanced"]
    assert tb["totals"] == {
        "JPY": {"debit_minor": 1500, "credit_minor": 1500, "difference_minor": 0},
        "MYR": {"debit_minor": 10600, "credit_minor": 10600, "difference_minor": 0},
    }
