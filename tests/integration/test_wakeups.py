"""`horn.server.wakeups.EventWakeups` against the real Redis: one connection carries every
stream's channel, a notice wakes the streams of its channel only, a channel is
unsubscribed when its last stream leaves, and a dropped connection wakes every stream
and is replaced, with its channels subscribed again."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis

from horn.server.wakeups import CLIENT_NAME, CONFIRM_TIMEOUT, EventWakeups
from tests.conftest import REDIS_URL


def _channel() -> str:
    return f"horn:test:events:{uuid.uuid4().hex}"


def _run(test: Callable[[EventWakeups, redis.Redis], Awaitable[Any]]) -> Any:
    admin = redis.Redis.from_url(REDIS_URL)

    async def main() -> Any:
        hub = EventWakeups(REDIS_URL)
        try:
            return await test(hub, admin)
        finally:
            await hub.close()

    try:
        return asyncio.run(main())
    finally:
        admin.close()


def _subscribers(admin: redis.Redis, channel: str) -> int:
    return int(dict(admin.pubsub_numsub(channel))[channel.encode()])


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def test_a_notice_wakes_the_streams_of_its_channel_only() -> None:
    async def test(hub: EventWakeups, admin: redis.Redis) -> tuple[bool, bool, bool]:
        mine, other = _channel(), _channel()
        first, second = await hub.watch(mine), await hub.watch(mine)
        bystander = await hub.watch(other)
        assert first.live and bystander.live  # subscribed before watch() returned
        admin.publish(mine, b"1")
        woken = await first.wait(5), await second.wait(5)
        return (*woken, await bystander.wait(0.3))

    assert _run(test) == (True, True, False)


def test_a_notice_between_two_waits_is_not_lost() -> None:
    async def test(hub: EventWakeups, admin: redis.Redis) -> list[bool]:
        watch = await hub.watch(channel := _channel())
        admin.publish(channel, b"1")
        await asyncio.sleep(0.2)  # the notice arrives while nobody waits
        return [await watch.wait(5), await watch.wait(0.2)]

    assert _run(test) == [True, False]


def test_streams_share_one_connection_and_the_last_to_leave_unsubscribes() -> None:
    async def test(hub: EventWakeups, admin: redis.Redis) -> None:
        channels = [_channel() for _ in range(20)]
        watches = await asyncio.gather(*(hub.watch(c) for c in channels))  # all at once
        assert all(w.live for w in watches)
        extra = await hub.watch(channels[0])  # a second stream on one job
        named = [c for c in admin.client_list() if c["name"] == CLIENT_NAME]
        assert any(int(c["sub"]) >= 20 for c in named)
        assert [_subscribers(admin, c) for c in channels] == [1] * 20
        for watch in watches:
            await watch.close()
        # The channel another stream still watches stays subscribed; the rest do not.
        await _until(lambda: sum(_subscribers(admin, c) for c in channels) == 1)
        assert _subscribers(admin, channels[0]) == 1
        await extra.close()
        await _until(lambda: _subscribers(admin, channels[0]) == 0)
        assert hub.watched == 0

    _run(test)


def test_a_dropped_connection_wakes_every_stream_and_is_replaced() -> None:
    async def test(hub: EventWakeups, admin: redis.Redis) -> tuple[bool, bool]:
        channels = [_channel(), _channel()]
        watches = [await hub.watch(c) for c in channels]
        host, port = hub._pubsub.connection._writer.get_extra_info("sockname")[:2]
        assert admin.client_kill_filter(_id=None, addr=f"{host}:{port}") == 1
        # Woken to read what was published while the connection was away ...
        assert [await w.wait(5) for w in watches] == [True, True]
        # ... and subscribed again on a new connection, woken once more when that is
        # done (a notice may have come between their last read and the subscription).
        await _until(lambda: all(w.live for w in watches))
        assert [_subscribers(admin, c) for c in channels] == [1, 1]
        assert [await w.wait(5) for w in watches] == [True, True]
        admin.publish(channels[1], b"1")
        return await watches[1].wait(5), await watches[0].wait(0.3)

    assert _run(test) == (True, False)


def test_without_redis_a_stream_is_not_held_up() -> None:
    async def main() -> tuple[float, bool, bool]:
        hub = EventWakeups("redis://127.0.0.1:1/0")
        began = time.monotonic()
        watch = await hub.watch(_channel())
        took = time.monotonic() - began
        woken = await watch.wait(0.1)
        await hub.close()
        return took, watch.live, woken

    took, live, woken = asyncio.run(main())
    # The refused connection tells at once: the stream does not sit out the wait for a
    # confirmation, it reads the database and polls.
    assert took < CONFIRM_TIMEOUT / 2 and not live and not woken


def test_a_stream_cancelled_while_subscribing_leaves_nothing_behind() -> None:
    async def test(hub: EventWakeups, admin: redis.Redis) -> None:
        await hub.watch(_channel())  # connected
        channel = _channel()
        pending = asyncio.ensure_future(hub.watch(channel))
        await asyncio.sleep(0)  # the SUBSCRIBE is on its way; the client leaves
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
        assert hub.watched == 1
        await _until(lambda: _subscribers(admin, channel) == 0)

    _run(test)
