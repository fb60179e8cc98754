"""ex10, wrong: the Connection header is never looked at."""

from variants_support import inherit

FAILS = "test_refuses_a_malformed_request"
SAYS = "Connection must list the token Upgrade"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        'if "upgrade" not in tokens("connection"):',
        "if False:",
    ),
)
