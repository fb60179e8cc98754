"""wslab.chat_server(): the chat over real WebSocket connections on loopback.

Absence is proven positively: after the thing that must not arrive, a later "probe" message is
sent, and the next message a client receives must be that probe.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
from importlib import resources

import pytest
import websockets
from helpers import wait_until

import wslab
from wslab import protocol as wire
from wslab.chat import ChatServer, chat_server


class Member:
    """A wslab client speaking the chat protocol in JSON."""

    def __init__(self, server: ChatServer, timeout: float = 5, **options) -> None:
        self.client = wslab.connect(server.url, timeout=timeout, **options)

    def send(self, **message) -> None:
        self.client.send(json.dumps(message))

    def recv(self, timeout: float | None = None) -> dict:
        data = self.client.recv() if timeout is None else self.client.recv(timeout)
        return json.loads(data)

    def join(self, nick: str, room: str = "lobby", last_id: int | None = None) -> dict:
        """Join and return the welcome (it carries the member list; changes follow in batches)."""
        self.send(type="join", nick=nick, room=room, last_id=last_id)
        welcome = self.recv()
        assert welcome["type"] == "welcome", welcome
        return welcome

    def say(self, text: str, ref: str | None = None) -> int:
        """Say `text` and return its id, from the ack."""
        self.send(type="say", text=text, ref=ref)
        ack = self.recv()
        assert ack == {"type": "ack", "id": ack["id"], "ref": ref}, ack
        return ack["id"]

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Member:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def changed(room: str = "lobby", joined=(), left=()) -> dict:
    return {"type": "presence_changed", "room": room, "left": list(left), "joined": list(joined)}


def join(server: ChatServer, nick: str, room: str = "lobby", *others: Member) -> Member:
    """A member who joined; it and `others`, already in the room, read the batch that says so
    (the server's next flush, PRESENCE_DELAY or more later)."""
    member = Member(server)
    member.join(nick, room)
    for reader in (member, *others):
        change = reader.recv()
        assert change["type"] == "presence_changed" and nick in change["joined"], change
    return member


def probe(sender: Member, *receivers: Member, text: str = "probe") -> None:
    """`sender` says `text`; it must be the very next thing each receiver gets."""
    message_id = sender.say(text)
    for receiver in receivers:
        got = receiver.recv()
        assert got["type"] == "message" and got["id"] == message_id, got


class RawMember:
    """A member on a bare socket: joins, then reads nothing unless asked."""

    def __init__(self, server: ChatServer, nick: str, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf is not None:  # before connect, so that the TCP window starts small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect((server.host, server.port))
        self.sock.sendall(wire.build_request(f"{server.host}:{server.port}", "/ws"))
        head = b""
        while wire.find_head_end(head) is None:  # no frame can come before our join
            head += self.sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.send(json.dumps({"type": "join", "nick": nick}))

    def send(self, text: str) -> None:
        self.sock.sendall(wire.text(text, mask=True))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server():
    return chat_server("chat-test")


# --- lifecycle -------------------------------------------------------------------------------


class TestLifecycle:
    def test_urls(self, server):
        """The WebSocket is at ws://127.0.0.1:PORT/ws, the page at http://127.0.0.1:PORT/."""
        assert server.url == f"ws://127.0.0.1:{server.port}/ws"
        assert server.page_url == f"http://127.0.0.1:{server.port}/"
        assert server.origins == [f"http://127.0.0.1:{server.port}", None]
        assert isinstance(server, wslab.Server) and server.running

    def test_rerun_replaces_and_stop_all_stops(self):
        """Starting under the same name stops the old server; stop_all() stops the new one."""
        first = chat_server()
        assert first.name == "chat"
        second = chat_server()
        assert not first.running and second.running
        assert wslab.running()["chat"] is second
        wslab.stop_all()
        assert not second.running
        assert "chat" not in wslab.running()

    def test_stop_closes_members_with_1001(self, server):
        """Stopping the server closes its members with 1001 (going away)."""
        alice = join(server, "alice")
        server.stop()
        with pytest.raises(websockets.ConnectionClosed):
            alice.recv()
        assert alice.client.close_code == 1001

    def test_bad_parameters(self):
        """Nonsense settings are refused before anything starts."""
        with pytest.raises(ValueError):
            chat_server(history=-1)
        with pytest.raises(ValueError):
            chat_server(max_text=0)
        with pytest.raises(TypeError):
            chat_server(origins="http://localhost:8888")
        assert wslab.running() == {}

    def test_state_is_readable_from_the_notebook_thread(self, server):
        """members(), history(), rooms() and typing() reflect the live state."""
        alice = join(server, "alice")
        bob = join(server, "bob", "kitchen")
        alice.say("hello")
        bob.send(type="typing", typing=True)
        wait_until(lambda: server.typing("kitchen") == ["bob"])
        assert server.members() == ["alice"]
        assert server.members("kitchen") == ["bob"]
        assert server.rooms() == ["kitchen", "lobby"]
        assert server.history() == [
            {"type": "message", "id": 1, "room": "lobby", "from": "alice", "text": "hello"}
        ]


# --- the protocol over the wire --------------------------------------------------------------


class TestChat:
    def test_welcome_carries_presence_and_history(self, server):
        """A newcomer gets who is online and the room's messages so far."""
        alice = join(server, "alice")
        alice.say("one")
        alice.say("two")
        bob = Member(server)
        welcome = bob.join("bob")
        assert welcome["online"] == ["alice", "bob"]
        assert [m["text"] for m in welcome["history"]] == ["one", "two"]
        assert welcome["truncated"] is False

    def test_no_echo_to_the_sender(self, server):
        """The sender gets an ack, then the others' messages: never its own message."""
        alice = join(server, "alice")
        bob = join(server, "bob", "lobby", alice)
        alice_id = alice.say("hello", ref="c1")
        assert bob.recv() == {
            "type": "message",
            "id": alice_id,
            "room": "lobby",
            "from": "alice",
            "text": "hello",
        }
        probe(bob, alice)  # the next thing alice gets is bob's probe, not her own hello

    def test_presence_on_join_and_leave(self, server):
        """The others hear of joins and leaves in a batch, never the whole list; who answers
        with it."""
        alice = join(server, "alice")
        bob = Member(server)
        bob.join("bob")
        assert alice.recv() == changed(joined=["bob"])
        alice.send(type="who")
        assert alice.recv() == {"type": "presence", "room": "lobby", "online": ["alice", "bob"]}
        bob.close()
        assert alice.recv() == changed(left=["bob"])
        alice.send(type="who")
        assert alice.recv() == {"type": "presence", "room": "lobby", "online": ["alice"]}

    def test_a_newcomer_is_announced_before_it_speaks(self, server):
        """Whether the flush came first or the newcomer's say did, the room hears of the
        newcomer before its message; the newcomer hears its own arrival, then its ack."""
        alice = join(server, "alice")
        bob = Member(server)
        bob.join("bob")
        bob.send(type="say", text="hi, I'm new", ref="b1")
        assert alice.recv() == changed(joined=["bob"])
        assert alice.recv()["text"] == "hi, I'm new"
        assert bob.recv() == changed(joined=["bob"])
        assert bob.recv()["type"] == "ack"

    def test_a_crowd_arriving_is_told_in_few_messages(self, server):
        """Twenty members joining from threads at once: each of them learns the whole room
        from its welcome and fewer batches than newcomers after it (one per flush)."""
        count = 20
        members = [Member(server) for _ in range(count)]
        welcomes: list[dict] = [{}] * count

        def enter(n: int) -> None:
            welcomes[n] = members[n].join(f"m{n:02d}")

        threads = [threading.Thread(target=enter, args=(n,)) for n in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        everyone = {f"m{n:02d}" for n in range(count)}
        batches = 0
        for member, welcome in zip(members, welcomes, strict=True):
            online, announced = set(welcome["online"]), False
            while online != everyone or not announced:  # until all in, itself announced too
                change = member.recv()
                assert change["type"] == "presence_changed" and change["left"] == [], change
                online |= set(change["joined"])
                announced = announced or welcome["nick"] in change["joined"]
                batches += 1
        probe(members[0], *members[1:])  # nothing else was on its way
        assert batches < count * (count - 1) // 2  # one notice per join: 190

    def test_after_a_burst_of_joins_and_leaves_every_list_is_exact(self, server):
        """Members arriving and leaving at once from threads: once the server has them all,
        each member's own list (its welcome, then every batch) is the room's, and a late
        joiner's welcome lists everyone."""
        first = [Member(server) for _ in range(24)]
        welcomes: dict[Member, dict] = {}

        def enter(member: Member, nick: str) -> None:
            welcomes[member] = member.join(nick)

        def at_once(*calls) -> None:
            threads = [threading.Thread(target=call, args=args) for call, *args in calls]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)

        at_once(*((enter, m, f"a{n:02d}") for n, m in enumerate(first)))
        second = [Member(server) for _ in range(6)]
        at_once(
            *((Member.close, m) for m in first[:8]),
            *((enter, m, f"b{n}") for n, m in enumerate(second)),
        )
        staying = first[8:] + second
        expected = sorted(welcomes[m]["nick"] for m in staying)
        wait_until(lambda: server.members() == expected)
        for member in staying:  # the batches the server's timer sends make the true list
            online = set(welcomes[member]["online"])
            while sorted(online) != expected:
                got = member.recv()
                assert got["type"] == "presence_changed", got
                online = (online - set(got["left"])) | set(got["joined"])
        late = Member(server)
        assert late.join("late")["online"] == sorted([*expected, "late"])
        for member in [*staying, late]:
            assert member.recv() == changed(joined=["late"])  # and nothing before it

    def test_typing_goes_to_the_others_only(self, server):
        """bob sees alice typing; alice herself gets nothing before the probe."""
        alice = join(server, "alice")
        bob = join(server, "bob", "lobby", alice)
        alice.send(type="typing", typing=True)
        assert bob.recv() == {"type": "typing", "nick": "alice", "typing": True}
        probe(bob, alice)

    def test_whisper_reaches_only_its_target(self, server):
        """bob gets the private message, alice the ack, carol nothing."""
        alice = join(server, "alice")
        bob = join(server, "bob", "lobby", alice)
        carol = join(server, "carol", "lobby", alice, bob)
        alice.send(type="whisper", to="bob", text="psst", ref="w1")
        ack = alice.recv()
        assert ack == {"type": "ack", "id": ack["id"], "ref": "w1"}
        assert bob.recv() == {
            "type": "private",
            "id": ack["id"],
            "from": "alice",
            "to": "bob",
            "text": "psst",
        }
        probe(alice, carol, bob)

    def test_whisper_to_nobody(self, server):
        """A whisper to a nick nobody uses gets no_such_user; the connection stays usable."""
        alice = join(server, "alice")
        alice.send(type="whisper", to="ghost", text="boo")
        assert alice.recv()["code"] == "no_such_user"
        alice.say("still here")

    def test_rooms_are_isolated(self, server):
        """A message in the lobby never reaches the kitchen."""
        alice = join(server, "alice")
        carol = join(server, "carol", "kitchen")
        dave = join(server, "dave", "kitchen", carol)
        alice.say("lobby only")
        probe(dave, carol)

    def test_switching_rooms(self, server):
        """A second join moves the member: the old room sees it leave, the new one arrive."""
        alice = join(server, "alice")
        bob = join(server, "bob", "lobby", alice)
        carol = join(server, "carol", "kitchen")
        alice.send(type="join", nick="alice", room="kitchen")
        welcome = alice.recv()
        assert (welcome["type"], welcome["online"]) == ("welcome", ["alice", "carol"])
        assert bob.recv() == changed(left=["alice"])
        assert alice.recv() == changed("kitchen", joined=["alice"])
        assert carol.recv() == changed("kitchen", joined=["alice"])
        probe(alice, carol)
        probe(bob)  # bob alone in the lobby: just the ack, nothing from the kitchen

    def test_ids_increase_across_the_server(self, server):
        """Ids are server-wide and strictly increasing."""
        alice = join(server, "alice")
        bob = join(server, "bob", "kitchen")
        ids = [alice.say("a"), bob.say("b"), alice.say("c")]
        assert ids == sorted(ids) and len(set(ids)) == 3

    def test_texts_are_relayed_untouched(self, server):
        """Markup, quotes and emoji arrive as sent: the server never escapes or interprets."""
        alice = join(server, "alice")
        bob = join(server, "bob", "lobby", alice)
        text = '<img src=x onerror=alert(1)> <script>window.pwned=1</script> "&amp;" 🎉'
        alice.say(text)
        assert bob.recv()["text"] == text


# --- refusals --------------------------------------------------------------------------------


class TestRefusals:
    def test_nick_taken_is_answered_then_closed_with_1008(self, server):
        """A second 'alice' gets nick_taken, then a close 1008; the first is untouched."""
        alice = join(server, "alice")
        intruder = Member(server)
        intruder.send(type="join", nick="alice")
        assert intruder.recv()["code"] == "nick_taken"
        with pytest.raises(websockets.ConnectionClosed):
            intruder.recv()
        assert intruder.client.close_code == 1008
        assert server.members() == ["alice"]
        probe(join(server, "bob", "lobby", alice), alice)

    def test_bad_nick_is_answered_then_closed_with_1008(self, server):
        """An invalid nick on the first join: bad_nick, then 1008."""
        client = Member(server)
        client.send(type="join", nick="no spaces")
        assert client.recv()["code"] == "bad_nick"
        with pytest.raises(websockets.ConnectionClosed):
            client.recv()
        assert client.client.close_code == 1008

    def test_anything_before_join_is_closed_with_1008(self, server):
        """A say before join gets not_joined, then 1008."""
        client = Member(server)
        client.send(type="say", text="hi")
        assert client.recv()["code"] == "not_joined"
        with pytest.raises(websockets.ConnectionClosed):
            client.recv()
        assert client.client.close_code == 1008

    def test_foreign_origin_gets_403(self, server):
        """A browser page from another site cannot open the chat's WebSocket."""
        with pytest.raises(websockets.InvalidStatus) as info:
            wslab.connect(server.url, origin="http://evil.example")
        assert info.value.response.status_code == 403
        assert any("evil.example" in e.message for e in server.log())

    def test_own_origin_and_no_origin_are_allowed(self, server):
        """The page's own origin and clients without an Origin (Python) get in."""
        join(server, "page", "lobby").close()
        with Member(server, origin=server.page_url.rstrip("/")) as browserlike:
            assert browserlike.join("browser")["nick"] == "browser"

    def test_explicit_origins(self):
        """origins=[...] adds to the page's own origin; [] shuts out clients without Origin."""
        server = chat_server(origins=["http://localhost:8888"])
        with Member(server, origin="http://localhost:8888") as jupyter:
            jupyter.join("lab")
        strict = chat_server("strict", origins=[])
        with pytest.raises(websockets.InvalidStatus):
            wslab.connect(strict.url)

    def test_too_long_is_an_error_and_the_connection_stays(self, server):
        """A text over max_text gets too_long; the member stays and can talk on."""
        small = chat_server("small", max_text=10)
        alice = join(small, "alice")
        bob = join(small, "bob", "lobby", alice)
        alice.send(type="say", text="x" * 11)
        assert alice.recv()["code"] == "too_long"
        probe(alice, bob, text="x" * 10)

    def test_bad_json_is_an_error_and_the_connection_stays(self, server):
        """Garbage, binary frames and unknown types get bad_message; the connection lives on."""
        alice = join(server, "alice")
        for data in ["{not json", b"\x00binary", '{"type": "shout"}', "[1]"]:
            alice.client.send(data)
            assert alice.recv()["code"] == "bad_message"
        alice.say("still here")

    def test_oversized_frame_closes_with_1009(self, server):
        """A frame over the server's max_size (64 KiB here) is closed with 1009 (too big)."""
        alice = join(server, "alice")
        alice.client.send("x" * 70_000)
        with pytest.raises(websockets.ConnectionClosed):
            alice.recv()
        assert alice.client.close_code == 1009

    def test_upgrade_elsewhere_is_404(self, server):
        """Only /ws upgrades."""
        with pytest.raises(websockets.InvalidStatus) as info:
            wslab.connect(server.url.removesuffix("/ws") + "/")
        assert info.value.response.status_code == 404


# --- recovery --------------------------------------------------------------------------------


class TestRecovery:
    def leave(self, member: Member, nick: str, *others: Member) -> None:
        """`member` closes; `others` read its leaving."""
        member.close()
        for other in others:
            assert other.recv() == changed(left=[nick])

    def test_reconnect_with_last_id_gets_exactly_the_missed_messages(self, server):
        """Messages said while away come back, in order, and nothing else."""
        alice = join(server, "alice")
        bob = join(server, "bob", "lobby", alice)
        seen = bob.say("before")
        assert alice.recv()["id"] == seen
        self.leave(alice, "alice", bob)
        missed = [bob.say(f"missed {n}") for n in range(3)]
        welcome = Member(server).join("alice", last_id=seen)
        assert [m["id"] for m in welcome["history"]] == missed
        assert [m["text"] for m in welcome["history"]] == ["missed 0", "missed 1", "missed 2"]
        assert welcome["truncated"] is False

    def test_reconnect_after_the_ring_overflowed_is_truncated(self):
        """If more was said than the room keeps, the member gets the rest and truncated."""
        server = chat_server(history=2)
        alice = join(server, "alice")
        bob = join(server, "bob", "lobby", alice)
        self.leave(alice, "alice", bob)
        ids = [bob.say(f"m{n}") for n in range(4)]
        welcome = Member(server).join("alice", last_id=0)
        assert [m["id"] for m in welcome["history"]] == ids[-2:]
        assert welcome["truncated"] is True


def test_drop_cuts_a_member_like_a_network_failure(server):
    """drop(nick) ends the connection without a close frame; the others see the member leave."""
    alice = join(server, "alice")
    bob = join(server, "bob", "lobby", alice)
    assert server.drop("bob") is True
    with pytest.raises(websockets.ConnectionClosed):
        bob.recv()
    assert bob.client.close_code == 1006  # no close frame came
    assert alice.recv() == changed(left=["bob"])
    assert server.drop("nobody") is False


# --- robustness ------------------------------------------------------------------------------


def test_a_client_that_never_reads_does_not_stall_the_room():
    """A member who stops reading neither delays the others nor grows the server's memory.

    "sloth" joins on a socket with a tiny receive buffer and never reads. alice says N large
    messages; bob must get every one of them, each within the receive timeout. Meanwhile the
    bytes for sloth pile up; past max_backlog the server drops sloth, and bob sees it leave.
    """
    server = chat_server("slow", max_text=20_000, max_backlog=64 * 1024)
    sloth = RawMember(server, "sloth", rcvbuf=4096)
    try:
        wait_until(lambda: server.members() == ["sloth"])
        alice = join(server, "alice")
        bob = join(server, "bob", "lobby", alice)
        texts, received, notices = [], [], []
        for n in range(400):  # 400 x 20 kB = 8 MB for sloth: more than any kernel buffer
            texts.append(f"{n:04d}" + "x" * 19_990)
            alice.send(type="say", text=texts[-1])
            while alice.recv(timeout=5)["type"] != "ack":  # notices about sloth may come first
                pass
            while True:  # bob's next message, after such notices
                got = bob.recv(timeout=5)
                if got["type"] == "message":
                    received.append(got["text"])
                    break
                notices.append(got)
        assert received == texts
        wait_until(lambda: "sloth" not in server.members())
        assert server.dropped == 1
        assert any("dropped 'sloth'" in e.message for e in server.log())
        while not any("sloth" in n.get("left", ()) for n in notices):
            notices.append(bob.recv(timeout=5))
    finally:
        sloth.close()


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_a_client_vanishing_mid_frame_does_not_hurt_the_others(server, how):
    """Half a frame then a closed (or reset) socket: the others see it leave and chat on."""
    alice = join(server, "alice")
    ghost = RawMember(server, "ghost")
    assert alice.recv() == changed(joined=["ghost"])
    frame = wire.text(json.dumps({"type": "say", "text": "never finished"}), mask=True)
    ghost.sock.sendall(frame[:9])
    if how == "rst":  # SO_LINGER 0: close() sends RST instead of FIN
        ghost.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ghost.close()
    assert alice.recv() == changed(left=["ghost"])
    probe(join(server, "bob", "lobby", alice), alice)
    assert server.errors == []
    assert server.log("ERROR") == []


def test_many_members_at_once(server):
    """Eight members joining from threads all end up in the room with distinct nicks."""
    members: list[Member] = []
    lock = threading.Lock()

    def enter(n: int) -> None:
        member = Member(server)
        member.join(f"m{n}")
        with lock:
            members.append(member)

    threads = [threading.Thread(target=enter, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert server.members() == sorted(f"m{n}" for n in range(8))


# --- the page --------------------------------------------------------------------------------


def get(server: ChatServer, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.mark.parametrize(
    "path, file, content_type",
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/chat.js", "chat.js", "text/javascript; charset=utf-8"),
        ("/chat.css", "chat.css", "text/css; charset=utf-8"),
    ],
)
def test_the_page_and_its_assets_are_served(server, path, file, content_type):
    """GET serves the packaged static files with their content types on the chat's port."""
    response = get(server, path)
    assert response.status == 200
    assert response.getheader("Content-Type") == content_type
    assert response.body == resources.files("wslab.chat").joinpath("static", file).read_bytes()
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert "script-src 'self'" in response.getheader("Content-Security-Policy")


def test_the_page_uses_nothing_from_elsewhere(server):
    """No CDN, no external fonts: every reference in the page is relative."""
    html = get(server, "/").body.decode()
    for external in ("http:", "https:", '="//'):
        assert external not in html
    assert 'src="chat.js"' in html and 'href="chat.css"' in html


def test_unknown_paths_are_404(server):
    """Anything else is a 404 that points at /ws."""
    response = get(server, "/nope")
    assert response.status == 404
    assert b"/ws" in response.body


def test_nothing_is_printed(capfd):
    """A busy session with refusals and vanishing clients writes nothing to stdout/stderr."""
    server = chat_server()
    alice = join(server, "alice")
    bob = join(server, "bob", "lobby", alice)
    alice.say("hi")
    bob.client.send("{bad")
    with pytest.raises(websockets.InvalidStatus):
        wslab.connect(server.url, origin="http://evil.example")
    ghost = RawMember(server, "ghost")
    ghost.sock.sendall(b"\x81")
    ghost.close()
    get(server, "/")
    get(server, "/missing")
    wait_until(lambda: server.members() == ["alice", "bob"])
    server.stop()
    assert capfd.readouterr() == ("", "")
