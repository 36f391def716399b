"""A bounded burst of 2,000 signed deliveries over real HTTP on loopback, 32 at a time, every
tenth one delivered twice: every delivery is kept exactly once, every repeat acknowledged as
a duplicate, none refused or lost (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from api.app import create_app
from bench.webhooks import INTEGRATION, SECRET, burst
from ledger.integrations import create_integration
from ledger.models import WebhookDelivery
from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e


def test_a_burst_of_signed_deliveries_loses_none(ledger_engine, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "")  # no processing runs: only the inbox counts
    with ledger_engine.begin() as conn:
        create_integration(conn, "shopify", "Burst shop",
                           {"shopDomain": "bench.myshopify.com", "accessToken": "shpat_b",
                            "webhookSecret": SECRET}, {}, {}, integration_id=INTEGRATION)
    api = LiveServer(create_app())
    try:
        url = f"{api.url}/v1/webhooks/shopify/{INTEGRATION}"
        result = asyncio.run(burst(url, 2000, 32, 10))
    finally:
        api.stop()
    assert (result["sent"], result["failed"]) == (2200, 0)
    assert (result["stored"], result["duplicate"]) == (2000, 200)
    with ledger_engine.connect() as conn:
        keys = conn.execute(select(WebhookDelivery.dedup_key)).scalars().all()
        events = conn.execute(select(func.count()).select_from(WebhookDelivery)
                              .where(WebhookDelivery.status == "received")).scalar_one()
    assert len(keys) == len(set(keys)) == 2000 and events == 2000
