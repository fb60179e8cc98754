"""wslab.serve(), the registry and the built-in servers, with real clients on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import threading

import pytest
import websockets
from helpers import handshake, read_frames, wait_until
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import connect as sync_connect

import wslab


async def shout(websocket):
    async for message in websocket:
        await websocket.send(message.upper())


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


class TestServe:
    def test_binds_loopback_on_a_free_port(self):
        """A server listens on 127.0.0.1 on a port the OS picked, and says so in its URL."""
        with wslab.serve(shout) as server:
            assert server.host == "127.0.0.1"
            assert server.port > 0
            assert server.url == f"ws://127.0.0.1:{server.port}/"
            assert server.running

    def test_runs_in_its_own_daemon_thread_and_loop(self):
        """The handler runs on a daemon thread named after the server, not the caller's thread."""
        seen = {}

        async def where(websocket):
            seen["thread"] = threading.current_thread()
            seen["loop"] = asyncio.get_running_loop()
            await websocket.send("here")

        with wslab.serve(where) as server, wslab.connect(server.url) as client:
            assert client.recv() == "here"
        assert seen["thread"].name == "wslab-where"
        assert seen["thread"].daemon
        assert seen["thread"] is not threading.current_thread()

    def test_stop_closes_the_port_and_ends_the_thread(self):
        """After stop(), the port refuses connections and the server's thread is gone."""
        server = wslab.serve(shout)
        port = server.port
        server.stop()
        assert not server.running
        assert refuses_connections(port)
        assert not any(t.name == "wslab-shout" for t in threading.enumerate())
        server.stop()  # a second stop is harmless

    def test_stop_closes_live_clients_with_1001(self):
        """Stopping a server with a client connected closes that client with 1001 (going away)."""
        server = wslab.echo_server()
        client = wslab.connect(server.url)
        server.stop()
        with pytest.raises(websockets.ConnectionClosed):
            client.recv(timeout=5)
        assert client.close_code == 1001

    def test_options_reach_websockets(self):
        """Keyword options go to websockets' serve(), e.g. a subprotocol list."""
        with wslab.echo_server(subprotocols=["chat"]) as server:
            with wslab.connect(server.url, subprotocols=["chat"]) as client:
                assert client.connection.subprotocol == "chat"

    def test_old_handler_signature_is_refused_with_a_hint(self):
        """A (websocket, path) handler from websockets < 13 is refused before it can fail."""

        async def old(websocket, path):
            pass

        with pytest.raises(TypeError, match="websocket.request.path"):
            wslab.serve(old)

    def test_sync_function_is_refused(self):
        """A handler that is not async is refused with a clear message."""

        def not_async(websocket):
            pass

        with pytest.raises(TypeError, match="async"):
            wslab.serve(not_async)

    def test_connections_are_counted(self):
        """The server counts open and total connections."""
        with wslab.echo_server() as server:
            with wslab.connect(server.url), wslab.connect(server.url) as second:
                second.request("sync")
                assert server.connections == 2
            wait_until(lambda: server.connections == 0)
            assert server.connections_total == 2


class TestRegistry:
    def test_same_name_replaces_the_running_server(self):
        """Starting a server under a running name stops the old one first."""
        first = wslab.serve(shout, name="svc")
        second = wslab.serve(shout, name="svc")
        assert not first.running and second.running
        assert refuses_connections(first.port)
        assert wslab.running() == {"svc": second}

    def test_default_name_is_the_handler_name(self):
        """Re-running `serve(handler)` with no name replaces the previous run of that handler."""
        first = wslab.serve(shout)
        second = wslab.serve(shout)
        assert first.name == second.name == "shout"
        assert not first.running and second.running

    def test_distinct_names_run_side_by_side(self):
        """Two names give two servers."""
        a = wslab.serve(shout, name="a")
        b = wslab.serve(shout, name="b")
        assert a.running and b.running and a.port != b.port

    def test_stop_all_stops_every_service_and_client(self):
        """stop_all() stops servers and taps and closes clients that wslab opened."""
        server = wslab.echo_server()
        tap = wslab.tap(server)
        client = wslab.connect(tap.url)
        wslab.stop_all()
        assert not server.running and not tap.running
        assert client.closed
        assert wslab.running() == {}

    def test_stopped_server_leaves_the_registry(self):
        """A stopped server is no longer listed as running."""
        server = wslab.echo_server()
        server.stop()
        assert "echo" not in wslab.running()


class TestLog:
    def test_log_records_connections(self):
        """The log shows each connection opening and closing, with its close code."""
        with wslab.echo_server() as server:
            with wslab.connect(server.url) as client:
                client.request("hi")
            server.wait_idle()
            text = str(server.log())
        assert "connection 1 open from 127.0.0.1:" in text
        assert "connection 1 closed (code 1000)" in text

    def test_handler_crash_is_logged_not_printed(self, capfd):
        """A handler that raises closes with 1011 and logs its traceback, printing nothing."""

        async def broken(websocket):
            await websocket.recv()
            raise ValueError("bug in the handler")

        with wslab.serve(broken) as server:
            with wslab.connect(server.url) as client:
                client.send("trigger")
                with pytest.raises(websockets.ConnectionClosedError):
                    client.recv()
                assert client.close_code == 1011
            errors = wait_until(lambda: server.log("error"))
        assert "ValueError: bug in the handler" in str(errors)
        assert "Traceback" in str(errors)
        assert isinstance(server.errors[0], ValueError)
        assert capfd.readouterr() == ("", "")

    def test_rejected_handshake_is_logged(self):
        """A handshake the server refuses shows up in its log with the HTTP status."""
        with wslab.echo_server(origins=["http://good.example"]) as server:
            with pytest.raises(websockets.InvalidStatus):
                wslab.connect(server.url, origin="http://evil.example")
            wait_until(lambda: "rejected" in str(server.log()))
        assert "connection rejected (403 Forbidden)" in str(server.log())

    def test_log_is_bounded(self):
        """The log keeps the newest entries only, and counts what it dropped."""
        with wslab.echo_server() as server:
            for _ in range(1200):
                server._log.info("x")
            assert len(server.log()) == 1000
            assert server._log.dropped > 0


class TestBuiltins:
    def test_echo_returns_text_and_binary_unchanged(self):
        """The echo server returns text as text and bytes as bytes."""
        with wslab.echo_server() as server, wslab.connect(server.url) as client:
            assert client.request("héllo") == "héllo"
            assert client.request(b"\x00\xff") == b"\x00\xff"

    def test_iterating_a_client_times_out_when_the_server_goes_quiet(self):
        """`for message in client` waits at most the client's timeout for each message."""

        async def quiet(websocket):
            await websocket.send("one")
            await websocket.wait_closed()

        with wslab.serve(quiet) as server, wslab.connect(server.url, timeout=0.2) as client:
            received = []
            with pytest.raises(TimeoutError):
                for message in client:
                    received.append(message)
        assert received == ["one"]

    def test_push_server_speaks_first(self):
        """The push server sends numbered events without being asked, then closes normally."""
        with wslab.push_server(interval=0.01, count=3) as server:
            with wslab.connect(server.url) as client:
                events = [json.loads(message) for message in client]
        assert events == [{"type": "tick", "seq": n} for n in (1, 2, 3)]
        assert client.close_code == 1000


class TestClients:
    """The servers speak standard WebSocket to every kind of client."""

    def test_websockets_sync_client(self):
        """websockets' sync client round-trips with the echo server."""
        with wslab.echo_server() as server, sync_connect(server.url, proxy=None) as ws:
            ws.send("sync")
            assert ws.recv(timeout=5) == "sync"

    def test_websockets_asyncio_client(self):
        """websockets' asyncio client round-trips with the echo server."""

        async def main(url):
            async with async_connect(url, proxy=None) as ws:
                await ws.send("async")
                return await asyncio.wait_for(ws.recv(), 5)

        with wslab.echo_server() as server:
            assert asyncio.run(main(server.url)) == "async"

    def test_independent_client_websocket_client(self):
        """An independent implementation (the websocket-client package) round-trips too."""
        import websocket  # websocket-client

        with wslab.echo_server() as server:
            ws = websocket.create_connection(server.url, timeout=5)
            try:
                ws.send("independent")
                assert ws.recv() == "independent"
                ws.send_binary(b"\x01\x02")
                assert ws.recv() == b"\x01\x02"
                ws.ping(b"p")
            finally:
                ws.close()

    def test_raw_socket_client_built_on_wslab_protocol(self):
        """A client written from the teaching codec on a plain socket round-trips too."""
        from wslab import protocol

        with (
            wslab.echo_server() as server,
            socket.create_connection((server.host, server.port), timeout=5) as sock,
        ):
            rest = handshake(sock, server)
            sock.sendall(
                protocol.encode_frame(
                    protocol.Frame(protocol.Opcode.TEXT, b"raw", mask_key=b"abcd")
                )
            )
            frames = read_frames(sock, protocol.FrameParser(expect_masked=False), rest)
            assert frames[0].opcode == protocol.Opcode.TEXT
            assert frames[0].payload == b"raw"
