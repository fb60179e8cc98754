"""ex08, wrong: a whisper sent with an awaited ``send()`` instead of ``broadcast``.

``say`` uses broadcast, so the say flood passes; but a whisper to a member who stopped
reading waits for that member's buffers to drain, and the whisperer's handler stalls.
"""

import json

from variants_support import inherit

inherit(globals(), "ex08_chat_room")

FAILS = "test_a_client_that_stops_reading_does_not_stall_the_room"
SAYS = "after the whispers"


class ChatRoom(ChatRoom):  # noqa: F821 (defined by inherit)
    async def dispatch(self, nick, websocket, message):
        event = parse(message) or {}  # noqa: F821
        if event.get("type") == "whisper" and isinstance(event.get("text"), str):
            target = self.members.get(event.get("to"))
            if target is not None:  # the mistake: waits until the target reads
                private = {"type": "private", "from": nick, "text": event["text"]}
                await target.send(json.dumps(private))
                return
        await super().dispatch(nick, websocket, message)
