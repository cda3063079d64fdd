"""FastAPI dependencies, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from horn.server.api.routing import releasing_sessions
from horn.server.core.exceptions import Forbidden, Unauthenticated
from horn.server.core.ratelimit import RateLimiter
from horn.server.store import jobs as job_store
from horn.server.store import relay
from horn.server.store.blobs import BlobStore
from horn.server.store.db import session_factory
from horn.server.store.loopreads import LoopReads
from horn.server.store.tables import LOCAL_USER, JobRow
from horn.server.store.users import KeyOwner, authenticate_key
from horn.server.wakeups import EventWakeups
from horn.settings import ServerSettings


@dataclass(frozen=True)
class UserContext:
    """Who is calling: the user's name, whether they are an admin, and the prefix of the
    API key they used (None without authentication or for a dashboard session)."""

    name: str
    is_admin: bool = False
    key_prefix: str | None = None


LOCAL = UserContext(name=LOCAL_USER, is_admin=True)
"""The caller when `HORN_AUTH=none`."""


# The cheap dependencies are `async def`: FastAPI runs a plain `def` dependency in its
# thread pool, and each such hop costs more than the dependency itself.


async def get_app_settings(request: Request) -> ServerSettings:
    """The settings the app was created with."""
    settings: ServerSettings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One database session per request; the route commits what it changes. (Created
    here without touching the database; its connection is taken on first use, in the
    route's thread, and given back when the route returns: see `horn.server.api.routing`.)"""
    with session_factory(request.app.state.engine)() as session:
        yield session


async def get_blob_store(request: Request) -> BlobStore:
    """The app's blob store."""
    store: BlobStore = request.app.state.blob_store
    return store


def bearer_token(request: HTTPConnection) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Expected an `Authorization: Bearer <API key>` header. Received a header of "
            f"another form ({scheme[:20]!r}). Pass the key with `horn.connect(url, "
            "api_key=...)` or the HORN_API_KEY environment variable.")
    return token.strip()


async def get_current_user(request: Request,
                           session: Annotated[Session, Depends(get_session)]) -> UserContext:
    """The caller (see `authenticate_request`). On PostgreSQL the key is looked up on
    the event loop (`horn.server.store.loopreads`); otherwise in the thread pool."""
    return await _caller(request, session)


async def authenticate_connection(connection: HTTPConnection) -> UserContext:
    """`get_current_user` for a connection that outlives a request (a websocket): looks
    the key up again on every call, whatever this connection found before."""
    connection.state.horn_user = None
    return await _caller(connection, None)


async def _caller(connection: HTTPConnection, session: Session | None) -> UserContext:
    """The caller, looked up on the loop where it can be, else through `session` (a new
    one when None) in the thread pool."""
    known = _known_caller(connection)
    if known is not None:
        return known
    reads: LoopReads | None = getattr(connection.app.state, "loop_reads", None)
    if reads is not None:
        token = _required_token(connection)
        return _admit(connection, token, await reads.key_owner(token))
    if session is not None:
        return await run_in_threadpool(authenticate_request, connection, session)

    def lookup() -> UserContext:
        with session_factory(connection.app.state.engine)() as own:
            return authenticate_request(connection, own)

    return await run_in_threadpool(lookup)


def _known_caller(request: HTTPConnection) -> UserContext | None:
    """The caller without a lookup: the local user without authentication, or the one
    this request already authenticated."""
    settings: ServerSettings = request.app.state.settings
    if settings.auth == "none":
        return LOCAL
    cached: UserContext | None = getattr(request.state, "horn_user", None)
    return cached


def authenticate_request(request: HTTPConnection, session: Session) -> UserContext:
    """The caller.

    With `HORN_AUTH=none` everything belongs to the local user. With `HORN_AUTH=keys`
    the request must carry a live API key (a revoked key is refused at once: every
    request looks the key up), and each key is held to the request rate limit.
    The lookup's transaction ends here, so the request holds no database connection
    between this and the route.

    Raises:
        Unauthenticated: 401, no key, a malformed, unknown or revoked key.
        RateLimited: 429, the key sent more requests than `HORN_RATE_LIMIT_*` allow.
    """
    known = _known_caller(request)
    if known is not None:
        return known
    token = _required_token(request)
    owner = authenticate_key(session, token)
    session.commit()  # the key's `last_used_at`, when due
    return _admit(request, token, owner)


def _required_token(request: HTTPConnection) -> str:
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated(
            "This server needs an API key: send `Authorization: Bearer <key>` (the SDK "
            "sends HORN_API_KEY, or `horn.connect(url, api_key=...)`). An administrator "
            "creates keys with `horn keys create --user NAME`.")
    return token


def _admit(request: HTTPConnection, token: str, owner: KeyOwner | None) -> UserContext:
    """The caller for a looked-up key: refused when the key is not live, held to the
    key's rate limit, and remembered for the rest of the request."""
    if owner is None:
        raise Unauthenticated(
            "The API key is not valid: it is unknown, malformed or revoked "
            f"(received a key starting {token[:13]!r}). Ask an administrator for a new "
            "key (`horn keys create --user NAME`).")
    context = UserContext(owner.name, owner.is_admin, owner.prefix)
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.check(context.key_prefix or context.name)
    request.state.horn_user = context
    return context


async def read_job(request: HTTPConnection, session: Session | None, job_id: str, owner: str
                   ) -> JobRow | None:
    """`jobs.get_job` for an `async def` route: on the event loop on PostgreSQL
    (`horn.server.store.loopreads`), otherwise through `session` (a new one when None) in
    the thread pool."""
    reads: LoopReads | None = request.app.state.loop_reads
    if reads is not None:
        return await reads.job(job_id, owner)
    if session is None:
        def get() -> JobRow | None:
            with session_factory(request.app.state.engine)() as own:
                return job_store.get_job(own, job_id, owner)

        return await run_in_threadpool(get)
    found: JobRow | None = await run_in_threadpool(
        releasing_sessions(job_store.get_job), session, job_id, owner)
    return found


async def caller_and_job(request: Request, job_id: str
                         ) -> tuple[UserContext, JobRow | dict[str, Any] | None]:
    """The caller (as `get_current_user`) and their job `job_id`, if it exists. On
    PostgreSQL, when the key has to be looked up, both come from one read on the event
    loop (the job as the columns the API shows, `loopreads.JOB_VIEW_COLUMNS`): this is
    what every poll of a job costs."""
    reads: LoopReads | None = request.app.state.loop_reads
    if reads is not None and _known_caller(request) is None:
        token = _required_token(request)
        owner, job = await reads.key_owner_and_job(token, job_id)
        return _admit(request, token, owner), job
    user = await _caller(request, None)
    return user, await read_job(request, None, job_id, user.name)


async def get_admin_user(user: Annotated[UserContext, Depends(get_current_user)]
                         ) -> UserContext:
    """The caller, who must be an admin.

    Raises:
        Forbidden: 403, the caller is not an admin.
    """
    if not user.is_admin:
        raise Forbidden(f"User {user.name!r} is not an administrator; this route is for "
                        "administrators only.")
    return user


def _per_loop(request: HTTPConnection, name: str, make: Callable[[str], Any]) -> Any:
    """`app.state.<name>`, made by `make(broker_url)` for the running event loop (asyncio
    Redis clients are bound to the loop they run on), or None without a Redis broker."""
    import asyncio

    state = request.app.state
    url = state.settings.resolved_broker_url()
    if not relay.uses_redis(url):
        return None
    loop = asyncio.get_running_loop()
    cached = getattr(state, name, None)
    if cached is None or cached[0] is not loop:
        cached = (loop, make(url))
        setattr(state, name, cached)
    return cached[1]


def relay_client(request: HTTPConnection) -> Any:
    """The app's Redis client (manual-batch relay), or None without a Redis broker."""

    def make(url: str) -> Any:
        import redis.asyncio

        return redis.asyncio.Redis.from_url(url, socket_connect_timeout=10)

    return _per_loop(request, "relay_redis", make)


def event_wakeups(request: HTTPConnection) -> EventWakeups | None:
    """The process's event-stream wake-ups (`horn.server.wakeups`), or None without a Redis
    broker."""
    hub: EventWakeups | None = _per_loop(request, "event_wakeups", EventWakeups)
    return hub


SettingsDep = Annotated[ServerSettings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]
CurrentUser = Annotated[UserContext, Depends(get_current_user)]
AdminUser = Annotated[UserContext, Depends(get_admin_user)]
