"""One node's state machine, without sockets or Redis."""

from wslab.channels import protocol
from wslab.channels.auth import App, sign_subscription
from wslab.channels.state import ChannelState, Fetch, Leave, Publish

APP = App()


def connected(state, *clients):
    for client in clients:
        state.connect(client)


def subscribe(state, client, channel, **fields):
    outcome = state.receive(client, protocol.Subscribe(channel, **fields))
    (fetch,) = [a for a in outcome.actions if isinstance(a, Fetch)]
    return fetch


def envelope(channel, n, data=None, exclude=None):
    return {"channel": channel, "event": "e", "data": data, "id": f"{n}-0", "exclude": exclude}


def test_events_relayed_while_pending_come_after_the_history_once_each():
    """History and live events may overlap; each id is delivered once, in order."""
    state = ChannelState(APP)
    connected(state, "a")
    subscribe(state, "a", "news", since="1-0")
    assert state.from_broker(envelope("news", 3)) == []  # pending: queued
    deliveries = state.subscribed("a", "news", [envelope("news", 2), envelope("news", 3)], "3-0")
    ids = [d.message.get("id") for d in deliveries]
    assert ids == [None, "2-0", "3-0"]  # subscribed, then 2 and 3 once
    assert state.from_broker(envelope("news", 3)) == []
    assert [d.message["id"] for d in state.from_broker(envelope("news", 4))] == ["4-0"]


def test_without_since_a_subscription_starts_at_the_channel_position():
    """A fresh subscriber gets events after the position it was told, not older ones."""
    state = ChannelState(APP)
    connected(state, "a")
    subscribe(state, "a", "news")
    (reply,) = state.subscribed("a", "news", [], "5-0")
    assert reply.message == {"event": "subscribed", "channel": "news", "position": "5-0"}
    assert state.from_broker(envelope("news", 5)) == []
    assert len(state.from_broker(envelope("news", 6))) == 1


def test_a_private_channel_needs_this_sockets_signature():
    """Another socket's signature is refused with unauthorized; its own is accepted."""
    state = ChannelState(APP)
    connected(state, "a", "b")
    theirs = sign_subscription(APP, state.socket_id("b"), "private-x")
    (refused,) = state.receive("a", protocol.Subscribe("private-x", auth=theirs)).deliveries
    assert refused.message["code"] == "unauthorized"
    mine = sign_subscription(APP, state.socket_id("a"), "private-x")
    assert subscribe(state, "a", "private-x", auth=mine).channel == "private-x"


def test_client_events_go_through_the_broker_and_skip_the_sender():
    """A client event becomes a Publish excluding the sender; public channels refuse it."""
    state = ChannelState(APP)
    connected(state, "a", "b")
    for client in "ab":
        auth = sign_subscription(APP, state.socket_id(client), "private-x")
        subscribe(state, client, "private-x", auth=auth)
        state.subscribed(client, "private-x", [], None)
    outcome = state.receive("a", protocol.ClientEvent("private-x", "client-hi", 1))
    assert outcome.actions == [Publish("private-x", "client-hi", 1, state.socket_id("a"))]
    relayed = state.from_broker(envelope("private-x", 1, 1, exclude=state.socket_id("a")))
    assert [d.to for d in relayed] == [("b",)]
    (refused,) = state.receive("a", protocol.ClientEvent("news", "client-hi")).deliveries
    assert refused.message["code"] == "client_events_forbidden"


def test_a_presence_member_leaving_is_an_action_for_the_broker():
    """Disconnecting a presence member asks the broker to remove it."""
    state = ChannelState(APP)
    connected(state, "a")
    data = '{"user_id":"ann"}'
    auth = sign_subscription(APP, state.socket_id("a"), "presence-x", data)
    fetch = subscribe(state, "a", "presence-x", auth=auth, channel_data=data)
    assert fetch.member == ("ann", None)
    assert state.disconnect("a").actions == [Leave("presence-x", fetch.socket_id, "ann")]
    assert state.channels() == []
