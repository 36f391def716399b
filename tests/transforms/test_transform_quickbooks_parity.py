"""The proof a migration rests on: every transaction of a generated QuickBooks company,
read through the sandbox's API and transformed, sums account by account to exactly the
company's own Trial Balance report (parsed by parse_trial_balance), to the cent, as of
several dates, in currencies with 0, 2 and 3 decimals, across a fiscal year end, with
voided transactions and the deleted ones CDC reports."""

from __future__ import annotations

import warnings
from datetime import UTC, date, timedelta
from typing import Any

import pytest

from bigledger.money import loads_exact
from sandbox.quickbooks import QuickBooksSandboxConfig, create_app
from sandbox.quickbooks.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REALM_ID,
    DEFAULT_REFRESH_TOKEN,
)
from transforms.documents import SourceTransactionDoc
from transforms.quickbooks_accounts import ledger_account_id
from transforms.quickbooks_reports import (
    compare_trial_balance,
    expected_trial_balance,
    parse_trial_balance,
)
from transforms.quickbooks_transactions import (
    TRANSACTION_ENTITIES,
    build_context,
    linked_total,
    transaction_to_doc,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PNL_TYPES = {"Income", "Cost of Goods Sold", "Expense", "Other Income", "Other Expense"}


class Source:
    """A sandbox company read the way a migration reads it: queries, CDC and the report."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("throttling", False)
        self.config = QuickBooksSandboxConfig(**config)
        app = create_app(self.config)
        self.sandbox = app.state.sandbox
        self.client = TestClient(app, base_url="https://sandbox-quickbooks.api.intuit.com")
        token = self.client.post("/oauth2/v1/tokens/bearer", data={
            "grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN},
            auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(f"/v3/company/{DEFAULT_REALM_ID}{path}",
                                   params={**params, "minorversion": 75}, headers=self.headers)
        assert response.status_code == 200, response.text
        return loads_exact(response.content)

    def all(self, entity: str, where: str = "") -> list[dict[str, Any]]:
        out, position = [], 1
        while True:
            page = self.get("/query", query=f"SELECT * FROM {entity}{where} STARTPOSITION "
                            f"{position} MAXRESULTS 1000")["QueryResponse"].get(entity, [])
            out.extend(page)
            if len(page) < 1000:
                return out
            position += 1000

    def deleted(self, entities: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
        """CDC's Deleted stubs, asked within its 30-day window of the last change."""
        last = max(g.deleted_at for g in self.sandbox.company.deleted)
        self.sandbox.reconfigure(now=last.astimezone(UTC) + timedelta(days=1))
        since = (last - timedelta(days=29)).isoformat()
        body = self.get("/cdc", entities=",".join(entities), changedSince=since)
        out: dict[str, list[dict[str, Any]]] = {}
        for part in body["CDCResponse"][0]["QueryResponse"]:
            for entity in entities:
                out.setdefault(entity, []).extend(
                    r for r in part.get(entity, []) if r.get("status") == "Deleted")
        return out

    def report(self, start: date, end: date) -> Any:
        return self.get("/reports/TrialBalance", start_date=start.isoformat(),
                        end_date=end.isoformat(), accounting_method="Accrual")


def migrate(source: Source) -> tuple[list[SourceTransactionDoc], dict[str, str], dict[str, Any]]:
    """Every transaction as documents, in the order a migration loads them."""
    home = source.get("/preferences")["Preferences"]["CurrencyPrefs"]["HomeCurrency"]["value"]
    accounts = source.all("Account", " WHERE Active IN (true, false)")
    txns = {entity: source.all(entity) for entity in TRANSACTION_ENTITIES}
    linked = dict(filter(None, (linked_total(e, t, home) for e in txns for t in txns[e])))
    context = build_context(DEFAULT_REALM_ID, home, accounts, source.all("Item"),
                            source.all("TaxRate"), source.all("TaxAgency"), linked)
    docs = [transaction_to_doc(entity, txn, context)
            for entity in TRANSACTION_ENTITIES for txn in txns[entity]]
    for entity, stubs in source.deleted(TRANSACTION_ENTITIES).items():
        docs.extend(transaction_to_doc(entity, stub, context) for stub in stubs)
    back = {ledger_account_id(DEFAULT_REALM_ID, a["Id"]): a["Id"] for a in accounts}
    return docs, back, {a["Id"]: a for a in accounts}


def ledger_balances(docs: list[SourceTransactionDoc], back: dict[str, str],
                    end: date) -> dict[str, int]:
    out: dict[str, int] = {}
    for doc in docs:
        assert doc.journal.is_balanced()
        if doc.journal.entry_date > end:
            continue
        for line in doc.journal.lines:
            account = back[line.account_id]
            out[account] = out.get(account, 0) + line.net_minor
    return out


@pytest.mark.parametrize("config", [
    {"seed": 1, "size": 900, "home_currency": "USD", "foreign_currencies": ("EUR", "GBP")},
    {"seed": 2, "size": 400, "home_currency": "JPY", "foreign_currencies": ("USD",)},
    {"seed": 3, "size": 400, "home_currency": "KWD", "foreign_currencies": ("EUR",),
     "void_percent": 10, "delete_percent": 10},
], ids=["USD", "JPY", "KWD"])
def test_transformed_journals_equal_the_trial_balance_account_by_account(config):
    source = Source(**config, days=240)
    docs, back, accounts = migrate(source)
    statuses = {doc.status for doc in docs}
    assert statuses == {"posted", "voided", "deleted"}
    assert any(doc.currency != source.config.home_currency for doc in docs)
    for end in (date(2024, 1, 31), date(2024, 5, 15), date(2024, 12, 31)):
        report = parse_trial_balance(source.report(date(2024, 1, 1), end))
        ledger = ledger_balances(docs, back, end)
        differences = compare_trial_balance(ledger, report)
        assert differences == [], differences[:5]
        assert {line.account_external_id for line in report} == {
            a for a, v in ledger.items() if v}
    fx = next(a["Id"] for a in accounts.values() if a.get("AccountSubType") ==
              "ExchangeGainOrLoss")
    assert ledger_balances(docs, back, date(2024, 12, 31)).get(fx)  # FX really happened


def test_parity_across_a_fiscal_year_end():
    source = Source(seed=4, size=500, days=500, fiscal_year_start_month=4)
    docs, back, accounts = migrate(source)
    pnl = {a for a, record in accounts.items() if record["AccountType"] in PNL_TYPES}
    retained = next(a for a, record in accounts.items()
                    if record.get("AccountSubType") == "RetainedEarnings")
    postings = [(doc.journal.entry_date, back[line.account_id], line.net_minor)
                for doc in docs for line in doc.journal.lines]
    for end in (date(2024, 3, 31), date(2024, 4, 1), date(2025, 2, 28)):
        want = expected_trial_balance(postings, end, income_statement_accounts=pnl,
                                      retained_earnings_account=retained, first_month=4)
        report = parse_trial_balance(source.report(date(2024, 1, 1), end))
        assert compare_trial_balance(want, report) == []
    assert want[retained] != 0  # the year to March 2024 closed into Retained Earnings


def test_the_migration_reads_the_same_documents_twice():
    first, _, _ = migrate(Source(seed=5, size=200))
    again, _, _ = migrate(Source(seed=5, size=200))
    assert first == again
    assert len({doc.external_id for doc in first}) == len(first)


def test_report_and_ledger_disagree_when_a_transaction_is_missing():
    source = Source(seed=6, size=200)
    docs, back, _ = migrate(source)
    end = date(2024, 12, 31)
    report = parse_trial_balance(source.report(date(2024, 1, 1), end))
    dropped = next(d for d in docs if d.txn_type == "invoice" and d.journal.lines)
    ledger = ledger_balances([d for d in docs if d is not dropped], back, end)
    differences = compare_trial_balance(ledger, report)
    touched = {back[line.account_id] for line in dropped.journal.lines}
    assert {d.account_external_id for d in differences} == touched
