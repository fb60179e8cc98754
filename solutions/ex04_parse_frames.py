"""Exercise 04 · Parse frames as bytes arrive (lesson 04, frames on the wire)

TCP delivers a byte stream, not frames: one ``recv()`` may hold half a header, three frames
and the start of a fourth, or a single byte. A receiver therefore keeps the bytes it has not
used yet and, each time more arrive, takes out every frame that is now complete.

Write the class `FrameParser`: ``parser.feed(data)`` adds `data` to what was received before
and returns the list of frames completed by it, in order (often an empty list). Each `Frame`
holds the payload *unmasked* and says whether it was masked on the wire. The layout
(RFC 6455 §5.2)::

    byte 0     FIN (1 bit) | RSV1-3 (3 bits) | opcode (4 bits)
    byte 1     MASK (1 bit) | payload length (7 bits: 0-125, or 126 / 127)
    then       2 bytes of length if it said 126, 8 bytes if it said 127 (big-endian)
    then       the 4-byte masking key, if MASK is 1
    then       the payload; masked byte ``i`` is XORed with ``key[i % 4]`` (§5.3)

Raise `ProtocolError(message, close_code)` (given below, with the signature and attributes
``.message`` and ``.close_code`` of ``wslab.protocol.ProtocolError``: keep them) when a frame's
header shows one of these errors:

- an RSV bit is set (no extension was negotiated, §5.2): close code 1002;
- a reserved opcode (3-7, 11-15): 1002;
- a control frame (opcode 8 and up) with FIN=0, or with a length over 125 (§5.5): 1002;
- a MASK bit that is not `expect_masked`: a server (``expect_masked=True``) only accepts masked
  frames and a client (``expect_masked=False``) only unmasked ones (§5.1): 1002;
- a payload length over `max_payload`: 1009 ("message too big", §7.4.1). Raise it when the
  header announces the length, *before* the payload arrives: a peer must not be able to make
  you buffer a gigabyte first.

Frames only: the order of frames (§5.4: a CONT frame continues a message begun by a TEXT or
BINARY frame with FIN=0) is the next layer's job. The tests feed only frames in a valid order,
so a parser that also checks it loses nothing.

The tests check:

- the example frames of RFC 6455 §5.7;
- that the same bytes give the same frames whatever the chunks: one byte at a time, or cut at
  random places (with hypothesis); a frame comes out of the `feed` call that completes it;
- frames serialized by websockets (every opcode, lengths 125, 126 and 65,536), and what a real
  websockets client sends to a server over TCP;
- each protocol error above, with its close code.

Hints: in `__init__`, start an empty ``bytearray`` buffer (and any other state you want); in
`feed`, append `data` to it, then loop: while the buffer starts with a whole frame, take the
frame out (``del buffer[:end]``) and go on; when it does not, stop and wait for the next `feed`.
``int.from_bytes(buffer[2:4], "big")`` reads a 16-bit length. Check the header's rules as soon
as you have read the bytes they need, before waiting for the rest of the frame.

Check your work: ``python -m wslab grade --exercise ex04`` or, in lesson 04,
``wslab.check("ex04")``.
"""

from dataclasses import dataclass

# Opcodes (RFC 6455 §5.2). 3-7 and 11-15 are reserved.
CONT = 0x0  # the next fragment of a message (§5.4)
TEXT = 0x1
BINARY = 0x2
CLOSE = 0x8  # opcodes from 8 up are control frames (§5.5)
PING = 0x9
PONG = 0xA


@dataclass(frozen=True)
class Frame:
    """One frame as received: the payload is already unmasked."""

    fin: bool
    opcode: int
    payload: bytes
    masked: bool


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


def apply_mask(data: bytes, mask_key: bytes) -> bytes:
    """Return `data` with byte ``i`` XORed with ``mask_key[i % 4]`` (§5.3)."""
    ### BEGIN SOLUTION
    return bytes(byte ^ mask_key[i % 4] for i, byte in enumerate(data))
    ### END SOLUTION


class FrameParser:
    """Turn a byte stream, fed in any chunks, into frames."""

    def __init__(self, expect_masked: bool = True, max_payload: int = 1 << 20) -> None:
        self.expect_masked = expect_masked
        """True on a server (clients must mask), False on a client (servers must not)."""
        self.max_payload = max_payload
        """The longest payload accepted, in bytes."""
        ### BEGIN SOLUTION
        self._buffer = bytearray()  # received, not yet part of a complete frame
        ### END SOLUTION

    def feed(self, data: bytes) -> list[Frame]:
        """Add `data` to the stream; return the frames it completes, in order."""
        ### BEGIN SOLUTION
        self._buffer += data
        frames = []
        while len(self._buffer) >= 2:  # loop until the buffer holds no complete frame
            buffer = self._buffer
            fin, rsv, opcode = bool(buffer[0] & 0x80), buffer[0] & 0x70, buffer[0] & 0x0F
            masked, length = bool(buffer[1] & 0x80), buffer[1] & 0x7F
            if rsv:
                raise ProtocolError("an RSV bit is set, but no extension was negotiated")
            if opcode not in (CONT, TEXT, BINARY, CLOSE, PING, PONG):
                raise ProtocolError(f"reserved opcode {opcode}")
            if opcode >= CLOSE and not fin:
                raise ProtocolError(f"fragmented control frame (opcode {opcode})")
            if opcode >= CLOSE and length > 125:
                raise ProtocolError(f"control frame (opcode {opcode}) longer than 125 bytes")
            if masked != self.expect_masked:
                raise ProtocolError(f"MASK bit is {int(masked)}, expected {int(not masked)}")

            position = 2
            if length >= 126:  # 126: the length is in the next 2 bytes, 127: in the next 8
                size = 2 if length == 126 else 8
                if len(buffer) < position + size:
                    break
                length = int.from_bytes(buffer[position : position + size], "big")
                position += size
            if length > self.max_payload:  # before the payload arrives: never buffer it
                raise ProtocolError(f"payload of {length} bytes, over {self.max_payload}", 1009)

            end = position + (4 if masked else 0) + length
            if len(buffer) < end:
                break
            payload = bytes(buffer[end - length : end])
            if masked:
                payload = apply_mask(payload, bytes(buffer[position : position + 4]))
            del buffer[:end]
            frames.append(Frame(fin, opcode, payload, masked))
        return frames
        ### END SOLUTION
