"""ex08, right: the room's rules as a pure function that returns deliveries.

`Room.on_join` / `on_message` / `on_leave` change the state and return a list of
(connections, event) to deliver; the handler only moves bytes. No await between the check
of a nick and its registration, since `on_join` is not a coroutine at all.
"""

import json
from dataclasses import dataclass, field

from websockets.asyncio.server import broadcast
from websockets.exceptions import ConnectionClosed

JOIN_FIRST, NICK_TAKEN, INVALID = "join first", "nick taken", "invalid message"


def decode(message):
    try:
        event = json.loads(message)
    except (ValueError, TypeError):
        return {}
    return event if isinstance(event, dict) else {}


@dataclass
class Room:
    online: dict = field(default_factory=dict)  # nick -> connection

    def on_join(self, connection, event):
        """(nick or None, deliveries, refusal reason or None)."""
        nick = event.get("nick")
        if event.get("type") != "join" or not isinstance(nick, str) or nick == "":
            return None, [], JOIN_FIRST
        if nick in self.online:
            return None, [], NICK_TAKEN
        others = list(self.online.values())
        self.online[nick] = connection
        welcome = {"type": "welcome", "nick": nick, "online": sorted(self.online)}
        return nick, [([connection], welcome), (others, {"type": "joined", "nick": nick})], None

    def on_message(self, nick, event):
        me = self.online[nick]
        kind, text = event.get("type"), event.get("text")
        if not isinstance(text, str):
            return [([me], {"type": "error", "reason": INVALID})]
        if kind == "say":
            others = [c for n, c in self.online.items() if n != nick]
            return [(others, {"type": "message", "from": nick, "text": text})]
        if kind == "whisper" and isinstance(event.get("to"), str):
            target = self.online.get(event["to"])
            if target is None:
                return [([me], {"type": "error", "reason": "no such user: " + event["to"]})]
            return [([target], {"type": "private", "from": nick, "text": text})]
        return [([me], {"type": "error", "reason": INVALID})]

    def on_leave(self, nick):
        del self.online[nick]
        return [(list(self.online.values()), {"type": "left", "nick": nick})]


def deliver(deliveries):
    for connections, event in deliveries:
        broadcast(connections, json.dumps(event))


class ChatRoom:
    def __init__(self):
        self.room = Room()

    async def handler(self, websocket):
        try:
            first = await websocket.recv()
        except ConnectionClosed:
            return
        nick, deliveries, refusal = self.room.on_join(websocket, decode(first))
        if refusal is not None:
            try:
                await websocket.send(json.dumps({"type": "error", "reason": refusal}))
                await websocket.close(1008, refusal)
            except ConnectionClosed:
                pass
            return
        deliver(deliveries)
        try:
            while True:
                message = await websocket.recv()
                deliver(self.room.on_message(nick, decode(message)))
        except ConnectionClosed:
            pass
        finally:
            deliver(self.room.on_leave(nick))
