"""Stripe balance transaction (API JSON, `source` expanded or not) -> PaymentDoc.

The clearing account is the Stripe balance. Each journal moves exactly the transaction's
`net` through clearing, the gross (`amount`) through the account its type points at, and
the `fee` through the fees account:

    clearing   += net               (debit when money comes in)
    counter    -= amount            (sales, refunds, chargebacks, bank, reserve, ...)
    fees       += fee               (a fee charged is a debit; one given back, a credit)

which balances because net = amount − fee (checked). So a charge debits clearing with the
gross and credits sales, the fee moves from clearing to fees (netted to one clearing line);
a refund debits refunds and credits clearing; a payout debits the bank; their failures or
reversals post the other way because their amounts have the other sign. When every payout
of a period is synced, the clearing account nets to exactly zero for it.

Stripe writes amounts as integers in its own minor units, which are ISO 4217's except for
the special cases in docs.stripe.com/currencies: ISK and UGX are zero-decimal in ISO but
Stripe keeps them two-decimal for backwards compatibility (ISK 5 is `500`, always a
multiple of 100), and MGA, which Stripe treats as zero-decimal while ISO gives it two.
HUF and TWD are two-decimal on both sides (Stripe only pays them out in whole units).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, currency_exponent, normalize_currency
from transforms.documents import JournalDraft, PaymentAccounts, PaymentDoc, lines_from_net

# docs.stripe.com/currencies: amounts in whole units.
STRIPE_ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV",
    "XAF", "XOF", "XPF",
})  # fmt: skip
# Amounts in thousandths (Stripe requires the last digit to be 0).
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# "Special cases": effectively zero-decimal, but written with two decimals (a multiple of
# 100) for backwards compatibility. ISO 4217 gives both 0 decimals.
STRIPE_TWO_DECIMAL_SPECIAL = frozenset({"ISK", "UGX"})

_CHARGE = frozenset({"charge", "payment"})
_REFUND = frozenset({"refund", "payment_refund", "payment_failure_refund", "payment_reversal",
                     "refund_failure"})  # fmt: skip
_PAYOUT_REVERSAL = frozenset({"payout_cancel", "payout_failure"})
_FEE = frozenset({"stripe_fee", "stripe_fx_fee", "tax_fee", "application_fee",
                  "application_fee_refund", "climate_order_purchase",
                  "climate_order_refund"})  # fmt: skip
_RESERVE = frozenset({"reserve_transaction", "reserved_funds", "reserve_hold", "reserve_release",
                      "payment_network_reserve_hold", "payment_network_reserve_release",
                      "payout_minimum_balance_hold", "payout_minimum_balance_release"})
_TOPUP = frozenset({"topup", "topup_reversal"})
_TRANSFER = frozenset({"transfer", "transfer_cancel", "transfer_failure", "transfer_refund",
                       "connect_collection_transfer", "inbound_transfer",
                       "inbound_transfer_reversal"})  # fmt: skip
_DISPUTE_CATEGORIES = {"dispute": "dispute", "dispute_reversal": "dispute_reversal"}


def stripe_exponent(currency: str) -> int:
    """Digits after the point in Stripe's integer amounts for this currency."""
    code = normalize_currency(currency)
    if code in STRIPE_ZERO_DECIMAL:
        return 0
    if code in STRIPE_THREE_DECIMAL:
        return 3
    return 2


def stripe_to_minor(amount: int, currency: str) -> int:
    """A Stripe integer amount -> ISO 4217 minor units of the same currency (exact).

    Raises MoneyError when the amount has a fraction ISO cannot hold (an ISK amount that is
    not a multiple of 100: Stripe allowed fractional krónur before April 2023).
    """
    if type(amount) is not int:
        raise MoneyError(f"Stripe amounts are integers, got {type(amount).__name__}")
    shift = currency_exponent(currency) - stripe_exponent(currency)
    if shift >= 0:
        return amount * 10**shift
    factor = 10**-shift
    if amount % factor:
        raise MoneyError(
            f"{amount} is not a whole number of {normalize_currency(currency)} (Stripe writes "
            f"it with {stripe_exponent(currency)} decimals, ISO 4217 has "
            f"{currency_exponent(currency)})"
        )
    return amount // factor


def classify(txn: Mapping[str, Any], accounts: PaymentAccounts) -> tuple[str, str]:
    """(PaymentDoc kind, account the gross amount posts against) for a balance transaction."""
    kind = txn.get("type")
    if not isinstance(kind, str):
        return "other", accounts.adjustments_account
    amount = txn.get("amount")
    positive = type(amount) is int and amount > 0
    if kind in _CHARGE:
        return "charge", accounts.sales_account
    if kind in _REFUND:
        return "refund", accounts.refunds_account
    if kind == "payout":
        return "payout", accounts.bank_account
    if kind in _PAYOUT_REVERSAL:
        return "payout_reversal", accounts.bank_account
    if kind in _FEE:
        return "fee", accounts.fees_account
    if kind in _RESERVE:
        return ("release" if positive else "hold"), accounts.reserve_account
    if kind == "adjustment":
        reported = txn.get("reporting_category")
        category = _DISPUTE_CATEGORIES.get(reported) if isinstance(reported, str) else None
        if category is None and _source_id(txn.get("source"), "").startswith("dp_"):
            # Older API versions without reporting_category: the dispute is the source.
            category = "dispute_reversal" if positive else "dispute"
        if category is not None:
            return category, accounts.chargebacks_account
        return "adjustment", accounts.adjustments_account
    if kind in _TOPUP:
        return "transfer", accounts.bank_account  # money moved between bank and balance
    if kind in _TRANSFER:
        return "transfer", accounts.adjustments_account
    return "other", accounts.adjustments_account


def balance_transaction_to_payment(
    txn: dict[str, Any], accounts: PaymentAccounts, payout_id: str | None = None
) -> PaymentDoc:
    """Map one Stripe balance transaction to a PaymentDoc with a balanced journal.

    `payout_id` names the payout that carried it when the caller knows (see
    connectors.stripe.StripeConnector.payout_map); a payout's own transaction names itself.
    Raises DataMappingError naming the transaction and the field for anything unmappable.
    """
    if type(txn) is not dict:
        raise DataMappingError(
            f"Stripe balance transaction must be a JSON object, got {type(txn).__name__}"
        )
    txn_id = txn.get("id")
    if not isinstance(txn_id, str) or not txn_id:
        raise DataMappingError("Stripe balance transaction has no id", details=_brief(txn))
    raw_currency = txn.get("currency")
    try:
        currency = normalize_currency(raw_currency)  # type: ignore[arg-type]
    except MoneyError as exc:
        raise _error(txn, "currency", str(exc)) from None
    amounts = {}
    for name in ("amount", "fee", "net"):
        value = txn.get(name)
        if type(value) is not int:
            raise _error(txn, name, f"must be an integer (Stripe minor units), got {value!r}")
        amounts[name] = value
    if amounts["net"] != amounts["amount"] - amounts["fee"]:
        raise _error(txn, "net", f"{amounts['net']} is not amount {amounts['amount']} − fee "
                     f"{amounts['fee']}")  # fmt: skip
    try:
        amount = stripe_to_minor(amounts["amount"], currency)
        fee = stripe_to_minor(amounts["fee"], currency)
    except MoneyError as exc:
        raise _error(txn, "amount", str(exc)) from None
    net = amount - fee
    if not isinstance(txn.get("type"), str) or not txn["type"]:
        raise _error(txn, "type", f"must name the transaction type, got {txn.get('type')!r}")
    created = txn.get("created")
    if type(created) is not int:
        raise _error(txn, "created", f"must be unix seconds, got {created!r}")
    occurred_at = datetime.fromtimestamp(created, UTC)
    kind, counter = classify(txn, accounts)
    source = txn.get("source")
    source_id = _source_id(source, None)
    if payout_id is None and txn.get("type") == "payout" and source_id:
        payout_id = source_id

    clearing = accounts.clearing_account
    net_by_account: dict[str, int] = {}
    for account, value in ((clearing, net), (counter, -amount), (accounts.fees_account, fee)):
        net_by_account[account] = net_by_account.get(account, 0) + value
    memo = f"Stripe {txn.get('type')} {txn_id}"
    journal = JournalDraft(occurred_at.date(), currency, memo, lines_from_net(net_by_account, memo))
    if not journal.is_balanced():  # cannot happen: net = amount − fee; kept as a tripwire
        raise _error(txn, "amount", "journal does not balance")
    status = txn.get("status")
    description = txn.get("description")
    return PaymentDoc(
        external_id=txn_id,
        kind=kind,
        currency=currency,
        amount_minor=amount,
        fee_minor=fee,
        net_minor=net,
        occurred_at=occurred_at,
        status=status.lower() if isinstance(status, str) else "",
        source_id=source_id,
        order_ref=_order_ref(source),
        payout_id=payout_id,
        description=description if isinstance(description, str) else None,
        journal=journal,
    )


def balance_transactions_to_payments(
    txns: Iterable[dict[str, Any]],
    accounts: PaymentAccounts,
    payouts: Mapping[str, str] | None = None,
) -> list[PaymentDoc]:
    """Map a batch; `payouts` is `{txn id: payout id}` (StripeConnector.payout_map).

    Raises the first DataMappingError; tasks.map.map_batch captures failures per record.
    """
    mapping = payouts or {}
    return [
        balance_transaction_to_payment(
            txn, accounts, mapping.get(txn.get("id")) if isinstance(txn, dict) else None
        )
        for txn in txns
    ]


def _source_id(source: Any, default: Any) -> Any:
    if isinstance(source, str) and source:
        return source
    if isinstance(source, dict) and isinstance(source.get("id"), str):
        return source["id"]
    return default


def _order_ref(source: Any) -> str | None:
    """The order behind the money: `metadata.order_id` of the source (or of the charge a
    refund or dispute expands to), else the PaymentIntent id."""
    if not isinstance(source, dict):
        return None
    charge = source.get("charge")
    holders = [source] + ([charge] if isinstance(charge, dict) else [])
    for holder in holders:
        metadata = holder.get("metadata")
        if isinstance(metadata, dict):
            order_id = metadata.get("order_id")
            if isinstance(order_id, str | int) and not isinstance(order_id, bool) and \
                    str(order_id).strip():  # fmt: skip
                return str(order_id).strip()
    for holder in holders:
        intent = _source_id(holder.get("payment_intent"), None)
        if intent:
            return intent
    return None


def _brief(txn: Any) -> dict[str, Any]:
    if not isinstance(txn, dict):
        return {}
    return {k: txn.get(k) for k in ("id", "type", "currency") if k in txn}


def _error(txn: dict[str, Any], where: str, problem: str) -> DataMappingError:
    return DataMappingError(
        f"Stripe balance transaction {txn.get('id')}: {where} {problem}",
        details={**_brief(txn), "field": where},
    )
