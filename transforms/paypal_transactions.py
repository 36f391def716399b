"""PayPal Transaction Search records -> PaymentDoc (one balance movement each).

A record is one element of `transaction_details` from `GET /v1/reporting/transactions`;
only its `transaction_info` block is read. Amounts are signed from the merchant's side
(`transaction_amount` < 0 is money out) and `fee_amount` is negative when PayPal charges a
fee, positive when it gives one back (the returned part of a fee on a refund).

The kind comes from the transaction event code (`T` + two-digit group + two-digit type, see
developer.paypal.com/docs/transaction-search/transaction-event-codes), by group:

    T00xx payment received  -> charge   (a payment the merchant sent: other)
    T01xx fee               -> fee
    T02xx currency convert  -> other
    T03xx bank deposit      -> transfer
    T04xx bank withdrawal   -> payout
    T11xx reversal/refund   -> refund   (T1101 payout_reversal, T1104 transfer, T1105/T1111
                                         release, T1106 dispute, T1108/T1109 fee, T1110 hold)
    T12xx adjustment        -> dispute when money goes out, dispute_reversal when it comes
                               back (T1201 chargeback, T1202 its reversal ...); T1200, T1203,
                               T1204 adjustment
    T15xx, T21xx hold       -> hold when money goes out, release when it comes back
    T13xx authorization, T98xx display only -> other, nothing posted (no money moved)
    anything else           -> other

Every journal moves exactly net (amount + fee_amount) through the clearing account: the
amount against the kind's account, the fee against the fees account. Status S and V post;
P (pending) and D (denied) give an empty journal, so a pending payment that later succeeds
posts when it is synced again with status S. (F, partially refunded, which some clients
report though the spec does not list it, posts like S.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, amount_to_minor, normalize_currency
from transforms.documents import JournalDraft, PaymentAccounts, PaymentDoc, lines_from_net

# F (partially refunded) is not in PayPal's spec but third-party clients report it: the
# payment itself succeeded, so it posts like S.
POSTED_STATUSES = frozenset({"S", "V", "F"})
UNPOSTED_STATUSES = frozenset({"P", "D"})
# Groups that never move money: authorizations (T13xx) and display-only records (T98xx).
NON_POSTING_GROUPS = frozenset({"13", "98"})

_CODE = re.compile(r"^T(\d{2})(\d{2})$")

# Codes whose kind is not their group's (or depends on nothing but the code).
_CODE_KINDS: Mapping[str, str] = {
    "T1101": "payout_reversal",  # an ACH withdrawal came back from the bank
    "T1104": "transfer",  # an ACH deposit into PayPal was reversed
    "T1105": "release",  # reversal of a general account hold
    "T1106": "dispute",  # payment reversal initiated by PayPal: completes a chargeback
    "T1108": "fee",  # fee reversal
    "T1109": "fee",  # fee refund
    "T1110": "hold",  # hold for dispute investigation
    "T1111": "release",  # cancellation of that hold
    "T1114": "other",  # MassPay reversal
    "T1115": "other",  # MassPay refund
    "T1200": "adjustment",
    "T1203": "adjustment",  # charge-off
    "T1204": "adjustment",  # incentive
}
_GROUP_KINDS: Mapping[str, str] = {
    "01": "fee",
    "02": "other",
    "03": "transfer",
    "04": "payout",
    "11": "refund",
}
_HOLD_GROUPS = frozenset({"15", "21"})


def _counter_account(kind: str, accounts: PaymentAccounts) -> str:
    """The account a movement's amount posts against (clearing takes the other side)."""
    return {
        "charge": accounts.sales_account,
        "refund": accounts.refunds_account,
        "fee": accounts.fees_account,
        "transfer": accounts.bank_account,
        "payout": accounts.bank_account,
        "payout_reversal": accounts.bank_account,
        "dispute": accounts.chargebacks_account,
        "dispute_reversal": accounts.chargebacks_account,
        "hold": accounts.reserve_account,
        "release": accounts.reserve_account,
    }.get(kind, accounts.adjustments_account)


def event_kind(code: str, amount_minor: int) -> str:
    """The PaymentDoc kind of a T-code; the sign decides where PayPal uses one code family
    for both directions (chargebacks and their reversals, holds and releases)."""
    match = _CODE.match(code) if isinstance(code, str) else None
    if match is None:
        raise DataMappingError(f"not a PayPal transaction event code: {code!r}")
    group = match.group(1)
    if code in _CODE_KINDS:
        return _CODE_KINDS[code]
    if group == "00":
        # T00xx is received when positive; negative is a payment the merchant sent.
        return "charge" if amount_minor >= 0 else "other"
    if group == "12":
        return "dispute" if amount_minor < 0 else "dispute_reversal"
    if group in _HOLD_GROUPS:
        return "hold" if amount_minor < 0 else "release"
    return _GROUP_KINDS.get(group, "other")


def transaction_to_payment(detail: dict[str, Any], accounts: PaymentAccounts) -> PaymentDoc:
    """Map one `transaction_details` element to a PaymentDoc with its journal draft.

    Raises DataMappingError naming the transaction and the field for anything unmappable.
    """
    if type(detail) is not dict:
        raise DataMappingError(f"PayPal transaction must be a JSON object, got "
                               f"{type(detail).__name__}")
    info = detail.get("transaction_info")
    if type(info) is not dict:
        raise DataMappingError("PayPal transaction has no transaction_info block")
    txn_id = info.get("transaction_id")
    if not isinstance(txn_id, str) or not txn_id:
        raise DataMappingError("PayPal transaction has no transaction_id")
    code = info.get("transaction_event_code")
    if not isinstance(code, str):
        raise _error(txn_id, "transaction_event_code", f"missing or not a string: {code!r}")
    currency, amount = _money(info, "transaction_amount", txn_id, required=True)
    fee_currency, fee_amount = _money(info, "fee_amount", txn_id, required=False)
    if fee_currency is not None and fee_currency != currency:
        raise _error(txn_id, "fee_amount", f"currency {fee_currency} differs from the "
                                           f"transaction's {currency}")
    status = info.get("transaction_status")
    if status not in POSTED_STATUSES and status not in UNPOSTED_STATUSES:
        raise _error(txn_id, "transaction_status", f"unknown status {status!r}")
    occurred = _datetime(info, "transaction_initiation_date", txn_id)
    try:
        kind = event_kind(code, amount)
    except DataMappingError as exc:
        raise _error(txn_id, "transaction_event_code", exc.message) from None
    fee = -fee_amount  # PaymentDoc: a fee charged is positive
    net = amount - fee
    memo = f"PayPal {code} {txn_id}"
    lines: tuple = ()
    if status in POSTED_STATUSES and code[1:3] not in NON_POSTING_GROUPS:
        nets: dict[str, int] = {}
        for account, value in ((accounts.clearing_account, net),
                               (_counter_account(kind, accounts), -amount),
                               (accounts.fees_account, fee)):  # fmt: skip
            nets[account] = nets.get(account, 0) + value
        lines = lines_from_net(nets, memo)
    journal = JournalDraft(entry_date=occurred.date(), currency=currency, memo=memo,
                           lines=lines)  # fmt: skip
    return PaymentDoc(
        external_id=txn_id,
        kind=kind,
        currency=currency,
        amount_minor=amount,
        fee_minor=fee,
        net_minor=net,
        occurred_at=occurred,
        status=str(status).lower(),
        source_id=_text(info.get("paypal_reference_id")),
        order_ref=_text(info.get("invoice_id")),
        payout_id=None,
        description=_text(info.get("transaction_subject")) or _text(info.get("transaction_note")),
        journal=journal,
    )


def transactions_to_payments(
    details: Iterable[dict[str, Any]], accounts: PaymentAccounts
) -> list[PaymentDoc]:
    """Map a page (or any batch) of records in order; the first unmappable one raises."""
    return [transaction_to_payment(detail, accounts) for detail in details]


def clearing_net_by_currency(docs: Iterable[PaymentDoc], clearing_account: str) -> dict[str, int]:
    """Net debit of the clearing account per currency over the documents' journals (zero
    when every movement in has been carried out to the bank)."""
    totals: dict[str, int] = {}
    for doc in docs:
        for line in doc.journal.lines:
            if line.account_id == clearing_account:
                totals[doc.currency] = totals.get(doc.currency, 0) + line.net_minor
    return totals


# -- helpers ---------------------------------------------------------------------------------


def _money(info: dict[str, Any], key: str, txn_id: str,
           *, required: bool) -> tuple[str | None, int]:  # fmt: skip
    value = info.get(key)
    if value is None:
        if required:
            raise _error(txn_id, key, "missing")
        return None, 0
    if type(value) is not dict:
        raise _error(txn_id, key, f"must be an object with currency_code and value, got "
                                  f"{type(value).__name__}")
    try:
        currency = normalize_currency(value.get("currency_code"))
        return currency, amount_to_minor(value.get("value"), currency)
    except MoneyError as exc:
        raise _error(txn_id, key, str(exc)) from None


def _datetime(info: dict[str, Any], key: str, txn_id: str) -> datetime:
    raw = info.get(key)
    if not isinstance(raw, str):
        raise _error(txn_id, key, f"missing or not a string: {raw!r}")
    try:
        # fromisoformat reads PayPal's `+0000` offsets (no colon) as well as RFC 3339.
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _error(txn_id, key, f"not a timestamp: {raw!r}") from None
    if moment.utcoffset() is None:
        raise _error(txn_id, key, f"timestamp without a time zone: {raw!r}")
    return moment.astimezone(UTC)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _error(txn_id: str, where: str, problem: str) -> DataMappingError:
    return DataMappingError(f"PayPal transaction {txn_id}: {where}: {problem}",
                            details={"transactionId": txn_id, "field": where})
