"""ex03: encode WebSocket frames (RFC 6455 §5.2, §5.3, §5.5, §5.7).

websockets is the reference: unmasked frames must equal ``Frame.serialize(mask=False)``, and
masked ones must parse with websockets' ``Frame.parse`` (a generator driven by a
``StreamReader``) and be accepted by a real websockets server behind a raw TCP socket.
"""

from __future__ import annotations

import random
import socket
import threading

import pytest
from websockets import frames as ws
from websockets.streams import StreamReader
from websockets.sync.server import serve

from wslab import protocol

pytestmark = pytest.mark.exercise("ex03_encode_frame")

RFC_KEY = bytes.fromhex("37fa213d")  # the masking key of the RFC 6455 §5.7 examples
OPCODES = {"CONT": 0, "TEXT": 1, "BINARY": 2, "CLOSE": 8, "PING": 9, "PONG": 10}


def show(data: bytes, limit: int = 16) -> str:
    """Bytes as hex, cut after `limit` bytes, for failure messages."""
    shown = data[:limit].hex(" ")
    return shown + (f" … ({len(data)} bytes)" if len(data) > limit else "")


def check_bytes(got: bytes, expected: bytes, what: str) -> None:
    assert isinstance(got, bytes), f"{what}: expected bytes, got {type(got).__name__}"
    assert got == expected, f"{what}: expected {show(expected)}, got {show(got)}"


def payload_of(length: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(length)


# --- RFC 6455 §5.7 --------------------------------------------------------------------------


@pytest.mark.points(1)
def test_rfc_unmasked_text(submission):
    """An unmasked text frame "Hello" is 81 05 48 65 6c 6c 6f (RFC 6455 §5.7)."""
    got = submission.encode_frame(submission.TEXT, b"Hello")
    check_bytes(got, bytes.fromhex("810548656c6c6f"), 'encode_frame(TEXT, b"Hello")')


@pytest.mark.points(1)
def test_rfc_masked_text(submission):
    """Masked with the key 37 fa 21 3d, "Hello" is 81 85 37 fa 21 3d 7f 9f 4d 51 58 (§5.7)."""
    got = submission.encode_frame(submission.TEXT, b"Hello", mask_key=RFC_KEY)
    expected = bytes.fromhex("818537fa213d7f9f4d5158")
    check_bytes(got, expected, 'encode_frame(TEXT, b"Hello", mask_key=37 fa 21 3d)')


@pytest.mark.points(1)
def test_rfc_fragmented_text(submission):
    """TEXT "Hel" with fin=False, then CONT "lo", are 01 03 48 65 6c and 80 02 6c 6f (§5.7)."""
    first = submission.encode_frame(submission.TEXT, b"Hel", fin=False)
    check_bytes(first, bytes.fromhex("010348656c"), 'encode_frame(TEXT, b"Hel", fin=False)')
    last = submission.encode_frame(submission.CONT, b"lo")
    check_bytes(last, bytes.fromhex("80026c6f"), 'encode_frame(CONT, b"lo")')


@pytest.mark.points(1)
def test_rfc_ping_and_masked_pong(submission):
    """An unmasked PING "Hello" and its masked PONG are the bytes of RFC 6455 §5.7."""
    ping = submission.encode_frame(submission.PING, b"Hello")
    check_bytes(ping, bytes.fromhex("890548656c6c6f"), 'encode_frame(PING, b"Hello")')
    pong = submission.encode_frame(submission.PONG, b"Hello", mask_key=RFC_KEY)
    expected = bytes.fromhex("8a8537fa213d7f9f4d5158")
    check_bytes(pong, expected, 'encode_frame(PONG, b"Hello", mask_key=37 fa 21 3d)')


@pytest.mark.points(1)
def test_rfc_extended_lengths(submission):
    """Binary frames of 256 and 65,536 bytes start 82 7e 01 00 and 82 7f 00 00 00 00 00 01 00 00."""
    for length, header in [(256, "827e0100"), (65536, "827f0000000000010000")]:
        data = payload_of(length)
        got = submission.encode_frame(submission.BINARY, data)
        check_bytes(got, bytes.fromhex(header) + data, f"encode_frame(BINARY, {length} bytes)")


# --- lengths ---------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_shortest_length_encoding(submission):
    """Lengths 0, 125, 126, 65,535 and 65,536 use the shortest of the 7/16/64-bit forms (§5.2)."""
    key = bytes.fromhex("01020304")
    cases = [
        (0, "00"),
        (125, "7d"),
        (126, "7e007e"),
        (65535, "7effff"),
        (65536, "7f0000000000010000"),
    ]
    for length, after_byte0 in cases:
        data = payload_of(length, seed=length)
        unmasked = submission.encode_frame(submission.BINARY, data)
        header = bytes.fromhex("82" + after_byte0)
        check_bytes(unmasked[: len(header)], header, f"header of {length} unmasked bytes")
        assert len(unmasked) == len(header) + length, (
            f"a frame of {length} unmasked bytes should be {len(header) + length} bytes "
            f"long, got {len(unmasked)}"
        )
        masked = submission.encode_frame(submission.BINARY, data, mask_key=key)
        header = bytes([0x82, header[1] | 0x80]) + header[2:] + key
        check_bytes(masked[: len(header)], header, f"header and key of {length} masked bytes")
        assert len(masked) == len(header) + length, (
            f"a frame of {length} masked bytes should be {len(header) + length} bytes "
            f"long, got {len(masked)}"
        )


# --- versus websockets -----------------------------------------------------------------------

# (opcode name, payload length, fin): every opcode, both FIN values for data, every length form.
FRAMES = [
    ("TEXT", 5, True),
    ("TEXT", 0, True),
    ("TEXT", 3, False),
    ("CONT", 7, False),
    ("CONT", 2, True),
    ("BINARY", 125, True),
    ("BINARY", 126, True),
    ("BINARY", 65535, False),
    ("BINARY", 65536, True),
    ("CLOSE", 2, True),
    ("CLOSE", 0, True),
    ("PING", 125, True),
    ("PONG", 0, True),
    ("PONG", 17, True),
]


def websockets_parse(data: bytes, *, mask: bool) -> ws.Frame:
    """Parse one frame with websockets' parser, requiring exactly all of `data`."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()  # incomplete data then raises EOFError instead of waiting forever
    parser = ws.Frame.parse(reader.read_exact, mask=mask, extensions=[])
    try:
        next(parser)
    except StopIteration as stop:
        frame = stop.value
    except EOFError:
        pytest.fail(f"websockets found the frame incomplete: {show(data)}")
    except ws.ProtocolError as exc:
        pytest.fail(f"websockets rejected the frame ({exc}): {show(data)}")
    else:  # pragma: no cover - feed_eof() makes the parser finish or raise
        pytest.fail("websockets' parser waited for more data")
    assert not reader.buffer, (
        f"{len(reader.buffer)} bytes left over after websockets read one frame: {show(data)}"
    )
    return frame


@pytest.mark.points(1)
def test_unmasked_frames_equal_websockets_bytes(submission):
    """Unmasked frames of every opcode and length form are exactly websockets' bytes (§5.2)."""
    for seed, (name, length, fin) in enumerate(FRAMES):
        opcode, data = OPCODES[name], payload_of(length, seed)
        expected = ws.Frame(ws.Opcode(opcode), data, fin).serialize(mask=False, extensions=[])
        got = submission.encode_frame(opcode, data, fin=fin)
        check_bytes(got, expected, f"{name} of {length} bytes with fin={fin}")


@pytest.mark.points(1)
def test_masked_frames_parse_with_websockets(submission):
    """websockets' parser reads masked frames back to their opcode, fin and payload (§5.3)."""
    keys = random.Random(3)
    for seed, (name, length, fin) in enumerate(FRAMES):
        opcode, data, key = OPCODES[name], payload_of(length, seed), keys.randbytes(4)
        if seed == 0:
            key = bytes(4)  # a key of zeros is still a key: MASK is 1 and the key is sent
        got = submission.encode_frame(opcode, data, fin=fin, mask_key=key)
        what = f"{name} of {length} bytes with fin={fin} and mask_key {key.hex(' ')}"
        assert isinstance(got, bytes), f"{what}: expected bytes, got {type(got).__name__}"
        frame = websockets_parse(got, mask=True)
        assert (frame.opcode, frame.fin) == (opcode, fin), (
            f"{what}: websockets read opcode {int(frame.opcode)}, fin={frame.fin}"
        )
        assert frame.data == data, (
            f"{what}: websockets unmasked the payload to {show(frame.data)}, expected {show(data)}"
        )


# --- a real server -----------------------------------------------------------------------------


@pytest.fixture
def echo_server():
    """A websockets echo server on 127.0.0.1, a free port, in a thread; always shut down."""

    def echo(websocket):
        for message in websocket:
            websocket.send(message)

    with serve(echo, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join(5)


class RawClient:
    """A TCP socket that did the opening handshake with wslab.protocol; frames are up to you."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        key = protocol.generate_key()
        self.sock.sendall(protocol.build_request(f"127.0.0.1:{port}", "/", key))
        data = b""
        while (end := protocol.find_head_end(data)) is None:
            data += self._read()
        protocol.check_response(protocol.parse_response(data[:end]), key)
        self.parser = protocol.FrameParser(expect_masked=False)  # servers never mask
        self.pending = self.parser.feed(data[end:])

    def _read(self) -> bytes:
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            pytest.fail(
                "the server sent nothing within 5 s: is it waiting for more bytes than you sent "
                "(a length field larger than the payload)?"
            )
        if not data:
            pytest.fail("the server closed the TCP connection")
        return data

    def next_frame(self) -> protocol.Frame:
        while not self.pending:
            self.pending = self.parser.feed(self._read())
        return self.pending.pop(0)

    def close(self) -> None:
        self.sock.close()


def expect(client: RawClient, opcode: int, payload: bytes, after: str) -> None:
    frame = client.next_frame()
    assert frame.opcode != protocol.Opcode.CLOSE or opcode == protocol.Opcode.CLOSE, (
        f"after {after}, the server found an error in your bytes and closed: {frame}"
    )
    assert (frame.opcode, frame.fin, frame.payload) == (opcode, True, payload), (
        f"after {after}, expected {protocol.Opcode(opcode).name} {show(payload)} back, got {frame}"
    )


@pytest.mark.points(1)
def test_real_server_echoes_masked_frames(submission, echo_server):
    """A websockets server echoes masked text, binary and fragmented messages and answers a PING."""
    client = RawClient(echo_server.socket.getsockname()[1])
    keys = random.Random(5)

    def send(opcode: int, data: bytes, fin: bool = True) -> None:
        client.sock.sendall(
            submission.encode_frame(opcode, data, fin=fin, mask_key=keys.randbytes(4))
        )

    try:
        send(submission.TEXT, "Hello, server! ça va ?".encode())
        expect(client, 1, "Hello, server! ça va ?".encode(), "a masked TEXT frame")
        for length in (126, 70_000):
            send(submission.BINARY, payload_of(length))
            expect(client, 2, payload_of(length), f"a masked BINARY frame of {length} bytes")
        send(submission.TEXT, b"Hel", fin=False)
        send(submission.PING, b"still there?")  # control frames may cut in (§5.4)
        send(submission.CONT, b"lo")
        expect(client, 10, b"still there?", "a PING between two fragments")
        expect(client, 1, b"Hello", 'TEXT "Hel" (fin=False) and CONT "lo"')
        send(submission.CLOSE, (1000).to_bytes(2, "big"))
        expect(client, 8, (1000).to_bytes(2, "big"), "a CLOSE with code 1000")
    finally:
        client.close()


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_invalid_frames_raise_value_error(submission):
    """Fragmented or over-125-byte control frames (§5.5) and keys that are not 4 bytes, empty
    ones included, raise ValueError."""
    ok = submission.encode_frame(submission.PING, b"x" * 125)  # the limit itself is fine
    check_bytes(ok[:2], bytes.fromhex("897d"), "a PING of exactly 125 bytes")
    cases = [
        ("a PING with fin=False", dict(opcode=submission.PING, payload=b"", fin=False)),
        ("a CLOSE with fin=False", dict(opcode=submission.CLOSE, payload=b"\x03\xe8", fin=False)),
        ("a PONG of 126 bytes", dict(opcode=submission.PONG, payload=b"x" * 126)),
        ("a CLOSE of 200 bytes", dict(opcode=submission.CLOSE, payload=b"\x03\xe8" + b"x" * 198)),
        ("a 3-byte mask_key", dict(opcode=submission.TEXT, payload=b"hi", mask_key=b"abc")),
        ("a 5-byte mask_key", dict(opcode=submission.TEXT, payload=b"hi", mask_key=b"abcde")),
        ("an empty mask_key", dict(opcode=submission.TEXT, payload=b"hi", mask_key=b"")),
        ("an empty mask_key", dict(opcode=submission.BINARY, payload=b"", mask_key=b"")),
    ]
    for what, arguments in cases:
        opcode, payload = arguments.pop("opcode"), arguments.pop("payload")
        try:
            got = submission.encode_frame(opcode, payload, **arguments)
        except ValueError:
            continue
        pytest.fail(
            f"{what} should raise ValueError, but encode_frame returned {show(got)}"
            + (": a frame that is masked has a 4-byte key (§5.3)" if "mask" in what else "")
        )
