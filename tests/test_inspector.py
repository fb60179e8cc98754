"""wslab.inspector(): the live wire view; its model without a browser, its updater with a tap."""

from __future__ import annotations

import gc
import threading
import time

import pytest
from helpers import Resources, assert_released, wait_until

import wslab
from wslab import protocol
from wslab._wire import WireRecord, WireTable
from wslab.inspector import (
    NOTHING_SELECTED,
    Inspector,
    InspectorModel,
    describe,
    describe_html,
    format_row,
    frame_fields,
    inspector,
)
from wslab.tap import CLIENT_TO_SERVER as C2S
from wslab.tap import SERVER_TO_CLIENT as S2C

# RFC 6455 §5.7: a masked "Hello" from a client, and a 256-byte unmasked binary message.
MASKED_HELLO = bytes.fromhex("818537fa213d7f9f4d5158")
BINARY_256 = bytes.fromhex("827e0100") + b"\xab" * 256


def record(wire: bytes, seq: int = 1, direction: str = C2S) -> WireRecord:
    """The record a tap makes of one frame's bytes."""
    (frame,) = protocol.FrameParser(strict=False).feed(wire)
    return WireRecord(
        seq=seq,
        conn=1,
        t=0.0123,
        direction=direction,
        kind="frame",
        size=len(wire),
        raw=wire[:256],
        opcode=frame.opcode,
        fin=frame.fin,
        mask_key=frame.mask_key,
        length=frame.length,
        payload=frame.payload,
    )


def texts(count: int) -> list[WireRecord]:
    return [record(protocol.text(f"m{n}"), seq=n, direction=S2C) for n in range(1, count + 1)]


def inspector_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("wslab-inspector-")]


def traffic(messages: list[str], max_rows: int = 200, rate: float = 10.0):
    """An echo server behind a tap, an inspector on it, and `messages` sent through it."""
    tap = wslab.tap(wslab.echo_server())
    view = inspector(tap, max_rows=max_rows, rate=rate)
    with wslab.connect(tap.url) as client:
        for message in messages:
            assert client.request(message) == message
    return tap, view


def wait_total(view: Inspector, count: int) -> None:
    """Wait, with a deadline, until the inspector's model shows at least `count` records."""
    wait_until(lambda: view.model.total >= count)


class TestFields:
    def test_masked_hello_fields(self):
        """RFC 6455 §5.7's masked "Hello": FIN, RSV, opcode, MASK, length, key, payload."""
        fields = {f.name: f for f in frame_fields(record(MASKED_HELLO))}
        assert [(f.where, f.bits) for f in fields.values()] == [
            ("byte 0 bit 7", "1"),
            ("byte 0 bits 6-4", "000"),
            ("byte 0 bits 3-0", "0001"),
            ("byte 1 bit 7", "1"),
            ("byte 1 bits 6-0", "0000101"),
            ("bytes 2-5", ""),
            ("bytes 6-10", ""),
        ]
        assert fields["opcode"].value == "0x1 TEXT"
        assert fields["mask key"].value == "37 fa 21 3d"
        assert fields["payload"].value == "5 bytes, masked"

    def test_extended_length_fields(self):
        """A 256-byte payload announces 126 in 7 bits, then its length in 16 bits (§5.2)."""
        fields = {f.name: f for f in frame_fields(record(BINARY_256, direction=S2C))}
        assert fields["payload length"].value.startswith("126")
        assert fields["extended length (16-bit)"].where == "bytes 2-3"
        assert fields["extended length (16-bit)"].value == "256"
        assert "mask key" not in fields
        assert fields["payload"].where == "bytes 4-259"

    def test_64_bit_length(self):
        """A 65536-byte payload announces 127, then 8 bytes of length."""
        wire = protocol.binary(b"\x00" * 65_536)
        fields = {f.name: f for f in frame_fields(record(wire, direction=S2C))}
        assert fields["payload length"].bits == "1111111"
        assert fields["extended length (64-bit)"].where == "bytes 2-9"

    def test_describe_shows_bytes_fields_and_payload(self):
        """The text detail holds the hex of the raw bytes, every field label and the payload."""
        text = describe(record(MASKED_HELLO))
        assert "0000  81 85 37 fa 21 3d 7f 9f 4d 51 58" in text
        for label in ("FIN", "RSV1 RSV2 RSV3", "opcode", "MASK", "payload length", "mask key"):
            assert label in text
        assert "11 bytes on the wire = 6 of header + 5 of payload" in text
        assert "payload (unmasked), as UTF-8 text: 'Hello'" in text

    def test_html_marks_each_field(self):
        """In HTML the mask key's bytes and the payload's bytes sit in spans of their own."""
        page = describe_html(record(MASKED_HELLO))
        assert "<span class='wslab-mask'>37 fa 21 3d</span>" in page
        assert "<span class='wslab-payload'>7f 9f 4d 51 58</span>" in page
        assert "&#x27;Hello&#x27;" in page  # payload escaped, never raw HTML

    def test_close_frame_is_explained(self):
        """A close frame's detail gives the status code, the reason and what the code means."""
        text = describe(record(protocol.close(1001, "bye"), direction=S2C))
        assert "status code 1001, reason 'bye'" in text
        assert protocol.describe_close_code(1001) in text

    def test_http_head_is_shown_as_text(self):
        """An HTTP record shows its head as text, one header a line."""
        head = protocol.build_request("127.0.0.1:1234", "/", "dGhlIHNhbXBsZSBub25jZQ==")
        http = WireRecord(1, 1, 0.0, C2S, "http", len(head), head, start_line="GET / HTTP/1.1")
        text = describe(http)
        assert "GET / HTTP/1.1\nHost: 127.0.0.1:1234\n" in text
        assert "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" in text

    def test_nothing_selected(self):
        assert describe(None) == NOTHING_SELECTED


class TestModel:
    def test_row_columns(self):
        """A row holds seq, time, direction, type, FIN, RSV, mask key, lengths and preview."""
        row = format_row(record(MASKED_HELLO, seq=7))
        assert row.split() == ["7", "1", "12.3", "ms", "C→S", "TEXT", "1", "000", "0x37fa213d"] + [
            "5",
            "11",
            "'Hello'",
        ]
        assert row == str(WireTable([record(MASKED_HELLO, seq=7)])).splitlines()[1]

    def test_max_rows_keeps_the_newest(self):
        """With more records than max_rows, the rows are the newest, and the header says so."""
        model = InspectorModel("tap", "ws://127.0.0.1:1/", max_rows=3)
        assert model.update(texts(5))
        assert model.seqs == [3, 4, 5]
        assert model.total == 5
        assert "5 records (showing the last 3)" in model.header

    def test_update_reports_changes_only(self):
        """The same snapshot twice is no change, so the view sends nothing the second time."""
        model = InspectorModel("tap", "ws://127.0.0.1:1/")
        table = texts(2)
        assert model.update(table) and not model.update(list(table))
        assert model.update(table, running=False) and "stopped" in model.header

    def test_selection_follows_its_record(self):
        """The selection is a sequence number: kept while its record shows, dropped after."""
        model = InspectorModel("tap", "ws://127.0.0.1:1/", max_rows=3)
        model.update(texts(3))
        assert model.select(2).seq == 2
        model.update(texts(4))
        assert model.selected == 2 and "'m2'" in model.detail
        model.update(texts(5))
        assert model.selected is None and model.detail == NOTHING_SELECTED
        assert model.select(99) is None and model.selected is None

    def test_bad_arguments(self, capfd):
        """Bad arguments raise before anything is replaced, and leave nothing to print."""
        with pytest.raises(ValueError):
            InspectorModel("tap", "ws://127.0.0.1:1/", max_rows=0)
        server = wslab.echo_server()
        tap = wslab.tap(server)
        view = inspector(tap)
        with pytest.raises(ValueError):
            inspector(tap, rate=0)
        with pytest.raises(ValueError):
            Inspector(tap, max_rows=0)
        with pytest.raises(TypeError, match="inspector\\(wslab.tap\\(server\\)\\)"):
            inspector(server)
        assert not view.closed  # still the one on show
        gc.collect()  # the half-made Inspector's __del__ runs close(): it must stay quiet
        assert capfd.readouterr() == ("", "")


class TestLive:
    def test_rows_appear(self, capfd):
        """After a round trip the rows show the handshake and both frames, with dir/type/len."""
        tap, view = traffic(["Hello"])
        wait_total(view, 6)  # request, 101, two texts, two closes
        rows = view.model.rows
        assert "GET / HTTP/1.1" in rows[0] and "101 Switching Protocols" in rows[1]
        sent, echoed = rows[2].split(), rows[3].split()
        assert sent[4:8] == ["C→S", "TEXT", "1", "000"] and sent[-3:] == ["5", "11", "'Hello'"]
        assert echoed[4:9] == ["S→C", "TEXT", "1", "000", "-"]
        assert echoed[-3:] == ["5", "7", "'Hello'"]
        assert len(view.listing.options) == len(rows)
        assert view.listing.value is None  # nothing selected until someone clicks
        assert capfd.readouterr() == ("", "")

    def test_selecting_a_row_shows_its_bytes(self, capfd):
        """A click on a row (as the browser sends it) fills the detail pane with its bytes."""
        tap, view = traffic(["Hello"])
        wait_total(view, 6)
        sent = tap.frames(http=False)[0]
        view.listing.set_state({"index": 2})  # what a click in the front-end does
        assert view.model.selected == sent.seq
        assert f"<span class='wslab-mask'>{sent.mask_key.hex(' ')}</span>" in view.detail.value
        for label in ("FIN", "opcode", "MASK", "payload length", "mask key"):
            assert f">{label}</span>" in view.detail.value
        assert sent.raw.hex(" ") in view.model.detail
        view.select(1)
        handshake = view.model.detail
        assert "Sec-WebSocket-Key:" in handshake and "Upgrade: websocket" in handshake
        assert capfd.readouterr() == ("", "")

    def test_selection_survives_new_rows(self):
        """New rows arriving do not move the selection (ipywidgets would reset it to row 0)."""
        tap = wslab.tap(wslab.echo_server())
        view = inspector(tap)
        with wslab.connect(tap.url) as client:
            client.request("first")
            wait_total(view, 4)
            view.select(3)
            for n in range(5):
                client.request(f"more {n}")
            wait_total(view, 14)
        assert view.listing.value == 3 and view.listing.index == 2
        assert "'first'" in view.model.detail

    def test_update_rate_is_bounded(self, capfd):
        """A burst of 500 round trips costs at most rate x elapsed (+2) list updates."""
        rate = 5.0
        tap = wslab.tap(wslab.echo_server())
        view = inspector(tap, rate=rate)
        updates = []
        view.listing.observe(updates.append, names="options")
        started = time.monotonic()
        with wslab.connect(tap.url) as client:
            for n in range(500):
                client.send(f"burst {n}")
            for n in range(500):
                assert client.recv() == f"burst {n}"
            wait_total(view, 1002)  # request, 101, 500 frames each way
            elapsed = time.monotonic() - started
        assert 1 <= len(updates) <= elapsed * rate + 2
        assert view.model.rows[-1].endswith("'burst 499'")  # the last refresh has everything
        assert capfd.readouterr() == ("", "")

    def test_clicks_during_a_burst(self, capfd):
        """Clicks on the main thread while the updater refreshes leave list and model agreeing."""
        tap = wslab.tap(wslab.echo_server())
        view = inspector(tap, max_rows=50, rate=50)
        with wslab.connect(tap.url) as client:
            client.request("first")
            wait_total(view, 4)

            def burst():
                for n in range(300):
                    client.request(f"burst {n}")

            sender = threading.Thread(target=burst)
            sender.start()
            clicks = 0
            while sender.is_alive():
                view.listing.set_state({"index": clicks % len(view.listing.options)})
                clicks += 1
            sender.join()
            wait_total(view, 604)  # request, 101, 301 frames each way; no more until close
            assert view.model.seqs == [r.seq for r in tap.frames()][-50:]
        assert clicks > 0 and view.error is None
        assert view.model.selected == view.listing.value
        assert capfd.readouterr() == ("", "")

    def test_max_rows_caps_the_list(self):
        """The list never holds more than max_rows rows: the newest ones."""
        tap, view = traffic([f"m{n}" for n in range(20)], max_rows=10)
        wait_total(view, 44)
        assert len(view.listing.options) == 10
        assert view.model.seqs == [r.seq for r in tap.frames()[-10:]]

    def test_repr_is_deterministic(self):
        """The text/plain that nbval compares names the tap only; the view mime type is there."""
        tap = wslab.tap(wslab.echo_server())
        view = inspector(tap)
        bundle = view._repr_mimebundle_()
        assert bundle["text/plain"] == repr(view) == "Inspector(tap 'tap')"
        assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == view.model_id


class TestLifecycle:
    def test_close_ends_the_thread(self, capfd):
        """Closing the inspector ends its updater at once; stopping the rest leaks nothing."""
        # The previous test's updater ends within POLL_INTERVAL of its tap's stop: wait for it.
        wait_until(lambda: not inspector_threads())
        before = Resources.now()
        tap, view = traffic(["Hello"])
        assert [t.name for t in inspector_threads()] == ["wslab-inspector-tap"]
        view.close()
        assert inspector_threads() == [] and view.closed
        view.close()  # twice is fine
        assert repr(view) == "Inspector(tap 'tap')"  # what a closed widget still displays
        wslab.stop_all()
        assert_released(before)
        assert capfd.readouterr() == ("", "")

    def test_tap_stop_ends_the_thread(self):
        """When its tap stops the updater shows 'stopped' once more, then ends."""
        before = Resources.now()
        tap, view = traffic(["Hello"])
        tap.stop()
        wait_until(lambda: not inspector_threads())
        assert "stopped" in view.model.header and not view.closed
        wslab.stop_all()
        assert_released(before)

    def test_stop_all_ends_the_thread(self):
        """wslab.stop_all() stops the tap, which ends the updater: no thread is left."""
        before = Resources.now()
        traffic(["Hello"])
        wslab.stop_all()
        assert_released(before)

    def test_rerun_replaces_the_previous_inspector(self):
        """A second inspector on the same tap stops the first, which says so: one updater."""
        tap = wslab.tap(wslab.echo_server())
        first = inspector(tap)
        second = inspector(tap)
        assert first.closed and not second.closed
        assert len(inspector_threads()) == 1
        assert "replaced by a newer inspector" in first.header.value
        assert first.listing.disabled and first.listing.comm is not None  # still on show
        first.close()  # closing it later closes its widgets
        assert first.listing.comm is None
        # Re-running the cell that creates the tap replaces the tap too: still one updater.
        tap = wslab.tap(wslab.echo_server())
        third = inspector(tap)
        assert second.closed and len(inspector_threads()) == 1
        third.close()

    def test_inspector_on_a_stopped_tap(self):
        """An inspector on a tap that already stopped shows its records and starts no thread."""
        tap, _ = traffic(["Hello"])
        tap.wait_for(6)
        tap.stop()
        view = inspector(tap)
        assert view.model.total == 6 and "stopped" in view.model.header
        assert inspector_threads() == []

    def test_a_failing_updater_says_so_quietly(self, capfd, monkeypatch):
        """If a refresh raises, the updater ends and the header tells why; nothing is printed."""
        tap = wslab.tap(wslab.echo_server())
        view = inspector(tap)

        def broken(*args):
            raise RuntimeError("boom")

        monkeypatch.setattr(view.model, "update", broken)
        with wslab.connect(tap.url) as client:
            client.request("Hello")
        wait_until(lambda: view.error)
        wait_until(lambda: not inspector_threads())
        assert view.error == "RuntimeError: boom" and "boom" in view.header.value
        assert capfd.readouterr() == ("", "")
