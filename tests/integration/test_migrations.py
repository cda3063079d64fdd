"""Migrations on PostgreSQL: `horn db upgrade` gives the schema the code expects, with
the binary columns stored out of line and never compressed (NumPy floats do not
compress; PostgreSQL's attempt cost ~30 ms per 3 MB checkpoint, inside each epoch)."""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import make_url

from horn.server.store.migrate import upgrade
from tests.conftest import ADMIN_URL
from tests.integration import stack

BINARY_COLUMNS = {("weights", "data"), ("checkpoints", "data"), ("session_calls", "payload"),
                  ("session_calls", "output")}


def _storage(url: str) -> dict[tuple[str, str], str]:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as conn:
        rows = conn.execute(
            "SELECT c.relname, a.attname, a.attstorage FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = ANY(%s) "
            "AND a.attnum > 0", (sorted({t for t, _ in BINARY_COLUMNS}),)).fetchall()
    return {(table, column): storage for table, column, storage in rows
            if (table, column) in BINARY_COLUMNS}


def test_binary_columns_are_stored_without_compression() -> None:
    url, name = stack.create_database(ADMIN_URL)
    try:
        upgrade(url, "0004")
        assert set(_storage(url).values()) == {"x"}  # PostgreSQL's default: compressed
        upgrade(url)
        assert _storage(url) == {column: "e" for column in BINARY_COLUMNS}
    finally:
        stack.drop_database(ADMIN_URL, name)
