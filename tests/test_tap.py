"""wslab.tap(): the recording proxy sees, decodes and forwards the real bytes."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

import wslab
from wslab import protocol
from wslab.protocol import Frame, Opcode
from wslab.tap import CLIENT_TO_SERVER as C2S
from wslab.tap import SERVER_TO_CLIENT as S2C

SIZES = {"small": 5, "16-bit length": 126, "64-bit length": 65_536}


async def repertoire(websocket):
    """Send one of everything websockets can put on the wire, then close with 4000."""
    await websocket.send("text")
    await websocket.send(b"\x00binary\xff")
    await websocket.ping(b"ping!")
    await websocket.pong(b"pong!")
    await websocket.send(["frag", "men", "ted"])  # an iterable: one message, three frames
    for size in SIZES.values():
        await websocket.send(b"x" * size)
    await websocket.recv()  # wait until the client has seen it all
    await websocket.close(4000, "that's all")


def frames(tap, direction):
    return [r for r in tap.frames(http=False) if r.direction == direction]


class TestDecoding:
    def test_handshake_then_frames(self):
        """A round trip through the tap shows the handshake, then masked and unmasked frames."""
        server = wslab.echo_server()
        tap = wslab.tap(server)
        with wslab.connect(tap.url) as client:
            assert client.request("Hello") == "Hello"
        table = tap.wait_for(6)  # request, 101, text, text, close, close
        request, response, sent, echoed = table[:4]
        assert (request.kind, request.direction) == ("http", C2S)
        assert request.start_line == "GET / HTTP/1.1"
        assert request.headers.get("Upgrade") == "websocket"
        key = request.headers.get("Sec-WebSocket-Key")
        assert response.start_line == "HTTP/1.1 101 Switching Protocols"
        assert response.headers.get("Sec-WebSocket-Accept") == protocol.accept_key(key)
        assert (sent.direction, sent.opcode, sent.payload) == (C2S, Opcode.TEXT, b"Hello")
        assert sent.mask_key is not None and len(sent.mask_key) == 4
        assert (echoed.direction, echoed.payload, echoed.mask_key) == (S2C, b"Hello", None)
        # 2 header bytes, 4 of mask key, 5 of payload; the server's frame has no mask key.
        assert (sent.size, echoed.size) == (11, 7)

    def test_raw_bytes_are_the_real_bytes(self):
        """A frame's raw bytes are exactly what the client sent: masked payload included."""
        tap = wslab.tap(wslab.echo_server())
        with wslab.connect(tap.url) as client:
            client.request("Hello")
        sent = frames(tap, C2S)[0]
        assert sent.raw == protocol.encode_frame(
            Frame(Opcode.TEXT, b"Hello", mask_key=sent.mask_key)
        )
        assert sent.raw[2:6] == sent.mask_key
        assert sent.raw[6:] == protocol.apply_mask(b"Hello", sent.mask_key)

    def test_what_websockets_sends_decodes_exactly(self):
        """Every frame shape websockets sends decodes with wslab.protocol as websockets meant it."""
        tap = wslab.tap(wslab.serve(repertoire))
        with wslab.connect(tap.url, max_size=None) as client:
            received = [client.recv() for _ in range(6)]
            client.send("done")
            with pytest.raises(websockets.ConnectionClosedError):
                client.recv()
            assert client.close_code == 4000
        assert received[:3] == ["text", b"\x00binary\xff", "fragmented"]
        shapes = [(r.opcode, r.fin, r.payload) for r in frames(tap, S2C)]
        assert shapes == [
            (Opcode.TEXT, True, b"text"),
            (Opcode.BINARY, True, b"\x00binary\xff"),
            (Opcode.PING, True, b"ping!"),
            (Opcode.PONG, True, b"pong!"),
            (Opcode.TEXT, False, b"frag"),
            (Opcode.CONT, False, b"men"),
            (Opcode.CONT, False, b"ted"),
            (Opcode.CONT, True, b""),  # websockets ends an iterable with an empty final frame
            *[(Opcode.BINARY, True, b"x" * size) for size in SIZES.values()],
            (Opcode.CLOSE, True, protocol.encode_close(4000, "that's all")),
        ]
        lengths = {r.length: r.header_length for r in frames(tap, S2C) if r.payload[:1] == b"x"}
        # RFC 6455 §5.2: 7-bit length up to 125, then 16-bit, then 64-bit.
        assert lengths == {5: 2, 126: 4, 65_536: 10}

    def test_client_frames_decode_masked(self):
        """Frames from websockets' client are all masked, and unmask to what the client sent."""
        tap = wslab.tap(wslab.echo_server())
        with wslab.connect(tap.url, max_size=None) as client:
            for size in SIZES.values():
                client.request("y" * size)
            client.request(b"\x01\x02")
        sent = frames(tap, C2S)
        assert all(r.mask_key is not None for r in sent)
        assert [r.payload for r in sent[:4]] == [
            *[b"y" * size for size in SIZES.values()],
            b"\x01\x02",
        ]
        assert [r.header_length for r in sent[:3]] == [6, 8, 14]

    def test_ping_and_pong_are_seen(self):
        """A client ping crosses as PING and comes back as a PONG with the same payload."""
        tap = wslab.tap(wslab.echo_server())
        with wslab.connect(tap.url) as client:
            client.ping()
            client.ping(b"are you there?")
        ping, pong = frames(tap, C2S)[0], frames(tap, S2C)[0]
        assert (ping.opcode, pong.opcode) == (Opcode.PING, Opcode.PONG)
        assert ping.payload == pong.payload
        assert ping.masked and not pong.masked
        assert frames(tap, C2S)[1].payload == frames(tap, S2C)[1].payload == b"are you there?"

    @pytest.mark.parametrize("code", [1000, 1001, 4000])
    def test_client_close_codes_are_seen(self, code):
        """The code the client closes with is the code in its CLOSE frame, echoed by the server."""
        tap = wslab.tap(wslab.echo_server())
        client = wslab.connect(tap.url)
        client.close(code, "bye")
        closes = tap.wait_for(2, http=False)
        assert [(r.direction, protocol.parse_close(r.payload)) for r in closes] == [
            (C2S, (code, "bye")),
            (S2C, (code, "bye")),
        ]

    def test_server_close_code_policy_violation(self):
        """A server that closes with 1008 puts 1008 on the wire and the client reports it."""

        async def strict(websocket):
            await websocket.close(1008, "not allowed")

        tap = wslab.tap(wslab.serve(strict))
        client = wslab.connect(tap.url)
        with pytest.raises(websockets.ConnectionClosedError):
            client.recv()
        assert client.close_code == 1008
        server_close = frames(tap, S2C)[0]
        assert protocol.parse_close(server_close.payload) == (1008, "not allowed")

    def test_failed_handler_puts_1011_on_the_wire(self):
        """A handler that crashes makes the server send 1011 (internal error)."""

        async def crash(websocket):
            raise RuntimeError("boom")

        tap = wslab.tap(wslab.serve(crash))
        client = wslab.connect(tap.url)
        with pytest.raises(websockets.ConnectionClosedError):
            client.recv()
        assert protocol.parse_close(frames(tap, S2C)[0].payload)[0] == 1011

    def test_rejected_handshake_stays_http(self):
        """A handshake the server refuses (bad origin) is recorded as HTTP, with its 403."""
        tap = wslab.tap(wslab.echo_server(origins=["http://good.example"]))
        with pytest.raises(websockets.InvalidStatus):
            wslab.connect(tap.url, origin="http://evil.example")
        response = tap.wait_for(2)[1]
        assert response.kind == "http" and response.start_line.startswith("HTTP/1.1 403")


class TestTable:
    def test_table_prints_one_line_per_record(self):
        """The records print as a table with a header line and one line per record."""
        tap = wslab.tap(wslab.echo_server())
        with wslab.connect(tap.url) as client:
            client.request("Hello")
        lines = str(tap.wait_for(6)).splitlines()
        assert lines[0].split()[:4] == ["#", "conn", "time", "dir"]
        assert len(lines) == 7
        assert "GET / HTTP/1.1" in lines[1]
        assert "101 Switching Protocols" in lines[2]
        assert "TEXT" in lines[3] and "'Hello'" in lines[3] and "0x" in lines[3]
        assert "CLOSE" in lines[5] and "1000" in lines[5]

    def test_connections_are_numbered(self):
        """Each client connection through the tap gets its own number."""
        tap = wslab.tap(wslab.echo_server())
        for message in ("one", "two"):
            with wslab.connect(tap.url) as client:
                client.request(message)
        texts = {r.conn: r.payload for r in tap.frames(http=False) if r.opcode == Opcode.TEXT}
        assert texts == {1: b"one", 2: b"two"}
        assert [r.payload for r in tap.frames(conn=2, http=False)][0] == b"two"

    def test_totals_count_every_byte(self):
        """The byte totals equal the sum of the record sizes in each direction."""
        tap = wslab.tap(wslab.echo_server())
        with wslab.connect(tap.url) as client:
            client.request(json.dumps({"n": 1}))
        table = tap.wait_for(6)
        totals = tap.totals()
        assert totals[C2S] == sum(r.size for r in table if r.direction == C2S)
        assert totals[S2C] > 0

    def test_clear_forgets_records(self):
        """clear() empties the records; new traffic is recorded afresh."""
        tap = wslab.tap(wslab.echo_server())
        with wslab.connect(tap.url) as client:
            client.request("before")
            tap.clear()
            client.request("after")
            assert [r.payload for r in tap.frames()] == [b"after", b"after"]


class TestProxy:
    def test_taps_an_http_server_too(self):
        """A tap in front of a plain HTTP server decodes request and response heads."""

        async def main():
            async def answer(reader, writer):
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                writer.close()

            server = await asyncio.start_server(answer, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            tap = await asyncio.to_thread(wslab.tap, f"http://127.0.0.1:{port}/")
            reader, writer = await asyncio.open_connection(tap.host, tap.port)
            writer.write(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
            body = await reader.read()
            writer.close()
            server.close()
            return tap, body

        tap, body = asyncio.run(main())
        assert body.endswith(b"ok")
        request, response = tap.wait_for(2)
        assert request.start_line == "GET /x HTTP/1.1"
        assert (response.start_line, response.body_length, response.size) == (
            "HTTP/1.1 200 OK",
            2,
            40,
        )

    def test_unreachable_target_is_logged(self):
        """A tap whose server is gone closes the client's connection and logs why."""
        server = wslab.echo_server()
        tap = wslab.tap(server)
        server.stop()
        with pytest.raises((websockets.InvalidHandshake, websockets.ConnectionClosed, OSError)):
            wslab.connect(tap.url)
        assert "cannot reach" in str(tap.log("error"))

    def test_url_keeps_the_path(self):
        """The tap's URL has the target's scheme and path, with the tap's own port."""
        server = wslab.echo_server()
        tap = wslab.tap(server.url + "room?x=1")
        assert tap.url == f"ws://127.0.0.1:{tap.port}/room?x=1"

    def test_rejects_urls_without_a_port(self):
        """A target URL without a port is refused with a clear error."""
        with pytest.raises(ValueError, match="port"):
            wslab.tap("ws://example.com/")
