"""The live channel's Redis channel layer: channels_redis's, with a blocking pop that neither drops idle sockets nor
outlives its consumer.

Each server process receives its consumers' messages with one blocking pop (BZPOPMIN) that Redis answers after
`brpop_timeout` seconds when nothing came, and pops again. Two things went wrong with the defaults:

- redis-py 8 reads every reply with a 5 s socket timeout, channels_redis blocks for 5 s: whenever Redis's empty
  answer came a little after the 5 s (a busy event loop is enough), the read timed out, `receive` raised
  `redis.exceptions.TimeoutError` in the consumer that was popping for the process, and its socket closed (1011; the
  page reconnected, and missed what was sent meanwhile). So the layer blocks for `brpop_timeout` (2 s) and its reads
  may wait 30 s (`socket_timeout` in console/settings.py's CHANNEL_LAYERS): an idle socket stays open however long
  it is idle, and Redis still answers at once when a message comes.
- On Python 3.11, `asyncio.wait_for` (which redis-py uses to send a command when a socket timeout is set) swallows a
  cancellation that arrives as the command finishes sending (CPython gh-86296, fixed in 3.12). channels_redis then
  pops again and again, for ever: a closed consumer's task never ends, and an event loop that cancels its tasks on
  shutdown (pytest-asyncio between tests, daphne on restart) waits for good. After an empty pop, a task that was
  asked to stop (`Task.cancelling()`) now stops: at most `brpop_timeout` late.
"""

from __future__ import annotations

import asyncio

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer

BRPOP_TIMEOUT = 2  # seconds Redis blocks an empty pop; also the longest a lost cancellation can be late


class RedisChannelLayer(BaseRedisChannelLayer):
    brpop_timeout = BRPOP_TIMEOUT

    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> bytes | None:
        member = await super()._brpop_with_clean(index, channel, timeout)
        task = asyncio.current_task()
        if member is None and task is not None and task.cancelling():
            # Cancelled while redis-py sent the pop, and the cancellation was lost (see the module's docstring).
            raise asyncio.CancelledError
        return member
