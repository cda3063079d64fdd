"""`horn server` with several processes (`HORN_SERVER_WORKERS`): each process listens on
a socket of its own, so that a burst of keep-alive clients is spread over them instead
of landing on whichever process woke first; a process that dies is replaced; a second
server on the same port is refused."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_URL, REDIS_URL, create_key
from tests.integration import stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="SO_REUSEPORT spreads connections on Linux only"),
]

PROCESSES = 2


@dataclass
class MultiServer:
    url: str
    port: int
    env: dict[str, str]
    key: str
    proc: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def multi_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MultiServer]:
    """`horn server` with two processes on a fresh database, no worker."""
    workdir: Path = tmp_path_factory.mktemp("multi")
    db_url, db_name = stack.create_database(ADMIN_URL)
    port = stack.free_port()
    env = dict(os.environ, HORN_DATABASE_URL=db_url, HORN_BROKER_URL=REDIS_URL,
               HORN_QUEUE=f"horn-test-{uuid.uuid4().hex[:8]}", HORN_DATA_DIR=str(workdir),
               HORN_AUTH="keys", HORN_RATE_LIMIT_PER_SECOND="0", HORN_HOST="127.0.0.1",
               HORN_PORT=str(port), HORN_SERVER_WORKERS=str(PROCESSES),
               PYTHONUNBUFFERED="1")
    env.pop("HORN_API_KEY", None)
    py = stack.python()
    subprocess.run([py, "-m", "horn.cli", "db", "upgrade"], env=env, check=True,
                   cwd=stack.ROOT)
    key = create_key(env, "crowd", admin=False)
    server = stack.spawn([py, "-m", "horn.cli", "server"], env, workdir / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        stack.wait_healthy(url, server)
        _wait_for_listeners(server.pid, port, PROCESSES)
        yield MultiServer(url, port, env, key, server)
    finally:
        stack.stop(server)
        stack.drop_database(ADMIN_URL, db_name)


# --- which process holds which socket, from /proc ------------------------------------

def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children += [int(c) for c in text]
    return children


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    except FileNotFoundError:
        pass
    return inodes


def _tcp_sockets(port: int) -> dict[str, str]:
    """inode -> state ('0A' listening, '01' established) of TCP sockets whose local
    port is `port`."""
    found: dict[str, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port:
                found[fields[9]] = fields[3]
    return found


def _holdings(server_pid: int, port: int) -> dict[int, tuple[int, int]]:
    """For each child of the server: (listening sockets, established connections) on
    `port`."""
    tcp = _tcp_sockets(port)
    held: dict[int, tuple[int, int]] = {}
    for child in _children(server_pid):
        states = [tcp[i] for i in _socket_inodes(child) if i in tcp]
        if states:
            held[child] = (states.count("0A"), states.count("01"))
    return held


def _wait_for_listeners(server_pid: int, port: int, count: int, gone: int | None = None,
                        timeout: float = 60.0) -> dict[int, tuple[int, int]]:
    """The holdings once `count` children listen (and `gone`, a killed one, is not
    among them)."""
    deadline = time.monotonic() + timeout
    while True:
        held = _holdings(server_pid, port)
        listening = sum(1 for listens, _ in held.values() if listens)
        if listening == count and gone not in held:
            return held
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} listening processes, found {held}")
        time.sleep(0.2)


# --- tests ---------------------------------------------------------------------------

def test_each_process_listens_on_a_socket_of_its_own(multi_server: MultiServer) -> None:
    held = _holdings(multi_server.proc.pid, multi_server.port)
    assert sorted(listening for listening, _ in held.values()) == [1] * PROCESSES, held
    # The supervisor holds none: a socket nobody accepts on would be given connections.
    tcp = _tcp_sockets(multi_server.port)
    assert not [i for i in _socket_inodes(multi_server.proc.pid) if i in tcp]


def test_a_burst_of_keep_alive_clients_is_spread_over_the_processes(
        multi_server: MultiServer) -> None:
    clients = 40

    async def burst() -> dict[int, tuple[int, int]]:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        headers = {"Authorization": f"Bearer {multi_server.key}"}
        async with httpx.AsyncClient(base_url=multi_server.url, headers=headers,
                                     limits=limits, timeout=30) as http:
            answers = await asyncio.gather(*(http.get(f"/v1/jobs/{uuid.uuid4().hex}")
                                             for _ in range(clients)))
            assert {a.status_code for a in answers} == {404}
            # The connections are still open (keep-alive): who holds them?
            return _holdings(multi_server.proc.pid, multi_server.port)

    held = asyncio.run(burst())
    connections = sorted(established for _, established in held.values())
    assert sum(connections) == clients, held
    # The kernel hashes each connection to one of the sockets: at least 5 of 40 on
    # each of two (a binomial's tail, ~1e-7). One shared socket gives most bursts to one
    # process.
    assert len(connections) == PROCESSES and connections[0] >= 5, held


def test_a_process_that_dies_is_replaced_with_its_own_socket(
        multi_server: MultiServer) -> None:
    before = _holdings(multi_server.proc.pid, multi_server.port)
    victim = next(iter(before))
    os.kill(victim, signal.SIGKILL)
    held = _wait_for_listeners(multi_server.proc.pid, multi_server.port, PROCESSES,
                               gone=victim)
    assert sorted(listening for listening, _ in held.values()) == [1] * PROCESSES, held
    headers = {"Authorization": f"Bearer {multi_server.key}"}
    for _ in range(10):  # new connections, spread over both processes again
        with httpx.Client(base_url=multi_server.url, headers=headers, timeout=10) as http:
            assert http.get("/v1/jobs").status_code == 200


def test_a_second_server_on_the_same_port_is_refused(multi_server: MultiServer) -> None:
    second = subprocess.run([stack.python(), "-m", "horn.cli", "server"],
                            env=multi_server.env, cwd=stack.ROOT, capture_output=True,
                            text=True, timeout=60)
    assert second.returncode != 0
    assert f"cannot listen on 127.0.0.1:{multi_server.port}" in second.stderr
    assert "HORN_PORT" in second.stderr
    # The first one still answers.
    assert httpx.get(f"{multi_server.url}/healthz", timeout=10).status_code == 200
