"""A chat client in the kernel: what it knows (`ChatModel`) and its connection (`ChatConnection`).

- `ChatModel`, plain state with no I/O: it applies the server's messages (`apply`) and builds
  the client's (`join_text`, `send_text`, `whisper_text`, `typing_text`); it holds the log,
  who is online, who is typing, the errors. Testable without a server.
- `ChatConnection`, one client of a chat server: a `wslab.connect()` client joined to a room
  and a daemon thread that receives, feeds the model and wakes whoever waits on `changed`.
  The panel (`wslab.chat.panel`) and the bots (`wslab.chat.bots`) are connections.

One client per nick in a kernel: opening a connection with a nick already in use here closes
the old one first, so re-running a cell is safe. Nothing here ever prints.
"""

from __future__ import annotations

import enum
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from websockets.exceptions import ConnectionClosed

from .._registry import registry
from ..client import Client, connect
from . import protocol

#: How many lines the log keeps; older lines are dropped.
MAX_LINES = 200
#: Seconds to wait for the server's welcome, an ack, or a closing handshake.
TIMEOUT = 5.0
#: How long `ChatPanel.close()` waits for its threads to end.
JOIN_TIMEOUT = 2.0
#: Error codes the server sends in reply to a say or a whisper (rather than to a join).
SEND_ERRORS = frozenset({"too_long", "no_such_user", "bad_message"})
#: After closing an older client with the same nick, how long the server may take to forget it.
REJOIN_TIMEOUT = 3.0


class State(enum.Enum):
    """Where a chat client is: waiting for its welcome, in a room, or disconnected."""

    CONNECTING = "connecting"
    JOINED = "joined"
    CLOSED = "closed"


class Sent(enum.Enum):
    """Where a text this client sent stands: waiting for the server's ack, acked, or refused."""

    PENDING = "pending"
    ACKED = "acked"
    FAILED = "failed"


class ChatRefused(Exception):
    """The server refused a join, a say or a whisper: `code` is its error code (e.g.
    ``nick_taken``, ``too_long``, ``no_such_user``), `reason` its explanation."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


# --- the model: what a client knows ----------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    """One line of the log. `str()` gives it as plain text, e.g. ``"bob: hi"``."""

    kind: str
    """"message" (to the room), "private" (a whisper, either way), "notice" or "error"."""
    text: str
    sender: str = ""
    """Who wrote it ("" for notices and errors)."""
    to: str = ""
    """For a whisper: its recipient."""
    id: int | None = None
    """The server's message id, once known."""
    ref: str = ""
    """For a line this client sent: the token the server echoes in its ack."""
    status: Sent | None = None
    """For a line this client sent: `Sent.PENDING` until acked, then `Sent.ACKED` or
    `Sent.FAILED`; None for every other line."""

    def __str__(self) -> str:
        if self.kind == "message":
            return f"{self.sender}: {self.text}"
        if self.kind == "private":
            return f"{self.sender} → {self.to} (private): {self.text}"
        if self.kind == "error":
            return f"! {self.text}"
        return f"* {self.text}"


class ChatModel:
    """What one chat client knows, as plain data: no widgets, no threads, no socket.

    Feed it the server's messages (dicts or JSON text) with `apply()`; ask it for the JSON of
    the messages to send. Rules: own messages are logged when sent, "pending" until the
    server acks them; the server answers says and whispers in order, so an error about a
    text (`SEND_ERRORS`) belongs to the oldest one still pending.
    """

    def __init__(self, nick: str, room: str = "lobby", max_lines: int = MAX_LINES) -> None:
        if max_lines < 1:
            raise ValueError(f"max_lines must be at least 1, not {max_lines}")
        self.nick = nick
        self.room = room
        self.max_lines = max_lines
        self.lines: list[LogLine] = []
        """The log, oldest first: the newest `max_lines` lines."""
        self.online: list[str] = []
        """Who is in the room, sorted: the welcome's list, then kept up by presence_changed."""
        self.errors: list[tuple[str, str]] = []
        """Every error the server sent, as (code, reason)."""
        self.state = State.CONNECTING
        """`State.CONNECTING`, then `State.JOINED`, then `State.CLOSED`."""
        self.closed_because = ""
        """Once closed: the close code and reason, in words."""
        self.last_id: int | None = None
        """The newest message id seen (what a reconnecting client would send as last_id)."""
        self.results: dict[str, int | ChatRefused] = {}
        """For each text this client sent, by ref: the id the server acked, or its error."""
        self.version = 0
        """Counts changes: whoever renders the model compares it to what it last showed."""
        self._typing: set[str] = set()
        self._typing_sent = False
        self._pending: dict[str, LogLine] = {}  # by ref, oldest first
        self._refs = itertools.count(1)
        self._last_ref = ""

    # --- input: the server's messages ------------------------------------------------------

    def apply(self, message: dict[str, Any] | str) -> bool:
        """Take one server message into account; return whether anything on show changed."""
        if isinstance(message, str):
            try:
                message = json.loads(message)
            except ValueError:
                pass
        if not isinstance(message, dict):
            self._log(LogLine("error", f"unexpected message from the server: {message!r}"))
            self.version += 1
            return True
        handler = getattr(self, f"_on_{message.get('type')}", None)
        try:
            changed = handler(message) if handler is not None else False
        except (KeyError, TypeError, ValueError):
            self._log(LogLine("error", f"unexpected message from the server: {message}"))
            changed = True
        if changed:
            self.version += 1
        return changed

    def connection_closed(self, code: int | None, reason: str = "") -> None:
        """The connection ended (`code` is None when no close frame came)."""
        described = "no close frame" if code is None else f"code {code}"
        self.closed_because = described + (f" {reason!r}" if reason else "")
        self.state = State.CLOSED
        self._typing.clear()
        self._log(LogLine("notice", f"disconnected ({self.closed_because})"))
        self.version += 1

    def local_error(self, text: str) -> None:
        """Log something that went wrong on this side (e.g. sending on a closed connection)."""
        self._log(LogLine("error", text))
        self.version += 1

    # --- output: the client's messages -----------------------------------------------------

    def join_text(self, last_id: int | None = None) -> str:
        """The join message: the first thing a client sends."""
        return protocol.encode_client(protocol.Join(self.nick, self.room, last_id))

    def send_text(self, text: str) -> str:
        """The JSON of a say, logged here as pending until acked; its ref is `last_ref`."""
        ref = self._new_ref()
        self._typing_sent = False  # the server ends a member's typing when it says something
        self._pending[ref] = self._log(
            LogLine("message", text, sender=self.nick, ref=ref, status=Sent.PENDING)
        )
        self.version += 1
        return protocol.encode_client(protocol.Say(text, ref))

    def whisper_text(self, to: str, text: str) -> str:
        """The JSON of a whisper to `to`, logged here as pending until acked."""
        ref = self._new_ref()
        self._pending[ref] = self._log(
            LogLine("private", text, sender=self.nick, to=to, ref=ref, status=Sent.PENDING)
        )
        self.version += 1
        return protocol.encode_client(protocol.Whisper(to, text, ref))

    def typing_text(self, typing: bool) -> str | None:
        """The JSON telling the room this client started or stopped typing; None if no change."""
        if typing == self._typing_sent:
            return None
        self._typing_sent = typing
        return protocol.encode_client(protocol.Typing(typing))

    @staticmethod
    def who_text() -> str:
        return protocol.encode_client(protocol.Who())

    @property
    def last_ref(self) -> str:
        """The ref of the newest text built by `send_text` or `whisper_text`."""
        return self._last_ref

    # --- what is on show -------------------------------------------------------------------

    @property
    def typing(self) -> list[str]:
        """Who else is typing now, sorted."""
        return sorted(self._typing)

    @property
    def typing_line(self) -> str:
        names = self.typing
        if not names:
            return ""
        if len(names) == 1:
            return f"{names[0]} is typing…"
        if len(names) <= 3:
            return f"{', '.join(names[:-1])} and {names[-1]} are typing…"
        return f"{len(names)} people are typing…"

    @property
    def header(self) -> str:
        if self.state is State.JOINED:
            state = f"joined, {len(self.online)} online"
        elif self.state is State.CLOSED:
            state = f"disconnected ({self.closed_because})"
        else:
            state = self.state.value
        return f"{self.nick} in #{self.room}: {state}"

    @property
    def text(self) -> str:
        """The log as plain text, one line each."""
        return "\n".join(str(line) for line in self.lines)

    # --- private ---------------------------------------------------------------------------

    def _new_ref(self) -> str:
        self._last_ref = f"p{next(self._refs)}"
        return self._last_ref

    def _log(self, line: LogLine) -> LogLine:
        self.lines.append(line)
        del self.lines[: -self.max_lines]
        return line

    def _resolve(self, ref: str, **changes: Any) -> None:
        line = self._pending.pop(ref)
        for index in range(len(self.lines) - 1, -1, -1):  # it is near the end
            if self.lines[index] is line:
                self.lines[index] = replace(line, **changes)
                break

    def _message_line(self, message: dict[str, Any]) -> LogLine:
        self.last_id = max(self.last_id or 0, message["id"])
        return LogLine("message", str(message["text"]), sender=message["from"], id=message["id"])

    def _on_welcome(self, message: dict[str, Any]) -> bool:
        self.state = State.JOINED
        self.nick, self.room = message["nick"], message["room"]
        self.online = sorted(message["online"])
        self._typing.clear()
        history = [self._message_line(m) for m in message.get("history", [])]
        if message.get("truncated"):
            self._log(LogLine("notice", "(older messages were dropped)"))
        for line in history:
            self._log(line)
        self._log(LogLine("notice", f"you joined #{self.room} as {self.nick}"))
        return True

    def _on_message(self, message: dict[str, Any]) -> bool:
        line = self._message_line(message)
        self._typing.discard(line.sender)
        self._log(line)
        return True

    def _on_private(self, message: dict[str, Any]) -> bool:
        self.last_id = max(self.last_id or 0, message["id"])
        sender = message["from"]
        self._typing.discard(sender)
        text = str(message["text"])
        self._log(LogLine("private", text, sender=sender, to=message["to"], id=message["id"]))
        return True

    def _on_ack(self, message: dict[str, Any]) -> bool:
        ref = message.get("ref")
        if ref not in self._pending:
            return False
        self.results[ref] = message["id"]
        self._resolve(ref, id=message["id"], status=Sent.ACKED)
        return True

    def _on_error(self, message: dict[str, Any]) -> bool:
        code, reason = str(message["code"]), str(message.get("reason", ""))
        self.errors.append((code, reason))
        if code in SEND_ERRORS and self._pending:
            ref = next(iter(self._pending))
            self.results[ref] = ChatRefused(code, reason)
            self._resolve(ref, status=Sent.FAILED)
        self._log(LogLine("error", f"{code}: {reason}"))
        return True

    def _on_presence_changed(self, message: dict[str, Any]) -> bool:
        # Left first, then joined: a nick in both left and came back within one batch.
        if message.get("room", self.room) != self.room:
            return False
        left, joined = list(message["left"]), list(message["joined"])
        online = set(self.online).difference(left).union(joined)
        self.online = sorted(online)
        self._typing.difference_update(left)
        for nick in left:
            if nick != self.nick:
                self._log(LogLine("notice", f"{nick} left"))
        for nick in joined_after(message, self.nick):
            self._log(LogLine("notice", f"{nick} joined"))
        return True

    def _on_presence(self, message: dict[str, Any]) -> bool:
        if message.get("room", self.room) != self.room:
            return False
        online = sorted(message["online"])
        if online == self.online:
            return False
        self.online = online
        self._typing &= set(online)
        return True

    def _on_typing(self, message: dict[str, Any]) -> bool:
        nick = message["nick"]
        if nick == self.nick or (nick in self._typing) == bool(message["typing"]):
            return False
        if message["typing"]:
            self._typing.add(nick)
        else:
            self._typing.discard(nick)
        return True


def joined_after(change: dict[str, Any], nick: str) -> list[str]:
    """The nicks a ``presence_changed`` says arrived after `nick` (all of them if `nick` is
    not among them): a newcomer's first batch also lists itself and those who came just before
    it, whom its welcome did not list yet, but who were there first."""
    joined = list(change["joined"])
    return joined[joined.index(nick) + 1 :] if nick in joined else joined


# --- the connection: a client joined to a room, and its receiver thread ----------------------


class ChatConnection:
    """One chat client: joined to a room, fed by a daemon thread that receives.

    `model` is guarded by `changed`, a condition notified after every change; read the model
    under it (``with connection.changed: ...``). `on_message`, if given, is called on the
    receiver thread with each server message after the model took it (bots react there).
    """

    def __init__(
        self,
        url: str,
        nick: str,
        room: str = "lobby",
        *,
        on_message: Callable[[dict[str, Any]], None] | None = None,
        max_lines: int = MAX_LINES,
        timeout: float = TIMEOUT,
    ) -> None:
        self.url = url
        self.model = ChatModel(nick, room, max_lines)
        self.changed = threading.Condition()
        self.timeout = timeout
        self.error: str | None = None
        """Why the receiver stopped early, if something failed (it never prints)."""
        self._on_message = on_message
        self._client: Client | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    # --- public API ------------------------------------------------------------------------

    def open(self, rejoin: bool = False) -> None:
        """Connect, join and wait for the welcome; then start receiving.

        Raise `ChatRefused` if the server refuses the join. With `rejoin` (an older client of
        this kernel with the same nick was just closed), retry a nick_taken for a moment:
        the server forgets a member only once its handler has seen the close.
        """
        deadline = time.monotonic() + REJOIN_TIMEOUT
        delay = 0.005
        while True:
            try:
                self._join()
                break
            except ChatRefused as exc:
                if not (rejoin and exc.code == "nick_taken" and time.monotonic() < deadline):
                    raise
            time.sleep(delay)  # a bounded back-off, only while an old client is leaving
            delay = min(delay * 2, 0.1)
            model = self.model  # start again from a clean log: the refusal is no news
            self.model = ChatModel(model.nick, model.room, model.max_lines)
        self._thread = threading.Thread(
            target=self._receive, name=f"wslab-chat:{self.model.nick}", daemon=True
        )
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the receiver runs, i.e. while the connection is open."""
        return self._thread is not None and self._thread.is_alive()

    def send(self, text: str, *, wait: bool = True) -> int | None:
        """Say `text` to the room; with `wait`, return its id once acked (or raise ChatRefused)."""
        return self._send(lambda model: model.send_text(text), wait)

    def whisper(self, to: str, text: str, *, wait: bool = True) -> int | None:
        """Whisper `text` to `to`; with `wait`, return its id once acked (or raise ChatRefused)."""
        return self._send(lambda model: model.whisper_text(to, text), wait)

    def typing(self, typing: bool) -> None:
        """Tell the room whether this client is typing (sends only when it changes)."""
        with self.changed:
            frame = self.model.typing_text(typing)
        if frame is not None and self.alive:
            self._client_send(frame)

    def wait_until(self, predicate: Callable[[ChatModel], Any], timeout: float = TIMEOUT) -> Any:
        """Wait until `predicate(model)` is truthy and return it; TimeoutError after `timeout`."""
        with self.changed:
            result = self.changed.wait_for(lambda: predicate(self.model), timeout)
        if not result:
            raise TimeoutError(f"{self.model.nick}: nothing matched within {timeout} s")
        return result

    def close(self) -> None:
        """Close the connection and wait for the receiver to end. Safe to call twice."""
        with self.changed:
            if self._closed:
                return
            self._closed = True
        client = self._client
        if client is not None:
            try:
                client.close()
            except Exception:  # already gone: closing must go on quietly
                pass
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_TIMEOUT)

    # --- private ---------------------------------------------------------------------------

    def _join(self) -> None:
        # No keepalive thread on our side: the server pings, and loopback does not go idle.
        client = connect(self.url, timeout=self.timeout, ping_interval=None)
        try:
            client.send(self.model.join_text())
            while True:  # the welcome, or the error that refuses the join
                raw = client.recv()
                with self.changed:
                    self.model.apply(raw)
                    state, errors = self.model.state, list(self.model.errors)
                    self.changed.notify_all()
                if state is State.JOINED:
                    self._client = client
                    return
                if errors:
                    raise ChatRefused(*errors[-1])
        except ConnectionClosed as exc:
            client.close()
            raise ConnectionError(f"closed before the welcome ({exc})") from None
        except BaseException:
            client.close()
            raise

    def _send(self, build: Callable[[ChatModel], str], wait: bool) -> int | None:
        with self.changed:
            if self.model.state is not State.JOINED:
                raise ConnectionError(f"{self.model.nick!r} is {self.model.state.value}")
            frame = build(self.model)
            ref = self.model.last_ref
            self.changed.notify_all()
        self._client_send(frame)
        if not wait:
            return None
        self.wait_until(lambda model: ref in model.results or model.state is State.CLOSED)
        with self.changed:
            outcome = self.model.results.get(ref)
        if outcome is None:
            raise ConnectionError(f"the connection closed before {ref} was acked")
        if isinstance(outcome, ChatRefused):
            raise outcome
        return outcome

    def _client_send(self, frame: str) -> None:
        assert self._client is not None
        try:
            self._client.send(frame)
        except ConnectionClosed as exc:
            raise ConnectionError(f"the connection is closed ({exc})") from None

    def _receive(self) -> None:
        client = self._client
        assert client is not None
        try:
            while True:
                raw = client.recv(timeout=None)
                if not isinstance(raw, str):
                    continue  # the protocol has text frames only
                with self.changed:
                    self.model.apply(raw)
                    self.changed.notify_all()
                if self._on_message is not None:
                    try:
                        message = json.loads(raw)
                    except ValueError:
                        continue
                    self._on_message(message)
        except ConnectionClosed:
            pass
        except Exception as exc:  # never let threading print a traceback into a cell
            self.error = f"{type(exc).__name__}: {exc}"
            try:
                client.close(1011, "client failed")
            except Exception:
                pass
        finally:
            with self.changed:
                self.model.connection_closed(client.close_code, client.close_reason or "")
                self.changed.notify_all()


# --- one client per nick ---------------------------------------------------------------------

#: The kind of registry key a panel or bot holds its nick under.
CHAT_NICK = "chat nick"


def _claim(nick: str, owner: Any) -> bool:
    """Make `owner` the one client named `nick`; close the previous one. True if there was one.

    `wslab.stop_all()` calls the owner's ``disconnect()`` (panels stay on show, saying so); a
    new owner of the nick calls the old one's ``close()``.
    """
    return registry.hold((CHAT_NICK, nick), owner, owner.disconnect, replace=owner.close)


def _release(nick: str, owner: Any) -> None:
    registry.release((CHAT_NICK, nick), owner)


def disconnect_all() -> None:
    """Disconnect every chat panel and bot of this kernel; return once their threads ended.

    Panels stay on show, saying they are disconnected. `wslab.stop_all()` does this before it
    stops any server, so that when stop_all() returns, no chat thread is left.
    """
    registry.stop_all(CHAT_NICK)


def _url_of(server_or_url: Any) -> str:
    url = getattr(server_or_url, "url", server_or_url)
    if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
        raise TypeError(f"expected a chat server or a ws:// URL, not {server_or_url!r}")
    return url
