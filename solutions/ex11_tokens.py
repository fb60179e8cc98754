"""Exercise 11 · Signed, expiring tokens (lesson 07, section 1: authentication)

A browser cannot put an Authorization header on a WebSocket handshake, so the token travels in
the URL (``ws://host/?token=...``) or a cookie, and the server checks it in the opening
handshake, before anything else happens. Write the tokens and the check.

A token is ``<claims>.<signature>``, both parts base64url without ``=`` padding
(``base64.urlsafe_b64encode(data).rstrip(b"=")``):

- ``<claims>`` encodes the JSON object ``{"sub": subject, "aud": audience, "exp": expiry}``
  (UTF-8), where ``exp`` is ``now + ttl`` (seconds since the epoch);
- ``<signature>`` encodes HMAC-SHA256 of the ``<claims>`` part (its ASCII text, as it appears
  in the token) under `key`: ``hmac.new(key, claims_part.encode(), hashlib.sha256).digest()``.

1. `mint_token(key, subject, audience, ttl, now)`: return a token as above.
2. `verify_token(token, key, audience, now)`: return the claims (a dict with "sub", "aud",
   "exp") of a genuine, current token meant for `audience`. Otherwise raise
   ``HandshakeError(status, message)`` (from `wslab.protocol`), checking in this order:

   - not two decodable parts, or claims that are not a JSON object with the three fields:
     401;
   - a signature that does not match: 401. Compare with `hmac.compare_digest`, never with
     ``==``: ``==`` stops at the first differing byte, so its timing tells an attacker how
     much of a forged signature is right;
   - expired (``now >= exp``): 401;
   - another audience: 403 (the client is who it says, but the token is not for here).

3. `token_check(key, audience, clock=time.time)`: return a ``process_request`` function for
   websockets' `serve()`: ``process_request(connection, request)`` reads the ``token``
   parameter of the request's query string (``request.path`` is ``/...?token=...``) and
   returns ``None`` to accept a valid one; a missing token gets 401 and a bad one the
   status `verify_token` raised, with ``connection.respond(status, message + "\n")``.
   ``clock()`` gives `now`.

Check your work: ``python -m wslab grade --exercise ex11`` or, in lesson 07,
``wslab.check("ex11")``.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from wslab.protocol import HandshakeError


def mint_token(key: bytes, subject: str, audience: str, ttl: float, now: float) -> str:
    """A token for `subject`, for service `audience`, valid `ttl` seconds from `now`."""
    ### BEGIN SOLUTION
    claims = json.dumps({"sub": subject, "aud": audience, "exp": now + ttl}).encode()
    claims_part = base64.urlsafe_b64encode(claims).rstrip(b"=").decode()
    signature = hmac.new(key, claims_part.encode(), hashlib.sha256).digest()
    return claims_part + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    ### END SOLUTION


def verify_token(token: str, key: bytes, audience: str, now: float) -> dict:
    """The claims of a valid token; HandshakeError 401 or 403 otherwise."""
    ### BEGIN SOLUTION

    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    parts = token.split(".")
    try:
        if len(parts) != 2:
            raise ValueError("not two parts")
        claims = json.loads(decode(parts[0]))
        signature = decode(parts[1])
        if not isinstance(claims, dict) or not {"sub", "aud", "exp"} <= claims.keys():
            raise ValueError("missing claims")
        expiry = float(claims["exp"])
    except (ValueError, binascii.Error, TypeError):
        raise HandshakeError(401, "malformed token") from None
    expected = hmac.new(key, parts[0].encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise HandshakeError(401, "bad signature")
    if now >= expiry:
        raise HandshakeError(401, "token expired")
    if claims["aud"] != audience:
        raise HandshakeError(403, "token not valid here")
    return claims
    ### END SOLUTION


def token_check(key: bytes, audience: str, clock: Callable[[], float] = time.time):
    """A process_request that refuses handshakes without a valid token (401/403)."""
    ### BEGIN SOLUTION

    def process_request(connection, request):
        tokens = parse_qs(urlsplit(request.path).query).get("token")
        if not tokens:
            return connection.respond(401, "missing token\n")
        try:
            verify_token(tokens[0], key, audience, clock())
        except HandshakeError as error:
            return connection.respond(error.status, error.message + "\n")
        return None

    return process_request
    ### END SOLUTION
