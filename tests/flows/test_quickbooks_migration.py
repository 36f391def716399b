"""QuickBooks Online migrations against the QuickBooks sandbox and a real Prefect server, on
SQLite and PostgreSQL: the chart mapped to the standard chart, contacts, and transactions
whose books prove themselves against QuickBooks' own Trial Balance, to the cent; a rerun
changes nothing; rotated refresh tokens are kept; a dead one is a clear error."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger.db import transaction
from ledger.integrations import create_integration, get_integration
from ledger.models import Account, Customer, SourceTransaction
from ledger.reports import trial_balance
from sandbox.quickbooks.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REALM_ID,
    DEFAULT_REFRESH_TOKEN,
)
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")
TABLES = ("accounts", "customers", "source_transactions", "journal_entries", "journal_lines",
          "external_refs")
FIRST_HALF = {"from": "2024-01-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"}


@pytest.fixture
def quickbooks(sandbox):
    """The session sandbox's company, new grants honoured, faults cleared."""
    sandbox.control_platform("quickbooks", clear_faults=True, reset_stats=True)
    return sandbox


def make_integration(engine, url: str, refresh_token: str = DEFAULT_REFRESH_TOKEN,
                     integration_id: str = "int_quickbooks_test") -> str:
    from tasks import connections

    connections._cache.clear()
    with engine.begin() as conn:
        create_integration(conn, "quickbooks", "Sandbox company", {
            "realmId": DEFAULT_REALM_ID, "clientId": DEFAULT_CLIENT_ID,
            "clientSecret": DEFAULT_CLIENT_SECRET, "refreshToken": refresh_token},
            {"baseUrl": url}, {}, integration_id=integration_id)
    return integration_id


def fresh_grant(sandbox) -> str:
    import httpx

    answer = httpx.post(f"{sandbox.url}/__sandbox/quickbooks/grant", timeout=10)
    answer.raise_for_status()
    return answer.json()["refresh_token"]


def test_chart_of_accounts_is_imported_and_mapped(ledger_engine, quickbooks):
    from flows.quickbooks import export_coa

    iid = make_integration(ledger_engine, quickbooks.url, fresh_grant(quickbooks))
    run = export_coa(integration_id=iid, include_inactive=True)
    assert run["status"] == "completed", run
    rows = run["result"]["accounts"]
    by_type = {r["type"]: r for r in rows}
    assert by_type["Accounts Receivable"]["standardAccountId"] == "acc_receivable"
    assert any(r["needsDecision"] for r in rows)  # a type with no standard mapping
    assert run["counters"]["accountsNeedingDecision"] >= 1
    with ledger_engine.connect() as conn:
        migrated = conn.execute(select(func.count()).select_from(Account).where(
            Account.integration_id == iid)).scalar_one()
    assert migrated == len(rows)


def test_full_migration_proves_itself_and_a_rerun_changes_nothing(ledger_engine, quickbooks):
    from flows.quickbooks import migrate_customers, migrate_transactions

    iid = make_integration(ledger_engine, quickbooks.url, fresh_grant(quickbooks))
    customers = migrate_customers(integration_id=iid)
    assert customers["status"] == "completed", customers
    run = migrate_transactions(integration_id=iid, date_range=FIRST_HALF, batch_size=40)
    assert run["status"] == "completed", run
    proof = run["result"]["trialBalance"]
    assert proof["matched"] and proof["accountsCompared"] > 10, proof
    with ledger_engine.connect() as conn:
        assert trial_balance(conn)["balanced"]
        statuses = dict(conn.execute(select(SourceTransaction.status, func.count())
                                     .group_by(SourceTransaction.status)).all())
        suppliers = conn.execute(select(func.count()).select_from(Customer).where(
            Customer.is_supplier.is_(True))).scalar_one()
    assert statuses.get("posted") and statuses.get("voided"), statuses
    assert suppliers > 0

    before = dump(ledger_engine, TABLES)
    again = migrate_transactions(integration_id=iid, date_range=FIRST_HALF, batch_size=40)
    assert again["status"] == "completed"
    assert again["counters"]["transactionsCreated"] == 0
    assert again["counters"]["journalEntriesPosted"] == 0
    assert dump(ledger_engine, TABLES) == before


def test_a_range_from_mid_history_opens_with_quickbooks_balances(ledger_engine, quickbooks):
    from flows.quickbooks import migrate_transactions

    iid = make_integration(ledger_engine, quickbooks.url, fresh_grant(quickbooks))
    run = migrate_transactions(integration_id=iid, date_range={
        "from": "2024-04-01T00:00:00Z", "to": "2024-05-31T23:59:59Z"})
    assert run["status"] == "completed", run
    assert run["result"]["trialBalance"]["matched"]


def test_rotated_refresh_tokens_are_kept_and_a_dead_one_says_reconnect(ledger_engine,
                                                                       quickbooks):
    from flows.quickbooks import export_coa

    first = fresh_grant(quickbooks)
    iid = make_integration(ledger_engine, quickbooks.url, first)
    quickbooks.control_platform("quickbooks", expire_access_tokens=True)
    assert export_coa(integration_id=iid)["status"] == "completed"
    with transaction(ledger_engine) as conn:
        stored = get_integration(conn, iid).credentials()
    assert stored["refreshToken"] != first  # the rotated token is what is on file now
    assert stored["accessToken"]

    quickbooks.control_platform("quickbooks", revoke_all=True)
    iid = make_integration(ledger_engine, quickbooks.url, stored["refreshToken"],
                           integration_id="int_quickbooks_revoked")
    with pytest.raises(Exception) as info:
        export_coa(integration_id=iid)
    assert "INVALID_CREDENTIALS" in str(info.value) and "reconnect" in str(info.value).lower()


def test_a_migration_killed_half_way_resumes_to_the_same_books(ledger_engine, quickbooks,
                                                               monkeypatch):
    import flows.quickbooks as qbo
    from ledger.models import JournalEntry
    from ledger.syncs import create_sync_run

    iid = make_integration(ledger_engine, quickbooks.url, fresh_grant(quickbooks))
    with transaction(ledger_engine) as conn:
        sync_id = create_sync_run(conn, iid, "quickbooks.migrate_transactions", {})["id"]
    real, calls = qbo.load_source_transactions, []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(qbo, "load_source_transactions", dying)
    with pytest.raises(RuntimeError):
        qbo.migrate_transactions(integration_id=iid, date_range=FIRST_HALF, batch_size=25,
                                 sync_id=sync_id)
    with ledger_engine.connect() as conn:
        half = conn.execute(select(func.count()).select_from(SourceTransaction)).scalar_one()
    assert half > 0
    monkeypatch.setattr(qbo, "load_source_transactions", real)
    run = qbo.migrate_transactions(integration_id=iid, date_range=FIRST_HALF, batch_size=25,
                                   sync_id=sync_id)
    assert run["status"] == "completed", run
    assert run["result"]["trialBalance"]["matched"]
    with ledger_engine.connect() as conn:
        originals = conn.execute(select(JournalEntry.source_id, func.count())
                                 .where(JournalEntry.kind == "original")
                                 .group_by(JournalEntry.source_id)).all()
    assert all(n == 1 for _, n in originals)


def test_a_transaction_deleted_in_quickbooks_comes_off_the_books_on_the_next_run(
        ledger_engine, quickbooks):
    from flows.quickbooks import migrate_transactions
    from ledger.models import JournalEntry

    iid = make_integration(ledger_engine, quickbooks.url, fresh_grant(quickbooks))
    first = migrate_transactions(integration_id=iid, date_range=FIRST_HALF)
    assert first["status"] == "completed"
    company = quickbooks.platform("quickbooks").company
    victim = next(r for r in company.txns["JournalEntry"]
                  if r["TxnDate"] <= "2024-06-30" and float(r.get("TotalAmt") or 0))
    try:
        quickbooks.control_platform("quickbooks", delete={"entity": "JournalEntry",
                                                          "id": victim["Id"]})
        again = migrate_transactions(integration_id=iid, date_range=FIRST_HALF)
        assert again["status"] == "completed", again
        assert again["result"]["trialBalance"]["matched"]
        with ledger_engine.connect() as conn:
            status = conn.execute(select(SourceTransaction.status).where(
                SourceTransaction.external_id == f"JournalEntry:{victim['Id']}")).scalar_one()
            kinds = list(conn.execute(select(JournalEntry.kind).where(
                JournalEntry.source_id == f"JournalEntry:{victim['Id']}")
                .order_by(JournalEntry.sequence)).scalars())
        assert status == "deleted" and kinds == ["original", "reversal"]
    finally:
        quickbooks.control_platform("quickbooks", regenerate=True)


def test_tokens_expiring_and_rotating_throughout_a_long_migration(ledger_engine, quickbooks):
    from flows.quickbooks import export_coa, migrate_transactions
    from tasks import connections

    iid = make_integration(ledger_engine, quickbooks.url, fresh_grant(quickbooks))
    # Access tokens that live two seconds; every refresh rotates the refresh token; pages
    # answer slowly, so the migration outlives several access tokens.
    quickbooks.control_platform("quickbooks", config={"access_token_ttl_seconds": 2},
                                faults={"slow": {"count": 1000, "delay_ms": 150}})
    try:
        issued = quickbooks.platform("quickbooks").stats.tokens_issued
        run = migrate_transactions(integration_id=iid, date_range=FIRST_HALF, batch_size=10)
        assert run["status"] == "completed", run
        assert quickbooks.platform("quickbooks").stats.tokens_issued - issued >= 2
        # What is on file works for a process that starts from scratch.
        connections._cache.clear()
        assert export_coa(integration_id=iid)["status"] == "completed"
    finally:
        quickbooks.control_platform("quickbooks", config={"access_token_ttl_seconds": 3600},
                                    clear_faults=True)
