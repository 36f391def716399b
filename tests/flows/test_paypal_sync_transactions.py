"""The paypal-sync-transactions flow against the PayPal sandbox and a real Prefect server, on
SQLite and PostgreSQL: windows PayPal accepts, balanced books, the clearing account empty
after the withdrawals, nothing changed by a second run, late transactions not lost."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from ledger.models import JournalEntry, Payment
from ledger.reports import account_balance, trial_balance, unbalanced_entries
from sandbox.paypal.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")
TABLES = ("payments", "journal_entries", "journal_lines", "external_refs", "sync_cursors")


@pytest.fixture
def paypal(sandbox):
    """The session sandbox's PayPal account, faults cleared, the real clock, the 3 h lag."""
    sandbox.control_platform("paypal", clear_faults=True, now=None, reset_stats=True,
                             publication_lag_seconds=3 * 3600, max_result_items=10_000)
    return sandbox


def make_paypal_integration(engine, url: str) -> str:
    from ledger.integrations import create_integration

    with engine.begin() as conn:
        create_integration(conn, "paypal", "Sandbox PayPal",
                           {"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET},
                           {"baseUrl": url}, {}, integration_id="int_paypal_test")
    return "int_paypal_test"


def expected_ids(sandbox, until: datetime | None = None) -> set[str]:
    data = sandbox.platform("paypal").data
    data.ensure()
    limit = int(until.timestamp()) if until else None
    return {t.id for t in data.affecting if limit is None or t.ts <= limit}


def run_flow(**params):
    from flows.paypal import sync_transactions

    return sync_transactions(**params)


def test_a_range_in_windows_posts_every_transaction_once_and_clears(ledger_engine, paypal):
    data = paypal.platform("paypal")
    start = data.config.start
    end = start + timedelta(days=68)  # past the final withdrawal: three windows
    iid = make_paypal_integration(ledger_engine, paypal.url)
    window = {"from": start.isoformat(), "to": end.isoformat()}
    run = run_flow(integration_id=iid, date_range=window)
    assert run["status"] == "completed", run
    ids = expected_ids(paypal)
    with ledger_engine.connect() as conn:
        loaded = set(conn.execute(select(Payment.external_id)).scalars())
        assert loaded == ids
        assert trial_balance(conn)["balanced"] and unbalanced_entries(conn) == []
        # every payment, fee, refund and chargeback went to the bank by a withdrawal
        assert account_balance(conn, "acc_paypal", "USD") == 0
        assert account_balance(conn, "acc_bank", "USD") > 0
        kinds = dict(conn.execute(select(Payment.kind, func.count())
                                  .group_by(Payment.kind)).all())
    assert {"charge", "refund", "dispute", "payout", "hold", "release"} <= set(kinds)
    assert run["counters"]["paymentsCreated"] == len(ids)
    assert run["counters"]["chargebacksProcessed"] >= 1
    assert data.stats.pages_served >= 3  # 68 days: at least three 31-day windows

    before = dump(ledger_engine, TABLES)
    again = run_flow(integration_id=iid, date_range=window)
    assert again["counters"]["paymentsCreated"] == 0
    assert again["counters"]["paymentsUpdated"] == 0
    assert dump(ledger_engine, TABLES) == before


def test_incremental_syncs_wait_for_what_paypal_has_not_published(ledger_engine, paypal):
    data = paypal.platform("paypal")
    midway = data.config.start + timedelta(days=15, hours=5)
    paypal.control_platform("paypal", now=midway.isoformat())
    iid = make_paypal_integration(ledger_engine, paypal.url)
    first = run_flow(integration_id=iid)
    assert first["status"] == "completed"
    published = expected_ids(paypal, midway - timedelta(hours=3))
    with ledger_engine.connect() as conn:
        assert set(conn.execute(select(Payment.external_id)).scalars()) == published
        from ledger.syncs import get_cursor

        mark = datetime.fromisoformat(get_cursor(conn, iid, "paypal.transactions"))
    assert mark <= midway - timedelta(hours=3)  # never past what PayPal had published

    paypal.control_platform("paypal", now=None)  # time passes: everything is published
    second = run_flow(integration_id=iid)
    assert second["status"] == "completed"
    with ledger_engine.connect() as conn:
        assert set(conn.execute(select(Payment.external_id)).scalars()) == expected_ids(paypal)
        assert account_balance(conn, "acc_paypal", "USD") == 0
        per_source = conn.execute(select(JournalEntry.source_id, func.count())
                                  .group_by(JournalEntry.source_id)).all()
    assert all(n == 1 for _, n in per_source)


def test_a_window_over_the_result_cap_is_split_and_read_whole(ledger_engine, paypal):
    paypal.control_platform("paypal", max_result_items=60)
    data = paypal.platform("paypal")
    iid = make_paypal_integration(ledger_engine, paypal.url)
    start = data.config.start
    run = run_flow(integration_id=iid, date_range={
        "from": start.isoformat(), "to": (start + timedelta(days=20)).isoformat()})
    assert run["status"] == "completed"
    ids = expected_ids(paypal, start + timedelta(days=20))
    with ledger_engine.connect() as conn:
        assert set(conn.execute(select(Payment.external_id)).scalars()) == ids
    assert data.stats.too_large >= 1
    assert len(ids) > 60


def test_a_refused_client_fails_the_sync_with_auth_failed(ledger_engine, paypal):
    from ledger.integrations import create_integration

    with ledger_engine.begin() as conn:
        create_integration(conn, "paypal", "Wrong", {"clientId": "nope", "clientSecret": "x"},
                           {"baseUrl": paypal.url}, {}, integration_id="int_paypal_bad")
    with pytest.raises(Exception) as info:
        run_flow(integration_id="int_paypal_bad",
                 date_range={"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"})
    assert "AUTH_FAILED" in str(info.value)
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Payment)).scalar_one() == 0
