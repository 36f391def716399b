"""Custom connectors' reads and mapping: one page of a definition's endpoint per task run,
its records already mapped by the definition's JSONPaths, then into ledger documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from ledger.db import transaction
from ledger.mapping import validate_mapping, validate_payment_mapping
from tasks.connections import connector_for, load_integration
from tasks.map import MappedBatch, RecordMapper, map_batch
from tasks.retry import retry_if_transient


@task(name="extract-custom-page", retries=3, retry_delay_seconds=[2, 10, 30],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE,
      persist_result=False)
def extract_custom_page(integration_id: str, endpoint: str, parameters: dict[str, Any],
                        cursor: str | None) -> dict[str, Any]:
    """One page of the endpoint: its records mapped through the definition."""
    page = connector_for(load_integration(integration_id)).fetch_page(endpoint, parameters,
                                                                      cursor)
    return {"records": page.mapped, "end_cursor": page.end_cursor,
            "has_next_page": page.has_next_page}


@task(name="map-custom-records", cache_policy=NO_CACHE, persist_result=False)
def map_custom_records(integration_id: str, target: str, records: list[dict],
                       default_date: datetime, default_currency: str) -> MappedBatch:
    """Mapped records of one target type (order, customer, product, payment) as ledger
    documents; a record that cannot be turned into one is a failure with its payload."""
    from transforms.custom_records import record_to_documents

    integration = load_integration(integration_id)
    with transaction() as conn:
        accounts = (validate_payment_mapping(conn, integration.mapping, "custom")
                    if target == "payment" else validate_mapping(conn, integration.mapping))
    key = {"order": "orderId", "customer": "customerId", "product": "sku",
           "payment": "paymentId"}.get(target, "id")
    mapper = RecordMapper(
        "order" if target == "order" else target,
        lambda record, ctx: record_to_documents(
            target, record, accounts=ctx, default_currency=default_currency,
            default_date=default_date, source=integration.settings.get("connectorId",
                                                                       "custom")),
        lambda record: str(record.get(key) or record.get("email") or record.get("name")
                           or "?"))
    return map_batch(records, mapper, accounts)
