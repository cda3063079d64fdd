"""A small HTTP/1.1 load generator: keep-alive connections on asyncio (uvloop when
installed), each sending its next request when the last answer is in.

Deliberately minimal (no TLS, Content-Length bodies only) so that the client costs far
less CPU than the server it measures: on a 2-core machine they share the cores.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """One request to send: method, path, headers, JSON body (or none), and what to
    call with the answer's status and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    on_answer: Callable[[int, bytes], None] | None = None

    def encode(self, host: str) -> bytes:
        """The request's bytes."""
        payload = b"" if self.body is None else json.dumps(self.body).encode()
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}",
                 *(f"{k}: {v}" for k, v in self.headers.items())]
        if self.body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@dataclass
class Result:
    """What the load produced."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Answered requests per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size + 2)
            del body[-2:]
        data = bytes(body)
    else:
        data = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, data, headers.get("connection", "").lower() == "close"


async def _connection(host: str, port: int, next_request: Callable[[], Request | None],
                      stop_at: float, result: Result) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while time.perf_counter() < stop_at:
            request = next_request()
            if request is None:
                return
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            began = time.perf_counter()
            try:
                writer.write(request.encode(f"{host}:{port}"))
                status, body, close = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                result.errors += 1
                writer.close()
                reader = writer = None
                continue
            result.latencies.append(time.perf_counter() - began)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status >= 400:
                result.errors += 1
            if request.on_answer is not None:
                request.on_answer(status, body)
            if close:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def _load(host: str, port: int, sources: list[Callable[[], Request | None]],
                seconds: float) -> Result:
    result = Result(seconds=0.0)
    began = time.perf_counter()
    await asyncio.gather(*(_connection(host, port, source, began + seconds, result)
                           for source in sources))
    result.seconds = time.perf_counter() - began
    return result


def run_load(url: str, sources: list[Callable[[], Request | None]], seconds: float
             ) -> Result:
    """One connection per source; each sends the source's requests back to back until
    `seconds` pass or its source returns None."""
    host, _, port = url.removeprefix("http://").partition(":")
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_load(host, int(port), sources, seconds))
