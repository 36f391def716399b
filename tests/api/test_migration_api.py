"""The migration endpoints: QuickBooks' export-coa, migrate-customers and
migrate-transactions as the spec (credentials with companyId), Xero's full-migration as
designed here; bad bodies are clear errors; the flow gets only the integration id."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.db import transaction
from ledger.integrations import create_integration, find_integration
from sandbox.quickbooks.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REALM_ID,
)
from tests.conftest import TEST_API_KEY

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}


@pytest.fixture
def client(ledger_engine, monkeypatch):
    import api.orchestrator as orchestrator

    started: list = []
    monkeypatch.setattr(orchestrator, "start_flow_run",
                        lambda name, params, tags: started.append((name, params)) or "fr-1")
    monkeypatch.setattr(orchestrator, "flow_run_state", lambda _id: "RUNNING")
    monkeypatch.setenv("BIGLEDGER_INVENTORY_WAIT_SECONDS", "0")
    from bigledger.settings import get_settings

    get_settings.cache_clear()
    with TestClient(create_app()) as c:
        c.started = started
        yield c
    get_settings.cache_clear()


def qbo_grant(sandbox) -> str:
    import httpx

    answer = httpx.post(f"{sandbox.url}/__sandbox/quickbooks/grant", timeout=10)
    answer.raise_for_status()
    return answer.json()["refresh_token"]


def test_the_spec_export_coa_body_creates_the_integration_by_company_id(client, ledger_engine,
                                                                        sandbox):
    iid = f"int_quickbooks_{DEFAULT_REALM_ID}"
    with ledger_engine.begin() as conn:  # pointed at the sandbox (tests never reach Intuit)
        create_integration(conn, "quickbooks", "Company", {
            "realmId": DEFAULT_REALM_ID, "clientId": DEFAULT_CLIENT_ID,
            "clientSecret": DEFAULT_CLIENT_SECRET, "refreshToken": "old"},
            {"baseUrl": sandbox.url}, {}, integration_id=iid)
    token = qbo_grant(sandbox)
    r = client.post("/v1/integrations/quickbooks/export-coa", headers=AUTH, json={
        "credentials": {"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
                        "accessToken": "qb_access_token", "refreshToken": token,
                        "companyId": DEFAULT_REALM_ID},
        "options": {"includeInactive": False, "mapToStandard": True}})
    assert r.status_code == 200, r.text
    (name, params), = client.started
    assert name == "quickbooks-export-coa" and params["integration_id"] == iid
    assert token not in json.dumps(params)
    with transaction(ledger_engine) as conn:
        stored = find_integration(conn, iid).credentials()
    # the check refreshed the (stale) access token: the rotated refresh token is what is kept
    assert stored["realmId"] == DEFAULT_REALM_ID and stored["refreshToken"]
    assert "accessTokenExpiresAt" in stored


def test_migrate_transactions_starts_the_flow_with_the_spec_body(client, ledger_engine):
    with ledger_engine.begin() as conn:
        create_integration(conn, "quickbooks", "Company", {"realmId": "1", "clientId": "a",
                           "clientSecret": "b", "refreshToken": "c"}, {}, {},
                           integration_id="int_quickbooks_1")
    r = client.post("/v1/integrations/quickbooks/migrate-transactions", headers=AUTH, json={
        "integrationId": "int_quickbooks_1",
        "dateRange": {"from": "2023-01-01", "to": "2023-12-31"},
        "transactionTypes": ["invoice", "bill", "payment", "journal_entry"], "batchSize": 100})
    assert r.status_code == 200, r.text
    (name, params), = client.started
    assert name == "quickbooks-migrate-transactions"
    assert params["transaction_types"] == ["invoice", "bill", "payment", "journal_entry"]
    assert params["date_range"]["to"].startswith("2023-12-31T23:59:59")
    customers = client.post("/v1/integrations/quickbooks/migrate-customers", headers=AUTH,
                            json={"integrationId": "int_quickbooks_1"})
    assert customers.status_code == 200 and client.started[1][0] == "quickbooks-migrate-customers"


@pytest.mark.parametrize(("path", "body", "field"), [
    ("quickbooks/export-coa", {}, ""),
    ("quickbooks/export-coa", {"credentials": {"clientId": "a", "clientSecret": "b",
                                               "refreshToken": "c"}}, "credentials"),
    ("quickbooks/export-coa", {"integrationId": "x", "options": {"includeInactive": "no"}},
     "options.includeInactive"),
    ("quickbooks/migrate-transactions", {"integrationId": "x", "transactionTypes": ["x"]},
     "transactionTypes.0"),
    ("quickbooks/migrate-transactions", {"integrationId": "x", "batchSize": 5000},
     "batchSize"),
    ("xero/full-migration", {"credentials": {"clientId": "a", "clientSecret": "b",
                                             "refreshToken": "c"}}, ""),
    ("xero/full-migration", {"integrationId": "x", "dryRun": "yes"}, "dryRun"),
])
def test_bad_migration_bodies_are_validation_errors(client, path, body, field):
    r = client.post(f"/v1/integrations/{path}", headers=AUTH, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert any(d["field"].startswith(field) for d in r.json()["error"]["details"])


def test_xero_dry_run_is_started_for_the_chosen_tenant(client, ledger_engine):
    with ledger_engine.begin() as conn:
        create_integration(conn, "xero", "Org", {"clientId": "a", "clientSecret": "b",
                           "refreshToken": "c"}, {}, {}, integration_id="int_xero_1")
    r = client.post("/v1/integrations/xero/full-migration", headers=AUTH, json={
        "integrationId": "int_xero_1", "tenantId": "0b9e7c2a-1111-2222-3333-444455556666",
        "dryRun": True, "include": ["accounts", "invoices"]})
    assert r.status_code == 200, r.text
    (name, params), = client.started
    assert name == "xero-full-migration" and params["dry_run"] is True
    with transaction(ledger_engine) as conn:
        assert find_integration(conn, "int_xero_1").settings["tenantId"] == \
            "0b9e7c2a-1111-2222-3333-444455556666"
