"""`retry-failed`: replay the records a sync could not load (the spec's "Error Recovery").

Up to max_retries rounds: every record still failing is replayed (orders fetched again from
the platform, or mapped again from their kept payload, with the integration's current
mapping); each replay counts an attempt on the record's error. Records that load leave the
error list; the ones still failing after the last round keep their last error. Transient
trouble (the platform answering 429 or 5xx) waits a little before the next round.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from pydantic import Field

from flows.common import closing_on_error
from tasks.connections import load_integration
from tasks.retry_failed import REPLAYERS, by_type, read_failed_records, replay_records
from tasks.sync_runs import add_sync_counters, finish_sync_run, open_sync_run

BATCH = 250
ROUND_PAUSE_SECONDS = (1, 3, 10)


@flow(name="retry-failed", log_prints=False, validate_parameters=True)
def retry_failed(
    integration_id: str,
    source_sync_id: str,
    retry_type: Literal["failed_only", "all"] = "failed_only",
    max_retries: Annotated[int, Field(ge=1, le=10)] = 3,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Replay the failed records of a sync.

    Args:
        integration_id: The integration the sync belongs to.
        source_sync_id: The sync whose failed records are replayed.
        retry_type: failed_only: the records still failing; all: every record that failed in
            the sync, also those a later run recovered (checked again).
        max_retries: Replays per record at most in this run, 1-10.
        sync_id: The sync record of this retry (the API opens one). Empty: a new one.
    """
    logger = get_run_logger()
    run = open_sync_run(integration_id, "retry_failed",
                        {"syncId": source_sync_id, "retryType": retry_type,
                         "maxRetries": max_retries}, sync_id, flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        platform = load_integration(integration_id).platform
        records = read_failed_records(source_sync_id, retry_type)
        groups = by_type(records)
        skipped = {t: len(rs) for t, rs in groups.items() if (platform, t) not in REPLAYERS}
        pending = {t: rs for t, rs in groups.items() if (platform, t) in REPLAYERS}
        recovered = 0
        for round_number in range(1, max_retries + 1):
            still: dict[str, list[dict[str, Any]]] = {}
            for object_type, group in pending.items():
                for start in range(0, len(group), BATCH):
                    part = group[start:start + BATCH]
                    outcome = replay_records(integration_id, source_sync_id, object_type, part)
                    recovered += len(outcome["recovered"])
                    failed = set(outcome["failed"])
                    still.setdefault(object_type, []).extend(
                        r for r in part if r["external_id"] in failed)
            pending = {t: rs for t, rs in still.items() if rs}
            if not pending:
                break
            if round_number < max_retries:
                time.sleep(ROUND_PAUSE_SECONDS[min(round_number, len(ROUND_PAUSE_SECONDS)) - 1])
        still_failing = sum(len(rs) for rs in pending.values())
        add_sync_counters(sync_id, {"recordsRetried": sum(len(g) for g in groups.values())
                                    - sum(skipped.values()),
                                    "recordsRecovered": recovered,
                                    "recordsStillFailing": still_failing,
                                    "recordsNotReplayable": sum(skipped.values())})
        if skipped:
            logger.warning("not replayable record by record (sync again instead): %s", skipped)
    return finish_sync_run(sync_id, records_failed=still_failing > 0)
