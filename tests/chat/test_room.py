"""wslab.chat.room: the chat's state machine, driven with plain strings as clients. No I/O."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wslab.chat import protocol
from wslab.chat.protocol import ChatError, Join, Say, Typing, Whisper, Who
from wslab.chat.room import ChatState, Delivery


def msg(id, frm, text, room="lobby"):
    return protocol.message(id, room, frm, text)


class Chat:
    """A ChatState with helpers; clients are named after their nick ("alice" -> "c-alice")."""

    def __init__(self, **options) -> None:
        self.state = ChatState(**options)

    def send(self, client: str, message) -> list[Delivery]:
        outcome = self.state.receive(client, message)
        assert outcome.close is None, outcome
        return outcome.deliveries

    def join(self, nick: str, room: str = "lobby", last_id: int | None = None) -> list[Delivery]:
        """Join, then flush as the server does a moment later: everything that is sent."""
        return self.enter(nick, room, last_id) + self.state.flush()

    def enter(self, nick: str, room: str = "lobby", last_id: int | None = None) -> list[Delivery]:
        """Join without a flush: the others do not know yet."""
        return self.send(f"c-{nick}", Join(nick, room, last_id))

    def say(self, nick: str, text: str, ref=None) -> list[Delivery]:
        return self.send(f"c-{nick}", Say(text, ref))


def codes(deliveries: list[Delivery]) -> list[str]:
    return [d.message["code"] for d in deliveries if d.message["type"] == "error"]


def changed(room: str = "lobby", joined=(), left=()) -> dict:
    return protocol.presence_changed(room, list(joined), list(left))


def welcome(deliveries: list[Delivery]) -> dict:
    (found,) = [d.message for d in deliveries if d.message["type"] == "welcome"]
    return found


class TestJoin:
    def test_first_member(self):
        """The first member gets a welcome with the list and an empty history, then its own
        arrival in the next batch."""
        chat = Chat()
        assert chat.join("alice") == [
            Delivery(("c-alice",), protocol.welcome("alice", "lobby", ["alice"], [], False)),
            Delivery(("c-alice",), changed(joined=["alice"])),
        ]
        assert chat.state.members() == ["alice"]
        assert chat.state.nick("c-alice") == "alice"

    def test_second_member(self):
        """The newcomer's welcome lists everyone; the room hears of it in a batch, not a list."""
        chat = Chat()
        chat.join("bob")
        assert chat.join("alice") == [
            Delivery(("c-alice",), protocol.welcome("alice", "lobby", ["alice", "bob"], [], False)),
            Delivery(("c-alice", "c-bob"), changed(joined=["alice"])),
        ]

    def test_nick_taken_closes_with_1008(self):
        """A first join with a nick in use gets nick_taken, then a 1008 close."""
        chat = Chat()
        chat.join("alice")
        outcome = chat.state.receive("intruder", Join("alice"))
        assert codes(outcome.deliveries) == ["nick_taken"]
        assert outcome.deliveries[0].to == ("intruder",)
        assert outcome.close == (1008, "nick taken")
        assert chat.state.members() == ["alice"]
        assert chat.state.nick("intruder") is None

    def test_nicks_are_unique_across_rooms(self):
        """A nick used in one room is taken in every room."""
        chat = Chat()
        chat.join("alice", "kitchen")
        assert chat.state.receive("other", Join("alice", "lobby")).close == (1008, "nick taken")

    def test_nicks_are_case_sensitive(self):
        """'Alice' and 'alice' are two nicks."""
        chat = Chat()
        chat.join("alice")
        chat.join("Alice")
        assert chat.state.members() == ["Alice", "alice"]

    def test_a_nick_is_free_again_after_disconnect(self):
        """Once its holder is gone, a nick can be taken by someone else."""
        chat = Chat()
        chat.join("alice")
        chat.state.disconnect("c-alice")
        assert welcome(chat.send("new", Join("alice")))["nick"] == "alice"

    def test_bad_nick_on_first_join_closes_with_1008(self):
        """The parser's bad_nick, before joining, is answered and closes the client."""
        chat = Chat()
        outcome = chat.state.receive("c", ChatError("bad_nick", "bad nick 'a b'"))
        assert outcome.deliveries == [
            Delivery(("c",), {"type": "error", "code": "bad_nick", "reason": "bad nick 'a b'"})
        ]
        assert outcome.close == (1008, "bad nick")

    @pytest.mark.parametrize("message", [Say("hi"), Typing(True), Whisper("a", "x"), Who()])
    def test_anything_before_join_is_not_joined_and_closes(self, message):
        """Every message but join, before a join, gets not_joined and a 1008 close."""
        outcome = ChatState().receive("c", message)
        assert codes(outcome.deliveries) == ["not_joined"]
        assert outcome.close == (1008, "join first")

    @pytest.mark.parametrize("code", ["bad_message", "too_long"])
    def test_other_errors_before_join_keep_the_connection(self, code):
        """Bad JSON or a too long text before joining is answered; the client may still join."""
        chat = Chat()
        outcome = chat.state.receive("c-alice", ChatError(code, "x"))
        assert codes(outcome.deliveries) == [code]
        assert outcome.close is None
        assert welcome(chat.join("alice"))["nick"] == "alice"

    def test_errors_after_join_never_close(self):
        """A joined member's bad_nick (on a second join) or bad_message just gets the error."""
        chat = Chat()
        chat.join("alice")
        for code in ("bad_nick", "bad_message", "too_long"):
            outcome = chat.state.receive("c-alice", ChatError(code, "x"))
            assert codes(outcome.deliveries) == [code]
            assert outcome.close is None
        assert chat.state.members() == ["alice"]

    def test_parameters_are_checked(self):
        """Negative history and zero rooms make no sense."""
        with pytest.raises(ValueError):
            ChatState(history=-1)
        with pytest.raises(ValueError):
            ChatState(max_rooms=0)


class TestSay:
    def test_message_goes_to_the_others_and_an_ack_to_the_sender(self):
        """The sender gets an ack with the id and its ref, never its own message."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.join("carol")
        assert chat.say("alice", "hi", ref="c1") == [
            Delivery(("c-alice",), protocol.ack(1, "c1")),
            Delivery(("c-bob", "c-carol"), msg(1, "alice", "hi")),
        ]

    def test_alone_in_the_room_only_the_ack(self):
        """With nobody else there, the only delivery is the ack."""
        chat = Chat()
        chat.join("alice")
        assert chat.say("alice", "echo?") == [Delivery(("c-alice",), protocol.ack(1, None))]
        assert chat.state.history() == [msg(1, "alice", "echo?")]

    def test_ids_increase_across_rooms_and_whispers(self):
        """One id sequence for the whole server, shared by messages and whispers."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob", "kitchen")
        chat.say("alice", "1")
        chat.send("c-bob", Whisper("alice", "2"))
        chat.say("bob", "3")
        assert [m["id"] for m in chat.state.history()] == [1]
        assert [m["id"] for m in chat.state.history("kitchen")] == [3]
        assert chat.state.last_id == 3

    def test_history_is_a_ring(self):
        """A room keeps its last `history` messages."""
        chat = Chat(history=3)
        chat.join("alice")
        for n in range(5):
            chat.say("alice", str(n))
        assert [m["text"] for m in chat.state.history()] == ["2", "3", "4"]

    def test_history_returns_copies(self):
        """Changing what history() returned does not change the room."""
        chat = Chat()
        chat.join("alice")
        chat.say("alice", "original")
        chat.state.history()[0]["text"] = "changed"
        assert chat.state.history()[0]["text"] == "original"

    def test_no_history_kept(self):
        """history=0 keeps nothing and still relays."""
        chat = Chat(history=0)
        chat.join("alice")
        chat.join("bob")
        assert chat.say("alice", "hi")[1] == Delivery(("c-bob",), msg(1, "alice", "hi"))
        assert chat.state.history() == []


class TestRecovery:
    def setup_room(self, history=10, count=5) -> Chat:
        chat = Chat(history=history)
        chat.join("alice")
        for n in range(1, count + 1):
            chat.say("alice", f"m{n}")
        return chat

    def test_new_member_gets_the_kept_history(self):
        """Without last_id, the room's kept messages, not truncated."""
        chat = self.setup_room()
        got = welcome(chat.join("bob"))
        assert [m["id"] for m in got["history"]] == [1, 2, 3, 4, 5]
        assert got["truncated"] is False

    def test_new_member_with_a_short_history_is_not_truncated(self):
        """A new member asked for recent messages, not for all of them: not truncated."""
        chat = self.setup_room(history=2)
        got = welcome(chat.join("bob"))
        assert [m["text"] for m in got["history"]] == ["m4", "m5"]
        assert got["truncated"] is False

    def test_last_id_gets_exactly_the_missed_messages(self):
        """With last_id, exactly the kept messages with a greater id, in order."""
        chat = self.setup_room()
        got = welcome(chat.join("bob", last_id=3))
        assert got["history"] == [msg(4, "alice", "m4"), msg(5, "alice", "m5")]
        assert got["truncated"] is False

    def test_last_id_up_to_date_gets_nothing(self):
        """A member who saw everything gets an empty history."""
        chat = self.setup_room()
        got = welcome(chat.join("bob", last_id=5))
        assert got["history"] == [] and got["truncated"] is False

    def test_last_id_zero_gets_everything(self):
        """last_id 0 asks for every message; all still kept, so not truncated."""
        chat = self.setup_room()
        got = welcome(chat.join("bob", last_id=0))
        assert len(got["history"]) == 5 and got["truncated"] is False

    def test_truncated_when_missed_messages_were_dropped(self):
        """If messages after last_id were pushed out of the ring, truncated is true."""
        chat = self.setup_room(history=2)  # keeps m4, m5; m3 was dropped
        got = welcome(chat.join("bob", last_id=2))
        assert [m["id"] for m in got["history"]] == [4, 5]
        assert got["truncated"] is True

    def test_not_truncated_when_only_older_messages_were_dropped(self):
        """Dropped messages the member already saw don't count."""
        chat = self.setup_room(history=2)  # dropped 1-3
        got = welcome(chat.join("bob", last_id=3))
        assert [m["id"] for m in got["history"]] == [4, 5]
        assert got["truncated"] is False

    def test_ids_used_elsewhere_do_not_make_it_truncated(self):
        """Gaps in a room's ids (whispers, other rooms) are not losses."""
        chat = self.setup_room(count=1)
        chat.join("bob", "kitchen")
        chat.say("bob", "elsewhere")  # id 2, in another room
        chat.send("c-bob", Whisper("alice", "psst"))  # id 3
        chat.say("alice", "m2")  # id 4
        got = welcome(chat.join("carol", last_id=1))
        assert [m["id"] for m in got["history"]] == [4]
        assert got["truncated"] is False

    def test_last_id_from_another_server(self):
        """A last_id beyond any issued id: all kept messages, truncated (state is unknown)."""
        chat = self.setup_room()
        got = welcome(chat.join("bob", last_id=999))
        assert len(got["history"]) == 5 and got["truncated"] is True

    def test_whispers_are_not_in_the_history(self):
        """Private messages are never kept."""
        chat = self.setup_room(count=0)
        chat.join("bob")
        chat.send("c-bob", Whisper("alice", "secret"))
        assert chat.state.history() == []
        assert welcome(chat.join("carol", last_id=0))["history"] == []

    def test_empty_room_keeps_its_history(self):
        """When everyone left, the room and its messages stay for who comes back."""
        chat = self.setup_room(count=2)
        chat.state.disconnect("c-alice")
        assert chat.state.rooms() == ["lobby"]
        assert chat.state.members() == []
        assert [m["id"] for m in welcome(chat.join("alice", last_id=1))["history"]] == [2]


class TestPresence:
    def test_joins_wait_for_the_flush(self):
        """A join is answered at once; the room hears of it only when the server flushes."""
        chat = Chat()
        chat.join("alice")
        assert [d.message["type"] for d in chat.enter("bob")] == ["welcome"]
        assert chat.state.pending
        assert chat.state.flush() == [Delivery(("c-alice", "c-bob"), changed(joined=["bob"]))]
        assert not chat.state.pending and chat.state.flush() == []

    def test_one_message_per_room_per_flush(self):
        """Joins and leaves since the last flush make ONE presence_changed per room."""
        chat = Chat()
        for nick in ("alice", "bob", "carol"):
            chat.join(nick)
        chat.join("dave", "kitchen")
        chat.state.disconnect("c-bob")
        chat.enter("erin")
        chat.enter("frank")
        chat.state.disconnect("c-dave")
        chat.enter("gina", "kitchen")
        assert chat.state.flush() == [
            Delivery(("c-gina",), changed("kitchen", joined=["gina"], left=["dave"])),
            Delivery(
                ("c-alice", "c-carol", "c-erin", "c-frank"),
                changed(joined=["erin", "frank"], left=["bob"]),
            ),
        ]

    def test_joined_is_in_order_of_arrival(self):
        """`joined` lists newcomers as they came: each finds who was there before it."""
        chat = Chat()
        for nick in ("zoe", "adam", "mia"):
            chat.enter(nick)
        [(_, message)] = chat.state.flush()
        assert message["joined"] == ["zoe", "adam", "mia"]

    def test_filling_a_room_costs_one_message_per_member_per_flush(self):
        """Filling a room of N, flushing after every k joins: N welcomes and about N^2/2k
        notices, where one notice per join would be N(N-1)/2."""
        chat = Chat()
        n, k = 60, 10
        deliveries = []
        for i in range(n):
            deliveries += chat.enter(f"m{i}")
            if (i + 1) % k == 0:
                deliveries += chat.state.flush()
        kinds = [d.message["type"] for d in deliveries]
        assert kinds.count("welcome") == n and kinds.count("presence_changed") == n // k
        sent = sum(len(d.to) for d in deliveries if d.message["type"] == "presence_changed")
        assert sent == sum(range(k, n + 1, k))  # 10 + 20 + ... + 60 = 210, not 1,770

    def test_came_and_went_within_a_batch_leaves_no_trace(self):
        """A member who joins and leaves between two flushes is in no list at all."""
        chat = Chat()
        chat.join("alice")
        chat.enter("ghost")
        chat.state.disconnect("c-ghost")
        assert chat.state.flush() == []
        chat.enter("ghost")
        chat.enter("bob")
        chat.state.disconnect("c-ghost")
        assert chat.state.flush() == [Delivery(("c-alice", "c-bob"), changed(joined=["bob"]))]

    def test_left_and_came_back_is_in_both_lists(self):
        """Gone and back between two flushes: left then joined, so clients forget its typing."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.send("c-bob", Typing(True))
        chat.state.disconnect("c-bob")
        assert welcome(chat.send("c-bob2", Join("bob")))["online"] == ["alice", "bob"]
        assert chat.state.flush() == [
            Delivery(("c-alice", "c-bob2"), changed(joined=["bob"], left=["bob"]))
        ]
        assert chat.state.typing() == []

    def test_the_welcome_lists_what_the_others_were_told_and_the_newcomer(self):
        """Between flushes the welcome is the room as its members know it, plus the newcomer:
        with the batch that follows, it makes the true list."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.state.disconnect("c-bob")
        chat.enter("carol")
        got = welcome(chat.enter("dave"))
        assert got["online"] == ["alice", "bob", "dave"]
        assert chat.state.members() == ["alice", "carol", "dave"]
        [(to, message)] = chat.state.flush()
        assert "c-dave" in to and message == changed(joined=["carol", "dave"], left=["bob"])

    def test_a_late_joiners_welcome_is_complete(self):
        """After a flush, a newcomer's welcome lists every member, sorted, itself included,
        whichever way the flush came (the timer, or a say that flushed the room first)."""
        chat = Chat()
        for nick in ("mia", "adam", "zoe"):
            chat.enter(nick)
        chat.state.flush()
        assert welcome(chat.enter("bob"))["online"] == ["adam", "bob", "mia", "zoe"]
        chat.say("bob", "hi")
        chat.state.disconnect("c-zoe")
        chat.state.flush()
        assert welcome(chat.enter("cat"))["online"] == ["adam", "bob", "cat", "mia"]

    def test_saying_something_tells_the_room_of_newcomers_first(self):
        """Nobody hears from a member it has not heard join: a say flushes its room first."""
        chat = Chat()
        chat.join("alice")
        chat.enter("bob")
        assert chat.say("bob", "hi") == [
            Delivery(("c-alice", "c-bob"), changed(joined=["bob"])),
            Delivery(("c-bob",), protocol.ack(1, None)),
            Delivery(("c-alice",), msg(1, "bob", "hi")),
        ]
        assert chat.state.flush() == []

    @pytest.mark.parametrize("message", [Typing(True), Whisper("alice", "x"), Who()])
    def test_anything_a_member_sends_flushes_its_room_first(self, message):
        """Typing, a whisper and a who also bring the sender's room up to date first."""
        chat = Chat()
        chat.join("alice")
        chat.enter("bob")
        deliveries = chat.send("c-bob", message)
        assert deliveries[0] == Delivery(("c-alice", "c-bob"), changed(joined=["bob"]))

    def test_leave_tells_the_others(self):
        """On disconnect the others hear 'left' at the next flush (and drop it from their list)."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.join("carol")
        assert chat.state.disconnect("c-bob") is None
        assert chat.state.members() == ["alice", "carol"]
        assert chat.state.flush() == [Delivery(("c-alice", "c-carol"), changed(left=["bob"]))]

    def test_last_one_out_tells_nobody(self):
        """No deliveries without recipients."""
        chat = Chat()
        chat.join("alice")
        chat.state.disconnect("c-alice")
        assert chat.state.flush() == []

    def test_disconnect_of_a_stranger_is_harmless(self):
        """A client that never joined (or already left) leaves nothing to do."""
        chat = Chat()
        chat.state.disconnect("nobody")
        assert not chat.state.pending
        chat.join("alice")
        chat.state.disconnect("c-alice")
        chat.state.flush()
        chat.state.disconnect("c-alice")
        assert not chat.state.pending

    def test_who(self):
        """who answers the sender only, with the room's presence."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        assert chat.send("c-alice", Who()) == [
            Delivery(("c-alice",), protocol.presence("lobby", ["alice", "bob"]))
        ]

    def test_members_of_an_unknown_room(self):
        """Queries about rooms nobody made answer empty."""
        state = ChatState()
        assert state.members("nowhere") == []
        assert state.history("nowhere") == []
        assert state.typing("nowhere") == []
        assert state.rooms() == []


class TestWhisper:
    def test_only_the_recipient_gets_it(self):
        """The recipient gets the private message, the sender an ack; nobody else anything."""
        chat = Chat()
        for nick in ("alice", "bob", "carol"):
            chat.join(nick)
        assert chat.send("c-alice", Whisper("bob", "psst", "c2")) == [
            Delivery(("c-alice",), protocol.ack(1, "c2")),
            Delivery(("c-bob",), protocol.private(1, "alice", "bob", "psst")),
        ]

    def test_whispers_cross_rooms(self):
        """Nicks are server-wide, so a whisper reaches a member in another room."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob", "kitchen")
        deliveries = chat.send("c-alice", Whisper("bob", "psst"))
        assert deliveries[1] == Delivery(("c-bob",), protocol.private(1, "alice", "bob", "psst"))

    def test_no_such_user(self):
        """A whisper to a nick nobody has gets no_such_user and uses no id."""
        chat = Chat()
        chat.join("alice")
        deliveries = chat.send("c-alice", Whisper("ghost", "boo"))
        assert codes(deliveries) == ["no_such_user"]
        assert "'ghost'" in deliveries[0].message["reason"]
        assert chat.state.last_id == 0

    def test_whisper_to_oneself(self):
        """Whispering to yourself is allowed: you are the recipient, and get the ack too."""
        chat = Chat()
        chat.join("alice")
        assert [d.message["type"] for d in chat.send("c-alice", Whisper("alice", "note"))] == [
            "ack",
            "private",
        ]


class TestTyping:
    def test_typing_goes_to_the_others_only(self):
        """A typing change is announced to the others in the room, not to the typist."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.join("carol", "kitchen")
        assert chat.send("c-alice", Typing(True)) == [
            Delivery(("c-bob",), protocol.typing("alice", True))
        ]
        assert chat.state.typing() == ["alice"]
        assert chat.send("c-alice", Typing(False)) == [
            Delivery(("c-bob",), protocol.typing("alice", False))
        ]
        assert chat.state.typing() == []

    def test_repeats_are_not_announced(self):
        """typing true twice announces once; false when not typing announces nothing."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        assert chat.send("c-alice", Typing(False)) == []
        assert len(chat.send("c-alice", Typing(True))) == 1
        assert chat.send("c-alice", Typing(True)) == []

    def test_saying_ends_typing_silently(self):
        """A message ends its sender's typing; clients infer it, no typing:false is sent."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.send("c-alice", Typing(True))
        deliveries = chat.say("alice", "done")
        assert [d.message["type"] for d in deliveries] == ["ack", "message"]
        assert chat.state.typing() == []

    def test_leaving_ends_typing(self):
        """A member who leaves is no longer typing."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.send("c-alice", Typing(True))
        chat.state.disconnect("c-alice")
        assert chat.state.typing() == []

    def test_typing_alone_tells_nobody(self):
        """With no one else in the room there is nothing to deliver, but the state changes."""
        chat = Chat()
        chat.join("alice")
        assert chat.send("c-alice", Typing(True)) == []
        assert chat.state.typing() == ["alice"]


class TestRoomSwitch:
    def test_second_join_moves_the_member(self):
        """Old room: left; new room: joined; the mover: a welcome with the new room's list."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.join("carol", "kitchen")
        chat.say("carol", "in the kitchen")
        deliveries = chat.join("alice", "kitchen")
        assert deliveries == [
            Delivery(
                ("c-alice",),
                protocol.welcome(
                    "alice",
                    "kitchen",
                    ["alice", "carol"],
                    [msg(1, "carol", "in the kitchen", "kitchen")],
                    False,
                ),
            ),
            Delivery(("c-alice", "c-carol"), changed("kitchen", joined=["alice"])),
            Delivery(("c-bob",), changed(left=["alice"])),
        ]
        assert chat.state.members() == ["bob"]
        assert chat.state.members("kitchen") == ["alice", "carol"]
        assert chat.state.rooms() == ["kitchen", "lobby"]

    def test_after_moving_messages_go_to_the_new_room(self):
        """Once moved, the member's messages reach the new room only."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.join("carol", "kitchen")
        chat.join("alice", "kitchen")
        assert chat.say("alice", "hi")[1] == Delivery(
            ("c-carol",), msg(1, "alice", "hi", "kitchen")
        )

    def test_moving_clears_typing_in_the_old_room(self):
        """Typing does not follow a member to another room."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.send("c-alice", Typing(True))
        chat.join("alice", "kitchen")
        assert chat.state.typing() == [] and chat.state.typing("kitchen") == []

    def test_join_to_the_same_room_resends_the_welcome_only(self):
        """A second join to the current room is answered with a welcome, and nobody else hears."""
        chat = Chat()
        chat.join("alice")
        chat.join("bob")
        chat.say("bob", "one")
        chat.say("bob", "two")
        deliveries = chat.join("alice", last_id=1)
        assert deliveries == [
            Delivery(
                ("c-alice",),
                protocol.welcome("alice", "lobby", ["alice", "bob"], [msg(2, "bob", "two")], False),
            )
        ]

    def test_the_nick_cannot_change(self):
        """A second join with another nick is refused; the member stays as it was."""
        chat = Chat()
        chat.join("alice")
        deliveries = chat.send("c-alice", Join("mallory", "kitchen"))
        assert codes(deliveries) == ["bad_message"]
        assert "'alice'" in deliveries[0].message["reason"]
        assert chat.state.members() == ["alice"] and chat.state.nick("c-alice") == "alice"


class TestRoomLimit:
    def test_an_empty_room_is_forgotten_to_make_space(self):
        """With max_rooms reached, the room empty for the longest is forgotten."""
        chat = Chat(max_rooms=3)
        for nick, room in [("a", "r1"), ("b", "r2"), ("c", "r3")]:
            chat.join(nick, room)
        chat.state.disconnect("c-b")  # r2 empty first
        chat.state.disconnect("c-c")  # then r3
        chat.join("d", "r4")
        assert chat.state.rooms() == ["r1", "r3", "r4"]

    def test_no_new_room_when_all_are_in_use(self):
        """If every room has members, a new room is refused and the mover stays put."""
        chat = Chat(max_rooms=2)
        chat.join("a", "r1")
        chat.join("b", "r2")
        deliveries = chat.send("c-a", Join("a", "r3"))
        assert codes(deliveries) == ["bad_message"]
        assert chat.state.members("r1") == ["a"]
        outcome = chat.state.receive("c-c", Join("c", "r3"))
        assert codes(outcome.deliveries) == ["bad_message"] and outcome.close is None


# --- the property: every member's own list is the true one after each flush ------------------

NICKS = ["ann", "ben", "cat", "dan"]
ROOMS = ["lobby", "den"]
#: join(nick, room) by a new connection or by the member's own (a move), leave(nick), flush.
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("join"), st.sampled_from(NICKS), st.sampled_from(ROOMS)),
        st.tuples(st.just("leave"), st.sampled_from(NICKS), st.just("")),
        st.tuples(st.just("who"), st.sampled_from(NICKS), st.just("")),
        st.tuples(st.just("flush"), st.just(""), st.just("")),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(STEPS)
def test_welcome_plus_changes_always_make_the_true_member_list(steps):
    """Over any joins, moves, leaves, whos and flushes, each member's list (its welcome's, then
    each presence_changed or presence applied in order) equals the room's after a flush; no
    batch ever names someone who came and went in between (a phantom)."""
    state = ChatState()
    lists: dict[str, set[str]] = {}  # client -> the list it keeps
    room_of: dict[str, str] = {}  # nick -> its room
    serial = iter(range(1, 10_000))
    told: dict[str, set[str]] = {room: set() for room in ROOMS}  # the list at the last flush

    def apply(deliveries):
        for to, message in deliveries:
            for client in to:
                if message["type"] == "welcome":
                    assert message["online"] == sorted(set(message["online"]))  # no repeats
                    lists[client] = set(message["online"])
                elif message["type"] == "presence":
                    lists[client] = set(message["online"])
                elif message["type"] == "presence_changed":
                    named = set(message["left"]) | set(message["joined"])
                    # Someone the room was told of, or a member now: never a phantom.
                    assert named <= told[message["room"]] | set(state.members(message["room"]))
                    lists[client] = (lists[client] - set(message["left"])) | set(message["joined"])

    def check():
        for room in ROOMS:
            for nick in state.members(room):
                assert lists[state.client(nick)] == set(state.members(room))
            told[room] = set(state.members(room))

    for kind, nick, room in steps:
        if kind == "flush":
            apply(state.flush())
            check()
            continue
        client = state.client(nick)
        if kind == "join":
            if client is None:
                client = f"{nick}#{next(serial)}"
            outcome = state.receive(client, Join(nick, room))
            assert outcome.close is None
            apply(outcome.deliveries)
            room_of[nick] = room
        elif client is not None and kind == "leave":
            state.disconnect(client)
        elif client is not None:  # who: flushes the member's room, then the whole list
            apply(state.receive(client, Who()).deliveries)
            told[room_of[nick]] = set(state.members(room_of[nick]))
            assert lists[client] == told[room_of[nick]]
    apply(state.flush())
    check()
