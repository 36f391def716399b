"""Test-wide settings: a private BIGLEDGER_HOME, fixed keys, Prefect quiet and offline, and
the ledger database fixtures (SQLite always; PostgreSQL when reachable, required in CI)."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="bigledger-test-"))
TEST_API_KEY = "test-api-key-" + uuid.uuid4().hex
os.environ.update({
    "BIGLEDGER_HOME": str(_HOME),
    "BIGLEDGER_SECRET_KEY": "yLf1tqS1Ktm0QJ1oWmvnbbOqRcS0Ea2jTQrYSq1mF3k=",
    "BIGLEDGER_API_KEY": TEST_API_KEY,
    "BIGLEDGER_MAX_RETRY_SECONDS": "20",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
})
os.environ.setdefault("PREFECT_HOME", str(_HOME / "prefect"))
os.environ.pop("BIGLEDGER_DATABASE_URL", None)

POSTGRES_ADMIN_URL = os.environ.get(
    "BIGLEDGER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _reset_caches() -> None:
    from bigledger.settings import get_settings
    from ledger import migrate
    from ledger.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    migrate._done.clear()
    from api.routes import inbound

    inbound._secrets.clear()  # webhook secrets cached from another test's integrations


def _postgres_database(name: str) -> str:
    """Create a fresh database beside the CI one; returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def postgres_or_skip(name: str) -> str:
    """A fresh PostgreSQL database, or a skip locally (a failure in CI) when none runs."""
    try:
        return _postgres_database(name)
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def ledger_url(request, tmp_path_factory) -> str:
    """A migrated ledger database per backend, shared by the session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.db'}"
    else:
        url = postgres_or_skip(f"bigledger_test_{os.getpid()}")
    os.environ["BIGLEDGER_DATABASE_URL"] = url
    _reset_caches()
    from ledger.migrate import upgrade

    upgrade(url)
    return url


DATA_TABLES = ["journal_lines", "journal_entries", "sales_order_lines", "sales_orders",
               "webhook_deliveries",
               "outbound_attempts", "outbound_deliveries", "sync_schedules",
               "webhook_subscriptions",
               "custom_connectors",
               "source_transactions",
               "settlement_lines", "settlements", "payments",
               "inventory_levels", "locations",
               "customers", "product_variants", "products", "external_refs", "record_errors",
               "sync_cursors", "sync_runs",
               # migrated accounts go, the seeded standard chart stays
               "accounts WHERE integration_id IS NOT NULL", "integrations"]


@pytest.fixture
def ledger_engine(ledger_url, monkeypatch):
    """The ledger engine with every data table emptied (the seeded chart stays)."""
    from sqlalchemy import text

    monkeypatch.setenv("BIGLEDGER_DATABASE_URL", ledger_url)
    _reset_caches()
    from ledger.db import get_engine

    engine = get_engine(ledger_url)
    with engine.begin() as conn:
        for table in DATA_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    yield engine
    _reset_caches()


class LiveServer:
    """An ASGI app served by uvicorn on a free loopback port, in a thread (real HTTP)."""

    def __init__(self, app) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                   log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def paypal_sandbox_config():
    """The session sandbox's PayPal account: 200 payments over 30 days from 85 days ago (its
    refunds, releases and last withdrawal follow within weeks; all inside the 90 days an
    incremental sync first reads)."""
    from datetime import UTC, date, datetime, time, timedelta

    from sandbox.paypal import PayPalSandboxConfig

    start = datetime.combine(date.today() - timedelta(days=85), time.min, UTC)
    return PayPalSandboxConfig(seed=5, size=200, start=start, days=30)


def stripe_sandbox_config():
    """The session sandbox's Stripe account: 150 charges in USD, JPY (zero-decimal) and KWD
    (three decimals) over January 2024, with refunds, disputes and daily payouts."""
    from sandbox.stripe import StripeSandboxConfig

    return StripeSandboxConfig(seed=3, size=150, days=31, currencies=("usd", "jpy", "kwd"),
                               payout_schedule="daily", refund_percent=10, dispute_percent=5)


def amazon_sandbox_config():
    """The session sandbox's Amazon seller: 120 US orders over the eight weeks from 90 days
    ago, settled every 14 days; settlement #1 is a cent off (never ties out). Its usage plan
    is 200 times the published one (stated in x-amzn-RateLimit-Limit), still paced."""
    from datetime import UTC, date, datetime, time, timedelta

    from sandbox.amazon import AmazonSandboxConfig

    start = datetime.combine(date.today() - timedelta(days=90), time.min, UTC)
    return AmazonSandboxConfig(seed=9, size=120, start=start, interval_seconds=40_320,
                               mismatch_settlements=(1,), rate_multiplier=200)


def quickbooks_sandbox_config():
    """The session sandbox's QuickBooks company: 150 transactions over the first half of 2024
    (some voided, some deleted), rotating refresh tokens, fast limits."""
    from sandbox.quickbooks import QuickBooksSandboxConfig

    return QuickBooksSandboxConfig(seed=4, size=150, days=180, throttling=False)


def xero_sandbox_config():
    """The session sandbox's two Xero organisations: 150 documents each over the first half
    of 2024 (voided, deleted and draft ones among them), Xero's minute limit."""
    from sandbox.xero import XeroSandboxConfig

    return XeroSandboxConfig(seed=7, size=150, days=180)


def legacy_erp_sandbox_config():
    """The session sandbox's legacy ERP: 120 orders behind an API key, paged with Link."""
    from sandbox.legacy_erp import LegacyErpSandboxConfig

    return LegacyErpSandboxConfig(seed=2, size=120)


class Sandbox(LiveServer):
    """The platform sandbox on a real port, with helpers to steer it."""

    def __init__(self, **shopify_config) -> None:
        from sandbox.server import create_sandbox_app

        self.app = create_sandbox_app(**shopify_config)
        super().__init__(self.app)

    def platform(self, name: str):
        """A platform sandbox's in-process state (its data, config, stats)."""
        return getattr(self.app.state, name)

    def control_platform(self, name: str, **body) -> dict:
        import httpx

        response = httpx.post(f"{self.url}/__sandbox/{name}/control", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def control(self, **body) -> dict:
        import httpx

        response = httpx.post(f"{self.url}/__sandbox/control", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        import httpx

        return httpx.get(f"{self.url}/__sandbox/stats", timeout=10).json()


@pytest.fixture(scope="session")
def sandbox_server():
    """One sandbox for the session (300 MYR orders, throttling off); tests reset what they
    change through `reset_sandbox`."""
    server = Sandbox(size=300, seed=11, currency="MYR", throttling=False,
                     paypal=paypal_sandbox_config(), stripe=stripe_sandbox_config(),
                     amazon=amazon_sandbox_config(), quickbooks=quickbooks_sandbox_config(),
                     xero=xero_sandbox_config(), legacy_erp=legacy_erp_sandbox_config())
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server):
    """The session sandbox with faults cleared and the default dataset restored."""
    sandbox_server.control(clear_faults=True, throttling=False, reset_stats=True,
                           access_tokens=["shpat_sandbox_token"],
                           dataset={"seed": 11, "size": 300, "currency": "MYR"})
    yield sandbox_server
    sandbox_server.control(clear_faults=True)


@pytest.fixture(scope="session")
def prefect_api():
    """A real Prefect server (the test harness: a subprocess on SQLite) for flow runs."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


def make_shopify_integration(engine, sandbox_url: str, token: str = "shpat_sandbox_token",
                             integration_id: str = "int_shopify_test", mapping=None) -> str:
    """An integration pointing at the sandbox, stored as the API would store it."""
    from ledger.integrations import create_integration

    with engine.begin() as conn:
        create_integration(
            conn, "shopify", "Sandbox shop",
            {"shopDomain": "sandbox.myshopify.com", "accessToken": token},
            {"baseUrl": sandbox_url},
            mapping if mapping is not None else {"defaultTaxCode": "SST",
                                                 "defaultPaymentAccount": "acc_stripe"},
            integration_id=integration_id,
        )
    return integration_id
