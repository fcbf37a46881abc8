"""The live channel's Redis layer (console/core/channel_layer.py): an idle socket outlasts many empty blocking pops,
and a receive that is cancelled stops even when redis-py loses the cancellation (Python 3.11's `wait_for`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from django.db import connections

from console.core import channel_layer, live
from tests.conftest import Tenant
from tests.console.test_live import RECEIVE_TIMEOUT, receive, sentinel, watch_org

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_consumer_connections() -> AsyncIterator[None]:
    yield
    await sync_to_async(connections.close_all)()


def test_the_layer_reads_replies_well_past_its_blocking_pop() -> None:
    """redis-py's read timeout must outlast Redis's empty answer to the pop, even on a busy event loop: otherwise
    the popping consumer dies with a TimeoutError and its page reconnects (it did, every few seconds, with 5 s and 5 s).
    """
    layer = get_channel_layer()
    assert isinstance(layer, channel_layer.RedisChannelLayer)
    assert layer.brpop_timeout == channel_layer.BRPOP_TIMEOUT
    assert all(host["socket_timeout"] >= 10 * layer.brpop_timeout for host in layer.hosts)


async def test_an_idle_socket_stays_open_across_empty_pops_and_still_gets_events(tenant_a: Tenant) -> None:
    socket = await watch_org(tenant_a, "member")
    idle = 3 * channel_layer.BRPOP_TIMEOUT + 1  # three empty pops and more; the benchmark holds 50 sockets for 20 s
    assert await socket.receive_nothing(timeout=idle, interval=0.5)  # and not a close either
    await sync_to_async(sentinel)(tenant_a, "After Idling")
    assert "After Idling" in await receive(socket)
    await socket.disconnect()


async def test_a_receive_whose_cancellation_redis_py_lost_still_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """As redis-py's `wait_for` does on Python 3.11 when the cancellation arrives as the pop is sent: the
    CancelledError is swallowed and the pop goes on until Redis answers that nothing came."""

    async def pop_losing_the_cancellation(self: BaseRedisChannelLayer, index: int, channel: str, timeout: float):
        try:
            await asyncio.sleep(timeout)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # the rest of the blocking pop, then Redis's empty answer
        return None

    monkeypatch.setattr(BaseRedisChannelLayer, "_brpop_with_clean", pop_losing_the_cancellation)
    layer = channel_layer.RedisChannelLayer(hosts=get_channel_layer().hosts, prefix="lost-cancellation")
    receiving = asyncio.ensure_future(layer.receive(await layer.new_channel()))
    await asyncio.sleep(0.1)
    receiving.cancel()
    done, _pending = await asyncio.wait([receiving], timeout=RECEIVE_TIMEOUT)
    assert done and receiving.cancelled()


async def test_a_receive_with_a_message_is_not_mistaken_for_a_cancellation() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": live.EVENT, "kind": "project", "pk": "1"})
    assert (await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT))["pk"] == "1"
