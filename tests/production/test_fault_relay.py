"""The relay: delays as configured, cuts exactly after the frame it is told, TLS records."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

import wslab
from wslab.production import Cut, Link, relay, tls_records
from wslab.production.delivery import Inbox, acking_handler, message


def test_delay_is_added_each_way():
    """Every ping through a relay with delay d takes at least 2 d; the direct ones don't."""
    server = wslab.echo_server()
    far = relay(server, link=Link(delay=0.03, jitter=0.01, seed=1))
    with wslab.connect(far.url) as ws:
        relayed = [ws.ping() for _ in range(5)]
    with wslab.connect(server.url) as ws:
        direct = [ws.ping() for _ in range(5)]
    assert min(relayed) >= 0.06 > max(direct)


def test_loss_holds_chunks_for_the_retransmission_timeout():
    """With loss=1 every chunk also waits rto: a round trip takes at least 2 rto."""
    server = wslab.echo_server()
    lossy = relay(server, link=Link(loss=1.0, rto=0.05))
    with wslab.connect(lossy.url) as ws:
        assert ws.ping() >= 0.1


@pytest.mark.parametrize("after", [1, 3, 5])
def test_cut_falls_right_after_the_nth_frame(after):
    """The server processes exactly `after` of ten messages sent in one burst, then the
    connection is gone on both sides (no close frame)."""
    inbox = Inbox()
    server = wslab.serve(acking_handler(inbox), name="store")
    cutter = relay(server, cut=Cut(after=after))
    with wslab.connect(cutter.url) as ws:
        with pytest.raises(ConnectionClosed):  # on a send or, at the latest, on the receive
            for i in range(10):
                ws.send(message(i, i))
            while True:
                ws.recv()
    server.wait_idle()
    assert inbox.ids == list(range(after))
    assert cutter.cuts == 1


def test_cuts_only_the_first_connections():
    """Cut(times=1) leaves the second connection alone."""
    server = wslab.echo_server()
    cutter = relay(server, cut=Cut(after=1, times=1))
    with wslab.connect(cutter.url) as ws:
        ws.send("one")
        with pytest.raises(ConnectionClosed):
            ws.recv()
    with wslab.connect(cutter.url) as ws:
        assert [ws.request(str(i)) for i in range(3)] == ["0", "1", "2"]


def test_tls_records_of_a_wss_connection():
    """In front of wss://, the relay sees a ClientHello, a ServerHello, then ciphertext only."""
    server_tls, client_tls = wslab.tls.local_tls()
    server = wslab.echo_server(ssl=server_tls)
    wire = relay(server)
    with wslab.connect(wire.url, ssl=client_tls) as ws:
        assert ws.request("secret-payload") == "secret-payload"
    chunks = wire.chunks()
    assert tls_records(chunks[0].head)[0][0] == "handshake (ClientHello)"
    assert tls_records(next(c for c in chunks if c.direction == "S→C").head)[0][0] == (
        "handshake (ServerHello)"
    )
    assert not any(b"secret-payload" in c.head or b"HTTP" in c.head for c in chunks)
