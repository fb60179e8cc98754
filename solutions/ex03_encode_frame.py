"""Exercise 03 · Encode a frame (lesson 04, frames on the wire)

Everything a WebSocket sends after the handshake is a frame (RFC 6455 §5.2)::

    byte 0     FIN (1 bit) | RSV1-3 (3 bits, all 0 here) | opcode (4 bits)
    byte 1     MASK (1 bit) | payload length (7 bits)
    then       0, 2 or 8 bytes of extended length (big-endian)
    then       the 4-byte masking key, only if MASK is 1
    then       the payload, XORed with the key if there is one

Write `encode_frame(opcode, payload, fin=..., mask_key=...)`, which returns those bytes.

- The length goes in the 7-bit field when it is at most 125. From 126 to 65,535 the field holds
  126 and the next 2 bytes hold the length; above that the field holds 127 and the next 8 bytes
  hold it. Always use the shortest form that fits (§5.2).
- With a `mask_key` (4 bytes), set MASK, put the key after the length, and send each payload
  byte ``i`` XORed with ``mask_key[i % 4]`` (§5.3). Without one (``mask_key=None``), MASK is 0
  and the payload goes as it is. (Clients mask every frame with a fresh random key; servers
  never mask.) A key of four zero bytes is still a key: MASK is 1.
- Control frames (opcode 8 and up: CLOSE, PING, PONG) cannot be fragmented and carry at most
  125 bytes (§5.5): raise `ValueError` for a control frame with ``fin=False`` or a longer
  payload. Raise `ValueError` too for a `mask_key` that is not exactly 4 bytes (``b""``
  included: an empty key must not quietly send an unmasked frame).

The tests check:

- the example frames of RFC 6455 §5.7, byte for byte (text, masked text, fragments, ping,
  masked pong, 256 and 65,536 bytes of binary);
- the shortest length encoding at 0, 125, 126, 65,535 and 65,536 bytes;
- that your unmasked bytes are exactly websockets' bytes, and that websockets' own parser reads
  your masked frames back to the original payload;
- that a real websockets server accepts your masked frames over a raw TCP socket and echoes them;
- the `ValueError` cases above.

Hints: ``struct.pack("!BBH", byte0, byte1, length)`` packs two bytes and a 16-bit big-endian
number (``"!BBQ"``: a 64-bit one); ``n.to_bytes(2, "big")`` works too. Build byte 0 with
``|`` and ``<<``, e.g. ``0x80 | opcode`` when FIN is set. The unmasked "Hello" of §5.7 is
``81 05 48 65 6c 6c 6f``: check yours with ``encode_frame(TEXT, b"Hello").hex(" ")``.

Check your work: ``python -m wslab grade --exercise ex03`` or, in lesson 04,
``wslab.check("ex03")``.
"""

import struct

# Opcodes (RFC 6455 §5.2). 3-7 and 11-15 are reserved.
CONT = 0x0  # the next fragment of a message (§5.4)
TEXT = 0x1
BINARY = 0x2
CLOSE = 0x8  # opcodes from 8 up are control frames (§5.5)
PING = 0x9
PONG = 0xA


def apply_mask(data: bytes, mask_key: bytes) -> bytes:
    """Return `data` with byte ``i`` XORed with ``mask_key[i % 4]`` (§5.3)."""
    ### BEGIN SOLUTION
    return bytes(byte ^ mask_key[i % 4] for i, byte in enumerate(data))
    ### END SOLUTION


def encode_frame(
    opcode: int, payload: bytes, *, fin: bool = True, mask_key: bytes | None = None
) -> bytes:
    """Return the bytes of one frame: header, masking key (if any), then the payload."""
    ### BEGIN SOLUTION
    if opcode >= 0x8:  # control frame (§5.5)
        if not fin:
            raise ValueError(f"control frame (opcode {opcode}) must not be fragmented")
        if len(payload) > 125:
            raise ValueError(f"control frame payload is {len(payload)} bytes; at most 125")
    if mask_key is not None and len(mask_key) != 4:
        raise ValueError(f"mask_key must be 4 bytes, not {len(mask_key)}")

    byte0 = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if mask_key is not None else 0
    length = len(payload)
    if length <= 125:
        header = struct.pack("!BB", byte0, mask_bit | length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", byte0, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", byte0, mask_bit | 127, length)

    if mask_key is None:
        return header + payload
    return header + mask_key + apply_mask(payload, mask_key)
    ### END SOLUTION
