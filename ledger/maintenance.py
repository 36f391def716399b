"""Keep PostgreSQL's planner statistics up with bulk loads.

A first sync loads tens of thousands of rows in a minute or two, faster than autovacuum
re-analyzes. With statistics that still say "empty table", the planner reads the
external-reference lookup of every batch as a scan of all the integration's rows instead of
a probe per id, and a load slows down as the ledger grows. Re-analyzing each table once it
has grown by half since its last ANALYZE keeps every batch's lookups as index probes, at a
cost of a few ANALYZEs per sync (log of the growth).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

LOAD_TABLES = ("external_refs", "sales_orders", "sales_order_lines", "customers",
               "journal_entries", "journal_lines")
MIN_CHANGED_ROWS = 1000


def refresh_statistics(conn: Connection, tables: tuple[str, ...] = LOAD_TABLES) -> list[str]:
    """ANALYZE the tables whose rows changed by half since their last ANALYZE; returns them."""
    if conn.dialect.name != "postgresql":
        return []  # SQLite plans these lookups by index regardless
    rows = conn.execute(
        text("SELECT relname, n_live_tup, n_mod_since_analyze FROM pg_stat_user_tables "
             "WHERE relname = ANY(:tables)"),
        {"tables": list(tables)},
    ).all()
    stale = [name for name, live, changed in rows
             if changed >= MIN_CHANGED_ROWS and changed * 2 >= max(live - changed, 1)]
    for name in stale:
        conn.execute(text(f"ANALYZE {name}"))
    return stale
