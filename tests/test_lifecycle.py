"""Starting, stopping and re-running services leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from helpers import Resources, assert_released

import wslab


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


def test_stop_all_runs_hooks_first_and_reports_their_failure():
    """stop_all() calls registered hooks, stops every service even if one fails, then raises."""
    from wslab import _service

    calls = []
    server = wslab.echo_server()

    def works():
        calls.append(("hook", server.running))

    def fails():
        raise RuntimeError("hook failed")

    _service.on_stop_all(works)
    _service.on_stop_all(fails)
    try:
        with pytest.raises(RuntimeError, match="hook failed"):
            wslab.stop_all()
    finally:
        _service._stop_hooks.remove(works)
        _service._stop_hooks.remove(fails)
    assert calls == [("hook", True)]  # hooks run before the services stop
    assert not server.running
