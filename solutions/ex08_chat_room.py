"""Exercise 08 · A chat room (lesson 06, a realtime chat room)

Write the server of a chat room: one `ChatRoom` object, shared by every connection, whose
`handler(websocket)` is a websockets handler (``serve(room.handler, host, port)``). Clients
pick a nickname, everyone sees who comes and goes, a message goes to everyone else, and a
whisper goes to one person only.

The protocol: every message is one JSON object in a text message, with a ``"type"``, and
exactly the keys shown here.

What a client sends:

- ``{"type": "join", "nick": "alice"}``: the first message, exactly once;
- ``{"type": "say", "text": "hi all"}``: a message for everyone else in the room;
- ``{"type": "whisper", "to": "bob", "text": "psst"}``: a message for bob only.

What the server sends:

- ``{"type": "welcome", "nick": "alice", "online": ["alice", "bob"]}``: to the client that
  joined;
- ``{"type": "joined", "nick": "alice"}``: to everyone else, when alice joins;
- ``{"type": "message", "from": "alice", "text": "hi all"}``: to everyone but the sender;
- ``{"type": "private", "from": "alice", "text": "psst"}``: to the whisper's target only;
- ``{"type": "left", "nick": "alice"}``: to everyone still online, when alice leaves;
- ``{"type": "error", "reason": "..."}``: to one client, for the reasons below.

The rules:

1. Joining. The first message must be a join whose ``nick`` is a non-empty string. The
   joiner gets ``welcome`` with ``online``: every nick in the room, its own included, sorted.
   Everyone already there gets ``joined``; the joiner does not.
2. Refusals, after which the server closes the connection with code 1008, "policy violation"
   (RFC 6455 §7.4.1); the client never joined, so nobody hears about it:

   - a nick already online: ``{"type": "error", "reason": "nick taken"}``;
   - a first message that is not such a join (a ``say``, a join without a nick, text that is
     not JSON, ...): ``{"type": "error", "reason": "join first"}``.
3. ``say`` sends ``message`` to every member except the sender: no echo.
4. ``whisper`` sends ``private`` to its target only. A target that is not online gets the
   sender ``{"type": "error", "reason": "no such user: bob"}`` (the nick as the client wrote it).
5. After joining, anything else (text that is not JSON, JSON that is not an object, an
   unknown ``type``, a missing or non-string ``text`` or ``to``, a second join) gets
   ``{"type": "error", "reason": "invalid message"}``, and the connection stays open.
6. Leaving. When a member's connection ends, however it ends (a closing handshake or a
   dropped TCP connection), everyone still online gets ``left`` and the nick is free again.
7. A client that stops reading never delays the others.

The class below splits the work into small methods (`join`, `refuse`, `dispatch`, `send`, and
the function `parse`), each with its docstring: a suggestion. The tests only ever connect to
`handler`, so organise the rest as you like.

The tests run a fresh ``ChatRoom()`` under websockets' asyncio server and connect several
real clients in one event loop. Each rule gets a test, and a "does not happen" is checked by a
probe: a message that arrives after the one that must not, so that the next message a client
receives proves what it did not receive. Among them: three clients whose joins with the same
nick reach the server in the same instant (exactly one is welcomed), and a member who stops
reading while another floods the room with ``say`` and then floods *him* with whispers (a
message said after the whispers must still reach a third member).

Hints:

- Between checking that a nick is free and taking it, don't ``await``: another client's
  join could run in between.
- `websockets.asyncio.server.broadcast(connections, message)` sends one message to many
  connections and never waits. It writes the frame into each connection's buffer and moves
  on, without waiting for any of them to drain, so a client that stops reading only makes its
  own buffer grow (until the server's keepalive pings go unanswered and it drops that client).
  ``for c in connections: await c.send(message)`` waits whenever a client's buffer is full
  (that is backpressure, lesson 05), and then the sender's handler, and every message behind
  it, waits for the slowest reader in the room. Use `broadcast` for everything sent to
  *other* clients, a whisper included (``broadcast([target], ...)``).
- `async for message in websocket` ends quietly after a closing handshake but raises
  `ConnectionClosedError` when the TCP connection drops: a ``try``/``finally`` around the loop
  makes sure the member leaves either way.

Check your work: ``python -m wslab grade --exercise ex08`` or, in lesson 06,
``wslab.check("ex08")``.
"""

import json
from collections.abc import Iterable

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

POLICY_VIOLATION = 1008  # close code for a client that breaks the room's rules (§7.4.1)


class ChatRoom:
    """One chat room: every connection served by `handler` is in the same room."""

    def __init__(self) -> None:
        self.members: dict[str, ServerConnection] = {}
        """Who is online: nick -> connection."""

    async def handler(self, websocket: ServerConnection) -> None:
        """Serve one client: its join, its messages, its departure."""
        ### BEGIN SOLUTION
        nick = await self.join(websocket)
        if nick is None:
            return
        try:
            async for message in websocket:
                await self.dispatch(nick, websocket, message)
        except ConnectionClosed:
            pass  # the TCP connection dropped without a closing handshake: still a departure
        finally:
            del self.members[nick]
            self.send(self.members.values(), {"type": "left", "nick": nick})
        ### END SOLUTION

    async def join(self, websocket: ServerConnection) -> str | None:
        """Read the first message: return the new member's nick, or None after a refusal."""
        ### BEGIN SOLUTION
        try:
            event = parse(await websocket.recv())
        except ConnectionClosed:
            return None  # gone before joining: nobody knew it was there
        nick = event.get("nick") if event and event.get("type") == "join" else None
        if not isinstance(nick, str) or not nick:
            await self.refuse(websocket, "join first")
            return None
        if nick in self.members:
            await self.refuse(websocket, "nick taken")
            return None
        # No await between the check above and this line: no other join can slip in.
        others = list(self.members.values())
        self.members[nick] = websocket
        self.send([websocket], {"type": "welcome", "nick": nick, "online": sorted(self.members)})
        self.send(others, {"type": "joined", "nick": nick})
        return nick
        ### END SOLUTION

    async def refuse(self, websocket: ServerConnection, reason: str) -> None:
        """Tell a client why it can't join, then close its connection with 1008."""
        ### BEGIN SOLUTION
        try:
            await websocket.send(json.dumps({"type": "error", "reason": reason}))
            await websocket.close(POLICY_VIOLATION, reason)
        except ConnectionClosed:
            pass
        ### END SOLUTION

    async def dispatch(self, nick: str, websocket: ServerConnection, message: str | bytes) -> None:
        """Act on one message from the member `nick` (a ``say``, a ``whisper``, or an error)."""
        ### BEGIN SOLUTION
        event = parse(message) or {}
        kind, text, to = event.get("type"), event.get("text"), event.get("to")
        if kind == "say" and isinstance(text, str):
            others = [other for name, other in self.members.items() if name != nick]
            self.send(others, {"type": "message", "from": nick, "text": text})
        elif kind == "whisper" and isinstance(text, str) and isinstance(to, str):
            target = self.members.get(to)
            if target is None:
                self.send([websocket], {"type": "error", "reason": f"no such user: {to}"})
            else:
                self.send([target], {"type": "private", "from": nick, "text": text})
        else:
            self.send([websocket], {"type": "error", "reason": "invalid message"})
        ### END SOLUTION

    def send(self, connections: Iterable[ServerConnection], event: dict) -> None:
        """Send `event` as JSON to each of `connections`, never waiting for a slow one."""
        ### BEGIN SOLUTION
        broadcast(connections, json.dumps(event))
        ### END SOLUTION


def parse(message: str | bytes) -> dict | None:
    """The JSON object in `message`, or None if it is not one."""
    ### BEGIN SOLUTION
    try:
        event = json.loads(message)
    except ValueError:  # not JSON (json.JSONDecodeError), or bytes that are not UTF-8
        return None
    return event if isinstance(event, dict) else None
    ### END SOLUTION
