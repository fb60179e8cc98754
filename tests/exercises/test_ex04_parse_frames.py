"""ex04: an incremental frame parser (RFC 6455 §5.1-§5.5, §5.7, §7.4.1).

The bytes come from three independent sources: the RFC's examples, wslab.protocol's encoder
(with fixed keys, so a failure replays the same bytes), and websockets, both its
``Frame.serialize`` and what its real client sends over TCP to a raw socket acting as server.
"""

from __future__ import annotations

import random
import socket
import threading
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets import frames as ws
from websockets.sync.client import connect

from wslab import protocol

pytestmark = pytest.mark.exercise("ex04_parse_frames")

NAMES = {0: "CONT", 1: "TEXT", 2: "BINARY", 8: "CLOSE", 9: "PING", 10: "PONG"}
RFC_KEY = bytes.fromhex("37fa213d")  # the masking key of the RFC 6455 §5.7 examples

# A frame as the tests compare it: (fin, opcode, payload, masked).
Expected = tuple[bool, int, bytes, bool]


def as_tuple(frame) -> Expected:
    return (frame.fin, frame.opcode, frame.payload, frame.masked)


def describe(frame: Expected) -> str:
    fin, opcode, payload, masked = frame
    shown = payload[:12].hex(" ") + (f" … ({len(payload)} bytes)" if len(payload) > 12 else "")
    name = NAMES.get(opcode, f"opcode {opcode}")
    return f"{name} fin={int(fin)} {'masked' if masked else 'unmasked'} [{shown}]"


def describe_all(frames) -> str:
    return "[" + ", ".join(describe(f) for f in frames) + "]"


def feed(submission, parser, data: bytes, what: str) -> list:
    """``parser.feed(data)`` on valid bytes: a ProtocolError here is the parser's mistake."""
    try:
        got = parser.feed(data)
    except submission.ProtocolError as exc:
        pytest.fail(f"{what}: these bytes are valid, but feed raised ProtocolError: {exc}")
    assert isinstance(got, list), f"{what}: feed should return a list, got {type(got).__name__}"
    return got


def check_frames(got: list, expected: list[Expected], what: str, *, key=lambda f: f) -> None:
    """Compare frames (or what `key` keeps of them); the message names the first difference."""
    got = [as_tuple(f) for f in got]
    if [key(f) for f in got] == [key(f) for f in expected]:
        return
    if len(expected) == 1 and len(got) <= 1:
        pytest.fail(f"{what}: expected {describe_all(expected)}, got {describe_all(got)}")
    for number, (mine, wanted) in enumerate(zip(got, expected, strict=False), start=1):
        if key(mine) != key(wanted):
            pytest.fail(
                f"{what}: frame {number} should be {describe(wanted)}, got {describe(mine)}"
            )
    if len(got) < len(expected):
        pytest.fail(
            f"{what}: expected {len(expected)} frames, got {len(got)}; "
            f"the first one missing is {describe(expected[len(got)])}"
        )
    pytest.fail(
        f"{what}: expected {len(expected)} frames, got {len(got)}; "
        f"the first extra one is {describe(got[len(expected)])}"
    )


def check_accepted(submission, parser, data: bytes, expected: list[Expected], what: str) -> None:
    """Valid bytes give the expected frames, comparing FIN, opcode, length and MASK only: a
    mistake in unmasking costs the tests about unmasking, not the ones about errors."""
    got = feed(submission, parser, data, what)
    check_frames(got, expected, what, key=lambda f: (f[0], f[1], len(f[2]), f[3]))


def payload_of(length: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(length)


def encode(opcode: int, payload: bytes, fin: bool = True, key: bytes | None = None) -> bytes:
    """The reference encoder (wslab.protocol), which may build frames the rules forbid."""
    frame = protocol.Frame(opcode, payload, fin, mask_key=key)
    if frame.is_control and (not fin or len(payload) > 125):  # encode_frame refuses these
        head = protocol.encode_frame(protocol.Frame(protocol.Opcode.BINARY, payload, mask_key=key))
        return bytes([fin << 7 | opcode]) + head[1:]
    return protocol.encode_frame(frame)


def expect_error(submission, parser, data: bytes, code: int, what: str) -> None:
    """Feeding `data` must raise the exercise's ProtocolError with close code `code`."""
    try:
        got = parser.feed(data)
    except submission.ProtocolError as exc:
        assert exc.close_code == code, (
            f"{what}: expected close code {code}, got {exc.close_code} ({exc})"
        )
        assert isinstance(exc.message, str) and exc.message, (
            f"{what}: ProtocolError needs a message"
        )
        return
    pytest.fail(
        f"{what}: expected ProtocolError with close code {code}, "
        f"feed returned {describe_all(as_tuple(f) for f in got)}"
        + (" (check the length as soon as you have read it)" if code == 1009 else "")
    )


# --- RFC 6455 §5.7 --------------------------------------------------------------------------

BINARY_256, BINARY_64K = payload_of(256), payload_of(65536)
RFC_EXAMPLES = [
    ("unmasked text", "810548656c6c6f", False, [(True, 1, b"Hello", False)]),
    ("masked text", "818537fa213d7f9f4d5158", True, [(True, 1, b"Hello", True)]),
    (
        "fragmented text",
        "010348656c" + "80026c6f",
        False,
        [(False, 1, b"Hel", False), (True, 0, b"lo", False)],
    ),
    ("unmasked ping", "890548656c6c6f", False, [(True, 9, b"Hello", False)]),
    ("masked pong", "8a8537fa213d7f9f4d5158", True, [(True, 10, b"Hello", True)]),
    ("256 bytes", "827e0100" + BINARY_256.hex(), False, [(True, 2, BINARY_256, False)]),
    (
        "64 KiB",
        "827f0000000000010000" + BINARY_64K.hex(),
        False,
        [(True, 2, BINARY_64K, False)],
    ),
]


@pytest.mark.points(1)
def test_rfc_examples(submission):
    """Each example frame of RFC 6455 §5.7 parses to its FIN, opcode and unmasked payload."""
    for what, wire, masked, expected in RFC_EXAMPLES:
        parser = submission.FrameParser(expect_masked=masked)
        what = f"RFC 6455 §5.7 {what} (expect_masked={masked})"
        check_frames(feed(submission, parser, bytes.fromhex(wire), what), expected, what)


# --- chunks --------------------------------------------------------------------------------

# What a client might send: a fragmented message with a PING in the middle, a 16-bit length,
# a CLOSE with a reason, empty payloads. Fixed keys, so every run sees the same bytes.
_keys = random.Random(4)
STREAM: list[Expected] = [
    (False, 1, b"Hel", True),
    (True, 9, b"ping?", True),
    (True, 0, b"lo", True),
    (True, 2, payload_of(300, seed=1), True),
    (True, 1, b"", True),
    (True, 10, b"", True),
    (True, 8, b"\x03\xe8bye", True),
]
STREAM_FRAMES = [encode(op, data, fin, _keys.randbytes(4)) for fin, op, data, _ in STREAM]
WIRE = b"".join(STREAM_FRAMES)


@pytest.mark.points(1)
def test_one_byte_at_a_time(submission):
    """Fed one byte per call, each frame comes out of the call that adds its last byte."""
    parser = submission.FrameParser()
    got, ends = [], []
    for index in range(len(WIRE)):
        for frame in feed(submission, parser, WIRE[index : index + 1], f"byte {index}"):
            got.append(frame)
            ends.append(index)
    check_frames(got, STREAM, f"{len(WIRE)} bytes fed one at a time")
    last_bytes = [sum(map(len, STREAM_FRAMES[: n + 1])) - 1 for n in range(len(STREAM))]
    for frame, end, last in zip(STREAM, ends, last_bytes, strict=True):
        assert end == last, (
            f"{describe(frame)} came out when byte {end} was fed; its last byte is {last}"
        )


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # `submission` is one module
)
@given(cuts=st.sets(st.integers(1, len(WIRE) - 1), max_size=12))
@pytest.mark.points(1)
def test_any_chunking(submission, cuts):
    """Cut at random places, the same bytes give the same frames, in order."""
    bounds = [0, *sorted(cuts), len(WIRE)]
    chunks = [WIRE[start:end] for start, end in pairwise(bounds)]
    what = f"the stream cut into chunks of {[len(c) for c in chunks]} bytes"
    parser = submission.FrameParser()
    got = [frame for chunk in chunks for frame in feed(submission, parser, chunk, what)]
    check_frames(got, STREAM, what)


# --- websockets' bytes ----------------------------------------------------------------------

# (opcode, payload length, fin): every opcode, every length form, both FIN values for data.
# In this order they are a valid stream (§5.4): fragments continue a message, CLOSE comes last.
WEBSOCKETS_FRAMES = [
    (1, 12, True),
    (1, 0, True),
    (1, 3, False),
    (0, 125, False),
    (0, 126, True),
    (2, 65536, True),
    (2, 126, False),
    (9, 125, True),
    (0, 0, True),
    (10, 4, True),
    (8, 2, True),
]


@pytest.mark.points(1)
def test_websockets_frames(submission):
    """Frames serialized by websockets, masked (client) and unmasked (server), parse right."""
    for mask in (True, False):
        expected = [
            (fin, op, payload_of(n, seed), mask)
            for seed, (op, n, fin) in enumerate(WEBSOCKETS_FRAMES)
        ]
        wire = [
            ws.Frame(ws.Opcode(op), data, fin).serialize(mask=mask, extensions=[])
            for fin, op, data, _ in expected
        ]
        side = "client (masked)" if mask else "server (unmasked)"
        opener = ws.Frame(ws.Opcode.TEXT, b"", fin=False).serialize(mask=mask, extensions=[])
        for frame, data in zip(expected, wire, strict=True):
            parser = submission.FrameParser(expect_masked=mask)
            what = f"websockets' {side} frame alone"
            if frame[1] == 0:  # a continuation continues something (§5.4): start a message
                what = f"websockets' {side} continuation frame, after a TEXT with FIN=0"
                check_frames(feed(submission, parser, opener, what), [(False, 1, b"", mask)], what)
            check_frames(feed(submission, parser, data, what), [frame], what)
        parser = submission.FrameParser(expect_masked=mask)
        what = f"websockets' {side} frames at once"
        check_frames(feed(submission, parser, b"".join(wire), what), expected, what)


def _recv(sock: socket.socket) -> bytes:
    try:
        data = sock.recv(65536)
    except TimeoutError:
        pytest.fail("websockets' client sent nothing within 5 s")
    if not data:
        pytest.fail("websockets' client closed the TCP connection early")
    return data


def capture_client(send) -> tuple[list[bytes], list[protocol.Frame]]:
    """Let websockets' client connect to a raw socket server and run ``send(websocket)``.

    The server does the opening handshake with wslab.protocol, then records every chunk that
    ``recv`` returns until the client's CLOSE, and answers it. Returns the chunks and the
    frames wslab.protocol's own parser read from them.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    url = f"ws://127.0.0.1:{listener.getsockname()[1]}/"
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with connect(
                url,
                compression=None,
                proxy=None,
                ping_interval=None,
                open_timeout=5,
                close_timeout=5,
            ) as websocket:
                send(websocket)
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    connection = None
    try:
        connection, _ = listener.accept()
        connection.settimeout(5)
        data = b""
        while (end := protocol.find_head_end(data)) is None:
            data += _recv(connection)
        key = protocol.check_request(protocol.parse_request(data[:end]))
        connection.sendall(protocol.build_response(key))
        chunks = [data[end:]] if data[end:] else []
        reference = protocol.FrameParser(expect_masked=True)
        frames = reference.feed(data[end:])
        while not any(frame.opcode == protocol.Opcode.CLOSE for frame in frames):
            chunks.append(_recv(connection))
            frames += reference.feed(chunks[-1])
        connection.sendall(protocol.close(1000))  # the closing handshake's answer (§5.5.1)
    finally:
        if connection is not None:
            connection.close()
        listener.close()
        thread.join(5)
    assert not errors, f"websockets' client failed: {errors[0]!r}"
    return chunks, frames


@pytest.mark.points(1)
def test_real_websockets_client(submission):
    """What websockets' client sends to a server over TCP parses, chunk by chunk as received,
    and all at once (how TCP splits it varies from run to run; one read may hold every frame)."""
    big = payload_of(70_000)

    def send(websocket) -> None:
        websocket.send("Hello, parser! ça va ?")
        websocket.send(big)  # one frame with a 64-bit length
        websocket.send(["Hel", "lo"])  # a fragmented message
        websocket.ping(b"are you there?")
        # leaving `with` sends CLOSE 1000

    chunks, reference = capture_client(send)
    expected = [as_tuple(frame) for frame in reference]
    # The capture itself is right: the messages are there, and the stream ends in CLOSE 1000.
    assert (True, 1, "Hello, parser! ça va ?".encode(), True) in expected
    assert (True, 2, big, True) in expected
    assert expected[-1] == (True, 8, b"\x03\xe8", True)

    what = f"websockets' client, received in {len(chunks)} chunks"
    parser = submission.FrameParser()
    got = [frame for chunk in chunks for frame in feed(submission, parser, chunk, what)]
    check_frames(got, expected, what)

    what = "websockets' client, received in one chunk"
    got = feed(submission, submission.FrameParser(), b"".join(chunks), what)
    check_frames(got, expected, what)


# --- protocol errors ---------------------------------------------------------------------------


@pytest.mark.points(1)
def test_rsv_bits_rejected(submission):
    """A frame with RSV1, RSV2 or RSV3 set raises ProtocolError 1002 (§5.2: no extension)."""
    frame = encode(1, b"hi", key=RFC_KEY)
    check_accepted(submission, submission.FrameParser(), frame, [(True, 1, b"hi", True)], "TEXT")
    for bit, name in ((0x40, "RSV1"), (0x20, "RSV2"), (0x10, "RSV3")):
        bad = bytes([frame[0] | bit]) + frame[1:]
        expect_error(submission, submission.FrameParser(), bad, 1002, f"TEXT with {name} set")


@pytest.mark.points(1)
def test_reserved_opcodes_rejected(submission):
    """Opcodes 3-7 and 11-15 are reserved: a frame using one raises ProtocolError 1002 (§5.2)."""
    # One frame of each defined opcode, in a valid order (§5.4): TEXT with FIN=0, then its CONT.
    order = [(1, False), (0, True), (2, True), (9, True), (10, True), (8, True)]
    valid = [encode(op, b"ok", fin, key=RFC_KEY) for op, fin in order]
    check_accepted(
        submission,
        submission.FrameParser(),
        b"".join(valid),
        [(fin, op, b"ok", True) for op, fin in order],
        "one frame of each defined opcode",
    )
    for opcode in (*range(3, 8), *range(11, 16)):
        bad = bytes([0x80 | opcode]) + valid[2][1:]
        expect_error(submission, submission.FrameParser(), bad, 1002, f"opcode {opcode}")


@pytest.mark.points(1)
def test_bad_control_frames_rejected(submission):
    """A control frame with FIN=0 or a payload over 125 bytes raises ProtocolError 1002 (§5.5)."""
    check_accepted(
        submission,
        submission.FrameParser(),
        encode(9, b"x" * 125, key=RFC_KEY),
        [(True, 9, b"x" * 125, True)],
        "a PING of exactly 125 bytes",
    )
    cases = [
        ("PING with FIN=0", encode(9, b"ping", fin=False, key=RFC_KEY)),
        ("CLOSE with FIN=0", encode(8, b"\x03\xe8", fin=False, key=RFC_KEY)),
        ("PONG of 126 bytes", encode(10, b"x" * 126, key=RFC_KEY)),
        ("CLOSE of 200 bytes", encode(8, b"\x03\xe8" + b"x" * 198, key=RFC_KEY)),
    ]
    for what, bad in cases:
        expect_error(submission, submission.FrameParser(), bad, 1002, what)


@pytest.mark.points(1)
def test_wrong_masking_rejected(submission):
    """A server rejects unmasked frames, a client masked ones: ProtocolError 1002 (§5.1)."""
    masked, unmasked = encode(1, b"Hello", key=RFC_KEY), encode(1, b"Hello")
    server, client = submission.FrameParser(), submission.FrameParser(expect_masked=False)
    expected = [(True, 1, b"Hello", True)]
    check_accepted(submission, server, masked, expected, "a masked frame, on a server")
    expected = [(True, 1, b"Hello", False)]
    check_accepted(submission, client, unmasked, expected, "an unmasked frame, on a client")
    expect_error(
        submission, submission.FrameParser(), unmasked, 1002, "an unmasked frame, on a server"
    )
    expect_error(
        submission,
        submission.FrameParser(expect_masked=False),
        masked,
        1002,
        "a masked frame, on a client",
    )


@pytest.mark.points(1)
def test_max_payload_checked_before_the_payload(submission):
    """A header announcing more than max_payload raises ProtocolError 1009 with no payload fed."""
    parser = submission.FrameParser(max_payload=300)
    frame = encode(2, payload_of(300), key=RFC_KEY)
    expected = [(True, 2, payload_of(300), True)]
    check_accepted(submission, parser, frame, expected, "with max_payload=300, 300 bytes")
    # Only headers: FIN + BINARY, MASK + 126 or 127, the extended length, then the key.
    header_301 = bytes.fromhex("82fe012d") + RFC_KEY
    expect_error(
        submission,
        submission.FrameParser(max_payload=300),
        header_301,
        1009,
        "with max_payload=300, the header of a 301-byte frame (16-bit length)",
    )
    header_huge = bytes.fromhex("82ff") + (2**40).to_bytes(8, "big") + RFC_KEY
    expect_error(
        submission,
        submission.FrameParser(),
        header_huge,
        1009,
        "with the default max_payload (1 MiB), the header of a 2**40-byte frame",
    )
