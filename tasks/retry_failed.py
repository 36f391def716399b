"""Replaying the records a sync could not load (POST .../retry-failed).

A failed record is replayed from the freshest source there is: orders of platforms that can
fetch by id are fetched again (a fix made on the platform shows), others are mapped again
from the payload kept with the error (a fix of the integration's mapping shows). Each
replay counts an attempt on the record's error; a record that loads leaves the error list.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from prefect import task

from ledger.db import transaction
from ledger.orders import load_order_batch
from ledger.syncs import (
    RecordFailure,
    count_attempts,
    list_failures,
    record_failures,
    resolve_failures,
)
from tasks.connections import connector_for, load_integration
from tasks.map import MAPPERS, map_batch
from tasks.sync_runs import TASK_OPTIONS

# Object types this module can replay record by record, per platform: how the record is
# obtained again ("fetch": from the platform by id, "payload": from the kept payload).
REPLAYABLE: dict[tuple[str, str], str] = {
    ("shopify", "order"): "fetch",
    ("woocommerce", "order"): "fetch",
    ("amazon", "order"): "payload",
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
    error); recovered records are resolved — all in one transaction with their load."""
    integration = load_integration(integration_id)
    how = REPLAYABLE[(integration.platform, object_type)]
    kind = f"{integration.platform}.{object_type}"
    mapper = MAPPERS[kind]()
    ids = [r["external_id"] for r in records]
    missing: list[RecordFailure] = []
    if how == "fetch":
        current = connector_for(integration).fetch_orders_by_ids(ids)
        found = {mapper.external_id(r) for r in current}
        missing = [RecordFailure(object_type, i, "NOT_FOUND",
                                 "the record no longer exists on the platform")
                   for i in ids if i not in found]
    else:
        current = [r["payload"] for r in records if r["payload"]]
        missing = [RecordFailure(object_type, r["external_id"], "NOT_FOUND",
                                 "no payload was kept to replay") for r in records
                   if not r["payload"]]
    from ledger.mapping import validate_mapping

    with transaction() as conn:
        accounts = validate_mapping(conn, integration.mapping)
        mapped = map_batch(current, mapper, accounts)
        failures = [*mapped.failures, *missing]
        load_order_batch(conn, integration_id, kind, mapped.documents)
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
