"""ex09 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    # After a connection that worked, the next reconnection waits the next delay of the old
    # schedule instead of the first delay of a new one: a client that reconnected a few times
    # over a day waits the cap after every blip.
    Mistake(
        "backoff_never_restarts",
        "one backoff schedule for the whole life of the client",
        fails=("test_reconnects_when_the_server_hangs_up",),
        says="starts over",
        edits=(("                delays = iter(", "                unused = iter("),),
    ),
    # It detects a dead peer all right, but against a live one it sends thousands of pings a
    # second: `ping_interval` is never waited.
    Mistake(
        "ping_flood",
        "a heartbeat that pings again as soon as the pong is back",
        fails=("test_pings_a_healthy_server_and_stops_cleanly",),
        says="wait ping_interval between two pings",
        edits=(("        await asyncio.sleep(ping_interval)\n", ""),),
    ),
]
