"""The ledger-facing documents: one-sided journal lines, balance, netting, account routing."""

from __future__ import annotations

import ast
import dataclasses
from datetime import date
from pathlib import Path

import pytest

from transforms.documents import (
    CustomerDoc,
    JournalDraft,
    JournalLineDraft,
    PostingAccounts,
    lines_from_net,
    net_by_account,
    net_difference,
)

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"


def test_a_journal_line_has_exactly_one_positive_side():
    assert JournalLineDraft("acc_sales", 0, 100, "Sales").net_minor == -100
    assert JournalLineDraft("acc_bank", 100, 0).net_minor == 100
    for debit, credit in [(100, 100), (0, 0), (-5, 0), (0, -5), (-5, 5)]:
        with pytest.raises(ValueError, match="exactly one"):
            JournalLineDraft("acc_sales", debit, credit, "bad")


@pytest.mark.parametrize(("debit", "credit"), [(1.5, 0), (True, 0), (0, "100")])
def test_a_journal_line_takes_integer_minor_units_only(debit, credit):
    with pytest.raises(TypeError, match="int minor units"):
        JournalLineDraft("acc_sales", debit, credit, "bad")


def test_journal_draft_totals_and_balance():
    balanced = JournalDraft(date(2024, 1, 15), "MYR", "Shopify order #1001", (
        JournalLineDraft("acc_stripe", 10538, 0, "Payment"),
        JournalLineDraft("acc_sales", 0, 9998, "Sales"),
        JournalLineDraft("acc_tax_sst", 0, 540, "SST 6%"),
    ))
    assert balanced.totals() == (10538, 10538)
    assert balanced.is_balanced()

    lopsided = dataclasses.replace(balanced, lines=balanced.lines[:2])
    assert lopsided.totals() == (10538, 9998)
    assert not lopsided.is_balanced()


def test_an_empty_draft_means_nothing_on_the_books_and_balances():
    draft = JournalDraft(date(2024, 1, 15), "MYR", "voided", ())
    assert draft.totals() == (0, 0) and draft.is_balanced()
    assert draft.net_by_account() == {}


def test_net_by_account_is_debit_positive_and_drops_accounts_that_net_to_zero():
    lines = (
        JournalLineDraft("acc_stripe", 10538, 0, "Payment"),
        JournalLineDraft("acc_sales", 0, 10538, "Sales"),
        JournalLineDraft("acc_sales_returns", 2000, 0, "Refund"),
        JournalLineDraft("acc_stripe", 0, 2000, "Refund"),
        JournalLineDraft("acc_fees", 300, 0, "Fee"),
        JournalLineDraft("acc_fees", 0, 300, "Fee reversed"),
    )
    assert net_by_account(lines) == {
        "acc_stripe": 8538, "acc_sales": -10538, "acc_sales_returns": 2000,
    }


def test_lines_from_net_round_trips_and_sorts_by_account():
    net = {"acc_sales": -9998, "acc_stripe": 10538, "acc_tax_sst": -540, "acc_zero": 0}
    lines = lines_from_net(net, "Adjustment")
    assert [(ln.account_id, ln.debit_minor, ln.credit_minor, ln.memo) for ln in lines] == [
        ("acc_sales", 0, 9998, "Adjustment"),
        ("acc_stripe", 10538, 0, "Adjustment"),
        ("acc_tax_sst", 0, 540, "Adjustment"),
    ]
    assert net_by_account(lines) == {k: v for k, v in net.items() if v}


def test_net_difference_is_what_an_adjusting_entry_posts():
    posted = {"acc_stripe": 10538, "acc_sales": -9998, "acc_tax_sst": -540}
    # a full refund arrives: returns debited, stripe credited
    desired = {"acc_stripe": 0, "acc_sales": -9998, "acc_tax_sst": -540,
               "acc_sales_returns": 10538}
    delta = net_difference(desired, posted)
    assert delta == {"acc_sales_returns": 10538, "acc_stripe": -10538}
    assert sum(delta.values()) == 0
    # a voided order: everything posted comes off
    assert net_difference({}, posted) == {"acc_sales": 9998, "acc_stripe": -10538,
                                          "acc_tax_sst": 540}


def test_posting_accounts_route_gateways_and_tax_titles():
    accounts = PostingAccounts(
        receivable_account="acc_receivable", sales_account="acc_sales",
        sales_returns_account="acc_sales_returns", tax_account="acc_tax_sst",
        shipping_account="acc_shipping", discount_account="acc_discounts",
        clearing_account="acc_undeposited",
        gateway_accounts={"stripe": "acc_stripe", "shopify_payments": "acc_shopify_payments"},
        tax_accounts={"County Tax": "acc_tax_county"},
    )
    assert accounts.clearing_for(["gift_card", "shopify_payments"]) == "acc_shopify_payments"
    assert accounts.clearing_for(["manual"]) == "acc_undeposited"
    assert accounts.clearing_for([]) == "acc_undeposited"
    assert accounts.tax_for("County Tax") == "acc_tax_county"
    assert accounts.tax_for("State Tax") == "acc_tax_sst"
    assert accounts.tax_for(None) == "acc_tax_sst"


def test_documents_are_frozen_and_slotted():
    customer = CustomerDoc("7890", "a@example.com", "A", "B", "A B")
    with pytest.raises(dataclasses.FrozenInstanceError):
        customer.email = "b@example.com"  # type: ignore[misc]
    assert not hasattr(customer, "__dict__")


def test_transforms_are_pure():
    """No I/O layers in transforms/: no Prefect, SQLAlchemy, HTTP, or sibling layers."""
    forbidden = {"prefect", "sqlalchemy", "httpx", "requests", "fastapi", "psycopg",
                 "connectors", "ledger", "tasks", "flows", "api", "sandbox"}
    for path in TRANSFORMS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"
