"""The state of one browser WebSocket as its page reports it, and the commands Python sends it.

Sans-I/O: no sockets, no threads, no widgets. `SocketModel` takes the page's reports (JSON text,
as they arrive over the report channel) and turns Python's requests into command frames.

The report channel protocol (one WebSocket from the page to the kernel, see `channel`):

- page → kernel, text frames, JSON objects with a ``type``:
  ``hello`` (first, once: ``token``, ``origin``, ``userAgent``, ``webSocketStream``);
  ``event`` (``event``: open, message, error or close; ``at``: seconds since the page created
  the socket; a message adds ``dataType`` and ``text`` or ``base64``; a close adds ``code``,
  ``reason`` and ``wasClean``; every event carries the socket's ``state`` right after it);
  ``reply`` (to the command of the same ``id``: its ``state``, or the ``error`` the browser
  threw, as ``name``, ``message`` and, for code the page compiled, ``line`` or null; a reply to
  ``compare`` adds ``measured``).
- kernel → page, text frames: first ``{"type": "welcome"}`` once the kernel accepted the hello
  (only then does the page open the socket: a widget restored from a saved notebook, whose
  kernel is gone, opens nothing); then commands, JSON objects with an ``op`` and an ``id``:
  ``send`` (``text`` or ``base64``), ``close`` (``code`` and ``reason``, or neither),
  ``binaryType`` (``value``), ``query`` (nothing: the reply says the current state);
  ``on`` (``event`` and ``code``: the body of a JavaScript handler the page compiles and runs
  on that event of its socket, replacing the one set before; ``code`` "" removes it);
  ``compare`` (``url``, ``count``, ``size``, ``timeout``: the page sends ``count`` messages
  of ``size`` bytes to ``url`` with each of its two APIs, each within ``timeout`` seconds, and
  replies with what it measured, see `backpressure`).
- page → kernel, more events: ``show`` (``text``: what a handler passed to ``show()``) and
  ``handlerError`` (``on``: the event whose handler threw; ``name``, ``message``, and
  ``line`` in the handler's code or null).

The page handles reports and commands in order, so a reply comes after every event the page saw
before it ran the command.
"""

from __future__ import annotations

import base64
import enum
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BinaryType",
    "BrowserError",
    "Close",
    "DataType",
    "Error",
    "Event",
    "HandlerError",
    "JavaScriptError",
    "Message",
    "Open",
    "Page",
    "ReadyState",
    "ReportError",
    "Reply",
    "Shown",
    "SocketModel",
    "State",
]


class ReadyState(enum.IntEnum):
    """``WebSocket.readyState``, with the numbers the browser uses."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


class BinaryType(enum.Enum):
    """``WebSocket.binaryType``: what a binary message's ``event.data`` is in the page."""

    BLOB = "blob"
    ARRAYBUFFER = "arraybuffer"


class DataType(enum.Enum):
    """What the page's ``onmessage`` got as ``event.data``: a text, or bytes in one of two
    wrappers (chosen by `BinaryType` before the message arrived)."""

    TEXT = "string"
    BLOB = "Blob"
    ARRAYBUFFER = "ArrayBuffer"


class ReportError(ValueError):
    """A report that does not follow the protocol (the page, or something posing as it)."""


class BrowserError(RuntimeError):
    """An exception the browser threw for a command, e.g. ``InvalidStateError`` from a send
    while the socket is still connecting. `name` is the DOMException's name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"the browser threw {name}: {message}")
        self.name = name


class JavaScriptError(BrowserError):
    """Code from Python that the page could not compile (a ``SyntaxError``), or a handler that
    threw. `line` is the line of that code, when the browser says (counting from 1)."""

    def __init__(self, name: str, message: str, line: int | None = None) -> None:
        super().__init__(name, message)
        self.line = line
        if line is not None:
            self.args = (f"the browser threw {name} at line {line}: {message}",)


# --- what the page reports ---------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """The socket's attributes, as the page read them."""

    ready_state: ReadyState = ReadyState.CONNECTING
    buffered_amount: int = 0
    binary_type: BinaryType = BinaryType.BLOB
    protocol: str = ""
    extensions: str = ""


@dataclass(frozen=True)
class Page:
    """The page that runs the socket, as its hello describes it."""

    origin: str
    """``location.origin``: the Origin header its WebSockets send."""
    user_agent: str
    web_socket_stream: bool
    """Whether this browser has ``WebSocketStream`` (the streams-based API with backpressure)."""


@dataclass(frozen=True)
class Open:
    at: float
    """Seconds since the page created the socket (the browser's clock)."""

    def __str__(self) -> str:
        return f"{self.at:7.3f} s  open"


@dataclass(frozen=True)
class Message:
    at: float
    data: str | bytes
    type: DataType
    """What ``event.data`` was in the page: a string, a Blob or an ArrayBuffer."""

    def __str__(self) -> str:
        return f"{self.at:7.3f} s  message  {self.type.value}  {self.data!r}"


@dataclass(frozen=True)
class Error:
    at: float

    def __str__(self) -> str:
        # The browser's error event carries no detail at all, by design (a page must not
        # learn why a connection to another site failed).
        return f"{self.at:7.3f} s  error"


@dataclass(frozen=True)
class Close:
    at: float
    code: int
    reason: str
    was_clean: bool

    def __str__(self) -> str:
        return (
            f"{self.at:7.3f} s  close  code={self.code} reason={self.reason!r} "
            f"wasClean={str(self.was_clean).lower()}"
        )


@dataclass(frozen=True)
class Shown:
    """A handler set with ``on()`` called ``show(text)``."""

    at: float
    text: str

    def __str__(self) -> str:
        return f"{self.at:7.3f} s  show  {self.text!r}"


@dataclass(frozen=True)
class HandlerError:
    """A handler set with ``on()`` threw (or its promise rejected) while handling `on`."""

    at: float
    on: str
    """The socket event the handler was running for: open, message, error or close."""
    error: JavaScriptError

    def __str__(self) -> str:
        return f"{self.at:7.3f} s  the {self.on} handler threw: {self.error}"


Event = Open | Message | Error | Close | Shown | HandlerError

#: The socket events a page's handler can be set for.
SOCKET_EVENTS = ("open", "message", "error", "close")


@dataclass(frozen=True)
class Reply:
    """The page's answer to the command `id`: the state after it ran, or what it threw."""

    id: int
    state: State | None
    error: BrowserError | None
    measured: dict[str, Any] | None = None
    """What a ``compare`` command measured, as the page sent it (see `backpressure`)."""


@dataclass
class SocketModel:
    """One browser socket: the page's reports in, commands out (see the module docstring)."""

    url: str
    protocols: tuple[str, ...] = ()
    page: Page | None = None
    state: State = field(default_factory=State)
    events: list[Event] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    # --- page → Python -----------------------------------------------------------------------

    def hello(self, text: str | bytes) -> tuple[str, Page]:
        """The first report of a page: (the token it presents, the page)."""
        report = _json_object(text)
        if report.get("type") != "hello" or not isinstance(report.get("token"), str):
            raise ReportError("the first report must be a hello with a token")
        page = Page(
            origin=_text(report, "origin"),
            user_agent=_text(report, "userAgent"),
            web_socket_stream=bool(report.get("webSocketStream")),
        )
        return report["token"], page

    def receive(self, text: str | bytes) -> Event | Reply:
        """Apply one report of the page (after its hello); return the event or the reply."""
        report = _json_object(text)
        kind = report.get("type")
        if kind == "event":
            event, state = _event(report), _state(report.get("state"))  # both parse, or neither
            self.events.append(event)
            self.state = state
            return event
        if kind == "reply":
            number = report.get("id")
            if not isinstance(number, int):
                raise ReportError("a reply needs an integer id")
            if (error := report.get("error")) is not None:
                if not isinstance(error, dict):
                    raise ReportError("a reply's error must be an object")
                return Reply(number, None, _thrown(error))
            measured = report.get("measured")
            if measured is not None and not isinstance(measured, dict):
                raise ReportError("a reply's measured must be an object")
            self.state = _state(report.get("state"))
            return Reply(number, self.state, None, measured)
        raise ReportError(f"unknown report type {kind!r}")

    # --- Python → page -----------------------------------------------------------------------

    def send(self, data: str | bytes) -> tuple[int, str]:
        """The command that sends `data` (text, or bytes as a binary message): (id, frame)."""
        if isinstance(data, str):
            return self._command("send", text=data)
        if isinstance(data, (bytes, bytearray, memoryview)):
            return self._command("send", base64=base64.b64encode(bytes(data)).decode("ascii"))
        raise TypeError(f"send() takes str or bytes, not {type(data).__name__}")

    def close(self, code: int | None = 1000, reason: str = "") -> tuple[int, str]:
        """The command that calls ``close(code, reason)`` (or ``close()`` for code None).

        The browser checks the values (1000 or 3000-4999; a reason of at most 123 bytes of
        UTF-8) and throws otherwise; we pass them on so that the learner sees its own error.
        """
        if code is None:
            return self._command("close")
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError(f"code must be an int, not {type(code).__name__}")
        if not isinstance(reason, str):
            raise TypeError(f"reason must be a str, not {type(reason).__name__}")
        return self._command("close", code=code, reason=reason)

    def set_binary_type(self, value: BinaryType | str) -> tuple[int, str]:
        """The command that sets ``binaryType`` ("blob" or "arraybuffer")."""
        try:
            chosen = BinaryType(value)
        except ValueError:
            message = f"binary_type must be 'blob' or 'arraybuffer', got {value!r}"
            raise ValueError(message) from None
        return self._command("binaryType", value=chosen.value)

    def on(self, event: str, code: str) -> tuple[int, str]:
        """The command that makes `code` the page's handler of `event` (open, message, error or
        close): the body of ``async (event, socket, show) => { code }``. "" removes it."""
        if event not in SOCKET_EVENTS:
            raise ValueError(f"event must be one of {', '.join(SOCKET_EVENTS)}, got {event!r}")
        if not isinstance(code, str):
            raise TypeError(f"code must be a str of JavaScript, not {type(code).__name__}")
        return self._command("on", event=event, code=code)

    def compare(self, url: str, count: int, size: int, timeout: float) -> tuple[int, str]:
        """The command that runs the backpressure comparison against `url` (see
        `backpressure`): `count` messages of `size` bytes with each API, each run ended with
        an error after `timeout` seconds."""
        for name, value in (("count", count), ("size", size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        return self._command("compare", url=url, count=count, size=size, timeout=timeout)

    def query(self) -> tuple[int, str]:
        """The command that asks for the socket's current state."""
        return self._command("query")

    def _command(self, op: str, **fields: Any) -> tuple[int, str]:
        number = next(self._ids)
        return number, json.dumps({"op": op, "id": number, **fields})


# --- parsing ---------------------------------------------------------------------------------


def _json_object(text: str | bytes) -> dict[str, Any]:
    if isinstance(text, bytes):
        raise ReportError("reports are text frames")
    try:
        report = json.loads(text)
    except ValueError as exc:
        raise ReportError(f"a report must be JSON: {exc}") from None
    if not isinstance(report, dict):
        raise ReportError("a report must be a JSON object")
    return report


def _text(report: dict[str, Any], key: str) -> str:
    value = report.get(key, "")
    if not isinstance(value, str):
        raise ReportError(f"{key} must be a string")
    return value


def _number(report: dict[str, Any], key: str) -> float:
    value = report.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ReportError(f"{key} must be a number")
    return value


def _object(report: dict[str, Any], key: str) -> dict[str, Any]:
    value = report.get(key)
    if not isinstance(value, dict):
        raise ReportError(f"{key} must be an object")
    return value


def _state(raw: Any) -> State:
    if not isinstance(raw, dict):
        raise ReportError("state must be an object")
    try:
        return State(
            ready_state=ReadyState(raw.get("readyState")),
            buffered_amount=int(_number(raw, "bufferedAmount")),
            binary_type=BinaryType(raw.get("binaryType")),
            protocol=_text(raw, "protocol"),
            extensions=_text(raw, "extensions"),
        )
    except ValueError as exc:
        raise ReportError(f"bad state: {exc}") from None


def _thrown(error: Any) -> BrowserError:
    """A reported ``{name, message, line?}``: a JavaScriptError when it names a line or came
    from code the page compiled, else the browser's own error."""
    if not isinstance(error, dict):
        raise ReportError("an error must be an object")
    name, message = str(error.get("name")), str(error.get("message"))
    if "line" not in error:
        return BrowserError(name, message)
    line = error["line"]
    if line is not None and (not isinstance(line, int) or isinstance(line, bool)):
        raise ReportError("an error's line must be an integer or null")
    return JavaScriptError(name, message, line)


def _event(report: dict[str, Any]) -> Event:
    at, kind = _number(report, "at"), report.get("event")
    if kind == "show":
        return Shown(at, _text(report, "text"))
    if kind == "handlerError":
        on = report.get("on")
        if on not in SOCKET_EVENTS:
            raise ReportError(f"a handlerError names a socket event, not {on!r}")
        thrown = _thrown({"line": None, **_object(report, "error")})
        assert isinstance(thrown, JavaScriptError)
        return HandlerError(at, on, thrown)
    if kind == "open":
        return Open(at)
    if kind == "error":
        return Error(at)
    if kind == "close":
        code = report.get("code")
        if not isinstance(code, int):
            raise ReportError("a close needs an integer code")
        return Close(at, code, _text(report, "reason"), bool(report.get("wasClean")))
    if kind == "message":
        try:
            data_type = DataType(report.get("dataType"))
        except ValueError:
            raise ReportError(f"unknown dataType {report.get('dataType')!r}") from None
        if data_type is DataType.TEXT:
            return Message(at, _text(report, "text"), data_type)
        try:
            data = base64.b64decode(_text(report, "base64"), validate=True)
        except ValueError:
            raise ReportError("a binary message's base64 is not valid") from None
        return Message(at, data, data_type)
    raise ReportError(f"unknown event {kind!r}")
