"""ex10, wrong: any HTTP version is accepted, HTTP/1.0 included."""

from variants_support import inherit

FAILS = "test_refuses_a_malformed_request"
SAYS = "needs HTTP/1.1"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        'if request["method"] != "GET" or request["version"] != "HTTP/1.1":',
        'if request["method"] != "GET":',
    ),
)
