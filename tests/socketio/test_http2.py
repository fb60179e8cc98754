"""RFC 8441 with h2, in memory: extended CONNECT, 200 not 101, WebSocket frames in DATA."""

from __future__ import annotations

from wslab.socketio import http2


def test_extended_connect_opens_a_websocket_stream():
    """The server enables CONNECT (§3); the client sends :protocol websocket and no key (§4);
    the answer is 200 (§5); DATA carries a masked frame up and an unmasked frame back."""
    steps = http2.exchange("ping over h2")
    events = [event for step in steps for event in step.events]
    assert "SETTINGS ENABLE_CONNECT_PROTOCOL=1" in events
    request = next(e for e in events if " request: " in e)
    assert ":method=CONNECT" in request and ":protocol=websocket" in request
    assert "sec-websocket-key" not in request.lower()
    assert any(e.endswith("response: :status=200") for e in events)
    data = [e for e in events if "DATA" in e]
    assert data == [
        "stream 1 DATA: WebSocket frame TEXT 'ping over h2' (masked)",
        "stream 1 DATA: WebSocket frame TEXT 'ping over h2' (unmasked)",
    ]
    assert all(step.size > 0 for step in steps)
