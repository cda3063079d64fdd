"""`horn db upgrade`: bring the database schema to this version's head."""

from __future__ import annotations

import argparse

from horn.cli.server import check_database
from horn.settings import StoreSettings


def redact(url: str) -> str:
    """`url` with its credentials hidden (`scheme://***@host/...`)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    """`horn db upgrade`: bring the database schema to this version's head."""
    from horn.server.store.migrate import upgrade

    url = StoreSettings().resolved_database_url()
    check_database(url, "db upgrade")
    upgrade(url)
    print(f"Database schema is current ({redact(url)}).")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `horn db` to the parser."""
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
