"""/v1/integrations/{integrationId}/retry-failed: replay the records a sync could not load
(the spec's "Error Recovery") in a run of the retry-failed flow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.orchestrator import start_sync
from api.routes.integrations import id_path
from api.schemas import RetryFailedRequest
from bigledger.errors import NotFound
from ledger.db import transaction
from ledger.integrations import get_integration
from ledger.syncs import find_sync_run, list_failures

router = APIRouter(prefix="/v1/integrations", tags=["error recovery"])


@router.post("/{integrationId}/retry-failed", summary="Retry the failed records of a sync")
def retry_failed(body: RetryFailedRequest,
                 integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    """Answers the retry's own sync (poll it like any sync); its counters say how many
    records were retried, recovered and are still failing."""
    with transaction() as conn:
        integration = get_integration(conn, integrationId)
        source = find_sync_run(conn, body.sync_id)
        if source is None or source["integration_id"] != integration.id:
            raise NotFound(f"no sync {body.sync_id!r} on integration {integration.id!r}")
        to_retry = len(list_failures(conn, sync_id=source["id"], limit=10_000,
                                     open_only=body.retry_type == "failed_only"))
    return start_sync(
        integration, "retry_failed", "retry-failed",
        {"syncId": source["id"], "retryType": body.retry_type, "maxRetries": body.max_retries},
        {"integration_id": integration.id, "source_sync_id": source["id"],
         "retry_type": body.retry_type, "max_retries": body.max_retries}, to_retry)
