"""Shared fixtures for the transform tests: payloads from tests/fixtures, a standard chart."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bigledger.money import loads_exact
from transforms.documents import PostingAccounts

SHOPIFY_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"


@cache
def _read(name: str) -> Any:
    # Parsed exactly as the connector does: JSON numbers with a fraction become Decimal.
    return loads_exact((SHOPIFY_FIXTURES / name).read_bytes())


def shopify_order(name: str) -> dict[str, Any]:
    """A fresh, mutable copy of a Shopify order fixture."""
    return copy.deepcopy(_read(name))


def standard_accounts(**overrides: Any) -> PostingAccounts:
    """The chart the tests post to; the default clearing account is Undeposited Funds."""
    values: dict[str, Any] = {
        "receivable_account": "acc_receivable",
        "sales_account": "acc_sales",
        "sales_returns_account": "acc_sales_returns",
        "tax_account": "acc_tax_sst",
        "shipping_account": "acc_shipping",
        "discount_account": "acc_discounts",
        "clearing_account": "acc_undeposited",
    }
    values.update(overrides)
    return PostingAccounts(**values)


@pytest.fixture
def load_order() -> Callable[[str], dict[str, Any]]:
    return shopify_order


@pytest.fixture
def accounts() -> Callable[..., PostingAccounts]:
    return standard_accounts
