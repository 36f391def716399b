"""Stripe balance transaction -> PaymentDoc: hand-computed fixtures for each posting rule,
Stripe's currency special cases, and the sandbox's whole history netting to zero."""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, loads_exact
from sandbox.stripe import StripeSandboxConfig, create_app
from sandbox.stripe.config import DEFAULT_SECRET_KEY
from transforms.documents import PaymentAccounts
from transforms.stripe_payments import (
    balance_transaction_to_payment,
    balance_transactions_to_payments,
    stripe_to_minor,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe"
ACCOUNTS = PaymentAccounts(clearing_account="acc_stripe")
CLEARING = "acc_stripe"


@cache
def _read(name: str) -> Any:
    return loads_exact((FIXTURES / name).read_bytes())


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(_read(name))


def txn(**fields: Any) -> dict[str, Any]:
    """A minimal balance transaction; net follows amount and fee unless given."""
    body = {"id": "txn_test", "object": "balance_transaction", "amount": 0, "fee": 0,
            "currency": "usd", "created": 1_718_649_000, "status": "available",
            "type": "charge", "reporting_category": "charge", "source": None,
            "description": None}  # fmt: skip
    body.update(fields)
    if "net" not in fields:
        body["net"] = body["amount"] - body["fee"]
    return body


def lines(doc) -> dict[str, tuple[int, int]]:
    """{account: (debit, credit)} of a document's journal."""
    return {line.account_id: (line.debit_minor, line.credit_minor) for line in doc.journal.lines}


def test_usd_charge_with_its_fee():
    doc = balance_transaction_to_payment(fixture("txn_charge_usd.json"), ACCOUNTS)
    assert (doc.kind, doc.currency, doc.amount_minor, doc.fee_minor, doc.net_minor) == (
        "charge", "USD", 10000, 320, 9680)  # fmt: skip
    assert lines(doc) == {"acc_stripe": (9680, 0), "acc_merchant_fees": (320, 0),
                          "acc_sales": (0, 10000)}  # fmt: skip
    assert doc.journal.is_balanced() and doc.journal.currency == "USD"
    assert doc.occurred_at == datetime(2024, 6, 17, 18, 30, tzinfo=UTC)
    assert doc.journal.entry_date == date(2024, 6, 17)
    assert (doc.status, doc.source_id, doc.order_ref, doc.payout_id) == (
        "available", "ch_3PkUsdCharge0000000000001", "1042", None)  # fmt: skip
    assert doc.external_id == "txn_3PkUsdCharge0000000000001"
    assert doc.description == "Order 1042"
    paid = balance_transaction_to_payment(fixture("txn_charge_usd.json"), ACCOUNTS,
                                          payout_id="po_123")  # fmt: skip
    assert paid.payout_id == "po_123"


def test_jpy_charge_is_whole_yen():
    doc = balance_transaction_to_payment(fixture("txn_charge_jpy.json"), ACCOUNTS)
    assert (doc.currency, doc.amount_minor, doc.fee_minor, doc.net_minor) == (
        "JPY", 5000, 180, 4820)  # fmt: skip
    assert lines(doc) == {"acc_stripe": (4820, 0), "acc_merchant_fees": (180, 0),
                          "acc_sales": (0, 5000)}  # fmt: skip
    # An unexpanded source still names itself; without the object there is no order.
    assert (doc.source_id, doc.order_ref, doc.status) == (
        "ch_3PkJpyCharge0000000000001", None, "pending")  # fmt: skip


def test_kwd_charge_is_in_thousandths():
    doc = balance_transaction_to_payment(fixture("txn_charge_kwd.json"), ACCOUNTS)
    assert (doc.currency, doc.amount_minor, doc.fee_minor, doc.net_minor) == (
        "KWD", 12500, 460, 12040)  # fmt: skip
    assert lines(doc)["acc_sales"] == (0, 12500)
    # No order_id in the metadata: the PaymentIntent stands in for the order.
    assert doc.order_ref == "pi_3PkKwdCharge0000000000001"


def test_refund_debits_refunds_and_credits_clearing():
    doc = balance_transaction_to_payment(fixture("txn_refund_usd.json"), ACCOUNTS)
    assert (doc.kind, doc.amount_minor, doc.fee_minor, doc.net_minor) == (
        "refund", -2500, 0, -2500)  # fmt: skip
    assert lines(doc) == {"acc_sales_returns": (2500, 0), "acc_stripe": (0, 2500)}
    assert (doc.source_id, doc.order_ref) == ("re_3PkUsdRefund000000000001",
                                              "pi_3PkUsdCharge0000000000001")
    # A refund whose processing fee is given back credits the fees account.
    returned = balance_transaction_to_payment(
        txn(type="refund", amount=-2500, fee=-75, reporting_category="refund"), ACCOUNTS)
    assert lines(returned) == {"acc_sales_returns": (2500, 0), "acc_merchant_fees": (0, 75),
                               "acc_stripe": (0, 2425)}  # fmt: skip
    failed = balance_transaction_to_payment(
        txn(type="refund_failure", amount=2500, reporting_category="refund_failure"), ACCOUNTS)
    assert failed.kind == "refund"
    assert lines(failed) == {"acc_stripe": (2500, 0), "acc_sales_returns": (0, 2500)}


def test_lost_dispute_with_its_fee_and_a_won_one_given_back():
    lost = balance_transaction_to_payment(fixture("txn_dispute_lost.json"), ACCOUNTS)
    assert (lost.kind, lost.amount_minor, lost.fee_minor, lost.net_minor) == (
        "dispute", -10000, 1500, -11500)  # fmt: skip
    assert lines(lost) == {"acc_chargebacks": (10000, 0), "acc_merchant_fees": (1500, 0),
                           "acc_stripe": (0, 11500)}  # fmt: skip
    assert (lost.source_id, lost.order_ref) == ("dp_1PkUsdDispute00000000001",
                                                "pi_3PkUsdCharge0000000000001")
    won = balance_transaction_to_payment(fixture("txn_dispute_reversal.json"), ACCOUNTS)
    assert (won.kind, won.amount_minor, won.fee_minor, won.net_minor) == (
        "dispute_reversal", 10000, -1500, 11500)  # fmt: skip
    assert lines(won) == {"acc_stripe": (11500, 0), "acc_chargebacks": (0, 10000),
                          "acc_merchant_fees": (0, 1500)}  # fmt: skip
    # Withdrawal and reinstatement cancel out on every account.
    total: dict[str, int] = defaultdict(int)
    for doc in (lost, won):
        for account, value in doc.journal.net_by_account().items():
            total[account] += value
    assert set(total.values()) == {0}
    # Without reporting_category (older API versions) the dp_ source identifies it.
    legacy = fixture("txn_dispute_lost.json")
    del legacy["reporting_category"]
    assert balance_transaction_to_payment(legacy, ACCOUNTS).kind == "dispute"


def test_payout_moves_clearing_to_the_bank_and_names_itself():
    doc = balance_transaction_to_payment(fixture("txn_payout.json"), ACCOUNTS)
    assert (doc.kind, doc.amount_minor, doc.net_minor) == ("payout", -9680, -9680)
    assert lines(doc) == {"acc_bank": (9680, 0), "acc_stripe": (0, 9680)}
    assert doc.payout_id == doc.source_id == "po_1PkUsdPayout0000000000001"
    failed = balance_transaction_to_payment(
        txn(type="payout_failure", amount=9680, source="po_1",
            reporting_category="payout_reversal"), ACCOUNTS)  # fmt: skip
    assert failed.kind == "payout_reversal"
    assert lines(failed) == {"acc_stripe": (9680, 0), "acc_bank": (0, 9680)}


@pytest.mark.parametrize(
    ("kind", "amount", "expected_kind", "account"),
    [("stripe_fee", -500, "fee", "acc_merchant_fees"),
     ("stripe_fx_fee", -120, "fee", "acc_merchant_fees"),
     ("tax_fee", -30, "fee", "acc_merchant_fees"),
     ("reserve_transaction", -4000, "hold", "acc_processor_reserves"),
     ("payment_network_reserve_release", 4000, "release", "acc_processor_reserves"),
     ("topup", 50000, "transfer", "acc_bank"),
     ("transfer", -7000, "transfer", "acc_other_income"),
     ("adjustment", 250, "adjustment", "acc_other_income"),
     ("climate_something_new", -10, "other", "acc_other_income")],
)
def test_other_types_post_to_their_accounts(kind, amount, expected_kind, account):
    doc = balance_transaction_to_payment(
        txn(type=kind, amount=amount, reporting_category="other_adjustment"), ACCOUNTS)
    assert doc.kind == expected_kind
    expected = {CLEARING: (amount, 0) if amount > 0 else (0, -amount),
                account: (0, amount) if amount > 0 else (-amount, 0)}  # fmt: skip
    assert lines(doc) == expected


@pytest.mark.parametrize(
    ("currency", "stripe_amount", "iso_minor"),
    [("usd", 1050, 1050), ("jpy", 5000, 5000), ("kwd", 12340, 12340), ("bhd", 1000, 1000),
     # Stripe keeps ISK and UGX two-decimal; ISO 4217 has no minor unit for either.
     ("isk", 50000, 500), ("ugx", 370000, 3700),
     # HUF and TWD are two-decimal on both sides (only payouts are whole units).
     ("huf", 123456, 123456), ("twd", 99900, 99900),
     # MGA: zero-decimal in Stripe, two decimals in ISO.
     ("mga", 5000, 500000)],
)
def test_stripe_amounts_become_iso_minor_units(currency, stripe_amount, iso_minor):
    assert stripe_to_minor(stripe_amount, currency) == iso_minor
    doc = balance_transaction_to_payment(txn(currency=currency, amount=stripe_amount), ACCOUNTS)
    assert doc.amount_minor == iso_minor and doc.currency == currency.upper()
    assert lines(doc)["acc_sales"] == (0, iso_minor)


def test_fractional_isk_cannot_be_represented_and_is_refused():
    with pytest.raises(MoneyError):
        stripe_to_minor(4010, "isk")
    with pytest.raises(DataMappingError) as caught:
        balance_transaction_to_payment(txn(currency="isk", amount=4010), ACCOUNTS)
    assert "ISK" in caught.value.message and caught.value.details["id"] == "txn_test"
    with pytest.raises(MoneyError):
        stripe_to_minor(Decimal("10"), "usd")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"net": 9000}, "net"), ({"amount": Decimal("100.5")}, "amount"), ({"fee": True}, "fee"),
     ({"currency": "xyz"}, "currency"), ({"currency": None}, "currency"),
     ({"created": "2024-06-17"}, "created"), ({"type": ["charge"]}, "type"),
     ({"type": None}, "type")],
)
def test_unmappable_transactions_name_the_field(change, field):
    with pytest.raises(DataMappingError) as caught:
        balance_transaction_to_payment(txn(**{"amount": 1000, "fee": 30, **change}), ACCOUNTS)
    assert caught.value.details["field"] == field
    assert "txn_test" in caught.value.message


def test_not_an_object_or_no_id():
    with pytest.raises(DataMappingError):
        balance_transaction_to_payment(["txn"], ACCOUNTS)  # type: ignore[arg-type]
    with pytest.raises(DataMappingError):
        balance_transaction_to_payment(txn(id=""), ACCOUNTS)


def test_batch_helper_and_custom_accounts():
    accounts = PaymentAccounts(clearing_account="acc_stripe_eu", fees_account="acc_fees_eu",
                               sales_account="acc_sales_eu")  # fmt: skip
    docs = balance_transactions_to_payments(
        [fixture("txn_charge_usd.json"), fixture("txn_payout.json")], accounts,
        payouts={"txn_3PkUsdCharge0000000000001": "po_1PkUsdPayout0000000000001"})
    assert [d.payout_id for d in docs] == ["po_1PkUsdPayout0000000000001"] * 2
    assert lines(docs[0]) == {"acc_stripe_eu": (9680, 0), "acc_fees_eu": (320, 0),
                              "acc_sales_eu": (0, 10000)}  # fmt: skip
    # The charge and the payout that carried it leave clearing at zero.
    clearing = sum(d.journal.net_by_account().get("acc_stripe_eu", 0) for d in docs)
    assert clearing == 0
    assert balance_transaction_to_payment(fixture("txn_charge_usd.json"), accounts) == \
        balance_transaction_to_payment(fixture("txn_charge_usd.json"), accounts)  # fmt: skip


def test_the_sandbox_history_leaves_clearing_at_zero_per_currency_and_per_payout():
    app = create_app(StripeSandboxConfig(seed=17, size=400, currencies=("usd", "jpy", "kwd",
                                                                        "isk"),
                                         dispute_percent=6, rate_limiting=False))  # fmt: skip
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {DEFAULT_SECRET_KEY}"
    records, after = [], None
    while True:
        params = {"limit": 100, "expand[]": "data.source",
                  **({"starting_after": after} if after else {})}  # fmt: skip
        body = loads_exact(client.get("/v1/balance_transactions", params=params).content)
        records.extend(body["data"])
        if not body["has_more"]:
            break
        after = body["data"][-1]["id"]
    data = app.state.sandbox.data
    payout_of = {t: p.id for p in data.payouts.items for t in p.members}
    docs = balance_transactions_to_payments(records, ACCOUNTS, payouts=payout_of)
    clearing: dict[str, int] = defaultdict(int)
    per_payout: dict[str, int] = defaultdict(int)
    kinds = set()
    for doc in docs:
        assert doc.journal.is_balanced()
        moved = doc.journal.net_by_account().get(CLEARING, 0)
        assert moved == doc.net_minor
        clearing[doc.currency] += moved
        per_payout[doc.payout_id] += moved
        kinds.add(doc.kind)
    assert dict(clearing) == {"USD": 0, "JPY": 0, "KWD": 0, "ISK": 0}
    assert None not in per_payout and set(per_payout.values()) == {0}
    assert kinds == {"charge", "refund", "dispute", "dispute_reversal", "fee", "payout"}
    # order_ref: the charge's metadata order_id, else its PaymentIntent.
    for doc in docs:
        if doc.kind == "charge":
            charge = data.get(doc.source_id)
            assert doc.order_ref == (charge.order_id or charge.payment_intent)
            assert doc.description == (f"Order {charge.order_id}" if charge.order_id
                                       else "Payment")  # fmt: skip
