"""The transport: one `Connection` owns the HTTP pool, retries and error mapping."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from horn import errors
from horn.schemas.events import JOB_END

DEFAULT_URL = "http://127.0.0.1:8000"
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass
class Stats:
    """What this connection has sent: useful to check that data is not re-uploaded."""

    requests: int = 0
    bytes_uploaded: int = 0
    blobs_uploaded: int = 0


@dataclass
class SSEEvent:
    """One server-sent event."""

    id: int | None
    type: str
    data: dict[str, Any]


class Connection:
    """A connection to a horn server.

    Args:
        url: the server's address; defaults to `HORN_URL` or `http://127.0.0.1:8000`.
        api_key: sent as `Authorization: Bearer ...`; defaults to `HORN_API_KEY`.
        timeout: seconds to wait for a connection and for a normal response.
        max_retries: attempts for transient failures (connection errors; 408, 429,
            502, 503, 504 on idempotent requests or requests with an Idempotency-Key).
        reconnect_timeout: how long a job's event stream keeps reconnecting (server
            restarts, outages) before giving up; the job itself goes on regardless.

    Example:
        >>> import horn
        >>> conn = horn.connect("http://127.0.0.1:8000")  # doctest: +SKIP
    """

    def __init__(self, url: str | None = None, api_key: str | None = None, *,
                 timeout: float = 30.0, max_retries: int = 5,
                 reconnect_timeout: float = 300.0) -> None:
        self.url = (url or os.environ.get("HORN_URL") or DEFAULT_URL).rstrip("/")
        api_key = api_key if api_key is not None else os.environ.get("HORN_API_KEY")
        headers = {"User-Agent": "horn-sdk/0.1"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.max_retries = max_retries
        self.reconnect_timeout = reconnect_timeout
        self.stats = Stats()
        self._client = httpx.Client(
            base_url=self.url, headers=headers,
            timeout=httpx.Timeout(timeout, read=max(timeout, 300.0)),
        )
        self._closed = False

    # --- lifecycle -------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pool."""
        self._closed = True
        self._client.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<horn Connection {self.url}>"

    def headers(self) -> dict[str, str]:
        """The headers every request carries (the API key, the user agent)."""
        return dict(self._client.headers)

    def connect_timeout(self) -> float:
        """Seconds to wait for a connection."""
        return float(self._client.timeout.connect or 30.0)

    def read_timeout(self) -> float:
        """Seconds to wait for an answer (at least the server's 300 s for a call)."""
        return float(self._client.timeout.read or 300.0)

    # --- requests --------------------------------------------------------------
    def request(self, method: str, path: str, *, json_body: Any = None,
                content: bytes | Iterable[bytes] | None = None,
                params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None,
                retry: bool | None = None) -> httpx.Response:
        """Send a request, retrying transient failures; raise the mapped error."""
        if self._closed:
            raise errors.HornError("This connection is closed; create a new one with "
                                   "`horn.connect(...)`.")
        may_retry = retry if retry is not None else (
            method in _IDEMPOTENT_METHODS or bool(headers and "Idempotency-Key" in headers))
        attempt = 0
        while True:
            attempt += 1
            try:
                self.stats.requests += 1
                response = self._client.request(method, path, json=json_body,
                                                content=content, params=params,
                                                headers=headers)
            except httpx.TimeoutException as exc:
                if attempt < self.max_retries and may_retry:
                    self._sleep(attempt)
                    continue
                raise errors.Timeout(f"The horn server at {self.url} did not answer "
                                     f"{method} {path} in time: {exc}") from exc
            except httpx.TransportError as exc:
                if attempt < self.max_retries and (may_retry or _never_sent(exc)):
                    self._sleep(attempt)
                    continue
                raise errors.ConnectError(
                    f"Could not reach the horn server at {self.url} ({exc}). Is it running? "
                    "Start one with `horn up`, or set HORN_URL to its address.") from exc
            if response.status_code in RETRY_STATUSES and may_retry \
                    and attempt < self.max_retries:
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            if response.status_code >= 400:
                raise errors.api_error_for(response.status_code, _json_or_none(response))
            return response

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET and decode JSON."""
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        """POST JSON and decode JSON."""
        return self.request("POST", path, json_body=body, **kwargs).json()

    def get_bytes(self, path: str) -> bytes:
        """GET raw bytes."""
        return self.request("GET", path).content

    def events(self, job_id: str, last_event_id: int | None = None,
               deadline: float | None = None) -> Iterator[SSEEvent]:
        """Follow a job's server-sent events; reconnects and resumes (from the last
        event seen) after drops, server restarts and outages, for up to
        `reconnect_timeout` seconds without a connection.

        Raises:
            TimeoutError: when `deadline` (a `time.monotonic()` value) passes first.
            horn.errors.ConnectError: the server stayed unreachable too long (the job
                goes on running; re-attach with `horn.jobs.get(id).wait()`).
        """
        last = last_event_id
        failures = 0
        lost_since: float | None = None
        while True:
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            timeout = self._client.timeout
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"Job {job_id} did not finish in time; it goes on "
                                       "running on the server.")
                timeout = httpx.Timeout(timeout.connect, read=remaining)
            problem: Exception
            try:
                with self._client.stream("GET", f"/v1/jobs/{job_id}/events",
                                         headers=headers, timeout=timeout) as response:
                    if response.status_code >= 400:
                        response.read()
                        error = errors.api_error_for(response.status_code,
                                                     _json_or_none(response))
                        if response.status_code not in RETRY_STATUSES:
                            raise error
                        problem = error
                    else:
                        lost_since, failures = None, 0
                        for event in _parse_sse(response.iter_lines()):
                            if event.id is not None:
                                last = event.id
                            yield event
                            if event.type == JOB_END:
                                return
                        continue  # the server closed the stream: reconnect
            except httpx.ReadTimeout as exc:
                if deadline is not None and time.monotonic() >= deadline - 0.01:
                    raise TimeoutError(f"Job {job_id} did not finish in time; it goes on "
                                       "running on the server.") from exc
                problem = exc
            except httpx.TransportError as exc:
                problem = exc
            now = time.monotonic()
            lost_since = lost_since if lost_since is not None else now
            if now - lost_since > self.reconnect_timeout:
                raise errors.ConnectError(
                    f"Lost the event stream of job {job_id} from {self.url} for "
                    f"{now - lost_since:.0f} s ({problem}). The job goes on running on the "
                    f"server: re-attach with `horn.jobs.get({job_id!r}).wait()`."
                ) from problem
            failures += 1
            time.sleep(min(5.0, 0.25 * 2 ** (failures - 1)))

    @staticmethod
    def _sleep(attempt: int, retry_after: str | None = None) -> None:
        delay = min(8.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            delay = max(delay, min(30.0, float(retry_after)))
        time.sleep(delay)


def _never_sent(exc: httpx.TransportError) -> bool:
    return isinstance(exc, httpx.ConnectError)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None


def _parse_sse(lines: Iterable[str]) -> Iterator[SSEEvent]:
    event_id: int | None = None
    event_type = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield SSEEvent(event_id, event_type, json.loads("\n".join(data)))
            event_id, event_type, data = None, "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "id":
                event_id = int(value) if value.isdigit() else None
            elif field == "event":
                event_type = value
            elif field == "data":
                data.append(value)


_default: Connection | None = None
_lock = threading.Lock()


def connect(url: str | None = None, api_key: str | None = None, **kwargs: Any) -> Connection:
    """Connect to a horn server and make it the default for all models.

    Args:
        url: the server; defaults to `HORN_URL`, then `http://127.0.0.1:8000`.
        api_key: defaults to `HORN_API_KEY`.
        **kwargs: passed to `Connection` (`timeout`, `max_retries`).

    Returns:
        The new default `Connection`.
    """
    global _default
    with _lock:
        if _default is not None:
            _default.close()
        _default = Connection(url, api_key, **kwargs)
        return _default


def get_connection() -> Connection:
    """The default connection, created from the environment on first use."""
    global _default
    with _lock:
        if _default is None or _default._closed:
            _default = Connection()
        return _default
