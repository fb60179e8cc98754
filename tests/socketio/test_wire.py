"""The tap's Socket.IO reading, on the bytes python-socketio really sends, captured live.

A real python-socketio server (`wslab.socketio_server`) behind a `wslab.tap`, and python-socketio's
own client: once over HTTP long polling only, once upgrading to WebSocket. Every packet the tap
recorded must decode, and the decoded packets must be the conversation the client had.
"""

from __future__ import annotations

import asyncio

import socketio

import wslab
from wslab._wire import CLIENT_TO_SERVER, SERVER_TO_CLIENT
from wslab.socketio import packets, wire

TIMEOUT = 5.0


def converse(url: str, transports: list[str]) -> str:
    """Connect, call "chat message" (ack), receive its broadcast, disconnect; return the sid."""

    async def main() -> str:
        client = socketio.AsyncSimpleClient()
        await client.connect(url, transports=transports, wait_timeout=TIMEOUT)
        assert await client.call("chat message", "hi", timeout=TIMEOUT) == 1
        assert await client.receive(timeout=TIMEOUT) == ["chat message", "hi", 1]
        sid = client.sid  # the namespace's session id (not the Engine.IO one)
        await client.disconnect()
        return sid

    return asyncio.run(asyncio.wait_for(main(), TIMEOUT * 2))


def start(**options) -> wslab.Tap:
    return wslab.tap(wslab.socketio_server(**options))


def texts(rows, direction: str, transport: str) -> list[str]:
    return [r.packet for r in rows if r.direction == direction and r.transport == transport]


def test_polling_bodies_decode_to_the_conversation():
    """Over long polling only: the open packet, 40, the event with ack id 1, the ack 431[1]."""
    # A client's disconnect waits for its pending long poll, which the server holds for up to
    # ping_interval + ping_timeout: keep both short.
    tap = start(ping_interval=1, ping_timeout=1)
    sid = converse(tap.url, ["polling"])
    rows = wire(tap.frames())
    assert not [r for r in rows if r.transport == "websocket"]
    server_says = texts(rows, SERVER_TO_CLIENT, "polling")
    client_says = texts(rows, CLIENT_TO_SERVER, "polling")
    opening = packets.parse_engine(server_says[0])
    assert opening.type is packets.EngineType.OPEN and '"sid":' in opening.data
    assert f'40{{"sid":"{sid}"}}' in server_says
    assert client_says[0] == "GET (no sid)"
    assert client_says.index("40{}") < client_says.index('421["chat message","hi"]')
    assert "431[1]" in server_says and '42["chat message","hi",1]' in server_says
    assert not [r for r in rows if "not Engine.IO" in r.meaning or r.transport == "?"]


def test_upgrade_probe_then_packets_in_frames():
    """With the upgrade: 2probe, 3probe, 5, then Socket.IO packets one per WebSocket frame."""
    tap = start()
    converse(tap.url, ["polling", "websocket"])
    rows = wire(tap.frames())
    client_ws = texts(rows, CLIENT_TO_SERVER, "websocket")
    server_ws = texts(rows, SERVER_TO_CLIENT, "websocket")
    assert client_ws[1:4] == ["2probe", "5", "40{}"]  # probe, upgrade, then connect
    assert server_ws.index("3probe") < server_ws.index("431[1]")
    assert '421["chat message","hi"]' in client_ws
    frames = [r for r in rows if r.transport == "websocket" and r.packet[0].isdigit()]
    for row in frames:  # a frame row's size is its frame: 2 bytes of header, 4 of mask
        extra = 6 if row.direction == CLIENT_TO_SERVER else 2
        assert row.size == len(row.packet.encode()) + extra
    assert not [r for r in rows if "not Engine.IO" in r.meaning or r.transport == "?"]


def test_websocket_only_skips_polling():
    """transports=["websocket"]: no polling at all, the open packet arrives in the first frame."""
    tap = start()
    converse(tap.url, ["websocket"])
    rows = wire(tap.frames())
    assert not [r for r in rows if r.transport == "polling"]
    first = texts(rows, SERVER_TO_CLIENT, "websocket")[1]  # after the 101
    assert packets.parse_engine(first).type is packets.EngineType.OPEN


def test_plain_http_and_refusals_are_named():
    """The page at / is plain HTTP; a poll for an unknown session is refused with its reason."""
    tap = start()
    import urllib.request

    with urllib.request.urlopen(tap.url, timeout=TIMEOUT) as page:
        assert b"<script>" in page.read()
    try:
        urllib.request.urlopen(tap.url + "socket.io/?EIO=4&transport=polling&sid=nope", timeout=5)
    except urllib.error.HTTPError as exc:
        assert exc.code == 400
    rows = wire(tap.frames())
    assert rows[0].packet == "GET /" and rows[0].transport == "http"
    assert [r for r in rows if r.meaning.startswith("refused")]


def test_binary_attachments_on_both_transports():
    """Bytes travel as a binary attachment: base64 after 'b' in a polling body, a binary
    frame on a WebSocket; the event before them announces one attachment."""
    server = wslab.socketio_server("binary", chat=False, ping_interval=1, ping_timeout=1)
    server.sio.on("echo", lambda sid, data: data)  # the ack carries the bytes back
    for transports, carrier in ((["polling"], "polling"), (["websocket"], "websocket")):
        tap = wslab.tap(server, name=f"tap-{carrier}")

        async def main(url=tap.url, transports=transports):
            client = socketio.AsyncSimpleClient()
            await client.connect(url, transports=transports, wait_timeout=TIMEOUT)
            answer = await client.call("echo", b"\x00\x01\xfe\xff", timeout=TIMEOUT)
            await client.disconnect()
            return answer

        assert asyncio.run(asyncio.wait_for(main(), TIMEOUT * 2)) == b"\x00\x01\xfe\xff"
        rows = wire(tap.frames())
        sent = texts(rows, CLIENT_TO_SERVER, carrier)
        event = next(p for p in sent if p.startswith("45"))
        assert event == '451-1["echo",{"_placeholder":true,"num":0}]'
        attachment = [r for r in rows if r.meaning.startswith("binary data (4 B)")]
        assert {r.direction for r in attachment} == {CLIENT_TO_SERVER, SERVER_TO_CLIENT}
        if carrier == "polling":
            assert "bAAH+/w==" in sent
