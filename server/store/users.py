"""Accounts and API keys.

A key is `horn_<prefix>_<secret>`: the prefix (8 hex characters) identifies it in lists
and logs; the secret (43 URL-safe characters, 256 bits) is never stored. The database
keeps only the SHA-256 of the whole key: the key is random, so a slow hash would add
nothing, and a lookup costs one indexed read by prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from horn.server.store.tables import ApiKey, User, utcnow

KEY_PREFIX = "horn_"
_KEY = re.compile(r"^horn_([0-9a-f]{8})_([A-Za-z0-9_\-]{43})$")
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,99}$")
LAST_USED_RESOLUTION = timedelta(seconds=60)
"""`last_used_at` is written at most this often per key (not on every request)."""


class AccountError(ValueError):
    """A user or key operation that cannot be done (bad name, unknown user or key)."""


def hash_key(raw_key: str) -> str:
    """The stored form of a key: hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def check_user_name(name: str) -> str:
    """Return `name` if it is a valid user name, else raise AccountError."""
    if not _USER_NAME.fullmatch(name):
        raise AccountError(
            "Expected a user name of 1 to 100 letters, digits, `_`, `.`, `@` or `-`, "
            f"starting with a letter or digit. Received: {name[:120]!r}")
    return name


def get_user(session: Session, name: str) -> User | None:
    """The user called `name`, if any."""
    return session.get(User, name)


def ensure_user(session: Session, name: str, *, is_admin: bool = False) -> User:
    """The user called `name`, created when missing; `is_admin=True` promotes them."""
    check_user_name(name)
    user = session.get(User, name)
    if user is None:
        user = User(name=name, is_admin=is_admin, created_at=utcnow())
        session.add(user)
        session.flush()
    elif is_admin and not user.is_admin:
        user.is_admin = True
    return user


def list_users(session: Session) -> Sequence[User]:
    """Every user, by name."""
    return session.scalars(select(User).order_by(User.name)).all()


def create_key(session: Session, user_name: str) -> tuple[ApiKey, str]:
    """A new key for an existing user; returns the row and the raw key (shown once).

    Raises:
        AccountError: no such user.
    """
    if session.get(User, user_name) is None:
        raise AccountError(f"No user called {user_name!r}. Create the user first.")
    while True:
        prefix = secrets.token_hex(4)
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(id=secrets.token_hex(8), prefix=prefix, hash=hash_key(raw), owner=user_name,
                 created_at=utcnow(), revoked_at=None, last_used_at=None)
    session.add(row)
    session.flush()
    return row, raw


def list_keys(session: Session, user_name: str | None = None) -> Sequence[ApiKey]:
    """Keys (of one user, or all), oldest first."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if user_name is not None:
        query = query.where(ApiKey.owner == user_name)
    return session.scalars(query).all()


def find_key(session: Session, key_id: str) -> ApiKey | None:
    """A key by its id or its prefix."""
    row = session.get(ApiKey, key_id)
    if row is None:
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == key_id)).first()
    return row


def revoke_key(session: Session, key_id: str) -> ApiKey:
    """Revoke a key (by id or prefix); it is refused from the next request on.

    Raises:
        AccountError: no such key.
    """
    row = find_key(session, key_id)
    if row is None:
        raise AccountError(f"No API key with id or prefix {key_id!r}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


@dataclass(frozen=True)
class KeyOwner:
    """Who a live API key belongs to: the user's name, whether they are an admin, and
    the key's prefix."""

    name: str
    is_admin: bool
    prefix: str


OWNER_QUERY = (  # the key and its user in one indexed read (every request does it)
    select(ApiKey.hash, ApiKey.revoked_at, ApiKey.last_used_at, User.name, User.is_admin)
    .join(User, ApiKey.owner == User.name).where(ApiKey.prefix == bindparam("prefix")))
"""The live-key check's read; parameter `prefix`."""
TOUCH_STATEMENT = (update(ApiKey).where(ApiKey.prefix == bindparam("key_prefix"))
                   .values(last_used_at=bindparam("used_at")))
"""Records a key's use; parameters `key_prefix` and `used_at`."""


def key_prefix(raw_key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    match = _KEY.fullmatch(raw_key.strip())
    return None if match is None else match.group(1)


def checked_owner(row: Mapping[Any, Any] | None, raw_key: str, prefix: str
                  ) -> tuple[KeyOwner | None, bool]:
    """The key's owner when `row` is a live key matching `raw_key`, and whether its
    `last_used_at` is due for an update."""
    if row is None or row["revoked_at"] is not None or not hmac.compare_digest(
            row["hash"], hash_key(raw_key.strip())):
        return None, False
    last = row["last_used_at"]
    now = utcnow()
    if last is not None and last.tzinfo is None:  # SQLite returns naive datetimes
        last = last.replace(tzinfo=now.tzinfo)
    return (KeyOwner(row["name"], bool(row["is_admin"]), prefix),
            last is None or now - last >= LAST_USED_RESOLUTION)


def authenticate_key(session: Session, raw_key: str) -> KeyOwner | None:
    """The owner of a raw API key, or None when the key is unknown, malformed or
    revoked. Records when the key was last used (at most once a minute); the caller
    commits.

    Example:
        >>> owner = authenticate_key(session, "horn_1a2b3c4d_...")  # doctest: +SKIP
    """
    prefix = key_prefix(raw_key)
    if prefix is None:
        return None
    row = session.execute(OWNER_QUERY, {"prefix": prefix}).mappings().first()
    owner, touch = checked_owner(row, raw_key, prefix)
    if touch:
        session.execute(TOUCH_STATEMENT, {"key_prefix": prefix, "used_at": utcnow()})
    return owner
