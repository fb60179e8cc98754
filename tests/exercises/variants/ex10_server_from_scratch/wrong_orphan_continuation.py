"""ex10, wrong: a continuation frame with no message started is taken for a new message (§5.4)."""

from variants_support import inherit

FAILS = "test_protocol_errors"
SAYS = "a CONT frame with no message started"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        "if opcode == CONT and message_type is None:",
        "if False:",
    ),
)
