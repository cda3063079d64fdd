"""Database URLs: the form PostgreSQL's own tools print, mapped to the installed driver."""

from __future__ import annotations

PSYCOPG_SCHEME = "postgresql+psycopg"
"""SQLAlchemy's name for psycopg 3, the PostgreSQL driver `horn[server]` installs."""

_PLAIN_POSTGRES_SCHEMES = ("postgresql", "postgres")


def normalize_database_url(url: str) -> str:
    """`url` with a driverless PostgreSQL scheme mapped to psycopg 3.

    `postgresql://user@host/db` (what `psql`, `pg_dump` and hosting services print) and
    the older `postgres://` would make SQLAlchemy look for psycopg2, which horn does not
    install; both become `postgresql+psycopg://user@host/db`. Any other URL, one naming
    its driver included, is returned unchanged.

    Example:

    >>> normalize_database_url("postgresql://horn@db:5432/horn")
    'postgresql+psycopg://horn@db:5432/horn'
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in _PLAIN_POSTGRES_SCHEMES:
        return f"{PSYCOPG_SCHEME}://{rest}"
    return url
