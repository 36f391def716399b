"""xero-full-migration against the Xero sandbox and a real Prefect server, on SQLite and
PostgreSQL: the chosen organisation migrated in dependency order with its books proved
against Xero's own Trial Balance; a dry run writes nothing; a rerun changes nothing;
single-use refresh tokens are kept as they rotate."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger.db import transaction
from ledger.integrations import create_integration, get_integration
from ledger.models import Account, Customer, JournalEntry, SourceTransaction
from sandbox.xero.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")
TABLES = ("accounts", "customers", "source_transactions", "journal_entries", "journal_lines",
          "external_refs")
FIRST_HALF = {"from": "2024-01-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"}


@pytest.fixture
def xero(sandbox):
    sandbox.control_platform("xero", clear_faults=True, reset_limits=True, reset_stats=True,
                             reconnect_all=True)
    return sandbox


def make_integration(engine, sandbox, integration_id: str = "int_xero_test") -> str:
    import httpx

    from tasks import connections

    connections._cache.clear()
    token = f"xero_rt_test_{integration_id}"
    httpx.post(f"{sandbox.url}/__sandbox/xero/control", json={"add_refresh_token": token},
               timeout=10).raise_for_status()
    tenant = sandbox.platform("xero").organisations[1].tenant_id  # the second of two
    with engine.begin() as conn:
        create_integration(conn, "xero", "Sandbox organisation", {
            "clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
            "refreshToken": token}, {"baseUrl": sandbox.url, "tenantId": tenant}, {},
            integration_id=integration_id)
    return integration_id


def run_flow(**params):
    from flows.xero import full_migration

    return full_migration(**params)


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_dry_run_reports_what_it_would_create_and_writes_nothing(ledger_engine, xero):
    iid = make_integration(ledger_engine, xero)
    run = run_flow(integration_id=iid, date_range=FIRST_HALF, dry_run=True)
    assert run["status"] == "completed", run
    plan = run["result"]["dryRun"]
    assert plan["accounts"]["wouldCreate"] > 10 and plan["contacts"]["wouldCreate"] > 0
    assert plan["Invoices"]["wouldCreate"] > 0
    assert count(ledger_engine, SourceTransaction) == 0
    assert count(ledger_engine, JournalEntry) == 0
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Account).where(
            Account.integration_id == iid)).scalar_one() == 0


def test_full_migration_proves_itself_rotates_tokens_and_reruns_to_no_change(ledger_engine,
                                                                             xero):
    iid = make_integration(ledger_engine, xero)
    with transaction(ledger_engine) as conn:
        first_token = get_integration(conn, iid).credentials()["refreshToken"]
    run = run_flow(integration_id=iid, date_range=FIRST_HALF, batch_size=50)
    assert run["status"] == "completed", run
    proof = run["result"]["trialBalance"]
    assert proof["matched"] and proof["accountsCompared"] > 10, proof
    with ledger_engine.connect() as conn:
        statuses = dict(conn.execute(select(SourceTransaction.status, func.count())
                                     .group_by(SourceTransaction.status)).all())
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() > 0
    assert statuses.get("posted") and statuses.get("voided") and statuses.get("draft")
    with transaction(ledger_engine) as conn:
        assert get_integration(conn, iid).credentials()["refreshToken"] != first_token

    before = dump(ledger_engine, TABLES)
    again = run_flow(integration_id=iid, date_range=FIRST_HALF, batch_size=50)
    assert again["status"] == "completed"
    assert again["counters"]["transactionsCreated"] == 0
    assert dump(ledger_engine, TABLES) == before


def test_a_range_from_mid_history_opens_with_xero_balances(ledger_engine, xero):
    iid = make_integration(ledger_engine, xero)
    run = run_flow(integration_id=iid, date_range={"from": "2024-03-01T00:00:00Z",
                                                   "to": "2024-05-31T23:59:59Z"})
    assert run["status"] == "completed", run
    assert run["result"]["trialBalance"]["matched"]


def test_a_revoked_grant_fails_with_reconnect(ledger_engine, xero):
    iid = make_integration(ledger_engine, xero)
    xero.control_platform("xero", revoke=True)
    with pytest.raises(Exception) as info:
        run_flow(integration_id=iid, date_range=FIRST_HALF)
    assert "INVALID_CREDENTIALS" in str(info.value) and "reconnect" in str(info.value).lower()


def test_a_migration_killed_half_way_resumes_to_the_same_books(ledger_engine, xero,
                                                               monkeypatch):
    import flows.xero as xero_flow
    from ledger.syncs import create_sync_run

    iid = make_integration(ledger_engine, xero)
    with transaction(ledger_engine) as conn:
        sync_id = create_sync_run(conn, iid, "xero.full_migration", {})["id"]
    real, calls = xero_flow.load_source_transactions, []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(xero_flow, "load_source_transactions", dying)
    with pytest.raises(RuntimeError):
        run_flow(integration_id=iid, date_range=FIRST_HALF, batch_size=40, sync_id=sync_id)
    assert count(ledger_engine, SourceTransaction) > 0
    monkeypatch.setattr(xero_flow, "load_source_transactions", real)
    run = run_flow(integration_id=iid, date_range=FIRST_HALF, batch_size=40, sync_id=sync_id)
    assert run["status"] == "completed", run
    assert run["result"]["trialBalance"]["matched"]
    with ledger_engine.connect() as conn:
        originals = conn.execute(select(JournalEntry.source_id, func.count())
                                 .where(JournalEntry.kind == "original")
                                 .group_by(JournalEntry.source_id)).all()
    assert all(n == 1 for _, n in originals)
