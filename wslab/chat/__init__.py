"""The course's chat room (lesson on a real application): a server, its page, its protocol.

    server = wslab.chat_server()      # the page at server.page_url, the WebSocket at server.url
    with wslab.connect(server.url) as alice:
        alice.send('{"type": "join", "nick": "alice"}')
        alice.recv()                  # {"type": "welcome", ...}

`protocol` (messages, sans I/O), `room` (the state machine, sans I/O) and `pacing` (when joins
and leaves are told, sans clock) can be used on their own; `server` glues them to websockets.
"""

from . import protocol
from .bots import Bots, ChatBot, start_bots
from .client import ChatRefused
from .panel import ChatPanel, chat_panel
from .room import ChatState
from .server import ChatServer, chat_server

__all__ = [
    "Bots",
    "ChatBot",
    "ChatPanel",
    "ChatRefused",
    "ChatServer",
    "ChatState",
    "chat_panel",
    "chat_server",
    "protocol",
    "start_bots",
]
