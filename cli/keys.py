"""`horn keys create | list | revoke`: API keys, for `HORN_AUTH=keys`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from horn.cli.server import check_database
from horn.settings import StoreSettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _keys_session() -> Session:
    from horn.server.store.db import make_engine, session_factory
    from horn.server.store.migrate import check_schema

    url = StoreSettings().resolved_database_url()
    check_database(url, "keys")
    engine = make_engine(url)
    check_schema(engine)
    return session_factory(engine)()


def cmd_keys_create(args: argparse.Namespace) -> int:
    """`horn keys create --user NAME [--admin]`: a new API key, printed once."""
    from horn.server.store import users

    with _keys_session() as session:
        try:
            users.ensure_user(session, args.user, is_admin=args.admin)
            row, raw = users.create_key(session, args.user)
        except users.AccountError as exc:
            raise SystemExit(f"horn keys create: {exc}") from None
        session.commit()
        user = users.get_user(session, args.user)
        is_admin = bool(user and user.is_admin)
    if args.json:
        print(json.dumps({"id": row.id, "prefix": row.prefix, "user": args.user,
                          "is_admin": is_admin, "key": raw}))
    else:
        print(f"Created API key {row.id} (prefix {row.prefix}) for user {args.user}"
              f"{' (admin)' if is_admin else ''}. It is shown only this once; the server "
              "keeps only its hash:", file=sys.stderr)
        print(raw)
    return 0


def _fmt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def cmd_keys_list(args: argparse.Namespace) -> int:
    """`horn keys list [--user NAME]`: keys, without their secrets."""
    from horn.server.store import users

    with _keys_session() as session:
        rows = users.list_keys(session, args.user)
        print(f"{'ID':<17} {'PREFIX':<9} {'USER':<20} {'CREATED':<20} {'LAST USED':<20} "
              "REVOKED")
        for row in rows:
            print(f"{row.id:<17} {row.prefix:<9} {row.owner:<20} {_fmt(row.created_at):<20} "
                  f"{_fmt(row.last_used_at):<20} {_fmt(row.revoked_at)}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    """`horn keys revoke ID`: refuse the key from the next request on."""
    from horn.server.store import users

    with _keys_session() as session:
        try:
            row = users.revoke_key(session, args.id)
        except users.AccountError as exc:
            raise SystemExit(f"horn keys revoke: {exc}") from None
        session.commit()
        print(f"Revoked API key {row.id} (prefix {row.prefix}) of user {row.owner}.")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `horn keys` to the parser."""
    keys = sub.add_parser("keys", help="API keys (for HORN_AUTH=keys)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key (and the user if missing)")
    create.add_argument("--user", required=True, help="the user the key belongs to")
    create.add_argument("--admin", action="store_true", help="make the user an admin")
    create.add_argument("--json", action="store_true", help="print JSON (id, prefix, key)")
    create.set_defaults(func=cmd_keys_create)
    listing = keys_sub.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--user", help="only this user's keys")
    listing.set_defaults(func=cmd_keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id or prefix")
    revoke.add_argument("id")
    revoke.set_defaults(func=cmd_keys_revoke)
