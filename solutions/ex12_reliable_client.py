"""Exercise 12 · A reliable client (lesson 07, section 6: delivery guarantees)

A WebSocket `send()` returns once the bytes are in a buffer. If the connection dies a moment
later, the message may never arrive, or arrive and its answer be lost: the sender cannot tell.
Write a client that delivers every message at least once, and processes every message it
receives exactly once, whatever connection drops on the way.

The protocol, one JSON object per text message, the same both ways:

- ``{"type": "msg", "id": ID, "body": BODY}``: a message; the receiver answers it with
- ``{"type": "ack", "id": ID}``: "I have processed message ID";
- ``{"type": "end"}`` (server to client only): the server has nothing more to send.

`exchange(url, outgoing, on_message, ...)` sends the texts in `outgoing`, message ``i`` with
id ``i`` (0, 1, 2...), and hands every message the server sends to ``on_message(body)``:

1. Connect with websockets' asyncio client: ``connect(url, proxy=None, open_timeout=timeout)``.
2. On every connection, first send every outgoing message not yet acknowledged, in id order
   (the first connection sends them all; a new one resends what was not acked).
3. Then receive, each wait bounded by `timeout` seconds:
   - an ack: that message is delivered; acks for unknown or already acked ids are ignored;
   - a message: send its ack, and call ``on_message(body)``, but only the first time this
     id arrives: the server resends a message whose ack it did not get, and you must
     process it once (deduplicate by id, across connections);
   - an end: remember it.
4. When every outgoing message is acked *and* the end has come: close the connection
   normally and return the number of reconnections made (the first connection is not one).
5. When a connection fails (refused handshake, connection lost, a receive that times out:
   `OSError`, `TimeoutError`, websockets' `WebSocketException`), reconnect after a delay:
   before reconnection ``n`` (from 0), wait ``rng.uniform(0, min(cap, base_delay * 2**n))``,
   exponential backoff with full jitter. Without the jitter, a thousand clients cut off
   together would all come back together. After `max_reconnects` reconnections, if the
   connection fails again, raise ``ConnectionError``.

The tests run `exchange` against servers that drop the connection at the worst moments:
after processing a message but before acking it, right after sending a message (before the
client's ack can come back), and by refusing handshakes; they count what each side processed:
nothing lost, nothing processed twice.

Check your work: ``python -m wslab grade --exercise ex12`` or, in lesson 07,
``wslab.check("ex12")``.
"""

import asyncio
import json
import random
from collections.abc import Callable

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException


async def exchange(
    url: str,
    outgoing: list[str],
    on_message: Callable[[str], object],
    *,
    base_delay: float,
    cap: float,
    max_reconnects: int,
    rng: random.Random,
    timeout: float = 5.0,
) -> int:
    """Deliver `outgoing` at least once, process what comes once; return the reconnections."""
    ### BEGIN SOLUTION
    unacked = dict(enumerate(outgoing))
    seen: set[int] = set()
    ended = False
    reconnects = 0
    while True:
        try:
            async with connect(url, proxy=None, open_timeout=timeout) as websocket:
                for id, body in sorted(unacked.items()):
                    await websocket.send(json.dumps({"type": "msg", "id": id, "body": body}))
                while unacked or not ended:
                    event = json.loads(await asyncio.wait_for(websocket.recv(), timeout))
                    if event["type"] == "ack":
                        unacked.pop(event["id"], None)
                    elif event["type"] == "msg":
                        await websocket.send(json.dumps({"type": "ack", "id": event["id"]}))
                        if event["id"] not in seen:
                            seen.add(event["id"])
                            on_message(event["body"])
                    elif event["type"] == "end":
                        ended = True
            return reconnects
        except (OSError, TimeoutError, WebSocketException):
            pass
        if reconnects == max_reconnects:
            raise ConnectionError(f"gave up after {max_reconnects} reconnections")
        await asyncio.sleep(rng.uniform(0, min(cap, base_delay * 2**reconnects)))
        reconnects += 1
    ### END SOLUTION
