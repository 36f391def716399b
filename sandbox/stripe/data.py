"""A deterministic Stripe account history: charges, refunds, disputes, fees and payouts.

Everything is a pure function of the config's dataset fields. Charge i draws from its own
`random.Random` seeded with (seed, i), so a charge never changes when `size` grows (the
times spread over the period do). The history is consistent the way a real account is:

* every charge has a `charge` balance transaction: fee = 2.9 % + 30 cents (3.6 % for
  JPY), net = amount − fee, available `payout_delay_days` days after its day (00:00 UTC);
* refunds (full, partial, or two partials) post `refund` transactions with a negative
  amount and no fee; a refunded charge is never also disputed;
* a dispute posts an `adjustment` (`reporting_category` dispute) of minus the charge
  amount with a 15 USD-equivalent fee; a won one later posts a `dispute_reversal`
  adjustment giving the amount and the fee back;
* a weekly `stripe_fee` (Radar, 5 US cents a charge) per currency;
* automatic payouts per currency on the schedule, each sweeping exactly the net of the
  transactions that became available since the previous payout; the last one comes once
  everything is available, so each currency's whole history nets to zero.

Objects are kept compact and rendered as Stripe JSON on demand. Lists hold objects in
ascending (created, seq) order: `seq` is the creation order, breaking ties in a second.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.stripe.config import StripeSandboxConfig
from sandbox.stripe.currencies import StripeCurrency, stripe_currency

DAY = 86_400
PAYOUT_HOUR = 3_600  # automatic payouts leave at 01:00 UTC, after midnight's availability
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_FIRST = ("Ava", "Ben", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Isla", "Jun",
          "Kavya", "Liam", "Mei", "Noah", "Olivia", "Priya")  # fmt: skip
_LAST = ("Smith", "Tan", "Garcia", "Lee", "Sato", "Kumar", "Brown", "Ng", "Rossi", "Chen")
_BRANDS = (("visa", "4242"), ("mastercard", "4444"), ("amex", "8431"), ("visa", "1881"))
_REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent", None)
_DISPUTE_REASONS = ("fraudulent", "product_not_received", "duplicate", "general",
                    "credit_not_processed", "subscription_canceled")  # fmt: skip
CUSTOMER_POOL = 500


# Byte -> base-62 character (the slight bias of 256 % 62 does not matter for ids).
_B62_TABLE = bytes(ord(_B62[b % 62]) for b in range(256))


def stripe_id(prefix: str, *parts: Any) -> str:
    """A Stripe-looking id (`ch_` + 24 base-62 characters) that is a hash of `parts`."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=24).digest()
    return prefix + digest.translate(_B62_TABLE).decode("ascii")


def day_start(ts: int) -> int:
    """00:00 UTC of the day `ts` falls in."""
    return ts - ts % DAY


@dataclass(slots=True)
class Txn:
    """A balance transaction."""

    id: str
    type: str
    reporting_category: str
    amount: int
    fee: int
    currency: str
    created: int
    available_on: int
    source: str | None
    description: str | None
    fee_details: tuple[tuple[int, str, str], ...] = ()  # (amount, type, description)
    seq: int = 0
    rank: int = 0  # order among transactions of the same second (payouts last)
    payout: str | None = None  # the payout that carried it (sandbox bookkeeping)

    @property
    def net(self) -> int:
        """amount − fee."""
        return self.amount - self.fee


@dataclass(slots=True)
class Charge:
    id: str
    index: int
    amount: int
    currency: str
    created: int
    txn: str
    customer: str
    customer_name: str
    payment_intent: str
    payment_method: str
    brand: str
    last4: str
    order_id: str | None
    description: str | None
    refunds: list[str] = field(default_factory=list)
    dispute: str | None = None
    seq: int = 0


@dataclass(slots=True)
class Refund:
    id: str
    charge: str
    payment_intent: str
    amount: int
    currency: str
    created: int
    txn: str
    reason: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    seq: int = 0


@dataclass(slots=True)
class Dispute:
    id: str
    charge: str
    payment_intent: str
    amount: int
    currency: str
    created: int
    status: str
    reason: str
    brand: str
    txns: list[str] = field(default_factory=list)
    seq: int = 0


@dataclass(slots=True)
class Payout:
    id: str
    amount: int
    currency: str
    created: int
    arrival_date: int
    txn: str
    destination: str
    automatic: bool = True
    description: str | None = "STRIPE PAYOUT"
    members: list[str] = field(default_factory=list)  # txn ids, its own included
    seq: int = 0


class SortedObjects:
    """Objects of one kind in ascending (created, seq) order, with bisectable keys."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self.items: list[Any] = sorted(items, key=lambda o: (o.created, o.seq))
        self.keys: list[tuple[int, int]] = [(o.created, o.seq) for o in self.items]

    def add(self, item: Any) -> None:
        """Insert in order (runtime objects)."""
        key = (item.created, item.seq)
        at = bisect.bisect_right(self.keys, key)
        self.keys.insert(at, key)
        self.items.insert(at, item)

    def __len__(self) -> int:
        return len(self.items)


class StripeDataset:
    """The generated account history with indexes by id, source and payout."""

    def __init__(self, config: StripeSandboxConfig) -> None:
        self.config = config
        self.period_start = int(config.start.timestamp())
        self.period_end = self.period_start + config.days * DAY
        self.by_id: dict[str, Any] = {}
        self.by_source: dict[str, list[Txn]] = {}
        self._seq = 0
        charges, refunds, disputes, txns = self._generate()
        payouts = self._payouts(txns)
        txns.extend(self.by_id[p.txn] for p in payouts)
        # Creation order: by time, then charges before what follows from them in the same
        # second, and payouts after what they sweep.
        for txn in sorted(txns, key=lambda t: (t.created, t.rank, t.seq)):
            txn.seq = self._next_seq()
        for group in (charges, refunds, disputes, payouts):
            for obj in group:
                obj.seq = self.by_id[_txn_of(obj)].seq
        self.txns = SortedObjects(txns)
        self.charges = SortedObjects(charges)
        self.refunds = SortedObjects(refunds)
        self.disputes = SortedObjects(disputes)
        self.payouts = SortedObjects(payouts)
        for txn in self.txns.items:
            if txn.source is not None:
                self.by_source.setdefault(txn.source, []).append(txn)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # ---- generation -----------------------------------------------------------------------

    def _generate(self) -> tuple[list[Charge], list[Refund], list[Dispute], list[Txn]]:
        cfg = self.config
        start, end = self.period_start, self.period_end
        span = end - start
        charges: list[Charge] = []
        refunds: list[Refund] = []
        disputes: list[Dispute] = []
        txns: list[Txn] = []
        week_counts: dict[tuple[str, int], int] = {}
        for i in range(cfg.size):
            rng = random.Random(f"stripe:{cfg.seed}:charge:{i}")
            slot = max(1, span // max(1, cfg.size))
            created = min(end - 1, start + i * span // cfg.size + rng.randrange(slot))
            code = cfg.currencies[rng.randrange(len(cfg.currencies))]
            cur = stripe_currency(code)
            charge = self._charge(i, rng, created, cur)
            charges.append(charge)
            txns.append(self.by_id[charge.txn])
            week = (created - start) // (7 * DAY)
            week_counts[(code, week)] = week_counts.get((code, week), 0) + 1
            roll = rng.randrange(100)
            if roll < cfg.dispute_percent:
                dispute = self._dispute(rng, charge, cur)
                disputes.append(dispute)
                txns.extend(self.by_id[t] for t in dispute.txns)
            elif roll < cfg.dispute_percent + cfg.refund_percent:
                for refund in self._refunds(rng, charge, cur):
                    refunds.append(refund)
                    txns.append(self.by_id[refund.txn])
        txns.extend(self._fee_txns(week_counts))
        return charges, refunds, disputes, txns

    def _txn(self, key: Any, **fields: Any) -> Txn:
        txn = Txn(stripe_id("txn_", self.config.seed, "txn", key), **fields)
        self.by_id[txn.id] = txn
        return txn

    def _charge(self, i: int, rng: random.Random, created: int, cur: StripeCurrency) -> Charge:
        seed = self.config.seed
        amount = cur.from_usd(rng.choice((499, 1250, 1899, 2400, 4500, 9900, 18900))
                              + rng.randrange(0, 20_000))  # fmt: skip
        fee = min(cur.processing_fee(amount), amount - cur.step) if amount > cur.step else 0
        customer = rng.randrange(CUSTOMER_POOL)
        brand, last4 = _BRANDS[rng.randrange(len(_BRANDS))]
        order_id = str(1000 + i) if rng.randrange(10) < 8 else None
        charge_id = stripe_id("ch_", seed, "charge", i)
        txn = self._txn(
            ("charge", i), type="charge", reporting_category="charge", amount=amount, fee=fee,
            currency=cur.code, created=created,
            available_on=day_start(created) + self.config.payout_delay_days * DAY,
            source=charge_id, description=f"Order {order_id}" if order_id else "Payment",
            fee_details=((fee, "stripe_fee", "Stripe processing fees"),) if fee else (),
        )  # fmt: skip
        charge = Charge(
            id=charge_id, index=i, amount=amount, currency=cur.code, created=created,
            txn=txn.id, customer=stripe_id("cus_", seed, "customer", customer),
            customer_name=f"{_FIRST[customer % len(_FIRST)]} {_LAST[customer % len(_LAST)]}",
            payment_intent=stripe_id("pi_", seed, "pi", i),
            payment_method=stripe_id("pm_", seed, "pm", i), brand=brand, last4=last4,
            order_id=order_id, description=txn.description,
        )  # fmt: skip
        self.by_id[charge.id] = charge
        return charge

    def _later(self, rng: random.Random, after: int, low: int, high: int) -> int:
        """A time `low`..`high` seconds after `after`, kept inside the period."""
        return max(after, min(self.period_end - 1, after + rng.randint(low, high)))

    def _refunds(self, rng: random.Random, charge: Charge, cur: StripeCurrency) -> list[Refund]:
        shape = rng.randrange(10)
        amount = charge.amount
        if shape < 6 or amount < 4 * cur.step:
            parts = [amount]
        else:
            first = max(cur.step, amount * rng.randint(10, 60) // 100 // cur.step * cur.step)
            parts = [first]
            if shape == 9:
                rest = amount - first
                parts.append(max(cur.step, rest * rng.randint(20, 100) // 100 // cur.step
                                 * cur.step))  # fmt: skip
        out: list[Refund] = []
        when = charge.created
        for n, part in enumerate(parts):
            when = self._later(rng, when, 600, 5 * DAY)
            refund_id = stripe_id("re_", self.config.seed, "refund", charge.index, n)
            txn = self._txn(
                ("refund", charge.index, n), type="refund", reporting_category="refund",
                amount=-part, fee=0, currency=cur.code, created=when, available_on=when,
                source=refund_id, description="REFUND FOR CHARGE", rank=1,
            )  # fmt: skip
            refund = Refund(refund_id, charge.id, charge.payment_intent, part, cur.code, when,
                            txn.id, _REFUND_REASONS[rng.randrange(len(_REFUND_REASONS))])
            self.by_id[refund.id] = refund
            charge.refunds.append(refund.id)
            out.append(refund)
        return out

    def _dispute(self, rng: random.Random, charge: Charge, cur: StripeCurrency) -> Dispute:
        when = self._later(rng, charge.created, 2 * DAY, 10 * DAY)
        roll = rng.randrange(100)
        status = "won" if roll < 35 else "lost" if roll < 75 else "needs_response"
        dispute_id = stripe_id("dp_", self.config.seed, "dispute", charge.index)
        fee = cur.dispute_fee
        withdrawal = self._txn(
            ("dispute", charge.index), type="adjustment", reporting_category="dispute",
            amount=-charge.amount, fee=fee, currency=cur.code, created=when, available_on=when,
            source=dispute_id, description=f"Chargeback withdrawal for {charge.id}",
            fee_details=((fee, "stripe_fee", "Dispute fee"),), rank=2,
        )  # fmt: skip
        dispute = Dispute(dispute_id, charge.id, charge.payment_intent, charge.amount,
                          cur.code, when, status,
                          _DISPUTE_REASONS[rng.randrange(len(_DISPUTE_REASONS))], charge.brand,
                          [withdrawal.id])  # fmt: skip
        if status == "won":
            won_at = when + rng.randint(5 * DAY, 20 * DAY)
            if won_at >= self.period_end:
                dispute.status = "under_review"  # not decided inside the period
            else:
                reversal = self._txn(
                    ("dispute_reversal", charge.index), type="adjustment",
                    reporting_category="dispute_reversal", amount=charge.amount, fee=-fee,
                    currency=cur.code, created=won_at, available_on=won_at, source=dispute_id,
                    description=f"Chargeback reversal for {charge.id}",
                    fee_details=((-fee, "stripe_fee", "Dispute fee refund"),), rank=2,
                )  # fmt: skip
                dispute.txns.append(reversal.id)
        charge.dispute = dispute.id
        self.by_id[dispute.id] = dispute
        return dispute

    def _fee_txns(self, week_counts: dict[tuple[str, int], int]) -> list[Txn]:
        """One Radar fee per currency and week that had charges, at the week's end."""
        out = []
        for (code, week), count in sorted(week_counts.items()):
            cur = stripe_currency(code)
            week_start = self.period_start + week * 7 * DAY
            when = min(self.period_end, week_start + 7 * DAY) - 1
            first = datetime.fromtimestamp(week_start, UTC).date()
            last = datetime.fromtimestamp(when, UTC).date()
            amount = cur.from_usd(5 * count)
            out.append(self._txn(
                ("fee", code, week), type="stripe_fee", reporting_category="fee",
                amount=-amount, fee=0, currency=code, created=when, available_on=when,
                source=None, description=f"Radar ({first} - {last})", rank=3,
            ))  # fmt: skip
        return out

    def _payouts(self, txns: list[Txn]) -> list[Payout]:
        """Automatic payouts per currency; the last sweeps whatever is left."""
        step = DAY if self.config.payout_schedule == "daily" else 7 * DAY
        out: list[Payout] = []
        for code in self.config.currencies:
            mine = sorted((t for t in txns if t.currency == code),
                          key=lambda t: (t.available_on, t.created, t.rank))  # fmt: skip
            if not mine:
                continue
            last_available = mine[-1].available_on
            at = day_start(self.period_start) + PAYOUT_HOUR
            taken = 0
            number = 0
            while taken < len(mine):
                at += step
                upto = taken
                while upto < len(mine) and mine[upto].available_on <= at:
                    upto += 1
                batch = mine[taken:upto]
                total = sum(t.net for t in batch)
                final = upto == len(mine) and at >= last_available
                if not batch or (total <= 0 and not final):
                    continue  # a negative balance waits for later income
                if total == 0:
                    break  # nothing left to move: the history already nets to zero
                out.append(self._payout(code, number, at, total, batch))
                number += 1
                taken = upto
        return out

    def _payout(self, code: str, number: int, at: int, total: int, batch: list[Txn]) -> Payout:
        seed = self.config.seed
        payout_id = stripe_id("po_", seed, "payout", code, number)
        # A negative total (refunds and disputes outweighing income) is Stripe debiting the
        # bank: the payout's amount is negative and its transaction brings money in.
        txn = self._txn(
            ("payout", code, number), type="payout", reporting_category="payout",
            amount=-total, fee=0, currency=code, created=at, available_on=at,
            source=payout_id, description="STRIPE PAYOUT", rank=9,
        )  # fmt: skip
        payout = Payout(payout_id, total, code, at, day_start(at) + DAY, txn.id,
                        stripe_id("ba_", seed, "bank", code))  # fmt: skip
        for member in batch:
            member.payout = payout_id
        txn.payout = payout_id
        payout.members = [t.id for t in batch] + [txn.id]
        self.by_id[payout.id] = payout
        return payout

    # ---- lookups --------------------------------------------------------------------------

    def get(self, object_id: str) -> Any:
        """The object with this id, or None."""
        return self.by_id.get(object_id)

    def payout_members(self, payout_id: str) -> list[Txn]:
        """The transactions a payout carried, its own included, in creation order."""
        payout = self.by_id.get(payout_id)
        if not isinstance(payout, Payout):
            return []
        return sorted((self.by_id[t] for t in payout.members), key=lambda t: t.seq)

    def net_by_currency(self) -> dict[str, int]:
        """Sum of net over every balance transaction, per currency (0 when all paid out)."""
        out: dict[str, int] = {code: 0 for code in self.config.currencies}
        for txn in self.txns.items:
            out[txn.currency] = out.get(txn.currency, 0) + txn.net
        return out

    # ---- runtime additions (POST /v1/charges, /v1/refunds, /v1/payouts) ------------------

    def next_seq(self) -> int:
        """A creation number after every existing object."""
        return self._next_seq()

    def add_txn(self, txn: Txn) -> None:
        """Index a balance transaction created at runtime."""
        self.by_id[txn.id] = txn
        self.txns.add(txn)
        if txn.source is not None:
            self.by_source.setdefault(txn.source, []).append(txn)


def _txn_of(obj: Any) -> str:
    if isinstance(obj, Dispute):
        return obj.txns[0]
    return obj.txn
