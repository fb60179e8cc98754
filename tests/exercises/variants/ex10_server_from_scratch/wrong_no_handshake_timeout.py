"""ex10, wrong: no time limit on the request head: a slow client holds its connection forever."""

from variants_support import inherit

FAILS = "test_slow_clients"
SAYS = "HANDSHAKE_TIMEOUT"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        "async with asyncio.timeout(HANDSHAKE_TIMEOUT):",
        "if True:",
    ),
)
