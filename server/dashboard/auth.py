"""Who is looking at the dashboard: signed session cookies, API-key login, CSRF tokens.

The session is a cookie (`HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS) holding
`{user, csrf, exp}` signed with HMAC-SHA256 under `HORN_SECRET_KEY`; nothing is stored
server-side. The user's row is read again on every request, so a deleted user or a
changed admin flag takes effect at once. With `HORN_AUTH=none` everyone is the local
user (who sees every job) and a session is issued without login, only to carry the
CSRF token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy.orm import Session

from horn.server.api.deps import authenticate_request
from horn.server.store.tables import LOCAL_USER, User
from horn.server.store.users import KeyOwner, authenticate_key
from horn.settings import ServerSettings

SESSION_COOKIE = "horn_session"
SESSION_SECONDS = 12 * 3600
"""A login lasts this long."""


@dataclass(frozen=True)
class SessionData:
    """What the session cookie carries."""

    user: str
    csrf: str
    expires: int


@dataclass(frozen=True)
class Viewer:
    """The person looking at the dashboard.

    Attributes:
        name: the user name (owner of jobs).
        is_admin: sees every user's jobs.
        csrf: the session's CSRF token (None when authenticated by an API key, which a
            browser does not send by itself).
    """

    name: str
    is_admin: bool
    csrf: str | None

    @property
    def owner_filter(self) -> str | None:
        """The owner a query must be limited to (None: everyone, for admins)."""
        return None if self.is_admin else self.name


def auth_enabled(settings: ServerSettings) -> bool:
    """Whether users must log in (`HORN_AUTH=keys`)."""
    return settings.auth != "none"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode(), b"horn-session:" + payload.encode(),
                        hashlib.sha256).digest())


def sign_session(data: SessionData, key: str) -> str:
    """The cookie value for a session."""
    payload = _b64(json.dumps({"u": data.user, "c": data.csrf, "e": data.expires},
                              separators=(",", ":")).encode())
    return f"{payload}.{_mac(key, payload)}"


def read_session(value: str | None, key: str, now: float | None = None) -> SessionData | None:
    """The session in a cookie value, or None when it is missing, forged or expired."""
    if not value or value.count(".") != 1 or len(value) > 4096:
        return None
    payload, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(key, payload)):
        return None
    try:
        raw = json.loads(_unb64(payload))
        data = SessionData(user=str(raw["u"]), csrf=str(raw["c"]), expires=int(raw["e"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if data.expires < (now if now is not None else time.time()):
        return None
    return data


def new_session(user: str) -> SessionData:
    """A fresh session for `user`, with a new CSRF token."""
    return SessionData(user=user, csrf=secrets.token_urlsafe(32),
                       expires=int(time.time()) + SESSION_SECONDS)


def set_session_cookie(response: Response, request: Request, data: SessionData,
                       key: str) -> None:
    """Put the session cookie on a response (`HttpOnly`, `SameSite=Strict`)."""
    response.set_cookie(
        SESSION_COOKIE, sign_session(data, key), max_age=SESSION_SECONDS, path="/",
        httponly=True, samesite="strict", secure=request.url.scheme == "https")


def clear_session_cookie(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def viewer_from_request(request: Request, session: Session, settings: ServerSettings,
                        key: str) -> Viewer | None:
    """The viewer of a request: from the session cookie, else from an
    `Authorization: Bearer` API key; the local user when auth is off; None when
    nobody is logged in.

    Raises:
        Unauthenticated: an `Authorization` header with a bad key (401).
    """
    data = read_session(request.cookies.get(SESSION_COOKIE), key)
    if not auth_enabled(settings):
        return Viewer(LOCAL_USER, is_admin=True, csrf=data.csrf if data else None)
    if data is not None:
        user = session.get(User, data.user)
        if user is not None:
            return Viewer(user.name, is_admin=bool(user.is_admin), csrf=data.csrf)
    if request.headers.get("authorization"):
        # An API client: the same check (and rate limit) as every other /v1 route.
        caller = authenticate_request(request, session)
        return Viewer(caller.name, is_admin=caller.is_admin, csrf=None)
    return None


def login(session: Session, raw_key: str) -> KeyOwner | None:
    """The user a raw API key belongs to (None: unknown, malformed or revoked)."""
    user = authenticate_key(session, raw_key.strip())
    if user is not None:
        session.commit()
    return user


def csrf_ok(viewer: Viewer, token: str | None) -> bool:
    """Whether a submitted CSRF token matches the viewer's session."""
    return bool(viewer.csrf and token and hmac.compare_digest(viewer.csrf, token))
