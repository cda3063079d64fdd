"""Settings of the API server: where it listens, who may call it, its reaper and limits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from horn.settings.broker import BrokerSettings
from horn.settings.limits import LimitSettings
from horn.settings.secret_key import development_secret, is_placeholder_secret
from horn.settings.store import StoreSettings


class ServerSettings(StoreSettings, BrokerSettings, LimitSettings):
    """Everything `horn server` reads: the store, the broker, limits and its own fields."""

    environment: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    allow_unauthenticated_bind: bool = False
    """Let `horn server`/`horn up` listen on a non-loopback address with `HORN_AUTH=none`.
    Only for containers whose port is published to 127.0.0.1 of the host or sits behind
    an authenticating proxy."""
    auth: Literal["none", "keys"] = "none"
    """`keys`: every `/v1` request needs `Authorization: Bearer <API key>` (create keys
    with `horn keys create`). `none`: no authentication, everything belongs to the local
    user `local` (the embedded single-user mode, loopback only)."""
    server_workers: int = Field(default=1, ge=1, le=64)
    """Processes `horn server` runs (uvicorn `--workers`): about one per core. Rate
    limits and caches are per process."""
    server_threads: int = Field(default=16, ge=1, le=256)
    """Threads per server process for blocking work (database reads and writes, file
    checks), and as many pooled database connections: a thread never waits for a
    connection."""
    event_poll_interval: float = Field(default=0.05, gt=0)
    """Seconds between two database reads of an event stream with no Redis wake-up."""
    secret_key: str = ""
    """Signs the dashboard's session cookies (`HORN_SECRET_KEY`, a long random string).
    Outside development the server refuses to start while it is empty or a placeholder;
    in development an empty key means a random one kept in `data_dir/secret_key`."""

    # Job control (the reaper runs in the server).
    reaper_interval: float = Field(default=5.0, gt=0)
    """Seconds between two reaper passes (expired leases, lost broker messages)."""
    resend_grace: float = Field(default=10.0, ge=0)
    """A queued job's task is looked for in the broker this long after it was sent."""
    resend_blind_after: float = Field(default=300.0, ge=0)
    """When the broker cannot be inspected, resend a queued job after this long."""

    def resolved_secret_key(self) -> str:
        """The key that signs session cookies.

        Raises:
            ValueError: outside development, `HORN_SECRET_KEY` is empty or a placeholder.
        """
        key = self.secret_key.strip()
        if key and not is_placeholder_secret(key):
            return key
        if self.environment != "development":
            raise ValueError(
                "HORN_SECRET_KEY must be set to a long random string outside development "
                f"(HORN_ENVIRONMENT={self.environment}). Received: "
                f"{'an empty value' if not key else 'a placeholder'}. Generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`.")
        return development_secret(self.data_dir)
