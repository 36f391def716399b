"""Create or upgrade the ledger schema with Alembic (on start and via `bigledger db upgrade`)."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from bigledger.settings import get_settings
from ledger.db import get_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations folder and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> None:
    """Bring the ledger at `url` (default: configured) to the newest schema; safe to run twice
    at once from several processes (a lock serialises them)."""
    url = url or get_settings().resolved_database_url()
    engine = get_engine(url)
    cfg = alembic_config(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            # Several workers starting together must not race to create the same tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(724101)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return
    lock_path = get_settings().home / "migrate.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")


_done: set[str] = set()


def ensure_schema(url: str | None = None) -> None:
    """Upgrade once per process and URL (cheap to call on every start-up path)."""
    url = url or get_settings().resolved_database_url()
    if url not in _done:
        upgrade(url)
        _done.add(url)
