"""ex15 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    Mistake(
        "no_pong",
        "ignores the server's pings: never sends a pong",
        fails=("test_answers_pings_of_a_fast_server",),
        says="the connection closed",
        only=True,  # everything else works without pongs
        edits=(
            (
                '            await websocket.send("3")',
                "            continue  # the mistake: the ping is never answered",
            ),
        ),
    ),
    Mistake(
        "wrong_type",
        'connects with the Engine.IO packet type left out: "0/chat," is an Engine.IO open',
        fails=("test_connect_to_another_namespace",),
        edits=(
            (
                "    await websocket.send(prefix(CONNECT, namespace))",
                "    await websocket.send(prefix(CONNECT, namespace)[1:])  # the mistake",
            ),
        ),
    ),
    Mistake(
        "ack_mismatch",
        "takes the first ack that comes, whatever its id and namespace",
        fails=("test_call_waits_for_the_ack_with_its_own_id",),
        edits=(
            (
                "        if (kind, where, got_id) == (ACK, namespace, ack_id):",
                "        if kind == ACK:  # the mistake: any ack will do",
            ),
        ),
    ),
]
