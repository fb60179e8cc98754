"""Scripted chat clients that make a room lively, the same way every run.

A bot is a `ChatConnection` (see `wslab.chat.panel`) whose receiver thread reacts to what the
server sends. Bots react to events only, never to timers, so a lesson that makes the same moves
sees the same conversation:

- `greet`: when someone joins the room, say ``greet.format(nick=<who joined>)``;
- `replies`: when someone says (or whispers) a key, answer with its value, ``{nick}`` filled in
  with who spoke; keys match the whole text, ignoring case and surrounding spaces;
- `echo`: repeat every message in upper case (not one already in upper case: two echo bots
  would otherwise echo each other forever);
- `script`: when someone says (or whispers) `trigger`, say these lines, in order.

A whisper is answered by a whisper, a room message in the room. Bots never print; they stop
with `stop()`, when their server stops, and at `wslab.stop_all()`; one nick is one client in a
kernel, so starting a bot whose nick is in use closes the older bot or panel first.

    bots = start_bots(server, [
        {"nick": "greeter", "greet": "Welcome, {nick}!"},
        {"nick": "echo", "echo": True},
    ])
    ...
    bots.stop()
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Self

from .client import (
    TIMEOUT,
    ChatConnection,
    ChatModel,
    _claim,
    _release,
    _url_of,
    joined_after,
)


class ChatBot:
    """One scripted client in a room; starts at once (joined when the constructor returns)."""

    def __init__(
        self,
        server_or_url: Any,
        nick: str,
        *,
        room: str = "lobby",
        greet: str | None = None,
        replies: Mapping[str, str] | None = None,
        echo: bool = False,
        script: Sequence[str] | None = None,
        trigger: str = "go",
    ) -> None:
        if isinstance(script, str):
            raise TypeError("script is a list of lines, e.g. ['one', 'two']")
        self.greet = greet
        self.replies = {_key(k): v for k, v in (replies or {}).items()}
        self.echo = echo
        self.script = list(script or [])
        self.trigger = _key(trigger)
        self.said: list[str] = []
        """What the bot sent, in order (whispers too)."""
        self._connection = ChatConnection(
            _url_of(server_or_url), nick, room, on_message=self._react
        )
        rejoin = _claim(nick, self)
        try:
            self._connection.open(rejoin=rejoin)
        except BaseException:
            _release(nick, self)
            raise

    # --- public API ------------------------------------------------------------------------

    @property
    def nick(self) -> str:
        return self._connection.model.nick

    @property
    def model(self) -> ChatModel:
        """What the bot has seen: its log, who is online (read it under `.changed`)."""
        return self._connection.model

    @property
    def running(self) -> bool:
        return self._connection.alive

    @property
    def error(self) -> str | None:
        """Why the bot stopped early, if something failed (it never prints)."""
        return self._connection.error

    def wait_said(self, count: int, timeout: float = TIMEOUT) -> list[str]:
        """Wait until the bot has sent at least `count` texts; return them all."""
        self._connection.wait_until(lambda _: len(self.said) >= count, timeout)
        return list(self.said)

    def stop(self) -> None:
        """Leave the room and end the thread. Safe to call twice."""
        self._connection.close()
        _release(self.nick, self)

    # What replacing a client by nick and `panel.disconnect_all()` call, for panels and bots.
    close = disconnect = stop

    def __repr__(self) -> str:
        does = [
            name
            for name, on in (
                ("greet", self.greet),
                ("replies", self.replies),
                ("echo", self.echo),
                ("script", self.script),
            )
            if on
        ]
        return f"ChatBot({self.nick!r}, {'+'.join(does) or 'silent'}, room {self.model.room!r})"

    # --- private: runs on the receiver thread ----------------------------------------------

    def _react(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "presence_changed" and self.greet is not None:
            for nick in joined_after(message, self.nick):  # not those who were there first
                self._say(self.greet.format(nick=nick))
        elif kind in ("message", "private"):
            sender, text = message["from"], str(message["text"])
            whisper_to = sender if kind == "private" else None
            if self.script and _key(text) == self.trigger:
                for line in self.script:
                    self._say(line, whisper_to=None)
            if _key(text) in self.replies:
                self._say(self.replies[_key(text)].format(nick=sender), whisper_to)
            if self.echo and text != text.upper():
                self._say(text.upper(), whisper_to)

    def _say(self, text: str, whisper_to: str | None = None) -> None:
        # Never wait for the ack here: this thread is the one that would receive it.
        if whisper_to is None:
            self._connection.send(text, wait=False)
        else:
            self._connection.whisper(whisper_to, text, wait=False)
        with self._connection.changed:
            self.said.append(text)
            self._connection.changed.notify_all()


def _key(text: str) -> str:
    return text.strip().casefold()


class Bots:
    """Several bots started together; `stop()` stops them all."""

    def __init__(self, bots: Iterable[ChatBot]) -> None:
        self._bots = {bot.nick: bot for bot in bots}

    def __getitem__(self, nick: str) -> ChatBot:
        return self._bots[nick]

    def __iter__(self) -> Iterator[ChatBot]:
        return iter(self._bots.values())

    def __len__(self) -> int:
        return len(self._bots)

    def stop(self) -> None:
        """Stop every bot. Safe to call twice."""
        for bot in self._bots.values():
            bot.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Bots({list(self._bots)})"


def start_bots(server_or_url: Any, specs: Iterable[Mapping[str, Any]]) -> Bots:
    """Start one `ChatBot` per spec, a dict of its arguments with its ``nick``, in order.

    Each is joined when this returns. If one fails to start, those already started are
    stopped before the error is raised.
    """
    started: list[ChatBot] = []
    try:
        for spec in specs:
            options = dict(spec)
            nick = options.pop("nick")
            started.append(ChatBot(server_or_url, nick, **options))
    except BaseException:
        for bot in started:
            bot.stop()
        raise
    return Bots(started)
