"""`horn.server.serving`: the sockets each server process binds for itself, and the command
`horn server` runs."""

from __future__ import annotations

import pickle
import socket
import sys

import pytest

from horn.cli import server as cli
from horn.server import serving

linux_only = pytest.mark.skipif(not serving.spreads_connections(),
                                reason="SO_REUSEPORT spreads connections on Linux only")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@linux_only
def test_the_sockets_list_is_empty_here_and_one_new_socket_where_it_is_unpickled() -> None:
    port = _free_port()
    listeners = serving.ReusePortSockets("127.0.0.1", port, 16)
    assert list(listeners) == []  # the supervisor holds no socket
    first = pickle.loads(pickle.dumps(listeners))
    second = pickle.loads(pickle.dumps(listeners))
    try:
        for received in (first, second):
            assert len(received) == 1
            sock = received[0]
            assert sock.getsockname() == ("127.0.0.1", port)
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
            assert not sock.get_inheritable()
        assert first[0].fileno() != second[0].fileno()
        # Anything else that wants the port is refused while they listen.
        with pytest.raises(OSError):
            serving.check_free("127.0.0.1", port)
    finally:
        for sock in first + second:
            sock.close()
    serving.check_free("127.0.0.1", port)  # free again


def test_the_server_command() -> None:
    single = cli._server_command("127.0.0.1", 8000, 1)
    assert single[1:4] == ["-m", "uvicorn", serving.APP] and "--workers" not in single
    several = cli._server_command("127.0.0.1", 8000, 3)
    if serving.spreads_connections():
        assert several[1:] == ["-m", "horn.server.serving", "--host", "127.0.0.1", "--port",
                               "8000", "--workers", "3"]
    else:
        assert several[1:3] == ["-m", "uvicorn"] and several[-2:] == ["--workers", "3"]
    assert several[0] == sys.executable


@linux_only
def test_a_child_that_cannot_bind_exits_as_a_failed_start(
        capsys: pytest.CaptureFixture[str]) -> None:
    from uvicorn.config import STARTUP_FAILURE

    with socket.socket() as taken:  # a plain listener: no SO_REUSEPORT to share with
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = int(taken.getsockname()[1])
        listeners = serving.ReusePortSockets("127.0.0.1", port, 16)
        with pytest.raises(SystemExit) as exited:
            pickle.loads(pickle.dumps(listeners))
    assert exited.value.code == STARTUP_FAILURE  # uvicorn's supervisor then stops
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
