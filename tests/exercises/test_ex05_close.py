"""ex05: Close frame payloads, codes and reasons (RFC 6455 §5.5.1, §7.4)."""

import os
import socket

import pytest
from grading_support import must_raise
from websockets.frames import Close

import wslab
from wslab import protocol
from wslab.protocol import Frame, Opcode

pytestmark = pytest.mark.exercise("ex05_close")

VALID = [1000, 1001, 1002, 1003, *range(1007, 1015), 3000, 3999, 4000, 4242, 4999]
INVALID = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]
BAD_UTF8 = {
    "a lone 0xFF byte": b"\xff",
    "a character cut in half": "é".encode()[:1],
    "an encoded surrogate": b"\xed\xa0\x80",
    "an overlong encoding of '/'": b"\xc0\xaf",
}


def refused_on_parse(submission, payload: bytes, why: str):
    """parse_close(payload) must raise ProtocolError; return it. A valid payload must pass first."""
    assert submission.parse_close(b"\x03\xe8ok") == (1000, "ok"), "1000 'ok' was not parsed"
    error = must_raise(submission.ProtocolError, submission.parse_close, payload, why=why)
    assert isinstance(error.message, str) and error.message, "ProtocolError needs a message"
    return error


def refused_on_encode(submission, why: str, *args) -> None:
    """encode_close(*args) must raise ValueError."""
    must_raise(ValueError, submission.encode_close, *args, why=why)


@pytest.mark.points(1)
def test_valid_codes_both_ways(submission):
    """Every code allowed on the wire is valid, encodes as 2 big-endian bytes and parses back."""
    for code in VALID:
        payload = submission.encode_close(code)
        assert payload == code.to_bytes(2, "big"), f"encode_close({code}) gave {payload!r}"
        assert submission.parse_close(payload) == (code, ""), f"parse_close({payload!r})"
        assert submission.is_valid_close_code(code) is True, f"{code} is valid (§7.4)"


@pytest.mark.points(1)
def test_invalid_codes_refused_on_encode(submission):
    """Codes that never travel (1004-1006, 1015, outside 1000-1014 and 3000-4999) are ValueError."""
    payload = submission.encode_close(1000)
    assert payload == b"\x03\xe8", f"encode_close(1000) gave {payload!r}, not b'\\x03\\xe8'"
    for code in INVALID:
        why = f"{code} may not be sent in a Close frame (§7.4)"
        refused_on_encode(submission, why, code, "reason")
        assert submission.is_valid_close_code(code) is False, f"{code} is not valid (§7.4)"


@pytest.mark.points(1)
def test_invalid_codes_rejected_on_parse_with_1002(submission):
    """A Close frame with a code that may not be on the wire is a protocol error, 1002 (§7.4.1)."""
    for code in INVALID:
        why = f"{code} may not be sent in a Close frame (§7.4)"
        error = refused_on_parse(submission, code.to_bytes(2, "big") + b"reason", why)
        assert error.close_code == 1002, f"code {code}: close_code {error.close_code}, not 1002"


@pytest.mark.points(1)
def test_empty_payload_and_reason_without_code(submission):
    """No code is an empty payload, both ways; a reason without a code is a ValueError (§5.5.1)."""
    assert submission.encode_close() == b"", "encode_close() should give b''"
    assert submission.parse_close(b"") == (None, ""), "parse_close(b'') should give (None, '')"
    refused_on_encode(submission, "a reason follows a code: it cannot come alone", None, "bye")


@pytest.mark.points(1)
def test_agrees_with_websockets(submission):
    """Payloads are byte for byte websockets' Close(code, reason), and parse both ways."""
    cases = [
        (1000, ""),
        (1001, "going away"),
        (1011, "oops"),
        (3000, "library"),
        (4999, "ünïcödé ✓"),
        (4000, "€" * 41),  # 123 bytes of UTF-8: the longest reason there is
    ]
    for code, reason in cases:
        theirs = Close(code, reason).serialize()
        ours = submission.encode_close(code, reason)
        assert ours == theirs, f"encode_close({code}, {reason!r}): {ours!r}, expected {theirs!r}"
        assert submission.parse_close(theirs) == (code, reason), f"parse_close({theirs!r})"
        assert Close.parse(ours) == Close(code, reason), f"websockets read {ours!r} differently"


@pytest.mark.points(1)
def test_payload_limit_125_bytes(submission):
    """A reason may take 123 bytes of UTF-8, not characters; longer payloads are refused (§5.5)."""
    assert len(submission.encode_close(1000, "a" * 123)) == 125
    assert len(submission.encode_close(1000, "é" * 61)) == 124
    for reason in ("a" * 124, "é" * 62):  # 62 characters, but 124 bytes
        why = f"the reason is {len(reason.encode())} bytes of UTF-8; at most 123 fit"
        refused_on_encode(submission, why, 1000, reason)
    longest = b"\x03\xe8" + b"a" * 123
    assert submission.parse_close(longest) == (1000, "a" * 123)
    error = refused_on_parse(submission, longest + b"a", "126 bytes do not fit a control frame")
    assert error.close_code == 1002, f"a 126-byte payload: close_code {error.close_code}, not 1002"


@pytest.mark.points(1)
def test_bad_utf8_reason_is_1007(submission):
    """A reason that is not valid UTF-8 is answered with 1007, invalid payload data (§8.1)."""
    for what, data in BAD_UTF8.items():
        error = refused_on_parse(submission, b"\x03\xe8" + data, f"its reason has {what}")
        assert error.close_code == 1007, f"{what}: close_code {error.close_code}, not 1007"


@pytest.mark.points(1)
def test_one_byte_payload_is_1002(submission):
    """A 1-byte payload cannot hold a code: protocol error, 1002 (§5.5.1)."""
    for payload in (b"\x03", b"\x00"):
        error = refused_on_parse(submission, payload, "one byte cannot hold a close code")
        assert error.close_code == 1002, f"{payload!r}: close_code {error.close_code}, not 1002"


def close_exchange(port: int, payload: bytes) -> bytes:
    """Open a raw WebSocket connection, send a masked Close with `payload`, return the reply's."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        key = protocol.generate_key()
        sock.sendall(protocol.build_request(f"127.0.0.1:{port}", "/", key))
        buffer = b""
        while (end := protocol.find_head_end(buffer)) is None:
            chunk = sock.recv(4096)
            assert chunk, f"the server closed the connection during the handshake: {buffer!r}"
            buffer += chunk
        protocol.check_response(protocol.parse_response(buffer[:end]), key)
        frame = Frame(Opcode.CLOSE, payload, mask_key=os.urandom(4))  # clients mask (§5.3)
        sock.sendall(protocol.encode_frame(frame))
        parser = protocol.FrameParser(expect_masked=False)
        frames = parser.feed(buffer[end:])
        while not any(f.opcode == Opcode.CLOSE for f in frames):
            chunk = sock.recv(4096)
            assert chunk, "the server closed the TCP connection without a Close frame"
            frames += parser.feed(chunk)
        return next(f for f in frames if f.opcode == Opcode.CLOSE).payload


@pytest.mark.points(2)
def test_real_server_echoes_close(submission):
    """A websockets server answers our Close with the same code and reason, which parse back."""
    with wslab.echo_server() as server:
        for code, reason in [(1000, ""), (4000, "done, merci ✓"), (3001, "x" * 123)]:
            payload = submission.encode_close(code, reason)
            reply = close_exchange(server.port, payload)
            assert reply == payload, (
                f"sent encode_close({code}, {reason!r}) = {payload!r}, server answered {reply!r}"
            )
            assert submission.parse_close(reply) == (code, reason), f"parse_close({reply!r})"
