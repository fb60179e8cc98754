"""wslab.plots.handshake: the bytes of each line of a handshake, and the figure drawn from them."""

from __future__ import annotations

import pytest

import wslab
from wslab import protocol
from wslab.plots.handshake import HeadLine, head_lines, plot_handshake

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3
REQUEST = protocol.build_request("example.com", "/chat", KEY, origin="http://example.com")
RESPONSE = protocol.build_response(KEY)


def test_line_sizes_add_up_to_the_head():
    """Every byte of the head is counted once, CRLFs and the closing blank line included."""
    for head in (REQUEST, RESPONSE):
        assert sum(line.size for line in head_lines(head)) == len(head)


def test_lines_are_labelled_and_classified():
    """The start line comes first, headers are named and sorted into WebSocket or other."""
    lines = head_lines(REQUEST)
    assert lines[0] == HeadLine("GET /chat HTTP/1.1", "start line", 20)
    assert lines[-1] == HeadLine("(blank line)", "blank line", 2)
    kinds = {line.label: line.kind for line in lines[1:-1]}
    assert kinds == {
        "Host": "other header",
        "Upgrade": "WebSocket header",
        "Connection": "WebSocket header",
        "Sec-WebSocket-Key": "WebSocket header",
        "Sec-WebSocket-Version": "WebSocket header",
        "Origin": "other header",
    }
    assert next(li for li in lines if li.label == "Sec-WebSocket-Key").size == len(
        f"Sec-WebSocket-Key: {KEY}\r\n"
    )


def test_an_incomplete_head_is_refused():
    """Bytes without the closing CRLF CRLF are not a head."""
    with pytest.raises(ValueError, match="CRLF CRLF"):
        head_lines(b"GET / HTTP/1.1\r\nHost: x\r\n")


def test_figure_has_one_bar_per_line():
    """The figure has two panels, one bar per line of each head."""
    figure = plot_handshake(REQUEST, RESPONSE)
    request_axes, response_axes = figure.axes
    assert len(request_axes.patches) == len(head_lines(REQUEST))
    assert len(response_axes.patches) == len(head_lines(RESPONSE))
    assert request_axes.get_title().endswith(f": {len(REQUEST)} B")


def test_figure_from_tap_records():
    """Tap records work directly, and their bars add up to the size the tap measured."""
    server = wslab.echo_server()
    tap = wslab.tap(server)
    with wslab.connect(tap.url) as ws:
        ws.request("hi")
    request, response = [r for r in tap.frames() if r.kind == "http"]
    for record in (request, response):
        assert sum(line.size for line in head_lines(record)) == record.size
    figure = plot_handshake(request, response)
    assert len(figure.axes) == 2
