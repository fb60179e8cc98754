"""The chat's message protocol, sans I/O: JSON text in, small events out, and back.

Rules of the protocol (every message is one JSON object in one text frame):

- A client's messages are `Join`, `Say`, `Typing`, `Whisper` and `Who`; `parse()` turns a frame
  into one of them or raises `ChatError` with the code the server answers with, and
  `encode_client()` turns one of them into a frame's text (what clients send). Unknown fields
  are ignored, so that clients may add their own.
- Presence: the `welcome` says who is in the room (`online`), and so does the `presence` that
  answers a `who`. After that a member hears of changes only, and keeps its own list from them.
  Changes are batched: the server collects a room's joins and leaves for a short while
  (see `pacing`) and sends them as ONE `presence_changed` per room, ``{"type":
  "presence_changed", "room": ..., "left": [...], "joined": [...]}``: drop the `left` nicks
  (sorted), then add the `joined` ones (in the order they arrived). A nick that came and went
  within one batch is in neither list; one that left and came back is in both (members forget
  what they knew of it, e.g. its typing). The welcome lists the room as its members were last
  told, plus the newcomer, who hears the next batch like everyone else: so the welcome plus
  the changes that follow always make the true member list. A newcomer finds itself in that
  batch; those before it there were in the room first.
  Before anything else goes to a room (a message, typing, a `who`'s answer), its pending
  changes go first: nobody hears from a member it has not heard join.
  Why batches: one notice per join makes filling a room of N cost N(N-1)/2 messages (and a
  whole list per join, O(N^3) bytes); batches cost one message per member per batch.
- The server's messages are plain dicts built by the functions at the bottom; `encode()` turns
  any of them into the JSON text of a frame.
- Texts are plain text. Nothing here escapes, strips or interprets them: rendering them safely
  (as text, never as markup) is the job of whoever displays them.

No sockets, no clock, no state: the same frame always parses to the same event.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_ROOM",
    "ERROR_CODES",
    "ChatError",
    "ClientMessage",
    "Join",
    "Say",
    "Typing",
    "Who",
    "Whisper",
    "ack",
    "encode",
    "encode_client",
    "error",
    "message",
    "parse",
    "presence",
    "presence_changed",
    "private",
    "typing",
    "valid_name",
    "welcome",
]

DEFAULT_ROOM = "lobby"

#: Nicks and room names: 1 to 20 ASCII letters, digits, underscores and hyphens.
NAME = re.compile(r"[A-Za-z0-9_-]{1,20}")

#: The longest `ref` a client may attach to a say or whisper (it is echoed in the ack).
MAX_REF = 64

#: Every error code the server sends, and what it means.
ERROR_CODES = {
    "nick_taken": "another member already uses this nick",
    "bad_nick": "a nick is 1-20 letters, digits, _ or -",
    "not_joined": "the first message must be a join",
    "bad_message": "not JSON, not an object, unknown type or a missing or invalid field",
    "too_long": "the text is longer than the server accepts",
    "no_such_user": "nobody online has this nick",
}


class ChatError(Exception):
    """A message the server refuses; becomes ``{"type": "error", "code": ..., "reason": ...}``."""

    def __init__(self, code: str, reason: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChatError):
            return NotImplemented
        return (self.code, self.reason) == (other.code, other.reason)

    __hash__ = Exception.__hash__


# --- client → server -------------------------------------------------------------------------


@dataclass(frozen=True)
class Join:
    """Enter `room` as `nick`; `last_id` asks for the messages missed since that id."""

    nick: str
    room: str = DEFAULT_ROOM
    last_id: int | None = None


@dataclass(frozen=True)
class Say:
    """Send `text` to everyone else in the sender's room; `ref` comes back in the ack."""

    text: str
    ref: str | int | None = None


@dataclass(frozen=True)
class Typing:
    """The sender started (True) or stopped (False) typing."""

    typing: bool


@dataclass(frozen=True)
class Whisper:
    """Send `text` to the member `to` only, in whichever room they are."""

    to: str
    text: str
    ref: str | int | None = None


@dataclass(frozen=True)
class Who:
    """Ask for the list of members in the sender's room."""


ClientMessage = Join | Say | Typing | Whisper | Who


def valid_name(name: object) -> bool:
    """True if `name` is a valid nick or room name."""
    return isinstance(name, str) and NAME.fullmatch(name) is not None


def parse(data: str | bytes, max_text: int = 2000) -> ClientMessage:
    """Parse one frame from a client; raise `ChatError` if the server must refuse it.

    `data` is what websockets' ``recv()`` returns: str for a text frame, bytes for binary.
    """
    if not isinstance(data, str):
        raise ChatError("bad_message", "send JSON in text frames, not binary frames")
    try:
        fields = json.loads(data)
    except (ValueError, RecursionError):  # bad JSON, or [[[[... nested too deep
        raise ChatError("bad_message", "not valid JSON") from None
    if not isinstance(fields, dict):
        raise ChatError("bad_message", "a message is a JSON object with a 'type'")
    kind = fields.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        known = ", ".join(sorted(_PARSERS))
        raise ChatError("bad_message", f"unknown type {kind!r}; known types: {known}")
    return parser(fields, max_text)


def _join(fields: dict[str, Any], max_text: int) -> Join:
    nick = _required(fields, "nick", str)
    if not valid_name(nick):
        raise ChatError("bad_nick", f"bad nick {nick!r}: {ERROR_CODES['bad_nick']}")
    room = fields.get("room")
    if room is None:
        room = DEFAULT_ROOM
    elif not valid_name(room):
        raise ChatError("bad_message", f"bad room {room!r}: 1-20 letters, digits, _ or -")
    last_id = fields.get("last_id")
    if last_id is not None and not (_is_int(last_id) and last_id >= 0):
        raise ChatError("bad_message", "last_id must be null or an integer >= 0")
    return Join(nick, room, last_id)


def _say(fields: dict[str, Any], max_text: int) -> Say:
    return Say(_text(fields, max_text), _ref(fields))


def _typing(fields: dict[str, Any], max_text: int) -> Typing:
    return Typing(_required(fields, "typing", bool))


def _whisper(fields: dict[str, Any], max_text: int) -> Whisper:
    to = _required(fields, "to", str)
    return Whisper(to, _text(fields, max_text), _ref(fields))


def _who(fields: dict[str, Any], max_text: int) -> Who:
    return Who()


_PARSERS = {"join": _join, "say": _say, "typing": _typing, "whisper": _whisper, "who": _who}
_TYPES = {Join: "join", Say: "say", Typing: "typing", Whisper: "whisper", Who: "who"}


def encode_client(message: ClientMessage) -> str:
    """The JSON text of a client's message, the inverse of `parse()`: fields that are None
    (no `ref`, no `last_id`) are left out."""
    fields = {"type": _TYPES[type(message)]}
    fields.update((k, v) for k, v in dataclasses.asdict(message).items() if v is not None)
    return encode(fields)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not 1


def _required(fields: dict[str, Any], name: str, kind: type) -> Any:
    value = fields.get(name)
    if value is None:
        raise ChatError("bad_message", f"{fields['type']} needs a field {name!r}")
    if not isinstance(value, kind):
        raise ChatError("bad_message", f"{name!r} must be a {_JSON_NAMES[kind]}")
    return value


_JSON_NAMES = {str: "string", bool: "boolean (true or false)"}


def _text(fields: dict[str, Any], max_text: int) -> str:
    text = _required(fields, "text", str)
    if not text:
        raise ChatError("bad_message", "text must not be empty")
    if len(text) > max_text:
        raise ChatError("too_long", f"text has {len(text)} characters; at most {max_text}")
    return _unicode(text, "text")


def _unicode(value: str, name: str) -> str:
    # JSON may spell a lone surrogate ("\ud800"): Python parses it, but it has no UTF-8 form,
    # so the frame that would carry it to other members could not even be encoded.
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ChatError("bad_message", f"{name} is not valid Unicode (lone surrogate)") from None
    return value


def _ref(fields: dict[str, Any]) -> str | int | None:
    ref = fields.get("ref")
    if ref is None or _is_int(ref):
        return ref
    if isinstance(ref, str) and len(ref) <= MAX_REF:
        return _unicode(ref, "ref")
    raise ChatError("bad_message", f"ref must be null, an integer or a string of <= {MAX_REF}")


# --- server → client -------------------------------------------------------------------------

Message = dict[str, Any]


def welcome(
    nick: str, room: str, online: list[str], history: list[Message], truncated: bool
) -> Message:
    """The answer to a join: who is here, and the messages the member has not seen."""
    return {
        "type": "welcome",
        "nick": nick,
        "room": room,
        "online": online,
        "history": history,
        "truncated": truncated,
    }


def message(id: int, room: str, sender: str, text: str) -> Message:
    """A message said in `room`; `id` is unique and increasing across the whole server."""
    return {"type": "message", "id": id, "room": room, "from": sender, "text": text}


def ack(id: int, ref: str | int | None) -> Message:
    """Tells a sender its say or whisper got `id`; `ref` is the sender's own token, or None."""
    return {"type": "ack", "id": id, "ref": ref}


def private(id: int, sender: str, to: str, text: str) -> Message:
    """A whisper, as its recipient receives it."""
    return {"type": "private", "id": id, "from": sender, "to": to, "text": text}


def presence_changed(room: str, joined: list[str], left: list[str]) -> Message:
    """The changes to `room`'s member list since the last batch: members drop the `left`
    nicks (sorted), then add the `joined` ones (in the order they arrived); a nick in both
    left and came back."""
    return {"type": "presence_changed", "room": room, "left": left, "joined": joined}


def presence(room: str, online: list[str]) -> Message:
    """The whole member list of `room`, sorted: the answer to a `who`."""
    return {"type": "presence", "room": room, "online": online}


def typing(nick: str, is_typing: bool) -> Message:
    return {"type": "typing", "nick": nick, "typing": is_typing}


def error(error: ChatError) -> Message:
    return {"type": "error", "code": error.code, "reason": error.reason}


def encode(message: Message) -> str:
    """The JSON text of a server message: compact, non-ASCII kept as is (smaller frames)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
