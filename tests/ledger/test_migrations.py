"""Alembic builds the schema from nothing and upgrades a ledger that already holds rows."""

from __future__ import annotations

import os

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from ledger.migrate import alembic_config
from ledger.models import Base
from tests.conftest import postgres_or_skip


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    return postgres_or_skip(f"bigledger_migrations_{os.getpid()}")


def test_upgrade_from_the_first_revision_keeps_rows_and_matches_the_models(empty_url):
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "0001")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO products (id, title, status, created_at, updated_at) "
            "VALUES ('prd_1', 'Widget', 'active', '2024-01-01', '2024-01-01')"))
        conn.execute(text(
            "INSERT INTO product_variants (id, product_id, sku, created_at, updated_at) "
            "VALUES ('var_1', 'prd_1', 'W-1', '2024-01-01', '2024-01-01')"))
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT position, is_active FROM product_variants")).one()
        assert (row.position, bool(row.is_active)) == (1, True)
        assert conn.execute(text("SELECT published FROM products")).scalar_one() in (0, False)
        assert conn.execute(text("SELECT count(*) FROM accounts")).scalar_one() > 20
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    engine.dispose()


def test_upgrade_adds_chart_accounts_an_older_ledger_lacks(empty_url):
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "0003")
    engine = create_engine(empty_url)
    with engine.begin() as conn:  # a ledger made before the reserves account existed
        conn.execute(text("DELETE FROM accounts WHERE id = 'acc_processor_reserves'"))
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        names = conn.execute(text(
            "SELECT name FROM accounts WHERE id = 'acc_processor_reserves'")).scalars().all()
    assert names == ["Processor and Marketplace Reserves"]
    engine.dispose()
