"""ex08 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    # ``say`` uses broadcast, so the say flood passes; but a whisper to a member who stopped
    # reading waits for that member's buffers to drain, and the whisperer's handler stalls.
    Mistake(
        "awaited_whisper",
        "a whisper sent with an awaited ``send()`` instead of ``broadcast``",
        fails=("test_a_client_that_stops_reading_does_not_stall_the_room",),
        says="after the whispers",
        edits=(
            (
                'self.send([target], {"type": "private", "from": nick, "text": text})',
                "# the mistake: waits until the target reads\n"
                '                private = {"type": "private", "from": nick, "text": text}\n'
                "                await target.send(json.dumps(private))",
            ),
        ),
    ),
    # Here it awaits ``asyncio.sleep(0)``, standing for any await that lets the event loop run
    # (a write to a database, an async log): two joins of the same nick that arrive together
    # both find it free, and both get a welcome.
    Mistake(
        "nick_race",
        "awaits between checking that a nick is free and taking it",
        fails=("test_same_nick_at_the_same_moment",),
        says="exactly one should be welcomed",
        edits=(
            ("import json\n", "import asyncio\nimport json\n"),
            (
                "# No await between the check above and this line: no other join can slip in.",
                "await asyncio.sleep(0)  # the mistake: another join runs meanwhile",
            ),
        ),
    ),
]
