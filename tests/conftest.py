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
               "customers", "product_variants", "products", "external_refs", "record_errors",
               "sync_cursors", "sync_runs", "integrations"]


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
