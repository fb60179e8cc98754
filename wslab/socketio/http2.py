"""WebSockets over HTTP/2 (RFC 8441), shown with the `h2` package, in memory.

HTTP/2 has no ``Upgrade`` and no ``101``: one TCP connection carries many streams, and a
WebSocket becomes one of them. RFC 8441 extends the CONNECT method for this:

1. the server announces ``SETTINGS_ENABLE_CONNECT_PROTOCOL = 1`` (§3);
2. the client opens a stream with ``:method = CONNECT`` and ``:protocol = websocket``, plus
   ``:scheme``, ``:path`` and ``:authority`` (§4); no ``Sec-WebSocket-Key``: the stream is
   new, so there is no cached response to tell apart from a real one (§5);
3. the server answers ``:status = 200`` (§5), and from then on the stream's DATA frames carry
   ordinary WebSocket frames, masking included (§5: RFC 6455's framing is unchanged).

`exchange()` runs both ends as `h2.connection.H2Connection` objects joined by memory (the
bytes one sends are the bytes the other receives), so every step is real HTTP/2, framed and
HPACK-compressed by h2, with nothing listening anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import h2.config
import h2.connection
import h2.events
import h2.settings

from .. import protocol

#: How the client side opens the stream (RFC 8441 §4); the values of the lesson.
CONNECT_HEADERS = [
    (":method", "CONNECT"),
    (":protocol", "websocket"),
    (":scheme", "http"),
    (":path", "/chat"),
    (":authority", "127.0.0.1"),
    ("sec-websocket-version", "13"),
]


@dataclass(frozen=True)
class Step:
    """One flight of bytes between the two ends, and what the receiver made of it."""

    sender: str
    events: list[str]
    size: int
    """Bytes of HTTP/2 frames that crossed (frame headers and compressed headers included)."""


class Steps(list[Step]):
    """Steps that print one per line."""

    def __str__(self) -> str:
        lines = [f"{'from':<6}  {'bytes':>5}  the receiver's h2 events"]
        for step in self:
            first = step.events[0] if step.events else ""
            lines.append(f"{step.sender:<6}  {step.size:>5}  {first}")
            lines.extend(f"{'':<6}  {'':>5}  {event}" for event in step.events[1:])
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython's pretty printer
        p.text(str(self))


def exchange(message: str = "hello over HTTP/2") -> Steps:
    """Open a WebSocket on an HTTP/2 stream, send `message` and get its echo back."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    server = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    )
    steps = Steps()

    def flight(sender: str, source, target) -> list[h2.events.Event]:
        data = source.data_to_send()
        events = target.receive_data(data)
        steps.append(Step(sender, [_describe(e) for e in events], len(data)))
        return events

    # 1. Both ends greet; the server's SETTINGS include ENABLE_CONNECT_PROTOCOL = 1.
    client.initiate_connection()
    server.initiate_connection()
    server.update_settings({h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1})
    flight("client", client, server)
    flight("server", server, client)
    flight("client", client, server)  # the client acknowledges the server's settings

    # 2. Extended CONNECT on a new stream.
    stream = client.get_next_available_stream_id()
    client.send_headers(stream, CONNECT_HEADERS)
    flight("client", client, server)

    # 3. 200: the stream is a WebSocket now. Its DATA carries RFC 6455 frames.
    server.send_headers(stream, [(":status", "200")])
    flight("server", server, client)
    client.send_data(stream, protocol.text(message, mask=True))
    received = flight("client", client, server)
    frames = protocol.FrameParser().feed(
        b"".join(e.data for e in received if isinstance(e, h2.events.DataReceived))
    )
    server.send_data(stream, protocol.text(frames[0].payload.decode()))
    flight("server", server, client)
    return steps


def _describe(event: h2.events.Event) -> str:
    match event:
        case h2.events.RemoteSettingsChanged():
            # Only the setting RFC 8441 adds; the others are HTTP/2's usual limits.
            code = h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL
            if code not in event.changed_settings:
                return "SETTINGS (limits of HTTP/2)"
            return f"SETTINGS ENABLE_CONNECT_PROTOCOL={event.changed_settings[code].new_value}"
        case h2.events.SettingsAcknowledged():
            return "SETTINGS acknowledged"
        case h2.events.RequestReceived():
            return f"stream {event.stream_id} request: " + " ".join(
                f"{k}={v}" for k, v in event.headers
            )
        case h2.events.ResponseReceived():
            return f"stream {event.stream_id} response: " + " ".join(
                f"{k.decode()}={v.decode()}" for k, v in event.headers
            )
        case h2.events.DataReceived():
            frames = protocol.FrameParser().feed(event.data)
            shown = ", ".join(
                f"{f.opcode.name} {f.payload.decode()!r} ({'masked' if f.mask_key else 'unmasked'})"
                for f in frames
            )
            return f"stream {event.stream_id} DATA: WebSocket frame {shown}"
    return type(event).__name__
