"""Marketplace settlements (Amazon): find the reports, download each document, parse it and
post it — one report per task run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from bigledger.errors import IntegrationError
from ledger.db import transaction
from ledger.mapping import settlement_category_accounts, validate_payment_mapping
from ledger.settlements import SETTLEMENT, load_settlements
from ledger.syncs import RecordFailure, record_failures, set_cursor
from tasks.connections import connector_for, load_integration
from tasks.retry import retry_if_transient

TASK = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="list-settlement-reports", retries=3, retry_delay_seconds=[5, 30, 60],
      retry_condition_fn=retry_if_transient, **TASK)
def list_settlement_reports(integration_id: str, created_since: datetime,
                            created_until: datetime | None) -> list[dict[str, Any]]:
    """The settlement reports Amazon created in the window (done ones only)."""
    connector = connector_for(load_integration(integration_id))
    return connector.list_settlement_reports(created_since, created_until)


@task(name="download-settlement-report", retries=3, retry_delay_seconds=[5, 30, 60],
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient, **TASK)
def download_settlement_report(integration_id: str, report_document_id: str) -> bytes:
    """The report document, gunzipped; an expired link is renewed by the connector."""
    connector = connector_for(load_integration(integration_id))
    return connector.download_report(report_document_id)


@task(name="post-settlement-report", retries=2, retry_delay_seconds=[1, 5],
      retry_condition_fn=retry_if_transient, **TASK)
def post_settlement_report(integration_id: str, sync_id: str, report_id: str, content: bytes,
                           stream_cursor: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Parse a settlement flat file and load its settlements (posted when they tie out to the
    cent, flagged otherwise), moving the stream's mark in the same transaction. A file that
    cannot be parsed is a failure of that report only."""
    from transforms.amazon_settlements import parse_settlement_report

    integration = load_integration(integration_id)
    with transaction() as conn:
        accounts = validate_payment_mapping(conn, integration.mapping, integration.platform)
        categories = settlement_category_accounts(conn, integration.mapping)
    try:
        docs = parse_settlement_report(content, accounts, categories or None)
    except IntegrationError as exc:
        with transaction() as conn:
            record_failures(conn, sync_id, integration_id, [
                RecordFailure(SETTLEMENT, report_id, str(exc.code), exc.message)])
            if stream_cursor:
                set_cursor(conn, integration_id, *stream_cursor)
        return [{"settlementId": None, "reportId": report_id, "status": "unreadable",
                 "error": exc.message}]
    with transaction() as conn:
        result = load_settlements(conn, integration_id, "amazon.settlement", docs,
                                  sync_id=sync_id)
        if stream_cursor:
            set_cursor(conn, integration_id, *stream_cursor)
    return [{"reportId": report_id, **row} for row in result.reconciliation]
