"""Bulk inserts: COPY on PostgreSQL (several times faster than multi-row INSERT for the
thousands of rows a batch writes), executemany elsewhere. Same transaction either way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert

COPY_THRESHOLD = 50  # below this, an INSERT round trip is as cheap as setting up a COPY


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) into table inside the caller's transaction."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < COPY_THRESHOLD:
        conn.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    # Values go through each column's bind processing (e.g. UTC datetimes) as an INSERT would.
    processors = {
        name: table.c[name].type.bind_processor(conn.dialect) for name in columns
    }
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
        f'COPY {table.name} ({", ".join(columns)}) FROM STDIN'
    ) as copy:
        for row in rows:
            copy.write_row([
                processors[c](row[c]) if processors[c] is not None else row[c] for c in columns
            ])
