"""The fan-out clients: N WebSocket clients and a publisher, in one room, in a process of their own.

Run as a script (``python -P swarm.py '{"url": ..., "clients": N}'``) by `wslab.bench.fanout`,
not imported: it needs only websockets, and leaving wslab's imports out halves its start-up.
Its open-files limit is inherited from `fanout`, which raises it before starting the swarm.

Conversation on stdin/stdout, one JSON line each way:
- once all N clients (and the publisher) have joined: ``{"ready": N}``;
- for each line "COUNT SIZE" read: COUNT broadcasts of SIZE bytes, one after the other, each
  complete when every client has it; answers ``{"delays": [...], "time_to_all": [...]}``;
- end of file: close everything and exit. Failures answer ``{"error": "..."}``.
"""

import asyncio
import json
import sys
import time

from websockets.asyncio.client import connect

#: Seconds for a connection to open, for one broadcast to reach everyone.
TIMEOUT = 60.0
#: Connections opened at once: the server's accept backlog must take them.
BATCH = 100


def main() -> None:
    config = json.loads(sys.argv[1])
    try:
        asyncio.run(swarm(config["url"], config["clients"]))
    except Exception as exc:  # noqa: BLE001 -- reported to the parent, which raises it
        say({"error": f"{type(exc).__name__}: {exc}"})


def say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def join(url: str):
    ws = await connect(url, proxy=None, compression=None, open_timeout=TIMEOUT)
    if await asyncio.wait_for(ws.recv(), TIMEOUT) != "joined":
        raise RuntimeError("the room did not greet a client")
    return ws


async def swarm(url: str, count: int) -> None:
    clients = []
    for start in range(0, count, BATCH):
        clients += await asyncio.gather(*(join(url) for _ in range(min(BATCH, count - start))))
    publisher = await join(url)
    arrivals = [0.0] * count
    pending = {"left": 0, "done": asyncio.Event()}

    async def listen(index: int, ws) -> None:
        async for _ in ws:
            arrivals[index] = time.perf_counter()
            pending["left"] -= 1
            if pending["left"] == 0:
                pending["done"].set()

    listeners = [asyncio.create_task(listen(i, ws)) for i, ws in enumerate(clients)]
    say({"ready": count})
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        broadcasts, size = (int(n) for n in line.split())
        payload = b"x" * size
        delays, time_to_all = [], []
        for _ in range(broadcasts):
            pending["left"], pending["done"] = count, asyncio.Event()
            started = time.perf_counter()
            await publisher.send(payload)
            await asyncio.wait_for(pending["done"].wait(), TIMEOUT)
            delays += [arrival - started for arrival in arrivals]
            time_to_all.append(max(arrivals) - started)
        say({"delays": delays, "time_to_all": time_to_all})
    for task in listeners:
        task.cancel()
    # Close politely, but don't let a thousand closing handshakes hold up the exit.
    await asyncio.wait([asyncio.create_task(ws.close()) for ws in [*clients, publisher]], timeout=5)


if __name__ == "__main__":
    main()
