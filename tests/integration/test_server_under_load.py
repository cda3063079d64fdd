"""The server under many concurrent requests, with few threads: every request is
answered (no request waits out the database pool's timeout), and reads on the event
loop see changes at once (a revoked key is refused on its next request)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_URL, REDIS_URL, create_key
from tests.integration import stack


@dataclass
class SmallServer:
    url: str
    env: dict[str, str]
    key: str


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallServer]:
    """A server with 2 threads (and so 2 pooled connections plus the overflow) and no
    worker."""
    import os

    workdir: Path = tmp_path_factory.mktemp("small")
    db_url, db_name = stack.create_database(ADMIN_URL)
    env = dict(os.environ, HORN_DATABASE_URL=db_url, HORN_BROKER_URL=REDIS_URL,
               HORN_QUEUE=f"horn-test-{uuid.uuid4().hex[:8]}", HORN_DATA_DIR=str(workdir),
               HORN_AUTH="keys", HORN_SERVER_THREADS="2",
               HORN_RATE_LIMIT_PER_SECOND="0", PYTHONUNBUFFERED="1")
    env.pop("HORN_API_KEY", None)
    py = stack.python()
    subprocess.run([py, "-m", "horn.cli", "db", "upgrade"], env=env, check=True,
                   cwd=stack.ROOT)
    key = create_key(env, "crowd", admin=False)
    port = stack.free_port()
    server = stack.spawn_server(env, port, workdir / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        stack.wait_healthy(url, server)
        yield SmallServer(url, env, key)
    finally:
        stack.stop(server)
        stack.drop_database(ADMIN_URL, db_name)


async def _crowd(url: str, key: str, paths: list[str]) -> Counter[int]:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=len(paths))
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=25,
                                 limits=limits) as http:
        answers = await asyncio.gather(*(http.get(p) for p in paths))
    return Counter(a.status_code for a in answers)


def test_sixty_concurrent_requests_on_two_threads_are_all_answered(
        small_server: SmallServer) -> None:
    # Plain `def` routes holding a session (health, job list) and loop reads (a job).
    paths = ["/healthz", "/v1/jobs", f"/v1/jobs/{uuid.uuid4().hex}"] * 20
    answers = asyncio.run(_crowd(small_server.url, small_server.key, paths))
    assert answers == Counter({200: 40, 404: 20}), answers


def test_a_revoked_key_is_refused_on_its_next_request(small_server: SmallServer) -> None:
    key = create_key(small_server.env, "leaver", admin=False)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=small_server.url, headers=headers, timeout=10) as http:
        assert http.get("/v1/jobs").status_code == 200
        prefix = key.split("_")[1]
        subprocess.run([stack.python(), "-m", "horn.cli", "keys", "revoke", prefix],
                       env=small_server.env, check=True, cwd=stack.ROOT,
                       capture_output=True)
        refused = http.get(f"/v1/jobs/{uuid.uuid4().hex}")
        assert refused.status_code == 401
        assert "unknown, malformed or revoked" in refused.json()["error"]["message"]
