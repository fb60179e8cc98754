"""Our frame codec and the websockets library's agree byte for byte (RFC 6455 §5.2).

websockets serializes with ``Frame.serialize(mask=..., extensions=[])`` and parses with the
generator ``Frame.parse(read_exact, mask=...)``, driven by a ``StreamReader`` that we fill
with ``feed_data`` before running the generator to StopIteration.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets import frames as ws
from websockets.streams import StreamReader

from wslab.protocol import Frame, FrameParser, Opcode, encode_close, encode_frame

KEY = bytes.fromhex("37fa213d")

# (name, opcode, payload, fin): one case per kind of frame a WebSocket conversation contains.
CASES = [
    ("text", Opcode.TEXT, "Hello, 世界".encode(), True),
    ("empty text", Opcode.TEXT, b"", True),
    ("binary", Opcode.BINARY, bytes(range(256))[:100], True),
    ("ping", Opcode.PING, b"are you there?", True),
    ("empty pong", Opcode.PONG, b"", True),
    ("close", Opcode.CLOSE, encode_close(1000, "bye"), True),
    ("empty close", Opcode.CLOSE, b"", True),
    ("first fragment", Opcode.TEXT, b"Hel", False),
    ("middle fragment", Opcode.CONT, b"l", False),
    ("last fragment", Opcode.CONT, b"o", True),
    ("126 bytes", Opcode.BINARY, bytes(range(126)), True),
    ("65535 bytes", Opcode.BINARY, bytes(range(256)) * 255 + bytes(range(255)), True),
    ("65536 bytes", Opcode.BINARY, bytes(range(256)) * 256, True),
]
IDS = [case[0] for case in CASES]


def websockets_parse(data: bytes, *, mask: bool) -> ws.Frame:
    """Parse one frame with websockets' generator-based parser, requiring all of ``data``."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()  # incomplete data then raises EOFError instead of waiting forever
    parser = ws.Frame.parse(reader.read_exact, mask=mask, extensions=[])
    with pytest.raises(StopIteration) as stop:
        next(parser)
    assert reader.buffer == b"", "websockets left bytes unread"
    return stop.value.value


@pytest.mark.parametrize(("opcode", "payload", "fin"), [c[1:] for c in CASES], ids=IDS)
@pytest.mark.parametrize("mask", [False, True], ids=["unmasked", "masked"])
def test_websockets_bytes_parse_with_our_parser(opcode, payload, fin, mask):
    """Bytes serialized by websockets parse with our FrameParser to the same frame."""
    data = ws.Frame(ws.Opcode(opcode), payload, fin).serialize(mask=mask, extensions=[])
    [frame] = FrameParser(expect_masked=mask).feed(data)
    assert (frame.opcode, frame.fin, frame.payload) == (opcode, fin, payload)
    assert frame.masked == mask
    assert encode_frame(frame) == data  # same key, same bytes


@pytest.mark.parametrize(("opcode", "payload", "fin"), [c[1:] for c in CASES], ids=IDS)
@pytest.mark.parametrize("mask_key", [None, KEY], ids=["unmasked", "masked"])
def test_our_bytes_parse_with_websockets(opcode, payload, fin, mask_key):
    """Bytes made by our encode_frame parse with websockets' Frame.parse to the same frame."""
    data = encode_frame(Frame(opcode, payload, fin, mask_key=mask_key))
    parsed = websockets_parse(data, mask=mask_key is not None)
    assert parsed == ws.Frame(ws.Opcode(opcode), payload, fin)


def test_fragmented_message_both_ways():
    """A message split into three fragments goes through both codecs unchanged (§5.4)."""
    fragments = [
        (Opcode.TEXT, b"Hel", False),
        (Opcode.CONT, b"l", False),
        (Opcode.CONT, b"o", True),
    ]
    ours = b"".join(encode_frame(Frame(op, data, fin, mask_key=KEY)) for op, data, fin in fragments)
    theirs = b"".join(
        ws.Frame(ws.Opcode(op), data, fin).serialize(mask=True, extensions=[])
        for op, data, fin in fragments
    )
    for wire in (ours, theirs):
        parsed = FrameParser(expect_masked=True).feed(wire)
        assert [(f.opcode, f.payload, f.fin) for f in parsed] == fragments
    reader = StreamReader()
    reader.feed_data(ours)
    reader.feed_eof()
    for op, data, fin in fragments:
        with pytest.raises(StopIteration) as stop:
            next(ws.Frame.parse(reader.read_exact, mask=True, extensions=[]))
        assert stop.value.value == ws.Frame(ws.Opcode(op), data, fin)


@settings(max_examples=100, deadline=None)
@given(
    opcode=st.sampled_from([Opcode.CONT, Opcode.TEXT, Opcode.BINARY]),
    payload=st.binary(max_size=1000),
    fin=st.booleans(),
    mask_key=st.none() | st.binary(min_size=4, max_size=4),
)
def test_arbitrary_data_frames_agree(opcode, payload, fin, mask_key):
    """For arbitrary data frames both codecs read each other's bytes identically."""
    ours = encode_frame(Frame(opcode, payload, fin, mask_key=mask_key))
    assert websockets_parse(ours, mask=mask_key is not None) == ws.Frame(
        ws.Opcode(opcode), payload, fin
    )
    theirs = ws.Frame(ws.Opcode(opcode), payload, fin).serialize(
        mask=mask_key is not None, extensions=[]
    )
    [frame] = FrameParser().feed(theirs)
    assert (frame.opcode, frame.payload, frame.fin) == (opcode, payload, fin)
