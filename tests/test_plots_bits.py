"""wslab.plots.bits: which bits belong to which field of a frame, and the grid drawn from them."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from wslab import protocol
from wslab.plots.bits import (
    CELLS_GID,
    COLORS,
    DIGIT_GIDS,
    FIELDS,
    field_spans,
    frame_layout,
)

RFC_MASKED_HELLO = bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")  # RFC 6455 §5.7
RFC_UNMASKED_HELLO = bytes.fromhex("81 05 48 65 6c 6c 6f")  # RFC 6455 §5.7
KEY = bytes.fromhex("37 fa 21 3d")
FIRST_BYTES = [
    ("FIN", 0, 0),
    ("RSV1", 1, 1),
    ("RSV2", 2, 2),
    ("RSV3", 3, 3),
    ("opcode", 4, 7),
    ("MASK", 8, 8),
    ("payload len", 9, 15),
]


def cells(ax):
    """The collection of bit cells frame_layout() drew into `ax`."""
    (collection,) = [c for c in ax.collections if c.get_gid() == CELLS_GID]
    return collection


def digits(ax) -> dict[tuple[float, float], int]:
    """The 0 or 1 drawn at each cell's centre, read back from the two digit collections."""
    drawn = {}
    for value, gid in DIGIT_GIDS.items():
        for collection in [c for c in ax.collections if c.get_gid() == gid]:
            drawn.update({(float(x), float(y)): value for x, y in collection.get_offsets()})
    return drawn


def frame(length: int, masked: bool) -> bytes:
    return protocol.binary(b"\xab" * length, mask=KEY if masked else False)


def test_unmasked_frame_with_7_bit_length():
    """A 2-byte header is followed directly by the payload (§5.2, §5.7 unmasked "Hello")."""
    assert field_spans(RFC_UNMASKED_HELLO) == [*FIRST_BYTES, ("payload", 16, 55)]


def test_masked_frame_with_7_bit_length():
    """A masked frame has a 4-byte key between the header and the payload (§5.7 masked "Hello")."""
    assert field_spans(RFC_MASKED_HELLO) == [
        *FIRST_BYTES,
        ("masking key", 16, 47),
        ("payload", 48, 87),
    ]


@pytest.mark.parametrize(
    "length, masked, extended, header",
    [
        (126, False, (16, 31), 4),
        (126, True, (16, 31), 8),
        (65535, False, (16, 31), 4),
        (65536, False, (16, 79), 10),
        (65536, True, (16, 79), 14),
    ],
)
def test_extended_lengths(length, masked, extended, header):
    """126 in the 7-bit field announces a 16-bit length, 127 a 64-bit one (§5.2)."""
    raw = frame(length, masked)
    spans = field_spans(raw)
    assert spans[: len(FIRST_BYTES)] == FIRST_BYTES
    names = [name for name, _, _ in spans]
    assert ("extended length", *extended) in spans
    assert ("masking key" in names) is masked
    assert spans[-1] == ("payload", 8 * header, 8 * (header + length) - 1)
    assert names == [name for name in FIELDS if name in names]  # wire order


def test_spans_cover_every_bit_once():
    """Spans are contiguous and end with the frame: no bit is unlabelled or labelled twice."""
    for raw in (RFC_MASKED_HELLO, RFC_UNMASKED_HELLO, frame(300, True), frame(70000, False)):
        spans = field_spans(raw)
        assert spans[0][1] == 0
        assert all(a[2] + 1 == b[1] for a, b in zip(spans, spans[1:], strict=False))
        assert spans[-1][2] == 8 * len(raw) - 1


def test_spans_are_cut_at_the_end_of_raw():
    """The first bytes of a long frame (a tap record keeps 256) give spans cut at their end."""
    raw = frame(70000, True)[:20]
    assert field_spans(raw)[-3:] == [
        ("extended length", 16, 79),
        ("masking key", 80, 111),
        ("payload", 112, 159),
    ]
    # Cut inside the extended length: the fields after it are left out.
    assert field_spans(frame(70000, True)[:5])[-1] == ("extended length", 16, 39)


def test_empty_payload_has_no_span():
    """A frame without payload (an empty Close, a final empty CONT) ends after its header."""
    assert field_spans(protocol.continuation(b"", mask=KEY))[-1] == ("masking key", 16, 47)
    assert field_spans(protocol.close())[-1] == ("payload len", 9, 15)


def test_bits_after_the_frame_are_not_labelled():
    """Bytes of a next frame in the same buffer belong to no field of this one."""
    raw = RFC_UNMASKED_HELLO + RFC_MASKED_HELLO
    assert field_spans(raw)[-1] == ("payload", 16, 55)


def test_too_short():
    """One byte is not a frame header."""
    with pytest.raises(ValueError, match="2-byte header"):
        field_spans(b"\x81")


@pytest.mark.parametrize(
    "raw",
    [RFC_MASKED_HELLO, RFC_UNMASKED_HELLO, frame(126, True), frame(65536, False), b"\x00\x00"],
)
def test_layout_draws_one_cell_per_bit(raw):
    """The figure has 8 cells per byte shown, for 2-, 4- and 10-byte headers alike."""
    figure = frame_layout(raw)
    assert isinstance(figure, Figure)
    (ax,) = figure.axes
    rows = min(len(raw), 16)
    assert len(cells(ax).get_paths()) == 8 * rows
    assert digits(ax) == {
        (column + 0.5, row + 0.5): byte >> (7 - column) & 1
        for row, byte in enumerate(raw[:rows])
        for column in range(8)
    }
    FigureCanvasAgg(figure).draw()  # renders with the Agg backend, without pyplot


def test_layout_labels_fields_in_legend_and_margin():
    """The legend names the fields present; the margin names each row's fields and unmasks."""
    figure = frame_layout(RFC_MASKED_HELLO)
    (ax,) = figure.axes
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "FIN", "RSV1", "RSV2", "RSV3", "opcode", "MASK", "payload len", "masking key", "payload"
    ]  # fmt: skip
    notes = [t.get_text() for t in ax.texts]
    assert notes[0] == "0x81  FIN + RSV1-3 + opcode"
    assert notes[1] == "0x85  MASK + payload len"
    assert notes[2] == "0x37  masking key"
    assert notes[6] == "0x7f  payload  [0] ^ key[0] = 0x48 'H'"
    assert "TEXT, FIN=1, masked, payload 5 B, header 6 B" in ax.get_title(loc="left")


def test_layout_max_bytes_and_given_axes():
    """`max_bytes` bounds the rows; with `ax` the grid goes into that Axes' figure."""
    figure = Figure()
    ax = figure.add_subplot()
    raw = frame(65536, True)[:256]  # what a tap record keeps
    assert frame_layout(raw, ax=ax, max_bytes=12) is figure
    assert len(cells(ax).get_paths()) == 96
    assert "first 12 of 256 bytes shown" in ax.get_title(loc="left")
    with pytest.raises(ValueError, match="max_bytes"):
        frame_layout(raw, max_bytes=0)


def test_cells_are_coloured_by_field():
    """Each cell has the colour of the field its bit belongs to (§5.2 layout, 16-bit length)."""
    raw = frame(126, True)
    colors = cells(frame_layout(raw).axes[0]).get_facecolors()
    owner = {}
    for name, first, last in field_spans(raw[:16]):
        owner.update(dict.fromkeys(range(first, last + 1), name))
    assert len(colors) == len(owner) == 128
    for bit, color in enumerate(colors):
        assert tuple(color) == to_rgba(COLORS[owner[bit]]), bit
