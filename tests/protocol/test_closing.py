"""wslab.protocol.closing: close codes and Close frame payloads (RFC 6455 §5.5.1, §7.4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wslab.protocol import (
    CloseCode,
    ProtocolError,
    describe_close_code,
    encode_close,
    is_valid_close_code,
    parse_close,
)

VALID = [*range(1000, 1004), *range(1007, 1015), 3000, 3999, 4000, 4999]
INVALID = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]


@pytest.mark.parametrize("code", VALID)
def test_valid_close_codes(code):
    """Registered codes and 3000-4999 may be sent in a Close frame (RFC 6455 §7.4.1, §7.4.2)."""
    assert is_valid_close_code(code)


@pytest.mark.parametrize("code", INVALID)
def test_invalid_close_codes(code):
    """Reserved, report-only and unassigned codes may not be sent (RFC 6455 §7.4.1, §7.4.2)."""
    assert not is_valid_close_code(code)


def test_close_code_names_and_explanations():
    """Every registered code has an IANA-style name and a one-line explanation (RFC 6455 §7.4.1)."""
    assert [int(code) for code in CloseCode] == [1000, 1001, 1002, 1003, *range(1005, 1016)]
    assert CloseCode(1000).name == "NORMAL_CLOSURE"
    assert CloseCode(1007).name == "INVALID_FRAME_PAYLOAD_DATA"
    for code in CloseCode:
        assert code.explanation and "\n" not in code.explanation
        assert describe_close_code(code) == code.explanation
    assert "private" in describe_close_code(4001)
    assert "libraries" in describe_close_code(3001)
    assert "not a valid" in describe_close_code(2000)


@pytest.mark.parametrize(
    ("code", "reason", "payload"),
    [
        (None, "", b""),
        (1000, "", b"\x03\xe8"),
        (1001, "bye", b"\x03\xe9bye"),
        (4000, "é", b"\x0f\xa0\xc3\xa9"),
    ],
)
def test_encode_close_examples(code, reason, payload):
    """A Close payload is empty, or a big-endian 2-byte code then UTF-8 (RFC 6455 §5.5.1)."""
    assert encode_close(code, reason) == payload
    assert parse_close(payload) == (code, reason)


@given(
    code=st.sampled_from(VALID) | st.integers(3000, 4999),
    reason=st.text(max_size=30),  # at most 4 bytes of UTF-8 per character: <= 120 bytes
)
def test_close_round_trip(code, reason):
    """parse_close(encode_close(code, reason)) gives back code and reason (RFC 6455 §5.5.1)."""
    assert parse_close(encode_close(code, reason)) == (code, reason)


def test_parse_close_returns_close_code_members():
    """A registered code comes back as a CloseCode, which is still an int."""
    code, _ = parse_close(b"\x03\xe8")
    assert code is CloseCode.NORMAL_CLOSURE and code == 1000


def test_encode_close_errors():
    """encode_close refuses a reason without code, an invalid code, and over 125 bytes."""
    with pytest.raises(ValueError, match="code"):
        encode_close(None, "why")
    for code in INVALID:
        with pytest.raises(ValueError):
            encode_close(code)
    encode_close(1000, "x" * 123)
    with pytest.raises(ValueError, match="123"):
        encode_close(1000, "x" * 124)
    with pytest.raises(ValueError):
        encode_close(1000, "é" * 62)  # 124 bytes of UTF-8 in only 62 characters


def test_parse_close_one_byte():
    """A 1-byte Close payload is a protocol error, close code 1002 (RFC 6455 §5.5.1)."""
    with pytest.raises(ProtocolError) as info:
        parse_close(b"\x03")
    assert info.value.close_code == 1002


@pytest.mark.parametrize("code", INVALID)
def test_parse_close_invalid_code(code):
    """A Close frame with a code not allowed on the wire fails with 1002 (RFC 6455 §7.4)."""
    with pytest.raises(ProtocolError) as info:
        parse_close(code.to_bytes(2, "big") + b"reason")
    assert info.value.close_code == 1002


@pytest.mark.parametrize("reason", [b"\xff", b"\xc3", b"caf\xe9", b"\xed\xa0\x80"])
def test_parse_close_bad_utf8(reason):
    """A close reason that is not valid UTF-8 fails with 1007 (RFC 6455 §5.5.1, §8.1)."""
    with pytest.raises(ProtocolError) as info:
        parse_close(b"\x03\xe8" + reason)
    assert info.value.close_code == 1007


def test_parse_close_too_long():
    """A Close payload over 125 bytes is a protocol error, 1002 (RFC 6455 §5.5)."""
    with pytest.raises(ProtocolError) as info:
        parse_close(b"\x03\xe8" + b"x" * 124)
    assert info.value.close_code == 1002
