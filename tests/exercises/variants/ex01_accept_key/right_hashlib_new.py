"""ex01, another style: hashlib.new and an incremental hash, base64 through binascii."""

import binascii
import hashlib

MAGIC = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    sha1 = hashlib.new("sha1")
    sha1.update(key.encode())
    sha1.update(MAGIC)
    return binascii.b2a_base64(sha1.digest(), newline=False).decode()
