"""Event-stream wake-ups: one Redis subscription per server process for every stream.

A client waiting on a job (`fit`, `predict`, the dashboard's job page) holds an event
stream open; the worker publishes a notice on the job's channel after each write
(`horn.server.store.relay.EventNotifier`), so the stream reads the new events at once
instead of at its next poll of the database.

A process shares one subscriber connection among all its streams (rather than a
connection per waited-on job, which Redis's `maxclients` would cap): a channel is
subscribed while at least one stream watches it, and one reader task hands each notice
to the streams of its channel.

A notice is only a hint: a stream still reads the database every `RECHECK` seconds, and
at its poll interval while Redis is away. When the connection drops, every stream is
woken (to read what it may have missed) and the hub reconnects in the background,
subscribing again to every channel still watched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

log = logging.getLogger(__name__)

CLIENT_NAME = "horn-server-events"
"""How the hub's connection is named in Redis's `CLIENT LIST`."""

CONFIRM_TIMEOUT = 2.0
"""Seconds a new stream waits for Redis to confirm its channel's subscription; past
that it polls until the confirmation comes."""

RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Seconds between reconnection attempts while Redis is away (the last one repeats)."""

IDLE_PING = 30.0
"""Seconds without traffic after which the reader pings, to find a dead connection."""

CLOSE_TIMEOUT = 2.0
"""Seconds `close()` waits for the reader and writer tasks to end."""


class Watch:
    """One stream's view of its job's channel: `wait()` returns when a notice came or
    the time ran out. Notices that arrive between two waits are not lost: the next
    wait returns at once."""

    def __init__(self, hub: EventWakeups, channel: str) -> None:
        self.hub = hub
        self.channel = channel
        self._notice = asyncio.Event()

    @property
    def live(self) -> bool:
        """Whether notices for this channel are being delivered now (Redis up and the
        subscription confirmed)."""
        return self.hub.is_live(self.channel)

    def wake(self) -> None:
        """Mark a notice (called by the hub)."""
        self._notice.set()

    async def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a notice; whether one came."""
        if not self._notice.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._notice.wait(), timeout)
        woken = self._notice.is_set()
        self._notice.clear()
        return woken

    async def close(self) -> None:
        """Stop watching (the channel is unsubscribed when no stream watches it)."""
        self.hub.unwatch(self)


class EventWakeups:
    """The process's subscriber: `watch(channel)` for each stream, `close()` at shutdown.

    Args:
        url: the Redis address (the broker's).

    Bound to the event loop it was first used on (as every asyncio Redis client is).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._watches: dict[str, set[Watch]] = {}
        self._confirmed: set[str] = set()
        self._sent: Counter[str] = Counter()  # SUBSCRIBEs sent, per channel
        self._answered: Counter[str] = Counter()  # and confirmed
        self._changed = asyncio.Event()  # a confirmation came, or the connection changed
        self._redis: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._connected = False
        self._down = False  # the last attempt to reach Redis failed
        self._resubscribed: set[str] = set()  # channels subscribed again on a new connection
        self._closed = False

    # --- streams ---------------------------------------------------------------
    async def watch(self, channel: str) -> Watch:
        """Watch `channel`, subscribed before this returns where Redis answers within
        `CONFIRM_TIMEOUT` (so that no notice published afterwards is missed)."""
        watch = Watch(self, channel)
        watches = self._watches.setdefault(channel, set())
        watches.add(watch)
        self._start()
        if len(watches) == 1 and self._connected:
            self._outbox.put_nowait(("subscribe", channel))
        try:
            await self._await_confirmed(channel)
        except BaseException:  # the stream was cancelled (its client left) meanwhile
            self.unwatch(watch)
            raise
        return watch

    def unwatch(self, watch: Watch) -> None:
        """Forget `watch`; unsubscribe its channel when it was the last."""
        watches = self._watches.get(watch.channel)
        if watches is None or watch not in watches:
            return
        watches.discard(watch)
        if watches:
            return
        del self._watches[watch.channel]
        self._confirmed.discard(watch.channel)
        self._resubscribed.discard(watch.channel)
        if self._connected:
            self._outbox.put_nowait(("unsubscribe", watch.channel))

    def is_live(self, channel: str) -> bool:
        """Whether notices on `channel` reach its watches now."""
        return self._connected and channel in self._confirmed

    @property
    def watched(self) -> int:
        """How many channels are watched now."""
        return len(self._watches)

    async def close(self) -> None:
        """Stop the reader and close the connection."""
        self._closed = True
        self._outbox.put_nowait(("stop", ""))
        tasks = {task for task in (self._reader, self._writer) if task is not None}
        for task in tasks:
            task.cancel()
        if tasks:  # redis-py may swallow a cancellation inside a command: do not hang
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        await self._disconnect()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None
        for watches in self._watches.values():
            for watch in watches:
                watch.wake()

    # --- the connection --------------------------------------------------------
    def _start(self) -> None:
        if self._reader is None and not self._closed:
            loop = asyncio.get_running_loop()
            self._reader = loop.create_task(self._run(), name="horn-event-wakeups")
            self._writer = loop.create_task(self._write(), name="horn-event-subscriptions")

    async def _await_confirmed(self, channel: str) -> None:
        """Wait for the channel's subscription, unless Redis is known to be away (the
        stream then polls at once)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONFIRM_TIMEOUT
        while channel not in self._confirmed and not self._closed and not self._down:
            left = deadline - loop.time()
            if left <= 0:
                return
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def _write(self) -> None:
        """Send the subscriptions' changes, in the order they were made, from this one
        task: a stream cancelled meanwhile (its client left) cannot leave a command
        half sent, and streams never write to the connection at the same time."""
        while not self._closed:
            changes = [await self._outbox.get()]
            while not self._outbox.empty():
                changes.append(self._outbox.get_nowait())
            if any(kind == "stop" for kind, _ in changes):
                return
            runs: list[tuple[str, list[str]]] = []  # consecutive changes of one kind
            for kind, channel in changes:
                if runs and runs[-1][0] == kind:
                    runs[-1][1].append(channel)
                else:
                    runs.append((kind, [channel]))
            for kind, channels in runs:
                if not self._connected:
                    continue  # a new connection subscribes every watched channel
                if kind == "subscribe":
                    for channel in channels:
                        self._sent[channel] += 1
                try:
                    await getattr(self._pubsub, kind)(*channels)
                except Exception as exc:  # noqa: BLE001 - the reader finds the dead connection
                    log.debug("%s failed: %s", kind, exc)

    async def _connect(self) -> None:
        import redis.asyncio

        if self._redis is None:
            self._redis = redis.asyncio.Redis.from_url(
                self.url, socket_connect_timeout=5, socket_keepalive=True,
                client_name=CLIENT_NAME)
        pubsub = self._redis.pubsub()
        await pubsub.connect()
        self._pubsub = pubsub
        self._sent.clear()
        self._answered.clear()
        self._connected = True
        self._resubscribed = set(self._watches)
        for channel in self._watches:
            self._outbox.put_nowait(("subscribe", channel))

    async def _disconnect(self) -> None:
        was_connected, self._connected = self._connected, False
        self._confirmed.clear()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        if was_connected:  # what was published meanwhile is in the database
            for watches in self._watches.values():
                for watch in watches:
                    watch.wake()
        self._changed.set()

    async def _run(self) -> None:
        failures = 0
        while not self._closed:
            try:
                if not self._connected:
                    await self._connect()
                    self._down = False
                    if failures:
                        log.info("event wake-ups: Redis reachable again")
                    failures = 0
                    self._changed.set()
                message = await self._pubsub.get_message(timeout=IDLE_PING)
                if message is None:
                    await self._pubsub.ping()
                else:
                    self._handle(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: poll, then reconnect
                self._down = True
                if failures == 0:
                    log.warning("event wake-ups: Redis unreachable (%s); event streams "
                                "poll the database until it is back", exc)
                await self._disconnect()
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                await asyncio.sleep(delay)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        if isinstance(channel, bytes):
            channel = channel.decode()
        if kind == "message" and channel is not None:
            for watch in self._watches.get(channel, ()):
                watch.wake()
        elif kind == "subscribe" and channel is not None:
            self._answered[channel] += 1
            # Only the answer to the last SUBSCRIBE sent counts: an earlier one may
            # precede an UNSUBSCRIBE that Redis has not carried out yet.
            if self._answered[channel] >= self._sent[channel] and channel in self._watches:
                self._confirmed.add(channel)
                self._changed.set()
                if channel in self._resubscribed:  # a notice may have come in between
                    self._resubscribed.discard(channel)
                    for watch in self._watches[channel]:
                        watch.wake()
        elif (kind == "unsubscribe" and channel is not None and channel not in self._watches
              and self._answered[channel] >= self._sent[channel]):
            self._sent.pop(channel, None)  # nothing pending: forget the channel
            self._answered.pop(channel, None)
