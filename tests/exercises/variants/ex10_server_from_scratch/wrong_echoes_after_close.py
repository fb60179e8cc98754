"""ex10, wrong: after answering a CLOSE, goes on reading (and would echo what comes).

The closing handshake is over once both CLOSE frames are sent: the server closes the TCP
connection (§7.1.1) and sends nothing more (§5.5.1).
"""

from variants_support import inherit

FAILS = "test_closing_handshake"
SAYS = "the server closes the TCP connection"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        "            return  # handle_connection drains and closes the TCP connection",
        "            continue  # the mistake: a Close ends nothing",
    ),
)
