"""The chat's state: who is in which room, what was said, who is typing. No I/O.

`ChatState` is a state machine. The server feeds it what each client sends (`receive()`) and
when a client goes away (`disconnect()`); it answers with *deliveries*, ``(recipients,
message)`` pairs to send in order, and never sends anything itself. Joins and leaves are
collected per room and told by `flush()`, which the server calls a short while after a change
(`pending` says one is waiting): the clock is the server's, not this module's. Clients are whatever
hashable objects the caller uses to tell them apart (the server passes its connections, the
tests pass strings).

Rules:

- A client becomes a member with its first successful join. Nicks are unique on the server.
- Before that, only a join is accepted. Anything else gets `not_joined`, a first join with a bad
  or taken nick gets `bad_nick` / `nick_taken`, and in these three cases the client is then
  closed with 1008 (policy violation). Every other error leaves the connection open.
- Presence: the welcome carries the room's member list (`online`), and so does the answer to a
  `who`; after that, members learn of changes only and keep their own list. Changes wait in
  the room until `flush()`, which sends each room with changes ONE ``presence_changed``
  (`left`, then `joined`), computed from the list the members were last told (`announced`):
  a member who came and went in between leaves no trace, one who left and came back is in
  both lists. The welcome lists `announced` plus the newcomer, who hears the same batch as
  the others, so every member's list is the true one after each flush. A say, a typing change,
  a whisper or a `who` flushes the sender's room first, so that members hear of a newcomer
  before they hear from it. (One ``joined`` per join made filling a room of N cost N(N-1)/2
  messages; the whole list per join, O(N^3) bytes.)
- A second join moves the member to another room: the old room sees it leave, the new one sees
  it join. The nick cannot change that way.
- Ids count up across the whole server; room messages and whispers share them. Each room keeps
  its last `history` messages; whispers are not kept.
- A join without `last_id` gets the room's kept messages. A join with `last_id` gets exactly the
  kept messages with a greater id, and ``truncated: true`` if some of those were already
  dropped. A `last_id` greater than any id issued was issued by another server (a notebook cell
  re-ran and started a fresh one): the member gets the kept messages and ``truncated: true``.
- The sender of a say or whisper gets an ack, never its own message back.
- Typing is announced to the others when it changes. Saying something or leaving ends it
  without a ``typing: false`` (clients clear the line when the typist's message or "left"
  notice arrives).
- An empty room keeps its history for members who come back, until `max_rooms` rooms exist;
  then the room that has been empty the longest is forgotten to make space for a new one.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import NamedTuple

from . import protocol
from .protocol import ChatError, Join, Message, Say, Typing, Whisper, Who

__all__ = ["CLOSE_AFTER", "MAX_ROOMS", "ChatState", "Delivery", "Outcome"]

Client = Hashable

#: Rooms the server remembers at most (empty ones included, for their history).
MAX_ROOMS = 100

#: Errors after which a client that has not joined yet is closed, with the close reason.
CLOSE_AFTER = {"nick_taken": "nick taken", "bad_nick": "bad nick", "not_joined": "join first"}

#: The close code for those: 1008, policy violation (RFC 6455, section 7.4.1).
POLICY_VIOLATION = 1008


class Delivery(NamedTuple):
    """One message for some clients; the server encodes it once and sends it to all of them."""

    to: tuple[Client, ...]
    message: Message


@dataclass
class Outcome:
    """What the server must do after a client's message: send, then maybe close that client."""

    deliveries: list[Delivery] = field(default_factory=list)
    close: tuple[int, str] | None = None
    """Close code and reason for the client that sent the message, after the deliveries."""


@dataclass(eq=False)
class _Member:
    nick: str
    room: str


@dataclass(eq=False)
class _Room:
    name: str
    history: deque[Message]
    members: dict[str, Client] = field(default_factory=dict)  # nick -> client
    announced: set[str] = field(default_factory=set)  # the list as members were last told
    told: list[str] = field(default_factory=list)  # the same, sorted once per flush, not per join
    cycled: set[str] = field(default_factory=set)  # announced nicks that left since then
    typing: set[str] = field(default_factory=set)
    dropped_up_to: int = 0  # the id of the newest message pushed out of `history`
    emptied_at: int = 0  # when the last member left, on the state's own clock

    def online(self) -> list[str]:
        return sorted(self.members)

    def clients(self, but: Client | None = None) -> tuple[Client, ...]:
        return tuple(c for _, c in sorted(self.members.items()) if c != but)

    def keep(self, message: Message) -> None:
        if self.history.maxlen is not None and len(self.history) == self.history.maxlen:
            self.dropped_up_to = self.history[0]["id"] if self.history else message["id"]
        self.history.append(message)


class ChatState:
    """Rooms, members, history and typing for one chat server; see the module's rules."""

    def __init__(self, history: int = 100, max_rooms: int = MAX_ROOMS) -> None:
        if history < 0:
            raise ValueError(f"history must be >= 0, got {history}")
        if max_rooms < 1:
            raise ValueError(f"max_rooms must be >= 1, got {max_rooms}")
        self.history_size = history
        self.max_rooms = max_rooms
        self.last_id = 0
        """The latest id given to a message or whisper (0 before the first)."""
        self._rooms: dict[str, _Room] = {}
        self._members: dict[Client, _Member] = {}
        self._by_nick: dict[str, Client] = {}
        self._clock = itertools.count(1)
        self._changed: set[str] = set()  # rooms whose members may not know the latest list

    # --- queries ---------------------------------------------------------------------------

    def rooms(self) -> list[str]:
        """Names of the rooms the server remembers: with members, or with kept history."""
        return sorted(self._rooms)

    def members(self, room: str = protocol.DEFAULT_ROOM) -> list[str]:
        """Nicks in `room`, sorted."""
        return self._rooms[room].online() if room in self._rooms else []

    def history(self, room: str = protocol.DEFAULT_ROOM) -> list[Message]:
        """The messages `room` keeps, oldest first (copies)."""
        return [dict(m) for m in self._rooms[room].history] if room in self._rooms else []

    def typing(self, room: str = protocol.DEFAULT_ROOM) -> list[str]:
        """Nicks typing in `room` right now, sorted."""
        return sorted(self._rooms[room].typing) if room in self._rooms else []

    def nick(self, client: Client) -> str | None:
        """The nick of `client`, or None if it has not joined."""
        member = self._members.get(client)
        return member.nick if member else None

    def client(self, nick: str) -> Client | None:
        """The client that joined as `nick`, or None."""
        return self._by_nick.get(nick)

    @property
    def pending(self) -> bool:
        """True if some room has joins or leaves that `flush()` has not told yet."""
        return bool(self._changed)

    # --- events ----------------------------------------------------------------------------

    def receive(self, client: Client, message: protocol.ClientMessage | ChatError) -> Outcome:
        """Handle what `client` sent: a parsed message, or the error its parsing raised."""
        member = self._members.get(client)
        try:
            if isinstance(message, ChatError):
                raise message
            if member is None:
                if not isinstance(message, Join):
                    raise ChatError("not_joined", 'send {"type": "join", "nick": ...} first')
                return Outcome(self._enter(client, message.nick, message.room, message.last_id))
            if isinstance(message, Join):
                return Outcome(self._rejoin(client, member, message))
            # Whatever else a member sends, its room hears of the latest joins first.
            room = self._rooms[member.room]
            first = self._flush(room)
            match message:
                case Say():
                    return Outcome(first + self._say(client, member, message))
                case Whisper():
                    return Outcome(first + self._whisper(client, member, message))
                case Typing():
                    return Outcome(first + self._typing(client, member, message.typing))
                case Who():
                    answer = protocol.presence(room.name, room.online())
                    return Outcome([*first, _to(client, answer)])
            raise TypeError(f"not a chat message: {message!r}")
        except ChatError as refused:
            outcome = Outcome([_to(client, protocol.error(refused))])
            if member is None and refused.code in CLOSE_AFTER:
                outcome.close = (POLICY_VIOLATION, CLOSE_AFTER[refused.code])
            return outcome

    def disconnect(self, client: Client) -> None:
        """`client` is gone: the others in its room will see it leave at the next `flush()`.
        Harmless if it never joined."""
        member = self._members.pop(client, None)
        if member is None:
            return
        del self._by_nick[member.nick]
        self._leave(member)

    def flush(self) -> list[Delivery]:
        """Tell each room with changes since the last flush: one ``presence_changed`` each."""
        changed, self._changed = self._changed, set()
        deliveries: list[Delivery] = []
        for name in sorted(changed):
            room = self._rooms.get(name)  # an emptied room may have been forgotten since
            if room is not None:
                deliveries += self._flush(room)
        return deliveries

    # --- private ---------------------------------------------------------------------------

    def _enter(self, client: Client, nick: str, name: str, last_id: int | None) -> list[Delivery]:
        if nick in self._by_nick:
            raise ChatError("nick_taken", f"{nick!r} is already in use; pick another nick")
        room = self._room(name)
        history, truncated = self._recover(room, last_id)
        self._members[client] = _Member(nick, name)
        self._by_nick[nick] = client
        room.members[nick] = client
        self._changed.add(name)
        return [_to(client, self._welcome(room, nick, history, truncated))]

    def _rejoin(self, client: Client, member: _Member, join: Join) -> list[Delivery]:
        if join.nick != member.nick:
            raise ChatError(
                "bad_message",
                f"you are {member.nick!r}: a second join changes the room, not the nick",
            )
        if join.room == member.room:  # already there: just what was missed
            room = self._rooms[member.room]
            history, truncated = self._recover(room, join.last_id)
            return [_to(client, self._welcome(room, member.nick, history, truncated))]
        self._room(join.room)  # may refuse (too many rooms) before the member leaves
        self._leave(member)
        del self._members[client], self._by_nick[member.nick]
        return self._enter(client, member.nick, join.room, join.last_id)

    def _welcome(self, room: _Room, nick: str, history: list[Message], truncated: bool) -> Message:
        # The list the others know (the next flush brings everyone up to date), and the newcomer
        # (who may be in it already: back before the flush told it left, or joining again).
        online = list(room.told)
        at = bisect.bisect_left(online, nick)
        if online[at : at + 1] != [nick]:
            online.insert(at, nick)
        return protocol.welcome(nick, room.name, online, history, truncated)

    def _leave(self, member: _Member) -> None:
        room = self._rooms[member.room]
        del room.members[member.nick]
        room.typing.discard(member.nick)
        if member.nick in room.announced:
            room.cycled.add(member.nick)  # told "left", even if it comes back before the flush
        self._changed.add(room.name)
        if not room.members:
            room.emptied_at = next(self._clock)

    def _flush(self, room: _Room) -> list[Delivery]:
        """The changes to `room`'s list since its members were last told, as one delivery."""
        current = set(room.members)
        left = (room.announced - current) | room.cycled
        joined = (current - room.announced) | (room.cycled & current)
        room.announced, room.cycled = current, set()
        if not (left or joined):
            return []
        room.told = sorted(current)
        arrived = [nick for nick in room.members if nick in joined]  # dicts keep insertion order
        change = protocol.presence_changed(room.name, arrived, sorted(left))
        return _nonempty(Delivery(room.clients(), change))

    def _say(self, client: Client, member: _Member, say: Say) -> list[Delivery]:
        room = self._rooms[member.room]
        self.last_id += 1
        message = protocol.message(self.last_id, room.name, member.nick, say.text)
        room.keep(message)
        room.typing.discard(member.nick)
        return _nonempty(
            _to(client, protocol.ack(self.last_id, say.ref)),
            Delivery(room.clients(but=client), message),
        )

    def _whisper(self, client: Client, member: _Member, whisper: Whisper) -> list[Delivery]:
        target = self._by_nick.get(whisper.to)
        if target is None:
            raise ChatError("no_such_user", f"nobody called {whisper.to!r} is online")
        self.last_id += 1
        private = protocol.private(self.last_id, member.nick, whisper.to, whisper.text)
        return [_to(client, protocol.ack(self.last_id, whisper.ref)), _to(target, private)]

    def _typing(self, client: Client, member: _Member, typing: bool) -> list[Delivery]:
        room = self._rooms[member.room]
        if (member.nick in room.typing) == typing:
            return []  # no change, nothing to tell
        if typing:
            room.typing.add(member.nick)
        else:
            room.typing.discard(member.nick)
        return _nonempty(Delivery(room.clients(but=client), protocol.typing(member.nick, typing)))

    def _room(self, name: str) -> _Room:
        """The room called `name`, created if new (forgetting an empty room if needed)."""
        room = self._rooms.get(name)
        if room is not None:
            return room
        if len(self._rooms) >= self.max_rooms:
            empty = [r for r in self._rooms.values() if not r.members]
            if not empty:
                raise ChatError("bad_message", f"the server has {self.max_rooms} rooms in use")
            del self._rooms[min(empty, key=lambda r: r.emptied_at).name]
        room = self._rooms[name] = _Room(name, deque(maxlen=self.history_size))
        return room

    def _recover(self, room: _Room, last_id: int | None) -> tuple[list[Message], bool]:
        """The kept messages a joining member has not seen, and whether some are missing."""
        kept = list(room.history)
        if last_id is None:
            return kept, False
        if last_id > self.last_id:  # an id from another server: send all, say it's partial
            return kept, True
        return [m for m in kept if m["id"] > last_id], last_id < room.dropped_up_to


def _to(client: Client, message: Message) -> Delivery:
    return Delivery((client,), message)


def _nonempty(*deliveries: Delivery) -> list[Delivery]:
    return [d for d in deliveries if d.to]
