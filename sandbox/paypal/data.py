"""Deterministic PayPal account history: customer payments and everything that follows them.

Customer payment i is a pure function of (seed, i) and the dataset fields: its time (payments
spread evenly over `days`), currency, T-code, amount, fee and fate. What follows a payment
hangs off it with delays from its own hash: a refund (T1107, part of the fee returned by the
configured policy), a dispute hold (T1110) released when the seller wins (T1111) or released
and charged back when the seller loses (T1111 + T1201 + the T0106 chargeback fee).
Withdrawals to the bank (T0400) sweep every currency's balance on a schedule, a negative
balance is topped up from the bank (T0300), and one last sweep after the final movement
leaves every balance at zero.

The history is built once, on first use, as compact `Txn` records sorted by time; the
Transaction Search JSON of a record is rendered only when a page asks for it.

Balances: `ending_balance` is the running sum of amount + fee over the balance-affecting
records (status S or V) of a currency, so a dispute hold takes money out of it and its
release puts it back; /v1/reporting/balances reports that sum as available, the open holds
as withheld, and total = available + withheld. Pending (P) and denied (D) payments never
touch a balance and are served only with `balance_affecting_records_only=N`.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bigledger.money import currency_exponent
from sandbox.paypal.config import PayPalSandboxConfig
from sandbox.shopify.currencies import profile_for
from sandbox.shopify.data import _Weighted, mix64, money_formatter

_MASK = (1 << 64) - 1
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PAYER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # PayPal payer ids: ^[2-9A-HJ-NP-Z]{13}$
_DAY = 86_400

# PayPal's published US rate for checkout payments; fixed fee and chargeback fee in US cents,
# scaled to each currency's price level.
FEE_RATE_BPS = 349
FIXED_FEE_US_CENTS = 49
CHARGEBACK_FEE_US_CENTS = 2_000

_PAYMENT_CODES = _Weighted([("T0006", 60), ("T0007", 30), ("T0002", 10)])
_FIRST = ("Ava", "Ben", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Isla", "Jun",
          "Kavya", "Liam", "Mei", "Noah", "Olivia", "Priya")  # fmt: skip
_LAST = ("Smith", "Tan", "Garcia", "Lee", "Sato", "Kumar", "Brown", "Ng", "Rossi", "Chen")
_COUNTRIES = ("US", "GB", "DE", "MY", "JP", "AU", "CA", "FR")
_ITEMS = ("Organic Coffee Beans", "Ceramic Pour-Over Set", "Linen Apron", "Travel Tumbler",
          "Walnut Serving Board", "Cold Brew Kit", "Espresso Grinder", "Gift Card")  # fmt: skip

SUBJECTS = {
    "T0106": "Chargeback processing fee",
    "T0300": "Transfer from bank account",
    "T0400": "Withdrawal to bank account",
    "T1107": "Refund",
    "T1110": "Hold for dispute investigation",
    "T1111": "Cancellation of hold for dispute resolution",
    "T1201": "Chargeback",
}
PAYMENT_CODES = frozenset({"T0002", "T0006", "T0007"})


class Txn:
    """One record of the account's history (amounts signed, in minor units)."""

    __slots__ = ("ts", "order", "code", "currency", "amount", "fee", "payment", "ref",
                 "status", "reversed_at", "balance", "id")  # fmt: skip

    def __init__(self, ts: int, order: int, code: str, currency: str, amount: int, fee: int,
                 payment: int, ref: int, status: str) -> None:  # fmt: skip
        self.ts = ts
        self.order = order  # creation serial: the id is derived from it
        self.code = code
        self.currency = currency
        self.amount = amount
        self.fee = fee  # < 0 a fee charged, > 0 a fee given back
        self.payment = payment  # customer payment index, -1 for withdrawals and deposits
        self.ref = ref  # order of the payment this record refers to, -1 for none
        self.status = status  # S, P or D (a payment shows V once reversed_at has passed)
        self.reversed_at: int | None = None
        self.balance = 0  # ending balance of the currency after this record
        self.id = ""

    @property
    def balance_affecting(self) -> bool:
        """True for S (and V) records: P and D never moved money."""
        return self.status == "S"

    def status_at(self, visible_until: int) -> str:
        """Status as PayPal shows it at a refresh time: V once fully refunded or charged back."""
        if self.reversed_at is not None and self.reversed_at <= visible_until:
            return "V"
        return self.status


def stamp(ts: int) -> str:
    """PayPal's response timestamp form: `2014-07-11T04:03:52+0000`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(ts))


class _Currency:
    """Per-currency price level and formatting."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.exponent = currency_exponent(code)
        self.fmt: Callable[[int], str] = money_formatter(self.exponent, "fixed")
        # US cents -> this currency's minor units at its price level.
        self._factor = profile_for(code).scale * Decimal(10) ** self.exponent / 100

    def from_us_cents(self, cents: int) -> int:
        value = (Decimal(cents) * self._factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        return max(1, int(value))

    def money(self, minor: int) -> dict[str, str]:
        return {"currency_code": self.code, "value": self.fmt(minor)}


def _ratio(amount: int, numerator: int, denominator: int) -> int:
    """amount * numerator / denominator, rounded half-even, in integers."""
    value = Decimal(amount) * numerator / denominator
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


class TransactionDataset:
    """The full history of one sandbox account, built on first use."""

    def __init__(self, config: PayPalSandboxConfig) -> None:
        self.config = config
        self.currencies = {code: _Currency(code) for code in config.currencies}
        self._key = mix64(config.seed & _MASK)
        self._id_key = mix64(self._key ^ 0x5EED_1D5)
        self._built = False
        self.events: list[Txn] = []
        self.affecting: list[Txn] = []
        self._ts_all: list[int] = []
        self._ts_affecting: list[int] = []
        self._by_id: dict[str, list[Txn]] = {}
        self._by_order: dict[int, Txn] = {}
        # currency -> (times, running balances, open holds) after each affecting record
        self._series: dict[str, tuple[list[int], list[int], list[int]]] = {}

    # ---- generation ----------------------------------------------------------------------

    def _h(self, i: int, salt: int) -> int:
        return mix64((self._key + i * 0x9E37 + salt * 0x1F3D5B79) & _MASK)

    def txn_id(self, order: int) -> str:
        """The 17-character transaction id of record `order` (unique: mix64 is a bijection)."""
        value = mix64((self._id_key + order) & _MASK)
        body = ""
        for _ in range(13):
            value, digit = divmod(value, 36)
            body = _ID_ALPHABET[digit] + body
        head = mix64(value ^ order ^ self._key)
        prefix = "".join(_ID_ALPHABET[(head >> (6 * k)) % 36] for k in range(4))
        return prefix + body

    def payer_id(self, payment: int) -> str:
        """A 13-character payer account id for customer payment `payment`."""
        value = self._h(payment, 7)
        return "".join(_PAYER_ALPHABET[(value >> (5 * k)) & 31] for k in range(13))

    def invoice_id(self, payment: int) -> str:
        """The merchant's invoice id sent with a payment."""
        return f"INV-{self.config.seed}-{payment + 1:07d}"

    def ensure(self) -> None:
        """Build the history if not built yet."""
        if not self._built:
            self._build()
            self._built = True

    def _build(self) -> None:
        cfg = self.config
        start = int(cfg.start.timestamp())
        span = cfg.days * _DAY
        codes = cfg.currencies
        raw: list[Txn] = []

        def add(ts: int, code: str, cur: str, amount: int, fee: int, payment: int,
                ref: int, status: str = "S") -> Txn:  # fmt: skip
            txn = Txn(ts, len(raw), code, cur, amount, fee, payment, ref, status)
            raw.append(txn)
            return txn

        refund_cut = cfg.refund_percent
        chargeback_cut = refund_cut + cfg.chargeback_percent
        won_cut = chargeback_cut + cfg.dispute_won_percent
        pending_cut = cfg.pending_percent
        denied_cut = pending_cut + cfg.denied_percent
        for i in range(cfg.size):
            h1, h2, h3 = self._h(i, 1), self._h(i, 2), self._h(i, 3)
            lo, hi = (i * span) // cfg.size, ((i + 1) * span) // cfg.size
            ts = start + lo + (h1 % (hi - lo) if hi > lo else 0)
            cur = codes[(h1 >> 20) % len(codes)]
            money = self.currencies[cur]
            gross = money.from_us_cents(500 + (h2 % 49_501))
            variable = _ratio(gross, FEE_RATE_BPS, 10_000)
            fixed = money.from_us_cents(FIXED_FEE_US_CENTS)
            fee = variable + fixed
            roll = (h2 >> 24) % 100
            status = "P" if roll < pending_cut else "D" if roll < denied_cut else "S"
            code = _PAYMENT_CODES.pick((h1 >> 40) & 0xFFFF)
            pay = add(ts, code, cur, gross, 0 if status == "D" else -fee, i, -1, status)
            if status != "S":
                continue
            fate = h3 % 100
            if fate < refund_cut:
                when = ts + 3600 + (h3 >> 8) % (20 * _DAY)
                full = (h3 >> 40) & 1 == 0
                amount = gross if full else max(1, _ratio(gross, 10 + (h3 >> 48) % 81, 100))
                returned = self._returned_fee(cfg.refund_fee_policy, amount, gross, variable,
                                              fee)  # fmt: skip
                add(when, "T1107", cur, -amount, returned, i, pay.order)
                if amount == gross:
                    pay.reversed_at = when
            elif fate < won_cut:
                held = ts + 2 * _DAY + (h3 >> 8) % (10 * _DAY)
                resolved = held + 5 * _DAY + (h3 >> 32) % (25 * _DAY)
                add(held, "T1110", cur, -gross, 0, i, pay.order)
                add(resolved, "T1111", cur, gross, 0, i, pay.order)
                if fate < chargeback_cut:
                    add(resolved, "T1201", cur, -gross, 0, i, pay.order)
                    add(resolved, "T0106", cur, -money.from_us_cents(CHARGEBACK_FEE_US_CENTS),
                        0, i, pay.order)  # fmt: skip
                    pay.reversed_at = resolved
        # A sorted copy: the sweeps append to `raw` while this is walked.
        ordered = sorted(raw, key=lambda t: (t.ts, t.order))
        self._sweep_and_index(ordered, add, start)

    @staticmethod
    def _returned_fee(policy: str, amount: int, gross: int, variable: int, fee: int) -> int:
        if policy == "none":
            return 0
        if policy == "full":
            return fee if amount == gross else _ratio(fee, amount, gross)
        return variable if amount == gross else _ratio(variable, amount, gross)

    def _sweep_and_index(self, ordered: list[Txn], add: Callable[..., Txn], start: int) -> None:
        """Walk the records in time order keeping running balances, insert the scheduled
        sweeps (after any record of the same second), and build the lookup indexes."""
        cfg = self.config
        interval = cfg.withdrawal_interval_days * _DAY
        next_sweep = start - start % _DAY + interval + 2 * 3600
        balance = {code: 0 for code in cfg.currencies}
        held = {code: 0 for code in cfg.currencies}
        series: dict[str, tuple[list[int], list[int], list[int]]] = {
            code: ([], [], []) for code in cfg.currencies}  # fmt: skip
        events: list[Txn] = []

        def book(txn: Txn) -> None:
            events.append(txn)
            if not txn.balance_affecting:
                return
            cur = txn.currency
            balance[cur] += txn.amount + txn.fee
            if txn.code in ("T1110", "T1111"):
                # The hold's debit moves money into withheld; the release moves it back.
                held[cur] -= txn.amount
            txn.balance = balance[cur]
            times, balances, holds = series[cur]
            times.append(txn.ts)
            balances.append(balance[cur])
            holds.append(held[cur])

        def sweep(at: int) -> None:
            for cur in cfg.currencies:
                amount = balance[cur]
                if amount > 0:
                    book(add(at, "T0400", cur, -amount, 0, -1, -1))
                elif amount < 0:
                    book(add(at, "T0300", cur, -amount, 0, -1, -1))

        for txn in ordered:
            while txn.ts > next_sweep:
                sweep(next_sweep)
                next_sweep += interval
            book(txn)
        if ordered:
            sweep(next_sweep)
        for txn in events:
            txn.id = self.txn_id(txn.order)
        self.events = events
        self.affecting = [t for t in events if t.balance_affecting]
        self._ts_all = [t.ts for t in events]
        self._ts_affecting = [t.ts for t in self.affecting]
        self._series = series
        self._by_order = {t.order: t for t in events}
        by_id: dict[str, list[Txn]] = {}
        for txn in events:
            by_id.setdefault(txn.id, []).append(txn)
        self._by_id = by_id

    # ---- queries -------------------------------------------------------------------------

    def span(self, lo: int, hi: int, balance_affecting_only: bool) -> tuple[list[Txn], int, int]:
        """(records list, first, past-last) of the records with lo <= ts <= hi."""
        self.ensure()
        if balance_affecting_only:
            return (self.affecting, bisect_left(self._ts_affecting, lo),
                    bisect_right(self._ts_affecting, hi))  # fmt: skip
        return self.events, bisect_left(self._ts_all, lo), bisect_right(self._ts_all, hi)

    def by_id(self, txn_id: str) -> list[Txn]:
        """Every record with this transaction id."""
        self.ensure()
        return self._by_id.get(txn_id, [])

    def referenced(self, txn: Txn) -> Txn | None:
        """The payment a refund, hold or chargeback refers to."""
        return self._by_order.get(txn.ref) if txn.ref >= 0 else None

    def balance_at(self, currency: str, at: int) -> tuple[int, int]:
        """(available, withheld) of a currency after every record up to `at`."""
        self.ensure()
        times, balances, holds = self._series[currency]
        k = bisect_right(times, at) - 1
        return (balances[k], holds[k]) if k >= 0 else (0, 0)

    def final_balances(self) -> dict[str, int]:
        """Each currency's balance after the whole history (zero by construction)."""
        self.ensure()
        return {cur: (s[1][-1] if s[1] else 0) for cur, s in self._series.items()}

    def summary(self) -> dict[str, Any]:
        """Counts per T-code and status, first and last record times, final balances."""
        self.ensure()
        return {
            "records": len(self.events),
            "balance_affecting": len(self.affecting),
            "codes": dict(sorted(Counter(t.code for t in self.events).items())),
            "statuses": dict(sorted(Counter(t.status for t in self.events).items())),
            "first": stamp(self.events[0].ts) if self.events else None,
            "last": stamp(self.events[-1].ts) if self.events else None,
            "final_balances": {cur: self.currencies[cur].fmt(v)
                               for cur, v in self.final_balances().items()},  # fmt: skip
        }

    # ---- rendering -----------------------------------------------------------------------

    def render(self, txn: Txn, blocks: tuple[str, ...], visible_until: int,
               with_ending_balance: bool) -> dict[str, Any]:  # fmt: skip
        """The `transaction_details` element of one record with the requested blocks."""
        out: dict[str, Any] = {}
        for block in blocks:
            if block == "transaction_info":
                out[block] = self._info(txn, visible_until, with_ending_balance)
            elif block == "payer_info":
                out[block] = self._payer(txn)
            elif block == "cart_info":
                out[block] = self._cart(txn)
            elif block == "shipping_info":
                out[block] = self._shipping(txn)
            else:  # store_info, auction_info, incentive_info: nothing to say
                out[block] = {}
        return out

    def _info(self, txn: Txn, visible_until: int, with_ending_balance: bool) -> dict[str, Any]:
        money = self.currencies[txn.currency]
        status = txn.status_at(visible_until)
        updated = txn.reversed_at if status == "V" and txn.reversed_at is not None else txn.ts
        info: dict[str, Any] = {}
        if txn.payment >= 0:
            info["paypal_account_id"] = self.payer_id(txn.payment)
        info["transaction_id"] = txn.id
        payment = self.referenced(txn)
        if payment is not None:
            info["paypal_reference_id"] = payment.id
            info["paypal_reference_id_type"] = "TXN"
        info["transaction_event_code"] = txn.code
        info["transaction_initiation_date"] = stamp(txn.ts)
        info["transaction_updated_date"] = stamp(updated)
        info["transaction_amount"] = money.money(txn.amount)
        if txn.fee:
            # PayPal sends fee_amount only when a fee was applied (or given back).
            info["fee_amount"] = money.money(txn.fee)
        info["transaction_status"] = status
        if txn.code in PAYMENT_CODES:
            info["transaction_subject"] = f"Order {self.invoice_id(txn.payment)}"
        else:
            info["transaction_subject"] = SUBJECTS.get(txn.code, "PayPal transaction")
        if txn.balance_affecting:
            if with_ending_balance:
                info["ending_balance"] = money.money(txn.balance)
            info["available_balance"] = money.money(txn.balance)
        if txn.payment >= 0 and txn.code != "T0106":
            info["invoice_id"] = self.invoice_id(txn.payment)
            info["custom_field"] = f"order-{txn.payment + 1}"
        if txn.code in PAYMENT_CODES:
            info["protection_eligibility"] = "01"
        return info

    def _name(self, payment: int) -> tuple[str, str]:
        h = self._h(payment, 9)
        return _FIRST[h % len(_FIRST)], _LAST[(h >> 8) % len(_LAST)]

    def _payer(self, txn: Txn) -> dict[str, Any]:
        if txn.payment < 0:
            return {}
        given, surname = self._name(txn.payment)
        h = self._h(txn.payment, 9)
        return {
            "account_id": self.payer_id(txn.payment),
            "email_address": f"{given.lower()}.{surname.lower()}{txn.payment + 1}@example.com",
            "address_status": "Y",
            "payer_status": "Y" if (h >> 16) % 5 else "N",
            "payer_name": {"given_name": given, "surname": surname,
                           "alternate_full_name": f"{given} {surname}"},  # fmt: skip
            "country_code": _COUNTRIES[(h >> 24) % len(_COUNTRIES)],
        }

    def _shipping(self, txn: Txn) -> dict[str, Any]:
        if txn.code not in PAYMENT_CODES:
            return {}
        given, surname = self._name(txn.payment)
        return {"name": f"{given}, {surname}"}

    def _cart(self, txn: Txn) -> dict[str, Any]:
        if txn.code not in PAYMENT_CODES:
            return {}
        money = self.currencies[txn.currency]
        item = _ITEMS[self._h(txn.payment, 11) % len(_ITEMS)]
        amount = money.money(txn.amount)
        return {
            "item_details": [{
                "item_code": f"SKU-{self._h(txn.payment, 11) % 1000:03d}",
                "item_name": item,
                "item_quantity": "1",
                "item_unit_price": amount,
                "item_amount": amount,
                "total_item_amount": amount,
                "invoice_number": self.invoice_id(txn.payment),
            }],
            "tax_inclusive": False,
        }  # fmt: skip
