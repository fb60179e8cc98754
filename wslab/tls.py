"""`wslab.tls.local_tls()`: TLS for ``wss://`` on loopback, with a certificate made on the spot.

``wss://`` is WebSocket over TLS: the same handshake and frames, inside an encrypted stream.
TLS needs a certificate the client trusts. A real site gets one from a public authority; the
course makes its own tiny authority in memory with `trustme`, signs a certificate for
127.0.0.1 and localhost, and gives the client that authority (and nothing else) to trust:

    server_tls, client_tls = local_tls()
    server = wslab.echo_server(ssl=server_tls)        # server.url starts with wss://
    with wslab.connect(server.url, ssl=client_tls) as ws:
        ws.request("hello")

A client that does not trust this authority (``wslab.connect(server.url)``, which trusts the
system's authorities) is refused: the TLS handshake fails with a certificate error.

Nothing is written to disk and no private key is ever returned or printed: the key lives
inside the server's `ssl.SSLContext` only.
"""

from __future__ import annotations

import ssl

#: The names the certificate is valid for: what a client on this machine may connect to.
LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")


def local_tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Return ``(server_context, client_context)`` for a fresh local certificate authority.

    The server context holds a certificate for 127.0.0.1, localhost and ::1, signed by the
    authority; the client context trusts that authority only, checks the certificate and
    the host name, and needs TLS 1.2 or newer (Python's defaults).
    """
    import trustme  # imported here: only the TLS lesson needs it

    authority = trustme.CA()
    certificate = authority.issue_cert(*LOCAL_NAMES)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    authority.configure_trust(client)
    return server, client
