"""Engine.IO 4 / Socket.IO 5 packets, sans I/O: the examples of the protocols' own specs.

Vectors are the examples of socket.io-protocol (v5) and engine.io-protocol (v4), written out;
the live bytes of python-socketio are checked in test_wire.py.
"""

from __future__ import annotations

import hypothesis
import hypothesis.strategies as st
import pytest

from wslab.socketio.packets import (
    EnginePacket,
    EngineType,
    PacketError,
    SocketPacket,
    SocketType,
    encode_engine,
    encode_payload,
    encode_socket,
    explain,
    parse_engine,
    parse_payload,
    parse_socket,
)


class TestEngine:
    def test_type_is_the_first_character(self):
        """`2` is a ping, `3probe` a pong with data, `4hello` a message (engine.io-protocol)."""
        assert parse_engine("2") == EnginePacket(EngineType.PING)
        assert parse_engine("3probe") == EnginePacket(EngineType.PONG, "probe")
        assert parse_engine("4hello") == EnginePacket(EngineType.MESSAGE, "hello")

    def test_a_binary_websocket_message_is_message_data(self):
        """Over WebSocket, binary data is a binary message with no type prefix."""
        assert parse_engine(b"\x01\x02") == EnginePacket(EngineType.MESSAGE, b"\x01\x02")

    def test_polling_payload_is_split_on_record_separators(self):
        """A polling body holds packets separated by \\x1e; binary data is base64 after 'b'."""
        body = "4hello\x1e2\x1ebAQIDBA=="
        assert parse_payload(body.encode()) == [
            EnginePacket(EngineType.MESSAGE, "hello"),
            EnginePacket(EngineType.PING),
            EnginePacket(EngineType.MESSAGE, b"\x01\x02\x03\x04"),
        ]
        assert encode_payload(parse_payload(body)) == body

    def test_encode_is_the_inverse_of_parse(self):
        """Every packet type encodes back to the text it was parsed from."""
        for text in ["0{}", "1", "2", "3probe", "4x", "5", "6"]:
            assert encode_engine(parse_engine(text)) == text

    @pytest.mark.parametrize("text", ["", "7", "x", "babc!"])
    def test_invalid_packets_are_refused(self, text):
        """Empty text, unknown types and invalid base64 raise PacketError."""
        with pytest.raises(PacketError):
            parse_engine(text)


class TestSocket:
    @pytest.mark.parametrize(
        "text, packet",
        [
            ("0", SocketPacket(SocketType.CONNECT)),
            ("0/admin,{}", SocketPacket(SocketType.CONNECT, "/admin", data={})),
            ('0{"token":"123"}', SocketPacket(SocketType.CONNECT, data={"token": "123"})),
            ("1/admin,", SocketPacket(SocketType.DISCONNECT, "/admin")),
            ('2["hello",1]', SocketPacket(SocketType.EVENT, data=["hello", 1])),
            ('2/admin,456["project:delete",123]',
             SocketPacket(SocketType.EVENT, "/admin", 456, ["project:delete", 123])),
            ("3/admin,456[]", SocketPacket(SocketType.ACK, "/admin", 456, [])),
            ('4{"message":"Not authorized"}',
             SocketPacket(SocketType.CONNECT_ERROR, data={"message": "Not authorized"})),
            ('51-["hello",{"_placeholder":true,"num":0}]',
             SocketPacket(SocketType.BINARY_EVENT, data=["hello", {"_placeholder": True, "num": 0}],
                          attachments=1)),
            ('61-/admin,456[{"_placeholder":true,"num":0}]',
             SocketPacket(SocketType.BINARY_ACK, "/admin", 456,
                          [{"_placeholder": True, "num": 0}], 1)),
        ],
    )  # fmt: skip
    def test_spec_examples(self, text, packet):
        """The examples of socket.io-protocol v5 parse to their parts and encode back."""
        assert parse_socket(text) == packet
        assert encode_socket(packet) == text

    @pytest.mark.parametrize(
        "text", ["", "9", '2{"a":1}', "2[1]", "3[1]", "31", "2[", "5[]", "5x-[]", "0NaN"]
    )
    def test_invalid_packets_are_refused(self, text):
        """Unknown types, events without a name, acks without an id or list, bad JSON."""
        with pytest.raises(PacketError):
            parse_socket(text)


class TestExplain:
    def test_open_packet_names_its_settings(self):
        """The open packet's explanation gives the ping interval, timeout and upgrades."""
        line = explain(parse_engine('0{"sid":"x","upgrades":["websocket"],'
                                    '"pingInterval":25000,"pingTimeout":20000}'))  # fmt: skip
        assert "25000 ms" in line and "20000 ms" in line and "websocket" in line

    def test_probe_and_upgrade_are_told_apart_from_ping(self):
        """2probe/3probe/5 are the upgrade's steps; a bare 2 is a heartbeat."""
        lines = [explain(parse_engine(t)) for t in ["2probe", "3probe", "5", "2", "3"]]
        assert [("upgrade step" in line) for line in lines] == [True, True, True, False, False]

    def test_socket_packets_inside_messages(self):
        """A message's Socket.IO packet is explained: event name, ack id, namespace."""
        assert "'chat message'" in explain(parse_engine('42["chat message","hi"]'))
        assert "wants ack 7" in explain(parse_engine('427["add",1,2]'))
        assert "ack 7" in explain(parse_engine("437[3]"))
        assert "/admin" in explain(parse_engine("40/admin,"))

    def test_message_that_is_not_socketio_is_said_so(self):
        """A message whose data is not a Socket.IO packet is named as such, not hidden."""
        assert "not Socket.IO" in explain(parse_engine("4hello"))


class TestAnyInput:
    """Whatever arrives, the decoder answers with a packet or a PacketError, never a crash."""

    @hypothesis.given(st.text(max_size=60) | st.binary(max_size=60))
    def test_any_body_parses_or_is_refused(self, body):
        """A polling body that is not Engine.IO raises PacketError; one that is gets explained."""
        try:
            found = parse_payload(body)
        except PacketError:
            return
        for packet in found:
            assert isinstance(explain(packet), str)

    @hypothesis.given(st.sampled_from("0123456"), st.text(max_size=40))
    def test_any_socket_packet_parses_or_is_refused(self, kind, rest):
        """Any type digit followed by anything: a SocketPacket that encodes back, or PacketError."""
        try:
            packet = parse_socket(kind + rest)
        except PacketError:
            return
        assert parse_socket(encode_socket(packet)) == packet
