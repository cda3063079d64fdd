"""Browser fixtures: a real server and worker (PostgreSQL, Redis) with `HORN_AUTH=keys`,
three accounts, and Debian's headless Chromium driven by Playwright.

Playwright's own browser downloads are never used: `make test` installs Debian's
`chromium` (scripts/ensure-browser.sh) and the tests launch `/usr/bin/chromium`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from horn.schemas.queues import expand_queues
from tests.integration import stack

ADMIN_URL = os.environ.get("HORN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HORN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("HORN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class Account:
    """A user of the test stack and their API key."""

    name: str
    key: str
    is_admin: bool


@dataclass
class DashboardStack:
    """The running server and worker, and the accounts on it."""

    url: str
    queue: str
    env: dict[str, str]
    logs: Path
    users: dict[str, Account]


def _create_accounts(db_url: str) -> dict[str, Account]:
    from horn.server.store.db import make_engine, transaction
    from horn.server.store.users import create_key, ensure_user

    engine = make_engine(db_url)
    accounts = {}
    try:
        with transaction(engine) as session:
            for name, admin in (("alice", False), ("bob", False), ("root", True)):
                ensure_user(session, name, is_admin=admin)
                _, raw = create_key(session, name)
                accounts[name] = Account(name, raw, admin)
    finally:
        engine.dispose()
    return accounts


@pytest.fixture(scope="package")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardStack]:
    """uvicorn + a Celery worker with authentication on, for the browser tests."""
    workdir = tmp_path_factory.mktemp("dashboard")
    db_url, db_name = stack.create_database(ADMIN_URL)
    port = stack.free_port()
    queue = f"horn-dash-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ,
               HORN_DATABASE_URL=db_url, HORN_BROKER_URL=REDIS_URL, HORN_QUEUE=queue,
               HORN_DATA_DIR=str(workdir), HORN_BLOB_DIR=str(workdir / "blobs"),
               HORN_AUTH="keys", HORN_SECRET_KEY=secrets.token_urlsafe(32),
               HORN_PROGRESS_INTERVAL="0.1", PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("HORN_API_KEY", None)
    py = stack.python()
    subprocess.run([py, "-m", "horn.cli", "db", "upgrade"], env=env, check=True,
                   cwd=stack.ROOT)
    users = _create_accounts(db_url)
    # A node name of its own: other stacks' `horn@host` workers may share this Redis.
    queues = ",".join(expand_queues([queue]))
    worker = stack.spawn([py, "-m", "celery", "-A", "horn.worker.app", "worker", "--hostname",
                          f"{queue}@%h", "--pool", "prefork", "--concurrency", "1",
                          "-Q", queues, "--without-mingle", "--without-gossip",
                          "--loglevel", "INFO"], env, workdir / "worker.log")
    server = stack.spawn_server(env, port, workdir / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        stack.wait_healthy(url, server)
        yield DashboardStack(url=url, queue=queue, env=env, logs=workdir, users=users)
    finally:
        stack.stop(server)
        stack.stop(worker)
        stack.drop_database(ADMIN_URL, db_name)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (never `playwright install`).

    Package-scoped: Playwright's synchronous API runs an event loop in this thread
    while it is open, which later tests' `asyncio.run` must not find."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-browser.sh "
                    "(apt-get install chromium), which `make test` does.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def screenshots(tmp_path: Path) -> Path:
    """Where a test saves its screenshots: `HORN_SCREENSHOT_DIR` (to refresh `docs/`),
    else the test's temporary directory."""
    folder = Path(os.environ.get("HORN_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
