"""ex10, wrong: any method is accepted, POST included."""

from variants_support import inherit

FAILS = "test_refuses_a_malformed_request"
SAYS = "a WebSocket handshake is a GET"

inherit(
    globals(),
    "ex10_server_from_scratch",
    (
        'if request["method"] != "GET" or request["version"] != "HTTP/1.1":',
        'if request["version"] != "HTTP/1.1":',
    ),
)
