"""`wslab.inspector()`: a live view of a tap, in a notebook widget.

The view lists what crosses the tap, one row per record, and fills in while traffic flows;
selecting a row shows that record's bytes with the header fields marked. It is made of three
parts, kept apart so that the logic can be tested without a browser or a kernel:

- pure functions over one `WireRecord`: a row (`format_row`, the same as a printed table's,
  from `wslab._wire`), the header fields with their byte and bit positions (`frame_fields`),
  a description as text (`describe`) or HTML (`describe_html`);
- `InspectorModel`, plain state: the records on show, the selection, the header line;
- `Inspector`, the ipywidgets view bound to a model, and one updater thread per inspector.

How updates flow: the tap notifies its condition whenever it records something. The updater
thread waits on it, then takes one snapshot of the tap and refreshes the widgets, at most
`rate` times a second however fast records arrive: a burst of a thousand frames costs a few
refreshes, not a thousand. ipykernel sends comm messages from any thread (it hands them to
its IOPub thread), so the widgets can be refreshed while a cell is still running. The updater
never prints; it ends when the inspector is closed, when its tap stops (so `wslab.stop_all()`
ends it too) or when a new inspector replaces it. A replaced inspector stays on show, frozen,
and its header says it was replaced (a re-run cell shows the new one; an older cell's view
must not go blank without a word).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import ipywidgets as widgets

from . import protocol
from ._registry import registry
from ._throttle import Throttle
from ._wire import ROW_COLUMNS, WireRecord, format_row
from .tap import Tap

#: How often an idle updater checks whether its tap still runs (a stopping tap sends no
#: notification), in seconds. It bounds how long a thread outlives `stop_all()`.
POLL_INTERVAL = 0.1
#: Bytes per line of a hex dump, and how many bytes of a record the dump shows at most.
DUMP_WIDTH = 16
DUMP_BYTES = 128
#: How much of a payload the detail pane decodes: characters of text, bytes as hex.
SHOWN_TEXT = 2000
SHOWN_BYTES = 32

NOTHING_SELECTED = "Select a row to see its bytes, with the header fields marked."


# --- one record: row, fields, description ----------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One header field of a frame (or its payload), located in the record's raw bytes."""

    name: str
    start: int
    """Offset of its first byte in `WireRecord.raw`."""
    stop: int
    """One past its last byte."""
    value: str
    """What it says, in words."""
    bits: str = ""
    """For a field inside one byte: its bits, as sent (e.g. ``"0001"`` for opcode TEXT)."""
    bit_range: tuple[int, int] | None = None
    """For a field inside one byte: its highest and lowest bit numbers (7 is the top bit)."""
    part: str = "payload"
    """Which part of the frame it is in, for colouring: byte0, byte1, extended, mask, payload."""

    @property
    def where(self) -> str:
        if self.bit_range is not None:
            high, low = self.bit_range
            bits = f"bit {high}" if high == low else f"bits {high}-{low}"
            return f"byte {self.start} {bits}"
        if self.stop == self.start:
            return "none"
        if self.stop - self.start == 1:
            return f"byte {self.start}"
        return f"bytes {self.start}-{self.stop - 1}"


#: How the inspector labels the codec's fields (`protocol.FIELD_NAMES`), and which colour class
#: each gets. The three RSV bits show as one row: they are read together.
_LABELS = {"payload len": "payload length", "masking key": "mask key", "RSV1": "RSV1 RSV2 RSV3"}
_PARTS = {"extended length": "extended", "masking key": "mask", "payload": "payload"}


def frame_fields(record: WireRecord) -> list[Field]:
    """The fields of a frame record, with their positions in `raw` (RFC 6455 §5.2).

    Where each field lies comes from the codec (`protocol.header_fields`); this adds what
    each one says, in words.
    """
    if record.kind != "frame" or len(record.raw) < 2:
        return []
    raw, header = record.raw, record.header_length
    opcode = record.opcode_name + (" (reserved)" if record.opcode_name.startswith("0x") else "")
    values = {
        "FIN": "1 final fragment" if record.fin else "0 more follow",
        "RSV1": f"{record.rsv1:d} {record.rsv2:d} {record.rsv3:d}",
        "opcode": f"0x{record.opcode:X} {opcode}",
        "MASK": "1 masked" if record.masked else "0 not masked",
        "payload len": _length7(raw[1] & 0x7F),
        "extended length": str(record.length),
        "masking key": record.mask_key.hex(" ") if record.mask_key else "",
        "payload": f"{record.length} bytes" + (", masked" if record.masked else ""),
    }
    fields = []
    for name, first, last in protocol.header_fields(raw):
        if name in ("RSV2", "RSV3"):
            continue  # shown with RSV1
        if name == "RSV1":
            last = 3
        label, value = _LABELS.get(name, name), values[name]
        if name in _PARTS:  # whole bytes
            start, stop = first // 8, last // 8 + 1
            if name == "extended length":
                label = f"extended length ({(stop - start) * 8}-bit)"
            fields.append(Field(label, start, stop, value, part=_PARTS[name]))
        else:  # bits inside one byte, numbered 7 (the top bit) down to 0
            fields.append(_bits(raw, first // 8, 7 - first % 8, 7 - last % 8, label, value))
    if not record.length:
        fields.append(Field("payload", header, header, values["payload"]))
    return fields


def _bits(raw: bytes, index: int, high: int, low: int, name: str, value: str) -> Field:
    """A field made of bits `high` down to `low` of byte `index`."""
    bits = f"{raw[index]:08b}"[7 - high : 8 - low]
    return Field(name, index, index + 1, value, bits, (high, low), f"byte{index}")


def describe(record: WireRecord | None) -> str:
    """The detail pane as plain text: a summary, the hex dump, the fields, the payload."""
    if record is None:
        return NOTHING_SELECTED
    lines = [_summary(record), ""]
    if record.kind == "http":
        lines += _head_text(record).splitlines()
        return "\n".join(lines)
    lines += _dump_lines(record.raw, lambda offset: "")
    lines += [""] + _shown_note(record)
    fields = frame_fields(record)
    if fields:
        lines.append(f"{'field':<26}  {'where':<16}  {'bits':<7}  value")
        lines += [f"{f.name:<26}  {f.where:<16}  {f.bits:<7}  {f.value}" for f in fields]
        lines.append("")
    lines += _payload_lines(record)
    return "\n".join(line.rstrip() for line in lines).rstrip()


def describe_html(record: WireRecord | None) -> str:
    """The detail pane as HTML: the same as `describe`, the bytes coloured field by field."""
    if record is None:
        return f'<div class="wslab-detail"><i>{html.escape(NOTHING_SELECTED)}</i></div>'
    parts = [f"<div class='wslab-detail'><b>{html.escape(_summary(record))}</b>"]
    if record.kind == "http":
        parts.append(f"<pre>{html.escape(_head_text(record))}</pre></div>")
        return "".join(parts)
    fields = frame_fields(record)
    part_at = _parts_by_offset(fields, len(record.raw))
    parts.append("<pre>" + "\n".join(_dump_lines(record.raw, part_at.__getitem__, html_=True)))
    parts.append("</pre>")
    parts += [f"<div>{html.escape(note)}</div>" for note in _shown_note(record)]
    if fields:
        parts.append("<table><tr><th>field</th><th>where</th><th>bits</th><th>value</th></tr>")
        for f in fields:
            parts.append(
                f"<tr><td><span class='wslab-{f.part}'>{html.escape(f.name)}</span></td>"
                f"<td>{f.where}</td><td><code>{f.bits}</code></td>"
                f"<td>{html.escape(f.value)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<pre>" + html.escape("\n".join(_payload_lines(record))) + "</pre></div>")
    return "".join(parts)


def _length7(value: int) -> str:
    if value == 126:
        return "126: a 16-bit length follows"
    if value == 127:
        return "127: a 64-bit length follows"
    return str(value)


def _summary(r: WireRecord) -> str:
    where = f"#{r.seq}  conn {r.conn}  {r.direction}"
    if r.kind == "http":
        body = f", then a body of {r.body_length} bytes" if r.body_length else ""
        return f"{where}  HTTP head of {r.size - r.body_length} bytes{body}"
    if r.kind == "bytes":
        error = f": {r.error}" if r.error else ""
        return f"{where}  {r.size} bytes not decoded{error}"
    return (
        f"{where}  {r.opcode_name} frame, {r.size} bytes on the wire = "
        f"{r.header_length} of header + {r.length} of payload"
    )


def _head_text(r: WireRecord) -> str:
    # HTTP heads are ASCII (RFC 9110 allows Latin-1 in values): every byte maps to a character.
    return r.raw.decode("latin-1").replace("\r\n", "\n").rstrip("\n")


def _shown_note(r: WireRecord) -> list[str]:
    shown = min(len(r.raw), DUMP_BYTES)
    if shown < r.size:
        return [f"(the first {shown} of the {r.size} bytes)", ""]
    return []


def _dump_lines(raw: bytes, part_at: Callable[[int], str], html_: bool = False) -> list[str]:
    """A hex dump, 16 bytes a line after the offset; in HTML each field's bytes in a span."""
    lines = []
    raw = raw[:DUMP_BYTES]
    for line_start in range(0, len(raw), DUMP_WIDTH):
        chunk = raw[line_start : line_start + DUMP_WIDTH]
        if not html_:
            lines.append(f"{line_start:04x}  {chunk.hex(' ')}")
            continue
        runs: list[tuple[str, list[str]]] = []  # (part, hex bytes), consecutive bytes merged
        for offset, byte in enumerate(chunk, line_start):
            part = part_at(offset)
            if runs and runs[-1][0] == part:
                runs[-1][1].append(f"{byte:02x}")
            else:
                runs.append((part, [f"{byte:02x}"]))
        spans = " ".join(
            f"<span class='wslab-{part}'>{' '.join(hexes)}</span>" if part else " ".join(hexes)
            for part, hexes in runs
        )
        lines.append(f"{line_start:04x}  {spans}")
    return lines


def _parts_by_offset(fields: Sequence[Field], size: int) -> list[str]:
    parts = [""] * size
    for f in fields:
        for offset in range(f.start, min(f.stop, size)):
            parts[offset] = parts[offset] or f.part
    return parts


def _payload_lines(r: WireRecord) -> list[str]:
    """The payload decoded for reading: text, close code and reason, or hex."""
    label = "payload (unmasked)" if r.mask_key is not None else "payload"
    kept = ""
    if len(r.payload) < r.length:
        kept = f" (the tap kept {len(r.payload)} of {r.length} bytes)"
    if r.kind == "bytes":
        return [f"{label}: {_hex(r.payload)}"]
    if r.opcode == protocol.Opcode.CLOSE:
        try:
            code, reason = protocol.parse_close(r.payload)
        except protocol.ProtocolError as exc:
            return [f"{label}: invalid close payload: {exc}"]
        if code is None:
            return [f"{label}: empty (no status code)"]
        return [
            f"{label}: status code {code}, reason {reason!r}",
            protocol.describe_close_code(code),
        ]
    if r.opcode in (protocol.Opcode.TEXT, protocol.Opcode.CONT) and r.text is not None:
        shown = r.text if len(r.text) <= SHOWN_TEXT else r.text[:SHOWN_TEXT] + "…"
        return [f"{label}, as UTF-8 text{kept}: {shown!r}"]
    return [f"{label}{kept}: {_hex(r.payload)}"]


def _hex(data: bytes) -> str:
    if not data:
        return "(empty)"
    return data[:SHOWN_BYTES].hex(" ") + (" …" if len(data) > SHOWN_BYTES else "")


# --- the model: what the view shows ----------------------------------------------------------


class InspectorModel:
    """What an inspector shows, as plain data: no widgets, no threads, no tap.

    Feed it snapshots of a tap's records with `update()`; it keeps the newest `max_rows`
    as rows and remembers which record is selected (by sequence number, so the selection
    survives new rows arriving).
    """

    def __init__(self, name: str, target: str, max_rows: int = 200) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, not {max_rows}")
        self.name = name
        self.target = target
        self.max_rows = max_rows
        self.records: list[WireRecord] = []
        """The records on show, oldest first: the newest `max_rows` of the last snapshot."""
        self.total = 0
        """How many records the last snapshot held."""
        self.running = True
        """Whether the tap was running at the last snapshot."""
        self.selected: int | None = None
        """Sequence number of the selected record, or None."""
        self._counts: dict[str, tuple[int, int]] = {}
        self._version: tuple[Any, ...] = ()

    # --- input -----------------------------------------------------------------------------

    def update(self, table: Sequence[WireRecord], running: bool = True) -> bool:
        """Take a new snapshot of the tap (all its records); return whether anything changed."""
        version = (len(table), table[0].seq if table else 0, table[-1].seq if table else 0, running)
        if version == self._version:
            return False
        self._version = version
        self.records = list(table[-self.max_rows :])
        self.total = len(table)
        self.running = running
        counts: dict[str, tuple[int, int]] = {}
        for r in table:
            n, size = counts.get(r.direction, (0, 0))
            counts[r.direction] = (n + 1, size + r.size)
        self._counts = counts
        if self.selected is not None and self.record(self.selected) is None:
            self.selected = None
        return True

    def select(self, seq: int | None) -> WireRecord | None:
        """Select the record with sequence number `seq` (None: no selection); return it."""
        record = None if seq is None else self.record(seq)
        self.selected = None if record is None else seq
        return record

    # --- output ----------------------------------------------------------------------------

    @property
    def rows(self) -> list[str]:
        """One line per record on show, under `ROW_COLUMNS`."""
        return [format_row(r) for r in self.records]

    @property
    def seqs(self) -> list[int]:
        """The sequence numbers of the rows, in the same order."""
        return [r.seq for r in self.records]

    @property
    def header(self) -> str:
        """One line: the tap, its target, what it has seen so far and whether it runs."""
        shown = f" (showing the last {len(self.records)})" if len(self.records) < self.total else ""
        traffic = "  ".join(
            f"{direction} {n} records, {size} B"
            for direction, (n, size) in sorted(self._counts.items())
        )
        state = "running" if self.running else "stopped"
        return (
            f"tap {self.name!r} → {self.target}  ·  {self.total} records{shown}"
            + (f"  ·  {traffic}" if traffic else "")
            + f"  ·  {state}"
        )

    def record(self, seq: int) -> WireRecord | None:
        """The record on show with sequence number `seq`, if any."""
        for r in reversed(self.records):
            if r.seq == seq:
                return r
        return None

    @property
    def selected_record(self) -> WireRecord | None:
        return None if self.selected is None else self.record(self.selected)

    @property
    def detail(self) -> str:
        """The selected record, described as text (see `describe`)."""
        return describe(self.selected_record)

    @property
    def detail_html(self) -> str:
        return describe_html(self.selected_record)


# --- the view: widgets bound to a model ------------------------------------------------------

_STYLE = """<style>
.wslab-inspector select, .wslab-inspector pre, .wslab-inspector .wslab-columns {
  font-family: var(--jp-code-font-family, monospace); font-size: var(--jp-code-font-size, 12px);
}
.wslab-inspector .wslab-columns { white-space: pre; font-weight: bold; padding-left: 4px; }
.wslab-inspector .wslab-detail table { border-collapse: collapse; margin: 4px 0; }
.wslab-inspector .wslab-detail td, .wslab-inspector .wslab-detail th {
  padding: 0 8px; text-align: left;
}
.wslab-inspector .wslab-byte0 { background: rgba(230, 159, 0, 0.35); }
.wslab-inspector .wslab-byte1 { background: rgba(86, 180, 233, 0.35); }
.wslab-inspector .wslab-extended { background: rgba(0, 158, 115, 0.35); }
.wslab-inspector .wslab-mask { background: rgba(204, 121, 167, 0.35); }
.wslab-inspector .wslab-payload { background: rgba(240, 228, 66, 0.35); }
</style>"""


class Inspector(widgets.VBox):
    """A live view of a tap: a header line, the records as rows, the selected record's bytes.

    Create it with `inspector()`. The widgets are public: `header`, `listing` (a Select
    whose values are the records' sequence numbers) and `detail`; `model` holds the data.
    """

    def __init__(self, tap: Tap, max_rows: int = 200, rate: float = 10.0) -> None:
        _check_arguments(tap, max_rows, rate)
        model = InspectorModel(tap.name, tap.target, max_rows)
        header = widgets.HTML()
        columns = widgets.HTML(
            _STYLE + f"<div class='wslab-columns'>{html.escape(ROW_COLUMNS)}</div>"
        )
        lock = threading.RLock()
        listing = _Listing(lock, options=[], rows=12, layout=widgets.Layout(width="100%"))
        detail = widgets.HTML(describe_html(None))
        super().__init__(children=[header, columns, listing, detail])
        self.add_class("wslab-inspector")
        self.tap = tap
        self.model = model
        """The data on show (`InspectorModel`)."""
        self.header = header
        self.listing = listing
        self.detail = detail
        self.rate = rate
        self.error: str | None = None
        """Why the updater stopped early, if it failed (it never prints)."""
        self._lock = lock
        """Held by whatever changes the widgets: the updater, a click, `select()`, `close()`."""
        self._refreshing: threading.Thread | None = None  # the thread inside `_render`, if any
        self._closed = False
        """True once it no longer updates: closed, or retired (replaced, still on show)."""
        self._widgets_closed = False
        listing.observe(self._on_select, names="index")
        # The tap's condition is how the thread sleeps (Tap has no public hook for it); a
        # stopping tap sends no notification, hence the poll.
        self._updater = Throttle(
            f"wslab-inspector-{tap.name}",
            tap._changed,
            rate,
            version=lambda: _version(tap.frames()),
            refresh=self._snapshot,
            fail=self._fail,
            alive=lambda: tap.running,
            poll=POLL_INTERVAL,
        )
        running = tap.running
        table = tap.frames()
        self._refresh(table, running)
        if running:
            self._updater.start(_version(table))

    # --- public API ------------------------------------------------------------------------

    def select(self, seq: int | None) -> None:
        """Select the record with sequence number `seq`, as a click on its row would."""
        with self._lock:
            seqs = self.model.seqs
            self.listing.index = seqs.index(seq) if seq in seqs else None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop updating and close the widgets (their views disappear). Safe to call twice."""
        lock = getattr(self, "_lock", None)
        if lock is None:  # __init__ failed early; ipywidgets still calls close() from __del__
            super().close()
            return
        with lock:
            if self._widgets_closed:
                return
            retired, self._closed, self._widgets_closed = self._closed, True, True
        if not retired:
            self._updater.stop()
            _forget(self)
        for child in self.children:
            child.close()
        super().close()

    def retire(self, reason: str) -> None:
        """Stop updating but stay on show, frozen, with `reason` as the header."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._updater.stop()
        _forget(self)
        with self._lock:
            self.header.value = f"<b>{html.escape(reason)}</b>"
            self.listing.disabled = True

    def __repr__(self) -> str:
        # What nbval compares when a lesson displays an inspector: nothing that varies.
        return f"Inspector(tap {self.tap.name!r})"

    # --- private ---------------------------------------------------------------------------

    def _snapshot(self) -> tuple[tuple[int, int], bool]:
        """The updater's refresh: show the tap now; go on while it runs."""
        running = self.tap.running
        table = self.tap.frames()
        self._refresh(table, running)
        return _version(table), running

    def _refresh(self, table: Sequence[WireRecord], running: bool) -> None:
        """Show a new snapshot of the tap, if it changed anything (any thread)."""
        with self._lock:
            if self._closed or not self.model.update(table, running):
                return
            self._refreshing = threading.current_thread()
            try:
                self._render()
            finally:
                self._refreshing = None

    def _render(self) -> None:
        model = self.model
        # The front-end turns spaces into non-breaking ones, so the columns stay aligned.
        options = list(zip(model.rows, model.seqs, strict=True))
        with self.listing.hold_sync():
            if options != list(self.listing.options):
                self.listing.options = options  # ipywidgets selects the first row again...
                seqs = model.seqs  # ...so put the selection back where it was
                self.listing.index = seqs.index(model.selected) if model.selected in seqs else None
        self.header.value = f"<b>{html.escape(model.header)}</b>"
        self.detail.value = model.detail_html

    def _on_select(self, change: dict[str, Any]) -> None:
        # Called on the kernel's main thread for a click, or on ours while `_render` moves
        # the selection (ignored: the model already knows).
        if self._refreshing is threading.current_thread():
            return
        with self._lock:
            if self._closed:
                return
            self.model.select(self.listing.value)
            self.detail.value = self.model.detail_html

    def _fail(self, error: BaseException) -> None:
        message = f"{type(error).__name__}: {error}"
        with self._lock:
            if not self._closed:
                self.header.value = html.escape(f"inspector stopped: {message}")
        self.error = message


class _Listing(widgets.Select):
    """A Select that applies the front-end's changes (clicks) under the inspector's lock.

    A click arrives on the kernel's main thread while the updater may be replacing the
    options on its own thread; ipywidgets' Select then works on half-replaced options and
    fails (seen in tests: "x not in tuple"). Holding one lock for both makes them take turns.
    """

    def __init__(self, lock: threading.RLock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._inspector_lock = lock

    def set_state(self, sync_data: dict[str, Any]) -> None:
        with self._inspector_lock:
            super().set_state(sync_data)


def _version(table: Sequence[WireRecord]) -> tuple[int, int]:
    return len(table), table[-1].seq if table else 0


# --- one inspector per tap name --------------------------------------------------------------

#: The kind of registry key an inspector is held under, with its tap's name.
INSPECTOR = "inspector"


def _check_arguments(tap: Any, max_rows: int, rate: float) -> None:
    if not isinstance(tap, Tap):
        raise TypeError(f"inspector() shows a tap, e.g. inspector(wslab.tap(server)), not {tap!r}")
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, not {max_rows}")
    if rate <= 0:
        raise ValueError(f"rate must be positive, not {rate}")


def _forget(inspector: Inspector) -> None:
    registry.release((INSPECTOR, inspector.tap.name), inspector)


def inspector(tap: Tap, max_rows: int = 200, rate: float = 10.0) -> Inspector:
    """Show `tap`'s records live in a widget: display it by ending a cell with it.

    It lists the newest `max_rows` records and refreshes at most `rate` times a second;
    select a row to see its bytes with the header fields marked. An inspector already open
    on a tap of the same name stops updating first, so re-running a cell is safe: it stays on
    show, frozen, and says that a newer one replaced it.
    """
    _check_arguments(tap, max_rows, rate)
    registry.take((INSPECTOR, tap.name))
    view = Inspector(tap, max_rows=max_rows, rate=rate)
    # Nothing for stop_all() to stop: the view stays on show and its updater ends with the tap
    # (which stop_all() stops); a new inspector on the same tap name retires it.
    replaced = (
        f"tap {tap.name!r}: replaced by a newer inspector (wslab.inspector() was called "
        "again); this one no longer updates"
    )
    registry.hold((INSPECTOR, tap.name), view, stop=None, replace=partial(view.retire, replaced))
    return view
