"""ex10, wrong: a key is judged by its 24 characters: 17 bytes in base64 are 24 characters too."""

from variants_support import inherit

FAILS = "test_refuses_a_malformed_request"
SAYS = "17 bytes"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        "valid_key = len(base64.b64decode(key, validate=True)) == 16",
        "valid_key = len(key) == 24 and base64.b64decode(key, validate=True) is not None",
    ),
)
