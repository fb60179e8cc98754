"""ex10, wrong: a request without Host is accepted."""

from variants_support import inherit

FAILS = "test_refuses_a_malformed_request"
SAYS = "Host is required"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        'if "host" not in headers:',
        "if False:",
    ),
)
