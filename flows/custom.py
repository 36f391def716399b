"""`custom-sync`: one endpoint of a custom connector read page by page with the toolkit the
built-in connectors use (its auth, paginator and rate limiting), each record mapped by the
definition's JSONPaths and loaded idempotently as the ledger record type it targets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows.common import closing_on_error, pipeline
from tasks.connections import load_integration
from tasks.custom import extract_custom_page, map_custom_records
from tasks.load import load_customers, load_orders, load_products
from tasks.payments import load_payments
from tasks.sync_runs import finish_sync_run, open_sync_run


@flow(name="custom-sync", log_prints=False, validate_parameters=True)
def custom_sync(
    integration_id: str,
    endpoint: str | None = None,
    parameters: dict[str, str] | None = None,
    sync_id: str | None = None,
) -> dict[str, Any]:
    """Sync one endpoint of a custom connector into the ledger.

    Args:
        integration_id: BigLedger integration id of the connector's instance; its
            credentials are loaded from the ledger, never passed here.
        endpoint: The definition's endpoint to read (its first one when empty).
        parameters: Values of the endpoint's declared parameters (e.g. from_date, to_date).
        sync_id: The sync record to report into (the API opens one). Empty: a new one.
    """
    from connectors.custom import load_definition

    logger = get_run_logger()
    integration = load_integration(integration_id)
    definition = load_definition(integration.settings["definition"])
    chosen = definition.endpoint(endpoint) if endpoint else definition.endpoints[0]
    target = chosen.target or "order"
    run = open_sync_run(integration_id, f"custom.sync_{target}s",
                        {"endpoint": chosen.name, "parameters": parameters or {}},
                        sync_id, flow_run.get_id())
    sync_id = run["id"]
    with closing_on_error(sync_id):
        logger.info("sync %s: %s of %s", sync_id, chosen.name, definition.name)
        progress = create_progress_artifact(progress=0.0,
                                            description=f"{definition.name} {chosen.name}")
        # A record whose definition maps no date is dated when the integration was set up:
        # a fixed date, so syncing again changes nothing (map orderDate to do better).
        undated = integration.created_at or datetime.now(UTC)
        currency = integration.settings.get("currency", "USD")

        def fetch(cursor: str | None):
            return extract_custom_page.submit(integration_id, chosen.name, parameters or {},
                                              cursor)

        def process(page: dict[str, Any]) -> None:
            mapped = map_custom_records(integration_id, target, quote(page["records"]),
                                        undated, currency)
            if target == "order":
                load_orders(integration_id, sync_id, "custom.order", quote(mapped))
            elif target == "customer":
                load_customers(integration_id, sync_id, quote(mapped))
            elif target == "product":
                load_products(integration_id, sync_id, quote(mapped), True)
            else:
                load_payments(integration_id, sync_id, "custom.payment", quote(mapped))

        pipeline(fetch, process, None, 0, progress)
    return finish_sync_run(sync_id)
