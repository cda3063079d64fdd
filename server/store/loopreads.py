"""The reads every request makes, done on the server's event loop.

Authentication (every request), `GET /v1/jobs/{id}` (what status pages and scripts
poll: the key and the job in one query) and the reads of a job's event stream (several
per job) run here on a few autocommit psycopg connections: one round trip each.
Through SQLAlchemy's pool and ORM the same read costs about five times as much on the
same machine (a liveness ping, the implicit transaction, the rollback on return, and a
thread-pool hop for a plain `def` route). The SQL is compiled from the same table
definitions the ORM uses. PostgreSQL only; with SQLite these reads go through the ORM.
"""

from __future__ import annotations

import asyncio
import collections
import json
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Integer, Text, any_, bindparam, cast, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.expression import ClauseElement

from horn.schemas.api import JobPublic
from horn.server.core.exceptions import ServiceUnavailable
from horn.server.store import blobs, users
from horn.server.store.models import is_id
from horn.server.store.tables import BlobRef, EventRow, JobRow, User

_DIALECT = postgresql.dialect(paramstyle="pyformat")


def compile_sql(statement: ClauseElement) -> bytes:
    """`statement` as PostgreSQL SQL with `%(name)s` placeholders (psycopg's)."""
    return str(statement.compile(dialect=_DIALECT)).encode()


_JOB_SQL = compile_sql(select(JobRow.__table__).where(JobRow.id == bindparam("id")))
_OWNER_SQL = compile_sql(users.OWNER_QUERY)
_EVENTS_SQL = compile_sql(
    select(EventRow.id, EventRow.type, cast(EventRow.data, Text).label("data"))
    .where(EventRow.job_id == bindparam("job_id"), EventRow.id > bindparam("after_id"))
    .order_by(EventRow.id).limit(bindparam("limit", type_=Integer)))
JOB_VIEW_COLUMNS = tuple(JobPublic.model_fields)
"""The columns of a job that the API shows (`JobPublic`'s fields: no data references,
no compile config, no lease)."""
_JOB_PREFIX = "job_"
_KEY_AND_JOB_SQL = compile_sql(
    users.OWNER_QUERY
    .add_columns(*(JobRow.__table__.c[name].label(_JOB_PREFIX + name)
                   for name in JOB_VIEW_COLUMNS))
    .outerjoin(JobRow.__table__, (JobRow.id == bindparam("id")) & (JobRow.owner == User.name)))
_TOUCH_SQL = compile_sql(users.TOUCH_STATEMENT)
_BLOB_SQL = compile_sql(blobs.USABLE_BLOB_QUERY)
_REFS_SQL = compile_sql(
    select(BlobRef.blob_id).where(BlobRef.owner == bindparam("owner"),
                                  BlobRef.blob_id == any_(bindparam("ids", type_=ARRAY(Text)))))


def _unavailable(exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(
        "The database is unavailable; the request was not carried out. Retry shortly. "
        f"({type(exc).__name__})", headers={"Retry-After": "2"})


def _one_line(text: str) -> str:
    """JSON text as one line (as an event stream's `data:` field needs it); what the
    ORM wrote already is."""
    return text if "\n" not in text else json.dumps(json.loads(text))


def loop_reads_url(database_url: str) -> str | None:
    """The libpq address for these reads, or None when the database is not PostgreSQL
    with psycopg."""
    prefix = "postgresql+psycopg:"
    if not database_url.startswith(prefix):
        return None
    return "postgresql:" + database_url[len(prefix):]


_Waiter = asyncio.Future[psycopg.AsyncConnection[Any] | None]
"""A read waiting for a connection: gets one given back, or None (room to open one)."""


class LoopReads:
    """A few autocommit connections for reads on the event loop.

    A connection found dead on use (the database restarted) is dropped with every other
    idle one, and the read is tried once more on a new connection. When the database
    cannot be reached the read fails at once with 503, as the ORM's reads do.

    Args:
        conninfo: a libpq address (`postgresql://...`).
        max_size: connections at most; a burst beyond it waits on the loop.
        wait_timeout: seconds a read waits for a free connection before a 503.
    """

    def __init__(self, conninfo: str, max_size: int = 10, wait_timeout: float = 30.0
                 ) -> None:
        self._conninfo = conninfo
        self._max_size = max_size
        self._wait_timeout = wait_timeout
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._open = 0
        self._waiters: collections.deque[_Waiter] = collections.deque()

    async def close(self) -> None:
        """Close the idle connections (those in use close when given back)."""
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        for conn in idle:
            await conn.close()

    async def one(self, sql: bytes, params: dict[str, Any]) -> dict[str, Any] | None:
        """The first row of `sql`, as a dict, or None (also for a statement that returns
        no rows)."""
        rows = await self._run(sql, params, many=False)
        return rows[0] if rows else None

    async def all(self, sql: bytes, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every row of `sql`, as dicts."""
        return await self._run(sql, params, many=True)

    async def _run(self, sql: bytes, params: dict[str, Any], many: bool
                   ) -> list[dict[str, Any]]:
        for retry in (False, True):
            conn, reused = await self._take()
            try:
                async with conn.cursor(row_factory=dict_row) as cur:
                    await cur.execute(sql, params)
                    if cur.description is None:
                        rows = []
                    elif many:
                        rows = await cur.fetchall()
                    else:
                        row = await cur.fetchone()
                        rows = [] if row is None else [row]
            except psycopg.OperationalError as exc:
                await self._give_back(conn)
                if reused and not retry and conn.broken:
                    await self.close()  # the others are as stale
                    continue
                raise _unavailable(exc) from exc
            await self._give_back(conn)
            return rows
        raise AssertionError("unreachable")

    async def execute(self, sql: bytes, params: dict[str, Any]) -> None:
        """Run `sql` (committed at once)."""
        await self.one(sql, params)

    async def _take(self) -> tuple[psycopg.AsyncConnection[Any], bool]:
        """A connection (and whether it was used before): an idle one, a new one while
        fewer than `max_size` are open, else the next one given back. Waiters are
        served first come, first served (a newcomer never takes a connection from
        under a waiter), which keeps the latency tail short under load."""
        if self._idle and not self._waiters:
            return self._idle.pop(), True
        if self._open < self._max_size:
            self._open += 1
            try:
                return await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=10), False
            except BaseException as exc:
                self._forget()
                if isinstance(exc, psycopg.OperationalError):
                    raise _unavailable(exc) from exc
                raise
        waiter: _Waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            conn = await asyncio.wait_for(waiter, self._wait_timeout)
        except BaseException as exc:
            handed = waiter.result() if waiter.done() and not waiter.cancelled() else None
            if handed is not None:
                await self._give_back(handed)  # handed over as the wait ended
            if not isinstance(exc, TimeoutError):
                raise
            raise ServiceUnavailable(
                "The server is too busy to reach the database (no free connection); the "
                "request was not carried out. Retry shortly.",
                headers={"Retry-After": "2"}) from exc
        if conn is None:  # one was closed: open a new one in its place
            return await self._take()
        return conn, True

    async def _give_back(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if conn.closed or conn.broken:
            await conn.close()
            self._forget()
        elif not self._hand_over(conn):
            self._idle.append(conn)

    def _forget(self) -> None:
        self._open -= 1
        self._hand_over(None)

    def _hand_over(self, conn: psycopg.AsyncConnection[Any] | None) -> bool:
        """Give `conn` (None: room for a new connection) to the oldest waiter."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    async def job(self, job_id: str, owner: str | None = None) -> JobRow | None:
        """`jobs.get_job` on the loop: the job (a detached row, to read), if it exists
        and (when `owner` is given) belongs to `owner`."""
        if not is_id(job_id):
            return None
        row = await self.one(_JOB_SQL, {"id": job_id})
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        return JobRow(**row)

    async def events(self, job_id: str, after_id: int, limit: int = 500
                     ) -> list[tuple[int, str, str]]:
        """`jobs.events_after` on the loop: the job's events after `after_id`, oldest
        first, as (id, type, data as JSON text)."""
        rows = await self.all(_EVENTS_SQL, {"job_id": job_id, "after_id": after_id,
                                            "limit": limit})
        return [(int(r["id"]), str(r["type"]), _one_line(str(r["data"]))) for r in rows]

    async def blob_size(self, owner: str, blob_id: str) -> int | None:
        """`blobs.usable_blob` on the loop: the size of a blob `owner` may use, or None."""
        row = await self.one(_BLOB_SQL, {"owner": owner, "id": blob_id})
        return None if row is None else int(row["size"])

    async def blob_refs(self, owner: str, ids: list[str]) -> set[str]:
        """The ids among `ids` that `owner` may use."""
        if not ids:
            return set()
        rows = await self.all(_REFS_SQL, {"owner": owner, "ids": ids})
        return {str(r["blob_id"]) for r in rows}

    async def key_owner_and_job(self, raw_key: str, job_id: str
                                ) -> tuple[users.KeyOwner | None, dict[str, Any] | None]:
        """`key_owner`, and the job `job_id` if it belongs to the key's user, in one
        round trip (what polling a job costs: half the reads of the two apart). The job
        comes as its `JOB_VIEW_COLUMNS`, by name."""
        prefix = users.key_prefix(raw_key)
        if prefix is None:
            return None, None
        if not is_id(job_id):
            return await self.key_owner(raw_key), None
        row = await self.one(_KEY_AND_JOB_SQL, {"prefix": prefix, "id": job_id})
        owner = await self._checked_owner(row, raw_key, prefix)
        if owner is None or row is None or row[_JOB_PREFIX + "id"] is None:
            return owner, None
        return owner, {name: row[_JOB_PREFIX + name] for name in JOB_VIEW_COLUMNS}

    async def key_owner(self, raw_key: str) -> users.KeyOwner | None:
        """`users.authenticate_key` on the loop: the owner of a live key, or None; its
        `last_used_at` is recorded when due."""
        prefix = users.key_prefix(raw_key)
        if prefix is None:
            return None
        return await self._checked_owner(await self.one(_OWNER_SQL, {"prefix": prefix}),
                                         raw_key, prefix)

    async def _checked_owner(self, row: dict[str, Any] | None, raw_key: str, prefix: str
                             ) -> users.KeyOwner | None:
        """`users.checked_owner` of a looked-up key's row, recording its use when due."""
        owner, touch = users.checked_owner(row, raw_key, prefix)
        if touch:
            await self.execute(_TOUCH_SQL, {"key_prefix": prefix, "used_at": users.utcnow()})
        return owner
