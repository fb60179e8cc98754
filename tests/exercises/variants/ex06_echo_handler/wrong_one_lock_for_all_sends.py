"""ex06, wrong: one lock around every send, "so that replies never interleave".

websockets already sends each message whole; the lock only makes every connection wait
while one send waits for a client that stopped reading.
"""

from variants_support import inherit

FAILS = "test_a_client_that_stops_reading_delays_only_itself"
SAYS = "a client that stops reading made another wait"

inherit(
    globals(),
    "ex06_echo_handler",
    ("import json\n", "import asyncio\nimport json\n\nSENDING = asyncio.Lock()\n"),
    (
        "        await websocket.send(reply)",
        "        async with SENDING:  # the mistake: shared by every connection\n"
        "            await websocket.send(reply)",
    ),
)
