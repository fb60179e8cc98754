"""ex06, wrong: text that is JSON but not a command is echoed as ``json.dumps()`` of it."""

import json

from variants_support import inherit

FAILS = "test_other_text_echoed_exactly"
SAYS = "odd spacing"

inherit(globals(), "ex06_echo_handler")


async def handler(websocket):
    count = 0
    async for message in websocket:
        count += 1
        if isinstance(message, bytes):
            await websocket.send(message)
            continue
        try:
            request = json.loads(message)
        except ValueError:
            await websocket.send(message)
            continue
        if isinstance(request, dict) and "type" in request:
            await websocket.send(json.dumps(command_reply(request, count)))  # noqa: F821
        else:
            await websocket.send(json.dumps(request))  # the mistake: respaced, reordered
