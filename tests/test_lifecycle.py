"""Starting, stopping and re-running services leaves nothing behind."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import time

import pytest
import websockets
from helpers import Resources, assert_released, wait_until

import wslab
from wslab._registry import registry
from wslab.client import CLIENT


def test_100_start_stop_cycles_leave_nothing_behind():
    """100 start/stop cycles, each with a client round trip, leave no thread, socket or listener."""
    wslab.stop_all()
    before = Resources.now()
    for _ in range(100):
        with wslab.echo_server(name="cycle") as server, wslab.connect(server.url) as client:
            client.request("x")
    assert_released(before)


def test_20_reruns_of_a_named_server_leave_one_server():
    """Re-running a cell that starts a named server 20 times leaves exactly one server running."""
    wslab.stop_all()
    before = Resources.now()
    for _ in range(20):
        server = wslab.echo_server(name="rerun")
        tap = wslab.tap(server, name="rerun-tap")
    running = Resources.now()
    assert len(running.threads - before.threads) == 2  # one server thread, one tap thread
    assert len(running.listening - before.listening) == 2
    assert set(wslab.running()) == {"rerun", "rerun-tap"}
    with wslab.connect(tap.url) as client:
        assert client.request("still serving") == "still serving"
    wslab.stop_all()
    assert_released(before)


def test_clients_closed_by_stop_all_release_their_threads():
    """Clients left open across cells are closed by stop_all(), threads and sockets included."""
    wslab.stop_all()
    before = Resources.now()
    server = wslab.echo_server()
    clients = [wslab.connect(server.url) for _ in range(5)]
    assert all(c.request("x") == "x" for c in clients)
    wslab.stop_all()
    assert all(c.closed for c in clients)
    assert_released(before)


def test_interpreter_exit_stops_services_quietly():
    """A process that exits with servers and clients still running exits cleanly and silently."""
    script = textwrap.dedent(
        """
        import wslab
        server = wslab.echo_server()
        tap = wslab.tap(server)
        client = wslab.connect(tap.url)
        assert client.request("bye") == "bye"
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_connect_across_cells_does_not_warn():
    """A client used without `with` and closed explicitly raises no DeprecationWarning."""
    script = textwrap.dedent(
        """
        import wslab
        server = wslab.echo_server()
        ws = wslab.connect(server.url)
        ws.send("a")
        assert ws.recv() == "a"
        ws.close()
        server.stop()
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_a_client_nobody_refers_to_is_closed_by_stop_all():
    """wslab.connect(url).request("x"), the client never assigned: stop_all() still closes its
    connection (its thread and socket), because the registry holds the client until closed."""
    wslab.stop_all()
    before = Resources.now()
    server = wslab.echo_server()
    assert wslab.connect(server.url).request("x") == "x"
    gc.collect()  # the Client wrapper has no referrer left; its connection is still open
    wslab.stop_all()
    assert_released(before)


def test_closed_clients_leave_the_registry():
    """A client closed by its user, or by its server, is no longer held for stop_all()."""
    server = wslab.echo_server()
    with wslab.connect(server.url) as client:
        assert registry.held(CLIENT) == {client: client}
    assert registry.held(CLIENT) == {}
    client = wslab.connect(server.url)
    server.stop()
    with pytest.raises(websockets.ConnectionClosed):
        client.recv()
    assert registry.held(CLIENT) == {}


def test_closing_a_client_that_stopped_reading_is_prompt():
    """Closing a client that left a thousand messages unread (far more than websockets queues
    before it stops reading the socket) completes the closing handshake (1000) at once, not
    after the close timeout."""
    sent = 0

    async def flood(websocket):
        nonlocal sent
        for n in range(1000):
            await websocket.send(f"{n:04d}")
            sent += 1
        await websocket.wait_closed()

    server = wslab.serve(flood)
    client = wslab.connect(server.url, timeout=10)
    assert client.recv() == "0000"
    wait_until(lambda: sent == 1000)  # all on their way: most wait behind the paused reader
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 5  # the close timeout is 10 s
    assert client.close_code == 1000
    server.wait_idle()


def test_stop_all_stops_users_before_services_and_reports_failures():
    """stop_all() stops what uses a service (clients, panels, bots) before any service, stops
    everything even if one stop fails, then raises the first failure."""
    calls = []
    server = wslab.echo_server()

    def works():
        calls.append(("works", server.running))

    def fails():
        raise RuntimeError("stop failed")

    registry.hold(("test", "works"), works, works)
    registry.hold(("test", "fails"), fails, fails)
    with pytest.raises(RuntimeError, match="stop failed"):
        wslab.stop_all()
    assert calls == [("works", True)]  # before the server stopped
    assert not server.running
    assert registry.held("test") == {}


def test_taking_a_key_replaces_its_holder():
    """Holding a key that is held closes the previous holder with its `replace` callable."""
    closed = []
    registry.hold(
        ("test", "x"), "first", lambda: closed.append("stop 1"), lambda: closed.append("replace 1")
    )
    assert registry.hold(("test", "x"), "second", lambda: closed.append("stop 2")) is True
    assert closed == ["replace 1"]
    assert registry.take(("test", "x")) is True  # no replace callable: stop is used
    assert closed == ["replace 1", "stop 2"]
    assert registry.take(("test", "x")) is False
