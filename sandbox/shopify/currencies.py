"""Currencies the sandbox shop can trade in, and how a shop in each one prices and taxes.

The profile only shapes realism (price levels, tax regimes, time zone); minor-unit exponents
come from the project's single table in `bigledger.money`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bigledger.money import currency_exponent

# Values of Shopify's CurrencyCode enum (ISO 4217 plus a few Shopify additions such as USDC).
CURRENCY_CODES: tuple[str, ...] = tuple(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JEP JMD JOD
    JPY KES KGS KHR KID KMF KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL LYD MAD MDL MGA MKD
    MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
    PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLL SOS SRD SSP STN SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USDC UYU UZS VED VES VND VUV WST XAF XCD XOF
    XPF XXX YER ZAR ZMW
    """.split()
)


@dataclass(frozen=True, slots=True)
class TaxRegime:
    """One jurisdiction's taxes: (title, rate) pairs applied to every taxable line."""

    lines: tuple[tuple[str, Decimal], ...]
    shipping_taxable: bool
    weight: int = 1


@dataclass(frozen=True, slots=True)
class CurrencyProfile:
    """How a shop in one currency looks: price level, time zone, taxes."""

    scale: Decimal  # roughly how many units of this currency buy one US dollar
    timezone: str
    regimes: tuple[TaxRegime, ...]
    taxes_included_percent: int  # share of orders whose prices include tax
    tax_free_percent: int = 8  # exempt customers, exports


def _r(*lines: tuple[str, str], shipping: bool = False, weight: int = 1) -> TaxRegime:
    return TaxRegime(tuple((t, Decimal(r)) for t, r in lines), shipping, weight)


_PROFILES: dict[str, CurrencyProfile] = {
    "MYR": CurrencyProfile(
        Decimal("4.5"),
        "Asia/Kuala_Lumpur",
        (
            _r(("SST", "0.06"), weight=5),
            _r(("SST", "0.10"), weight=2),
            _r(("Service Tax", "0.08"), shipping=True, weight=2),
        ),
        taxes_included_percent=20,
    ),
    "USD": CurrencyProfile(
        Decimal("1"),
        "America/New_York",
        (
            _r(("CA State Tax", "0.0725"), ("Los Angeles County Tax", "0.0225"), weight=3),
            _r(("NY State Tax", "0.04"), ("New York City Tax", "0.045"), shipping=True, weight=3),
            _r(("TX State Tax", "0.0625"), ("Austin City Tax", "0.02"), shipping=True, weight=2),
            _r(("WA State Tax", "0.065"), weight=1),
        ),
        taxes_included_percent=0,
        tax_free_percent=12,
    ),
    "JPY": CurrencyProfile(
        Decimal("150"),
        "Asia/Tokyo",
        (_r(("Consumption Tax", "0.10"), shipping=True, weight=9), _r(("Consumption Tax", "0.08"))),
        taxes_included_percent=90,
    ),
    "EUR": CurrencyProfile(
        Decimal("0.92"),
        "Europe/Berlin",
        (
            _r(("DE MwSt", "0.19"), shipping=True, weight=3),
            _r(("FR TVA", "0.20"), shipping=True, weight=2),
            _r(("NL BTW", "0.21"), shipping=True, weight=1),
        ),
        taxes_included_percent=100,
    ),
    "GBP": CurrencyProfile(
        Decimal("0.79"),
        "Europe/London",
        (_r(("GB VAT", "0.20"), shipping=True),),
        taxes_included_percent=100,
    ),
    "SGD": CurrencyProfile(
        Decimal("1.35"), "Asia/Singapore", (_r(("GST", "0.09"), shipping=True),), 50
    ),
    "AUD": CurrencyProfile(
        Decimal("1.5"), "Australia/Sydney", (_r(("GST", "0.10"), shipping=True),), 100
    ),
    "CAD": CurrencyProfile(
        Decimal("1.36"),
        "America/Toronto",
        (
            _r(("ON HST", "0.13"), shipping=True, weight=2),
            _r(("CA GST", "0.05"), ("QC QST", "0.09975"), shipping=True, weight=1),
        ),
        taxes_included_percent=0,
    ),
    # No VAT in Kuwait: every order is tax-free; a three-decimal currency for exponent tests.
    "KWD": CurrencyProfile(Decimal("0.31"), "Asia/Kuwait", (), 0, tax_free_percent=100),
}

_DEFAULT_PROFILE = CurrencyProfile(Decimal("1"), "UTC", (_r(("Sales Tax", "0.08")),), 0)


def profile_for(currency: str) -> CurrencyProfile:
    """The shop profile for a currency (a neutral one for currencies without their own)."""
    return _PROFILES.get(currency, _DEFAULT_PROFILE)


def exponent_for(currency: str) -> int:
    """Digits after the decimal point; USDC is not ISO 4217, Shopify shows it with 2."""
    return 2 if currency == "USDC" else currency_exponent(currency)
