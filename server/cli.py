"""The `horn` command: run the embedded stack, the server, a worker, migrations."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from horn.server.core.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


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


def _worker_command(concurrency: int, queues: str, loglevel: str,
                    quiet: bool = False, hostname: str = "horn@%h") -> list[str]:
    return [sys.executable, "-m", "celery", *(["--quiet"] if quiet else []),
            "-A", "horn.worker.app", "worker", "--hostname", hostname,
            "--pool", "prefork", "--concurrency", str(concurrency), "-Q", queues,
            "--without-mingle", "--without-gossip", "--loglevel", loglevel]


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    """`horn db upgrade`: bring the database schema to this version's head."""
    from horn.server.store.migrate import upgrade

    url = get_settings().resolved_database_url()
    upgrade(url)
    print(f"Database schema is current ({_redact(url)}).")
    return 0


def cmd_server(args: argparse.Namespace) -> int:
    """`horn server`: the API server alone (uvicorn)."""
    settings = get_settings()
    host, port = args.host or settings.host, args.port or settings.port
    _check_bind(host)
    os.execv(sys.executable,
             _server_command(host, port, args.workers or settings.server_workers))
    return 0  # pragma: no cover - execv does not return


def cmd_worker(args: argparse.Namespace) -> int:
    """`horn worker`: Celery workers, one per GPU (`--gpus`), one job at a time each.

    With one process to run, it becomes that Celery worker; with several (one per
    GPU), it supervises them and serves their metrics on `HORN_WORKER_METRICS_PORT`:
    a signal is passed on to all, and when one exits the others are stopped, so that
    a container restarts as a whole.
    """
    from horn.worker.gpus import detect_gpus, plan_workers

    settings = get_settings()
    gpus = args.gpus or settings.worker_gpus
    detected = detect_gpus(os.environ) if gpus.strip().lower() in ("", "all") else []
    try:
        slots = plan_workers(gpus, detected, settings.distribute)
    except ValueError as exc:
        raise SystemExit(f"horn worker: {exc}") from None
    queues = celery_queues(args.queues or settings.queue)
    node = socket.gethostname()
    print(json.dumps({"event": "worker_plan", "gpus": gpus, "detected": detected,
                      "distribute": settings.distribute or "none",
                      "workers": [{"hostname": s.hostname.replace("%h", node), **s.env}
                                  for s in slots]}), file=sys.stderr, flush=True)
    commands = [(_worker_command(args.concurrency, queues, args.loglevel,
                                 hostname=slot.hostname),
                 dict(os.environ, **slot.env,
                      HORN_WORKER_HOSTNAME=slot.hostname.replace("%h", node)))
                for slot in slots]
    if len(commands) == 1:
        command, env = commands[0]
        os.execve(sys.executable, command, env)
    if settings.worker_metrics_port:
        # One metrics endpoint for all the processes: their children write samples to
        # one shared directory, which this supervisor serves.
        from horn.worker import metrics

        metrics.prepare(settings.worker_metrics_port)
        metrics.serve(settings.worker_metrics_port, settings.worker_metrics_host)
        for _, env in commands:
            env.update(PROMETHEUS_MULTIPROC_DIR=os.environ[metrics.MULTIPROC_ENV],
                       HORN_WORKER_METRICS_PORT="0")
    return _supervise(commands)


def _supervise(commands: list[tuple[list[str], dict[str, str]]]) -> int:
    """Run the worker processes until a signal or until one of them exits."""
    procs = [subprocess.Popen(command, env=env) for command, env in commands]
    received: list[int] = []

    def forward(signum: int, _: object) -> None:
        received.append(signum)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = 0
    while all(proc.poll() is None for proc in procs):
        time.sleep(0.2)
    if not received:
        failed = next(proc for proc in procs if proc.returncode is not None)
        code = failed.returncode or 1
        print(f"horn: a worker process exited with {failed.returncode}; stopping the "
              "others.", file=sys.stderr, flush=True)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
    for proc in procs:
        proc.wait()  # a warm shutdown lets a running job stop cleanly
    return code


def celery_queues(names: str) -> str:
    """The Celery queues behind comma-separated named queues, high priority first."""
    from horn.schemas.queues import check_queue_name, expand_queues

    try:
        named = [check_queue_name(n.strip()) for n in names.split(",") if n.strip()]
    except ValueError as exc:
        raise SystemExit(f"horn worker: {exc}") from None
    return ",".join(expand_queues(named))


def cmd_up(args: argparse.Namespace) -> int:
    """`horn up`: server and one worker as separate processes, on SQLite and a
    file-system broker under the data directory. Ctrl-C stops both."""
    data_dir = Path(args.data_dir or get_settings().data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _check_bind(args.host)
    env = dict(os.environ, HORN_DATA_DIR=str(data_dir))
    env.setdefault("HORN_DATABASE_URL", f"sqlite:///{data_dir / 'horn.db'}")
    env.setdefault("HORN_BROKER_URL", "filesystem://localhost//")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    migrate = subprocess.run([sys.executable, "-m", "horn.server.cli", "db", "upgrade"], env=env)
    if migrate.returncode != 0:
        return migrate.returncode
    procs = [
        subprocess.Popen(_worker_command(1, celery_queues(env.get("HORN_QUEUE", "horn")),
                                         "WARNING", quiet=True), env=env),
        subprocess.Popen(_server_command(args.host, args.port), env=env),
    ]
    print(f"horn is up: http://{args.host}:{args.port} (API docs at /docs), "
          f"data in {data_dir}. Press Ctrl-C to stop.", flush=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while not stopping:
        for name, proc in zip(("worker", "server"), procs, strict=True):
            if proc.poll() is not None:
                print(f"horn: the {name} exited with {proc.returncode}; stopping.",
                      file=sys.stderr)
                code, stopping = proc.returncode or 1, True
        time.sleep(0.2)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return code


def _check_bind(host: str) -> None:
    """Refuse a non-loopback address unless authentication is on (`HORN_AUTH=keys`) or
    the explicit opt-out `HORN_ALLOW_UNAUTHENTICATED_BIND=1` is set."""
    if _is_loopback(host):
        return
    settings = get_settings()
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


def _keys_session() -> Session:
    from horn.server.store.db import make_engine, session_factory
    from horn.server.store.migrate import check_schema

    engine = make_engine(get_settings().resolved_database_url())
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


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `horn`."""
    parser = argparse.ArgumentParser(prog="horn", description="Keras training as a service.")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run server and one worker on this machine (embedded)")
    up.add_argument("--data-dir", help="where the database, blobs and broker live "
                    "(default: ~/.horn or HORN_DATA_DIR)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.set_defaults(func=cmd_up)

    server = sub.add_parser("server", help="run the API server (uvicorn)")
    server.add_argument("--host")
    server.add_argument("--port", type=int)
    server.add_argument("--workers", type=int, help="server processes (default "
                        "HORN_SERVER_WORKERS, 1); about one per core")
    server.set_defaults(func=cmd_server)

    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--concurrency", type=int, default=1,
                        help="jobs at once per worker process; default 1")
    worker.add_argument("--gpus", help="all (one worker process per visible GPU; one CPU "
                        "worker when there is none), none (CPU only), or ids such as 0,1 "
                        "(default HORN_WORKER_GPUS, all)")
    worker.add_argument("--queues", help="comma-separated queues (default HORN_QUEUE)")
    worker.add_argument("--loglevel", default="INFO")
    worker.set_defaults(func=cmd_worker)

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

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `horn` command."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
