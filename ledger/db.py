"""Engines and transactions for the ledger database (SQLite by default, or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from bigledger.settings import get_settings


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the API read while a flow writes; foreign keys are off by default in SQLite;
    # busy_timeout makes concurrent writers wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """A new engine for a ledger URL, with the per-dialect settings the ledger relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for a URL (default: the configured ledger)."""
    return make_engine(url or get_settings().resolved_database_url())


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Connection]:
    """One database transaction: commits on success, rolls back on any exception."""
    with (engine or get_engine()).begin() as conn:
        yield conn


def is_postgres(conn_or_engine: Connection | Engine) -> bool:
    """True when the ledger runs on PostgreSQL (some bulk paths differ)."""
    return conn_or_engine.dialect.name == "postgresql"
