"""ex12 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    Mistake(
        "no_dedup",
        "no deduplication by id: a message the server resent is processed twice",
        fails=("test_processes_each_message_once",),
        edits=(('if event["id"] not in seen:', "if True:"),),
    ),
    Mistake(
        "no_jitter",
        "exponential backoff without jitter: every client retries at the same instant",
        fails=("test_backoff_with_full_jitter",),
        edits=(
            (
                "await asyncio.sleep(rng.uniform(0, min(cap, base_delay * 2**reconnects)))",
                "await asyncio.sleep(min(cap, base_delay * 2**reconnects))",
            ),
        ),
    ),
    Mistake(
        "no_resend",
        "nothing resent after a reconnect: what was in flight when the connection died is lost",
        fails=("test_resends_what_was_not_acked",),
        says="gave up on a healthy connection",
        edits=(
            (
                "for id, body in sorted(unacked.items()):",
                "for id, body in sorted(unacked.items()) if reconnects == 0 else []:",
            ),
        ),
    ),
]
