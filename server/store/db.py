"""Engines and sessions. One engine per process; one session per unit of work."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

POOL_OVERFLOW = 8
"""Connections a pool may open beyond its size (the server's reaper and metrics)."""

URL_SETTING = "HORN_DATABASE_URL"
"""The setting a database URL comes from, named in the errors about it."""


class DatabaseURLError(ValueError):
    """The database URL cannot be used: unreadable, or naming a driver not installed."""


def check_database_url(url: str) -> None:
    """Check that `url` parses and that the driver it names is installed.

    Raises:
        DatabaseURLError: naming `HORN_DATABASE_URL` and what to install or write instead.
    """
    scheme = url.partition("://")[0] or url[:20]
    try:
        make_url(url).get_dialect().import_dbapi()
    except ModuleNotFoundError as exc:
        raise DatabaseURLError(
            f"{URL_SETTING} names the database driver of `{scheme}://`, whose module "
            f"`{exc.name}` is not installed. For PostgreSQL write postgresql://USER@HOST/DB "
            "(or postgresql+psycopg://...: psycopg 3, which horn[server] and horn[worker] "
            f"install); otherwise install the package that provides `{exc.name}`."
        ) from None
    except NoSuchModuleError:
        raise DatabaseURLError(
            f"{URL_SETTING} names an unknown database `{scheme}://`. Expected "
            "postgresql://USER@HOST/DB or sqlite:///PATH."
        ) from None
    except ArgumentError:
        raise DatabaseURLError(
            f"{URL_SETTING} is not a database URL. Expected postgresql://USER@HOST/DB or "
            f"sqlite:///PATH. Received: {_without_credentials(url)!r}"
        ) from None


def _without_credentials(url: str) -> str:
    """`url` for an error message: what stands before an `@` (a password) left out."""
    _, at, rest = url.rpartition("@")
    return f"***@{rest}" if at else url[:80]


def make_engine(url: str, pool_size: int | None = None) -> Engine:
    """Create an engine suited to the database behind `url`, keeping up to `pool_size`
    connections (SQLAlchemy's default, 5, when None; unused for SQLite).

    Raises:
        DatabaseURLError: the URL is unreadable or its driver is not installed.
    """
    check_database_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif pool_size is not None:
        kwargs.update(pool_size=pool_size, max_overflow=POOL_OVERFLOW)
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the server read while the worker writes; foreign keys are off by
    # default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@functools.cache
def get_engine(url: str) -> Engine:
    """The process-wide engine for `url`."""
    return make_engine(url)


_factories: weakref.WeakKeyDictionary[Engine, sessionmaker[Session]] = (
    weakref.WeakKeyDictionary())


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit; one factory per engine (a
    `sessionmaker` defines a new `Session` subclass, costly to make for each request)."""
    factory = _factories.get(engine)
    if factory is None:
        factory = _factories[engine] = sessionmaker(engine, expire_on_commit=False)
    return factory


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One session, one transaction: committed on success, rolled back on error."""
    with session_factory(engine)() as session, session.begin():
        yield session


def is_outage(exc: BaseException) -> bool:
    """Whether a database error means the database could not be reached (it is down,
    restarting, or dropped the connection): worth waiting out and retrying. Any other
    database error (a value it cannot store, a broken constraint) comes back the same
    on every retry."""
    if isinstance(exc, OperationalError):
        state = getattr(exc.orig, "sqlstate", None) or ""
        return not state.startswith(REPEATED_ERROR_CLASSES)
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


REPEATED_ERROR_CLASSES = ("54",)
"""SQLSTATE classes that psycopg reports as `OperationalError` although the same
statement fails again: 54, program limit exceeded (an index row too large, a statement
too complex)."""
