"""wslab.chat.bots: scripted clients react to events, the same way every run, and leak nothing."""

from __future__ import annotations

import json
import threading

import pytest
from helpers import Resources, assert_released, wait_until

import wslab
from wslab.chat.bots import ChatBot, start_bots
from wslab.chat.client import ChatRefused
from wslab.chat.panel import chat_panel
from wslab.chat.server import chat_server


def join(server, nick: str) -> wslab.Client:
    client = wslab.connect(server.url)
    client.send(json.dumps({"type": "join", "nick": nick}))
    assert json.loads(client.recv())["type"] == "welcome"
    return client


def say(client: wslab.Client, text: str) -> None:
    client.send(json.dumps({"type": "say", "text": text}))


def texts(client: wslab.Client, count: int, kind: str = "message") -> list[tuple[str, str]]:
    """The next `count` messages of type `kind` the client receives, as (from, text)."""
    got = []
    while len(got) < count:
        data = json.loads(client.recv())
        if data["type"] == kind:
            got.append((data["from"], data["text"]))
    return got


def bot_threads() -> list[str]:
    """The receiver threads of chat clients (bots, panels), sorted; not panels' updaters."""
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("wslab-chat:"))


def test_greeter_greets_who_joins(capfd):
    """A greeter welcomes each member who joins after it, by nick."""
    server = chat_server()
    greeter = ChatBot(server, "greeter", greet="Welcome, {nick}!")
    with join(server, "alice") as alice:
        assert texts(alice, 1) == [("greeter", "Welcome, alice!")]
        with join(server, "bob"):
            assert texts(alice, 1) == [("greeter", "Welcome, bob!")]
    assert greeter.said == ["Welcome, alice!", "Welcome, bob!"]
    assert repr(greeter) == "ChatBot('greeter', greet, room 'lobby')"
    assert capfd.readouterr() == ("", "")


def test_a_greeter_greets_everyone_in_a_batch_after_itself():
    """Members arriving together come in one batch: the greeter greets each of them, once."""
    server = chat_server()
    greeter = ChatBot(server, "greeter", greet="Welcome, {nick}!")
    with join(server, "alice") as alice, join(server, "bob"), join(server, "carol"):
        got = texts(alice, 3)
    assert sorted(got) == [("greeter", f"Welcome, {nick}!") for nick in ("alice", "bob", "carol")]
    assert sorted(greeter.said) == [f"Welcome, {nick}!" for nick in ("alice", "bob", "carol")]


def test_echo_echoes_in_upper_case():
    """The echo bot repeats messages in upper case, and whispers back to a whisper."""
    server = chat_server()
    echo = ChatBot(server, "echo", echo=True)
    with join(server, "alice") as alice:
        say(alice, "hello <b>")
        assert texts(alice, 1) == [("echo", "HELLO <B>")]
        alice.send(json.dumps({"type": "whisper", "to": "echo", "text": "psst"}))
        assert texts(alice, 1, "private") == [("echo", "PSST")]
    assert echo.wait_said(2) == ["HELLO <B>", "PSST"]


def test_two_echo_bots_do_not_echo_each_other():
    """Upper-case text is not echoed, so two echo bots answer once each and then stop."""
    server = chat_server()
    start_bots(server, [{"nick": "echo1", "echo": True}, {"nick": "echo2", "echo": True}])
    with join(server, "alice") as alice:
        say(alice, "a")
        assert sorted(texts(alice, 2)) == [("echo1", "A"), ("echo2", "A")]
        # The server relays in order: had a bot echoed the other's "A", alice would get that
        # echo before the bots' answers to "b".
        say(alice, "b")
        assert sorted(texts(alice, 2)) == [("echo1", "B"), ("echo2", "B")]


def test_replies_and_script():
    """A reply answers its key (any case); the trigger makes a script bot say its lines."""
    server = chat_server()
    bots = start_bots(
        server,
        [
            {"nick": "oracle", "replies": {"Ping": "pong, {nick}"}},
            {"nick": "actor", "script": ["To be", "or not", "to be"], "trigger": "go"},
        ],
    )
    assert repr(bots) == "Bots(['oracle', 'actor'])" and len(bots) == 2
    with join(server, "alice") as alice:
        say(alice, "  PING ")
        assert texts(alice, 1) == [("oracle", "pong, alice")]
        say(alice, "go")
        assert texts(alice, 3) == [("actor", "To be"), ("actor", "or not"), ("actor", "to be")]
        say(alice, "going")  # not the trigger: nothing
        alice.send(json.dumps({"type": "whisper", "to": "oracle", "text": "ping"}))
        assert texts(alice, 1, "private") == [("oracle", "pong, alice")]
    assert bots["oracle"].said == ["pong, alice"] * 2 and bots["actor"].said[-1] == "to be"


def test_a_panel_meets_the_bots(capfd):
    """The lesson's set-up: greeter and echo bots, a panel that sees both answer."""
    server = chat_server()
    bots = start_bots(
        server, [{"nick": "greeter", "greet": "Hi {nick}"}, {"nick": "echo", "echo": True}]
    )
    panel = chat_panel(server, "you")
    panel.wait_for("greeter: Hi you")
    panel.send("anyone here?")
    assert panel.wait_for("ANYONE HERE?").sender == "echo"
    # echo came after greeter, you after echo: whether their joins came in one batch or two
    assert bots["greeter"].said == ["Hi echo", "Hi you"]
    assert capfd.readouterr() == ("", "")


def test_stop_leaves_nothing(capfd):
    """Stopping the bots leaves the room, ends every thread and socket; twice is fine."""
    before = Resources.now()
    server = chat_server()
    bots = start_bots(server, [{"nick": "greeter", "greet": "hi"}, {"nick": "echo", "echo": True}])
    assert bot_threads() == ["wslab-chat:echo", "wslab-chat:greeter"]
    assert all(bot.running for bot in bots)
    bots.stop()
    bots.stop()
    assert bot_threads() == [] and not any(bot.running for bot in bots)
    wait_until(lambda: server.members() == [])
    wslab.stop_all()
    assert_released(before)
    assert capfd.readouterr() == ("", "")


def test_stop_all_stops_the_bots():
    """wslab.stop_all() ends the bots' threads too (their server stops)."""
    before = Resources.now()
    greeter = ChatBot(chat_server(), "greeter", greet="hi")
    wslab.stop_all()
    assert_released(before)
    assert not greeter.running and greeter.error is None


def test_same_nick_replaces_the_bot():
    """Starting a bot under a nick in use in this kernel closes the older one first."""
    server = chat_server()
    first = ChatBot(server, "bot", echo=True)
    second = ChatBot(server, "bot", greet="hi")
    assert not first.running and second.running
    assert bot_threads() == ["wslab-chat:bot"] and server.members() == ["bot"]


def test_a_failed_start_stops_the_others(capfd):
    """If one bot cannot join, those started before it are stopped, and the error raised."""
    server = chat_server()
    before = Resources.now()
    with pytest.raises(ChatRefused, match="bad_nick"):
        start_bots(server, [{"nick": "fine", "echo": True}, {"nick": "not fine!", "echo": True}])
    with pytest.raises(TypeError, match="list of lines"):
        ChatBot(server, "actor", script="one line")
    assert_released(before)
    assert server.members() == [] or wait_until(lambda: server.members() == [])
    assert capfd.readouterr() == ("", "")
