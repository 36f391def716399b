"""Extract, map and load for processor balances (Stripe balance transactions, PayPal
transactions): one batch of movements per task run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from ledger.db import transaction
from ledger.mapping import validate_payment_mapping
from ledger.payments import load_payment_batch
from tasks.connections import connector_for, load_integration
from tasks.map import MappedBatch, RecordMapper, map_batch
from tasks.retry import retry_if_transient
from transforms.documents import PaymentAccounts

# Which movement kinds each include* switch of a payments sync governs. Charges, payouts and
# the fees on a charge are always synced: without them the clearing account cannot tie out.
OPTIONAL_KINDS: dict[str, set[str]] = {
    "refunds": {"refund", "refund_failure"},
    "chargebacks": {"dispute", "dispute_reversal"},
    "fees": {"fee"},
}


def excluded_kinds(include_refunds: bool, include_chargebacks: bool,
                   include_fees: bool) -> list[str]:
    """The kinds a sync leaves out, from the spec's include* switches."""
    out: set[str] = set()
    for name, wanted in (("refunds", include_refunds), ("chargebacks", include_chargebacks),
                         ("fees", include_fees)):
        if not wanted:
            out |= OPTIONAL_KINDS[name]
    return sorted(out)


@task(name="extract-stripe-balance-transactions", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def extract_stripe_balance_transactions(
    integration_id: str, created_from: datetime | None, created_to: datetime | None,
    after: str | None, batch_size: int,
) -> dict[str, Any]:
    """The next `batch_size` balance transactions (newest first) after a cursor, each with
    its source object expanded."""
    connector = connector_for(load_integration(integration_id))
    records: list[dict[str, Any]] = []
    cursor, has_next = after, True
    while has_next and len(records) < batch_size:
        page = connector.fetch_balance_transactions_page(
            created_from, created_to, cursor, limit=min(100, batch_size - len(records)))
        records.extend(page.records)
        cursor, has_next = page.end_cursor or cursor, page.has_next_page
    return {"records": records, "end_cursor": cursor, "has_next_page": has_next}


@task(name="extract-paypal-transactions", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def extract_paypal_transactions(
    integration_id: str, start: datetime, end: datetime, cursor: str | None,
) -> dict[str, Any]:
    """One Transaction Search page (up to 500) of the range; the connector splits the range
    into windows PayPal accepts and the cursor walks them."""
    connector = connector_for(load_integration(integration_id))
    page = connector.fetch_transactions_page(start, end, cursor)
    return {"records": page.records, "end_cursor": page.end_cursor,
            "has_next_page": page.has_next_page,
            "last_refreshed": page.last_refreshed.isoformat() if page.last_refreshed else None}


def _stripe_mapper() -> RecordMapper:
    from transforms.stripe_payments import balance_transaction_to_payment

    return RecordMapper("payment", balance_transaction_to_payment,
                        lambda txn: str(txn.get("id", "?")))


def _paypal_mapper() -> RecordMapper:
    from transforms.paypal_transactions import transaction_to_payment

    def external_id(detail: dict) -> str:
        return str((detail.get("transaction_info") or {}).get("transaction_id", "?"))

    return RecordMapper("payment", transaction_to_payment, external_id)


PAYMENT_MAPPERS: dict[str, Callable[[], RecordMapper]] = {
    "stripe": _stripe_mapper,
    "paypal": _paypal_mapper,
}


def payment_accounts(integration_id: str) -> tuple[str, PaymentAccounts]:
    """The integration's platform and the accounts its movements post to."""
    integration = load_integration(integration_id)
    with transaction() as conn:
        return integration.platform, validate_payment_mapping(conn, integration.mapping,
                                                              integration.platform)


@task(name="map-payments", cache_policy=NO_CACHE, persist_result=False)
def map_payments(integration_id: str, records: list[dict],
                 excluded: list[str] = ()) -> MappedBatch:
    """Map a batch of movements with the integration's mapping, leaving out the kinds the
    sync excludes (refunds, chargebacks or standalone fees)."""
    platform, accounts = payment_accounts(integration_id)
    mapped = map_batch(records, PAYMENT_MAPPERS[platform](), accounts)
    if excluded:
        mapped.documents = [d for d in mapped.documents if d.kind not in excluded]
    return mapped


@task(name="load-payments-batch", retries=3, retry_delay_seconds=[1, 3, 10],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def load_payments(
    integration_id: str, sync_id: str | None, source_type: str, batch: MappedBatch,
    resume_cursor: str | None = None, stream_cursor: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Upsert the batch's movements and post their journals with the sync's counters and
    cursors, all or nothing."""
    with transaction() as conn:
        result = load_payment_batch(conn, integration_id, source_type, batch.documents,
                                    sync_id=sync_id, failures=batch.failures,
                                    cursor=stream_cursor, resume_cursor=resume_cursor)
    out = asdict(result)
    out["kinds"] = dict(result.kinds)
    return out
