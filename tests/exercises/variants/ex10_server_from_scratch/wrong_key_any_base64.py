"""ex10, wrong: a key that is base64 is accepted, whatever its length."""

from variants_support import inherit

FAILS = "test_refuses_a_malformed_request"
SAYS = "the key is 16 random bytes"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        "valid_key = len(base64.b64decode(key, validate=True)) == 16",
        "valid_key = len(base64.b64decode(key, validate=True)) > 0",
    ),
)
