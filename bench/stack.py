"""The production stack for the benchmarks: `horn server` (uvicorn) and `horn worker`
(Celery, prefork, one warm child) as separate processes, on a fresh PostgreSQL database
and private Redis queues, configured as in production (`HORN_ENVIRONMENT=production`,
API keys, default intervals) except:

- `HORN_MAX_JOBS_PER_CHILD` is raised so that the worker child is not replaced during
  the run (the stability figure follows one child's memory);
- TensorFlow sees no GPU on either side (`CUDA_VISIBLE_DEVICES=""`), as local Keras;
- the per-key rate limit is raised from 50 to 1,000 requests/s (still checked on every
  request): the server benchmark's 50 clients each send as fast as they are answered,
  and the kernel may hand one server process few connections, each then answered
  faster than 50/s.

Process helpers come from `tests.integration.stack`, shared with the test suite.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from tests.integration import stack as procs

ADMIN_URL = os.environ.get("HORN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HORN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
USER = "bench"


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` (VmRSS from /proc), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def descendants(pid: int) -> list[int]:
    """Process `pid` and all its descendants (from /proc)."""
    found = [pid]
    for child in procs.child_pids(pid):
        found += descendants(child)
    return found


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) used by process `pid` and by its children that
    have exited; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the name: state is field 3, so utime..cstime (fields 14-17) are [11:15].
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def pids_named(*names: str) -> list[int]:
    """Every process whose command name is one of `names` (PostgreSQL, Redis)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class BenchStack:
    """A server and its workers, started by `start()` and removed by `stop()`.

    Attributes:
        url: the server's address.
        env: the environment every horn process of the stack runs with.
        api_key: a key of the admin user `bench`.
        workdir: logs, blobs and temporary files (removed by `stop()`).
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.queue = f"horn-bench-{uuid.uuid4().hex[:8]}"
        self.port = procs.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env: dict[str, str] = {}
        self.api_key = ""
        self.server: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self._db_name: str | None = None
        self._logs = 0

    # --- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """Create the database, migrate, make a key, start the server and one worker."""
        db_url, self._db_name = procs.create_database(ADMIN_URL)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HORN_")}
        env.update(
            HORN_DATABASE_URL=db_url, HORN_BROKER_URL=REDIS_URL, HORN_QUEUE=self.queue,
            HORN_DATA_DIR=str(self.workdir), HORN_BLOB_DIR=str(self.workdir / "blobs"),
            HORN_AUTH="keys", HORN_ENVIRONMENT="production",
            HORN_SECRET_KEY=secrets.token_urlsafe(32), HORN_HOST="127.0.0.1",
            HORN_PORT=str(self.port), HORN_MAX_JOBS_PER_CHILD="100000",
            HORN_RATE_LIMIT_PER_SECOND="1000",
            # One server process per core, as the README advises for production.
            HORN_SERVER_WORKERS=os.environ.get("HORN_SERVER_WORKERS",
                                               str(max(1, os.cpu_count() or 1))),
            CUDA_VISIBLE_DEVICES="", KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2",
            PYTHONUNBUFFERED="1")
        self.env = env
        subprocess.run([procs.python(), "-m", "horn.cli", "db", "upgrade"], env=env,
                       check=True, cwd=procs.ROOT, capture_output=True)
        self.api_key = self.create_keys(USER, 1, admin=True)[0]
        self.server = procs.spawn([procs.python(), "-m", "horn.cli", "server"], env,
                                  self._log("server"))
        worker = self.start_worker(wait=False)
        procs.wait_healthy(self.url, self.server)
        self.wait_worker_ready(worker)

    def stop(self) -> None:
        """Stop every process, drop the database, empty the bench's Redis queues and
        remove the working directory."""
        for worker in list(self.workers):
            self.stop_worker(worker)
        if self.server is not None:
            procs.stop(self.server)
        if self._db_name is not None:
            procs.drop_database(ADMIN_URL, self._db_name)
        purge_redis(self.queue)
        shutil.rmtree(self.workdir / "blobs", ignore_errors=True)

    def _log(self, name: str) -> Path:
        self._logs += 1
        return self.workdir / f"{self._logs:02d}-{name}.log"

    # --- workers ---------------------------------------------------------------
    def start_worker(self, wait: bool = True, env: dict[str, str] | None = None
                     ) -> subprocess.Popen[bytes]:
        """Start one more `horn worker` (a Celery parent and one prefork child), with
        `env` added to the stack's environment."""
        log = self._log("worker")
        proc = procs.spawn([procs.python(), "-m", "horn.cli", "worker"],
                           {**self.env, **(env or {})}, log)
        proc.log = log  # type: ignore[attr-defined]
        self.workers.append(proc)
        if wait:
            self.wait_worker_ready(proc)
        return proc

    def wait_worker_ready(self, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
        """Wait until the worker's child has imported TensorFlow and the parent
        consumes the queue."""
        log: Path = proc.log  # type: ignore[attr-defined]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode}; see {log}")
            text = log.read_bytes()
            if b"worker child ready" in text and b"worker started" in text:
                return
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready after {timeout:.0f} s; see {log}")

    def stop_worker(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop a worker (warm shutdown, then kill)."""
        procs.stop(proc)
        self.workers.remove(proc)

    def worker_child(self, proc: subprocess.Popen[bytes] | None = None) -> int:
        """The pid of the (one) prefork child of a worker (the first by default)."""
        proc = proc or self.workers[0]
        children = procs.child_pids(proc.pid)
        if len(children) != 1:
            raise RuntimeError(f"worker {proc.pid} has children {children}, expected one")
        return children[0]

    def cpu_by_part(self) -> dict[str, float]:
        """CPU seconds used so far by each part of the machine's work: the server's
        processes, the workers' (parents and children), PostgreSQL, Redis and this
        process (the benchmark's clients). Differences of two readings say where a
        phase's CPU went."""
        def total(pids: list[int]) -> float:
            return sum(cpu_seconds(pid) for pid in pids)

        times = os.times()
        return {
            "server": total(descendants(self.server.pid)) if self.server else 0.0,
            "workers": total([p for w in self.workers for p in descendants(w.pid)]),
            "postgres": total(pids_named("postgres")),
            "redis": total(pids_named("redis-server")),
            "clients": times.user + times.system,
        }

    # --- accounts and clients --------------------------------------------------
    def create_keys(self, user: str, n: int, admin: bool = False) -> list[str]:
        """`n` new API keys of `user` (created when missing), written directly to the
        database (what `horn keys create` does, without a process per key)."""
        from horn.server.store.db import make_engine, transaction
        from horn.server.store.users import create_key, ensure_user

        engine = make_engine(self.env["HORN_DATABASE_URL"])
        try:
            with transaction(engine) as session:
                ensure_user(session, user, is_admin=admin)
                return [create_key(session, user)[1] for _ in range(n)]
        finally:
            engine.dispose()

    def connect(self, api_key: str | None = None) -> Any:
        """A new SDK connection to the stack, made the default one."""
        import horn
        return horn.connect(self.url, api_key=api_key or self.api_key)


def purge_redis(queue_prefix: str) -> None:
    """Delete the Redis keys of the bench's queues (names start with `queue_prefix`)."""
    import redis

    with contextlib.closing(redis.Redis.from_url(REDIS_URL)) as conn:
        keys = [k for pattern in (f"{queue_prefix}*", f"_kombu.binding.{queue_prefix}*")
                for k in conn.scan_iter(match=pattern, count=1000)]
        if keys:
            conn.delete(*keys)
