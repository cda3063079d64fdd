"""Accounts: who am I (`/v1/me`), and users and API keys for administrators."""

from __future__ import annotations

from fastapi import APIRouter, Query

from horn.schemas.accounts import (
    USER_NAME_PATTERN,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    ApiKeysPublic,
    UserCreate,
    UserPublic,
    UsersPublic,
)
from horn.server.api.deps import AdminUser, CurrentUser, SessionDep
from horn.server.api.strict import StrictJSONRoute
from horn.server.core.exceptions import Conflict, NotFound
from horn.server.store import users as store
from horn.server.store.tables import ApiKey, User, utcnow

router = APIRouter(tags=["accounts"], route_class=StrictJSONRoute)


def user_public(row: User) -> UserPublic:
    """The API view of a user."""
    return UserPublic(name=row.name, is_admin=row.is_admin, created_at=row.created_at)


def key_public(row: ApiKey) -> ApiKeyPublic:
    """The API view of a key (never its secret)."""
    return ApiKeyPublic(id=row.id, prefix=row.prefix, user=row.owner,
                        created_at=row.created_at, revoked_at=row.revoked_at,
                        last_used_at=row.last_used_at)


@router.get("/me", response_model=UserPublic)
def me(session: SessionDep, user: CurrentUser) -> UserPublic:
    """The calling user."""
    row = store.get_user(session, user.name)
    if row is None:  # the user was deleted under a live key: treat as unknown
        return UserPublic(name=user.name, is_admin=user.is_admin, created_at=utcnow())
    return user_public(row)


@router.get("/admin/users", response_model=UsersPublic)
def list_users(session: SessionDep, _: AdminUser) -> UsersPublic:
    """Every user (administrators only)."""
    rows = store.list_users(session)
    return UsersPublic(data=[user_public(r) for r in rows], count=len(rows))


@router.post("/admin/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, session: SessionDep, _: AdminUser) -> UserPublic:
    """Create a user (administrators only); `409` when the name is taken."""
    if store.get_user(session, body.name) is not None:
        raise Conflict(f"A user called {body.name!r} already exists.")
    row = store.ensure_user(session, body.name, is_admin=body.is_admin)
    session.commit()
    return user_public(row)


@router.get("/admin/keys", response_model=ApiKeysPublic)
def list_keys(session: SessionDep, _: AdminUser,
              user: str | None = Query(default=None, max_length=100,
                                       pattern=USER_NAME_PATTERN)) -> ApiKeysPublic:
    """API keys, of one user or of all (administrators only); never their secrets."""
    rows = store.list_keys(session, user)
    return ApiKeysPublic(data=[key_public(r) for r in rows], count=len(rows))


@router.post("/admin/keys", response_model=ApiKeyCreated, status_code=201)
def create_key(body: ApiKeyCreate, session: SessionDep, _: AdminUser) -> ApiKeyCreated:
    """Create an API key for a user, creating the user when missing (administrators only).

    The key is in this response only; the server keeps its SHA-256.
    """
    store.ensure_user(session, body.user, is_admin=body.is_admin)
    row, raw = store.create_key(session, body.user)
    session.commit()
    return ApiKeyCreated(**key_public(row).model_dump(), key=raw)


@router.delete("/admin/keys/{key_id}", response_model=ApiKeyPublic)
def revoke_key(key_id: str, session: SessionDep, _: AdminUser) -> ApiKeyPublic:
    """Revoke an API key (by id or prefix); it is refused from the next request on."""
    if store.find_key(session, key_id[:64]) is None:
        raise NotFound(f"No API key with id or prefix {key_id[:64]!r}.")
    row = store.revoke_key(session, key_id[:64])
    session.commit()
    return key_public(row)
