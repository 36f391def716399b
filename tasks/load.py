"""Load: one batch into the ledger, with the sync's counters and cursor, in one transaction."""

from __future__ import annotations

from dataclasses import asdict

from prefect import task
from prefect.cache_policies import NO_CACHE

from ledger.catalog import load_product_batch, mark_products_deleted
from ledger.customers import load_customer_batch
from ledger.db import transaction
from ledger.maintenance import refresh_statistics
from ledger.orders import load_order_batch
from ledger.syncs import add_counters, set_cursor
from tasks.map import MappedBatch
from tasks.retry import retry_if_transient


@task(name="load-orders-batch", retries=3, retry_delay_seconds=[1, 3, 10],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def load_orders(
    integration_id: str, sync_id: str | None, source_type: str, batch: MappedBatch,
    resume_cursor: str | None = None, stream_cursor: tuple[str, str] | None = None,
) -> dict[str, int]:
    """Upsert the batch's orders, post their journals, count them on the sync and move its
    cursors — all or nothing."""
    with transaction() as conn:
        result = load_order_batch(
            conn, integration_id, source_type, batch.documents, sync_id=sync_id,
            failures=batch.failures, cursor=stream_cursor, resume_cursor=resume_cursor,
        )
    with transaction() as conn:
        refresh_statistics(conn)
    return asdict(result)


@task(name="load-products-batch", retries=3, retry_delay_seconds=[1, 3, 10],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def load_products(
    integration_id: str, sync_id: str | None, batch: MappedBatch, with_variants: bool,
    resume_cursor: str | None = None, stream_cursor: tuple[str, str] | None = None,
) -> dict[str, int]:
    """Upsert the batch's products, variants and stock with the sync's counters and cursors."""
    with transaction() as conn:
        result = load_product_batch(
            conn, integration_id, batch.documents, sync_id=sync_id, failures=batch.failures,
            cursor=stream_cursor, resume_cursor=resume_cursor, with_variants=with_variants,
        )
    with transaction() as conn:
        refresh_statistics(conn)
    return asdict(result)


@task(name="mark-deleted-products", cache_policy=NO_CACHE, persist_result=False)
def mark_deleted_products(integration_id: str, sync_id: str, events: list[dict],
                          stream: str) -> int:
    """Mark the products of deletion events deleted, count them, move the deletions cursor."""
    from datetime import datetime

    external_ids = [str(e["subjectId"]).rsplit("/", 1)[-1] for e in events]
    with transaction() as conn:
        done = mark_products_deleted(conn, integration_id, external_ids)
        add_counters(conn, sync_id, {"productsDeleted": done})
        if events:
            newest = max(datetime.fromisoformat(e["occurredAt"].replace("Z", "+00:00"))
                         for e in events)
            set_cursor(conn, integration_id, stream, newest.isoformat())
    return done


@task(name="load-customers-batch", retries=3, retry_delay_seconds=[1, 3, 10],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def load_customers(
    integration_id: str, sync_id: str | None, batch: MappedBatch,
    resume_cursor: str | None = None, stream_cursor: tuple[str, str] | None = None,
) -> dict[str, int]:
    """Upsert the batch's customers with the sync's counters and cursors."""
    with transaction() as conn:
        result = load_customer_batch(conn, integration_id, batch.documents, sync_id=sync_id,
                                     failures=batch.failures, cursor=stream_cursor,
                                     resume_cursor=resume_cursor)
    return asdict(result)
