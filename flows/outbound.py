"""`deliver-webhook-events`: the outbox sent to subscribers (run on an interval and after
the inbox is processed).

Each round is one task run sending what is due; a round can make more due (the next event
of a resource whose previous one was just settled), so rounds repeat until nothing is due
now or the bound is reached. Retries wait for a later run: their time is in the future.
"""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from tasks.outbound import deliver_due_events


@flow(name="deliver-webhook-events", log_prints=False, validate_parameters=True)
def deliver_webhook_events(
    limit: Annotated[int, Field(ge=1, le=10_000)] = 500,
    max_rounds: Annotated[int, Field(ge=1, le=1_000)] = 20,
) -> dict[str, int]:
    """Deliver the normalized events due now to their subscribers, signed, in order per
    resource; failed attempts are retried by later runs on the backoff schedule.

    Args:
        limit: Most delivery attempts per round.
        max_rounds: Most rounds in this run (the rest waits for the next run).
    """
    totals = {"delivered": 0, "failed_attempts": 0, "gave_up": 0, "pending": 0, "rounds": 0}
    for _ in range(max_rounds):
        counts = deliver_due_events(limit=limit)
        totals["rounds"] += 1
        for key in ("delivered", "failed_attempts", "gave_up"):
            totals[key] += counts[key]
        totals["pending"] = counts["pending"]
        if counts["delivered"] + counts["failed_attempts"] == 0:
            break
    return totals
