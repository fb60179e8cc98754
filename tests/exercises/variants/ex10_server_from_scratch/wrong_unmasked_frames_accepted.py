"""ex10, wrong: a client frame without a mask is taken as it is (§5.1 says: fail the connection)."""

from variants_support import inherit

FAILS = "test_protocol_errors"
SAYS = "an unmasked TEXT frame"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        "    if not masked:\n",
        "    if False:\n",
    ),
)
