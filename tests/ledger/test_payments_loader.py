"""Loading processor movements and marketplace settlements: idempotent, balanced, flagged
settlements never posted."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from ledger.integrations import create_integration
from ledger.models import JournalEntry, Payment, Settlement, SettlementLine
from ledger.payments import load_payment_batch
from ledger.reports import account_balance, trial_balance
from ledger.settlements import load_settlements
from ledger.syncs import create_sync_run, get_sync_run, list_failures
from tests.ledger.helpers import dump
from transforms.documents import (
    JournalDraft,
    PaymentDoc,
    SettlementDoc,
    SettlementLineDoc,
    lines_from_net,
)

TABLES = ("payments", "settlements", "settlement_lines", "journal_entries", "journal_lines",
          "external_refs")


def integration(conn, platform="stripe") -> str:
    return create_integration(conn, platform, "Test", {"secretKey": "sk_test_x"}, {}, {},
                              integration_id=f"int_{platform}_t").id


def payment(ext: str, kind: str, amount: int, fee: int, net_lines: dict[str, int],
            currency: str = "USD", status: str = "available") -> PaymentDoc:
    when = datetime(2024, 1, 5, 12, tzinfo=UTC)
    return PaymentDoc(
        external_id=ext, kind=kind, currency=currency, amount_minor=amount, fee_minor=fee,
        net_minor=amount - fee, occurred_at=when, status=status, source_id=None,
        order_ref=None, payout_id=None, description=kind,
        journal=JournalDraft(when.date(), currency, f"{kind} {ext}", lines_from_net(net_lines)))


def charge(ext="txn_1", amount=10_000, fee=320, currency="USD", status="available"):
    return payment(ext, "charge", amount, fee,
                   {"acc_stripe": amount - fee, "acc_sales": -amount, "acc_merchant_fees": fee},
                   currency, status)


def payout(ext, amount):
    return payment(ext, "payout", -amount, 0, {"acc_bank": amount, "acc_stripe": -amount})


def count(conn, model) -> int:
    return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_payments_twice_change_nothing_and_count_as_the_spec_says(ledger_engine):
    refund = payment("txn_2", "refund", -2_000, 0, {"acc_sales_returns": 2_000,
                                                    "acc_stripe": -2_000})
    batch = [charge(), refund, charge("txn_3", 5_000, 175),
             payment("txn_4", "dispute", -5_000, 1_500,
                     {"acc_chargebacks": 5_000, "acc_merchant_fees": 1_500,
                      "acc_stripe": -6_500})]
    with ledger_engine.begin() as conn:
        iid = integration(conn)
        sync = create_sync_run(conn, iid, "stripe.sync_payments", {})["id"]
        first = load_payment_batch(conn, iid, "stripe.payment", batch, sync_id=sync)
        counters = get_sync_run(conn, sync)["counters"]
    before = dump(ledger_engine, TABLES)
    with ledger_engine.begin() as conn:
        second = load_payment_batch(conn, iid, "stripe.payment", batch)
    assert (first.created, first.entries_posted) == (4, 4)
    assert (second.created, second.updated, second.entries_posted) == (0, 0, 0)
    assert dump(ledger_engine, TABLES) == before
    assert counters["paymentsProcessed"] == 4 and counters["paymentsCreated"] == 4
    assert counters["refundsProcessed"] == 1 and counters["chargebacksProcessed"] == 1
    assert counters["feesRecorded"] == 3
    assert counters["chargesGrossMinor:USD"] == 15_000
    assert counters["feesMinor:USD"] == 320 + 175 + 1_500


def test_clearing_is_zero_once_the_payout_lands(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = integration(conn)
        load_payment_batch(conn, iid, "stripe.payment", [charge(), charge("txn_3", 5_000, 175)])
        assert account_balance(conn, "acc_stripe", "USD") == 9_680 + 4_825
        load_payment_batch(conn, iid, "stripe.payment", [payout("txn_po", 9_680 + 4_825)])
        assert account_balance(conn, "acc_stripe", "USD") == 0
        assert account_balance(conn, "acc_bank", "USD") == 14_505
        assert trial_balance(conn)["balanced"]


def test_a_changed_movement_posts_only_the_difference(ledger_engine):
    with ledger_engine.begin() as conn:
        iid = integration(conn)
        load_payment_batch(conn, iid, "stripe.payment", [charge(status="pending")])
        # The same charge, now available and with a corrected fee: one adjustment.
        result = load_payment_batch(conn, iid, "stripe.payment", [charge(fee=300)])
        assert (result.updated, result.entries_posted) == (1, 1)
        kinds = conn.execute(select(JournalEntry.kind).order_by(JournalEntry.sequence)).scalars()
        assert list(kinds) == ["original", "adjustment"]
        assert conn.execute(select(Payment.status, Payment.fee_minor)).one() == ("available", 300)
        assert account_balance(conn, "acc_merchant_fees", "USD") == 300


def settlement(ext: str, total: int, amounts: list[tuple[str, str, int]]) -> SettlementDoc:
    lines = tuple(
        SettlementLineDoc("Order", "ItemPrice", category, "111-0000000-0000001", "SKU-1",
                          date(2024, 1, 10), amount, category, account)
        for category, account, amount in amounts
    )
    lines_total = sum(line.amount_minor for line in lines)
    net: dict[str, int] = {"acc_bank": total}
    for line in lines:
        net[line.account_id] = net.get(line.account_id, 0) - line.amount_minor
    journal = (JournalDraft(date(2024, 1, 16), "USD", f"Settlement {ext}",
                            lines_from_net({k: v for k, v in net.items() if v}))
               if lines_total == total else None)
    by_category: dict[str, int] = {}
    for line in lines:
        by_category[line.category] = by_category.get(line.category, 0) + line.amount_minor
    return SettlementDoc(ext, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 15, tzinfo=UTC),
                         date(2024, 1, 16), "USD", total, lines_total, by_category, lines,
                         journal)


def test_settlement_that_ties_out_is_posted_and_one_that_does_not_is_flagged(ledger_engine):
    rows = [("principal", "acc_amazon", 10_000), ("commissions", "acc_merchant_fees", -1_500),
            ("fba_fees", "acc_merchant_fees", -300)]
    good = settlement("S-GOOD", 8_200, rows)
    bad = settlement("S-BAD", 8_201, rows)
    with ledger_engine.begin() as conn:
        iid = integration(conn, "amazon")
        sync = create_sync_run(conn, iid, "amazon.sync_fees", {})["id"]
        result = load_settlements(conn, iid, "amazon.settlement", [good, bad], sync_id=sync)
        assert (result.posted, result.flagged, result.entries_posted) == (1, 1, 1)
        statuses = dict(conn.execute(select(Settlement.external_id, Settlement.status)).all())
        assert statuses == {"S-GOOD": "posted", "S-BAD": "flagged"}
        assert count(conn, SettlementLine) == 6
        assert account_balance(conn, "acc_bank", "USD") == 8_200
        assert account_balance(conn, "acc_amazon", "USD") == -10_000
        failures = list_failures(conn, sync)
        assert [f["external_id"] for f in failures] == ["S-BAD"]
        assert "difference 1)" in failures[0]["message"]
        row = next(r for r in result.reconciliation if r["settlementId"] == "S-BAD")
        assert row["differenceMinor"] == 1 and row["status"] == "flagged"
    before = dump(ledger_engine, TABLES)
    with ledger_engine.begin() as conn:
        again = load_settlements(conn, iid, "amazon.settlement", [good, bad])
    assert (again.created, again.updated, again.entries_posted) == (0, 0, 0)
    assert dump(ledger_engine, TABLES) == before
