"""ex10, wrong: ``Upgrade`` searched for the substring websocket, not the token."""

from variants_support import inherit

FAILS = "test_refuses_what_is_not_a_websocket_upgrade"
SAYS = "'websockets' is another token"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        'if "websocket" not in tokens("upgrade"):',
        'if "websocket" not in headers.get("upgrade", "").lower():',
    ),
)
