"""The marketplaces the Amazon sandbox can play: ids, currencies, local formats, taxes, fees.

Ids, names and regions are Amazon's (reference section 3). Price levels, tax rates and fee
levels only shape realism. The number and date styles are what settlement flat files use in
each marketplace: continental EU files write amounts as `1234,56` and dates as
`15.01.2024 08:00:00 UTC` (an assumption, see the sandbox README); US files write `1234.56`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Marketplace:
    """One Amazon marketplace as the sandbox emulates it."""

    id: str
    country: str
    name: str  # marketplace-name in settlements, SalesChannel on orders
    domain: str
    currency: str
    language: str
    region: str  # na | eu | fe (the regional SP-API host)
    order_prefix: int  # first group of AmazonOrderId (3-7-7)
    price_scale: Decimal  # local currency units per US dollar (price level only)
    tax_rates: tuple[Decimal, ...]  # one picked per order (US states differ)
    shipping_taxable: bool
    facilitator_tax: bool  # Amazon collects and remits the sales tax (US marketplace facilitator)
    decimal_comma: bool  # settlement amounts as 1234,56
    settlement_date_format: str  # strftime of settlement-start/end/deposit-date
    posted_date_format: str  # strftime of posted-date
    subscription_fee: str  # Professional selling plan per settlement pair, local units


_US_DATE = "%Y-%m-%d %H:%M:%S UTC"
_EU_DATE = "%d.%m.%Y %H:%M:%S UTC"


def _m(*args: object) -> Marketplace:
    return Marketplace(*args)  # type: ignore[arg-type]


MARKETPLACES: dict[str, Marketplace] = {
    m.id: m
    for m in (
        _m("ATVPDKIKX0DER", "US", "Amazon.com", "www.amazon.com", "USD", "en_US", "na", 111,
           Decimal(1), tuple(Decimal(r) for r in ("0.0725", "0.06", "0.08875", "0.0625", "0")),
           False, True, False, _US_DATE, "%m/%d/%y", "39.99"),
        _m("A2EUQ1WTGCTBG2", "CA", "Amazon.ca", "www.amazon.ca", "CAD", "en_CA", "na", 702,
           Decimal("1.35"), (Decimal("0.13"), Decimal("0.05")), True, False, False, _US_DATE,
           "%m/%d/%y", "29.99"),
        _m("A1AM78C64UM0Y8", "MX", "Amazon.com.mx", "www.amazon.com.mx", "MXN", "es_MX", "na",
           701, Decimal(17), (Decimal("0.16"),), True, False, False, _US_DATE, "%d/%m/%Y",
           "600.00"),
        _m("A1F83G8C2ARO7P", "GB", "Amazon.co.uk", "www.amazon.co.uk", "GBP", "en_GB", "eu", 202,
           Decimal("0.8"), (Decimal("0.20"),), True, False, False, _US_DATE, "%d/%m/%Y",
           "25.00"),
        _m("A1PA6795UKMFR9", "DE", "Amazon.de", "www.amazon.de", "EUR", "de_DE", "eu", 302,
           Decimal("0.92"), (Decimal("0.19"),), True, False, True, _EU_DATE, "%d.%m.%Y",
           "39.00"),
        _m("A13V1IB3VIYZZH", "FR", "Amazon.fr", "www.amazon.fr", "EUR", "fr_FR", "eu", 404,
           Decimal("0.92"), (Decimal("0.20"),), True, False, True, _EU_DATE, "%d.%m.%Y",
           "39.00"),
        _m("APJ6JRA9NG5V4", "IT", "Amazon.it", "www.amazon.it", "EUR", "it_IT", "eu", 403,
           Decimal("0.92"), (Decimal("0.22"),), True, False, True, _EU_DATE, "%d.%m.%Y",
           "39.00"),
        _m("A1RKKUPIHCS9HS", "ES", "Amazon.es", "www.amazon.es", "EUR", "es_ES", "eu", 406,
           Decimal("0.92"), (Decimal("0.21"),), True, False, True, _EU_DATE, "%d.%m.%Y",
           "39.00"),
        _m("A1VC38T7YXB528", "JP", "Amazon.co.jp", "www.amazon.co.jp", "JPY", "ja_JP", "fe",
           503, Decimal(150), (Decimal("0.10"),), True, False, False, _US_DATE, "%Y/%m/%d",
           "4900"),
        _m("A39IBJ37TRP1C6", "AU", "Amazon.com.au", "www.amazon.com.au", "AUD", "en_AU", "fe",
           249, Decimal("1.5"), (Decimal("0.10"),), True, False, False, _US_DATE, "%d/%m/%Y",
           "49.95"),
    )
}  # fmt: skip

US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"


def marketplace(marketplace_id: str) -> Marketplace:
    """The marketplace with this id; ValueError names the ones the sandbox knows."""
    found = MARKETPLACES.get(marketplace_id)
    if found is None:
        raise ValueError(
            f"unknown marketplace {marketplace_id!r}; the sandbox knows "
            + ", ".join(f"{m.id} ({m.country})" for m in MARKETPLACES.values())
        )
    return found
