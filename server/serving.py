"""Several server processes, each listening on a socket of its own (Linux).

`uvicorn --workers N` binds one socket in its supervisor and hands it to every child.
The children then race to accept: whichever wakes first takes every connection that is
waiting (uvloop accepts until the queue is empty), so a burst of keep-alive clients (50
scripts polling their jobs, a dashboard's tabs) can land on one process while the others
idle, for as long as those connections live.

Here each child binds its own socket to the same address with `SO_REUSEPORT`, and the
kernel spreads new connections over the children's sockets by a hash of their
addresses. The supervision (restart of a dead or hung child, `SIGHUP`, `SIGTTIN`,
`SIGTTOU`, shutdown) stays uvicorn's: `ReusePortSockets` is the list of sockets that its
supervisor passes to every child it starts, and it becomes, in each child, one new
socket of that child's own.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
from typing import Any

APP = "horn.server.main:create_app"
GRACEFUL_SHUTDOWN_SECONDS = 5


def spreads_connections() -> bool:
    """Whether this platform's `SO_REUSEPORT` spreads connections over the sockets that
    share an address (Linux); elsewhere it gives them all to one, or does not exist."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def reuse_port_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on `host:port` that shares the address with the other
    server processes' sockets (`SO_REUSEPORT`)."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)  # not inheritable: a process that held it without
        # accepting on it would still be given a share of the connections
    except BaseException:
        sock.close()
        raise
    return sock


def _child_sockets(host: str, port: int, backlog: int) -> list[socket.socket]:
    """What a `ReusePortSockets` becomes in the child process that receives it. A child
    that cannot bind (something took the port after the supervisor's check) exits as a
    failed start, which stops the supervisor instead of restarting the child forever."""
    from uvicorn.config import STARTUP_FAILURE

    try:
        return [reuse_port_socket(host, port, backlog)]
    except OSError as exc:
        print(_cannot_listen(host, port, exc), file=sys.stderr, flush=True)
        raise SystemExit(STARTUP_FAILURE) from exc


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    return (f"horn server: cannot listen on {host}:{port}: {exc.strerror or exc}. Stop "
            "what uses the port, or choose another with --port or HORN_PORT.")


class ReusePortSockets(list[socket.socket]):
    """The sockets uvicorn's supervisor gives each child: empty in the supervisor, which
    holds no socket (a listening socket it never accepts on would be given a share of
    the connections), and one new `SO_REUSEPORT` socket in each child, bound as the
    child unpickles its arguments."""

    def __init__(self, host: str, port: int, backlog: int) -> None:
        super().__init__()
        self.host, self.port, self.backlog = host, port, backlog

    def __reduce__(self) -> tuple[Any, ...]:
        return _child_sockets, (self.host, self.port, self.backlog)


def check_free(host: str, port: int) -> None:
    """Raise `OSError` when `host:port` is taken, by another program or another horn
    server: a socket without `SO_REUSEPORT` cannot join the address of one that has
    it, so a second `horn server` on the same port fails here instead of silently
    sharing the first one's connections."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def serve(host: str, port: int, workers: int) -> None:
    """Run `workers` server processes on `host:port`, each on a socket of its own,
    under uvicorn's supervisor, until it is told to stop."""
    from uvicorn.config import STARTUP_FAILURE, Config
    from uvicorn.supervisors.multiprocess import Multiprocess

    config = Config(APP, factory=True, host=host, port=port, workers=workers,
                    log_level="warning",
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
    try:
        check_free(host, port)
    except OSError as exc:
        print(_cannot_listen(host, port, exc), file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    Multiprocess(config, sockets=ReusePortSockets(host, port, config.backlog)).run()


def main(argv: list[str] | None = None) -> int:
    """`python -m horn.server.serving --host H --port P --workers N`."""
    parser = argparse.ArgumentParser(prog="python -m horn.server.serving")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.host, args.port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
