"""`horn up`: the embedded stack, server and one worker as separate processes."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from horn.cli.server import _check_bind, _server_command
from horn.cli.worker import _worker_command, celery_queues
from horn.settings import StoreSettings


def cmd_up(args: argparse.Namespace) -> int:
    """`horn up`: server and one worker as separate processes, on SQLite and a
    file-system broker under the data directory. Ctrl-C stops both."""
    data_dir = Path(args.data_dir or StoreSettings().data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _check_bind(args.host)
    env = dict(os.environ, HORN_DATA_DIR=str(data_dir))
    env.setdefault("HORN_DATABASE_URL", f"sqlite:///{data_dir / 'horn.db'}")
    env.setdefault("HORN_BROKER_URL", "filesystem://localhost//")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    migrate = subprocess.run([sys.executable, "-m", "horn.cli", "db", "upgrade"], env=env)
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


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `horn up` to the parser."""
    up = sub.add_parser("up", help="run server and one worker on this machine (embedded)")
    up.add_argument("--data-dir", help="where the database, blobs and broker live "
                    "(default: ~/.horn or HORN_DATA_DIR)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.set_defaults(func=cmd_up)
