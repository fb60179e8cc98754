"""ex08, wrong: awaits between checking that a nick is free and taking it.

Here it awaits ``asyncio.sleep(0)``, standing for any await that lets the event loop run
(a write to a database, an async log): two joins of the same nick that arrive together
both find it free, and both get a welcome.
"""

from variants_support import inherit

FAILS = "test_same_nick_at_the_same_moment"
SAYS = "exactly one should be welcomed"

inherit(
    globals(),
    "ex08_chat_room",
    ("import json\n", "import asyncio\nimport json\n"),
    (
        "# No await between the check above and this line: no other join can slip in.",
        "await asyncio.sleep(0)  # the mistake: another join runs meanwhile",
    ),
)
