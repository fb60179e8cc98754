"""ex06, wrong: ``while True: await websocket.recv()``, and the client's close escapes.

When the client closes, ``recv()`` raises ConnectionClosedOK, which leaves the handler:
websockets logs it as an error, though nothing went wrong.
"""

import json

from variants_support import inherit

FAILS = "test_clean_close"
SAYS = "ConnectionClosedOK"

inherit(globals(), "ex06_echo_handler")


async def handler(websocket):
    count = 0
    while True:
        message = await websocket.recv()  # the mistake: raises once the client has closed
        count += 1
        reply = message
        if isinstance(message, str):
            try:
                request = json.loads(message)
            except ValueError:
                request = None
            if isinstance(request, dict) and "type" in request:
                reply = json.dumps(command_reply(request, count))  # noqa: F821
        await websocket.send(reply)
