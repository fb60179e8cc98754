"""ex06, wrong: one count for the whole server instead of one per connection."""

from variants_support import inherit

FAILS = "test_count"
SAYS = "a second connection"

inherit(
    globals(),
    "ex06_echo_handler",
    ("    count = 0  # this connection's", "    global count  # the mistake\n    #"),
    ("import json\n", "import json\n\ncount = 0\n"),
)
