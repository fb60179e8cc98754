"""The channel protocol: what parses, and the error code for what does not."""

import pytest

from wslab.channels import protocol
from wslab.channels.protocol import ChannelError, Kind


@pytest.mark.parametrize(
    "frame, message",
    [
        ('{"event":"ping"}', protocol.Ping()),
        ('{"event":"subscribe","channel":"news"}', protocol.Subscribe("news")),
        (
            '{"event":"subscribe","channel":"news","since":"17-0"}',
            protocol.Subscribe("news", since="17-0"),
        ),
        ('{"event":"unsubscribe","channel":"news"}', protocol.Unsubscribe("news")),
        (
            '{"event":"client-typing","channel":"private-x","data":{"on":true}}',
            protocol.ClientEvent("private-x", "client-typing", {"on": True}),
        ),
    ],
)
def test_valid_frames_parse_to_their_events(frame, message):
    """Each documented client message parses to its event."""
    assert protocol.parse(frame) == message


@pytest.mark.parametrize(
    "frame, code",
    [
        (b'{"event":"ping"}', "bad_message"),  # binary frame
        ("{not json", "bad_message"),
        ("[1, 2]", "bad_message"),
        ('{"event":"publish","channel":"news"}', "bad_message"),
        ('{"event":"subscribe"}', "bad_channel"),
        ('{"event":"subscribe","channel":"a b"}', "bad_channel"),
        ('{"event":"subscribe","channel":"news","since":"yesterday"}', "bad_message"),
        ('{"event":"subscribe","channel":"private-x","auth":42}', "bad_message"),
        ("x" * (protocol.MAX_MESSAGE + 1), "bad_message"),
    ],
)
def test_bad_frames_are_refused_with_a_code(frame, code):
    """Anything else raises ChannelError with the code the client receives."""
    with pytest.raises(ChannelError) as refused:
        protocol.parse(frame)
    assert refused.value.code == code


def test_channel_kinds_come_from_the_prefix():
    """private-* and presence-* are what they say; everything else is public."""
    kinds = [protocol.kind_of(c) for c in ("news", "private-x", "presence-x", "privatex")]
    assert kinds == [Kind.PUBLIC, Kind.PRIVATE, Kind.PRESENCE, Kind.PUBLIC]


def test_event_ids_order_numerically():
    """Stream ids compare as numbers: 9-0 < 10-0 < 10-1."""
    assert protocol.id_key("9-0") < protocol.id_key("10-0") < protocol.id_key("10-1")
