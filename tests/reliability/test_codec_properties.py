"""Properties of the teaching codec (`wslab.protocol`) and the tap's decoder, under any input.

Two kinds of property: every frame the codec can encode parses back to itself, whatever the
chunks the bytes arrive in (RFC 6455 §5.2); and arbitrary bytes, in arbitrary chunks, never
make a parser raise anything but the codec's own error, never make it hold more than its
configured limit, and never break it in some other way. The tap's decoder, which sees
whatever crosses the wire, must never raise at all.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wslab import _wire, protocol
from wslab.protocol import Frame, FrameParser, HandshakeError, Opcode, ProtocolError

#: The largest frame header: 2 bytes, 8 of extended length, 4 of mask (§5.2).
MAX_HEADER = 14

PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies -------------------------------------------------------------------------------

#: Lengths on both sides of each length encoding (7 bits, 16 bits, 64 bits), and small ones.
lengths = st.sampled_from([0, 1, 125, 126, 127, 65535, 65536]) | st.integers(0, 300)
mask_keys = st.none() | st.binary(min_size=4, max_size=4)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    """Any frame the codec can encode: data frames of any shape, control frames within §5.5."""
    opcode = draw(st.sampled_from(list(Opcode)))
    control = opcode.is_control
    length = draw(st.integers(0, 125) if control else lengths)
    return Frame(
        opcode,
        draw(st.binary(min_size=length, max_size=length)),
        fin=True if control else draw(st.booleans()),
        rsv1=draw(st.booleans()),
        rsv2=draw(st.booleans()),
        rsv3=draw(st.booleans()),
        mask_key=draw(mask_keys),
    )


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the given positions (in any order, repeats allowed)."""
    points = sorted({0, len(data), *(min(c, len(data)) for c in cuts)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


chunking = st.lists(st.integers(0, 2**17), max_size=30)
noise = st.binary(max_size=600) | st.lists(st.binary(max_size=40), max_size=20).map(b"".join)


# --- round trips ------------------------------------------------------------------------------


@PROPERTIES
@given(sent=st.lists(frames(), max_size=6), cuts=chunking)
def test_every_frame_shape_round_trips_in_any_chunks(sent: list[Frame], cuts: list[int]) -> None:
    """Frames of every opcode, FIN, RSV, mask and length encoding parse back unchanged,
    with the header size `header_length` predicts, however the bytes are cut (§5.2)."""
    wires = [protocol.encode_frame(f) for f in sent]
    for frame, wire in zip(sent, wires, strict=True):
        assert len(wire) == protocol.header_length(frame) + frame.length
    parser = FrameParser(allowed_rsv=0b111)
    received = [f for chunk in chunked(b"".join(wires), cuts) for f in parser.feed(chunk)]
    assert received == sent
    assert parser.buffered == b""


@PROPERTIES
@given(sent=st.lists(frames(), max_size=6), cuts=chunking)
def test_the_lenient_parser_reads_the_same_frames(sent: list[Frame], cuts: list[int]) -> None:
    """The tap's lenient parser (strict=False) reads valid streams exactly as the strict one."""
    parser = FrameParser(strict=False)
    wire = b"".join(protocol.encode_frame(f) for f in sent)
    assert [f for chunk in chunked(wire, cuts) for f in parser.feed(chunk)] == sent


@PROPERTIES
@given(
    code=st.sampled_from(sorted(protocol.EXPLANATIONS)) | st.integers(3000, 4999),
    reason=st.text(max_size=40),
)
def test_close_payloads_round_trip(code: int, reason: str) -> None:
    """Every close code allowed on the wire, with any reason that fits, round-trips (§5.5.1)."""
    if not protocol.is_valid_close_code(code) or len(reason.encode()) > 123:
        with pytest.raises(ValueError):
            protocol.encode_close(code, reason)
        return
    assert protocol.parse_close(protocol.encode_close(code, reason)) == (code, reason)


# --- arbitrary bytes --------------------------------------------------------------------------


def feed_all(parser: FrameParser, chunks: list[bytes], limit: int | None) -> ProtocolError | None:
    """Feed every chunk; check what may come out of each feed; return the error, if any."""
    error = None
    for chunk in chunks:
        try:
            parsed = parser.feed(chunk)
        except ProtocolError as exc:  # anything else fails the test
            assert exc.close_code in (1002, 1007, 1009)
            assert error is None or exc is error  # once failed, always the same error
            error = exc
            continue
        assert error is None, "a parser that failed must keep failing"
        for frame in parsed:
            assert limit is None or frame.length <= limit
        if limit is not None:
            assert len(parser.buffered) < MAX_HEADER + limit
    return error


@PROPERTIES
@given(
    data=noise,
    cuts=chunking,
    limit=st.integers(0, 300),
    masked=st.sampled_from([True, False, None]),
    rsv=st.integers(0, 7),
)
def test_arbitrary_bytes_raise_only_protocol_errors_within_the_limit(
    data: bytes, cuts: list[int], limit: int, masked: bool | None, rsv: int
) -> None:
    """Any bytes, in any chunks: frames or ProtocolError (1002, 1007, 1009), never anything
    else, and never more than max_payload plus one header held in the buffer."""
    parser = FrameParser(expect_masked=masked, max_payload=limit, allowed_rsv=rsv)
    feed_all(parser, chunked(data, cuts), limit)


@PROPERTIES
@given(data=noise, cuts=chunking, limit=st.integers(0, 300))
def test_the_lenient_parser_raises_only_for_size(data: bytes, cuts: list[int], limit: int) -> None:
    """strict=False checks no rule but the size: its only errors are 1009 and the 64-bit
    length with its top bit set (1002)."""
    parser = FrameParser(strict=False, max_payload=limit)
    feed_all(parser, chunked(data, cuts), limit)


@PROPERTIES
@given(announced=st.integers(0, 2**63 - 1), limit=st.integers(0, 2**20), cuts=chunking)
def test_a_long_frame_fails_from_its_header(announced: int, limit: int, cuts: list[int]) -> None:
    """A frame announcing more than max_payload fails with 1009 as soon as its header is in,
    before a byte of its payload (§10.4)."""
    header = protocol.encode_frame(Frame(Opcode.BINARY, b""))[:1]
    if announced <= 125:
        header += bytes([0x80 | announced])
    elif announced <= 0xFFFF:
        header += bytes([0x80 | 126]) + announced.to_bytes(2, "big")
    else:
        header += bytes([0x80 | 127]) + announced.to_bytes(8, "big")
    header += b"\x00\x00\x00\x00"  # mask key
    parser = FrameParser(expect_masked=True, max_payload=limit)
    error = feed_all(parser, chunked(header, cuts), limit)
    if announced > limit:
        assert error is not None and error.close_code == 1009
    else:
        assert error is None


@PROPERTIES
@given(data=st.binary(max_size=300))
def test_arbitrary_close_payloads(data: bytes) -> None:
    """Any Close payload parses to a code allowed on the wire, or raises ProtocolError."""
    try:
        code, reason = protocol.parse_close(data)
    except ProtocolError as exc:
        assert exc.close_code in (1002, 1007)
        return
    assert code is None or protocol.is_valid_close_code(code)
    assert len(reason.encode()) <= 123


heads = st.binary(max_size=300).map(lambda b: b + b"\r\n\r\n") | st.builds(
    lambda lines: ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"),
    st.lists(st.text(st.characters(max_codepoint=255), max_size=30), max_size=8),
)


@PROPERTIES
@given(data=heads | st.binary(max_size=300))
def test_arbitrary_heads_raise_only_handshake_errors(data: bytes) -> None:
    """Any bytes as an HTTP head: parsed and checked, or HandshakeError, never anything else."""
    assert protocol.find_head_end(data) in (None, *range(4, len(data) + 1))
    for parse in (protocol.parse_request, protocol.parse_response):
        try:
            message = parse(data)
        except HandshakeError as exc:
            assert 400 <= exc.status < 600
            continue
        if isinstance(message, protocol.Request):
            try:
                protocol.check_request(message)
            except HandshakeError as exc:
                assert exc.status in (400, 426)


# --- the tap's decoder ------------------------------------------------------------------------


def decode(direction: str, chunks: list[bytes]) -> tuple[_wire.DirectionDecoder, list[dict]]:
    decoder = _wire.DirectionDecoder(direction)
    records = [record for chunk in chunks for record in decoder.feed(chunk)]
    return decoder, records


@PROPERTIES
@given(
    head=st.sampled_from(
        [
            b"",
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        ]
    ),
    data=noise,
    cuts=chunking,
    direction=st.sampled_from([_wire.CLIENT_TO_SERVER, _wire.SERVER_TO_CLIENT]),
)
def test_the_tap_decoder_never_raises(head: bytes, data: bytes, cuts: list[int], direction: str):
    """Whatever crosses the tap, in any chunks, becomes records (possibly opaque bytes) without
    an exception, and the records never add up to more bytes than crossed."""
    decoder, records = decode(direction, chunked(head + data, cuts))
    assert sum(r["size"] for r in records) <= len(head + data)


@PROPERTIES
@given(sent=st.lists(frames(), max_size=5), cuts=chunking)
def test_the_tap_decoder_counts_every_byte_of_a_valid_stream(sent: list[Frame], cuts: list[int]):
    """A handshake and frames through the tap: one record per head and frame, sizes exact."""
    head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    wire = head + b"".join(protocol.encode_frame(f) for f in sent)
    _, records = decode(_wire.SERVER_TO_CLIENT, chunked(wire, cuts))
    assert [r["kind"] for r in records] == ["http"] + ["frame"] * len(sent)
    assert sum(r["size"] for r in records) == len(wire)


def test_the_tap_decoder_holds_at_most_one_frame_limit():
    """A frame header announcing 2**62 bytes does not make the tap keep what follows: past
    `MAX_FRAME` it stops decoding and counts opaque bytes."""
    decoder = _wire.DirectionDecoder(_wire.SERVER_TO_CLIENT)
    decoder.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
    records = decoder.feed(b"\x82\x7f" + (2**62).to_bytes(8, "big"))
    records += decoder.feed(bytes(2**16))
    assert [r["kind"] for r in records] == ["bytes", "bytes"]
    assert "exceeds" in records[0]["error"]
    assert len(decoder._pending) == 0 and len(decoder._parser.buffered) == 0
