"""A node dies mid-stream; nobody notices in what they receive."""

import asyncio

from wslab.channels import ChannelClient, cluster
from wslab.channels.broker import Broker

CLIENTS = 200
NODES = 3
EVENTS = 1000
CHANNELS = ["alpha", "beta", "gamma", "delta"]
KILL_AFTER = 300


def test_a_node_killed_during_1000_events_loses_and_repeats_nothing(stop_all, capsys):
    """200 clients on 3 nodes, node 1 killed after 300 of 1,000 events: every client ends
    with every event of its channels exactly once, in order, however many reconnected (a last
    event per channel at the end would come after any late repeat)."""
    lab = cluster(nodes=NODES, name="reliability", history=EVENTS)
    clients, published = asyncio.run(_run(lab))

    on_killed_node = [c for c in clients if c.connections > 1]
    assert on_killed_node, "the kill should have cut some clients off"
    assert all(c.connections == 1 for c in clients if c not in on_killed_node)
    delivered = 0
    for client in clients:
        for channel in client.channels:
            assert client.received(channel) == list(range(published[channel])), channel
            delivered += published[channel]
    with capsys.disabled():
        print(
            f"\n{sum(published.values())} events published, {delivered} deliveries to {CLIENTS} "
            f"clients on {NODES} nodes, each exactly once and in order; "
            f"{len(on_killed_node)} clients reconnected after node 1 was killed"
        )


async def _run(lab):
    clients = [ChannelClient(lab.url) for _ in range(CLIENTS)]
    tasks = [asyncio.create_task(c.run()) for c in clients]
    try:
        await asyncio.gather(*(c.wait_connected() for c in clients))
        # Two channels each, so every channel has about 100 subscribers on every node.
        await asyncio.gather(
            *(
                c.subscribe(channel)
                for i, c in enumerate(clients)
                for channel in (CHANNELS[i % 4], CHANNELS[(i + 1) % 4])
            )
        )
        published = dict.fromkeys(CHANNELS, 0)
        broker = Broker(lab.broker_url)
        for n in range(EVENTS):
            channel = CHANNELS[n % len(CHANNELS)]
            await broker.publish(channel, "tick", published[channel])
            published[channel] += 1
            if n == KILL_AFTER:
                await asyncio.to_thread(lab.kill, 0)
        # A last event per channel: anything repeated late would arrive before it.
        for channel in CHANNELS:
            await broker.publish(channel, "tick", published[channel])
            published[channel] += 1
        await broker.close()
        await asyncio.gather(
            *(
                c.wait_for(
                    lambda c=c: all(len(c.received(ch)) >= published[ch] for ch in c.channels),
                    timeout=60,
                    description="every event",
                )
                for c in clients
            )
        )
        return clients, published
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        await asyncio.gather(*tasks, return_exceptions=True)
