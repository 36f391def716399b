"""Replaying the records a sync could not load (POST .../retry-failed).

A failed record is replayed from the freshest source there is: orders of platforms that can
fetch by id are fetched again (a fix made on the platform shows), others (Amazon orders,
products, customers, Stripe and PayPal movements) are mapped again from the payload kept
with the error (a fix of the integration's mapping shows). Each
replay counts an attempt on the record's error; a record that loads leaves the error list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prefect import task
from sqlalchemy import Connection

from ledger.catalog import load_product_batch
from ledger.customers import load_customer_batch
from ledger.db import transaction
from ledger.integrations import IntegrationRecord
from ledger.mapping import validate_mapping
from ledger.orders import load_order_batch
from ledger.payments import load_payment_batch
from ledger.syncs import (
    RecordFailure,
    count_attempts,
    list_failures,
    record_failures,
    resolve_failures,
)
from tasks.connections import connector_for, load_integration
from tasks.extract import shopify_shop_currency, woocommerce_store_currency
from tasks.map import (
    MAPPERS,
    MappedBatch,
    map_batch,
    map_products,
    map_shopify_customers,
    map_woocommerce,
)
from tasks.payments import PAYMENT_MAPPERS, payment_accounts
from tasks.sync_runs import TASK_OPTIONS


@dataclass(frozen=True)
class Replayer:
    """How records of one platform and object type are replayed: obtained again (fetched
    from the platform by id, or taken from the payload kept with the error), mapped with the
    integration's current mapping, and loaded as their sync loads them."""

    # Orders fetched from the platform by id: the id of a fetched record. None: the
    # record is taken from the payload kept with its error.
    fetch: Callable[[dict[str, Any]], str] | None
    map: Callable[[IntegrationRecord, list[dict[str, Any]]], MappedBatch]
    load: Callable[[Connection, str, list[Any]], Any]


def _orders(kind: str) -> Callable[[IntegrationRecord, list[dict[str, Any]]], MappedBatch]:
    def map_orders(integration: IntegrationRecord, records: list[dict[str, Any]]):
        with transaction() as conn:
            accounts = validate_mapping(conn, integration.mapping)
        return map_batch(records, MAPPERS[kind](), accounts)
    return map_orders


def _load_orders(kind: str) -> Callable[[Connection, str, list[Any]], Any]:
    return lambda conn, iid, docs: load_order_batch(conn, iid, kind, docs)


def _payments(integration: IntegrationRecord, records: list[dict[str, Any]]) -> MappedBatch:
    _, accounts = payment_accounts(integration.id)
    return map_batch(records, PAYMENT_MAPPERS[integration.platform](), accounts)


REPLAYERS: dict[tuple[str, str], Replayer] = {
    ("shopify", "order"): Replayer(MAPPERS["shopify.order"]().external_id,
                                   _orders("shopify.order"),
                                   _load_orders("shopify.order")),
    ("woocommerce", "order"): Replayer(MAPPERS["woocommerce.order"]().external_id,
                                       _orders("woocommerce.order"),
                                       _load_orders("woocommerce.order")),
    ("amazon", "order"): Replayer(None, _orders("amazon.order"),
                                  _load_orders("amazon.order")),
    ("shopify", "product"): Replayer(
        None, lambda i, rs: map_products.fn(rs, shopify_shop_currency.fn(i.id)),
        lambda conn, iid, docs: load_product_batch(conn, iid, docs)),
    ("shopify", "customer"): Replayer(
        None, lambda i, rs: map_shopify_customers.fn(rs),
        lambda conn, iid, docs: load_customer_batch(conn, iid, docs)),
    ("woocommerce", "product"): Replayer(
        None, lambda i, rs: map_woocommerce.fn("products", rs,
                                                woocommerce_store_currency.fn(i.id)),
        lambda conn, iid, docs: load_product_batch(conn, iid, docs)),
    ("woocommerce", "customer"): Replayer(
        None, lambda i, rs: map_woocommerce.fn("customers", rs, None),
        lambda conn, iid, docs: load_customer_batch(conn, iid, docs)),
    ("stripe", "payment"): Replayer(
        None, _payments, lambda conn, iid, docs: load_payment_batch(conn, iid,
                                                                     "stripe.payment", docs)),
    ("paypal", "payment"): Replayer(
        None, _payments, lambda conn, iid, docs: load_payment_batch(conn, iid,
                                                                     "paypal.payment", docs)),
}
MAX_RECORDS = 10_000


@task(name="read-failed-records", **TASK_OPTIONS)
def read_failed_records(sync_id: str, retry_type: str) -> list[dict[str, Any]]:
    """The records to replay: the sync's open errors (failed_only), or every record that
    failed in it, including those a later run already recovered (all)."""
    with transaction() as conn:
        rows = list_failures(conn, sync_id=sync_id, limit=MAX_RECORDS,
                             open_only=retry_type == "failed_only")
    return [{"object_type": r["object_type"], "external_id": r["external_id"],
             "payload": r["payload"], "attempts": r["attempts"]} for r in rows]


@task(name="replay-records", **TASK_OPTIONS)
def replay_records(integration_id: str, source_sync_id: str, object_type: str,
                   records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Replay records of one object type once: {"recovered": [...], "failed": [...]}.
    Failures are written to the source sync's errors (one more attempt each, with the new
    error); recovered records count their attempt and are resolved — all in one transaction
    with their load."""
    integration = load_integration(integration_id)
    replayer = REPLAYERS[(integration.platform, object_type)]
    ids = [r["external_id"] for r in records]
    if replayer.fetch:
        current = connector_for(integration).fetch_orders_by_ids(ids)
        found = {replayer.fetch(r) for r in current}
        missing = [RecordFailure(object_type, i, "NOT_FOUND",
                                 "the record no longer exists on the platform")
                   for i in ids if i not in found]
    else:
        current = [r["payload"] for r in records if r["payload"]]
        missing = [RecordFailure(object_type, r["external_id"], "NOT_FOUND",
                                 "no payload was kept to replay")
                   for r in records if not r["payload"]]
    mapped = replayer.map(integration, current)
    with transaction() as conn:
        replayer.load(conn, integration_id, mapped.documents)
        failures = [*mapped.failures, *missing]
        failed_ids = {f.external_id for f in failures}
        recovered = [i for i in ids if i not in failed_ids]
        record_failures(conn, source_sync_id, integration_id, failures)
        count_attempts(conn, source_sync_id, object_type, recovered)
        resolve_failures(conn, integration_id, object_type, recovered)
    return {"recovered": recovered, "failed": sorted(failed_ids)}


def by_type(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        grouped[record["object_type"]].append(record)
    return dict(grouped)
