"""ex09, wrong: one backoff schedule for the whole life of the client.

After a connection that worked, the next reconnection waits the next delay of the old
schedule instead of the first delay of a new one: a client that reconnected a few times
over a day waits the cap after every blip.
"""

import asyncio
import random

from variants_support import inherit
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

inherit(globals(), "ex09_heartbeat")

FAILS = "test_reconnects_when_the_server_hangs_up"
SAYS = "starts over"


async def keep_alive(
    url,
    on_message,
    *,
    ping_interval,
    ping_timeout,
    max_reconnects,
    base_delay,
    cap,
    factor=2.0,
    rng=None,
    stop=None,
):
    rng = rng or random.Random()
    stop = stop or asyncio.Event()
    delays = backoff_delays(base_delay, factor, cap, max_reconnects, rng)  # noqa: F821
    reconnects = 0
    while True:
        try:
            async with connect(
                url, proxy=None, ping_interval=None, close_timeout=ping_timeout
            ) as ws:
                receiving = asyncio.create_task(receive(ws, on_message))
                beating = asyncio.create_task(heartbeat(ws, ping_interval, ping_timeout))  # noqa: F821
                stopping = asyncio.create_task(stop.wait())
                tasks = {receiving, beating, stopping}
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        except (OSError, TimeoutError, WebSocketException):
            pass
        if stop.is_set() or reconnects == max_reconnects:
            return reconnects
        try:
            await asyncio.wait_for(stop.wait(), delays[reconnects])  # the mistake: never reset
            return reconnects
        except TimeoutError:
            reconnects += 1


async def receive(websocket, on_message):
    async for message in websocket:
        on_message(message)
