"""ex10, wrong: header names kept as sent and looked up as the RFC spells them.

Every browser and library spells ``Sec-WebSocket-Key`` that way, so the usual clients work;
a client (or a proxy) that writes ``sec-websocket-key`` is refused.
"""

from variants_support import inherit

FAILS = "test_handshake_any_spelling"
SAYS = "header names are case-insensitive"

inherit(
    globals(),
    "ex10_server_from_scratch",
    ('name, value = name.lower(), value.strip(" \\t")', 'value = value.strip(" \\t")'),
    ('if "host" not in headers:', 'if "Host" not in headers:'),
    ('tokens("upgrade")', 'tokens("Upgrade")'),
    ('tokens("connection")', 'tokens("Connection")'),
    ('headers.get("sec-websocket-version")', 'headers.get("Sec-WebSocket-Version")'),
    ('headers.get("sec-websocket-key", "")', 'headers.get("Sec-WebSocket-Key", "")'),
)
