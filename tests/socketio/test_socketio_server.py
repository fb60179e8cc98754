"""`wslab.socketio_server()`: python-socketio in the kernel, like the other wslab servers.

It binds loopback on a free port, replaces a server of the same name, stops with
`wslab.stop_all()`, prints nothing, and plays the chat tutorial's server: broadcast with
offsets, acks, rooms, and the messages a returning client missed.
"""

from __future__ import annotations

import asyncio
import socket
import urllib.request

import socketio

import wslab

TIMEOUT = 5.0


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_lifecycle_like_every_wslab_server(capfd):
    """Loopback, port 0, replaced by name, stopped by stop_all(), and silent."""
    first = wslab.socketio_server()
    assert first.host == "127.0.0.1" and first.port > 0
    second = wslab.socketio_server()
    assert not first.running and second.running and refused(first.port)
    assert wslab.running()["socketio"] is second
    with urllib.request.urlopen(second.url, timeout=TIMEOUT) as page:
        assert page.headers.get_content_type() == "text/html"
    wslab.stop_all()
    assert not second.running and refused(second.port)
    assert capfd.readouterr() == ("", "")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT * 2))


async def client(server, **auth):
    c = socketio.AsyncSimpleClient()
    await c.connect(server.url, transports=["websocket"], auth=auth or None)
    return c


def test_tutorial_chat_broadcast_ack_rooms_and_server_delivery():
    """Everyone hears a message with its offset; rooms are private; a return replays what was
    missed after the offset the client gives."""
    server = wslab.socketio_server()

    async def main():
        alice, bob = await client(server), await client(server)
        assert await alice.call("chat message", "one", timeout=TIMEOUT) == 1
        assert await bob.receive(timeout=TIMEOUT) == ["chat message", "one", 1]
        assert await alice.receive(timeout=TIMEOUT) == ["chat message", "one", 1]
        assert "kitchen" in await bob.call("join", "kitchen", timeout=TIMEOUT)
        await alice.emit("to room", ("kitchen", "psst"))
        assert await bob.receive(timeout=TIMEOUT) == ["chat message", "psst", None]
        await bob.disconnect()
        await alice.call("chat message", "two", timeout=TIMEOUT)
        await alice.call("chat message", "three", timeout=TIMEOUT)
        back = await client(server, offset=1)  # bob saw offset 1 and comes back
        missed = [await back.receive(timeout=TIMEOUT) for _ in range(2)]
        await alice.disconnect()
        await back.disconnect()
        return missed

    assert run(main()) == [["chat message", "two", 2], ["chat message", "three", 3]]
    assert server.history == ["one", "two", "three"]
