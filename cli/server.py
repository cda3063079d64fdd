"""`horn server`: the API server alone (uvicorn), refusing an unsafe bind."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from horn.settings import ServerSettings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server_command(host: str, port: int, workers: int = 1) -> list[str]:
    """The server's command line: uvicorn; several processes each on a socket of its
    own where the platform spreads connections over such sockets (`horn.server.serving`)."""
    from horn.server import serving

    if workers > 1 and serving.spreads_connections():
        return [sys.executable, "-m", "horn.server.serving", "--host", host,
                "--port", str(port), "--workers", str(workers)]
    return [sys.executable, "-m", "uvicorn", serving.APP, "--factory",
            "--host", host, "--port", str(port), "--log-level", "warning",
            "--timeout-graceful-shutdown", str(serving.GRACEFUL_SHUTDOWN_SECONDS),
            *(["--workers", str(workers)] if workers > 1 else [])]


def _check_bind(host: str, settings: ServerSettings | None = None) -> None:
    """Refuse a non-loopback address unless authentication is on (`HORN_AUTH=keys`) or
    the explicit opt-out `HORN_ALLOW_UNAUTHENTICATED_BIND=1` is set."""
    if _is_loopback(host):
        return
    settings = settings or ServerSettings()
    if settings.auth == "keys":
        return
    if not settings.allow_unauthenticated_bind:
        _refuse_public_bind(host)
    print(f"horn: listening on {host} without authentication "
          "(HORN_ALLOW_UNAUTHENTICATED_BIND=1): publish this port only to 127.0.0.1 of "
          "the host or behind an authenticating proxy.", file=sys.stderr, flush=True)


def _refuse_public_bind(host: str) -> None:
    raise SystemExit(
        f"horn: refusing to listen on {host} without authentication (HORN_AUTH=none): any "
        "machine that reaches this address could submit jobs. Turn authentication on with "
        "HORN_AUTH=keys and create API keys with `horn keys create --user NAME`, or bind "
        "to 127.0.0.1 (the default). In a container whose port is published only to "
        "127.0.0.1 of the host (or behind an authenticating proxy), set "
        "HORN_ALLOW_UNAUTHENTICATED_BIND=1."
    )


def check_database(url: str, command: str) -> None:
    """Exit with the store's message when `url` is unusable (its driver is missing)."""
    from horn.server.store.db import DatabaseURLError, check_database_url

    try:
        check_database_url(url)
    except DatabaseURLError as exc:
        raise SystemExit(f"horn {command}: {exc}") from None


def cmd_server(args: argparse.Namespace) -> int:
    """`horn server`: the API server alone (uvicorn)."""
    settings = ServerSettings()
    host, port = args.host or settings.host, args.port or settings.port
    _check_bind(host, settings)
    check_database(settings.resolved_database_url(), "server")
    os.execv(sys.executable,
             _server_command(host, port, args.workers or settings.server_workers))
    return 0  # pragma: no cover - execv does not return


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `horn server` to the parser."""
    server = sub.add_parser("server", help="run the API server (uvicorn)")
    server.add_argument("--host")
    server.add_argument("--port", type=int)
    server.add_argument("--workers", type=int, help="server processes (default "
                        "HORN_SERVER_WORKERS, 1); about one per core")
    server.set_defaults(func=cmd_server)
