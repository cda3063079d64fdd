"""`horn.server.store.loopreads.LoopReads` against the real PostgreSQL: a burst larger than
the pool is served in full, connections the database dropped are replaced without
failing the read, and an unreachable database is a 503 at once."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from horn.server.core.exceptions import ServiceUnavailable
from horn.server.store.loopreads import LoopReads
from tests.conftest import ADMIN_URL


def test_a_burst_larger_than_the_pool_is_served_first_come_first_served() -> None:
    async def main() -> list[int]:
        reads = LoopReads(ADMIN_URL, max_size=1)
        order: list[int] = []

        async def read(i: int) -> None:
            row = await reads.one(b"SELECT %(i)s::int AS i, pg_sleep(0.01)", {"i": i})
            assert row is not None
            order.append(row["i"])

        await asyncio.gather(*(read(i) for i in range(30)))
        await reads.close()
        return order

    # One connection: each read waits for the one before it, in the order they came.
    assert asyncio.run(main()) == list(range(30))


def test_connections_dropped_by_the_database_are_replaced_without_an_error() -> None:
    async def main() -> dict[str, object] | None:
        reads = LoopReads(ADMIN_URL, max_size=3)
        pids = await asyncio.gather(*(reads.one(
            b"SELECT pg_backend_pid() AS pid, pg_sleep(0.05)", {}) for _ in range(3)))
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            for row in pids:
                assert row is not None
                admin.execute("SELECT pg_terminate_backend(%s)", (row["pid"],))
        time.sleep(0.2)
        row = await reads.one(b"SELECT 1 AS ok", {})
        await reads.close()
        return row

    assert asyncio.run(main()) == {"ok": 1}


def test_an_unreachable_database_is_a_503_at_once() -> None:
    async def main() -> None:
        reads = LoopReads("postgresql://postgres@127.0.0.1:1/test")
        await reads.one(b"SELECT 1", {})

    began = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="database is unavailable"):
        asyncio.run(main())
    assert time.monotonic() - began < 5
