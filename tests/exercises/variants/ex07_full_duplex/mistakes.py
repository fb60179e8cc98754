"""ex07 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    # A silent server is noticed, but so is a healthy one whose stream simply lasts longer than
    # RECEIVE_TIMEOUT: the client gives up on a connection that never stopped talking.
    Mistake(
        "one_timeout_for_the_stream",
        "one timeout around the whole exchange instead of one per receive",
        fails=("test_fails_instead_of_hanging",),
        says="bounds each receive, not the whole stream",
        edits=(
            (
                "message = await asyncio.wait_for(websocket.recv(), RECEIVE_TIMEOUT)",
                "message = await websocket.recv()",
            ),
            (
                "await asyncio.gather(*tasks)  # both",
                "await asyncio.wait_for(asyncio.gather(*tasks), RECEIVE_TIMEOUT)  # the mistake;"
                " both",
            ),
        ),
    ),
]
