"""Signed, expiring tokens for the opening handshake: who the client is, for whom, until when.

A token is two base64url parts joined by a dot, ``claims.signature``:

- ``claims`` is JSON: ``{"sub": who, "aud": which service, "exp": unix time it expires}``;
- ``signature`` is HMAC-SHA256 of the claims part under a key only the servers know.

Anyone can read a token (it is not encrypted); nobody without the key can make or change one.
Verifying follows the rules in this order, and each failure says which HTTP status the
handshake must be refused with (a `HandshakeError`, as in `wslab.protocol`):

1. the token has two parts that decode (else 401: not a token);
2. the signature matches, compared in constant time with `hmac.compare_digest` (else 401:
   forged or damaged; ``==`` would stop at the first differing byte and leak, by its timing,
   how much of a guess is right);
3. it has not expired (else 401: the client must get a fresh one);
4. it was made for this service, its audience (else 403: a valid user, but not for here).

Pure functions over strings and a clock value: no sockets, no global time (``now`` is given),
so every rule is testable without waiting.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from ..protocol import HandshakeError


@dataclass(frozen=True)
class Claims:
    """What a valid token says."""

    sub: str
    """The subject: who the token was issued to (a user name, an id)."""
    aud: str
    """The audience: the service the token may be used with."""
    exp: float
    """When it expires, in seconds since the epoch."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, claims_part: str) -> bytes:
    return hmac.new(key, claims_part.encode("ascii"), hashlib.sha256).digest()


def mint(key: bytes, sub: str, aud: str, ttl: float, now: float) -> str:
    """A token for `sub`, valid with service `aud` for `ttl` seconds from `now`."""
    claims = json.dumps({"sub": sub, "aud": aud, "exp": now + ttl}, separators=(",", ":"))
    claims_part = _b64encode(claims.encode())
    return f"{claims_part}.{_b64encode(_sign(key, claims_part))}"


def verify(token: str, key: bytes, aud: str, now: float) -> Claims:
    """The token's claims if it is genuine, current and meant for `aud`; else HandshakeError."""
    claims_part, dot, signature_part = token.partition(".")
    try:
        signature = _b64decode(signature_part)
        claims = json.loads(_b64decode(claims_part))
        sub, token_aud, exp = claims["sub"], claims["aud"], float(claims["exp"])
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise HandshakeError(401, "not a token") from None
    if not dot or not hmac.compare_digest(signature, _sign(key, claims_part)):
        raise HandshakeError(401, "bad signature")
    if now >= exp:
        raise HandshakeError(401, "token expired")
    if token_aud != aud:
        raise HandshakeError(403, f"token not valid for {aud!r}")
    return Claims(str(sub), str(token_aud), exp)
