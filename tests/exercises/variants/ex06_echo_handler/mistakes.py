"""ex06 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    Mistake(
        "count_shared",
        "one count for the whole server instead of one per connection",
        fails=("test_count",),
        says="a second connection",
        edits=(
            ("    count = 0  # this connection's", "    global count  # the mistake\n    #"),
            ("import json\n", "import json\n\ncount = 0\n"),
        ),
    ),
    # websockets already sends each message whole; the lock only makes every connection wait
    # while one send waits for a client that stopped reading.
    Mistake(
        "one_lock_for_all_sends",
        'one lock around every send, "so that replies never interleave".',
        fails=("test_a_client_that_stops_reading_delays_only_itself",),
        says="a client that stops reading made another wait",
        edits=(
            ("import json\n", "import asyncio\nimport json\n\nSENDING = asyncio.Lock()\n"),
            (
                "        await websocket.send(reply)",
                "        async with SENDING:  # the mistake: shared by every connection\n"
                "            await websocket.send(reply)",
            ),
        ),
    ),
    # When the client closes, ``recv()`` raises ConnectionClosedOK, which leaves the handler:
    # websockets logs it as an error, though nothing went wrong.
    Mistake(
        "recv_until_it_raises",
        "``while True: await websocket.recv()``, and the client's close escapes",
        fails=("test_clean_close",),
        says="ConnectionClosedOK",
        edits=(
            (
                "    async for message in websocket:",
                "    while True:  # the mistake: recv() raises once the client has closed\n"
                "        message = await websocket.recv()",
            ),
        ),
    ),
    Mistake(
        "respaced_json",
        "text that is JSON but not a command is echoed as ``json.dumps()`` of it",
        fails=("test_other_text_echoed_exactly",),
        says="odd spacing",
        edits=(
            (
                "                reply = json.dumps(command_reply(request, count))\n",
                "                reply = json.dumps(command_reply(request, count))\n"
                "            elif request is not None:  # the mistake: respaced, reordered\n"
                "                reply = json.dumps(request)\n",
            ),
        ),
    ),
    Mistake(
        "type_case_insensitive",
        'command types compared without their case: "Count" is taken for "count"',
        fails=("test_errors",),
        says="unknown type: Count",
        edits=(
            (
                '    match command["type"]:',
                '    match getattr(command["type"], "lower", lambda: None)():',
            ),
        ),
    ),
]
