"""Fan-out on a cluster of 1, 2 and 4 nodes, as ratios against one node (lesson 08).

One channel, MEMBERS subscribers connected through the load balancer, EVENTS events published
through the backend's API; measured: the wall time until every member has every event, and
the CPU time of the busiest node. Both are printed as ratios to the one-node run of the same
invocation. On a 2-core machine the nodes, Redis, nginx and the clients (all in this process)
share the cores: the busiest node's CPU shows the scaling, the wall time shows the machine.

    python benchmarks/cluster_fanout.py [--members 300] [--events 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import wslab
from wslab.channels import ChannelClient, cluster
from wslab.channels.broker import Broker


async def run(lab, members: int, events: int) -> tuple[float, float]:
    clients = [ChannelClient(lab.url) for _ in range(members)]
    tasks = [asyncio.create_task(c.run()) for c in clients]
    try:
        await asyncio.gather(*(c.wait_connected() for c in clients))
        await asyncio.gather(*(c.subscribe("news") for c in clients))
        broker = Broker(lab.broker_url)
        cpu = lab.cpu_seconds()
        start = time.perf_counter()
        for n in range(events):
            await broker.publish("news", "tick", n)
        await asyncio.gather(
            *(c.wait_for(lambda c=c: len(c.events) >= events, timeout=120) for c in clients)
        )
        wall = time.perf_counter() - start
        busiest = max(after - before for after, before in zip(lab.cpu_seconds(), cpu, strict=True))
        await broker.close()
        return wall, busiest
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    results = {}
    try:
        for nodes in (1, 2, 4):
            lab = cluster(nodes=nodes, name="bench-cluster")
            results[nodes] = asyncio.run(run(lab, args.members, args.events))
            lab.stop()
    finally:
        wslab.stop_all()
    wall1, cpu1 = results[1]
    print(f"fan-out of {args.events} events to {args.members} members ({os.cpu_count()} cores)")
    print("nodes  wall time  busiest node CPU   (ratios to 1 node)")
    for nodes, (wall, cpu) in results.items():
        print(f"{nodes:>5}  {wall / wall1:>9.2f}  {cpu / cpu1:>16.2f}")


if __name__ == "__main__":
    main()
