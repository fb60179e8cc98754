"""Every wslab server against the bad-input corpus, with a well-behaved client alongside.

For each (server, case): the bad client gets the answer the corpus expects (an HTTP status, a
close code, a hang-up), the server keeps serving, a well-behaved client connected the whole
time gets every one of its messages, a newcomer is served afterwards, nothing is printed, and
once the server stops, no thread or socket is left behind. The counts per server are printed
at the end of the run (see conftest.py).
"""

from __future__ import annotations

import asyncio
import http.client
import importlib.util
import itertools
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from corpus import CASES, Case, Target, open_websocket, read_close, read_status, wait_for_eof
from helpers import Resources, assert_released

import wslab
from wslab._service import LOOPBACK, Service
from wslab.chat import ChatServer
from wslab.chat.server import MAX_BACKLOG
from wslab.exercises import SOLUTIONS

#: Seconds the servers under test give a client to finish its opening request: short, so
#: that the slow-client cases end quickly (the defaults are 10 s and more).
HANDSHAKE_TIMEOUT = 0.5
#: Messages the well-behaved client exchanges before, during and after each bad input.
ROUND = 3


# --- the servers ------------------------------------------------------------------------------


class Ex10Server(Service):
    """The solution of exercise 10 (`serve(host, port)`), run as a wslab service."""

    kind = "ex10 server"
    scheme = "ws"

    def __init__(self) -> None:
        super().__init__("ex10")
        path = SOLUTIONS / "ex10_server_from_scratch.py"
        spec = importlib.util.spec_from_file_location("ex10_solution", path)
        assert spec is not None and spec.loader is not None
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        self.module.HANDSHAKE_TIMEOUT = HANDSHAKE_TIMEOUT
        self._server: asyncio.Server | None = None

    async def _start(self) -> tuple[str, int]:
        self._server = await self.module.serve(LOOPBACK, 0)
        return self._server.sockets[0].getsockname()[:2]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:  # the connection handlers: ex10 has no shutdown of its own
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()


def start_chat() -> ChatServer:
    # chat_server() takes no websockets options: build the server as it does, and add a
    # short handshake timeout before the start.
    server = ChatServer("chat", 100, 2000, None, MAX_BACKLOG)
    server.options["open_timeout"] = HANDSHAKE_TIMEOUT
    return server.start()


@dataclass
class Running:
    """A server under test, the target the corpus sees, and how to tell if it crashed."""

    service: Any
    target: Target
    crashes: Callable[[], list[str]]
    new_bystander: Callable[[], Bystander]
    stop: Callable[[], None]


def crashes_of(*services: Any) -> Callable[[], list[str]]:
    """Errors a service logged or its handler raised: a crash, for these tests."""

    def crashes() -> list[str]:
        found = []
        for service in services:
            found += [repr(e) for e in getattr(service, "errors", [])]
            found += [entry.message for entry in service.log("error")]
        return found

    return crashes


def run_echo() -> Running:
    server = wslab.echo_server(open_timeout=HANDSHAKE_TIMEOUT)
    target = Target("echo", "ws", server.host, server.port, "/", 2**20, HANDSHAKE_TIMEOUT)
    return Running(server, target, crashes_of(server), lambda: EchoClient(server.url), server.stop)


def run_push() -> Running:
    server = wslab.push_server(interval=0.002, open_timeout=HANDSHAKE_TIMEOUT)
    target = Target("push", "ws", server.host, server.port, "/", 2**20, HANDSHAKE_TIMEOUT)
    return Running(server, target, crashes_of(server), lambda: PushClient(server.url), server.stop)


def run_chat() -> Running:
    server = start_chat()
    target = Target(
        "chat", "ws", server.host, server.port, "/ws", server.options["max_size"], HANDSHAKE_TIMEOUT
    )
    return Running(server, target, crashes_of(server), lambda: ChatClients(server.url), server.stop)


def run_http() -> Running:
    server = wslab.http_server(
        interval=None, request_timeout=HANDSHAKE_TIMEOUT, idle_timeout=2 * HANDSHAKE_TIMEOUT
    )
    target = Target(
        "http", "http", server.host, server.port, "/", server.max_body, server.idle_timeout
    )
    return Running(
        server,
        target,
        crashes_of(server),
        lambda: HttpClient(server.host, server.port),
        server.stop,
    )


def run_tap() -> Running:
    server = wslab.echo_server(open_timeout=HANDSHAKE_TIMEOUT)
    tap = wslab.tap(server)
    target = Target("tap", "ws", tap.host, tap.port, "/", 2**20, HANDSHAKE_TIMEOUT)

    def stop() -> None:
        tap.stop()
        server.stop()

    return Running(tap, target, crashes_of(tap, server), lambda: EchoClient(tap.url), stop)


def run_ex10() -> Running:
    server = Ex10Server().start()
    limit = server.module.MAX_MESSAGE_SIZE
    target = Target("ex10", "ex10", server.host, server.port, "/", limit, HANDSHAKE_TIMEOUT)
    return Running(server, target, crashes_of(server), lambda: EchoClient(server.url), server.stop)


#: The servers under test: name -> (family in the corpus, how to start it).
SERVERS: dict[str, tuple[str, Callable[[], Running]]] = {
    "echo": ("ws", run_echo),
    "push": ("ws", run_push),
    "chat": ("ws", run_chat),
    "http": ("http", run_http),
    "tap": ("ws", run_tap),
    "ex10": ("ex10", run_ex10),
}


# --- the well-behaved clients -----------------------------------------------------------------


class Bystander:
    """A client that does everything right; `sent` and `received` count its messages."""

    sent = 0
    received = 0

    def exchange(self, count: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    @property
    def lost(self) -> int:
        return self.sent - self.received


class EchoClient(Bystander):
    def __init__(self, url: str) -> None:
        self.client = wslab.connect(url)

    def exchange(self, count: int) -> None:
        for _ in range(count):
            message = f"message {self.sent}"
            self.sent += 1
            if self.client.request(message) == message:
                self.received += 1

    def close(self) -> None:
        self.client.close()


class PushClient(Bystander):
    """Counts the push server's events: "sent" is the highest seq seen, so a gap is a loss."""

    def __init__(self, url: str) -> None:
        self.client = wslab.connect(url)

    def exchange(self, count: int) -> None:
        for _ in range(count):
            event = json.loads(self.client.recv())
            self.received += 1
            self.sent = event["seq"]

    def close(self) -> None:
        self.client.close()


NICKS = itertools.count(1)


class ChatClients(Bystander):
    """Two members of one room: every say of the first must reach the second."""

    def __init__(self, url: str) -> None:
        self.speaker = wslab.connect(url)
        self.listener = wslab.connect(url)
        self._join(self.listener, f"listener{next(NICKS)}")
        speaker = f"speaker{next(NICKS)}"
        self._join(self.speaker, speaker)
        for client in (self.listener, self.speaker):  # joins come in batches: read up to ours
            while speaker not in self._recv(client).get("joined", ()):
                pass

    @staticmethod
    def _recv(client: wslab.Client) -> dict:
        return json.loads(client.recv())

    def _join(self, client: wslab.Client, nick: str) -> None:
        client.send(json.dumps({"type": "join", "nick": nick, "room": "lobby"}))
        assert self._recv(client)["type"] == "welcome"

    def exchange(self, count: int) -> None:
        for _ in range(count):
            text = f"message {self.sent}"
            self.speaker.send(json.dumps({"type": "say", "text": text}))
            self.sent += 1
            assert self._recv(self.speaker)["type"] == "ack"
            heard = self._recv(self.listener)
            if heard.get("type") == "message" and heard.get("text") == text:
                self.received += 1

    def close(self) -> None:
        self.speaker.close()
        self.listener.close()


class HttpClient(Bystander):
    """One keep-alive HTTP connection, asking GET /echo?msg=..."""

    def __init__(self, host: str, port: int) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=5)

    def exchange(self, count: int) -> None:
        for _ in range(count):
            message = f"message-{self.sent}"
            self.sent += 1
            if self._get(f"/echo?msg={message}") == message.encode():
                self.received += 1

    def _get(self, target: str) -> bytes:
        for attempt in (1, 2):
            try:
                self.connection.request("GET", target)
                return self.connection.getresponse().read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed this keep-alive connection after its idle timeout, as it
                # may; a GET is safe to retry on a new connection (RFC 9112 §9.3.1).
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


# --- the test ---------------------------------------------------------------------------------

PAIRS = [
    pytest.param(server, case, id=f"{server}-{case.name}")
    for server, (family, _) in SERVERS.items()
    for case in CASES
    if case.applies_to(server, family)
]


@pytest.fixture(scope="module")
def baseline() -> Resources:
    """What the process holds before any server of this module starts. Taken once: reading
    /proc/net/tcp is slow on a machine with thousands of TIME_WAIT sockets, and every test
    here must end where the first began."""
    return Resources.now()


def observe(sock: socket.socket, case: Case, target: Target, buffer: bytearray) -> str | None:
    """Read the outcome of `case` on `sock` (None: there is nothing to read)."""
    if case.expected(target) == (None,):
        return None
    wait = case.wait(target)
    if case.phase == "handshake":
        return read_status(sock, wait, buffer)
    outcome = read_close(sock, wait, buffer)
    if outcome.startswith("close"):  # after its Close frame, a server hangs up (RFC 6455 §7.1.1)
        assert wait_for_eof(sock), f"{outcome} but the TCP connection stayed open"
    return outcome


@pytest.mark.parametrize(("server_name", "case"), PAIRS)
def test_bad_input(server_name: str, case: Case, baseline: Resources, capfd, record_property):
    """The bad client gets the expected answer; the server, the bystander and the newcomer
    notice nothing; nothing is printed and nothing is leaked."""
    running = SERVERS[server_name][1]()
    target = running.target
    bystander = running.new_bystander()
    try:
        bystander.exchange(ROUND)
        crowd = case.crowd(target) if case.crowd else []
        try:
            with socket.create_connection((target.host, target.port), timeout=5) as sock:
                buffer = open_websocket(sock, target) if case.phase == "frames" else bytearray()
                case.send(sock, target)
                bystander.exchange(ROUND)  # while the bad client is still there
                outcome = observe(sock, case, target, buffer)
        finally:
            for extra in crowd:
                extra.close()
        bystander.exchange(ROUND)
        newcomer = running.new_bystander()
        newcomer.exchange(1)
        newcomer.close()
    finally:
        bystander.close()
    crashes = running.crashes()
    if not running.service.running:
        crashes.append(f"{server_name} stopped serving")
    running.stop()
    printed = capfd.readouterr()
    leaks = leaked(baseline)
    expected = case.expected(target)
    record_property(
        "bad_input",
        {
            "server": server_name,
            "case": case.name,
            "outcome": outcome,
            "as_expected": outcome in expected,
            "sent": bystander.sent + newcomer.sent,
            "lost": bystander.lost + newcomer.lost,
            "crashes": len(crashes),
            "leaks": int(bool(leaks)),
            "printed": int(printed != ("", "")),
        },
    )
    assert outcome in expected, f"{case.what}: expected {' or '.join(map(str, expected))}"
    assert bystander.lost == 0 and newcomer.lost == 0
    assert crashes == []
    assert printed == ("", "")
    assert not leaks, leaks


def leaked(before: Resources) -> str:
    """What the process holds open beyond `before`, once everything had time to close."""
    try:
        assert_released(before)
    except pytest.fail.Exception as failure:
        return str(failure)
    return ""


def test_a_request_websockets_cannot_parse_gets_no_answer(capfd):
    """Bytes that websockets cannot parse as an HTTP request get no answer: it closes the
    connection at once (its behaviour, which wslab keeps); the server goes on; nothing printed."""
    server = wslab.echo_server()
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nthis line has no colon\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):  # until the server closes: no timeout
            answer += chunk
    assert answer == b""
    with wslab.connect(server.url) as client:
        assert client.request("still serving") == "still serving"
    assert server.errors == []
    assert capfd.readouterr() == ("", "")
