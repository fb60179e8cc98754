"""ex10, wrong: ``Connection`` searched for the substring upgrade, not the token."""

from variants_support import inherit

FAILS = "test_refuses_a_malformed_request"
SAYS = "x-upgrade is another token"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        'if "upgrade" not in tokens("connection"):',
        'if "upgrade" not in headers.get("connection", "").lower():',
    ),
)
