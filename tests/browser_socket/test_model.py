"""The browser socket's model, without a browser: reports in, state and events out, commands."""

from __future__ import annotations

import base64
import json

import pytest

from wslab.browser_socket.model import (
    BinaryType,
    BrowserError,
    Close,
    DataType,
    Error,
    Message,
    Open,
    ReadyState,
    ReportError,
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
