"""`serve_process()`: a wslab server in a child process that never outlives its parent or leaks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from helpers import Resources, assert_released, child_pids, wait_until

import wslab
from wslab._process import ProcessServer, serve_process, target_spec

# A module the child imports by name: a handler that says which process runs it, one that
# prints, and a factory whose server then blocks its own event loop (a hung server).
HELPERS = """
import os
import time

import wslab


async def whoami(websocket):
    async for _ in websocket:
        await websocket.send(str(os.getpid()))


async def chatty(websocket):
    print("a handler printed this")
    async for message in websocket:
        await websocket.send(message)


def hung_server(name, **options):
    server = wslab.echo_server(name=name)
    server._loop.loop.call_soon_threadsafe(time.sleep, 3600)
    return server
"""


def vm_rss(pid: int) -> int:
    """Resident memory of `pid` as Linux reports it (VmRSS), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def gone(pid: int) -> bool:
    """True once `pid` has exited (no such process, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture
def helpers_module(tmp_path, monkeypatch):
    """`procserver_helpers`, importable here and so in the child (it gets our sys.path)."""
    (tmp_path / "procserver_helpers.py").write_text(HELPERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "procserver_helpers"


def test_echo_runs_in_another_process():
    """serve_process("echo") answers like echo_server(), from a process that is not this one."""
    with serve_process("echo") as server:
        assert isinstance(server, ProcessServer)
        assert server.url == f"ws://127.0.0.1:{server.port}/"
        assert server.running and server.pid != os.getpid()
        assert server.pid in child_pids()
        with wslab.connect(server.url) as client:
            assert client.request("hello") == "hello"
            assert client.request(b"\x00\x01") == b"\x00\x01"
        stats = server.stats()
        assert stats["pid"] == server.pid
        assert stats["connections_total"] == 1
        assert stats["rss"] > 1_000_000  # at least a Python interpreter's worth
        if os.path.exists(f"/proc/{server.pid}/status"):  # Linux: the kernel's own figure
            assert stats["rss"] == pytest.approx(vm_rss(server.pid), rel=0.2)
    assert not server.running
    assert server.returncode == 0
    assert gone(server.pid)


def test_a_handler_named_by_module_runs_in_the_child(helpers_module):
    """A handler given as "module:function" runs in the child, which reports its own pid."""
    with serve_process(f"{helpers_module}:whoami") as server:
        assert server.name == "whoami"
        with wslab.connect(server.url) as client:
            assert int(client.request("pid?")) == server.pid != os.getpid()


def test_importable_functions_are_accepted_and_cell_functions_refused():
    """A function is sent by its import name; one defined in a cell or a closure is refused."""
    from wslab.builtin import echo

    assert target_spec(echo) == "wslab.builtin:echo"
    assert target_spec("echo") == "echo"

    async def local(websocket):
        pass

    with pytest.raises(TypeError, match="cannot run in another process"):
        target_spec(local)
    with pytest.raises(ValueError, match="unknown server"):
        target_spec("no-such-builtin")


async def old_style(websocket, path):
    """A handler with the signature of websockets < 13."""


def test_handler_mistakes_are_caught_before_a_process_starts():
    """A handler wslab.serve() would refuse is refused here too, with the same message."""
    with pytest.raises(TypeError, match="websockets < 13"):
        serve_process(old_style)


def test_options_reach_the_child():
    """Factory options travel to the child: the push server ticks at the interval given."""
    with serve_process("push", interval=0.01, count=3) as server:
        with wslab.connect(server.url) as client:
            assert [m for m in client] == [f'{{"type": "tick", "seq": {n}}}' for n in (1, 2, 3)]


def test_http_server_in_a_child_reports_its_counters():
    """The HTTP server runs in a child too; stats() carries its counters."""
    from http.client import HTTPConnection

    with serve_process("http", interval=None) as server:
        assert server.url.startswith("http://127.0.0.1:")
        conn = HTTPConnection(server.host, server.port, timeout=5)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
        stats = server.stats()
        assert stats["requests_total"] == 1 and stats["waiting"] == 0


def test_a_failing_start_raises_here_and_leaves_nothing_behind():
    """A target the child cannot import raises the child's error type here; no process stays."""
    wslab.stop_all()
    before, children = Resources.now(), child_pids()
    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        serve_process("no_such_module:handler")
    with pytest.raises(TypeError, match="JSON"):
        serve_process("echo", origins={object()})
    assert "handler" not in wslab.running()
    assert_released(before)
    wait_until(lambda: child_pids() <= children)


def test_rerunning_under_a_name_replaces_the_child():
    """Starting a process server under a running name stops the old one and its process."""
    first = serve_process("echo", name="twice")
    second = serve_process("echo", name="twice")
    assert not first.running and first.returncode == 0 and gone(first.pid)
    assert wslab.running()["twice"] is second and second.running
    with wslab.connect(second.url) as client:
        assert client.request("x") == "x"


def test_stop_all_stops_process_servers_and_their_children():
    """stop_all() ends every process server's child process, as for thread servers."""
    servers = [serve_process("echo", name=f"all-{n}") for n in range(3)]
    wslab.stop_all()
    assert not any(s.running for s in servers)
    assert all(gone(s.pid) for s in servers)


def test_a_hung_server_is_terminated(helpers_module):
    """A child whose server blocks its loop gets SIGTERM after the grace period."""
    server = serve_process(f"{helpers_module}:hung_server", name="hung", stop_grace=0.5)
    server.stop()
    assert server.returncode == -signal.SIGTERM
    assert "SIGTERM" in str(server.log("ERROR"))


def test_a_stopped_process_is_killed():
    """A child that cannot even take SIGTERM (stopped with SIGSTOP) gets SIGKILL."""
    server = serve_process("echo", name="frozen", stop_grace=0.2)
    os.kill(server.pid, signal.SIGSTOP)
    server.stop()
    assert server.returncode == -signal.SIGKILL
    assert gone(server.pid)


def test_output_of_the_child_goes_to_the_log_not_the_notebook(helpers_module, capfd):
    """What a handler prints lands in the server's log; nothing reaches our stdout or stderr."""
    with serve_process(f"{helpers_module}:chatty") as server:
        with wslab.connect(server.url) as client:
            client.request("x")
        server.wait_idle()
        wait_until(lambda: "a handler printed this" in str(server.log()))
        assert "connection 1 open" in str(server.log())
    assert "connection 1 closed" in str(server.log())  # the child's log outlives the child
    assert capfd.readouterr() == ("", "")


def test_cycles_leak_no_thread_socket_or_process():
    """10 start/stop cycles with a round trip each leave no thread, socket, port or process."""
    wslab.stop_all()
    before, children = Resources.now(), child_pids()
    for _ in range(10):
        with serve_process("echo", name="cycle") as server, wslab.connect(server.url) as client:
            client.request("x")
    assert_released(before)
    assert child_pids() <= children


def test_the_child_exits_when_its_parent_dies(tmp_path):
    """A parent killed with SIGKILL (no cleanup at all) still takes its server process along."""
    script = textwrap.dedent(
        f"""
        import os, pathlib, signal
        from wslab._process import serve_process
        server = serve_process("echo")
        pathlib.Path({str(tmp_path / "pid")!r}).write_text(str(server.pid))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -signal.SIGKILL
    pid = int((tmp_path / "pid").read_text())
    wait_until(lambda: gone(pid), timeout=10)


def test_interpreter_exit_stops_process_servers_quietly(tmp_path):
    """A script that exits with a process server running exits cleanly, silently, and alone."""
    script = textwrap.dedent(
        f"""
        import pathlib
        import wslab
        from wslab._process import serve_process
        server = serve_process("echo")
        pathlib.Path({str(tmp_path / "pid")!r}).write_text(str(server.pid))
        client = wslab.connect(server.url)
        assert client.request("bye") == "bye"
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert gone(int((tmp_path / "pid").read_text()))


def test_serve_with_process_true_is_the_older_spelling_of_serve_process():
    """wslab.serve(handler, process=True) still serves from a child process, warning that it
    will be deprecated in favour of wslab.serve_process (pending: silent in a notebook)."""
    from wslab.builtin import echo

    with pytest.warns(PendingDeprecationWarning, match="wslab.serve_process"):
        server = wslab.serve(echo, process=True)
    with server:
        assert isinstance(server, ProcessServer)
        assert server.pid != os.getpid()
        with wslab.connect(server.url) as client:
            assert client.request("x") == "x"
