"""The Stripe sandbox's generated account history: deterministic, and consistent the way a
real Stripe balance is (fees, refunds, disputes, payouts that sweep it to zero)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from sandbox.stripe import StripeSandboxConfig
from sandbox.stripe.data import DAY, Charge, Dispute, StripeDataset, day_start


def dataset(**config) -> StripeDataset:
    return StripeDataset(StripeSandboxConfig(**config))


@pytest.fixture(scope="module")
def mixed() -> StripeDataset:
    return dataset(seed=3, size=600, days=45, currencies=("usd", "jpy", "kwd"),
                   refund_percent=15, dispute_percent=8)  # fmt: skip


def test_same_config_same_history_and_charges_stable_as_size_grows():
    one, two = dataset(seed=9, size=120), dataset(seed=9, size=120)
    assert [(t.id, t.amount, t.fee, t.created) for t in one.txns.items] == [
        (t.id, t.amount, t.fee, t.created) for t in two.txns.items]  # fmt: skip
    other = dataset(seed=10, size=120)
    assert {t.id for t in other.txns.items}.isdisjoint(t.id for t in one.txns.items)
    bigger = dataset(seed=9, size=240)
    small = {c.id: (c.amount, c.currency) for c in one.charges.items}
    large = {c.id: (c.amount, c.currency) for c in bigger.charges.items}
    assert all(large[cid] == value for cid, value in small.items())


def test_every_currency_nets_to_zero_and_each_payout_sweeps_what_it_carried(mixed):
    assert mixed.net_by_currency() == {"usd": 0, "jpy": 0, "kwd": 0}
    carried = set()
    for payout in mixed.payouts.items:
        members = mixed.payout_members(payout.id)
        own = [t for t in members if t.type == "payout"]
        assert [t.id for t in own] == [payout.txn]
        swept = [t for t in members if t.type != "payout"]
        assert own[0].amount == -sum(t.net for t in swept) == -payout.amount
        assert all(t.currency == payout.currency for t in members)
        # Only funds available by the payout's time leave with it.
        assert all(t.available_on <= payout.created for t in swept)
        assert carried.isdisjoint(t.id for t in swept)
        carried.update(t.id for t in swept)
    # Every transaction that is not a payout left the balance with exactly one payout.
    assert carried == {t.id for t in mixed.txns.items if t.type != "payout"}
    per_currency = defaultdict(int)
    for payout in mixed.payouts.items:
        per_currency[payout.currency] += 1
    assert set(per_currency) == {"usd", "jpy", "kwd"}


def test_weekly_payouts_also_empty_the_balance():
    data = dataset(seed=4, size=150, payout_schedule="weekly", days=20)
    assert data.net_by_currency() == {"usd": 0}
    created = [p.created for p in data.payouts.items]
    assert all(b - a >= 7 * DAY for a, b in zip(created, created[1:], strict=False))


def test_charges_carry_fee_and_net_and_become_available_after_the_delay(mixed):
    for charge in mixed.charges.items:
        txn = mixed.by_id[charge.txn]
        assert (txn.type, txn.reporting_category, txn.source) == ("charge", "charge", charge.id)
        assert txn.amount == charge.amount > txn.fee > 0
        assert txn.net == txn.amount - txn.fee
        assert sum(a for a, _, _ in txn.fee_details) == txn.fee
        assert txn.available_on == day_start(txn.created) + 2 * DAY
        assert mixed.period_start <= charge.created < mixed.period_end


def test_currency_granularity_as_stripe_writes_it():
    data = dataset(seed=5, size=300, currencies=("jpy", "kwd", "isk", "ugx"))
    by_currency = defaultdict(list)
    for txn in data.txns.items:
        by_currency[txn.currency].append(txn)
    usd_like = {code: sorted(t.amount for t in txns if t.type == "charge")
                for code, txns in by_currency.items()}  # fmt: skip
    # JPY is whole yen (a 5 USD charge is hundreds of yen, not tens of thousands).
    assert 500 <= usd_like["jpy"][0] and usd_like["jpy"][-1] < 5_000_000
    for txn in by_currency["kwd"]:
        assert txn.amount % 10 == 0 and txn.fee % 10 == 0  # thousandths ending in 0
    for code in ("isk", "ugx"):
        assert all(t.amount % 100 == 0 and t.fee % 100 == 0 for t in by_currency[code])
    assert data.net_by_currency() == {"jpy": 0, "kwd": 0, "isk": 0, "ugx": 0}


def test_refunds_and_disputes_post_like_stripe(mixed):
    refunded = disputed = won = 0
    for charge in mixed.charges.items:
        assert not (charge.refunds and charge.dispute), "a charge is refunded or disputed"
        total = 0
        for refund_id in charge.refunds:
            refund = mixed.by_id[refund_id]
            txn = mixed.by_id[refund.txn]
            assert (txn.type, txn.amount, txn.fee, txn.source) == ("refund", -refund.amount, 0,
                                                                   refund.id)  # fmt: skip
            assert refund.created >= charge.created
            total += refund.amount
        assert total <= charge.amount
        refunded += bool(charge.refunds)
        if charge.dispute:
            disputed += 1
            dispute = mixed.by_id[charge.dispute]
            assert isinstance(dispute, Dispute)
            withdrawal = mixed.by_id[dispute.txns[0]]
            assert (withdrawal.type, withdrawal.reporting_category) == ("adjustment", "dispute")
            assert withdrawal.amount == -charge.amount
            expected_fee = 1500 if charge.currency == "usd" else withdrawal.fee
            assert withdrawal.fee == expected_fee > 0
            if dispute.status == "won":
                won += 1
                reversal = mixed.by_id[dispute.txns[1]]
                assert reversal.reporting_category == "dispute_reversal"
                assert (reversal.amount, reversal.fee) == (charge.amount, -withdrawal.fee)
                assert reversal.net == -withdrawal.net
            else:
                assert len(dispute.txns) == 1
    assert refunded and disputed and won
    partial = [c for c in mixed.charges.items if c.refunds
               and sum(mixed.by_id[r].amount for r in c.refunds) < c.amount]  # fmt: skip
    assert partial, "some refunds are partial"


def test_radar_fees_and_an_empty_account():
    data = dataset(seed=2, size=80, days=21)
    fees = [t for t in data.txns.items if t.type == "stripe_fee"]
    assert len(fees) == 3 and all(t.amount < 0 and t.fee == 0 for t in fees)
    empty = dataset(size=0)
    assert len(empty.txns) == 0 and len(empty.payouts) == 0
    assert empty.net_by_currency() == {"usd": 0}


def test_lookup_by_id_and_order():
    data = dataset(seed=8, size=60)
    keys = data.txns.keys
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    charge = data.charges.items[0]
    assert isinstance(data.get(charge.id), Charge) and data.get("ch_nope") is None
    assert data.payout_members("po_nope") == []
