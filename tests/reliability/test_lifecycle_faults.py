"""Faults in the life of a notebook: interrupts, cells re-run in any order, crashing handlers,
servers stopped under live clients.

The first two run in a real IPython kernel (jupyter_client), the way a learner's cells run.
"""

from __future__ import annotations

import json
import queue
import random
import socket
import struct
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ipykernel.kernelspec
import nbformat
import pytest
import websockets
from helpers import Resources, assert_released, wait_until
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

import wslab
from wslab._loop import BackgroundLoop
from wslab.lab import NOTEBOOKS
from wslab.server import STOP_GRACE

TESTS = Path(__file__).resolve().parents[1]


# --- a kernel, as a learner's notebook has ----------------------------------------------------


class _ThisPython(KernelSpecManager):
    """Kernels run with this interpreter (the venv's), whatever kernels are installed."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
        )


class Kernel:
    """A running IPython kernel that executes cells and returns what they showed."""

    def __init__(self, cwd: Path) -> None:
        self.manager = KernelManager(kernel_name="this-python", kernel_spec_manager=_ThisPython())
        self.manager.start_kernel(cwd=str(cwd))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def start(self, code: str) -> str:
        """Send a cell and return as soon as the kernel is busy with it."""
        msg_id = self.client.execute(code, store_history=False)
        while True:
            msg = self.client.get_iopub_msg(timeout=10)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status":
                if msg["content"]["execution_state"] == "busy":
                    return msg_id

    def finish(self, msg_id: str, timeout: float = 30) -> dict[str, Any]:
        """Wait for the cell `msg_id` to end; its status, stdout, stderr and error name."""
        result: dict[str, Any] = {"stdout": "", "stderr": "", "error": None}
        deadline = time.monotonic() + timeout
        while True:
            msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                result[content["name"]] += content["text"]
            elif kind == "error":
                result["error"] = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                return result

    def run(self, code: str, timeout: float = 30) -> dict[str, Any]:
        return self.finish(self.start(code), timeout)

    def check(self, code: str) -> str:
        """Run `code`, which must succeed and print nothing on stderr; return its stdout."""
        result = self.run(code)
        assert result["error"] is None and result["stderr"] == "", result
        return result["stdout"]

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    running = Kernel(NOTEBOOKS)
    try:
        yield running
    finally:
        running.shutdown()


def test_interrupting_a_blocked_recv_leaves_server_and_client_usable(kernel: Kernel):
    """An interrupt (the ■ button) during ``recv(timeout=None)`` ends the cell at once with
    KeyboardInterrupt; the next cell finds the server serving and the client still usable."""
    kernel.check("import wslab\nserver = wslab.echo_server()\nws = wslab.connect(server.url)")
    blocked = kernel.start("ws.recv(timeout=None)  # nothing will ever come")
    time.sleep(0.3)  # inside recv() by now
    started = time.monotonic()
    kernel.manager.interrupt_kernel()
    result = kernel.finish(blocked, timeout=5)
    assert result["error"].startswith("KeyboardInterrupt")
    assert time.monotonic() - started < 2
    after = kernel.check(
        "print(ws.request('after'), server.running)\n"
        "with wslab.connect(server.url) as other:\n"
        "    print(other.request('newcomer'))\n"
        "import threading\n"
        "print(sorted(t.name for t in threading.enumerate() if t.name.startswith('wslab')))"
    )
    assert after == "after True\nnewcomer\n['wslab-echo']\n"
    assert kernel.check("wslab.stop_all()\nprint(server.log('error'))") == "(log is empty)\n"


# --- cells re-run in any order ----------------------------------------------------------------

#: Run in the kernel after each cell: loop threads must match running services one to one.
CENSUS = textwrap.dedent(
    """
    import json as _json, threading as _threading, wslab as _wslab
    from wslab._loop import BackgroundLoop as _BackgroundLoop
    print(_json.dumps({
        "loops": sorted(
            t.name for t in _threading.enumerate()
            if isinstance(getattr(getattr(t, "_target", None), "__self__", None), _BackgroundLoop)
        ),
        "services": sorted("wslab-" + name for name in _wslab.running()),
    }))
    """
)

#: Lessons whose every cell is re-run in a shuffled order: the one with the most kinds of
#: service, and the one with clients that run threads of their own (chat panels and bots).
#: Each costs a few seconds; all seven take about two minutes.
SHUFFLED_LESSONS = ["00_welcome.ipynb", "06_chat_room.ipynb"]


@pytest.mark.parametrize("lesson", SHUFFLED_LESSONS)
def test_rerunning_lesson_cells_in_any_order_leaks_nothing(kernel: Kernel, lesson: str):
    """A lesson run top to bottom, then each of its cells once more in a random order: at every
    step each background loop belongs to a running service, and after stop_all() the kernel
    holds no thread or socket more than after the first run."""
    cells = [
        c.source
        for c in nbformat.read(NOTEBOOKS / lesson, as_version=4).cells
        # wslab.check() grades in a subprocess (seconds each; see test_untrusted_submissions)
        if c.cell_type == "code" and "wslab.check(" not in c.source
    ]
    order = list(range(len(cells)))
    random.Random(lesson).shuffle(order)
    kernel.check(
        f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
        "from helpers import Resources, assert_released\n"
        "import matplotlib, wslab\nmatplotlib.use('agg')"
    )
    for run in ("in order", "shuffled"):
        for index in range(len(cells)) if run == "in order" else order:
            kernel.run(cells[index], timeout=60)  # out of order, a cell may well fail: fine
            census = json.loads(kernel.check(CENSUS))
            assert census["loops"] == census["services"], f"{run}, cell {index}: {census}"
        # The first run's leftovers are the kernel's own (matplotlib, IPython): the baseline.
        kernel.check(
            "wslab.stop_all()\n"
            + ("_before = Resources.now()" if run == "in order" else "assert_released(_before)")
        )


def test_restarting_services_in_any_order_keeps_one_thread_each():
    """Every factory called again and again, in random orders: one loop per name, no more."""
    before = Resources.now()
    wslab.echo_server()
    starts: dict[str, Callable[[], Any]] = {
        "echo": lambda: wslab.echo_server(),
        "push": lambda: wslab.push_server(interval=0.01),
        "handler": lambda: wslab.serve(handler),
        "http": lambda: wslab.http_server(interval=0.01),
        "tap": lambda: wslab.tap(wslab.running()["echo"], name="tap"),
        "chat": lambda: wslab.chat_server(),
    }

    async def handler(websocket):
        async for message in websocket:
            await websocket.send(message)

    rng = random.Random(7)
    for _ in range(40):
        name = rng.choice(list(starts))
        service = starts[name]()
        if name != "http":
            with wslab.connect(service.url) as client:
                client.send("hi")
        loops = [t for t in threading.enumerate() if _loop_of(t) is not None]
        assert len(loops) == len(wslab.running()), [t.name for t in loops]
    wslab.stop_all()
    assert_released(before)


def _loop_of(thread: threading.Thread) -> BackgroundLoop | None:
    owner = getattr(getattr(thread, "_target", None), "__self__", None)
    return owner if isinstance(owner, BackgroundLoop) else None


# --- crashing handlers ------------------------------------------------------------------------


def test_a_crashing_handler_shows_in_the_log_and_the_next_call(capfd):
    """A handler that raises: the client's next call fails at once with 1011 and a note naming
    the handler's exception; the log has the traceback; nothing is printed; others go on."""

    async def fragile(websocket):
        async for message in websocket:
            if message == "crash":
                raise ZeroDivisionError("the handler divided by zero")
            await websocket.send(message)

    server = wslab.serve(fragile)
    tap = wslab.tap(server)
    for url in (server.url, tap.url):  # directly, and through a tap
        with wslab.connect(url) as bystander, wslab.connect(url) as client:
            client.send("crash")
            started = time.monotonic()
            with pytest.raises(websockets.ConnectionClosedError) as failure:
                client.recv(timeout=10)
            assert time.monotonic() - started < 2  # no silent hang
            assert failure.value.rcvd.code == 1011
            notes = "\n".join(getattr(failure.value, "__notes__", []))
            assert "ZeroDivisionError: the handler divided by zero" in notes
            assert "log('error')" in notes
            assert bystander.request("still here") == "still here"
    errors = str(wait_until(lambda: len(server.log("error")) == 2 and server.log("error")))
    assert "Traceback" in errors and "ZeroDivisionError" in errors
    assert [type(e) for e in server.errors] == [ZeroDivisionError, ZeroDivisionError]
    assert capfd.readouterr() == ("", "")


def test_a_note_only_for_errors_after_connecting():
    """Errors of earlier connections are not pinned on a later, unrelated failure."""

    async def first_crashes(websocket):
        message = await websocket.recv()
        if message == "crash":
            raise RuntimeError("crash")
        await websocket.close(4000, "bye")

    server = wslab.serve(first_crashes)
    with wslab.connect(server.url) as client:
        client.send("crash")
        with pytest.raises(websockets.ConnectionClosedError):
            client.recv()
    with wslab.connect(server.url) as client:
        client.send("fine")
        with pytest.raises(websockets.ConnectionClosedError) as failure:
            client.recv()
    assert failure.value.rcvd.code == 4000
    assert not getattr(failure.value, "__notes__", None)


# --- stopping under live clients --------------------------------------------------------------


def test_stopping_a_server_closes_live_clients_with_1001(capfd):
    """stop() with clients connected (idle, mid-receive, reading a push stream, in a chat
    room) closes each with 1001 (going away), promptly, and leaves nothing behind."""
    before = Resources.now()

    async def waits(websocket):
        await websocket.wait_closed()

    servers = {
        "echo": wslab.echo_server(),
        "push": wslab.push_server(interval=0.001),
        "waits": wslab.serve(waits),
        "chat": wslab.chat_server(),
    }
    clients = {name: [wslab.connect(s.url) for _ in range(3)] for name, s in servers.items()}
    clients["push"][0].recv()
    time.sleep(0.2)  # hundreds of events unread: the push clients stop reading the socket
    receiving: queue.Queue[BaseException] = queue.Queue()
    blocked = threading.Thread(target=lambda: _recv_into(clients["waits"][0], receiving))
    blocked.start()
    started = time.monotonic()
    for server in servers.values():
        server.stop()
    # Clients that stopped reading never answer the Close: the push server waits STOP_GRACE.
    assert time.monotonic() - started < STOP_GRACE + 2
    blocked.join(5)
    assert isinstance(receiving.get(timeout=1), websockets.ConnectionClosedOK)
    for name, group in clients.items():
        for client in group:
            with pytest.raises(websockets.ConnectionClosed):
                while True:  # the push client has unread events before the close
                    client.recv(timeout=5)
            assert client.close_code == 1001, name
            client.close()
    assert capfd.readouterr() == ("", "")
    assert_released(before)


def _recv_into(client: wslab.Client, into: queue.Queue) -> None:
    try:
        client.recv(timeout=10)
    except BaseException as exc:  # noqa: BLE001 -- handed to the test
        into.put(exc)


def test_a_tap_survives_clients_that_reset_at_once(capfd):
    """Clients that connect and reset straight away (before the tap has set up its side) leave
    no error in the tap's log and no connection open behind it."""
    server = wslab.echo_server()
    tap = wslab.tap(server)
    for _ in range(100):
        sock = socket.create_connection((tap.host, tap.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    with wslab.connect(tap.url) as client:
        assert client.request("after") == "after"
    wait_until(lambda: server.connections == 0)
    assert tap.log("error") == []
    assert capfd.readouterr() == ("", "")
