"""ex07, wrong: one timeout around the whole exchange instead of one per receive.

A silent server is noticed, but so is a healthy one whose stream simply lasts longer than
RECEIVE_TIMEOUT: the client gives up on a connection that never stopped talking.
"""

from variants_support import inherit

FAILS = "test_fails_instead_of_hanging"
SAYS = "bounds each receive, not the whole stream"

inherit(
    globals(),
    "ex07_full_duplex",
    (
        "message = await asyncio.wait_for(websocket.recv(), RECEIVE_TIMEOUT)",
        "message = await websocket.recv()",
    ),
    (
        "await asyncio.gather(*tasks)  # both",
        "await asyncio.wait_for(asyncio.gather(*tasks), RECEIVE_TIMEOUT)  # the mistake; both",
    ),
)
