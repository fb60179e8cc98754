"""wslab.chat.protocol: parsing what clients send, building what the server sends. No I/O."""

from __future__ import annotations

import json

import pytest

from wslab.chat import protocol
from wslab.chat.protocol import ChatError, Join, Say, Typing, Whisper, Who, parse


def frame(**fields) -> str:
    return json.dumps(fields)


def refused(data, max_text: int = 2000) -> ChatError:
    with pytest.raises(ChatError) as info:
        parse(data, max_text)
    return info.value


class TestJoin:
    def test_minimal_join_defaults_to_the_lobby_and_no_last_id(self):
        """A join with just a nick enters the lobby with no recovery."""
        assert parse(frame(type="join", nick="alice")) == Join("alice", "lobby", None)

    def test_full_join(self):
        """Room and last_id are taken as given."""
        message = parse(frame(type="join", nick="a_b-9", room="Room_2", last_id=17))
        assert message == Join("a_b-9", "Room_2", 17)

    def test_null_room_means_lobby_and_null_last_id_means_none(self):
        """Explicit nulls are the defaults."""
        assert parse(frame(type="join", nick="bob", room=None, last_id=None)) == Join("bob")

    def test_last_id_zero_is_valid(self):
        """last_id 0 means 'I have seen nothing' and is accepted."""
        assert parse(frame(type="join", nick="bob", last_id=0)).last_id == 0

    @pytest.mark.parametrize("nick", ["", "x" * 21, "al ice", "alice!", "é", "<b>", "a.b"])
    def test_bad_nicks(self, nick):
        """A nick must be 1-20 ASCII letters, digits, _ or -."""
        error = refused(frame(type="join", nick=nick))
        assert error.code == "bad_nick"
        assert repr(nick) in error.reason

    def test_longest_nick_is_20_characters(self):
        """Exactly 20 characters is still a nick."""
        assert parse(frame(type="join", nick="x" * 20)).nick == "x" * 20

    @pytest.mark.parametrize("nick", [None, 42, ["alice"], True])
    def test_missing_or_non_string_nick_is_a_bad_message(self, nick):
        """No nick at all, or not a string, is a malformed join rather than a bad nick."""
        assert refused(frame(type="join", nick=nick)).code == "bad_message"

    @pytest.mark.parametrize("room", ["", "lob by", "x" * 21, 3])
    def test_bad_rooms(self, room):
        """Room names follow the nick rules; a bad one is a bad message."""
        error = refused(frame(type="join", nick="alice", room=room))
        assert error.code == "bad_message"
        assert "room" in error.reason

    @pytest.mark.parametrize("last_id", [-1, 1.5, "3", True, [1]])
    def test_bad_last_ids(self, last_id):
        """last_id is null or an integer >= 0; JSON true is not 1."""
        error = refused(frame(type="join", nick="alice", last_id=last_id))
        assert error.code == "bad_message"
        assert "last_id" in error.reason


class TestSay:
    def test_say_with_and_without_ref(self):
        """ref is optional; a string or an integer comes back as given."""
        assert parse(frame(type="say", text="hi")) == Say("hi", None)
        assert parse(frame(type="say", text="hi", ref="c1")) == Say("hi", "c1")
        assert parse(frame(type="say", text="hi", ref=7)) == Say("hi", 7)

    def test_text_is_kept_exactly(self):
        """The protocol never escapes, strips or interprets a text."""
        text = '  <img src=x onerror=alert(1)> & "quotes"\n\ttabs ünïcode 🎉  '
        assert parse(frame(type="say", text=text)).text == text

    def test_too_long(self):
        """Over max_text characters is too_long; exactly max_text is fine."""
        assert parse(frame(type="say", text="x" * 10), max_text=10).text == "x" * 10
        error = refused(frame(type="say", text="x" * 11), max_text=10)
        assert error.code == "too_long"
        assert "11" in error.reason and "10" in error.reason

    def test_length_counts_characters_not_bytes(self):
        """Ten emoji are ten characters (40 UTF-8 bytes) and fit a max_text of 10."""
        assert parse(frame(type="say", text="🎉" * 10), max_text=10).text == "🎉" * 10

    @pytest.mark.parametrize(
        "fields",
        [{}, {"text": None}, {"text": ""}, {"text": 5}, {"text": ["hi"]}],
        ids=["missing", "null", "empty", "number", "list"],
    )
    def test_missing_or_bad_text(self, fields):
        """A say needs a non-empty string text."""
        assert refused(frame(type="say", **fields)).code == "bad_message"

    @pytest.mark.parametrize("ref", [1.5, True, {"a": 1}, "r" * 65])
    def test_bad_refs(self, ref):
        """ref is null, an integer, or a short string."""
        assert refused(frame(type="say", text="hi", ref=ref)).code == "bad_message"

    def test_lone_surrogate_is_refused(self):
        """JSON can spell a lone surrogate; it has no UTF-8 form, so it cannot be relayed."""
        assert refused('{"type": "say", "text": "a\\ud800b"}').code == "bad_message"
        assert refused('{"type": "say", "text": "ok", "ref": "\\udfff"}').code == "bad_message"

    def test_a_surrogate_pair_is_fine(self):
        """An escaped pair is one real character."""
        assert parse('{"type": "say", "text": "\\ud83c\\udf89"}').text == "🎉"


class TestOtherMessages:
    def test_typing(self):
        """typing carries a boolean."""
        assert parse(frame(type="typing", typing=True)) == Typing(True)
        assert parse(frame(type="typing", typing=False)) == Typing(False)

    @pytest.mark.parametrize("value", [None, 1, "true"])
    def test_typing_needs_a_boolean(self, value):
        """1 and "true" are not booleans."""
        assert refused(frame(type="typing", typing=value)).code == "bad_message"

    def test_whisper(self):
        """A whisper names its recipient; ref is optional."""
        assert parse(frame(type="whisper", to="bob", text="psst", ref="c2")) == Whisper(
            "bob", "psst", "c2"
        )
        assert parse(frame(type="whisper", to="bob", text="psst")).ref is None

    def test_whisper_to_an_impossible_nick_parses(self):
        """Whether `to` is online is the room's business (no_such_user), not the parser's."""
        assert parse(frame(type="whisper", to="not a nick!", text="x")).to == "not a nick!"

    @pytest.mark.parametrize(
        "fields",
        [{"text": "x"}, {"to": 3, "text": "x"}, {"to": "bob"}, {"to": "bob", "text": ""}],
        ids=["no-to", "number-to", "no-text", "empty-text"],
    )
    def test_bad_whispers(self, fields):
        """A whisper needs a string `to` and a non-empty text."""
        assert refused(frame(type="whisper", **fields)).code == "bad_message"

    def test_whisper_too_long(self):
        """Whispers obey max_text too."""
        assert refused(frame(type="whisper", to="bob", text="xyz"), max_text=2).code == "too_long"

    def test_who(self):
        """who has no fields."""
        assert parse(frame(type="who")) == Who()

    def test_unknown_fields_are_ignored(self):
        """Clients may add fields of their own."""
        assert parse(frame(type="who", colour="blue")) == Who()


class TestMalformed:
    @pytest.mark.parametrize(
        "data", ["", "hello", "{", "{'type': 'who'}", "[" * 100_000], ids=str.__len__
    )
    def test_not_json(self, data):
        """Anything that is not JSON is a bad message, even JSON nested too deep to parse."""
        error = refused(data)
        assert error.code == "bad_message"
        assert error.reason == "not valid JSON"

    @pytest.mark.parametrize("data", ["[]", "42", '"join"', "null"])
    def test_not_an_object(self, data):
        """A message is a JSON object."""
        assert refused(data).code == "bad_message"

    @pytest.mark.parametrize("kind", [None, "shout", "JOIN", 3])
    def test_unknown_or_missing_type(self, kind):
        """The error lists the types the server knows."""
        error = refused(json.dumps({"type": kind}) if kind is not None else "{}")
        assert error.code == "bad_message"
        assert "join, say, typing, whisper, who" in error.reason

    def test_binary_frames_are_refused(self):
        """The protocol speaks text frames; bytes (a binary frame) are a bad message."""
        error = refused(b'{"type": "who"}')
        assert error.code == "bad_message"
        assert "binary" in error.reason


class TestChatError:
    def test_codes_are_the_documented_ones(self):
        """The six error codes of the spec, and no others."""
        assert set(protocol.ERROR_CODES) == {
            "nick_taken",
            "bad_nick",
            "not_joined",
            "bad_message",
            "too_long",
            "no_such_user",
        }

    def test_unknown_code_is_a_programming_error(self):
        """A typo in a code is caught where the error is made."""
        with pytest.raises(ValueError):
            ChatError("nick_takne", "x")

    def test_equality(self):
        """Errors compare by code and reason (handy in tests)."""
        assert ChatError("too_long", "x") == ChatError("too_long", "x")
        assert ChatError("too_long", "x") != ChatError("too_long", "y")


class TestServerMessages:
    def test_shapes(self):
        """Each builder makes exactly the fields of the spec."""
        assert protocol.welcome("a", "lobby", ["a"], [], False) == {
            "type": "welcome",
            "nick": "a",
            "room": "lobby",
            "online": ["a"],
            "history": [],
            "truncated": False,
        }
        assert protocol.message(17, "lobby", "bob", "hi") == {
            "type": "message",
            "id": 17,
            "room": "lobby",
            "from": "bob",
            "text": "hi",
        }
        assert protocol.ack(17, "c1") == {"type": "ack", "id": 17, "ref": "c1"}
        assert protocol.ack(17, None) == {"type": "ack", "id": 17, "ref": None}
        assert protocol.private(18, "alice", "bob", "psst") == {
            "type": "private",
            "id": 18,
            "from": "alice",
            "to": "bob",
            "text": "psst",
        }
        assert protocol.presence_changed("lobby", ["carol", "al"], ["bob"]) == {
            "type": "presence_changed",
            "room": "lobby",
            "left": ["bob"],
            "joined": ["carol", "al"],
        }
        assert protocol.presence("lobby", ["a", "b"]) == {
            "type": "presence",
            "room": "lobby",
            "online": ["a", "b"],
        }
        assert protocol.typing("bob", True) == {"type": "typing", "nick": "bob", "typing": True}
        assert protocol.error(ChatError("no_such_user", "nobody")) == {
            "type": "error",
            "code": "no_such_user",
            "reason": "nobody",
        }

    def test_encode_is_compact_json_that_keeps_text_as_is(self):
        """encode() writes compact JSON, non-ASCII as characters, markup untouched."""
        text = protocol.encode(protocol.message(1, "lobby", "bob", "<b>é</b>"))
        assert text == '{"type":"message","id":1,"room":"lobby","from":"bob","text":"<b>é</b>"}'
        assert json.loads(text)["text"] == "<b>é</b>"

    @pytest.mark.parametrize(
        "message",
        [
            protocol.Join("alice"),
            protocol.Join("alice", "den", last_id=0),
            protocol.Say("héllo <b>", ref="p1"),
            protocol.Say("hi", ref=3),
            protocol.Typing(False),
            protocol.Whisper("bob", "psst"),
            protocol.Who(),
        ],
    )
    def test_encode_client_is_what_parse_reads(self, message):
        """What a client encodes parses back to the same message; None fields are left out."""
        text = protocol.encode_client(message)
        assert protocol.parse(text) == message
        assert "null" not in text and text.startswith('{"type":')
