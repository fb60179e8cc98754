"""Exercise 01 · Sec-WebSocket-Accept (lesson 03, the opening handshake)

A server proves it understood a WebSocket handshake by answering the client's random
``Sec-WebSocket-Key`` with ``Sec-WebSocket-Accept``: the key, followed by the fixed GUID below,
hashed with SHA-1, and the 20-byte digest encoded in base64 (RFC 6455 §4.2.2, step 5.4).

Write `accept_key(key)`. The tests check:

- the example of RFC 6455 §1.3: key ``dGhlIHNhbXBsZSBub25jZQ==`` gives
  ``s3pPLMBiTxaQ9kYGzzhZRbK+xOo=``;
- that your answer is what websockets itself computes, for many random keys;
- that the key is used exactly as received: no stripping, no decoding of the base64.

Hints: `hashlib.sha1(data).digest()` gives the 20 raw bytes (not the hex string);
`base64.b64encode(raw)` gives bytes, so decode them to `str`.

Check your work: ``python -m wslab grade --exercise ex01`` or, in lesson 03,
``wslab.check("ex01")``.
"""

import base64
import hashlib

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    """Return the Sec-WebSocket-Accept value for a Sec-WebSocket-Key."""
    raise NotImplementedError("ex01: write this part (see the instructions at the top)")
