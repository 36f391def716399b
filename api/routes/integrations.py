"""/v1/integrations: the catalog, setup, sync progress and integration status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from api.catalog import CATALOG, SETUP_READY, catalog_ids
from api.envelope import ok
from api.orchestrator import flow_run_state
from api.realtime import connect_realtime
from api.schemas import SetupRequest
from api.views import integration_view, sync_view
from bigledger.errors import InvalidCredentials, NotFound
from connectors.factory import (
    build_connector,
    check_connection,
    check_credentials,
    merge_tokens,
)
from ledger.db import transaction
from ledger.integrations import create_integration, get_integration, list_integrations
from ledger.mapping import validate_mapping
from ledger.syncs import (
    FINISHED,
    get_sync_run,
    mark_finished,
)

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])


def id_path() -> Any:
    """A fresh Path() per parameter: FastAPI must not share one FieldInfo between routes."""
    return Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


@router.get("/available", summary="List available integrations")
def available() -> dict[str, Any]:
    return ok(CATALOG)


@router.post("/{integrationId}/setup", summary="Set up an integration")
def setup(body: SetupRequest, integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    """Check the credentials against the platform, then store them encrypted."""
    platform = integrationId
    if platform not in catalog_ids():
        raise NotFound(f"no integration {platform!r} in the catalog")
    if platform not in SETUP_READY:
        raise InvalidCredentials(f"{platform} setup is not available in this build yet")
    check_credentials(platform, body.credentials)
    with transaction() as conn:
        validate_mapping(conn, body.mapping)
    rotated: dict[str, Any] = {}  # a rotating refresh token used by the check is kept
    connector = build_connector(platform, body.credentials, body.settings,
                                on_tokens=rotated.update)
    try:
        account = check_connection(connector)  # AuthFailed here means nothing is saved
        credentials = merge_tokens(body.credentials, rotated) if rotated else body.credentials
        with transaction() as conn:
            record = create_integration(conn, platform, body.name, credentials,
                                        body.settings, body.mapping)
        webhooks = connect_realtime(record, connector,
                                    wanted=body.settings.get("webhooks", True) is not False)
    finally:
        close = getattr(connector, "close", None)
        if close:
            close()
    extra: dict[str, Any] = {"connection": _account_summary(account)}
    if webhooks is not None:
        extra["webhooks"] = webhooks
    return ok(integration_view(record, extra))


def _account_summary(account: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "myshopifyDomain", "currencyCode", "ianaTimezone", "site_url", "orders",
            "account_id", "default_currency", "country", "business_name", "livemode",
            "sellerId", "marketplaces")
    return {k: account.get(k) for k in keys if k in account}


@router.get("/syncs/{syncId}", summary="Progress and result of a sync")
def sync_status(syncId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    with transaction() as conn:
        run = get_sync_run(conn, syncId)
    if run["status"] not in FINISHED and run.get("flow_run_id"):
        # A worker killed mid-run cannot close its sync; Prefect knows the run died.
        state = flow_run_state(run["flow_run_id"])
        if state in {"FAILED", "CRASHED", "CANCELLED"}:
            with transaction() as conn:
                mark_finished(conn, syncId, "failed" if state != "CANCELLED" else "cancelled",
                              error_code="INTERNAL_ERROR",
                              error_message=f"flow run ended {state.lower()}")
                run = get_sync_run(conn, syncId)
    return ok(sync_view(run))


# After /available and /syncs/{syncId}: "/{integrationId}" would take those paths otherwise.
@router.get("", summary="List integrations (credentials masked)")
def list_all(platform: str | None = Query(None, max_length=32, pattern=r"^[a-z_]+$"),
             status: str | None = Query(None, max_length=32)) -> dict[str, Any]:
    with transaction() as conn:
        records = [r for r in list_integrations(conn, platform)
                   if status is None or r.status == status]
    return ok([integration_view(r) for r in records])


@router.get("/{integrationId}", summary="An integration (credentials masked)")
def read(integrationId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    with transaction() as conn:
        return ok(integration_view(get_integration(conn, integrationId)))
