"""THE key test: every record of a generated Xero organisation, transformed, summed per
account, equals the organisation's own Trial Balance report parsed by parse_trial_balance:
to the cent, account by account, as of the end and as of dates in between.

Records are rendered exactly as the sandbox serves them and parsed back with loads_exact, so
the transforms see Xero's JSON, never the sandbox's objects.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bigledger.money import loads_exact
from sandbox.xero import render
from sandbox.xero.config import XeroSandboxConfig
from sandbox.xero.data import Organisation
from transforms.documents import SourceTransactionDoc
from transforms.xero_accounts import ledger_account_id
from transforms.xero_reports import (
    financial_year_start,
    fold_prior_years,
    parse_trial_balance,
)
from transforms.xero_transactions import build_context, transaction_to_doc


def _json(value: Any) -> Any:
    return loads_exact(render.dumps(value))


def _records(org: Organisation) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for resource, objects, show in (
            ("Invoices", org.invoices, render.invoice),
            ("CreditNotes", org.credit_notes, render.credit_note),
            ("Payments", org.payments, render.payment),
            ("BankTransactions", org.bank_transactions, render.bank_transaction),
            ("ManualJournals", org.manual_journals, render.manual_journal)):  # fmt: skip
        out.extend((resource, _json(show(org, o))) for o in objects)
    return out


def _transform(org: Organisation) -> list[SourceTransactionDoc]:
    accounts = [_json(render.account(org, a)) for a in org.accounts]
    context = build_context(org.tenant_id, accounts, org.currency)
    return [transaction_to_doc(resource, record, context) for resource, record in _records(org)]


def _net(docs: list[SourceTransactionDoc], *, on_or_before: date | None = None,
         before: date | None = None) -> dict[str, int]:  # fmt: skip
    total: Counter[str] = Counter()
    for doc in docs:
        day = doc.journal.entry_date
        if (on_or_before is not None and day > on_or_before) or (
                before is not None and day >= before):  # fmt: skip
            continue
        for account, amount in doc.journal.net_by_account().items():
            total[account] += amount
    return {account: amount for account, amount in total.items() if amount}


def _report(org: Organisation, as_of: date) -> dict[str, int]:
    report = _json({"Reports": [render.trial_balance(org, as_of, datetime.now(UTC))]})
    lines = parse_trial_balance(report, org.currency)
    assert sum(line.debit_minor for line in lines) == sum(line.credit_minor for line in lines)
    return {ledger_account_id(org.tenant_id, line.account_external_id): line.net_minor
            for line in lines if line.net_minor}


def _differences(mine: dict[str, int], theirs: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {a: (mine.get(a, 0), theirs.get(a, 0)) for a in mine.keys() | theirs.keys()
            if mine.get(a, 0) != theirs.get(a, 0)}


@pytest.mark.parametrize("index", [0, 1])
def test_every_record_transformed_equals_the_trial_balance(index):
    org = Organisation(XeroSandboxConfig(seed=7, size=240), index)
    docs = _transform(org)
    assert all(doc.journal.is_balanced() for doc in docs)
    statuses = Counter(doc.status for doc in docs)
    assert statuses["posted"] > 200 and statuses["voided"] and statuses["deleted"]
    assert statuses["draft"]
    for as_of in (org.end - timedelta(days=1), org.start + timedelta(days=45),
                  org.start, org.start + timedelta(days=100)):
        mine, theirs = _net(docs, on_or_before=as_of), _report(org, as_of)
        assert _differences(mine, theirs) == {}, as_of
        assert mine, as_of
    # The data exercises what the transforms must get right.
    rounding = ledger_account_id(org.tenant_id, org.system_account("ROUNDING").id)
    assert any(rounding in d.journal.net_by_account() for d in docs)
    kinds = {d.txn_type for d in docs}
    assert {"invoice", "bill", "credit_note", "vendor_credit", "payment", "bill_payment",
            "credit_note_refund", "vendor_credit_refund", "bank_transaction",
            "manual_journal"} <= kinds


@pytest.mark.parametrize("currency", ["GBP", "JPY", "USD"])
def test_parity_in_other_currencies(currency):
    org = Organisation(XeroSandboxConfig(seed=3, size=120, base_currency=currency), 0)
    docs = _transform(org)
    assert _differences(_net(docs, on_or_before=org.end), _report(org, org.end)) == {}


def test_parity_across_a_financial_year_end():
    # Data from October to March with a 31 December year end: the report shows profit and
    # loss for January to March only and rolls October to December into Retained Earnings.
    config = XeroSandboxConfig(seed=5, size=150, start=datetime(2023, 10, 1, tzinfo=UTC),
                               days=180)
    org = Organisation(config, 0)
    docs = _transform(org)
    as_of = org.end - timedelta(days=1)
    year_start = financial_year_start(as_of, 12, 31)
    assert year_start == date(2024, 1, 1)
    pnl = {ledger_account_id(org.tenant_id, a.id) for a in org.accounts
           if a.account_class in ("REVENUE", "EXPENSE")}
    retained = ledger_account_id(org.tenant_id, org.system_account("RETAINEDEARNINGS").id)
    plain = _net(docs, on_or_before=as_of)
    theirs = _report(org, as_of)
    assert _differences(plain, theirs)  # without the fold they differ ...
    folded = fold_prior_years(plain, _net(docs, before=year_start), pnl, retained)
    assert _differences(folded, theirs) == {}  # ... with it they agree to the cent
    assert theirs[retained] != 0
