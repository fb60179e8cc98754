"""ex09, wrong: one backoff schedule for the whole life of the client.

After a connection that worked, the next reconnection waits the next delay of the old
schedule instead of the first delay of a new one: a client that reconnected a few times
over a day waits the cap after every blip.
"""

from variants_support import inherit

FAILS = "test_reconnects_when_the_server_hangs_up"
SAYS = "starts over"

inherit(
    globals(),
    "ex09_heartbeat",
    # The mistake: the fresh schedule is made, and never used.
    ("                delays = iter(", "                unused = iter("),
)
