"""The stripe-sync-payments flow against the Stripe sandbox and a real Prefect server, on
SQLite and PostgreSQL: every balance transaction once, zero- and three-decimal currencies
exact, the clearing account at zero once the payouts are in, nothing changed by a rerun."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger.models import Payment
from ledger.reports import account_balance, trial_balance, unbalanced_entries
from sandbox.stripe.config import DEFAULT_SECRET_KEY
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")
TABLES = ("payments", "journal_entries", "journal_lines", "external_refs")
JANUARY_AND_AFTER = {"from": "2024-01-01T00:00:00Z", "to": "2024-03-31T23:59:59Z"}


@pytest.fixture
def stripe(sandbox):
    sandbox.control_platform("stripe", clear_faults=True, reset_stats=True,
                             secret_keys=[DEFAULT_SECRET_KEY])
    return sandbox


def make_stripe_integration(engine, url: str, key: str = DEFAULT_SECRET_KEY,
                            integration_id: str = "int_stripe_test") -> str:
    from ledger.integrations import create_integration

    with engine.begin() as conn:
        create_integration(conn, "stripe", "Sandbox Stripe", {"secretKey": key},
                           {"baseUrl": url}, {}, integration_id=integration_id)
    return integration_id


def run_flow(**params):
    from flows.stripe import sync_payments

    return sync_payments(**params)


def sandbox_txns(stripe) -> list:
    return stripe.platform("stripe").data.txns.items


def test_every_balance_transaction_posts_once_and_clearing_ends_at_zero(ledger_engine, stripe):
    iid = make_stripe_integration(ledger_engine, stripe.url)
    run = run_flow(integration_id=iid, date_range=JANUARY_AND_AFTER, batch_size=120)
    assert run["status"] == "completed", run
    txns = sandbox_txns(stripe)
    counters = run["counters"]
    assert counters["paymentsProcessed"] == counters["paymentsCreated"] == len(txns)
    assert counters["refundsProcessed"] >= 1 and counters["chargebacksProcessed"] >= 1
    with ledger_engine.connect() as conn:
        assert set(conn.execute(select(Payment.external_id)).scalars()) == {t.id for t in txns}
        assert trial_balance(conn)["balanced"] and unbalanced_entries(conn) == []
        for currency in ("USD", "JPY", "KWD"):
            # all of the period's money went to the bank through payouts
            assert account_balance(conn, "acc_stripe", currency) == 0, currency
            assert account_balance(conn, "acc_bank", currency) > 0
        # Stripe's JPY amounts are whole yen, KWD thousandths: minor units as they come
        jpy = {t.id: t.amount for t in txns if t.currency == "jpy"}
        rows = conn.execute(select(Payment.external_id, Payment.amount_minor)
                            .where(Payment.currency == "JPY")).all()
        assert rows and all(jpy[ext] == amount for ext, amount in rows)
    gross = sum(t.amount for t in txns if t.currency == "usd" and t.type == "charge")
    assert counters["chargesGrossMinor:USD"] == gross

    before = dump(ledger_engine, TABLES)
    again = run_flow(integration_id=iid, date_range=JANUARY_AND_AFTER)
    assert (again["counters"]["paymentsCreated"], again["counters"]["paymentsUpdated"]) == (0, 0)
    assert dump(ledger_engine, TABLES) == before


def test_without_refunds_and_chargebacks_only_those_are_left_out(ledger_engine, stripe):
    iid = make_stripe_integration(ledger_engine, stripe.url)
    run = run_flow(integration_id=iid, date_range=JANUARY_AND_AFTER,
                   include_refunds=False, include_chargebacks=False)
    assert run["status"] == "completed"
    with ledger_engine.connect() as conn:
        kinds = set(conn.execute(select(Payment.kind).distinct()).scalars())
    assert "charge" in kinds and "payout" in kinds
    assert not kinds & {"refund", "dispute", "dispute_reversal"}


def test_incremental_sync_reads_only_what_is_new_and_survives_a_429_storm(ledger_engine,
                                                                          stripe):
    iid = make_stripe_integration(ledger_engine, stripe.url)
    stripe.control_platform("stripe", faults={"http_429": {"count": 5}})
    first = run_flow(integration_id=iid)
    assert first["status"] == "completed"
    assert stripe.platform("stripe").stats.rate_limited >= 5
    second = run_flow(integration_id=iid)
    assert second["counters"]["paymentsCreated"] == 0
    # the second run asked only for the last hour before the newest transaction
    assert second["counters"]["paymentsProcessed"] < first["counters"]["paymentsProcessed"]
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Payment)).scalar_one() == len(
            sandbox_txns(stripe))


def test_a_refused_key_fails_with_auth_failed_and_writes_nothing(ledger_engine, stripe):
    iid = make_stripe_integration(ledger_engine, stripe.url, key="sk_test_wrong",
                                  integration_id="int_stripe_bad")
    with pytest.raises(Exception) as info:
        run_flow(integration_id=iid, date_range=JANUARY_AND_AFTER)
    assert "AUTH_FAILED" in str(info.value)
    with ledger_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Payment)).scalar_one() == 0
