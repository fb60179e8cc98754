"""Close codes and the payload of Close frames (RFC 6455 §5.5.1, §7.4).

A Close frame may be empty, or carry a 2-byte status code followed by an optional
UTF-8 "reason" meant for humans (and for log files). Both sides send one Close frame
and wait for the other's: that is the closing handshake (§7.1.2).

Some codes exist only to *report* what happened and must never travel on the wire:
1005 means "the Close frame had no code", 1006 "the connection dropped without a Close
frame", 1015 "the TLS handshake failed" (§7.4.1). An API can hand them to the user;
an encoder must refuse them and a parser must reject them.
"""

from __future__ import annotations

import enum
import struct

from .errors import ProtocolError


class CloseCode(enum.IntEnum):
    """The close codes registered with IANA (RFC 6455 §7.4.1 and §11.7)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    # 1004 is reserved: its meaning "might be defined in the future".
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012  # 1012-1014 were registered after the RFC was published
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015

    @property
    def explanation(self) -> str:
        """One line saying what this code means, for people reading a trace."""
        return EXPLANATIONS[self]


EXPLANATIONS: dict[CloseCode, str] = {
    CloseCode.NORMAL_CLOSURE: "normal closure: the purpose of the connection was fulfilled",
    CloseCode.GOING_AWAY: "going away: a server shutting down or a browser leaving the page",
    CloseCode.PROTOCOL_ERROR: "protocol error: the peer broke the WebSocket framing rules",
    CloseCode.UNSUPPORTED_DATA: "unsupported data: e.g. binary sent to a text-only endpoint",
    CloseCode.NO_STATUS_RCVD: "no status received: the Close frame carried no code "
    "(reported locally, never sent)",
    CloseCode.ABNORMAL_CLOSURE: "abnormal closure: the connection dropped without a Close "
    "frame (reported locally, never sent)",
    CloseCode.INVALID_FRAME_PAYLOAD_DATA: "invalid payload data: e.g. a text message that is "
    "not valid UTF-8",
    CloseCode.POLICY_VIOLATION: "policy violation: a generic refusal when no other code fits",
    CloseCode.MESSAGE_TOO_BIG: "message too big: larger than the endpoint is willing to process",
    CloseCode.MANDATORY_EXTENSION: "mandatory extension: the client needed an extension "
    "the server did not negotiate",
    CloseCode.INTERNAL_ERROR: "internal error: the server hit an unexpected condition",
    CloseCode.SERVICE_RESTART: "service restart: the server is restarting, reconnect later",
    CloseCode.TRY_AGAIN_LATER: "try again later: the server is overloaded, reconnect later",
    CloseCode.BAD_GATEWAY: "bad gateway: a gateway or proxy got an invalid upstream response",
    CloseCode.TLS_HANDSHAKE: "TLS handshake failed: the certificate could not be verified "
    "(reported locally, never sent)",
}


def describe_close_code(code: int) -> str:
    """Return a one-line explanation of any close code, registered or not (§7.4.2)."""
    if code in EXPLANATIONS:
        return EXPLANATIONS[CloseCode(code)]
    if 3000 <= code <= 3999:
        return f"{code}: reserved for libraries and frameworks (registered with IANA)"
    if 4000 <= code <= 4999:
        return f"{code}: private use, agreed between the application's client and server"
    return f"{code}: not a valid close code"


def is_valid_close_code(code: int) -> bool:
    """Tell whether ``code`` may appear in a Close frame on the wire (§7.4.1, §7.4.2)."""
    # 1000-1003 and 1007-1014 are registered for use on the wire; 1004 is reserved and
    # 1005, 1006, 1015 are report-only. 3000-4999 belong to applications. Nothing else.
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def encode_close(code: int | None = None, reason: str = "") -> bytes:
    """Build the payload of a Close frame: nothing, or a 2-byte code then the UTF-8 reason.

    Raises ValueError for a reason without a code, a code not allowed on the wire, or a
    payload over 125 bytes (control frames are small, §5.5), so the 123-byte limit on the
    reason counts UTF-8 bytes, not characters.
    """
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code (§5.5.1)")
        return b""
    if not is_valid_close_code(code):
        raise ValueError(f"close code {code} may not be sent on the wire (§7.4)")
    payload = struct.pack("!H", code) + reason.encode("utf-8")
    if len(payload) > 125:
        raise ValueError(f"close reason is {len(payload) - 2} bytes of UTF-8; the limit is 123")
    return payload


def parse_close(payload: bytes) -> tuple[int | None, str]:
    """Read a Close frame's payload into ``(code, reason)``; ``(None, "")`` if it is empty.

    The code comes back as a :class:`CloseCode` when it is a registered one (it is still an
    int). Raises ProtocolError with close code 1002 for a 1-byte payload or a code that may
    not be on the wire, and 1007 for a reason that is not valid UTF-8 (§5.5.1, §8.1).
    """
    if not payload:
        return None, ""
    if len(payload) == 1:
        raise ProtocolError("Close frame payload of 1 byte: the code needs 2")
    if len(payload) > 125:
        raise ProtocolError(f"Close frame payload of {len(payload)} bytes: the limit is 125")
    (code,) = struct.unpack("!H", payload[:2])
    if not is_valid_close_code(code):
        raise ProtocolError(f"invalid close code {code} in Close frame")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"close reason is not valid UTF-8: {exc.reason}", 1007) from None
    return (CloseCode(code) if code in EXPLANATIONS else code), reason
