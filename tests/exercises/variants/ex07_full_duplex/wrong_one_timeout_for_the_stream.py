"""ex07, wrong: one timeout around the whole stream instead of one per receive.

A silent server is noticed, but so is a healthy one whose stream simply lasts longer than
RECEIVE_TIMEOUT: the client gives up on a connection that never stopped talking.
"""

import asyncio

from websockets.asyncio.client import connect

FAILS = "test_fails_instead_of_hanging"
SAYS = "bounds each receive, not the whole stream"

RECEIVE_TIMEOUT = 10.0


async def duplex(url, outgoing, expected):
    async with connect(url, proxy=None) as websocket:

        async def send_all():
            for message in outgoing:
                await websocket.send(message)

        async def receive_all():
            async with asyncio.timeout(RECEIVE_TIMEOUT):  # the mistake: for all of them
                return [await websocket.recv() for _ in range(expected)]

        async with asyncio.TaskGroup() as group:
            group.create_task(send_all())
            receiving = group.create_task(receive_all())
    return receiving.result()
