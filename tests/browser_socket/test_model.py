"""The browser socket's model, without a browser: reports in, state and events out, commands;
and the backpressure comparison read from what a page measured."""

from __future__ import annotations

import base64
import json

import pytest

from wslab.browser_socket.backpressure import Api, comparison
from wslab.browser_socket.model import (
    BinaryType,
    BrowserError,
    Close,
    DataType,
    Error,
    HandlerError,
    JavaScriptError,
    Message,
    Open,
    ReadyState,
    ReportError,
    Shown,
    SocketModel,
    State,
)

OPEN_STATE = {
    "readyState": 1, "bufferedAmount": 0, "binaryType": "blob", "protocol": "chat",
    "extensions": "",
}  # fmt: skip


def event(kind: str, at: float = 0.5, state: dict | None = None, **fields) -> str:
    return json.dumps({"type": "event", "event": kind, "at": at, "state": state or OPEN_STATE,
                       **fields})  # fmt: skip


def test_hello_gives_the_token_and_the_page():
    """The first report names the token and describes the page (origin, User-Agent)."""
    token, page = SocketModel("ws://x/").hello(json.dumps({
        "type": "hello", "token": "t0k", "origin": "http://127.0.0.1:8888",
        "userAgent": "Mozilla/5.0 Chrome/140", "webSocketStream": True,
    }))  # fmt: skip
    assert token == "t0k"
    assert page.origin == "http://127.0.0.1:8888"
    assert page.user_agent.endswith("Chrome/140")
    assert page.web_socket_stream is True


@pytest.mark.parametrize(
    "text",
    ['{"type": "event"}', "[]", "not json", '{"type": "hello"}', '{"type": "hello", "token": 1}'],
)
def test_a_hello_that_is_not_one_is_refused(text):
    """Anything but a hello with a token is refused as the first report."""
    with pytest.raises(ReportError):
        SocketModel("ws://x/").hello(text)


def test_events_are_logged_in_order_with_the_state_after_each():
    """open, a text, a Blob, an ArrayBuffer, an error and a close become typed events, in
    order; the state follows the last report."""
    model = SocketModel("ws://x/")
    assert model.state == State()  # CONNECTING until the page says otherwise
    model.receive(event("open", 0.1))
    model.receive(event("message", 0.2, dataType="string", text="hi"))
    model.receive(event("message", 0.3, dataType="Blob", base64=base64.b64encode(b"\0\1").decode()))
    model.receive(event("message", 0.4, dataType="ArrayBuffer", base64="/w=="))
    model.receive(event("error", 0.5))
    closed = {**OPEN_STATE, "readyState": 3}
    model.receive(event("close", 0.6, closed, code=1006, reason="", wasClean=False))
    assert model.events == [
        Open(0.1),
        Message(0.2, "hi", DataType.TEXT),
        Message(0.3, b"\0\1", DataType.BLOB),
        Message(0.4, b"\xff", DataType.ARRAYBUFFER),
        Error(0.5),
        Close(0.6, 1006, "", False),
    ]
    assert model.state.ready_state is ReadyState.CLOSED
    assert model.state.protocol == "chat"
    assert str(model.events[-1]) == "  0.600 s  close  code=1006 reason='' wasClean=false"


@pytest.mark.parametrize(
    "report",
    [
        event("message", dataType="Text", text="x"),  # not a type the browser has
        event("message", dataType="Blob", base64="@@@"),
        event("close", code="1000"),
        event("teleport"),
        event("open", state={**OPEN_STATE, "readyState": 7}),
        event("open", state={**OPEN_STATE, "binaryType": "text"}),
        json.dumps({"type": "event", "event": "open", "state": OPEN_STATE}),  # no time
        json.dumps({"type": "reply", "id": "1", "state": OPEN_STATE}),
        json.dumps({"type": "gossip"}),
    ],
)
def test_a_bad_report_is_refused_and_changes_nothing(report):
    """A report that breaks the protocol raises ReportError and leaves the model as it was."""
    model = SocketModel("ws://x/")
    with pytest.raises(ReportError):
        model.receive(report)
    assert model.events == [] and model.state == State()


def test_commands_are_numbered_json():
    """Each command has the next id; bytes travel as base64; close() without a code is the
    browser's close() without arguments."""
    model = SocketModel("ws://x/")
    commands = [
        model.send("hello"),
        model.send(b"\x00\xff"),
        model.set_binary_type(BinaryType.ARRAYBUFFER),
        model.close(4000, "done"),
        model.close(None),
        model.query(),
    ]
    assert [number for number, _ in commands] == [1, 2, 3, 4, 5, 6]
    assert [json.loads(frame) for _, frame in commands] == [
        {"op": "send", "id": 1, "text": "hello"},
        {"op": "send", "id": 2, "base64": "AP8="},
        {"op": "binaryType", "id": 3, "value": "arraybuffer"},
        {"op": "close", "id": 4, "code": 4000, "reason": "done"},
        {"op": "close", "id": 5},
        {"op": "query", "id": 6},
    ]


def test_python_types_are_checked_browser_rules_are_the_browsers():
    """Wrong Python types fail at once; a close code the browser forbids (1005) is passed on,
    so the learner meets the browser's own error."""
    model = SocketModel("ws://x/")
    with pytest.raises(TypeError):
        model.send(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        model.close("1000")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'blob' or 'arraybuffer'"):
        model.set_binary_type("text")
    assert json.loads(model.close(1005)[1])["code"] == 1005


def test_a_reply_carries_the_state_or_what_the_browser_threw():
    """A reply updates the state; an error reply becomes a BrowserError named as in the page."""
    model = SocketModel("ws://x/")
    state = {**OPEN_STATE, "bufferedAmount": 1234}
    reply = model.receive(json.dumps({"type": "reply", "id": 1, "state": state}))
    assert reply.state is not None and reply.state.buffered_amount == 1234
    assert model.state.buffered_amount == 1234
    thrown = model.receive(json.dumps({"type": "reply", "id": 2, "error": {
        "name": "InvalidStateError", "message": "Still in CONNECTING state."}}))  # fmt: skip
    assert isinstance(thrown.error, BrowserError)
    assert thrown.error.name == "InvalidStateError"
    assert str(thrown.error) == "the browser threw InvalidStateError: Still in CONNECTING state."


def test_on_and_compare_are_commands_with_checked_arguments():
    """on() names a socket event and carries the code; compare() carries the URL and positive
    sizes; anything else fails in Python before reaching the page."""
    model = SocketModel("ws://x/")
    assert json.loads(model.on("message", "show(event.data);")[1]) == {
        "op": "on", "id": 1, "event": "message", "code": "show(event.data);"}  # fmt: skip
    assert json.loads(model.compare("ws://slow/", 4, 1024, 30)[1]) == {
        "op": "compare", "id": 2, "url": "ws://slow/", "count": 4, "size": 1024, "timeout": 30,
    }  # fmt: skip
    with pytest.raises(ValueError, match="open, message, error, close"):
        model.on("onmessage", "")
    with pytest.raises(TypeError):
        model.on("message", None)  # type: ignore[arg-type]
    for count, size in [(0, 1), (1, -5), (True, 1), (2.5, 1)]:
        with pytest.raises(ValueError, match="positive int"):
            model.compare("ws://slow/", count, size, 30)  # type: ignore[arg-type]
    for timeout in [0, -1, "30", None]:
        with pytest.raises(ValueError, match="positive number of seconds"):
            model.compare("ws://slow/", 1, 1, timeout)  # type: ignore[arg-type]


def test_what_a_handler_shows_or_throws_becomes_an_event():
    """show() and a thrown error are events in the log; the error names its line, or none."""
    model = SocketModel("ws://x/")
    model.receive(event("show", 0.1, text="21 doubled is 42"))
    error = {"name": "RangeError", "message": "not a number", "line": 3}
    model.receive(event("handlerError", 0.2, on="message", error=error))
    model.receive(event("handlerError", 0.3, on="open", error={"name": "string", "message": "x"}))
    shown, thrown, unplaced = model.events
    assert shown == Shown(0.1, "21 doubled is 42")
    assert isinstance(thrown, HandlerError) and thrown.on == "message"
    assert isinstance(thrown.error, JavaScriptError) and thrown.error.line == 3
    assert str(thrown) == (
        "  0.200 s  the message handler threw: the browser threw RangeError at line 3: not a number"
    )
    assert unplaced.error.line is None
    assert str(unplaced.error) == "the browser threw string: x"


@pytest.mark.parametrize(
    "report",
    [
        event("show", text=5),
        event("handlerError", on="onmessage", error={"name": "E", "message": "m"}),
        event("handlerError", on="message", error="boom"),
        event("handlerError", on="message", error={"name": "E", "message": "m", "line": "3"}),
    ],
)
def test_a_bad_handler_report_is_refused(report):
    """A show or handlerError report that breaks the protocol is refused like any other."""
    model = SocketModel("ws://x/")
    with pytest.raises(ReportError):
        model.receive(report)
    assert model.events == []


def test_a_compile_error_reply_is_a_javascript_error():
    """An error reply with a line (code from Python did not compile) is a JavaScriptError."""
    model = SocketModel("ws://x/")
    error = {"name": "SyntaxError", "message": "missing ) after argument list", "line": None}
    reply = model.receive(json.dumps({"type": "reply", "id": 1, "error": error}))
    assert isinstance(reply.error, JavaScriptError)
    assert str(reply.error) == "the browser threw SyntaxError: missing ) after argument list"


def measured_run(count: int, ahead: list[int], peak: int) -> dict:
    return {
        "handedOver": [n / 1000 for n in range(count)],
        "ahead": ahead,
        "read": [0.1 + n / 100 for n in range(count)],
        "peakHeld": peak,
    }


def test_a_comparison_is_read_from_the_pages_measurements():
    """The page's measurements become two Runs; the table states each side's figures."""
    measured = {
        "WebSocket": measured_run(3, [1, 2, 3], 3072),
        "WebSocketStream": measured_run(3, [1, 1, 2], 1024),
    }
    result = comparison(measured, 3, 1024)
    assert result.websocket.api is Api.WEBSOCKET and result.stream.api is Api.STREAM
    assert (result.websocket.most_ahead, result.stream.most_ahead) == (3, 2)
    assert (result.stream.sender_done, result.stream.reader_done) == (0.002, 0.1 + 2 / 100)
    assert str(result).splitlines() == [
        "API               sender done  reader done    most ahead   most bytes waiting in the page",
        "WebSocket                2 ms       120 ms    3 messages         3,072 (bufferedAmount)",
        "WebSocketStream          2 ms       120 ms    2 messages         1,024 (pending writes)",
    ]
    assert len(result.plot().axes) == 2


def test_a_browser_without_websocketstream_gives_one_run():
    """A null stream run means the browser has no WebSocketStream: the table says so."""
    measured = {"WebSocket": measured_run(2, [1, 2], 2), "WebSocketStream": None}
    result = comparison(measured, 2, 1)
    assert result.stream is None
    assert str(result).splitlines()[-1] == "WebSocketStream  this browser does not have it"
    assert result.plot().axes[1].texts[0].get_text() == "not in this browser"


@pytest.mark.parametrize(
    "measured",
    [
        {},
        {"WebSocket": measured_run(2, [1, 2], 2)},  # one message short
        {"WebSocket": {**measured_run(3, [1, 2, 3], 3), "peakHeld": 2.5}},
        {"WebSocket": {**measured_run(3, [1, 2, 3], 3), "read": [0, "1", 2]}},
        {"WebSocket": measured_run(3, [1, 2, 3], 3), "WebSocketStream": []},
    ],
)
def test_measurements_that_are_not_the_pages_are_refused(measured):
    """Missing runs, wrong lengths and wrong types raise ReportError."""
    with pytest.raises(ReportError):
        comparison(measured, 3, 1)
