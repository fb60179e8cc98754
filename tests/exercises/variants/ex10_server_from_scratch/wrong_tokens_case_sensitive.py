"""ex10, wrong: the ``websocket`` and ``Upgrade`` tokens compared as they are spelled."""

from variants_support import inherit

FAILS = "test_handshake_any_spelling"
SAYS = "case-insensitive tokens"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        'return {token.strip(" \\t").lower() for token',
        'return {token.strip(" \\t") for token',
    ),
    (
        'if "upgrade" not in tokens("connection"):',
        'if "Upgrade" not in tokens("connection"):',
    ),
)
