"""A session's websocket: the fast way for a `train_on_batch` loop's calls.

Each call is one binary message each way (`/v1/jobs/{id}/calls/stream`): a frame of a
4-byte big-endian header length, a JSON header (`{"op", "args"}` going, the answer
coming back) and raw bytes (the batch's `.npz` going, the outputs' `.npz` coming back).
Against a POST per call this saves the HTTP request on both sides, the server's
per-request work (dependencies, the key's read, the response model) and the base64 and
JSON of the outputs.

Where the websocket cannot be opened (a proxy that does not pass it on, a refused
handshake) the calls go by POST, which also says why a handshake was refused.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from horn import errors
from horn._http import Connection
from horn.schemas import frames

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""Largest batch sent over the websocket; larger ones go by POST (servers bound the
size of a websocket message, uvicorn at 16 MiB by default)."""


class Closed(Exception):
    """The websocket closed before the call was sent: it may be sent again."""


class CallStream:
    """One open websocket to a session (see the module's docstring)."""

    def __init__(self, socket: Any, timeout: float) -> None:
        self._socket = socket
        self._timeout = timeout
        self._lock = threading.Lock()
        """One call at a time: answers come back in order, so a thread must receive
        the answer to what it sent (a model may predict from several threads)."""

    @classmethod
    def open(cls, conn: Connection, job_id: str) -> CallStream | None:
        """Open the session's websocket; None when it cannot be opened (use POST)."""
        try:
            from websockets.exceptions import WebSocketException
            from websockets.sync.client import connect
        except ImportError:  # an SDK installed without it still works, by POST
            return None
        url = "ws" + conn.url[len("http"):] + f"/v1/jobs/{job_id}/calls/stream"
        headers = {k: v for k, v in conn.headers().items() if k.lower() == "authorization"}
        try:
            socket = connect(url, additional_headers=headers, user_agent_header="horn-sdk/0.1",
                             open_timeout=conn.connect_timeout(), compression=None,
                             max_size=None, close_timeout=1)
            # A connection used directly, not in a `with` block, is what this object
            # is for; entering it says so (websockets >= 17.1 warns otherwise).
            socket.__enter__()
        except (WebSocketException, OSError, TimeoutError):
            return None
        return cls(socket, conn.read_timeout())

    def call(self, op: str, args: dict[str, Any], payload: bytes
             ) -> tuple[dict[str, Any], bytes]:
        """Send one call, wait for its answer; returns the answer's header and bytes.

        Raises:
            Closed: the websocket was closed before the call went out (send it again).
            horn.errors.APIError: the server refused the call (as the POST would).
            horn.errors.ConnectError: the connection was lost while the call ran.
        """
        with self._lock:
            return self._call(op, args, payload)

    def _call(self, op: str, args: dict[str, Any], payload: bytes
              ) -> tuple[dict[str, Any], bytes]:
        from websockets.exceptions import ConnectionClosed

        try:
            self._socket.send(frames.pack({"op": op, "args": args}, payload))
        except ConnectionClosed as exc:
            raise Closed(str(exc)) from exc
        try:
            answer = self._socket.recv(timeout=self._timeout)
        except ConnectionClosed as exc:
            raise errors.ConnectError(
                f"The connection to the horn server was lost while it ran a `{op}` call "
                f"({exc}); the call may or may not have run on the worker. Calling it "
                "again opens a new connection.") from exc
        except TimeoutError as exc:
            self.close()
            raise errors.Timeout(f"The horn server did not answer a `{op}` call in "
                                 f"{self._timeout:.0f} s: the session's worker may be busy "
                                 "or lost. Calling it again opens a new connection.") from exc
        if isinstance(answer, str):
            answer = answer.encode()
        try:
            header, output = frames.unpack(answer)
        except ValueError as exc:
            raise errors.ServerError(f"The server sent an answer that is not a frame on the "
                                     f"session's websocket ({exc}).", status_code=502) from exc
        if header.get("status") == "error":
            raise errors.api_error_for(int(header.get("http_status") or 502),
                                       {"error": header.get("error")})
        return header, output

    def close(self) -> None:
        """Close the websocket."""
        with contextlib.suppress(Exception):
            self._socket.close()
