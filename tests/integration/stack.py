"""Start horn's real processes for tests: uvicorn and a Celery worker (or `horn up`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port nobody listens on right now, never the same twice in one process
    (several services are given ports before any of them listens)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until `GET /healthz` answers 200, or fail with the process's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} was up")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url}/healthz did not answer within {timeout}s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Terminate a process (and wait); kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def child_pids(pid: int) -> list[int]:
    """The direct child processes of `pid` (from /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def spawn(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process in the repo root, its output in `log`."""
    handle = open(log, "wb")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(args, cwd=ROOT, env=dict(env), stdout=handle,
                            stderr=subprocess.STDOUT)


def spawn_server(env: Mapping[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start the API server (uvicorn, as `horn server` runs it) on 127.0.0.1:`port`."""
    return spawn([python(), "-m", "uvicorn", "horn.server.main:create_app", "--factory",
                  "--host", "127.0.0.1", "--port", str(port)], env, log)


def create_database(admin_url: str) -> tuple[str, str]:
    """Create a fresh PostgreSQL database; returns (its SQLAlchemy URL, its name)."""
    import psycopg

    name = f"horn_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}", name


def drop_database(admin_url: str, name: str) -> None:
    """Drop a database created by `create_database`."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def python() -> str:
    """The interpreter running the tests (the project's virtual environment)."""
    return os.environ.get("HORN_TEST_PYTHON", sys.executable)
