"""Tests for wslab.protocol.frames: encoding and incremental parsing of frames (RFC 6455 §5)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wslab.protocol import (
    FIELD_NAMES,
    Frame,
    FrameParser,
    Opcode,
    ProtocolError,
    apply_mask,
    binary,
    check_text,
    close,
    continuation,
    encode_frame,
    header_fields,
    header_layout,
    header_length,
    ping,
    pong,
    text,
)

KEY = bytes.fromhex("37fa213d")  # the masking key of the RFC 6455 §5.7 examples
PAYLOAD_64K = bytes(range(256)) * 256

# RFC 6455 §5.7, byte for byte: (description, frame, wire bytes).
RFC_EXAMPLES = [
    ("unmasked text", Frame(Opcode.TEXT, b"Hello"), bytes.fromhex("810548656c6c6f")),
    (
        "masked text",
        Frame(Opcode.TEXT, b"Hello", mask_key=KEY),
        bytes.fromhex("818537fa213d7f9f4d5158"),
    ),
    ("first fragment", Frame(Opcode.TEXT, b"Hel", fin=False), bytes.fromhex("010348656c")),
    ("last fragment", Frame(Opcode.CONT, b"lo"), bytes.fromhex("80026c6f")),
    ("unmasked ping", Frame(Opcode.PING, b"Hello"), bytes.fromhex("890548656c6c6f")),
    (
        "masked pong",
        Frame(Opcode.PONG, b"Hello", mask_key=KEY),
        bytes.fromhex("8a8537fa213d7f9f4d5158"),
    ),
    (
        "256 bytes binary",
        Frame(Opcode.BINARY, PAYLOAD_64K[:256]),
        bytes.fromhex("827e0100") + PAYLOAD_64K[:256],
    ),
    (
        "64 KiB binary",
        Frame(Opcode.BINARY, PAYLOAD_64K),
        bytes.fromhex("827f0000000000010000") + PAYLOAD_64K,
    ),
]
RFC_IDS = [example[0] for example in RFC_EXAMPLES]


def parse_all(data: bytes, **options) -> list[Frame]:
    """Parse ``data`` in one go and check nothing is left over."""
    parser = FrameParser(**options)
    frames = parser.feed(data)
    assert parser.buffered == b""
    return frames


def parse_chunked(data: bytes, cuts, **options) -> list[Frame]:
    """Parse ``data`` cut at the given offsets, collecting frames from every feed."""
    parser = FrameParser(**options)
    bounds = [0, *sorted(cuts), len(data)]
    frames = [frame for a, b in itertools.pairwise(bounds) for frame in parser.feed(data[a:b])]
    assert parser.buffered == b""
    return frames


def expect_error(data: bytes, close_code: int, **options) -> ProtocolError:
    """Feed ``data`` and check it raises ProtocolError with ``close_code``."""
    with pytest.raises(ProtocolError) as info:
        FrameParser(**options).feed(data)
    assert info.value.close_code == close_code
    return info.value


# --- RFC 6455 §5.7 test vectors -------------------------------------------------------------


@pytest.mark.parametrize(("frame", "wire"), [e[1:] for e in RFC_EXAMPLES], ids=RFC_IDS)
def test_rfc_examples_encode(frame, wire):
    """encode_frame produces the RFC 6455 §5.7 example bytes exactly."""
    assert encode_frame(frame) == wire


@pytest.mark.parametrize(("frame", "wire"), [e[1:] for e in RFC_EXAMPLES], ids=RFC_IDS)
def test_rfc_examples_parse(frame, wire):
    """FrameParser reads the RFC 6455 §5.7 example bytes back into the same frame."""
    assert parse_all(wire) == [frame]


def test_rfc_fragmented_message_in_one_feed():
    """Both fragments of the RFC 6455 §5.7 "Hel" + "lo" example come out of one feed, in order."""
    frames = parse_all(bytes.fromhex("010348656c 80026c6f"))
    assert [(f.opcode, f.fin, f.payload) for f in frames] == [
        (Opcode.TEXT, False, b"Hel"),
        (Opcode.CONT, True, b"lo"),
    ]


def test_helpers_match_rfc_examples():
    """The text/ping/pong/continuation helpers produce the RFC 6455 §5.7 bytes."""
    assert text("Hello") == bytes.fromhex("810548656c6c6f")
    assert text("Hello", mask=KEY) == bytes.fromhex("818537fa213d7f9f4d5158")
    assert text("Hel", fin=False) + continuation(b"lo") == bytes.fromhex("010348656c80026c6f")
    assert ping(b"Hello") == bytes.fromhex("890548656c6c6f")
    assert pong(b"Hello", mask=KEY) == bytes.fromhex("8a8537fa213d7f9f4d5158")
    assert binary(PAYLOAD_64K[:256])[:4] == bytes.fromhex("827e0100")
    assert close(1000, "bye") == bytes.fromhex("880503e8") + b"bye"
    assert close() == b"\x88\x00"


def test_mask_true_picks_a_fresh_key():
    """mask=True masks with a new random key for each frame (RFC 6455 §5.3)."""
    frames = [parse_all(text("Hello", mask=True))[0] for _ in range(10)]
    assert all(frame.masked and frame.payload == b"Hello" for frame in frames)
    assert len({frame.mask_key for frame in frames}) > 1


# --- Round trips ----------------------------------------------------------------------------

LENGTHS = [0, 1, 125, 126, 65535, 65536]
RSV = list(itertools.product([False, True], repeat=3))


def test_round_trip_every_shape():
    """Every opcode, fin, mask, RSV combination and length boundary survives encode then parse
    (RFC 6455 §5.2), with the header size header_length predicts."""
    parser = FrameParser(allowed_rsv=0b111)
    for opcode, fin, mask_key, length, rsv in itertools.product(
        Opcode, [True, False], [None, KEY], LENGTHS, RSV
    ):
        if opcode.is_control and (not fin or length > 125):
            continue  # not encodable; see test_encode_refuses_bad_control_frames
        frame = Frame(opcode, (PAYLOAD_64K + b"!")[:length], fin, *rsv, mask_key)
        wire = encode_frame(frame)
        assert len(wire) == header_length(frame) + length
        assert parser.feed(wire) == [frame]
    assert parser.buffered == b""


def test_length_encoding_is_minimal():
    """Lengths use 7 bits up to 125, 16 bits up to 65535, then 64 bits (RFC 6455 §5.2)."""
    for length, size in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)]:
        assert header_length(Frame(Opcode.BINARY, bytes(length))) == size
        assert header_length(Frame(Opcode.BINARY, bytes(length), mask_key=KEY)) == size + 4


frames_strategy = st.builds(
    Frame,
    opcode=st.sampled_from([Opcode.CONT, Opcode.TEXT, Opcode.BINARY]),
    payload=st.binary(max_size=300),
    fin=st.booleans(),
    rsv1=st.booleans(),
    mask_key=st.none() | st.binary(min_size=4, max_size=4),
) | st.builds(
    Frame,
    opcode=st.sampled_from([Opcode.CLOSE, Opcode.PING, Opcode.PONG]),
    payload=st.binary(max_size=125),
    mask_key=st.none() | st.binary(min_size=4, max_size=4),
)


@settings(max_examples=200, deadline=None)
@given(frames=st.lists(frames_strategy, max_size=8), data=st.data())
def test_arbitrary_chunking(frames, data):
    """Any sequence of frames, cut into arbitrary chunks, parses back to the same frames."""
    wire = b"".join(encode_frame(frame) for frame in frames)
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=20))
    assert parse_chunked(wire, cuts, allowed_rsv=0b100) == frames


def test_one_byte_at_a_time():
    """Feeding a stream one byte at a time yields exactly the frames of a single feed."""
    frames = [e[1] for e in RFC_EXAMPLES[:7]] + [Frame(Opcode.CLOSE, b"\x03\xe8", mask_key=KEY)]
    wire = b"".join(encode_frame(frame) for frame in frames)
    assert parse_chunked(wire, range(len(wire))) == frames


def test_feed_empty_and_partial():
    """feed(b"") is harmless and an incomplete frame stays buffered until its last byte."""
    parser = FrameParser()
    assert parser.feed(b"") == []
    wire = text("Hello")
    assert parser.feed(wire[:-1]) == []
    assert parser.buffered == wire[:-1]
    assert parser.feed(b"") == []
    assert parser.feed(wire[-1:] + wire[:3]) == [Frame(Opcode.TEXT, b"Hello")]
    assert parser.buffered == wire[:3]


# --- Strict checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "options", "code", "words"),
    [
        (b"\x83\x00", {}, 1002, "reserved opcode 3"),  # §5.2
        (b"\x87\x00", {}, 1002, "reserved opcode 7"),
        (b"\x8b\x00", {}, 1002, "reserved opcode 11"),
        (b"\x8f\x00", {}, 1002, "reserved opcode 15"),
        (b"\xc1\x00", {}, 1002, "RSV1"),  # §5.2: no extension negotiated
        (b"\xa1\x00", {}, 1002, "RSV2"),
        (b"\x91\x00", {}, 1002, "RSV3"),
        (b"\xa1\x00", {"allowed_rsv": 0b100}, 1002, "RSV2"),
        (b"\x09\x00", {}, 1002, "fragmented"),  # §5.5
        (b"\x08\x00", {}, 1002, "fragmented"),
        (b"\x89\x7e\x00\x7e", {}, 1002, "125"),  # §5.5: control payload over 125
        (b"\x81\x05Hello", {"expect_masked": True}, 1002, "unmasked"),  # §5.1
        (b"\x81\x85" + KEY + b"Hello", {"expect_masked": False}, 1002, "masked"),
        (b"\x82\x7e\x00\x05" + b"x" * 5, {}, 1002, "minimal"),  # §5.2
        (b"\x82\x7f" + (200).to_bytes(8, "big"), {}, 1002, "minimal"),
        (b"\x82\x7f\x80" + bytes(7), {}, 1002, "most significant bit"),  # §5.2
        (b"\x82\x7f\x80" + bytes(7), {"strict": False}, 1002, "most significant bit"),
        (b"\x82\x7e\x01\x00", {"max_payload": 255}, 1009, "max_payload"),  # §7.4.1
    ],
)
def test_strict_errors(wire, options, code, words):
    """Each violation raises ProtocolError with the close code the endpoint must send
    (RFC 6455 §5.1, §5.2, §5.5, §7.4.1), naming the problem."""
    assert words in str(expect_error(wire, code, **options))


def test_errors_are_detected_from_the_first_bytes():
    """A reserved opcode fails on the first byte, before the frame is complete (RFC 6455 §5.2)."""
    expect_error(b"\x83", 1002)
    expect_error(b"\x01\x85", 1002, expect_masked=False)


def test_max_payload_raises_before_the_payload_arrives():
    """A frame announcing more than max_payload fails with 1009 on its header alone, so no
    payload is ever buffered (RFC 6455 §10.4)."""
    parser = FrameParser(max_payload=1 << 20)
    with pytest.raises(ProtocolError) as info:
        parser.feed(b"\x82\x7f" + (1 << 40).to_bytes(8, "big"))
    assert info.value.close_code == 1009
    assert parser.buffered == b""
    exactly = FrameParser(max_payload=5)
    assert exactly.feed(text("Hello")) == [Frame(Opcode.TEXT, b"Hello")]
    expect_error(text("Hello!")[:2], 1009, max_payload=5)


def test_parser_stays_broken_after_an_error():
    """After a ProtocolError every further feed raises the same error (RFC 6455 §7.1.7)."""
    parser = FrameParser()
    with pytest.raises(ProtocolError) as first:
        parser.feed(b"\x83\x00")
    for data in (b"", text("Hello")):
        with pytest.raises(ProtocolError) as again:
            parser.feed(data)
        assert again.value is first.value


def test_lenient_parser_accepts_what_strict_rejects():
    """With strict=False reserved opcodes, RSV bits, wrong masking, bad control frames and
    non-minimal lengths are all returned as frames, for a wire tap to display."""
    wire = (
        b"\x83\x00"  # reserved opcode 3
        + b"\xf1\x01a"  # RSV1+2+3
        + b"\x09\x00"  # fragmented ping
        + (b"\x89\x7e\x00\x7e" + bytes(126))  # 126-byte ping
        + b"\x82\x7e\x00\x01b"  # non-minimal length
        + (b"\x81\x81" + KEY + apply_mask(b"c", KEY))  # masked, from a "server"
    )
    frames = parse_all(wire, strict=False, expect_masked=False)
    assert frames[0].opcode == 3 and not isinstance(frames[0].opcode, Opcode)
    assert (frames[1].rsv1, frames[1].rsv2, frames[1].rsv3) == (True, True, True)
    assert frames[2].opcode is Opcode.PING and not frames[2].fin
    assert frames[3].length == 126
    assert frames[4].payload == b"b"
    assert frames[5].masked and frames[5].payload == b"c"
    assert str(frames[0]).startswith("OPCODE_3 fin=1 len=0")
    expect_error(b"\x82\x7e\x01\x00", 1009, strict=False, max_payload=10)


# --- Encoding rules and the Frame class -----------------------------------------------------


@pytest.mark.parametrize("opcode", [Opcode.CLOSE, Opcode.PING, Opcode.PONG])
def test_encode_refuses_bad_control_frames(opcode):
    """Control frames must not be fragmented nor exceed 125 bytes (RFC 6455 §5.5)."""
    with pytest.raises(ProtocolError):
        encode_frame(Frame(opcode, b"", fin=False))
    with pytest.raises(ProtocolError):
        encode_frame(Frame(opcode, bytes(126)))
    encode_frame(Frame(opcode, bytes(125)))
    with pytest.raises(ProtocolError):
        ping(bytes(126))


def test_frame_validation_and_properties():
    """Frame checks its mask key and opcode, stores bytes, and knows its length and mask."""
    with pytest.raises(ValueError):
        Frame(Opcode.TEXT, b"", mask_key=b"abc")
    with pytest.raises(ValueError):
        Frame(16, b"")
    frame = Frame(1, bytearray(b"hi"), mask_key=KEY)
    assert frame.opcode is Opcode.TEXT and type(frame.payload) is bytes
    assert frame.masked and frame.length == 2 and not frame.is_control
    assert [op.is_control for op in Opcode] == [False, False, False, True, True, True]


def test_frame_str():
    """str(frame) is a one-line summary a wire tap can print."""
    assert str(Frame(Opcode.TEXT, b"Hello", mask_key=KEY)) == "TEXT fin=1 len=5 masked 'Hello'"
    assert str(Frame(Opcode.BINARY, b"\x00\xff", fin=False, rsv1=True)) == (
        "BINARY fin=0 len=2 rsv1 00 ff"
    )
    assert str(Frame(Opcode.CLOSE, b"\x03\xe8bye")) == "CLOSE fin=1 len=5 1000 'bye'"
    assert str(Frame(Opcode.CLOSE, b"")) == "CLOSE fin=1 len=0 (no code)"
    assert str(Frame(Opcode.TEXT, b"x" * 100)).endswith("'…")


@given(data=st.binary(max_size=2000), key=st.binary(min_size=4, max_size=4))
def test_apply_mask(data, key):
    """Masking XORs byte i with key[i % 4] and applying it twice restores the data (§5.3)."""
    masked = apply_mask(data, key)
    assert masked == bytes(b ^ key[i % 4] for i, b in enumerate(data))
    assert apply_mask(masked, key) == data


def test_apply_mask_large_payload():
    """apply_mask handles payloads of several MiB and rejects keys that are not 4 bytes."""
    data = PAYLOAD_64K * 64
    assert apply_mask(apply_mask(data, KEY), KEY) == data
    with pytest.raises(ValueError):
        apply_mask(b"x", b"12345")


def test_check_text():
    """check_text decodes UTF-8 and fails with 1007 otherwise (RFC 6455 §8.1)."""
    assert check_text("café ✓".encode()) == "café ✓"
    for bad in [b"\xff", b"caf\xc3", b"\xed\xa0\x80", b"\xc0\xaf"]:
        with pytest.raises(ProtocolError) as info:
            check_text(bad)
        assert info.value.close_code == 1007


class TestHeaderFields:
    """header_fields(): the layout of §5.2, the one place the inspector and the plots read."""

    def test_masked_hello(self):
        """§5.7's masked "Hello": 2 header bytes, a 4-byte key, 5 bytes of payload."""
        wire = bytes.fromhex("818537fa213d7f9f4d5158")
        assert header_fields(wire) == [
            ("FIN", 0, 0),
            ("RSV1", 1, 1),
            ("RSV2", 2, 2),
            ("RSV3", 3, 3),
            ("opcode", 4, 7),
            ("MASK", 8, 8),
            ("payload len", 9, 15),
            ("masking key", 16, 47),
            ("payload", 48, 87),
        ]
        assert [f.name for f in header_fields(wire)] == [
            n for n in FIELD_NAMES if n != "extended length"
        ]

    def test_extended_lengths_and_a_cut_frame(self):
        """126 → 16-bit length, 127 → 64-bit; the payload span runs past the bytes given."""
        first_bytes = encode_frame(Frame(Opcode.BINARY, b"x" * 256))[:10]
        spans = {f.name: f for f in header_fields(first_bytes)}
        assert spans["extended length"] == ("extended length", 16, 31)
        assert (spans["payload"].first_byte, spans["payload"].stop_byte) == (4, 260)
        assert header_layout(encode_frame(Frame(Opcode.BINARY, b"x" * 65536))) == (8, False, 65536)
        assert header_layout(b"\x82\x7f\x00") == (8, False, None)  # stops inside the length
        with pytest.raises(ValueError):
            header_layout(b"\x81")
