"""Exercise 07 · A full-duplex client (lesson 05, full duplex)

Write `duplex(url, outgoing, expected)`: connect to `url` with websockets' asyncio client, send
every message of `outgoing`, in order, **while at the same time** receiving, and return the
first `expected` messages received, in order. Then close the connection normally.

The rules:

- sending and receiving run concurrently from the start: neither waits for the other;
- `duplex()` returns only when both are done: every message of `outgoing` sent *and*
  `expected` messages received (``outgoing`` may be empty, ``expected`` may be 0). Messages
  that arrive after the first `expected` are not your concern;
- then the connection closes with code 1000: leaving ``async with connect(...)`` does that;
- every receive gives up after `RECEIVE_TIMEOUT` seconds, with `TimeoutError`, so that a
  silent server cannot make it hang (read `RECEIVE_TIMEOUT` when you need it: the tests
  shorten it); each receive has its own `RECEIVE_TIMEOUT`;
- if anything fails (the server closes early, a receive times out), `duplex()` raises that
  exception and leaves no task of its own running;
- connect with ``proxy=None`` and otherwise websockets' defaults: the tests rely on its bounded
  buffers (``max_queue``, ``write_limit``), so do not raise them.

The tests run servers of their own and check:

- against a server that streams its messages while it reads yours: you return exactly the
  first `expected` messages, in order; the server received all of `outgoing`, in order; you
  closed with 1000; also with nothing to send, nothing to receive, and 1000 messages each way;
- against a server that sends nothing until it has read all your messages: a client that
  waits to receive before it has sent everything waits forever;
- against a server that first sends more than the TCP buffers of your machine can hold (tens
  of MB, in messages of 64 KiB) and only then reads: a client that sends everything before it
  starts receiving waits forever too. Its sends wait for the server to read, and the server's
  sends wait for the client to read (backpressure, section 5 of the lesson);
- a deadlock is noticed when neither side makes any progress for 2 seconds, and reported as
  "half-duplex detected": full duplex is about what waits for what, not about speed;
- a server that closes with 1011 after two messages makes `duplex()` raise
  `ConnectionClosed`; one that goes quiet makes it raise `TimeoutError`; one that sends 100
  messages 10 ms apart, twice `RECEIVE_TIMEOUT` in all, is slow but alive: `duplex()` must
  return all 100 (a timeout is for each receive, not for the whole stream).

Hints: lesson 05, section 2. One coroutine sends, another receives, and
``asyncio.gather(sender, receiver)`` waits until both are done. If one of them fails,
`gather` raises at once but does not stop the other: cancel it (in a ``finally``) and await
it. ``asyncio.TaskGroup`` does that for you (it raises an ``ExceptionGroup``; the tests
accept that too). A receive with a timeout: ``asyncio.wait_for(websocket.recv(), timeout)``.

Check your work: ``python -m wslab grade --exercise ex07`` or, in lesson 05,
``wslab.check("ex07")``.
"""

import asyncio

from websockets.asyncio.client import connect

RECEIVE_TIMEOUT = 10.0  # seconds one receive may wait before giving up


async def duplex(url: str, outgoing: list[str], expected: int) -> list[str]:
    """Send `outgoing` while receiving; return the first `expected` messages received."""
    ### BEGIN SOLUTION
    received: list[str] = []
    async with connect(url, proxy=None) as websocket:

        async def send_all() -> None:
            for message in outgoing:
                await websocket.send(message)

        async def receive_all() -> None:
            while len(received) < expected:
                message = await asyncio.wait_for(websocket.recv(), RECEIVE_TIMEOUT)
                received.append(message)

        tasks = [asyncio.create_task(send_all()), asyncio.create_task(receive_all())]
        try:
            await asyncio.gather(*tasks)  # both must finish; the first failure raises here
        finally:
            for task in tasks:
                task.cancel()  # no effect on a finished task; stops the other after a failure
            await asyncio.gather(*tasks, return_exceptions=True)  # let cancellations land
    return received
    ### END SOLUTION
