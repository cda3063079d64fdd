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
from pathlib import Path

from server.core.config import get_settings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "server.main:create_app", "--factory",
            "--host", host, "--port", str(port), "--log-level", "warning",
            "--timeout-graceful-shutdown", "5"]


def _worker_command(concurrency: int, queues: str, loglevel: str,
                    quiet: bool = False, hostname: str = "horn@%h") -> list[str]:
    return [sys.executable, "-m", "celery", *(["--quiet"] if quiet else []),
            "-A", "worker.app", "worker", "--hostname", hostname,
            "--pool", "prefork", "--concurrency", str(concurrency), "-Q", queues,
            "--without-mingle", "--without-gossip", "--loglevel", loglevel]


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    """`horn db upgrade`: bring the database schema to this version's head."""
    from server.store.migrate import upgrade

    url = get_settings().resolved_database_url()
    upgrade(url)
    print(f"Database schema is current ({_redact(url)}).")
    return 0


def cmd_server(args: argparse.Namespace) -> int:
    """`horn server`: the API server alone (uvicorn)."""
    settings = get_settings()
    host, port = args.host or settings.host, args.port or settings.port
    _check_bind(host)
    os.execv(sys.executable, _server_command(host, port))
    return 0  # pragma: no cover - execv does not return


def cmd_worker(args: argparse.Namespace) -> int:
    """`horn worker`: Celery workers, one per GPU (`--gpus`), one job at a time each.

    With one process to run, it becomes that Celery worker; with several (one per
    GPU), it supervises them and serves their metrics on `HORN_WORKER_METRICS_PORT`:
    a signal is passed on to all, and when one exits the others are stopped, so that
    a container restarts as a whole.
    """
    from worker.gpus import detect_gpus, plan_workers

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
        from worker import metrics

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
    from schemas.queues import check_queue_name, expand_queues

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
    migrate = subprocess.run([sys.executable, "-m", "server.cli", "db", "upgrade"], env=env)
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
    """Refuse a non-loopback address unless HORN_ALLOW_UNAUTHENTICATED_BIND is set."""
    if _is_loopback(host):
        return
    if not get_settings().allow_unauthenticated_bind:
        _refuse_public_bind(host)
    print(f"horn: listening on {host} without authentication "
          "(HORN_ALLOW_UNAUTHENTICATED_BIND=1): publish this port only to 127.0.0.1 of "
          "the host or behind an authenticating proxy.", file=sys.stderr, flush=True)


def _refuse_public_bind(host: str) -> None:
    raise SystemExit(
        f"horn: refusing to listen on {host}: this version has no authentication, so any "
        "machine that reaches this address could submit jobs. Bind to 127.0.0.1 (the "
        "default) and put an authenticating proxy in front if others must reach it. "
        "In a container whose port is published only to 127.0.0.1 of the host (or "
        "behind such a proxy), set HORN_ALLOW_UNAUTHENTICATED_BIND=1."
    )


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
