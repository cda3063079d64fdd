"""The fault-injection stack: a server and several workers as real processes, on a
private PostgreSQL and a private Redis that the tests may stop, flush and restart.

Leases are short (3 s) and the reaper runs every half second, so a lost worker's
job is taken over within seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import horn
from tests.faults.services import PrivatePostgres, PrivateRedis
from tests.integration import stack


class FaultStack:
    """Server, workers and their services, with the levers the faults pull."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pg = PrivatePostgres()
        self.redis = PrivateRedis(root / "redis")
        self.port = stack.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.env: dict[str, str] = {}
        self._logs = 0

    def start(self, workers: int) -> None:
        """Start the services, migrate, then the server and `workers` workers."""
        self.pg.init()
        self.redis.start()
        self.env = dict(os.environ, HORN_DATABASE_URL=self.pg.url,
                        HORN_BROKER_URL=self.redis.url, HORN_QUEUE="faults",
                        HORN_DATA_DIR=str(self.root), HORN_BLOB_DIR=str(self.root / "blobs"),
                        HORN_LEASE_SECONDS="3", HORN_REAPER_INTERVAL="0.5",
                        # Batch events every 20 ms: the fault moments are windows of a
                        # fraction of an epoch, which lasts ~0.3 s on a fast 2-core VM.
                        HORN_RESEND_GRACE="2", HORN_PROGRESS_INTERVAL="0.02",
                        PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
        subprocess.run([stack.python(), "-m", "horn.cli", "db", "upgrade"], env=self.env,
                       check=True, cwd=stack.ROOT, stdout=subprocess.DEVNULL)
        self.start_server()
        for _ in range(workers):
            self.start_worker()

    def _log(self, name: str) -> Path:
        self._logs += 1
        return self.root / f"{self._logs:02d}-{name}.log"

    def start_server(self) -> None:
        """Start uvicorn on the stack's port and wait for /healthz."""
        self.server = stack.spawn_server(self.env, self.port, self._log("server"))
        stack.wait_healthy(self.url, self.server)

    def kill_server(self) -> None:
        """SIGKILL the server."""
        assert self.server is not None
        self.server.kill()
        self.server.wait()

    def start_worker(self) -> subprocess.Popen[bytes]:
        """Start one more worker (a Celery parent with one prefork child)."""
        proc = stack.spawn([stack.python(), "-m", "horn.cli", "worker", "--loglevel",
                            "INFO"], self.env, self._log("worker"))
        self.workers.append(proc)
        return proc

    def kill_worker(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL a whole worker: its parent and its children."""
        pids = [proc.pid, *stack.child_pids(proc.pid)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
        self.workers.remove(proc)

    def stop(self) -> None:
        """Stop everything."""
        for proc in list(self.workers):
            self.kill_worker(proc)
        if self.server is not None and self.server.poll() is None:
            stack.stop(self.server)
        self.redis.stop()
        self.pg.destroy()

    def http(self) -> httpx.Client:
        """A plain HTTP client on the server."""
        return httpx.Client(base_url=self.url, timeout=30)


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    """A fault stack with two workers, for one test module."""
    fault_stack = FaultStack(tmp_path_factory.mktemp("faults"))
    try:
        fault_stack.start(workers=2)
        yield fault_stack
    finally:
        fault_stack.stop()


@pytest.fixture()
def sdk(faults: FaultStack) -> Iterator[horn.Connection]:
    """The SDK pointed at the fault stack."""
    connection = horn.connect(faults.url)
    yield connection
    connection.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A fault test that hangs fails after 400 s instead of the suite's 600 s."""
    for item in items:
        if "tests/faults/" in str(item.path):
            item.add_marker(pytest.mark.timeout(400))
