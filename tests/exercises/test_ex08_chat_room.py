"""ex08: a chat room server, graded by several real clients in one event loop.

Each test serves a fresh ``submission.ChatRoom()`` with websockets' asyncio server on
127.0.0.1, port 0, and connects websockets' asyncio clients to it. Something that must *not*
arrive is checked with a probe: a later message that must be the very next thing the client
receives. Whatever the room's handler raises is recorded and shown first in a failing test's
message (a stub's NotImplementedError above all).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import NoReturn

import pytest
from grading_support import describe_error
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from wslab import protocol
from wslab.protocol import Opcode

pytestmark = pytest.mark.exercise("ex08_chat_room")

TIMEOUT = 5.0  # seconds, for every network wait
POLICY_VIOLATION = 1008  # the close code of a refused join (RFC 6455 §7.4.1)


def show(event: object, limit: int = 120) -> str:
    """An event as the learner reads it in a verdict: its JSON, cut short if long."""
    text = json.dumps(event) if isinstance(event, dict | list) else repr(event)
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} characters)"


# --- A room served for one test, and its clients ----------------------------------------------


class Room:
    """The submission's ChatRoom behind a websockets server, and the clients connected to it."""

    def __init__(self, submission: ModuleType) -> None:
        self.submission = submission
        self.chat = submission.ChatRoom()
        self.errors: list[BaseException] = []
        self.clients: list[Client] = []
        self.members: list[Client] = []
        """The clients that joined and are still online, in the order they joined."""

    async def __aenter__(self) -> Room:
        self.server = await serve(self._handler, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for client in self.clients:  # drop them all at once: no closing handshake to wait for
            client.websocket.transport.abort()
        for connection in self.server.connections:  # the server's ends too: one stuck in a
            connection.transport.abort()  # send would not notice its client is gone
        self.server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), TIMEOUT)

    async def _handler(self, websocket: ServerConnection) -> None:
        try:
            await self.chat.handler(websocket)
        except ConnectionClosed:
            pass  # a client left while the handler was sending: not the handler's fault
        except Exception as exc:
            self.errors.append(exc)
            await websocket.close(1011, f"the handler raised {type(exc).__name__}")

    def fail(self, message: str) -> NoReturn:
        """Fail the test with `message`, after the handler's own error if it raised one."""
        if self.errors:
            raised = describe_error(self.errors[0], self.submission)
            message = f"the room's handler raised {raised}; {message}"
        pytest.fail(message, pytrace=False)

    async def connect(self, name: str, **options: object) -> Client:
        """A new client that has not joined yet."""
        try:
            websocket = await connect(
                self.url, proxy=None, open_timeout=TIMEOUT, compression=None, **options
            )
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            problem = None
        if problem is not None:  # failed outside the except block: a verdict without a chain
            self.fail(f"{name} could not connect: {problem}")
        client = Client(self, name, websocket)
        self.clients.append(client)
        return client

    async def join(self, nick: str, **options: object) -> Client:
        """Connect and join as `nick`: it gets its welcome, everyone online gets ``joined``."""
        client = await self.connect(nick, **options)
        await client.send({"type": "join", "nick": nick})
        online = sorted([member.name for member in self.members] + [nick])
        await client.expect({"type": "welcome", "nick": nick, "online": online}, " after joining")
        for member in self.members:
            await member.expect({"type": "joined", "nick": nick}, f" ({nick} joined)")
        self.members.append(client)
        return client


class Client:
    """A websockets asyncio client that speaks the room's JSON, with a timeout on every wait."""

    def __init__(self, room: Room, name: str, websocket: ClientConnection) -> None:
        self.room = room
        self.name = name
        self.websocket = websocket

    async def send(self, event: dict | str) -> None:
        """Send an event as JSON; a str is sent as it is (for text that is not JSON)."""
        message = event if isinstance(event, str) else json.dumps(event)
        problem = None
        try:
            await asyncio.wait_for(self.websocket.send(message), TIMEOUT)
        except TimeoutError:
            problem = f"it did not go out within {TIMEOUT:g} s"
        except ConnectionClosed as exc:
            problem = closed(exc)
        if problem is not None:
            self.room.fail(f"{self.name} could not send {show(event)}: {problem}")

    async def receive(self, waiting_for: str) -> object:
        """The next event this client receives; fail if none comes, or it is not JSON."""
        problem = None
        try:
            message = await asyncio.wait_for(self.websocket.recv(), TIMEOUT)
        except TimeoutError:
            problem = f"nothing arrived within {TIMEOUT:g} s"
        except ConnectionClosed as exc:
            problem = f"instead {closed(exc)}"
        if problem is not None:
            self.room.fail(f"{waiting_for}; {problem}")
        if not isinstance(message, str):
            self.room.fail(f"{waiting_for}; got a binary message {message[:60]!r}, not JSON text")
        try:
            return json.loads(message)
        except ValueError:
            pass
        self.room.fail(f"{waiting_for}; got {message[:80]!r}, which is not JSON")

    async def expect(self, expected: dict, why: str = "") -> None:
        """The next event this client receives must be `expected`, exactly."""
        waiting_for = f"{self.name} should receive {show(expected)}{why}"
        got = await self.receive(waiting_for)
        if got != expected:
            self.room.fail(f"{waiting_for}; got {show(got)}")

    async def expect_refusal(self, reason: str, why: str) -> None:
        """An error with `reason`, then the server closes the connection with 1008 (§7.4.1)."""
        await self.expect({"type": "error", "reason": reason}, why)
        waiting_for = f"after the error, the server should close {self.name}'s connection with 1008"
        try:
            message = await asyncio.wait_for(self.websocket.recv(), TIMEOUT)
        except TimeoutError:
            problem = f"it stayed open for {TIMEOUT:g} s"
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            problem = None if code == POLICY_VIOLATION else closed(exc)
        else:
            problem = f"it sent {message!r:.80}"
        if problem is not None:
            self.room.fail(f"{waiting_for}; {problem}")


class RawJoiner:
    """A client on bare asyncio streams, whose join goes out the moment `send_join` is called.

    A websockets client's ``send()`` is a coroutine; several of these can write their joins
    one after the other without ever letting the event loop run in between, so the server
    reads them all in the same turn of its loop: joins "at the same moment".
    """

    def __init__(self, room: Room, name: str) -> None:
        self.room = room
        self.name = name
        self.parser = protocol.FrameParser(expect_masked=False)
        self.frames: list[protocol.Frame] = []

    async def open(self) -> RawJoiner:
        port = self.room.server.sockets[0].getsockname()[1]
        key = protocol.generate_key()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(protocol.build_request(f"127.0.0.1:{port}", "/", key))
        problem = None
        try:
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
            protocol.check_response(protocol.parse_response(head), key)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        except protocol.HandshakeError as error:
            problem = error.message
        if problem is not None:
            self.room.fail(f"{self.name} could not connect: {problem}")
        return self

    def send_join(self, nick: str) -> None:
        """Write the join now, without awaiting anything."""
        data = json.dumps({"type": "join", "nick": nick})
        self.writer.write(protocol.text(data, mask=True))

    async def first(self) -> dict | int | None:
        """The first event the server sends, or the close code if it closes at once."""
        while not self.frames:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), TIMEOUT)
            except TimeoutError:
                self.room.fail(f"{self.name} joined and got nothing within {TIMEOUT:g} s")
            except OSError:
                data = b""
            if not data:
                return None
            self.frames += self.parser.feed(data)
        frame = self.frames.pop(0)
        if frame.opcode == Opcode.CLOSE:
            return protocol.parse_close(frame.payload)[0]
        return json.loads(frame.payload)

    def close(self) -> None:
        self.writer.transport.abort()


def closed(exc: ConnectionClosed) -> str:
    """How the server ended a connection, for a verdict."""
    if exc.rcvd is None:
        return "the connection dropped without a close frame"
    return f"the server closed the connection with code {exc.rcvd.code} {exc.rcvd.reason!r}"


def run(submission: ModuleType, scenario: Callable[[Room], Awaitable[None]]) -> None:
    """Serve a fresh ChatRoom, play `scenario` against it, shut everything down."""

    async def main() -> None:
        async with Room(submission) as room:
            await scenario(room)

    asyncio.run(main())


# --- Joining ----------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_welcome_lists_everyone_online(submission):
    """Each joiner gets a welcome with its nick and every nick online, its own included, sorted."""

    async def scenario(room: Room) -> None:
        # They join in this order; each welcome lists the nicks sorted.
        for nick, online in [
            ("zoe", ["zoe"]),
            ("adam", ["adam", "zoe"]),
            ("mia", ["adam", "mia", "zoe"]),
        ]:
            client = await room.connect(nick)
            await client.send({"type": "join", "nick": nick})
            await client.expect({"type": "welcome", "nick": nick, "online": online})

    run(submission, scenario)


@pytest.mark.points(1)
def test_joined_goes_to_the_others_not_the_joiner(submission):
    """Members already online get ``joined``; the joiner never gets one about itself."""

    async def scenario(room: Room) -> None:
        # room.join checks that every member's next message is "joined <newcomer>". So when
        # carol joins, bob's next message after his welcome must be "joined carol": a
        # "joined bob" sent to bob himself would have come first.
        await room.join("alice")
        await room.join("bob")
        await room.join("carol")
        await room.join("dave")

    run(submission, scenario)


@pytest.mark.points(1)
def test_nick_taken(submission):
    """A nick already online gets the error "nick taken" and a close with 1008 (§7.4.1)."""

    async def scenario(room: Room) -> None:
        alice = await room.join("alice")
        impostor = await room.connect("the second alice")
        await impostor.send({"type": "join", "nick": "alice"})
        await impostor.expect_refusal("nick taken", " (alice is already online)")
        # The real alice is still online (bob's welcome lists her), heard nothing about the
        # refused client (her next message is "joined bob"), and can still talk.
        bob = await room.join("bob")
        await alice.send({"type": "say", "text": "still me"})
        await bob.expect({"type": "message", "from": "alice", "text": "still me"})

    run(submission, scenario)


@pytest.mark.points(1)
def test_same_nick_at_the_same_moment(submission):
    """Three clients whose joins as "carol" arrive together: one welcome, two "nick taken"."""

    async def scenario(room: Room) -> None:
        alice = await room.join("alice")
        for round_ in range(3):
            nick = f"carol{round_}"
            joiners = [await RawJoiner(room, f"joiner {n + 1}").open() for n in range(3)]
            for joiner in joiners:  # no await in between: the server reads all three at once
                joiner.send_join(nick)
            firsts = [await joiner.first() for joiner in joiners]
            welcomed = [
                joiner.name
                for joiner, first in zip(joiners, firsts, strict=True)
                if isinstance(first, dict) and first.get("type") == "welcome"
            ]
            if len(welcomed) != 1:
                got = "; ".join(
                    f"{joiner.name} got {show(first)}"
                    for joiner, first in zip(joiners, firsts, strict=True)
                )
                room.fail(
                    f'three clients sent {{"type": "join", "nick": "{nick}"}} at the same moment: '
                    f'exactly one should be welcomed, the others refused with "nick taken"; '
                    f"{got}. Between checking that a nick is free and taking it, don't await "
                    "anything: another join runs while you wait"
                )
            await alice.expect(
                {"type": "joined", "nick": nick}, f" (one {nick} joined, the others were refused)"
            )
            for joiner in joiners:
                joiner.close()
            await alice.expect({"type": "left", "nick": nick}, f" ({nick} dropped)")

    run(submission, scenario)


@pytest.mark.points(1)
def test_join_first(submission):
    """A first message that is not a join with a nick gets "join first" and a close with 1008."""

    async def scenario(room: Room) -> None:
        await room.join("alice")
        firsts = [
            ("a say", {"type": "say", "text": "hi"}),
            ("text that is not JSON", "hello?"),
            ("a join without a nick", {"type": "join"}),
            ("a join with an empty nick", {"type": "join", "nick": ""}),
            ("a join whose nick is a number", {"type": "join", "nick": 42}),
        ]
        for what, first in firsts:
            client = await room.connect(f"a client whose first message is {what}")
            await client.send(first)
            await client.expect_refusal("join first", f" after sending {show(first)}")
        # None of them joined: alice's next message is about bob, and his welcome lists only
        # the two of them.
        await room.join("bob")

    run(submission, scenario)


# --- Talking ----------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_say_goes_to_everyone_but_the_sender(submission):
    """A say reaches every other member as a ``message``, and never comes back to its sender."""

    async def scenario(room: Room) -> None:
        alice, bob, carol = [await room.join(nick) for nick in ("alice", "bob", "carol")]
        said = {"alice": "hello, room", "bob": "hi alice", "carol": "hi both"}
        # Each says something in turn, after receiving what the others said: so if anyone got
        # their own message back, it would arrive before the next person's and fail the test.
        for speaker in (alice, bob, carol):
            message = {"type": "message", "from": speaker.name, "text": said[speaker.name]}
            await speaker.send({"type": "say", "text": said[speaker.name]})
            for listener in (alice, bob, carol):
                if listener is not speaker:
                    why = f" ({speaker.name} said it; no echo of {listener.name}'s own message)"
                    await listener.expect(message, why)

    run(submission, scenario)


@pytest.mark.points(1)
def test_whisper_goes_to_its_target_only(submission):
    """A whisper reaches its target only, as ``private``; to nobody online, an error."""

    async def scenario(room: Room) -> None:
        alice, bob, carol = [await room.join(nick) for nick in ("alice", "bob", "carol")]
        await alice.send({"type": "whisper", "to": "bob", "text": "psst"})
        await bob.expect({"type": "private", "from": "alice", "text": "psst"}, " (from alice)")
        # Probes: had alice's whisper reached carol or alice, it would arrive first.
        await bob.send({"type": "whisper", "to": "carol", "text": "probe for carol"})
        await carol.expect(
            {"type": "private", "from": "bob", "text": "probe for carol"},
            " (alice's earlier whisper to bob must not reach carol)",
        )
        await carol.send({"type": "whisper", "to": "alice", "text": "probe for alice"})
        await alice.expect(
            {"type": "private", "from": "carol", "text": "probe for alice"},
            " (alice's own whisper must not come back to her)",
        )
        # A whisper to a nick that is not online gets the sender "no such user: <nick>".
        await alice.send({"type": "whisper", "to": "nobody", "text": "hello?"})
        await alice.expect({"type": "error", "reason": "no such user: nobody"})
        # The connection stays open and bob heard nothing: his next message is this one.
        await alice.send({"type": "whisper", "to": "bob", "text": "found you"})
        await bob.expect(
            {"type": "private", "from": "alice", "text": "found you"},
            " (after alice's whisper to nobody, which bob must not receive)",
        )

    run(submission, scenario)


@pytest.mark.points(1)
def test_invalid_messages_get_an_error_and_the_connection_stays_open(submission):
    """After joining, text that is not a valid say or whisper gets "invalid message", no close."""

    async def scenario(room: Room) -> None:
        alice, bob = await room.join("alice"), await room.join("bob")
        invalid = [
            ("text that is not JSON", '{"type": "say", "text": '),
            ("JSON that is not an object", '["say", "hi"]'),
            ("an unknown type", {"type": "dance"}),
            ("no type at all", {"text": "hi"}),
            ("a say without text", {"type": "say"}),
            ("a say whose text is a number", {"type": "say", "text": 42}),
            ("a whisper without 'to'", {"type": "whisper", "text": "psst"}),
            ("a second join", {"type": "join", "nick": "alice2"}),
        ]
        for what, message in invalid:
            await alice.send(message)
            error = {"type": "error", "reason": "invalid message"}
            await alice.expect(error, f" after sending {what}: {show(message)}")
        await alice.send({"type": "say", "text": "still here"})
        await bob.expect(
            {"type": "message", "from": "alice", "text": "still here"},
            " (alice's connection stays open; none of her invalid messages reach bob)",
        )

    run(submission, scenario)


# --- Leaving ----------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_left_when_a_connection_ends(submission):
    """A member who closes or drops the connection is announced as ``left`` and its nick freed."""

    async def scenario(room: Room) -> None:
        alice, bob, carol = [await room.join(nick) for nick in ("alice", "bob", "carol")]
        await asyncio.wait_for(bob.websocket.close(), TIMEOUT)  # a closing handshake
        room.members.remove(bob)
        for member in (alice, carol):
            await member.expect({"type": "left", "nick": "bob"}, " (bob closed his connection)")
        carol.websocket.transport.abort()  # the TCP connection drops: no close frame at all
        room.members.remove(carol)
        await alice.expect(
            {"type": "left", "nick": "carol"},
            " (carol's TCP connection dropped, without a closing handshake)",
        )
        # Both nicks are free again: a new bob joins, and his welcome lists only alice.
        await room.join("bob")

    run(submission, scenario)


# --- Slow readers -----------------------------------------------------------------------------

FLOOD = 320  # messages of 64 KiB (uncompressed): 20 MiB, 4x what a stalled reader absorbs here
BIG = "x" * 65536


@pytest.mark.points(1)
def test_a_client_that_stops_reading_does_not_stall_the_room(submission):
    """With one member not reading at all, the others still get every message said to them."""

    async def scenario(room: Room) -> None:
        alice, bob = await room.join("alice"), await room.join("bob")
        # This client stops reading after its welcome: its queue holds one message, then
        # websockets stops reading from the socket, and the TCP buffers fill up.
        await room.join("sleepy", max_queue=1)

        async def alice_says() -> None:
            for n in range(FLOOD):
                await alice.send({"type": "say", "text": f"{n} {BIG}"})

        saying = asyncio.create_task(alice_says())
        try:
            for n in range(FLOOD):
                await bob.expect(
                    {"type": "message", "from": "alice", "text": f"{n} {BIG}"},
                    f" (message {n} of {FLOOD}, while sleepy reads nothing)",
                )
            await saying
        finally:
            saying.cancel()
            await asyncio.gather(saying, return_exceptions=True)

        # Then a flood of whispers to sleepy himself, and a probe that must still reach bob.
        async def alice_whispers() -> None:
            for n in range(FLOOD):
                await alice.send({"type": "whisper", "to": "sleepy", "text": f"{n} {BIG}"})
            await alice.send({"type": "say", "text": "after the whispers"})

        whispering = asyncio.create_task(alice_whispers())
        try:
            await bob.expect(
                {"type": "message", "from": "alice", "text": "after the whispers"},
                f" (alice said it after {FLOOD} whispers of 64 KiB to sleepy, who reads "
                "nothing; a whisper that waits for its target to read stalls the whisperer: "
                "send it with broadcast, which never waits)",
            )
            await whispering
        finally:
            whispering.cancel()
            await asyncio.gather(whispering, return_exceptions=True)

    run(submission, scenario)
