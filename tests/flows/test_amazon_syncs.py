"""amazon-sync-orders and amazon-sync-fees against the Amazon SP-API sandbox and a real
Prefect server, on SQLite and PostgreSQL: orders paced within Amazon's limits, each
settlement posted only when it ties out to the cent, the Amazon clearing account emptied
order by order as settlements land, nothing changed by a rerun."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ledger.models import JournalEntry, JournalLine, SalesOrder, Settlement, SettlementLine
from ledger.reports import trial_balance, unbalanced_entries
from sandbox.amazon.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
)
from tests.ledger.helpers import dump

pytestmark = pytest.mark.usefixtures("prefect_api")
TABLES = ("sales_orders", "journal_entries", "journal_lines", "settlements",
          "settlement_lines", "external_refs")


@pytest.fixture
def amazon(sandbox):
    sandbox.control_platform("amazon", clear_faults=True, reset_stats=True,
                             reset_buckets=True)
    return sandbox


def make_amazon_integration(engine, url: str) -> str:
    from ledger.integrations import create_integration

    with engine.begin() as conn:
        create_integration(conn, "amazon", "Sandbox seller", {
            "sellerId": DEFAULT_SELLER_ID, "marketplaceId": "ATVPDKIKX0DER",
            "clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
            "refreshToken": DEFAULT_REFRESH_TOKEN}, {"baseUrl": url}, {},
            integration_id="int_amazon_test")
    return "int_amazon_test"


def whole_history(amazon) -> dict[str, str]:
    start = amazon.platform("amazon").config.start
    end = min(start + timedelta(days=89), datetime.now(UTC) - timedelta(minutes=5))
    return {"from": start.isoformat(), "to": end.isoformat()}


def sync_orders(**params):
    from flows.amazon import sync_orders as flow

    return flow(**params)


def sync_fees(**params):
    from flows.amazon import sync_fees as flow

    return flow(**params)


def test_orders_are_paced_posted_once_and_a_rerun_changes_nothing(ledger_engine, amazon):
    iid = make_amazon_integration(ledger_engine, amazon.url)
    run = sync_orders(integration_id=iid, date_range=whole_history(amazon))
    assert run["status"] == "completed", run
    assert run["counters"]["ordersCreated"] == 120
    stats = amazon.platform("amazon").stats
    assert stats.throttled == 0  # paced by the plan Amazon states: not one 429
    with ledger_engine.connect() as conn:
        statuses = set(conn.execute(select(SalesOrder.status).distinct()).scalars())
        assert trial_balance(conn)["balanced"] and unbalanced_entries(conn) == []
        posted = set(conn.execute(select(JournalEntry.source_id).distinct()).scalars())
    assert len(statuses) >= 2 and 0 < len(posted) < 120  # pending/cancelled: nothing posted
    before = dump(ledger_engine, TABLES)
    again = sync_orders(integration_id=iid, date_range=whole_history(amazon))
    assert again["counters"]["ordersCreated"] == again["counters"]["ordersUpdated"] == 0
    assert dump(ledger_engine, TABLES) == before


def test_settlements_tie_out_or_are_flagged_and_empty_the_clearing_account(ledger_engine,
                                                                          amazon):
    iid = make_amazon_integration(ledger_engine, amazon.url)
    assert sync_orders(integration_id=iid,
                       date_range=whole_history(amazon))["status"] == "completed"
    run = sync_fees(integration_id=iid, date_range=whole_history(amazon))
    assert run["status"] == "completed_with_errors", run  # settlement #1 is flagged
    counters = run["counters"]
    assert counters["settlementsFlagged"] == 1 and counters["settlementsPosted"] >= 2
    rows = run["result"]
    flagged = [r for r in rows if r["status"] == "flagged"]
    assert len(flagged) == 1 and flagged[0]["differenceMinor"] in (1, -1)
    with ledger_engine.connect() as conn:
        assert trial_balance(conn)["balanced"]
        settlements = conn.execute(select(Settlement.id, Settlement.external_id,
                                          Settlement.status)).all()
        entries = set(conn.execute(select(JournalEntry.source_id)
                                   .where(JournalEntry.source_type == "amazon.settlement"))
                      .scalars())
        assert entries == {ext for _, ext, status in settlements if status == "posted"}
        # Each order a posted settlement paid out leaves the clearing account exactly empty:
        # what the order debited, the settlement's order rows credited.
        order_debit = dict(conn.execute(
            select(JournalEntry.source_id, JournalLine.debit_minor - JournalLine.credit_minor)
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .where(JournalEntry.source_type == "amazon.order",
                   JournalLine.account_id == "acc_amazon")).all())
        settled: dict[str, int] = defaultdict(int)
        for sid, _ext, status in settlements:
            if status != "posted":
                continue
            for order_id, amount in conn.execute(
                    select(SettlementLine.order_id, SettlementLine.amount_minor)
                    .where(SettlementLine.settlement_id == sid,
                           SettlementLine.account_id == "acc_amazon")):
                settled[order_id] += amount
    assert settled and all(order_debit[o] == amount for o, amount in settled.items())

    before = dump(ledger_engine, TABLES)
    again = sync_fees(integration_id=iid, date_range=whole_history(amazon))
    assert again["counters"]["settlementsCreated"] == 0
    assert dump(ledger_engine, TABLES) == before
