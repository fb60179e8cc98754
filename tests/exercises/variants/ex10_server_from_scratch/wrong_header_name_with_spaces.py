"""ex10, wrong: header names checked only for spaces around them (``Bad Name: x`` passes)."""

from variants_support import inherit

FAILS = "test_refuses_a_malformed_request"
SAYS = "a header name is a token"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        "if not colon or not TOKEN.fullmatch(name):",
        "if not colon or not name or name != name.strip():",
    ),
)
