"""Exact money: Decimal in code, integer minor units plus an ISO 4217 code in the database.

Minor-unit exponents come from this one table; no float ever touches an amount.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

# ISO 4217 exponents that differ from 2 (the default); enough for every currency the
# platforms we integrate with settle in.
_EXPONENTS: dict[str, int] = {
    # zero-decimal
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
    # three-decimal
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four-decimal
    "CLF": 4, "UYW": 4,
}


# Active ISO 4217 codes: an amount in anything else is refused rather than guessed at.
ISO_4217 = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD
JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS
TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG
XOF XPF YER ZAR ZMW ZWG ZWL
""".split())


class MoneyError(ValueError):
    """An amount that cannot be represented exactly in its currency."""


def currency_exponent(currency: str) -> int:
    """Number of digits after the decimal point for an ISO 4217 currency code."""
    code = normalize_currency(currency)
    return _EXPONENTS.get(code, 2)


def normalize_currency(currency: str) -> str:
    """Upper-case three-letter ISO code; raises MoneyError for anything else."""
    code = currency.strip() if isinstance(currency, str) else ""
    if code.upper() not in ISO_4217:
        raise MoneyError(f"not an ISO 4217 currency code: {currency!r}")
    return code.upper()


def to_decimal(value: Any) -> Decimal:
    """Parse a platform amount (decimal string, int or Decimal) exactly. Floats are refused."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise MoneyError(f"not an amount: {value!r}")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise MoneyError(f"not an amount: {value!r}") from exc
    else:
        # float included on purpose: a float amount has already lost exactness.
        raise MoneyError(f"amount must be a decimal string or integer, got {type(value).__name__}")
    if not result.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    return result


def to_minor(amount: Any, currency: str) -> int:
    """Decimal amount -> integer minor units; refuses amounts finer than the currency allows."""
    value = to_decimal(amount)
    exponent = currency_exponent(currency)
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{value} has more than {exponent} decimals for {currency.upper()}")
    return int(scaled)


_cached_to_minor = lru_cache(maxsize=16384, typed=True)(to_minor)


def amount_to_minor(value: Any, currency: str) -> int:
    """to_minor for platform payloads, where the same decimal strings ("19.90") recur on
    thousands of orders: string amounts are parsed once per (string, currency)."""
    if type(value) is str:
        return _cached_to_minor(value, currency)
    return to_minor(value, currency)


def round_to_minor(amount: Any, currency: str) -> int:
    """Decimal amount -> minor units, rounding half-even (for computed shares)."""
    value = to_decimal(amount)
    exponent = currency_exponent(currency)
    return int(value.scaleb(exponent).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_minor(minor: int, currency: str) -> Decimal:
    """Integer minor units -> Decimal with the currency's exponent (JPY 100 -> Decimal('100'))."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise MoneyError(f"minor units must be an integer, got {type(minor).__name__}")
    exponent = currency_exponent(currency)
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def format_minor(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string for JSON answers ("105.98")."""
    return str(from_minor(minor, currency))


def _no_constants(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not a number we accept")


def loads_exact(text: str | bytes) -> Any:
    """json.loads that turns every JSON number with a fraction into Decimal, never float
    (NaN and Infinity are refused)."""
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
