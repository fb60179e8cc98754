"""ex09, right: a heartbeat with asyncio.timeout, a keep_alive with a connection function.

The backoff is a generator-free loop over ``rng.random()``; each successful connection gets
a new schedule; the three tasks of a connection are raced with asyncio.wait.
"""

import asyncio
import random

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException


def backoff_delays(base, factor, cap, attempts, rng):
    delays = []
    bound = base
    for _ in range(attempts):
        delays.append(rng.random() * min(cap, bound))
        bound *= factor
    return delays


async def heartbeat(websocket, ping_interval, ping_timeout):
    while True:
        await asyncio.sleep(ping_interval)
        waiter = await websocket.ping()
        try:
            async with asyncio.timeout(ping_timeout):
                await waiter
        except TimeoutError:
            return


async def one_connection(url, on_message, ping_interval, ping_timeout, stop, opened):
    """Serve one connection until it ends; call `opened()` once it is open."""
    async with connect(url, proxy=None, ping_interval=None, close_timeout=ping_timeout) as ws:
        opened()

        async def pump():
            async for message in ws:
                on_message(message)

        tasks = {
            asyncio.ensure_future(pump()),
            asyncio.ensure_future(heartbeat(ws, ping_interval, ping_timeout)),
            asyncio.ensure_future(stop.wait()),
        }
        try:
            finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
        for task in finished:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()


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
    rng = rng if rng is not None else random.Random()
    stop = stop if stop is not None else asyncio.Event()
    schedule = backoff_delays(base_delay, factor, cap, max_reconnects, rng)
    step = 0  # the next delay of the schedule

    def opened():
        nonlocal schedule, step
        schedule, step = backoff_delays(base_delay, factor, cap, max_reconnects, rng), 0

    made = 0
    while True:
        try:
            await one_connection(url, on_message, ping_interval, ping_timeout, stop, opened)
        except (OSError, TimeoutError, WebSocketException):
            pass
        if stop.is_set() or made >= max_reconnects:
            return made
        delay, step = schedule[step], step + 1
        try:
            async with asyncio.timeout(delay):
                await stop.wait()
        except TimeoutError:
            made += 1
        else:
            return made
