"""ex09, wrong: a heartbeat that pings again as soon as the pong is back.

It detects a dead peer all right, but against a live one it sends thousands of pings a
second: `ping_interval` is never waited.
"""

import asyncio

from variants_support import inherit

inherit(globals(), "ex09_heartbeat")

FAILS = "test_pings_a_healthy_server_and_stops_cleanly"
SAYS = "wait ping_interval between two pings"


async def heartbeat(websocket, ping_interval, ping_timeout):
    while True:
        pong = await websocket.ping()
        try:
            await asyncio.wait_for(pong, ping_timeout)
        except TimeoutError:
            return
