"""ex10, wrong: a 426 that does not say what to upgrade to."""

from variants_support import inherit

FAILS = "test_refuses_what_is_not_a_websocket_upgrade"
SAYS = "must carry the header 'upgrade: websocket'"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        'raise HandshakeError(426, "this is a WebSocket server", (("Upgrade", "websocket"),))',
        'raise HandshakeError(426, "this is a WebSocket server")',
    ),
)
