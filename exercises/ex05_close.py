"""Exercise 05 · Close frame payloads (lesson 04, frames on the wire)

A Close frame's payload is either empty, or a 2-byte close code (big-endian, "network order")
followed by an optional reason in UTF-8 (RFC 6455 §5.5.1). Write three functions.

`is_valid_close_code(code)` tells whether a code may travel in a Close frame (the list is below);
the other two use it.

`encode_close(code=None, reason="")` returns the payload bytes:

- no code gives ``b""``; a reason without a code is a ValueError (the reason follows the code);
- a code that may not travel on the wire is a ValueError (see the list below);
- a Close frame is a control frame, so its whole payload is at most 125 bytes (§5.5): the reason
  may take 123 bytes of UTF-8 (bytes, not characters: ``"é"`` is 2 bytes), else ValueError.

`parse_close(payload)` returns ``(code, reason)``, ``(None, "")`` for an empty payload, or raises
`ProtocolError(message, close_code)` carrying the close code your endpoint should answer with
(§7.1.7, §7.4.1):

- ``ProtocolError("...", 1002)`` (protocol error) for a 1-byte payload, a payload over 125
  bytes, or a code that may not be on the wire;
- ``ProtocolError("...", 1007)`` (invalid payload data) for a reason that is not valid UTF-8.

`ProtocolError` is given below, with the signature and attributes (``.message``,
``.close_code``) of ``wslab.protocol.ProtocolError`` and of ex04's: keep them.

Which codes may be on the wire (§7.4.1, §7.4.2 and the IANA registry):

- 1000-1003 and 1007-1014: registered for use in Close frames;
- 3000-4999: libraries, frameworks (3000-3999) and applications (4000-4999);
- never 1004 (reserved), 1005, 1006, 1015 (reported locally: "no code", "dropped without a Close
  frame", "TLS failed"), nor anything below 1000, in 1016-2999, or from 5000 on.

The tests try a table of codes both ways, compare your bytes with websockets' own
``websockets.frames.Close``, send your payload to a real websockets server in a Close frame
(it echoes the code and reason back), and feed you broken payloads.

Hints: ``code.to_bytes(2, "big")`` and ``int.from_bytes(payload[:2], "big")``; decoding invalid
UTF-8 raises UnicodeDecodeError.

Check your work: ``python -m wslab grade --exercise ex05`` or, in lesson 04,
``wslab.check("ex05")``.
"""

MAX_PAYLOAD = 125  # every control frame's payload limit (§5.5)


class ProtocolError(Exception):
    """The peer broke the protocol; `close_code` is the code to close the connection with.

    Given, like ``wslab.protocol.ProtocolError`` (same signature, same attributes).
    """

    def __init__(self, message: str, close_code: int = 1002) -> None:
        super().__init__(message, close_code)
        self.message = message
        self.close_code = close_code

    def __str__(self) -> str:
        return f"{self.message} (close code {self.close_code})"


def is_valid_close_code(code: int) -> bool:
    """Tell whether `code` may appear in a Close frame on the wire (§7.4.1, §7.4.2)."""
    raise NotImplementedError("ex05: write this part (see the instructions at the top)")


def encode_close(code: int | None = None, reason: str = "") -> bytes:
    """Return the payload of a Close frame: nothing, or the 2-byte code then the UTF-8 reason."""
    raise NotImplementedError("ex05: write this part (see the instructions at the top)")


def parse_close(payload: bytes) -> tuple[int | None, str]:
    """Return the ``(code, reason)`` of a Close frame's payload; ``(None, "")`` if it is empty."""
    raise NotImplementedError("ex05: write this part (see the instructions at the top)")
