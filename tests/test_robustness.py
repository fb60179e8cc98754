"""Clients that misbehave or vanish do not disturb the server, other clients or the notebook."""

from __future__ import annotations

import socket

import pytest
from helpers import handshake, raw_connection, read_frames, wait_until

import wslab
from wslab import protocol

VANISHING = {
    "mid-handshake": lambda sock, server: sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpg"),
    "after connecting": lambda sock, server: None,
    "mid-frame header": lambda sock, server: (handshake(sock, server), sock.sendall(b"\x81")),
    "mid-payload": lambda sock, server: (
        handshake(sock, server),
        sock.sendall(protocol.text("x" * 1000, mask=True)[:300]),
    ),
    "mid-length": lambda sock, server: (
        handshake(sock, server),
        sock.sendall(protocol.text("x" * 70_000, mask=True)[:5]),
    ),
}


@pytest.mark.parametrize("moment", VANISHING)
@pytest.mark.parametrize("how", ["close", "reset"])
def test_client_vanishing_does_not_disturb_others(moment, how, capfd):
    """A client that vanishes at any moment leaves the server serving a client already connected."""
    server = wslab.echo_server()
    tap = wslab.tap(server)
    with wslab.connect(server.url) as bystander, wslab.connect(tap.url) as tapped:
        bystander.request("before")
        for _ in range(3):
            sock = raw_connection(server)
            VANISHING[moment](sock, server)
            if how == "reset":  # RST instead of FIN: the abrupt way a process dies
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            sock.close()
            # the same through the tap
            sock = raw_connection(tap)
            VANISHING[moment](sock, tap)
            sock.close()
        assert bystander.request("after") == "after"
        assert tapped.request("after") == "after"
        with wslab.connect(server.url) as newcomer:
            assert newcomer.request("new") == "new"
    assert server.running and tap.running
    assert capfd.readouterr() == ("", "")


def test_garbage_instead_of_a_handshake_is_hung_up_on(capfd):
    """Bytes that are not HTTP get no answer, as from websockets alone; service goes on."""
    server = wslab.echo_server()
    with raw_connection(server) as sock:
        sock.sendall(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        answer = sock.recv(4096)
    assert answer == b""  # end of file: the server closed the connection
    with wslab.connect(server.url) as client:
        assert client.request("ok") == "ok"
    assert capfd.readouterr() == ("", "")


def test_plain_get_gets_426(capfd):
    """A plain HTTP GET (no Upgrade) is refused with 426 Upgrade Required."""
    server = wslab.echo_server()
    with raw_connection(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 426")
    assert capfd.readouterr() == ("", "")


def test_post_gets_405():
    """A handshake with the wrong method is refused with 405 Method Not Allowed."""
    server = wslab.echo_server()
    with raw_connection(server) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 405")


def test_unmasked_client_frame_is_failed_with_1002():
    """A client frame without a mask makes the server close with 1002 (protocol error)."""
    server = wslab.echo_server()
    with raw_connection(server) as sock:
        rest = handshake(sock, server)
        sock.sendall(protocol.text("no mask"))
        frames = read_frames(sock, protocol.FrameParser(expect_masked=False), rest)
    assert frames[0].opcode == protocol.Opcode.CLOSE
    assert protocol.parse_close(frames[0].payload)[0] == 1002
    wait_until(lambda: server.connections == 0)
    with wslab.connect(server.url) as client:
        assert client.request("ok") == "ok"
