"""ex15: Socket.IO spoken by hand over a websockets connection, against python-socketio itself.

Every test opens a plain WebSocket to a real python-socketio server (`wslab.socketio_server`,
its chat handlers off, the test's own on) at ``/socket.io/?EIO=4&transport=websocket``, hands it
to the learner's functions, and checks what they return and what the server saw. One server
pings every 50 ms and drops a silent client within 0.3 s; one handler closes the session. Every
await is bounded by TIMEOUT; no test measures speed.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import ModuleType

import pytest
from websockets.asyncio.client import connect as ws_connect

import wslab

pytestmark = pytest.mark.exercise("ex15_socketio_client")

TIMEOUT = 3.0


def start(**options) -> tuple[wslab.Service, dict[str, list]]:
    """A python-socketio server with the handlers the tests need, and what it saw."""
    server = wslab.socketio_server("ex15", chat=False, **options)
    sio = server.sio
    seen: dict[str, list] = {"/": [], "/chat": []}

    for namespace in ("/", "/chat"):

        async def on_connect(sid, environ, auth, namespace=namespace):
            seen[namespace].append(sid)

        sio.on("connect", on_connect, namespace=namespace)
        sio.on("add", lambda sid, a, b: a + b, namespace=namespace)

    sio.on("connect", lambda sid, environ, auth: False, namespace="/private")

    @sio.on("shout", namespace="/chat")
    async def shout(sid, text):
        await sio.emit("shouted", text.upper(), namespace="/chat")
        return len(text)

    @sio.on("later")
    async def later(sid, delay):
        async def tick():
            await sio.sleep(delay)
            await sio.emit("tick", delay, to=sid)

        sio.start_background_task(tick)
        return "later"

    @sio.on("bye")
    async def bye(sid):
        await sio.disconnect(sid)

    return server, seen


def run(scenario):
    """Run one scenario coroutine to its end, bounded."""
    return asyncio.run(asyncio.wait_for(scenario, TIMEOUT * 2))


@contextlib.asynccontextmanager
async def opened(server, submission: ModuleType, namespace: str | None = "/"):
    """A WebSocket with the session opened (and `namespace` connected) by the submission;
    closed on the way out, whatever the submission did."""
    async with ws_connect(server.ws_url, proxy=None, open_timeout=TIMEOUT) as websocket:
        await asyncio.wait_for(submission.open_session(websocket), TIMEOUT)
        if namespace is not None:
            await asyncio.wait_for(submission.connect(websocket, namespace), TIMEOUT)
        yield websocket


@pytest.mark.points(1)
def test_open_session_returns_the_settings(submission):
    """The open packet's settings come back as a dict: sid, pingInterval, pingTimeout (ms)."""
    server, _ = start(ping_interval=7, ping_timeout=3)

    async def scenario():
        async with ws_connect(server.ws_url, proxy=None) as websocket:
            return await asyncio.wait_for(submission.open_session(websocket), TIMEOUT)

    settings = run(scenario())
    assert isinstance(settings, dict), f"open_session returned {settings!r}, not a dict"
    assert (settings.get("pingInterval"), settings.get("pingTimeout")) == (7000, 3000), settings
    assert isinstance(settings.get("sid"), str)


@pytest.mark.points(1)
def test_connect_to_the_default_namespace(submission):
    """connect(ws, "/") returns the sid the server gave this client on "/"."""
    server, seen = start()

    async def scenario():
        async with opened(server, submission, None) as websocket:
            return await asyncio.wait_for(submission.connect(websocket, "/"), TIMEOUT)

    sid = run(scenario())
    assert seen["/"] == [sid], f"connect returned {sid!r}; the server connected {seen['/']}"


@pytest.mark.points(1)
def test_connect_to_another_namespace(submission):
    """connect(ws, "/chat") joins /chat (sent as 40/chat,) and returns that namespace's sid."""
    server, seen = start()

    async def scenario():
        async with opened(server, submission, None) as websocket:
            return await asyncio.wait_for(submission.connect(websocket, "/chat"), TIMEOUT)

    sid = run(scenario())
    assert seen["/chat"] == [sid] and seen["/"] == [], f"server saw {seen}; you said {sid!r}"


@pytest.mark.points(1)
def test_refused_namespace_raises(submission):
    """A connect error (44/private,...) raises ConnectionRefusedError."""
    server, _ = start()

    async def scenario():
        async with opened(server, submission, None) as websocket:
            with pytest.raises(ConnectionRefusedError):
                await asyncio.wait_for(submission.connect(websocket, "/private"), TIMEOUT)

    run(scenario())


@pytest.mark.points(2)
def test_call_returns_the_ack(submission):
    """call() emits an event with an ack id and returns the ack's data, on / and on /chat."""
    server, _ = start()

    async def scenario():
        async with opened(server, submission, "/") as websocket:
            await asyncio.wait_for(submission.connect(websocket, "/chat"), TIMEOUT)
            on_root = await asyncio.wait_for(
                submission.call(websocket, "/", "add", [2, 3], 1), TIMEOUT
            )
            on_chat = await asyncio.wait_for(
                submission.call(websocket, "/chat", "add", [20, 30], 2), TIMEOUT
            )
            return on_root, on_chat

    assert run(scenario()) == ([5], [50])


@pytest.mark.points(1)
def test_call_waits_for_the_ack_with_its_own_id(submission):
    """An ack for another id (here 7, asked for before) is not the answer to call(..., 8)."""
    server, _ = start(async_handlers=False)  # events handled in order: ack 7 comes first

    async def scenario():
        async with opened(server, submission, "/") as websocket:
            await websocket.send('427["add",10,20]')  # another caller's question
            return await asyncio.wait_for(
                submission.call(websocket, "/", "add", [1, 2], 8), TIMEOUT
            )

    assert run(scenario()) == [3]


@pytest.mark.points(1)
def test_receives_a_broadcast(submission):
    """An event emitted to everyone on /chat reaches the other client through next_event."""
    server, _ = start()

    async def scenario():
        async with (
            opened(server, submission, "/chat") as alice,
            opened(server, submission, "/chat") as bob,
        ):
            size = await asyncio.wait_for(
                submission.call(alice, "/chat", "shout", ["hi"], 1), TIMEOUT
            )
            heard = await asyncio.wait_for(submission.next_event(bob, "/chat"), TIMEOUT)
            return size, tuple(heard)

    assert run(scenario()) == ([2], ("shouted", ["HI"]))


@pytest.mark.points(1)
def test_answers_pings_of_a_fast_server(submission):
    """A server that pings every 50 ms and drops silence after 0.3 s keeps the client for 1 s."""
    server, _ = start(ping_interval=0.05, ping_timeout=0.3)

    async def scenario():
        async with opened(server, submission, "/") as websocket:
            await asyncio.wait_for(submission.call(websocket, "/", "later", [1.0], 1), TIMEOUT)
            return tuple(await asyncio.wait_for(submission.next_event(websocket, "/"), TIMEOUT))

    assert run(scenario()) == ("tick", [1.0]), "the server dropped the client: pong every ping"


@pytest.mark.points(1)
def test_session_closed_by_the_server(submission):
    """When the server disconnects the client, next_event raises SessionClosed, not hangs."""
    server, _ = start()

    async def scenario():
        async with opened(server, submission, "/") as websocket:
            await websocket.send('42["bye"]')
            with pytest.raises(ConnectionError):
                await asyncio.wait_for(submission.next_event(websocket, "/"), TIMEOUT)

    run(scenario())
    assert issubclass(submission.SessionClosed, ConnectionError)
