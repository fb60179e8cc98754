"""Delivery: the outbox and inbox rules, then at-least-once through connections cut mid-way."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

import wslab
from wslab.production import Cut, relay
from wslab.production.delivery import Inbox, Outbox, ack, acking_handler, send_reliably


def test_outbox_keeps_messages_until_acked():
    """Unacked messages stay, in order; acks remove them, repeated or unknown acks do nothing."""
    outbox = Outbox(["a", "b", "c"])
    outbox.acknowledge(ack(2))
    outbox.acknowledge(ack(2))
    outbox.acknowledge(ack(99))
    assert [json.loads(m)["body"] for m in outbox.unacked()] == ["a", "c"]
    outbox.acknowledge(ack(1))
    outbox.acknowledge(ack(3))
    assert outbox.done


def test_inbox_acks_every_copy_and_processes_one():
    """A repeated id is acked again but processed once; without dedup it is processed twice."""
    for dedup, processed in ((True, ["x"]), (False, ["x", "x"])):
        inbox = Inbox(dedup=dedup)
        frame = json.dumps({"type": "msg", "id": 7, "body": "x"})
        assert inbox.receive(frame) == inbox.receive(frame) == ack(7)
        assert inbox.processed == processed
        assert inbox.received == 2


@pytest.mark.parametrize("dedup", [True, False])
def test_at_least_once_through_cuts(dedup):
    """Three cut connections later, every message was processed; with dedup, exactly once."""
    inbox = Inbox(dedup=dedup)
    server = wslab.serve(acking_handler(inbox), name="store")
    flaky = relay(server, cut=Cut(after=2, times=3))
    bodies = [f"m{i}" for i in range(8)]
    report = asyncio.run(send_reliably(flaky.url, bodies, base=0.01, rng=random.Random(0)))
    server.wait_idle()
    assert report.connections == 4 and len(report.delays) == 3
    assert sorted(set(inbox.processed)) == sorted(bodies)
    assert (inbox.duplicates == 0) is dedup


def test_send_reliably_gives_up():
    """With nobody listening, it raises ConnectionError after the retries allowed."""
    server = wslab.echo_server()
    url = server.url
    server.stop()
    with pytest.raises(ConnectionError):
        asyncio.run(send_reliably(url, ["a"], base=0.001, attempts=2))
