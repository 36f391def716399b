"""/v1/integrations/custom/...: connectors for systems with no pre-built one, defined by the
spec's create-connector body (validated, versioned), set up like any integration and synced
by one generic flow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query

from api.envelope import ok
from api.orchestrator import start_sync
from api.routes.integrations import id_path
from api.views import integration_view, iso
from bigledger.errors import IntegrationError, InvalidCredentials, ValidationFailed
from connectors.factory import build_connector, check_connection
from ledger.custom_connectors import (
    add_version,
    create_connector,
    delete_connector,
    get_connector,
    list_connectors,
)
from ledger.db import transaction
from ledger.integrations import create_integration, get_integration
from ledger.mapping import validate_mapping

router = APIRouter(prefix="/v1/integrations/custom", tags=["custom"])
DEFINITION = Body(..., description="The spec's create-connector body")


def _definition(body: dict[str, Any]) -> dict[str, Any]:
    """Validated (ValidationFailed / DataMappingError naming the place) and normalised."""
    from connectors.custom import load_definition

    if not isinstance(body, dict):
        raise ValidationFailed("a connector definition is a JSON object")
    return load_definition(body).model_dump(mode="json", by_alias=True, exclude_none=True)


def _view(connector: dict[str, Any]) -> dict[str, Any]:
    definition = connector["definition"]
    return {"connectorId": connector["id"], "version": connector["version"],
            "name": connector["name"], "description": definition.get("description"),
            "authentication": definition.get("authentication"),
            "endpoints": definition.get("endpoints"),
            "webhookSupport": definition.get("webhookSupport"),
            "scheduleSync": definition.get("scheduleSync"),
            "createdAt": iso(connector["created_at"])}


@router.post("/create-connector", summary="Define a custom connector")
def create(body: dict[str, Any] = DEFINITION) -> dict[str, Any]:
    definition = _definition(body)
    with transaction() as conn:
        return ok(_view(create_connector(conn, definition["name"], definition)))


@router.get("/connectors", summary="List custom connectors")
def list_all() -> dict[str, Any]:
    with transaction() as conn:
        return ok([_view(c) for c in list_connectors(conn)])


@router.get("/connectors/{connectorId}", summary="A custom connector (latest or a version)")
def read(connectorId: str = id_path(),  # noqa: N803
         version: int | None = Query(None, ge=1)) -> dict[str, Any]:
    with transaction() as conn:
        return ok(_view(get_connector(conn, connectorId, version)))


@router.put("/connectors/{connectorId}", summary="Update a custom connector (a new version)")
def update(connectorId: str = id_path(),  # noqa: N803
           body: dict[str, Any] = DEFINITION) -> dict[str, Any]:
    definition = _definition(body)
    with transaction() as conn:
        return ok(_view(add_version(conn, connectorId, definition["name"], definition)))


@router.delete("/connectors/{connectorId}", summary="Delete a custom connector")
def delete(connectorId: str = id_path()) -> dict[str, Any]:  # noqa: N803
    with transaction() as conn:
        delete_connector(conn, connectorId)
    return ok({"connectorId": connectorId, "deleted": True})


@router.post("/connectors/{connectorId}/setup", summary="Set up an instance of a connector")
def setup(connectorId: str = id_path(),  # noqa: N803
          body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Body: {name, credentials: the definition's fields (baseUrl among them), settings,
    mapping}. The connection is checked (one page of the first endpoint) before anything
    is stored; every credential is stored encrypted."""
    credentials = body.get("credentials")
    if not isinstance(credentials, dict) or not all(
            isinstance(v, str) for v in credentials.values()):
        raise ValidationFailed("credentials must be an object of strings")
    with transaction() as conn:
        connector = get_connector(conn, connectorId)
        validate_mapping(conn, body.get("mapping") or {})
    settings = {**(body.get("settings") or {}), "connectorId": connector["id"],
                "connectorVersion": connector["version"],
                "definition": connector["definition"], "baseUrl": credentials.get("baseUrl")}
    client = build_connector("custom", credentials, settings)
    try:
        check_connection(client)  # AuthFailed here: nothing stored
    finally:
        client.close()
    with transaction() as conn:
        record = create_integration(conn, "custom", str(body.get("name") or connector["name"]),
                                    credentials, settings, body.get("mapping") or {})
    view = integration_view(record)
    view["settings"] = {k: v for k, v in record.settings.items() if k != "definition"}
    view["schedule"] = _schedule_sync(record.id, connector["definition"].get("scheduleSync"))
    return ok(view)


def _schedule_sync(integration_id: str, schedule_sync: bool | str | None) -> dict | None:
    """The definition's scheduleSync as a schedule of the instance's sync (true = hourly).
    The instance exists either way: if Prefect cannot take the schedule now, the answer says
    so and the schedule can be added later with POST .../schedules."""
    from api.routes.schedules import schedule_operation, schedule_view

    if not schedule_sync:
        return None
    frequency = "hourly" if schedule_sync is True else str(schedule_sync)
    try:
        return schedule_view(schedule_operation(integration_id, "custom", "sync", frequency,
                                                kind="connector"))
    except IntegrationError as exc:
        return {"error": {"code": str(exc.code), "message": exc.message}}


@router.post("/{integrationId}/sync", summary="Sync an endpoint of a custom connector")
def sync(integrationId: str = id_path(),  # noqa: N803
         body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, Any]:
    """Body: {endpoint (default the first), parameters: {from_date, to_date, ...}}."""
    with transaction() as conn:
        integration = get_integration(conn, integrationId)
    if integration.platform != "custom":
        raise InvalidCredentials(f"integration {integration.id} is a {integration.platform} "
                                 "integration, not a custom connector's")
    endpoint = body.get("endpoint")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(
            isinstance(v, str) for v in parameters.values()):
        raise ValidationFailed("parameters must be an object of strings")
    from connectors.custom import load_definition

    definition = load_definition(integration.settings["definition"])
    chosen = definition.endpoint(endpoint) if endpoint else definition.endpoints[0]
    unknown = sorted(set(parameters) - set(chosen.parameters))
    if unknown:
        raise ValidationFailed(f"endpoint {chosen.name} declares no parameters {unknown}")
    return start_sync(integration, f"custom.sync_{chosen.target or 'order'}s", "custom-sync",
                      {"endpoint": chosen.name, "parameters": parameters},
                      {"integration_id": integration.id, "endpoint": chosen.name,
                       "parameters": parameters}, 0)
