"""ex08, wrong: awaits between checking that a nick is free and taking it.

Here it awaits an asynchronous "audit log" (any await that lets the loop run will do): two
joins of the same nick that arrive together both find it free, and both get a welcome.
"""

import asyncio
import json

from variants_support import inherit

inherit(globals(), "ex08_chat_room")

FAILS = "test_same_nick_at_the_same_moment"
SAYS = "exactly one should be welcomed"


async def audit(nick: str) -> None:
    await asyncio.sleep(0)  # stands for a write to a database, a log service...


class ChatRoom(ChatRoom):  # noqa: F821 (defined by inherit)
    async def join(self, websocket):
        event = parse(await websocket.recv())  # noqa: F821
        nick = event.get("nick") if event and event.get("type") == "join" else None
        if not isinstance(nick, str) or not nick:
            await self.refuse(websocket, "join first")
            return None
        if nick in self.members:
            await self.refuse(websocket, "nick taken")
            return None
        await audit(nick)  # the mistake: another join runs meanwhile
        others = list(self.members.values())
        self.members[nick] = websocket
        welcome = {"type": "welcome", "nick": nick, "online": sorted(self.members)}
        await websocket.send(json.dumps(welcome))
        self.send(others, {"type": "joined", "nick": nick})
        return nick
