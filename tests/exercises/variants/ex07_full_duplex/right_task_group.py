"""ex07, right: asyncio.TaskGroup, and a deadline for each receive with asyncio.timeout.

TaskGroup cancels the other task when one fails and raises an ExceptionGroup, which the
tests accept; the received messages are returned by the receiving task itself.
"""

import asyncio

from websockets.asyncio.client import connect

RECEIVE_TIMEOUT = 10.0


async def duplex(url, outgoing, expected):
    async with connect(url, proxy=None) as websocket:

        async def send_everything():
            for message in outgoing:
                await websocket.send(message)

        async def receive_enough():
            messages = []
            for _ in range(expected):
                async with asyncio.timeout(RECEIVE_TIMEOUT):  # one deadline per message
                    messages.append(await websocket.recv())
            return messages

        async with asyncio.TaskGroup() as group:
            group.create_task(send_everything())
            receiving = group.create_task(receive_enough())
    return receiving.result()
