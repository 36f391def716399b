"""Money is exact: minor units from one exponent table, floats and unknown currencies refused."""

from decimal import Decimal

import pytest

from bigledger.money import (
    MoneyError,
    currency_exponent,
    format_minor,
    from_minor,
    loads_exact,
    round_to_minor,
    to_minor,
)


@pytest.mark.parametrize(("amount", "currency", "minor"), [
    ("105.98", "MYR", 10598), ("1500", "JPY", 1500), ("1500.0", "JPY", 1500),
    ("1.234", "KWD", 1234), ("0.10", "usd", 10), (Decimal("-3.50"), "EUR", -350), (7, "USD", 700),
])
def test_to_minor_is_exact(amount, currency, minor):
    assert to_minor(amount, currency) == minor


def test_from_minor_round_trips_with_the_currency_exponent():
    assert from_minor(10598, "MYR") == Decimal("105.98")
    assert str(from_minor(1500, "JPY")) == "1500"
    assert format_minor(1234, "KWD") == "1.234"
    assert format_minor(-5, "USD") == "-0.05"


@pytest.mark.parametrize("bad", [0.1, float("nan"), True, "abc", "1e", None, [1]])
def test_floats_and_garbage_are_refused(bad):
    with pytest.raises(MoneyError):
        to_minor(bad, "USD")


def test_too_many_decimals_is_refused_not_rounded():
    with pytest.raises(MoneyError):
        to_minor("10.001", "USD")
    with pytest.raises(MoneyError):
        to_minor("1.5", "JPY")
    assert round_to_minor("10.005", "USD") == 1000  # half-even only when asked to round


@pytest.mark.parametrize("code", ["ABC", "US", "", "usdx", 840])
def test_unknown_currency_is_refused(code):
    with pytest.raises(MoneyError):
        currency_exponent(code)


def test_json_numbers_never_become_floats():
    data = loads_exact('{"a": 0.1, "b": [1.25, 3], "c": "2.50"}')
    assert data == {"a": Decimal("0.1"), "b": [Decimal("1.25"), 3], "c": "2.50"}
    assert not any(isinstance(v, float) for v in (data["a"], *data["b"]))


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '[-Infinity]'])
def test_json_nan_and_infinity_are_refused(text):
    with pytest.raises(ValueError):
        loads_exact(text)
