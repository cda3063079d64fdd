"""Fixtures shared by several test packages: the horn stack of real processes.

`horn_stack` (session-scoped) is a real uvicorn server and a real Celery worker, as
separate processes, against PostgreSQL and Redis. It is defined here, above
`tests/integration` and `tests/keras_programs`, so that one pytest run that collects
both starts it once. Tests talk to it only through the SDK, HTTP or subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration import stack

ADMIN_URL = os.environ.get("HORN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HORN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Stack:
    """A running server and worker."""

    url: str
    env: dict[str, str]
    logs: Path
    api_key: str
    """A key of the admin user `tester` (also in `HORN_API_KEY` of this process)."""

    def create_key(self, user: str, admin: bool = False) -> str:
        """A new API key for `user` (created when missing), through `horn keys create`."""
        return create_key(self.env, user, admin)


def create_key(env: dict[str, str], user: str, admin: bool = False) -> str:
    """Run `horn keys create --user USER [--admin] --json`; return the key."""
    done = subprocess.run([stack.python(), "-m", "horn.cli", "keys", "create", "--user",
                           user, "--json", *(["--admin"] if admin else [])], env=env,
                          check=True, cwd=stack.ROOT, capture_output=True, text=True)
    key: str = json.loads(done.stdout)["key"]
    return key


@pytest.fixture(scope="session")
def horn_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Server (uvicorn) + worker (Celery, prefork) on a fresh PostgreSQL database and a
    private Redis queue, for the whole test session."""
    workdir = tmp_path_factory.mktemp("horn")
    db_url, db_name = stack.create_database(ADMIN_URL)
    port = stack.free_port()
    env = dict(os.environ,
               HORN_DATABASE_URL=db_url,
               HORN_BROKER_URL=REDIS_URL,
               HORN_QUEUE=f"horn-test-{uuid.uuid4().hex[:8]}",
               HORN_DATA_DIR=str(workdir),
               HORN_BLOB_DIR=str(workdir / "blobs"),
               HORN_PROGRESS_INTERVAL="0.1",
               # One worker child for the whole session: tests of what a warm child
               # keeps (models, data) would fail wherever the suite's job count made
               # Celery replace it between two of their jobs (after 100 by default).
               HORN_MAX_JOBS_PER_CHILD="100000",
               HORN_AUTH="keys",
               PYTHONUNBUFFERED="1",
               TF_CPP_MIN_LOG_LEVEL="2")
    py = stack.python()
    env.pop("HORN_API_KEY", None)
    subprocess.run([py, "-m", "horn.cli", "db", "upgrade"], env=env, check=True,
                   cwd=stack.ROOT)
    api_key = create_key(env, "tester", admin=True)
    env["HORN_API_KEY"] = api_key  # for SDK processes a test starts with this env
    worker = stack.spawn([py, "-m", "horn.cli", "worker", "--loglevel", "INFO"], env,
                         workdir / "worker.log")
    server = stack.spawn_server(env, port, workdir / "server.log")
    url = f"http://127.0.0.1:{port}"
    previous_key = os.environ.get("HORN_API_KEY")
    os.environ["HORN_API_KEY"] = api_key  # the SDK's default connection sends it
    try:
        stack.wait_healthy(url, server)
        yield Stack(url=url, env=env, logs=workdir, api_key=api_key)
    finally:
        if previous_key is None:
            os.environ.pop("HORN_API_KEY", None)
        else:
            os.environ["HORN_API_KEY"] = previous_key
        stack.stop(server)
        stack.stop(worker)
        stack.drop_database(ADMIN_URL, db_name)


@pytest.fixture()
def conn(horn_stack: Stack) -> Iterator[object]:
    """The SDK connected to the test stack (as the default connection)."""
    import horn
    connection = horn.connect(horn_stack.url, api_key=horn_stack.api_key)
    yield connection
    connection.close()
