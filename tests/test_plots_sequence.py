"""Tests of `wslab.plots.sequence`, drawn from real tap records of real exchanges."""

from __future__ import annotations

import random
from http.client import HTTPConnection

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 -- after choosing the backend
import pytest  # noqa: E402

import wslab  # noqa: E402
from wslab._wire import CLIENT_TO_SERVER, SERVER_TO_CLIENT, WireTable  # noqa: E402
from wslab.plots.sequence import (  # noqa: E402
    ARROW_GID,
    CLIENT_X,
    LABEL_GID,
    NOTE_GID,
    SERVER_X,
    message_label,
    sequence_diagram,
)

TIMEOUT = 5.0


# --- helpers -------------------------------------------------------------------------------


def arrows(ax):
    return [t for t in ax.texts if t.get_gid() == ARROW_GID]


def labels(ax):
    return [t for t in ax.texts if t.get_gid() == LABEL_GID]


def notes(ax):
    return [t.get_text() for t in ax.texts if t.get_gid() == NOTE_GID]


def http_exchange(paths_per_connection: list[list[str]]):
    """GET each path through a tap in front of a real http_server; return the tap's records."""
    srv = wslab.http_server("test-seq-http", interval=None)
    tap = wslab.tap(srv, name="test-seq-tap")
    for paths in paths_per_connection:
        conn = HTTPConnection(tap.host, tap.port, timeout=TIMEOUT)
        try:
            for path in paths:
                conn.request("GET", path)
                conn.getresponse().read()
        finally:
            conn.close()
    count = 2 * sum(len(paths) for paths in paths_per_connection)
    return tap.wait_for(count, timeout=TIMEOUT)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def records():
    """Three requests on one keep-alive connection: six HTTP records."""
    try:
        return http_exchange([["/", "/echo?msg=hi", "/events?since=0"]])
    finally:
        wslab.stop_all()


# --- tests ---------------------------------------------------------------------------------


def test_one_arrow_and_one_label_per_record(records):
    """Each record is drawn as exactly one arrow with exactly one label."""
    fig = sequence_diagram(records)
    (ax,) = fig.axes
    assert len(records) == 6
    assert len(arrows(ax)) == len(labels(ax)) == len(records)
    assert notes(ax) == []


def test_arrows_sit_at_recorded_times_in_order(records):
    """Arrows are drawn in time order, each at its record's time in milliseconds."""
    shuffled = list(records)
    random.Random(1).shuffle(shuffled)
    (ax,) = sequence_diagram(shuffled).axes
    heights = [arrow.xy[1] for arrow in arrows(ax)]
    assert heights == sorted(r.t * 1000 for r in records)
    assert heights == sorted(heights)


def test_time_flows_downward(records):
    """The time axis is inverted: later records are lower on the page."""
    (ax,) = sequence_diagram(records).axes
    top, bottom = ax.get_ylim()[1], ax.get_ylim()[0]
    assert top < bottom
    assert top <= records[0].t * 1000 and records[-1].t * 1000 <= bottom


def test_directions_are_drawn_the_right_way(records):
    """C→S arrows run from the client's lifeline to the server's; S→C arrows the other way."""
    (ax,) = sequence_diagram(records).axes
    ordered = sorted(records, key=lambda r: (r.t, r.seq))
    directions = [r.direction for r in ordered]
    assert directions == [CLIENT_TO_SERVER, SERVER_TO_CLIENT] * 3
    for record, arrow in zip(ordered, arrows(ax), strict=True):
        tail, head = arrow.xyann[0], arrow.xy[0]
        if record.direction == CLIENT_TO_SERVER:
            assert (tail, head) == (CLIENT_X, SERVER_X)
        else:
            assert (tail, head) == (SERVER_X, CLIENT_X)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["client", "server"]


def test_labels_name_the_start_line_and_size(records):
    """HTTP labels show the start line and the size on the wire, in time order."""
    (ax,) = sequence_diagram(records).axes
    texts = [label.get_text() for label in labels(ax)]
    assert texts[0] == f"GET / HTTP/1.1 · {records[0].size} B"
    assert texts[1] == f"HTTP/1.1 200 OK · {records[1].size} B"
    assert texts == [message_label(r) for r in sorted(records, key=lambda r: (r.t, r.seq))]


def test_labels_keep_their_order_and_do_not_overlap(records):
    """Labels go down the page in the order of their arrows, never above their own arrow."""
    (ax,) = sequence_diagram(records).axes
    ys = [label.get_position()[1] for label in labels(ax)]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    for arrow, y in zip(arrows(ax), ys, strict=True):
        assert y >= arrow.xy[1]


def test_empty_table_gives_a_figure_with_a_note():
    """An empty table still returns a Figure, with lifelines and a note instead of arrows."""
    fig = sequence_diagram(WireTable(), title="nothing yet")
    (ax,) = fig.axes
    assert arrows(ax) == [] and labels(ax) == []
    assert notes(ax) == ["no records to draw"]
    assert ax.get_title() == "nothing yet"


def test_max_messages_draws_the_earliest_and_says_how_many_are_left(records):
    """With max_messages=4 the four earliest records are drawn and a note counts the rest."""
    (ax,) = sequence_diagram(records, max_messages=4).axes
    assert [a.xy[1] for a in arrows(ax)] == sorted(r.t * 1000 for r in records)[:4]
    assert notes(ax) == ["… 2 more not shown"]


def test_draws_into_a_given_axes():
    """Given an Axes, the diagram is drawn there and that Axes' figure is returned."""
    records = http_exchange([["/"]])
    fig, (left, right) = plt.subplots(1, 2)
    assert sequence_diagram(records, ax=right) is fig
    assert arrows(left) == [] and len(arrows(right)) == 2


def test_several_connections_are_told_apart():
    """Records of several connections get a [conn] prefix on their labels."""
    records = http_exchange([["/"], ["/echo?msg=x"]])
    (ax,) = sequence_diagram(records).axes
    prefixes = [label.get_text().split(" ", 1)[0] for label in labels(ax)]
    assert prefixes == ["[1]", "[1]", "[2]", "[2]"]


def test_websocket_frames_are_drawn_too():
    """A WebSocket exchange draws the handshake and each frame with its type and preview."""
    server = wslab.echo_server()
    tap = wslab.tap(server, name="test-seq-ws-tap")
    with wslab.connect(tap.url) as ws:
        assert ws.request("hello") == "hello"
    records = tap.wait_for(6)  # handshake (2), text (2), close (2)
    (ax,) = sequence_diagram(records).axes
    texts = [label.get_text() for label in labels(ax)]
    assert len(arrows(ax)) == len(records) == 6
    assert texts[0].startswith("GET / HTTP/1.1")
    assert texts[1].startswith("HTTP/1.1 101 Switching Protocols")
    assert texts[2] == f"TEXT 'hello' · {records[2].size} B"
    assert texts[3] == "TEXT 'hello' · 7 B"
    assert texts[4].startswith("CLOSE 1000")
    tails = [arrow.xyann[0] for arrow in arrows(ax)]
    assert tails == [CLIENT_X, SERVER_X, CLIENT_X, SERVER_X, CLIENT_X, SERVER_X]
