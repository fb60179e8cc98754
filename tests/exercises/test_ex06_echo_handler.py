"""ex06: an echo handler that answers JSON commands, served by wslab and by websockets itself.

Most tests serve the submission's `handler` with `wslab.serve()` (as the lesson does) and talk
to it with `wslab.connect()`, websockets' sync client. wslab records what a handler raises in
`server.errors`, so a failing test names the handler's own error first (a stub's
NotImplementedError above all). The clean-close test also serves the handler with websockets'
own `serve()` on the test's event loop, wrapped so that any exception leaving it is seen,
even the ``ConnectionClosedOK`` that wslab would forgive.
"""

from __future__ import annotations

import asyncio
import json
import os
from types import ModuleType

import pytest
from grading_support import describe_error
from websockets.asyncio.client import connect as async_connect
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed

import wslab

pytestmark = pytest.mark.exercise("ex06_echo_handler")

TIMEOUT = 3.0  # seconds, for every network wait (a reply on loopback takes milliseconds)


# --- The handler behind wslab.serve(), and a client that reports what went wrong -------------


def explain(exc: BaseException) -> str:
    """A client's exception in one line."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT:g} s"
    return f"{type(exc).__name__}: {exc}"


def describe(message: str | bytes) -> str:
    """A message as a learner wants to read it in a verdict: short ones in full."""
    kind = "text" if isinstance(message, str) else "binary"
    if len(message) <= 40:
        return f"{kind} {message!r}"
    unit = "characters" if kind == "text" else "bytes"
    return f"{kind} of {len(message)} {unit} starting {message[:12]!r}"


class Served:
    """The submission's handler, run by `wslab.serve()`."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        try:
            self.server = wslab.serve(module.handler, name="ex06")
        except TypeError as exc:  # wslab checks the signature before any client connects
            pytest.fail(f"wslab.serve(handler) refused the handler: {exc}", pytrace=False)

    def fail(self, message: str):
        """Fail the test with `message`, after the handler's own error if it raised one."""
        if self.server.errors:
            raised = describe_error(self.server.errors[0], self.module)
            message = f"your handler raised {raised}; {message}"
        pytest.fail(message, pytrace=False)

    def client(self, name: str = "the client") -> Client:
        return Client(self, name)


class Client:
    """A `wslab.connect()` client whose failures say what was sent and what came back."""

    def __init__(self, served: Served, name: str) -> None:
        self.served = served
        self.name = name
        try:
            self.ws = wslab.connect(served.server.url, timeout=TIMEOUT)
        except Exception as exc:
            served.fail(f"{name} could not connect: {explain(exc)}")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.ws.close()

    def send(self, message: str | bytes) -> None:
        try:
            self.ws.send(message)
        except Exception as exc:
            # Worded like a failed recv(): when the handler dies, which of the two notices
            # first is a matter of timing, and the verdict must not depend on it.
            sent = describe(message)
            self.served.fail(f"{self.name} sent {sent}, and got no reply: {explain(exc)}")

    def recv(self, after: str) -> str | bytes:
        try:
            return self.ws.recv()
        except Exception as exc:
            self.served.fail(f"{self.name} sent {after}, and got no reply: {explain(exc)}")

    def echo(self, message: str | bytes) -> None:
        """Send `message`; the reply must be the same message, of the same kind."""
        self.send(message)
        reply = self.recv(describe(message))
        if type(reply) is not type(message) or reply != message:
            self.served.fail(f"sent {describe(message)}, expected it back, got {describe(reply)}")

    def command(self, request: dict | str) -> dict:
        """Send a command (a dict, or JSON text as it travels); return the decoded reply."""
        text = request if isinstance(request, str) else json.dumps(request)
        self.send(text)
        reply = self.recv(f"the command {text}")
        if not isinstance(reply, str):
            self.served.fail(f"sent {text}: the reply must be text (JSON), got {describe(reply)}")
        try:
            decoded = json.loads(reply)
        except ValueError:
            self.served.fail(f"sent {text}: the reply must be JSON, got {describe(reply)}")
        if not isinstance(decoded, dict):
            self.served.fail(f"sent {text}: the reply must be a JSON object, got {reply}")
        return decoded

    def expect(self, request: dict | str, wanted: dict, why: str = "") -> None:
        reply = self.command(request)
        if reply != wanted:
            sent = request if isinstance(request, str) else json.dumps(request)
            self.served.fail(
                f"{self.name} sent {sent}, expected {json.dumps(wanted)}, got "
                f"{json.dumps(reply)}{why}"
            )

    def expect_error(self, request: dict) -> None:
        reply = self.command(request)
        if reply.get("type") != "error" or not isinstance(reply.get("error"), str):
            self.served.fail(
                f"sent {json.dumps(request)}, expected "
                f'{{"type": "error", "error": "<a message>"}}, got {json.dumps(reply)}'
            )


@pytest.fixture
def served(submission: ModuleType):
    running = Served(submission)
    try:
        yield running
    finally:
        running.server.stop()


# --- Echo -------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_echoes_text(served):
    """Text messages come back unchanged, as text: empty, short, non-ASCII and 100 KB long."""
    with served.client() as client:
        for message in ["Hello, world!", "", "café ☕ 🎉 ünïcödé 日本語", "x" * 100_000, "a\nb\tc"]:
            client.echo(message)


@pytest.mark.points(1)
def test_echoes_binary(served):
    """Binary messages come back unchanged, as bytes, even when their bytes are a JSON command."""
    with served.client() as client:
        for message in [b"\x00\xff\x80 binary", b"", os.urandom(100_000), b'{"type": "count"}']:
            client.echo(message)


# --- Commands ---------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_reverse(served):
    """{"type": "reverse", "text": t} gets {"type": "reverse", "text": t reversed}."""
    with served.client() as client:
        for text in ["abc", "stressed", "", "café ☕"]:
            client.expect(
                {"type": "reverse", "text": text}, {"type": "reverse", "text": text[::-1]}
            )
        client.expect(
            {"type": "reverse", "text": "live", "other": "fields are ignored"},
            {"type": "reverse", "text": "evil"},
        )


@pytest.mark.points(1)
def test_count(served):
    """{"type": "count"} gets the number of messages this connection received, itself included."""
    with served.client() as client:
        client.expect({"type": "count"}, {"type": "count", "value": 1})
        client.echo("one")
        client.echo(b"two")
        client.command({"type": "reverse", "text": "three"})
        client.echo("not JSON")
        client.expect({"type": "count"}, {"type": "count", "value": 6})
        client.expect('{"type":"count","extra":[1,2]}', {"type": "count", "value": 7})
    with served.client("a second connection") as client:
        client.echo("first")
        client.expect(
            {"type": "count"},
            {"type": "count", "value": 2},
            " (each connection counts its own messages, from 1: keep the count in the handler)",
        )


@pytest.mark.points(1)
def test_errors(served):
    """Other types get {"type": "error", ...}, and the connection goes on echoing."""
    with served.client() as client:
        for name in ["launch", "Count", "REVERSE", ""]:
            client.expect(
                {"type": name, "target": "moon"},
                {"type": "error", "error": f"unknown type: {name}"},
            )
        for request in [
            {"type": "reverse"},
            {"type": "reverse", "text": 42},
            {"type": "reverse", "text": None},
            {"type": None},
            {"type": 7},
            {"type": ["count"]},
        ]:
            client.expect_error(request)
        client.echo("still here")


@pytest.mark.points(1)
def test_other_text_echoed_exactly(served):
    """Text that is not a JSON object with a "type" comes back character for character."""
    with served.client() as client:
        for message in [
            "hello",
            "{oops",
            '{"type": "count"',  # almost a command, but not JSON
            "[1, 2]",
            '[{"type": "count"}]',  # a list holding a command is not a command
            "42",
            "null",
            "true",
            "NaN",
            '"count"',
            '{"kind": "count"}',
            '{"TYPE": "count"}',
            '{ "text" :  "odd spacing",\n  "n": 1.50 }',  # json.dumps() would respace it
            "{}",
        ]:
            client.echo(message)


@pytest.mark.points(1)
def test_many_messages_in_a_row(served):
    """1000 messages sent without waiting come back in order; then the count says 1001."""
    messages = [f"message {n}" if n % 3 else n.to_bytes(2, "big") for n in range(1000)]
    with served.client() as client:
        for message in messages:
            client.send(message)
        for number, message in enumerate(messages):
            reply = client.recv(f"{len(messages)} messages")
            if reply != message:
                served.fail(
                    f"sent {len(messages)} messages in a row: reply {number} should be "
                    f"{describe(message)}, got {describe(reply)}"
                )
        client.expect({"type": "count"}, {"type": "count", "value": 1001})


@pytest.mark.points(1)
def test_two_clients_count_separately(served):
    """Two clients connected at once each get the count of their own connection."""
    with served.client("client A") as first, served.client("client B") as second:
        first.echo("A1")
        second.echo("B1")
        first.echo(b"A2")
        first.echo("A3")
        second.expect({"type": "count"}, {"type": "count", "value": 2})
        first.expect({"type": "count"}, {"type": "count", "value": 4})
        second.expect({"type": "count"}, {"type": "count", "value": 3})


# --- Ending cleanly ---------------------------------------------------------------------------


@pytest.mark.points(1)
def test_clean_close(served, submission):
    """When the client closes, the close code is 1000 and the handler returns without raising."""
    # 1. With wslab.serve(): the handler's errors are in server.errors.
    with served.client() as client:
        client.echo("bye")
    if client.ws.close_code != 1000:
        served.fail(f"the client closed with 1000, the server answered {client.ws.close_code}")
    try:
        served.server.wait_idle(TIMEOUT)
    except TimeoutError:
        served.fail(f"the handler was still running {TIMEOUT:g} s after the client closed")
    if served.server.errors:
        served.fail("it must return quietly when the client closes")

    # 2. With websockets' own serve(): every exception leaving the handler counts, even
    #    ConnectionClosedOK (what `await websocket.recv()` raises once the client has closed).
    async def scenario() -> tuple[int | None, str]:
        ended = asyncio.Event()
        outcome: dict[str, object] = {}

        async def watched(websocket) -> None:
            outcome["task"] = asyncio.current_task()
            try:
                await submission.handler(websocket)
                outcome["end"] = "returned"
            except BaseException as exc:
                outcome["end"] = exc
                raise
            finally:
                ended.set()

        async with websockets_serve(watched, "127.0.0.1", 0, compression=None) as server:
            port = server.sockets[0].getsockname()[1]
            try:
                async with async_connect(
                    f"ws://127.0.0.1:{port}/", proxy=None, open_timeout=TIMEOUT
                ) as ws:
                    await ws.send("hello")
                    reply = await asyncio.wait_for(ws.recv(), TIMEOUT)
                    if reply != "hello":
                        return None, f"sent 'hello', got {describe(reply)}"
                close_code = ws.close_code
                try:
                    await asyncio.wait_for(ended.wait(), TIMEOUT)
                except TimeoutError:
                    return close_code, f"still running {TIMEOUT:g} s after the client closed"
            except Exception as exc:
                if isinstance(outcome.get("end"), BaseException):
                    return None, f"raised {describe_error(outcome['end'], submission)}"
                return None, f"the asyncio client failed: {explain(exc)}"
            finally:
                task = outcome.get("task")
                if isinstance(task, asyncio.Task) and not task.done():
                    task.cancel()  # a handler stuck after the close must not block the shutdown
        if outcome["end"] != "returned":
            return close_code, f"raised {describe_error(outcome['end'], submission)}"
        return close_code, ""

    close_code, problem = asyncio.run(scenario())
    if problem:
        pytest.fail(
            f"served by websockets' serve(), your handler {problem} (it must end quietly when "
            "the client closes: `async for message in websocket` does that)",
            pytrace=False,
        )
    if close_code != 1000:
        pytest.fail(
            f"served by websockets' serve(): the client closed with 1000, the server answered "
            f"{close_code}",
            pytrace=False,
        )


# --- A client that stops reading -------------------------------------------------------------

FLOOD = 320  # binary messages of 64 KiB: 20 MiB, far more than the buffers of a connection hold
BIG = bytes(65536)


class Watched:
    """The connection the handler gets, passed through, counting the sends under way."""

    def __init__(self, websocket) -> None:
        self._websocket = websocket
        self.sending = 0

    def __getattr__(self, name: str):
        return getattr(self._websocket, name)

    def __aiter__(self):
        return self._websocket.__aiter__()

    async def send(self, *args, **kwargs) -> None:
        self.sending += 1
        try:
            await self._websocket.send(*args, **kwargs)
        finally:
            self.sending -= 1


@pytest.mark.points(1)
def test_a_client_that_stops_reading_delays_only_itself(submission):
    """While one client's echoes pile up unread, another client still gets its own at once."""

    async def scenario() -> str:
        watched: list[Watched] = []
        errors: list[BaseException] = []

        async def handler(websocket) -> None:
            connection = Watched(websocket)
            watched.append(connection)
            try:
                await submission.handler(connection)
            except ConnectionClosed:
                pass  # the test drops both connections at its end, sends under way included
            except Exception as exc:
                errors.append(exc)

        async with websockets_serve(handler, "127.0.0.1", 0, compression=None) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
            options = {"proxy": None, "open_timeout": TIMEOUT, "compression": None}
            async with async_connect(url, max_queue=1, **options) as sleepy:

                async def flood() -> None:
                    for _ in range(FLOOD):
                        await sleepy.send(BIG)

                flooding = asyncio.create_task(flood())
                try:
                    # Until the handler of sleepy's connection waits in send(): its buffer is
                    # over the limit, so that send cannot end before sleepy reads (never).
                    loop = asyncio.get_running_loop()
                    deadline = loop.time() + TIMEOUT
                    while not (watched and watched[0].sending and over_limit(watched[0])):
                        if errors:
                            return f"your handler raised {describe_error(errors[0], submission)}"
                        if flooding.done() or loop.time() > deadline:
                            return "the handler never got to echo sleepy's flood"
                        await asyncio.sleep(0.01)  # a look every 10 ms, not a synchronisation
                    async with async_connect(url, **options) as other:
                        await other.send("anyone there?")
                        try:
                            reply = await asyncio.wait_for(other.recv(), TIMEOUT)
                        except TimeoutError:
                            return (
                                "a client that stops reading made another wait: with sleepy's "
                                f"echoes piling up unread, a second client sent 'anyone there?' "
                                f"and got no echo within {TIMEOUT:g} s (a lock, a queue or a "
                                "variable shared by connections? each handler waits only for "
                                "its own client)"
                            )
                        if reply != "anyone there?":
                            return f"the second client sent 'anyone there?' and got {reply!r}"
                finally:
                    flooding.cancel()
                    await asyncio.gather(flooding, return_exceptions=True)
                    sleepy.transport.abort()
                    for connection in server.connections:
                        connection.transport.abort()
        if errors:
            return f"your handler raised {describe_error(errors[0], submission)}"
        return ""

    problem = asyncio.run(scenario())
    if problem:
        pytest.fail(problem, pytrace=False)


def over_limit(connection: Watched) -> bool:
    """The server's buffer for this connection is over its high-water mark: sends must wait."""
    transport = connection.transport
    return transport.get_write_buffer_size() > transport.get_write_buffer_limits()[1]
