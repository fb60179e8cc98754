"""wslab.chat.panel: the model without a kernel or a server; the widget with a real chat server."""

from __future__ import annotations

import gc
import json
import threading
import time

import pytest
from helpers import Resources, assert_released, wait_until

import wslab
from wslab.chat.bots import ChatBot
from wslab.chat.client import ChatModel, ChatRefused, LogLine, Sent, State, disconnect_all
from wslab.chat.panel import ChatPanel, chat_panel, log_html, online_html
from wslab.chat.server import chat_server

XSS = "<img src=x onerror=alert(1)>"


def welcome(online=("you",), history=(), truncated=False, nick="you", room="lobby"):
    return {
        "type": "welcome",
        "nick": nick,
        "room": room,
        "online": list(online),
        "history": list(history),
        "truncated": truncated,
    }


def message(id, sender, text, room="lobby"):
    return {"type": "message", "id": id, "room": room, "from": sender, "text": text}


def changed(room="lobby", joined=(), left=()):
    return {"type": "presence_changed", "room": room, "left": list(left), "joined": list(joined)}


def joined_model(*online: str) -> ChatModel:
    model = ChatModel("you")
    model.apply(welcome(online=("you", *online)))
    return model


def join(server, nick: str, room: str = "lobby") -> wslab.Client:
    """A plain Python client of the chat, joined, its welcome read."""
    client = wslab.connect(server.url)
    client.send(json.dumps({"type": "join", "nick": nick, "room": room}))
    assert json.loads(client.recv())["type"] == "welcome"
    return client


def recv_until(client: wslab.Client, **fields) -> dict:
    """Read messages (each with the client's timeout) until one has all of `fields`."""
    for _ in range(1000):
        data = json.loads(client.recv())
        if all(data.get(k) == v for k, v in fields.items()):
            return data
    raise AssertionError(f"no message with {fields}")


def panel_threads() -> list[str]:
    """The threads of chat clients (receivers, panels' updaters), sorted."""
    prefixes = ("wslab-chat:", "wslab-chat-panel:")
    return sorted(t.name for t in threading.enumerate() if t.name.startswith(prefixes))


class TestModel:
    def test_welcome(self):
        """A welcome joins: state, online, the history as lines, a notice, the newest id."""
        model = ChatModel("you")
        assert model.state is State.CONNECTING and model.header == "you in #lobby: connecting"
        history = [message(3, "bob", "hi"), message(4, "carol", "hey")]
        assert model.apply(welcome(online=["bob", "carol", "you"], history=history))
        assert model.state is State.JOINED and model.online == ["bob", "carol", "you"]
        assert model.text == "bob: hi\ncarol: hey\n* you joined #lobby as you"
        assert model.last_id == 4 and model.lines[0].id == 3
        assert model.header == "you in #lobby: joined, 3 online"

    def test_truncated_welcome_says_so(self):
        """A truncated history is announced before the messages that were kept."""
        model = ChatModel("you")
        model.apply(welcome(history=[message(9, "bob", "late")], truncated=True))
        assert model.text.splitlines()[:2] == ["* (older messages were dropped)", "bob: late"]

    def test_message(self):
        """A message becomes a line and ends its sender's typing."""
        model = joined_model("bob")
        model.apply({"type": "typing", "nick": "bob", "typing": True})
        assert model.apply(message(7, "bob", "hello"))
        assert model.lines[-1] == LogLine("message", "hello", sender="bob", id=7)
        assert str(model.lines[-1]) == "bob: hello"
        assert model.typing == [] and model.last_id == 7

    def test_say_is_pending_until_acked(self):
        """An own say is logged at once as pending; its ack gives it an id and a result."""
        model = joined_model()
        frame = json.loads(model.send_text("hi"))
        assert frame == {"type": "say", "text": "hi", "ref": "p1"} and model.last_ref == "p1"
        assert model.lines[-1].status is Sent.PENDING and str(model.lines[-1]) == "you: hi"
        assert model.apply({"type": "ack", "id": 5, "ref": "p1"})
        assert model.lines[-1].status is Sent.ACKED and model.lines[-1].id == 5
        assert model.results == {"p1": 5}
        assert not model.apply({"type": "ack", "id": 6, "ref": "unknown"})

    def test_whisper_both_ways(self):
        """A whisper sent is logged pending until acked; a private message received is logged."""
        model = joined_model("bob")
        frame = json.loads(model.whisper_text("bob", "psst"))
        assert frame == {"type": "whisper", "to": "bob", "text": "psst", "ref": "p1"}
        model.apply({"type": "ack", "id": 8, "ref": "p1"})
        model.apply({"type": "private", "id": 9, "from": "bob", "to": "you", "text": "ok"})
        assert model.text.splitlines()[-2:] == [
            "you → bob (private): psst",
            "bob → you (private): ok",
        ]
        assert model.lines[-1].id == 9 and model.last_id == 9

    def test_errors_fail_the_oldest_pending_text(self):
        """The server answers in order: too_long fails the oldest pending text, not the newest."""
        model = joined_model()
        model.send_text("x" * 3000)
        model.send_text("short")
        model.apply({"type": "error", "code": "too_long", "reason": "over 2000 characters"})
        model.apply({"type": "ack", "id": 3, "ref": "p2"})
        first, second = model.lines[-3:-1]
        assert (first.status, second.status) == (Sent.FAILED, Sent.ACKED)
        assert isinstance(model.results["p1"], ChatRefused) and model.results["p2"] == 3
        assert model.results["p1"].code == "too_long"
        assert str(model.lines[-1]) == "! too_long: over 2000 characters"
        assert model.errors == [("too_long", "over 2000 characters")]

    def test_join_errors_are_logged(self):
        """A refused join leaves the model connecting, with the error on record."""
        model = ChatModel("you")
        model.apply({"type": "error", "code": "nick_taken", "reason": "'you' is in use"})
        assert model.state is State.CONNECTING
        assert model.errors == [("nick_taken", "'you' is in use")]

    def test_presence_changes_and_presence(self):
        """A batch of changes drops who left, adds who joined (notices, in order) and keeps the
        list sorted; a nick that left and came back forgets its typing; presence replaces."""
        model = joined_model("bob")
        assert model.online == ["bob", "you"]
        model.apply(changed(joined=["zed", "carol"]))
        assert model.online == ["bob", "carol", "you", "zed"]
        assert [str(line) for line in model.lines[-2:]] == ["* zed joined", "* carol joined"]
        model.apply({"type": "typing", "nick": "carol", "typing": True})
        model.apply({"type": "typing", "nick": "bob", "typing": True})
        model.apply(changed(joined=["bob"], left=["bob", "carol"]))
        assert model.online == ["bob", "you", "zed"] and model.typing == []
        assert [str(line) for line in model.lines[-3:]] == [
            "* bob left",
            "* carol left",
            "* bob joined",
        ]
        assert not model.apply(changed("elsewhere", joined=["x"]))
        presence = {"type": "presence", "room": "lobby", "online": ["bob", "dave", "you"]}
        assert model.apply(presence) and model.online == ["bob", "dave", "you"]
        assert not model.apply(presence)  # the same list twice: nothing to redraw
        assert not model.apply({**presence, "room": "elsewhere", "online": ["zed"]})

    def test_a_newcomer_is_not_told_of_those_who_came_first(self):
        """In its first batch a newcomer finds itself: those before it are added to the list
        without a notice (they were there first), those after it are newcomers."""
        model = ChatModel("you")
        model.apply(welcome(online=("ann", "you")))
        model.apply(changed(joined=["bob", "you", "cid"]))
        assert model.online == ["ann", "bob", "cid", "you"]
        assert [str(line) for line in model.lines] == ["* you joined #lobby as you", "* cid joined"]

    def test_typing_line(self):
        """Typing names others, sorted; own typing and repeats change nothing."""
        model = joined_model("bob", "carol", "dave", "erin")
        assert not model.apply({"type": "typing", "nick": "you", "typing": True})
        for nick in ("carol", "bob"):
            assert model.apply({"type": "typing", "nick": nick, "typing": True})
        assert not model.apply({"type": "typing", "nick": "bob", "typing": True})
        assert model.typing_line == "bob and carol are typing…"
        model.apply({"type": "typing", "nick": "carol", "typing": False})
        assert model.typing_line == "bob is typing…"
        for nick in ("carol", "dave", "erin"):
            model.apply({"type": "typing", "nick": nick, "typing": True})
        assert model.typing_line == "4 people are typing…"

    def test_client_messages(self):
        """join, typing (only when it changes; a say ends it) and who, as JSON."""
        model = ChatModel("you", "den")
        assert json.loads(model.join_text()) == {"type": "join", "nick": "you", "room": "den"}
        assert json.loads(model.join_text(7))["last_id"] == 7
        assert json.loads(model.typing_text(True)) == {"type": "typing", "typing": True}
        assert model.typing_text(True) is None
        model.send_text("done")
        assert model.typing_text(False) is None  # the server ended it with the say
        assert json.loads(ChatModel.who_text()) == {"type": "who"}

    def test_odd_messages(self):
        """Unknown types are ignored; what is not a JSON object is logged as an error."""
        model = joined_model()
        version = model.version
        assert not model.apply({"type": "future-feature"}) and model.version == version
        assert model.apply("not json") and model.lines[-1].kind == "error"
        assert model.apply({"type": "message", "text": "no id"})
        assert "unexpected message" in str(model.lines[-1])

    def test_max_lines_keeps_the_newest(self):
        model = ChatModel("you", max_lines=3)
        model.apply(welcome())
        for n in range(5):
            model.apply(message(n + 1, "bob", f"m{n}"))
        assert model.text == "bob: m2\nbob: m3\nbob: m4"
        with pytest.raises(ValueError):
            ChatModel("you", max_lines=0)

    def test_connection_closed(self):
        model = joined_model()
        model.apply({"type": "typing", "nick": "bob", "typing": True})
        model.connection_closed(1001, "bye")
        assert model.state is State.CLOSED and model.typing == []
        assert model.header == "you in #lobby: disconnected (code 1001 'bye')"

    def test_html_escapes_every_text(self):
        """Texts, nicks and notices are escaped: markup shows literally, never runs."""
        lines = [
            LogLine("message", XSS, sender="bob"),
            LogLine("private", "<b>", sender="bob", to="you"),
            LogLine("error", "<script>"),
        ]
        page = log_html(lines)
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "<img" not in page and "<script>" not in page and "&lt;b&gt;" in page
        assert "&lt;i&gt;" in online_html(["<i>", "you"], "you")


# --- the widget, with a real chat server ------------------------------------------------------


class TestPanel:
    def test_a_bot_speaks_and_the_log_shows_it(self, capfd):
        """After a bot greets the panel, the model and then the log widget contain the greeting."""
        server = chat_server()
        ChatBot(server, "greeter", greet="Welcome, {nick}!")
        panel = chat_panel(server, "you")
        assert panel.wait_for("Welcome, you!").sender == "greeter"
        wait_until(lambda: "<b>greeter</b>: Welcome, you!" in panel.messages.value)
        wait_until(lambda: "online (2)" in panel.online.value)
        assert "you in #lobby: joined, 2 online" in panel.header.value
        assert capfd.readouterr() == ("", "")

    def test_markup_shows_literally(self):
        """A text with markup arrives escaped in the widget's value, never as a tag."""
        server = chat_server()
        panel = chat_panel(server, "you")
        with join(server, "mallory") as mallory:
            mallory.send(json.dumps({"type": "say", "text": XSS}))
            line = panel.wait_for(XSS)
            wait_until(lambda: "&lt;img src=x onerror=alert(1)&gt;" in panel.messages.value)
        assert "<img" not in panel.messages.value
        assert str(line) == f"mallory: {XSS}"  # the model keeps it as sent

    def test_update_rate_is_bounded(self, capfd):
        """A burst of 300 messages costs at most rate x elapsed (+2) updates of the log."""
        rate = 20.0
        server = chat_server()
        panel = chat_panel(server, "you", rate=rate)
        updates = []
        panel.messages.observe(updates.append, names="value")
        started = time.monotonic()
        with join(server, "bob") as bob:
            for n in range(300):  # one at a time, each acked: the burst lasts a while
                bob.send(json.dumps({"type": "say", "text": f"burst {n}"}))
                recv_until(bob, type="ack")
            panel.wait_for("bob: burst 299")
            wait_until(lambda: "burst 299" in panel.messages.value)
            elapsed = time.monotonic() - started
        assert 1 <= len(updates) <= elapsed * rate + 2
        assert len(updates) < 100  # batched: many messages per update
        assert capfd.readouterr() == ("", "")

    def test_send_reaches_another_client(self, capfd):
        """panel.send() returns the acked id; another client receives the message."""
        server = chat_server()
        with join(server, "bob") as bob:
            panel = chat_panel(server, "you")
            id = panel.send("hello bob")
            got = recv_until(bob, type="message")
            assert got == {"type": "message", "id": id, "room": "lobby", "from": "you",
                           "text": "hello bob"}  # fmt: skip
            assert server.history()[-1]["id"] == id
            assert panel.whisper("bob", "just you") > id
            assert recv_until(bob, type="private")["text"] == "just you"
        wait_until(lambda: "<b>you</b>: hello bob" in panel.messages.value)
        assert capfd.readouterr() == ("", "")

    def test_refusals_raise(self):
        """A whisper to nobody and a too long text raise ChatRefused; the line shows it failed."""
        server = chat_server(max_text=10)
        panel = chat_panel(server, "you")
        with pytest.raises(ChatRefused, match="no_such_user"):
            panel.whisper("nobody", "hello?")
        with pytest.raises(ChatRefused) as refused:
            panel.send("x" * 11)
        assert refused.value.code == "too_long"
        assert [line.status for line in panel.model.lines if line.sender] == [Sent.FAILED] * 2
        assert panel.send("short") > 0

    def test_the_input_box(self, capfd):
        """Typing tells the room; Enter sends; the Send button sends; /w whispers."""
        server = chat_server()
        with join(server, "bob") as bob:
            panel = chat_panel(server, "you")
            while "you" not in recv_until(bob, type="presence_changed")["joined"]:
                pass  # bob's own arrival may come first, or in the same batch
            panel.input.set_state({"value": "hel"})  # what the front-end sends on keystrokes
            assert recv_until(bob, type="typing") == {"type": "typing", "nick": "you",
                                                      "typing": True}  # fmt: skip
            panel.input.set_state({"value": "hello"})
            panel.input._handle_custom_msg({"event": "submit"}, [])  # Enter
            assert recv_until(bob, type="message")["text"] == "hello"
            assert panel.input.value == ""
            panel.input.set_state({"value": "/w bob psst"})
            panel.button._handle_custom_msg({"event": "click"}, [])
            assert recv_until(bob, type="private")["text"] == "psst"
            panel.button._handle_custom_msg({"event": "click"}, [])  # empty: nothing sent
            panel.input.set_state({"value": "/w nobody hi"})
            panel.input._handle_custom_msg({"event": "submit"}, [])
            panel.wait_for("no_such_user")
        assert capfd.readouterr() == ("", "")

    def test_others_typing_and_presence(self):
        """Another client typing shows in the typing line; its leaving updates the list."""
        server = chat_server()
        panel = chat_panel(server, "you")
        with join(server, "bob") as bob:
            wait_until(lambda: "online (2)" in panel.online.value)
            bob.send(json.dumps({"type": "typing", "typing": True}))
            wait_until(lambda: "bob is typing…" in panel.typing.value)
        panel.wait_for("* bob left")
        wait_until(lambda: "online (1)" in panel.online.value)
        assert "is typing" not in panel.typing.value

    def test_repr_is_deterministic(self):
        server = chat_server()
        panel = chat_panel(server, "you", room="den")
        bundle = panel._repr_mimebundle_()
        assert bundle["text/plain"] == repr(panel) == "ChatPanel(nick 'you', room 'den')"
        assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.model_id


class TestLifecycle:
    def test_close_leaves_nothing(self, capfd):
        """close() leaves the room and ends both threads; twice is fine; nothing is printed."""
        before = Resources.now()
        server = chat_server()
        panel = chat_panel(server, "you")
        assert panel_threads() == ["wslab-chat-panel:you", "wslab-chat:you"]
        panel.close()
        assert panel_threads() == [] and panel.closed
        panel.close()
        assert repr(panel) == "ChatPanel(nick 'you', room 'lobby')"
        wait_until(lambda: server.members() == [])
        wslab.stop_all()
        assert_released(before)
        assert capfd.readouterr() == ("", "")

    def test_rerun_replaces_the_panel(self):
        """A new panel with the same nick closes the old one and joins in its place."""
        server = chat_server()
        first = chat_panel(server, "you")
        second = chat_panel(server, "you")
        assert first.closed and not second.closed
        assert panel_threads() == ["wslab-chat-panel:you", "wslab-chat:you"]
        assert server.members() == ["you"]
        assert second.send("still here") > 0

    def test_stop_all_ends_the_threads(self, capfd):
        """wslab.stop_all() stops the server: the panel says so and its threads end."""
        before = Resources.now()
        panel = chat_panel(chat_server(), "you")
        wslab.stop_all()
        assert_released(before)
        assert "disconnected" in panel.header.value and panel.input.disabled
        with pytest.raises(ConnectionError):
            panel.send("anyone?")
        assert capfd.readouterr() == ("", "")

    def test_disconnect_keeps_the_panel_on_show(self):
        """disconnect() leaves the room and ends the threads; the widget says it is offline."""
        server = chat_server()
        panel = chat_panel(server, "you")
        panel.disconnect()
        assert panel_threads() == [] and not panel.closed
        assert "disconnected (code 1000)" in panel.header.value and panel.input.disabled
        assert "* disconnected (code 1000)" in panel.messages.value

    def test_disconnect_all_is_synchronous(self):
        """disconnect_all() (for wslab.stop_all) returns once every panel and bot thread ended."""
        server = chat_server()
        chat_panel(server, "you")
        ChatBot(server, "greeter", greet="hi")
        assert len(panel_threads()) == 3
        disconnect_all()
        assert panel_threads() == []
        assert chat_panel(server, "you").send("back") > 0  # the nick is free again

    def test_refused_join_leaves_nothing(self, capfd):
        """A bad nick or a nick in use elsewhere raises ChatRefused and leaks nothing."""
        server = chat_server()
        before = Resources.now()
        with pytest.raises(ChatRefused, match="bad_nick"):
            chat_panel(server, "not a nick!")
        with join(server, "bob"), pytest.raises(ChatRefused, match="nick_taken"):
            chat_panel(server, "bob")
        with pytest.raises(ValueError):
            ChatPanel(server, "you", rate=0)
        with pytest.raises(TypeError):
            chat_panel("http://example.com/", "you")
        gc.collect()  # half-made panels' __del__ runs close(): it must stay quiet
        assert_released(before)
        assert capfd.readouterr() == ("", "")
