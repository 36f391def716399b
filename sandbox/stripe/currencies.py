"""How Stripe writes amounts per currency, from the emulated platform's side.

Kept apart from the transform's own table on purpose: the sandbox states what Stripe does
(docs.stripe.com/currencies), the transform converts it to ISO 4217 minor units, and the
tests check one against the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

# Amount = whole units (docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = frozenset({
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "vnd", "vuv",
    "xaf", "xof", "xpf",
})  # fmt: skip
# Amount = thousandths, and Stripe requires the last digit to be 0.
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
# Special cases: zero-decimal in practice (and ISK/UGX in ISO 4217), but written with two
# decimals for backwards compatibility, always a multiple of 100.
WHOLE_UNITS_IN_HUNDREDTHS = frozenset({"isk", "ugx"})

# Rough units of the currency per US dollar, only to make amounts look plausible (Decimal
# like every amount here: generated money is exact too).
_PER_USD = {
    "usd": "1", "eur": "0.92", "gbp": "0.79", "cad": "1.36", "aud": "1.52", "myr": "4.7",
    "sgd": "1.35", "jpy": "150", "krw": "1330", "clp": "930", "vnd": "24500", "kwd": "0.31",
    "bhd": "0.38", "jod": "0.71", "omr": "0.38", "tnd": "3.1", "isk": "138", "ugx": "3800",
    "huf": "360", "twd": "32", "inr": "83", "mxn": "17", "brl": "5", "chf": "0.88",
    "sek": "10.5", "nok": "10.6", "dkk": "6.9",
}  # fmt: skip
_PROCESSING_RATE = Decimal("0.029")
_PROCESSING_FIXED_USD = Decimal("0.30")
_JPY_RATE = Decimal("0.036")
_DISPUTE_FEE_USD = Decimal(15)


@dataclass(frozen=True, slots=True)
class StripeCurrency:
    """One currency as Stripe's API writes it."""

    code: str  # lower case
    exponent: int  # digits after the point in Stripe's integer amounts
    step: int  # every amount is a multiple of this (10 for 3-decimal, 100 for ISK/UGX)
    per_usd: Decimal  # plausibility only

    def round_amount(self, major: Decimal) -> int:
        """A Stripe integer amount near `major` units, on the currency's step (at least one)."""
        steps = (major.scaleb(self.exponent) / self.step).quantize(
            Decimal(1), rounding=ROUND_HALF_EVEN
        )
        return max(self.step, int(steps) * self.step)

    def from_usd(self, cents: int) -> int:
        """A plausible amount in this currency for a US-dollar amount in cents."""
        return self.round_amount(Decimal(cents).scaleb(-2) * self.per_usd)

    @property
    def dispute_fee(self) -> int:
        """Stripe's dispute fee in this currency (USD 15.00; a rough equivalent elsewhere)."""
        return self.round_amount(_DISPUTE_FEE_USD * self.per_usd)

    def processing_fee(self, amount: int) -> int:
        """2.9 % + 30 cents (3.6 % for JPY, no fixed part), on the currency's step."""
        gross = Decimal(amount).scaleb(-self.exponent)
        if self.code == "jpy":
            return self.round_amount(gross * _JPY_RATE)
        return self.round_amount(gross * _PROCESSING_RATE + _PROCESSING_FIXED_USD * self.per_usd)


def stripe_currency(code: str) -> StripeCurrency:
    """The Stripe view of a lower-case ISO currency code."""
    code = code.lower()
    per_usd = Decimal(_PER_USD.get(code, "1"))
    if code in ZERO_DECIMAL:
        return StripeCurrency(code, 0, 1, per_usd)
    if code in THREE_DECIMAL:
        return StripeCurrency(code, 3, 10, per_usd)
    if code in WHOLE_UNITS_IN_HUNDREDTHS:
        return StripeCurrency(code, 2, 100, per_usd)
    return StripeCurrency(code, 2, 1, per_usd)
