"""Exercise 09 · Heartbeat and reconnection (lesson 05, section 4: ping)

A connection can die without a word: a laptop sleeps, a NAT forgets the mapping, a server
process hangs. TCP says nothing for minutes; the only way to notice is to ask. Write a client
that pings its server, gives up on a peer whose pong is late, and reconnects, politely: after
a random delay that grows with each failure, so that a thousand clients cut off at the same
moment do not all come back at the same moment.

1. `backoff_delays(base, factor, cap, attempts, rng)`: the delays to wait before each of
   `attempts` reconnections, with "full jitter": delay ``i`` (from 0) is drawn uniformly from
   ``[0, min(cap, base * factor**i)]`` with `rng` (a `random.Random`), so the bounds grow
   geometrically until they reach `cap`.
2. `heartbeat(websocket, ping_interval, ping_timeout)`: every `ping_interval` seconds, send a
   ping and wait at most `ping_timeout` seconds for its pong. Return when a pong is late: the
   peer is dead. (If the connection closes meanwhile, `ConnectionClosed` comes out of
   ``websocket.ping()``; let it.)
3. `keep_alive(url, on_message, ...)`: stay connected to `url` and hand every message
   received to ``on_message(message)``, until told to stop or out of reconnections:

   - connect with websockets' asyncio client, ``connect(url, proxy=None, ping_interval=None,
     close_timeout=ping_timeout)``: ``ping_interval=None`` turns off websockets' own
     keepalive, because yours does that job;
   - while connected, run the receiving loop and `heartbeat` side by side; the connection
     is over when either ends (the server closed or dropped the connection, or the peer is
     dead), or when `stop` is set;
   - then, unless `stop` is set, reconnect, after the next delay of the backoff schedule
     below; a connection attempt that fails (nobody listening, a refused handshake) is
     followed by the next delay and another attempt in the same way;
   - the backoff schedule is ``backoff_delays(base_delay, factor, cap, max_reconnects, rng)``,
     and starts over with a fresh one each time a connection opens;
   - return the number of reconnections made (the first connection is not one): when `stop`
     is set (close the connection properly first), or when a connection ends or an attempt
     fails after `max_reconnects` reconnections. Don't raise for network errors.

   ``rng=None`` means a new `random.Random()`; ``stop=None`` means never stop.

The tests check `backoff_delays` on many seeds, then run `keep_alive` against test servers
built on raw asyncio streams (a handshake from `wslab.protocol`, then exactly the behaviour
each test needs): one that answers pings and sends a message after every 10 of them (the
client must ping, and stop cleanly when asked), one that completes the handshake and then
never reads another byte (no pong ever: the client must notice and reconnect), one that says
a single message and hangs up, and a port where nothing listens. They check the pace too,
without timing anything that a slow machine could stretch the wrong way: 20 pings a
`ping_interval` apart span 19 intervals (a client that pings again as soon as a pong is back
floods its server), and after a connection that opened, reconnecting waits the *first* delay
of a new schedule (with delays of 0.01 s, 1 s and 100 s, three reconnections after three good
connections take 0.03 s; a client that goes on with the old schedule waits 100 s).

Hints:

- ``pong = await websocket.ping()`` sends the ping and returns a future that completes when
  the pong arrives; ``await asyncio.wait_for(pong, ping_timeout)`` raises TimeoutError when
  it is late.
- Don't wait for a dead peer's closing handshake: it won't come. ``close_timeout=ping_timeout``
  makes ``close()`` give up and drop the TCP connection after that long.
- Lesson 05's shape for two loops on one connection: `asyncio.wait` with
  ``return_when=FIRST_COMPLETED``, cancel the rest, and wait for the cancellations.
  ``stop.wait()`` can be one of the tasks. Then look at the finished tasks' results: that
  is where a `ConnectionClosed` surfaces.
- Connecting can raise `OSError` (connection refused), `TimeoutError`, or a websockets
  exception (`websockets.exceptions.WebSocketException` covers them all).
- Don't use ``async for websocket in connect(...)``: websockets' own reconnecting loop. It
  does all of this for you; here the point is to see how.

Check your work: ``python -m wslab grade --exercise ex09`` or, in lesson 05,
``wslab.check("ex09")``.
"""

import asyncio
import random
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException


def backoff_delays(
    base: float, factor: float, cap: float, attempts: int, rng: random.Random
) -> list[float]:
    """Return `attempts` delays: delay i is uniform in ``[0, min(cap, base * factor**i)]``."""
    raise NotImplementedError("ex09: write this part (see the instructions at the top)")


async def heartbeat(websocket: ClientConnection, ping_interval: float, ping_timeout: float) -> None:
    """Ping every `ping_interval` seconds; return when a pong takes over `ping_timeout`."""
    raise NotImplementedError("ex09: write this part (see the instructions at the top)")


async def keep_alive(
    url: str,
    on_message: Callable[[str | bytes], object],
    *,
    ping_interval: float,
    ping_timeout: float,
    max_reconnects: int,
    base_delay: float,
    cap: float,
    factor: float = 2.0,
    rng: random.Random | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Stay connected to `url`, reconnecting with backoff; return the reconnections made."""
    raise NotImplementedError("ex09: write this part (see the instructions at the top)")
