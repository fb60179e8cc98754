"""ex10, wrong: any close code is echoed, even 1005 or 999, which may never be sent (§7.4)."""

from variants_support import inherit

FAILS = "test_protocol_errors"
SAYS = "a CLOSE with code 999"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        "    if not (1000 <= code <= 1003",
        "    if False and not (1000 <= code <= 1003",
    ),
)
