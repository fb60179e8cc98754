"""wslab.plots.timeline: which records are messages, where two directions overlap, the drawing."""

from __future__ import annotations

import asyncio
import http.client
import io
import time

import matplotlib
import pytest
from matplotlib.figure import Figure

import wslab
from wslab import protocol
from wslab._wire import CLIENT_TO_SERVER as C
from wslab._wire import SERVER_TO_CLIENT as S
from wslab._wire import WireRecord
from wslab.plots.timeline import (
    SHADE_GID,
    TICK_GID,
    duplex_timeline,
    is_message,
    messages,
    overlap,
    overlap_intervals,
)

matplotlib.use("Agg")  # no display in tests; the module itself never touches pyplot


def frame(
    t: float, direction: str, opcode: int = protocol.Opcode.TEXT, fin: bool = True, conn: int = 1
) -> WireRecord:
    return WireRecord(
        seq=0, conn=conn, t=t, direction=direction, kind="frame", size=7, opcode=opcode, fin=fin
    )


def head(t: float, direction: str, start_line: str, **headers: str) -> WireRecord:
    return WireRecord(
        seq=0,
        conn=1,
        t=t,
        direction=direction,
        kind="http",
        size=100,
        start_line=start_line,
        headers=protocol.Headers(list(headers.items())),
    )


def numbered(*records: WireRecord) -> list[WireRecord]:
    """Give synthetic records the arrival numbers a tap would."""
    return [r.numbered(n) for n, r in enumerate(records, 1)]


def assert_intervals(records: list[WireRecord], expected: list[tuple[float, float]]) -> None:
    found = overlap_intervals(records)
    assert len(found) == len(expected)
    assert [t for pair in found for t in pair] == pytest.approx([t for p in expected for t in p])


def wire(pattern: str, step: float = 0.010) -> list[WireRecord]:
    """Text frames from a pattern such as 'CSSC': one letter per message, `step` s apart."""
    return numbered(*(frame(i * step, C if ch == "C" else S) for i, ch in enumerate(pattern)))


# --- which records are messages ------------------------------------------------------------


def test_data_frames_that_end_a_message_are_messages():
    """Text, binary and the last continuation frame count; control frames and non-final
    fragments do not."""
    assert is_message(frame(0, C, protocol.Opcode.TEXT))
    assert is_message(frame(0, C, protocol.Opcode.BINARY))
    assert is_message(frame(0, C, protocol.Opcode.CONT, fin=True))
    assert not is_message(frame(0, C, protocol.Opcode.TEXT, fin=False))
    for control in (protocol.Opcode.PING, protocol.Opcode.PONG, protocol.Opcode.CLOSE):
        assert not is_message(frame(0, C, control))


def test_http_heads_are_messages_except_the_websocket_handshake():
    """A GET and its 200 count; an upgrade request and its 101 answer do not."""
    assert is_message(head(0, C, "GET /echo HTTP/1.1", Host="x"))
    assert is_message(head(0, S, "HTTP/1.1 200 OK", **{"Content-Length": "0"}))
    assert not is_message(head(0, C, "GET / HTTP/1.1", Upgrade="websocket"))
    assert not is_message(head(0, S, "HTTP/1.1 101 Switching Protocols", Upgrade="websocket"))
    assert not is_message(WireRecord(seq=1, conn=1, t=0, direction=C, kind="bytes", size=3))


def test_messages_are_sorted_by_time_then_arrival():
    """Records given out of order come back in the order they crossed the tap."""
    a, b, c = numbered(frame(0.2, C), frame(0.1, S), frame(0.1, C))
    assert messages([a, b, c]) == [b, c, a]


def test_records_of_several_connections_are_refused():
    """Directions of two connections say nothing about each other: ValueError."""
    with pytest.raises(ValueError, match="conn=1"):
        messages([frame(0, C, conn=1), frame(0, S, conn=2)])


# --- overlap -------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["", "C", "CS", "CSCSCS", "SCSCSC", "CCCSSS", "SSSS"])
def test_turn_taking_has_no_overlap(pattern):
    """Alternation, pipelining and one side alone never overlap."""
    records = wire(pattern)
    assert overlap_intervals(records) == []
    assert overlap(records) == 0.0


def test_two_messages_between_two_of_the_other_side_overlap():
    """C S S C: the stretch between the two client messages overlaps, exactly."""
    records = wire("CSSC")
    assert_intervals(records, [(0.0, 0.030)])
    assert overlap(records) == pytest.approx(0.030)


def test_a_run_at_the_end_is_not_overlap():
    """C S C S S: the closing S S is not framed by two client messages, so nothing overlaps."""
    assert overlap_intervals(wire("CSCSS")) == []


def test_stretches_that_touch_are_merged():
    """C S S C S S C: two stretches sharing the middle C make one interval."""
    assert_intervals(wire("CSSCSSC"), [(0.0, 0.060)])


def test_separate_stretches_stay_separate():
    """Overlap, then turn-taking, then overlap again: two intervals and their total."""
    records = wire("CSSCSCSCSSC")
    assert_intervals(records, [(0.0, 0.030), (0.070, 0.100)])
    assert overlap(records) == pytest.approx(0.060)


def test_either_side_can_be_the_one_that_keeps_talking():
    """S C C S overlaps just like C S S C."""
    assert_intervals(wire("SCCS"), [(0.0, 0.030)])


def test_control_frames_and_handshake_do_not_create_overlap():
    """Pings, pongs, closes and the handshake between two messages are not messages."""
    records = numbered(
        head(0.000, C, "GET / HTTP/1.1", Upgrade="websocket"),
        head(0.001, S, "HTTP/1.1 101 Switching Protocols", Upgrade="websocket"),
        frame(0.002, C),
        frame(0.003, S, protocol.Opcode.PING),
        frame(0.004, S, protocol.Opcode.PONG),
        frame(0.005, S),
        frame(0.006, C),
        frame(0.007, C, protocol.Opcode.CLOSE),
        frame(0.008, S, protocol.Opcode.CLOSE),
    )
    assert overlap(records) == 0.0


def test_fragmented_message_counts_once():
    """A server message in three fragments between two client messages is one answer."""
    records = numbered(
        frame(0.00, C),
        frame(0.01, S, protocol.Opcode.TEXT, fin=False),
        frame(0.02, S, protocol.Opcode.CONT, fin=False),
        frame(0.03, S, protocol.Opcode.CONT, fin=True),
        frame(0.04, C),
    )
    assert overlap(records) == 0.0


def test_http_request_response_has_no_overlap():
    """Heads of sequential keep-alive requests alternate: no overlap."""
    records = numbered(
        *(
            head(
                0.01 * i,
                C if i % 2 == 0 else S,
                "GET /echo HTTP/1.1" if i % 2 == 0 else "HTTP/1.1 200 OK",
            )
            for i in range(8)
        )
    )
    assert len(messages(records)) == 8
    assert overlap(records) == 0.0


# --- drawing -------------------------------------------------------------------------------


def gids(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def test_timeline_draws_two_lanes_ticks_and_shading():
    """One tick line per direction with one marker per message, one shaded span per interval."""
    records = wire("CSSCSCSCSSC")
    fig = duplex_timeline(records, title="demo")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert [t.get_text() for t in ax.get_yticklabels()] == [C, S]
    ticks = {line.get_label().split(":")[0]: line for line in gids(ax, TICK_GID)}
    assert len(ticks[C].get_xdata()) == 5 and len(ticks[S].get_xdata()) == 6
    assert list(ticks[C].get_xdata()) == pytest.approx([0, 30, 50, 70, 100])  # ms from the first
    assert len(gids(ax, SHADE_GID)) == 2
    assert ax.get_title() == "demo"
    fig.savefig(io.BytesIO(), format="png")  # renders without error


def test_timeline_into_a_given_axes():
    """With ax, the timeline goes there and that Axes' figure is returned."""
    fig = Figure()
    ax = fig.add_subplot()
    assert duplex_timeline(wire("CSCS"), ax=ax) is fig
    assert gids(ax, SHADE_GID) == []


@pytest.mark.parametrize("longer_first", [True, False], ids=["longer first", "shorter first"])
def test_timelines_on_a_shared_x_axis_show_every_message(longer_first):
    """Two timelines on Axes sharing x: each Axes' view holds all of its own ticks, whichever
    timeline was drawn last (a shorter one must not clip the longer one's lane)."""
    longer, shorter = wire("CSSSCSSSSSSSSC", step=0.025), wire("CSCSCSCS", step=0.010)
    fig = Figure()
    top, bottom = fig.subplots(2, 1, sharex=True)
    pairs = [(top, longer), (bottom, shorter)]
    for ax, records in pairs if longer_first else reversed(pairs):
        duplex_timeline(records, ax=ax)
    for ax, records in pairs:
        low, high = ax.get_xlim()
        drawn = [x for line in gids(ax, TICK_GID) for x in line.get_xdata()]
        assert len(drawn) == len(records)
        assert low < min(drawn) and max(drawn) < high


def test_timeline_of_nothing_says_so():
    """No messages: an empty timeline with a note, not an error."""
    fig = duplex_timeline([])
    assert [t.get_text() for t in fig.axes[0].texts] == ["no messages to draw"]


# --- real captures -------------------------------------------------------------------------


def test_real_websocket_streams_overlap_and_http_does_not():
    """A server streaming while the client streams overlaps; sequential HTTP requests do not."""

    async def duplex(websocket):
        for n in range(8):
            await websocket.send(f"server {n}")
            await asyncio.sleep(0.01)
        async for _ in websocket:
            pass

    server = wslab.serve(duplex)
    tap = wslab.tap(server)
    with wslab.connect(tap.url) as client:
        for n in range(3):
            client.send(f"client {n}")
            time.sleep(0.035)  # pacing: about three server messages between two of ours
        assert [client.recv() for _ in range(8)] == [f"server {n}" for n in range(8)]
    records = tap.wait_for(3 + 8, conn=1, http=False)
    assert overlap(records) > 0

    web = wslab.http_server(interval=None)
    web_tap = wslab.tap(web, name="web_tap")
    connection = http.client.HTTPConnection(web_tap.host, web_tap.port, timeout=5)
    try:
        for n in range(4):
            connection.request("GET", f"/echo?msg={n}")
            assert connection.getresponse().read() == str(n).encode()
    finally:
        connection.close()
    http_records = web_tap.wait_for(8, conn=1)
    assert [r.direction for r in messages(http_records)] == [C, S] * 4
    assert overlap(http_records) == 0.0
    fig = duplex_timeline(records)
    assert len(gids(fig.axes[0], SHADE_GID)) >= 1
