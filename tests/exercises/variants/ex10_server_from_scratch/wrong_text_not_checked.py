"""ex10, wrong: text messages echoed without checking that they are UTF-8 (§8.1)."""

from variants_support import inherit

FAILS = "test_invalid_data"
SAYS = "expected a CLOSE frame with code 1007"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        "            if message_type == TEXT:\n",
        "            if False:\n",
    ),
)
