"""ex06, wrong: command types compared without their case: "Count" is taken for "count"."""

from variants_support import inherit

FAILS = "test_errors"
SAYS = "unknown type: Count"

inherit(
    globals(),
    "ex06_echo_handler",
    ('    match command["type"]:', '    match getattr(command["type"], "lower", lambda: None)():'),
)
