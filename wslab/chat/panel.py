"""`chat_panel()`: a chat client inside the notebook, as an ipywidgets panel.

The panel is the view of one `ChatConnection` (see `wslab.chat.client`, which holds the model
and the connection, testable without a browser or a kernel), plus one updater thread.

How updates flow: the connection's receiver thread applies each message to the model under
the `changed` condition and notifies it. The updater thread (`wslab._throttle`) waits on it, then
renders the model into the widgets at most `rate` times a second: a burst of 300 messages
costs a few refreshes. Texts are plain text: every piece of the log is escaped before it goes
into HTML, so ``<img src=x onerror=alert(1)>`` shows literally. Nothing here ever prints.

Both threads end when the connection closes: `ChatPanel.close()`, the server stopping, or
`wslab.stop_all()`.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets

from .._throttle import Throttle
from .client import (
    MAX_LINES,
    TIMEOUT,
    ChatConnection,
    ChatModel,
    ChatRefused,
    LogLine,
    Sent,
    State,
    _claim,
    _release,
    _url_of,
)

# --- rendering: the model as HTML, every text escaped ----------------------------------------


def log_html(lines: list[LogLine]) -> str:
    """The log as HTML: one div per line, each piece of text escaped (never markup)."""
    rows = []
    for line in lines:
        css = f"wslab-chat-{line.kind}"
        if line.status in (Sent.PENDING, Sent.FAILED):  # acked lines look like any other
            css += f" wslab-chat-{line.status.value}"
        if line.kind in ("message", "private"):
            who = html.escape(line.sender)
            if line.kind == "private":
                who += " → " + html.escape(line.to)
            body = f"<b>{who}</b>: {html.escape(line.text)}"
        else:
            body = html.escape(str(line))
        rows.append(f'<div class="{css}">{body}</div>')
    # column-reverse keeps the scroll position at the newest line, as chats do.
    return f'<div class="wslab-chat-log"><div>{"".join(rows)}</div></div>'


def online_html(online: list[str], nick: str) -> str:
    shown = (
        f"<b>{html.escape(name)}</b>" if name == nick else html.escape(name) for name in online
    )
    names = "".join(f"<div>{name}</div>" for name in shown)
    return f'<div class="wslab-chat-online"><b>online ({len(online)})</b>{names}</div>'


_STYLE = """<style>
.wslab-chat .wslab-chat-log {
  height: 16em; overflow-y: auto; display: flex; flex-direction: column-reverse;
  border: 1px solid #ccc; padding: 2px 6px; white-space: pre-wrap; overflow-wrap: anywhere;
}
.wslab-chat .wslab-chat-online { border: 1px solid #ccc; padding: 2px 6px; height: 16em;
  overflow-y: auto; }
.wslab-chat .wslab-chat-notice { color: #777; }
.wslab-chat .wslab-chat-error { color: #b00; }
.wslab-chat .wslab-chat-private { font-style: italic; }
.wslab-chat .wslab-chat-pending { opacity: 0.6; }
.wslab-chat .wslab-chat-failed { text-decoration: line-through; color: #b00; }
.wslab-chat .wslab-chat-typing { color: #777; font-style: italic; min-height: 1.4em; }
</style>"""


# --- the view --------------------------------------------------------------------------------


class ChatPanel(widgets.VBox):
    """A chat client in a widget: header, log, who is online, who is typing, an input box.

    Create it with `chat_panel()`. The widgets are public (`header`, `messages`, `online`,
    `typing`, `input`, `button`); `connection.model` holds the data.
    """

    def __init__(
        self,
        server_or_url: Any,
        nick: str,
        room: str = "lobby",
        rate: float = 10.0,
        max_lines: int = MAX_LINES,
    ) -> None:
        self._lock = threading.RLock()
        """Held by whatever changes the widgets: the updater, the input's handlers, close()."""
        self._closed = False
        self._updater: Throttle | None = None
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.connection = ChatConnection(_url_of(server_or_url), nick, room, max_lines=max_lines)
        self.rate = rate
        # `log` would shadow the logger every traitlets object has: hence `messages`.
        self.header = widgets.HTML()
        self.messages = widgets.HTML(layout=widgets.Layout(flex="1 1 auto", width="auto"))
        self.online = widgets.HTML(layout=widgets.Layout(width="12em"))
        self.typing = widgets.HTML()
        self.input = widgets.Text(
            placeholder="say something (Enter sends; /w nick text whispers)",
            continuous_update=True,  # every keystroke: that is how "is typing" is known
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        self.button = widgets.Button(description="Send")
        super().__init__(
            children=[
                widgets.HTML(_STYLE),
                self.header,
                widgets.HBox([self.messages, self.online]),
                self.typing,
                widgets.HBox([self.input, self.button]),
            ]
        )
        self.add_class("wslab-chat")
        self._views = (self.header, self.messages, self.online, self.typing)
        self._shown: tuple[str, ...] = ()
        rejoin = _claim(nick, self)
        try:
            self.connection.open(rejoin=rejoin)
        except BaseException:
            self.close()
            raise
        self.input.observe(self._on_input, names="value")
        self.input.on_msg(self._on_input_message)
        self.button.on_click(lambda _: self._submit())
        connection = self.connection
        self._updater = Throttle(
            f"wslab-chat-panel:{nick}",
            connection.changed,
            rate,
            version=lambda: connection.model.version,
            refresh=self._refresh,
            fail=self._fail,
            # The last refresh, once the connection closed, need not wait: end promptly.
            urgent=lambda: connection.model.state is State.CLOSED,
        )
        version, alive = self._refresh()
        if alive:
            self._updater.start(version)

    # --- public API ------------------------------------------------------------------------

    @property
    def model(self) -> ChatModel:
        return self.connection.model

    @property
    def nick(self) -> str:
        return self.connection.model.nick

    @property
    def room(self) -> str:
        return self.connection.model.room

    def send(self, text: str) -> int:
        """Say `text` to the room, as typing it and pressing Enter would; return its id.

        Waits for the server's ack; raises `ChatRefused` if the server refuses the text.
        """
        result = self.connection.send(text)
        assert result is not None
        return result

    def whisper(self, to: str, text: str) -> int:
        """Send `text` to `to` only; return its id once acked (ChatRefused e.g. no_such_user)."""
        result = self.connection.whisper(to, text)
        assert result is not None
        return result

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> LogLine:
        """Wait until a log line contains `text` (e.g. a bot's reply) and return the newest."""

        def found(model: ChatModel) -> LogLine | None:
            return next((line for line in reversed(model.lines) if text in str(line)), None)

        return self.connection.wait_until(found, timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    def disconnect(self) -> None:
        """Leave the room but stay on show, saying so; wait until the final state is shown."""
        self.connection.close()
        if self._updater is not None:
            self._updater.join()

    def close(self) -> None:
        """Leave the room, stop updating, close the widgets. Safe to call twice."""
        lock = getattr(self, "_lock", None)
        if lock is None:  # __init__ failed early; ipywidgets still calls close() from __del__
            super().close()
            return
        with lock:
            if self._closed:
                return
            self._closed = True
        connection = getattr(self, "connection", None)
        if connection is not None:
            connection.close()
            _release(connection.model.nick, self)
        if self._updater is not None:
            self._updater.stop()
        for child in self.children:
            for grandchild in getattr(child, "children", ()):
                grandchild.close()
            child.close()
        super().close()

    def __repr__(self) -> str:
        # What nbval compares when a lesson displays a panel: nothing that varies.
        return f"ChatPanel(nick {self.nick!r}, room {self.room!r})"

    # --- private ---------------------------------------------------------------------------

    def _render_model(self) -> tuple[int, bool, tuple[str, ...]]:
        """Render the model to strings (the caller holds `changed`): (version, alive, values)."""
        model = self.connection.model
        header = f"<b>{html.escape(model.header)}</b>"
        values = (
            header,
            log_html(model.lines),
            online_html(model.online, model.nick),
            f'<div class="wslab-chat-typing">{html.escape(model.typing_line)}&nbsp;</div>',
        )
        return model.version, model.state is not State.CLOSED, values

    def _refresh(self) -> tuple[int, bool]:
        """Render the model and show it (the updater's refresh): its version, and whether the
        connection is still open (once closed, the final state is on show)."""
        with self.connection.changed:
            version, alive, values = self._render_model()
        self._show(values, alive)
        return version, alive

    def _fail(self, error: BaseException) -> None:
        self.connection.error = f"updater: {type(error).__name__}: {error}"

    def _show(self, values: tuple[str, ...], alive: bool) -> None:
        """Put rendered values into the widgets, touching only those that changed (any thread)."""
        with self._lock:
            if self._closed or values == self._shown:
                return
            for widget, value in zip(self._views, values, strict=True):
                if widget.value != value:
                    widget.value = value
            self._shown = values
            if not alive:
                self.input.disabled = self.button.disabled = True

    def _submit(self) -> None:
        # On the kernel's main thread: Enter in the input box, or a click on Send.
        with self._lock:
            if self._closed:
                return
            text = self.input.value.strip()
        if text:
            try:
                if text.startswith("/w "):
                    to, _, said = text[3:].strip().partition(" ")
                    self.connection.whisper(to, said.strip(), wait=False)
                else:
                    self.connection.send(text, wait=False)
            except (ChatRefused, ConnectionError) as exc:  # raised, it would print in a cell
                with self.connection.changed:
                    self.connection.model.local_error(str(exc))
                    self.connection.changed.notify_all()
        with self._lock:
            # After the say, which ended the typing on the server: clearing sends no typing.
            self.input.value = ""

    def _on_input(self, change: dict[str, Any]) -> None:
        try:
            self.connection.typing(bool(change["new"]))
        except ConnectionError:
            pass  # the header already says the connection is closed

    def _on_input_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        # The front-end sends {"event": "submit"} on Enter. Listening to the message itself
        # avoids Text.on_submit, deprecated in ipywidgets 8 (its warning would reach stderr).
        if content.get("event") == "submit":
            self._submit()


def chat_panel(
    server_or_url: Any,
    nick: str,
    room: str = "lobby",
    rate: float = 10.0,
    *,
    max_lines: int = MAX_LINES,
) -> ChatPanel:
    """A chat client in the notebook, joined as `nick`: display it by ending a cell with it.

    `server_or_url` is a chat server (`wslab.chat.chat_server()`) or its ``ws://`` URL. The
    panel refreshes at most `rate` times a second and keeps the last `max_lines` lines. Use
    `.send(text)` and `.whisper(to, text)` to make it speak from a cell. A panel or bot
    already using `nick` in this kernel is closed first, so re-running a cell is safe.
    Raises `ChatRefused` if the server refuses the join (e.g. nick_taken, bad_nick).
    """
    return ChatPanel(server_or_url, nick, room, rate, max_lines)
