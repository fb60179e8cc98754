"""The report channel with a stand-in page (a websockets client playing the page's part), and
the blocking calls without any page: what a script or an automated run of a lesson meets."""

from __future__ import annotations

import json
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed

import wslab
from wslab.browser_socket import BrowserError, NoBrowserError, PageGone, ReadyState, widget

STATE = {"readyState": 1, "bufferedAmount": 0, "binaryType": "blob", "protocol": "",
         "extensions": ""}  # fmt: skip


class StandInPage:
    """The page's side of the protocol, by hand: hello, then answer each command."""

    def __init__(self, socket, token: str | None = None, welcomed: bool = True) -> None:
        self.connection = wslab.connect(socket.view.report_url)
        self.connection.send(json.dumps({
            "type": "hello", "token": socket.token if token is None else token,
            "origin": "http://127.0.0.1:8888", "userAgent": "stand-in", "webSocketStream": False,
        }))  # fmt: skip
        if welcomed:  # the kernel says when the page may open the socket
            assert json.loads(self.connection.recv(timeout=5)) == {"type": "welcome"}

    def report(self, kind: str, **fields) -> None:
        self.connection.send(json.dumps({"type": "event", "event": kind, "at": 0.25,
                                         "state": STATE, **fields}))  # fmt: skip

    def answer(self, error: dict | None = None) -> dict:
        """Receive one command and reply to it (with the state, or with `error`)."""
        command = json.loads(self.connection.recv(timeout=5))
        reply = {"type": "reply", "id": command["id"]}
        reply.update({"error": error} if error else {"state": STATE})
        self.connection.send(json.dumps(reply))
        return command


def in_thread(work) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_without_a_page_blocking_calls_say_so_within_the_bound(monkeypatch, capsys):
    """No page attaches: wait_open() raises NoBrowserError once ATTACH_TIMEOUT has passed since
    the socket was created, and needs_browser() turns it into a sentence for the learner."""
    monkeypatch.setattr(widget, "ATTACH_TIMEOUT", 0.3)
    monkeypatch.setattr(widget._Pages, "missing", False)
    server = wslab.echo_server()
    socket = wslab.browser_socket(server.url)
    started = time.monotonic()
    with pytest.raises(NoBrowserError, match="no browser is showing this notebook"):
        socket.wait_open(timeout=30)
    assert time.monotonic() - started < 5  # the bound, not the timeout
    with socket.needs_browser():
        socket.send("hello")
    assert capsys.readouterr().out.startswith(
        "This cell needs the notebook open in JupyterLab. no browser is showing this notebook"
    )
    assert socket.events == []


def test_after_one_missing_page_later_sockets_give_up_sooner(monkeypatch):
    """Once a socket found no page and none ever attached, the next waits RECHECK_TIMEOUT."""
    monkeypatch.setattr(widget, "ATTACH_TIMEOUT", 60)
    monkeypatch.setattr(widget, "RECHECK_TIMEOUT", 0.2)
    monkeypatch.setattr(widget._Pages, "attached", False)
    monkeypatch.setattr(widget._Pages, "missing", True)
    with pytest.raises(NoBrowserError, match="within 0.2 s"):
        wslab.browser_socket("ws://127.0.0.1:9/").next_message()


def test_a_blocked_call_returns_when_the_page_reports():
    """next_message() blocks this thread until the page's report arrives on the channel's own
    thread: nothing needs the kernel's message loop."""
    socket = wslab.browser_socket("ws://127.0.0.1:9/")
    page = StandInPage(socket)

    def page_side():
        page.report("open")
        command = page.answer()
        page.report("message", dataType="string", text=command["text"].upper())

    thread = in_thread(page_side)
    socket.wait_open()
    socket.send("hello")
    message = socket.next_message()
    thread.join()
    assert (message.data, message.at) == ("HELLO", 0.25)
    assert socket.page.user_agent == "stand-in"


def test_properties_are_read_in_the_page_and_errors_are_the_browsers():
    """ready_state asks the page; a command the page rejects raises the browser's error."""
    socket = wslab.browser_socket("ws://127.0.0.1:9/")
    page = StandInPage(socket)
    thread = in_thread(
        lambda: (
            page.answer(),
            page.answer({"name": "InvalidAccessError", "message": "The close code must be..."}),
        )
    )
    assert socket.ready_state is ReadyState.OPEN
    with pytest.raises(BrowserError, match="InvalidAccessError"):
        socket.close(1005)
    thread.join()


def test_one_page_per_socket_and_only_with_its_token():
    """A wrong token is refused with 4403, a second page with 4409: neither is welcomed."""
    socket = wslab.browser_socket("ws://127.0.0.1:9/")
    page = StandInPage(socket)
    thread = in_thread(page.answer)
    assert socket.ready_state is ReadyState.OPEN  # answered: this page is attached
    thread.join()
    for token, code in [("guessed", 4403), (None, 4409)]:
        intruder = StandInPage(socket, token, welcomed=False)
        with pytest.raises(ConnectionClosed) as closed:
            intruder.connection.recv(timeout=5)
        assert closed.value.rcvd.code == code


def test_a_page_that_goes_away_ends_the_waits():
    """When the page's channel closes (a reload), a blocked wait raises PageGone, not a hang."""
    socket = wslab.browser_socket("ws://127.0.0.1:9/")
    page = StandInPage(socket)
    thread = in_thread(lambda: (page.report("open"), page.connection.close()))
    with pytest.raises(PageGone):
        socket.next_message(timeout=30)
    thread.join()
