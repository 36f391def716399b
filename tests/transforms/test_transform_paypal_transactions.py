"""PayPal Transaction Search records -> PaymentDoc: kinds by T-code, signs, exact money in
every exponent, journals that balance and move exactly net through the clearing account."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bigledger.errors import DataMappingError
from bigledger.money import loads_exact
from sandbox.paypal import PayPalSandboxConfig
from sandbox.paypal.data import TransactionDataset
from transforms.documents import PaymentAccounts, PaymentDoc
from transforms.paypal_transactions import (
    clearing_net_by_currency,
    event_kind,
    transaction_to_payment,
    transactions_to_payments,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "paypal" / "transaction_details.json"
ACCOUNTS = PaymentAccounts(clearing_account="acc_paypal")


@cache
def _page() -> dict[str, Any]:
    return loads_exact(FIXTURE.read_bytes())


def detail(txn_id: str) -> dict[str, Any]:
    """A fresh copy of one fixture record, by transaction id."""
    for record in _page()["transaction_details"]:
        if record["transaction_info"]["transaction_id"] == txn_id:
            return copy.deepcopy(record)
    raise KeyError(txn_id)


def lines(doc: PaymentDoc) -> dict[str, int]:
    """Net debit per account of the document's journal."""
    return doc.journal.net_by_account()


def assert_sound(doc: PaymentDoc) -> None:
    """Balanced, and the clearing account moves exactly net (when anything posts)."""
    assert doc.journal.is_balanced()
    assert doc.net_minor == doc.amount_minor - doc.fee_minor
    if doc.journal.lines:
        assert lines(doc).get("acc_paypal", 0) == doc.net_minor
    assert doc.journal.currency == doc.currency


def test_payment_with_fee_is_a_charge_net_of_its_fee():
    doc = transaction_to_payment(detail("5TY05013RG002845M"), ACCOUNTS)
    assert (doc.kind, doc.currency, doc.amount_minor, doc.fee_minor, doc.net_minor) == (
        "charge", "USD", 46500, 1379, 45121)  # fmt: skip
    assert lines(doc) == {"acc_paypal": 45121, "acc_merchant_fees": 1379, "acc_sales": -46500}
    assert doc.status == "s" and doc.order_ref == "Invoice-005" and doc.source_id is None
    assert doc.occurred_at == datetime(2024, 3, 11, 4, 3, 52, tzinfo=UTC)
    assert doc.journal.entry_date.isoformat() == "2024-03-11"
    assert doc.description == "Bill for your purchase"
    assert_sound(doc)


def test_jpy_payment_is_whole_yen():
    doc = transaction_to_payment(detail("8JP12345AB678901C"), ACCOUNTS)
    assert (doc.currency, doc.amount_minor, doc.fee_minor, doc.net_minor) == (
        "JPY", 12800, 519, 12281)  # fmt: skip
    assert lines(doc) == {"acc_paypal": 12281, "acc_merchant_fees": 519, "acc_sales": -12800}
    assert_sound(doc)


def test_three_decimal_currency_and_a_reversed_payment_still_posts():
    doc = transaction_to_payment(detail("9TN77777UV888999W"), ACCOUNTS)
    # V: the payment happened and was later reversed by its own refund record.
    assert (doc.currency, doc.amount_minor, doc.fee_minor, doc.status) == (
        "TND", 125250, 4871, "v")  # fmt: skip
    assert lines(doc)["acc_paypal"] == 120379
    assert_sound(doc)


def test_refund_with_part_of_the_fee_returned():
    doc = transaction_to_payment(detail("1RF44444CD555666E"), ACCOUNTS)
    # -40.00 to the buyer, 1.16 of the fee given back: the balance loses 38.84.
    assert (doc.kind, doc.amount_minor, doc.fee_minor, doc.net_minor) == (
        "refund", -4000, -116, -3884)  # fmt: skip
    assert lines(doc) == {"acc_sales_returns": 4000, "acc_merchant_fees": -116,
                          "acc_paypal": -3884}  # fmt: skip
    assert doc.source_id == "7PAY0000AA111222B"
    assert_sound(doc)


def test_refund_without_any_fee_returned():
    record = detail("1RF44444CD555666E")
    del record["transaction_info"]["fee_amount"]
    doc = transaction_to_payment(record, ACCOUNTS)
    assert (doc.fee_minor, doc.net_minor) == (0, -4000)
    assert lines(doc) == {"acc_sales_returns": 4000, "acc_paypal": -4000}


def test_chargeback_and_its_fee():
    chargeback = transaction_to_payment(detail("2CB77777EF888999G"), ACCOUNTS)
    assert chargeback.kind == "dispute"
    assert lines(chargeback) == {"acc_chargebacks": 10000, "acc_paypal": -10000}
    fee = transaction_to_payment(detail("3CF11111GH222333J"), ACCOUNTS)
    # A fee-kind movement: its amount is the fee (negative), no fee_amount on top.
    assert (fee.kind, fee.amount_minor, fee.fee_minor) == ("fee", -2000, 0)
    assert lines(fee) == {"acc_merchant_fees": 2000, "acc_paypal": -2000}
    reversal = detail("2CB77777EF888999G")
    info = reversal["transaction_info"]
    info["transaction_event_code"], info["transaction_amount"]["value"] = "T1202", "100.00"
    won_back = transaction_to_payment(reversal, ACCOUNTS)
    assert won_back.kind == "dispute_reversal"
    assert lines(won_back) == {"acc_chargebacks": -10000, "acc_paypal": 10000}
    for doc in (chargeback, fee, won_back):
        assert_sound(doc)


def test_hold_and_release_move_money_through_the_reserve():
    hold = transaction_to_payment(detail("4HD22222JK333444L"), ACCOUNTS)
    release = transaction_to_payment(detail("5RL33333LM444555N"), ACCOUNTS)
    assert (hold.kind, release.kind) == ("hold", "release")
    assert lines(hold) == {"acc_processor_reserves": 10000, "acc_paypal": -10000}
    assert lines(release) == {"acc_processor_reserves": -10000, "acc_paypal": 10000}
    assert_sound(hold)
    assert_sound(release)


def test_withdrawal_to_the_bank_is_a_payout():
    doc = transaction_to_payment(detail("6WD44444NP555666Q"), ACCOUNTS)
    assert doc.kind == "payout"
    assert lines(doc) == {"acc_bank": 29121, "acc_paypal": -29121}
    deposit = detail("6WD44444NP555666Q")
    info = deposit["transaction_info"]
    info["transaction_event_code"], info["transaction_amount"]["value"] = "T0300", "50.00"
    funded = transaction_to_payment(deposit, ACCOUNTS)
    assert funded.kind == "transfer"
    assert lines(funded) == {"acc_bank": -5000, "acc_paypal": 5000}


@pytest.mark.parametrize(("txn_id", "status"), [("7PN55555QR666777S", "p"),
                                                ("8DN66666ST777888U", "d")])
def test_pending_and_denied_put_nothing_on_the_books(txn_id, status):
    doc = transaction_to_payment(detail(txn_id), ACCOUNTS)
    assert doc.status == status and doc.kind == "charge"
    assert doc.journal.lines == () and doc.journal.is_balanced()
    # The document still says what PayPal reported, so a later S version posts the difference.
    assert doc.amount_minor > 0


def test_partially_refunded_status_posts_like_success():
    record = detail("5TY05013RG002845M")
    record["transaction_info"]["transaction_status"] = "F"
    doc = transaction_to_payment(record, ACCOUNTS)
    assert doc.status == "f" and lines(doc)["acc_paypal"] == 45121


def test_pending_payment_posts_once_it_succeeds():
    record = detail("7PN55555QR666777S")
    record["transaction_info"]["transaction_status"] = "S"
    doc = transaction_to_payment(record, ACCOUNTS)
    assert lines(doc) == {"acc_paypal": 7238, "acc_merchant_fees": 312, "acc_sales": -7550}


@pytest.mark.parametrize(("code", "amount", "kind"), [
    ("T0000", 100, "charge"), ("T0006", 100, "charge"), ("T0003", -100, "other"),
    ("T0100", -100, "fee"), ("T0106", -100, "fee"), ("T0200", -100, "other"),
    ("T0300", 100, "transfer"), ("T0400", -100, "payout"), ("T0403", -100, "payout"),
    ("T1101", 100, "payout_reversal"), ("T1104", -100, "transfer"), ("T1105", 100, "release"),
    ("T1106", -100, "dispute"), ("T1107", -100, "refund"), ("T1108", 100, "fee"),
    ("T1110", -100, "hold"), ("T1111", 100, "release"), ("T1201", -100, "dispute"),
    ("T1202", 100, "dispute_reversal"), ("T1205", 100, "dispute_reversal"),
    ("T1200", 100, "adjustment"), ("T1501", -100, "hold"), ("T1503", 100, "release"),
    ("T2103", -100, "hold"), ("T2104", 100, "release"), ("T1300", 100, "other"),
    ("T0800", 100, "other"), ("T9900", 100, "other"),
])  # fmt: skip
def test_event_codes_map_by_group(code, amount, kind):
    assert event_kind(code, amount) == kind


def test_authorizations_move_no_money():
    record = detail("5TY05013RG002845M")
    record["transaction_info"]["transaction_event_code"] = "T1300"
    doc = transaction_to_payment(record, ACCOUNTS)
    assert doc.kind == "other" and doc.journal.lines == ()


@pytest.mark.parametrize(("change", "field"), [
    (lambda i: i["transaction_amount"].update(value=465.0), "transaction_amount"),
    (lambda i: i["transaction_amount"].update(value="465.001"), "transaction_amount"),
    (lambda i: i.pop("transaction_amount"), "transaction_amount"),
    (lambda i: i["fee_amount"].update(currency_code="EUR"), "fee_amount"),
    (lambda i: i.update(transaction_status="X"), "transaction_status"),
    (lambda i: i.update(transaction_event_code="X0006"), "transaction_event_code"),
    (lambda i: i.update(transaction_initiation_date="2024-03-11T04:03:52"),
     "transaction_initiation_date"),
])  # fmt: skip
def test_unmappable_records_name_the_transaction_and_field(change, field):
    record = detail("5TY05013RG002845M")
    change(record["transaction_info"])
    with pytest.raises(DataMappingError) as caught:
        transaction_to_payment(record, ACCOUNTS)
    assert "5TY05013RG002845M" in caught.value.message and field in caught.value.message
    assert caught.value.details["field"] == field


def test_the_same_record_gives_the_same_document():
    first = transaction_to_payment(detail("1RF44444CD555666E"), ACCOUNTS)
    assert transaction_to_payment(detail("1RF44444CD555666E"), ACCOUNTS) == first


def test_fixture_page_as_a_batch():
    docs = transactions_to_payments(_page()["transaction_details"], ACCOUNTS)
    assert len(docs) == 11 and all(d.journal.is_balanced() for d in docs)
    assert [d.external_id for d in docs] == [r["transaction_info"]["transaction_id"]
                                             for r in _page()["transaction_details"]]


@pytest.mark.parametrize("policy", ["variable", "full", "none"])
def test_whole_sandbox_history_leaves_the_clearing_account_empty(policy):
    data = TransactionDataset(PayPalSandboxConfig(
        seed=3, size=400, days=60, currencies=("USD", "JPY", "KWD"), refund_percent=15,
        chargeback_percent=5, dispute_won_percent=5, refund_fee_policy=policy))  # fmt: skip
    data.ensure()
    records = [data.render(t, ("transaction_info",), 2**40, True) for t in data.events]
    docs = transactions_to_payments(records, ACCOUNTS)
    assert all(doc.journal.is_balanced() for doc in docs)
    assert clearing_net_by_currency(docs, "acc_paypal") == {"USD": 0, "JPY": 0, "KWD": 0}
    reserve: dict[str, int] = {}
    for doc in docs:
        net = doc.journal.net_by_account()
        reserve[doc.currency] = reserve.get(doc.currency, 0) + net.get(
            "acc_processor_reserves", 0)  # fmt: skip
        if doc.journal.lines:
            assert net.get("acc_paypal", 0) == doc.net_minor
    assert set(reserve.values()) == {0}  # every hold was released
    kinds = {d.kind for d in docs}
    assert {"charge", "refund", "dispute", "fee", "hold", "release", "payout"} <= kinds
    # What went to the bank is what the account earned, to the minor unit.
    for currency in ("USD", "JPY", "KWD"):
        earned = sum(d.net_minor for d in docs if d.currency == currency
                     and d.journal.lines and d.kind not in ("payout", "transfer"))
        banked = sum(-d.net_minor for d in docs if d.currency == currency
                     and d.kind in ("payout", "transfer"))
        assert earned == banked and earned > 0
    # Amounts arrive as decimal strings, in each currency's exponent.
    values = [r["transaction_info"]["transaction_amount"]["value"] for r in records]
    assert all(isinstance(v, str) for v in values)
    assert {-Decimal(v).as_tuple().exponent for v in values[:50] if "." in v} <= {2, 3}
