"""Lessons 02 and 03 Run All in JupyterLab (started as `make lab` starts it) in Chromium, and
their browser-socket cells show the browser's live results, not the "needs a browser" note."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from learner_path.lab_server import isolated_env, running_lab
from playwright.sync_api import expect

from wslab.lab import NOTEBOOKS, lab_command, lab_environment

#: What the browser cells of each lesson print when a page runs them.
EXPECTED = {
    "02_first_websocket.ipynb": [
        "readyState: 1",
        "string 'Hello from the browser'",
        "event.data: ArrayBuffer",
        "code=4000 reason='lesson over' wasClean=true",
        "the browser threw InvalidAccessError",
        "this browser has WebSocketStream: True",
        # The comparison's figures that do not depend on timing: send() handed over all 96
        # messages before any was read, all 24 MiB waited in the page; the writer held one.
        re.compile(r"WebSocket +\d+ ms +\d+ ms +96 messages +25,165,824 \(bufferedAmount\)"),
        re.compile(r"WebSocketStream +\d+ ms +\d+ ms +\d+ messages +262,144 \(pending writes\)"),
        "21 doubled is 42",
        "the browser threw RangeError at line 3: not a number: twenty-one",
        "the browser threw SyntaxError: missing ) after argument list",
    ],
    "03_opening_handshake.ipynb": [
        "Origin: http://127.0.0.1:",
        "S→C HTTP/1.1 403 Forbidden",
        "let in",
        "GET /?ticket=one-time-7f3a9c HTTP/1.1",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_run_all_shows_the_browsers_results(name, tmp_path, browser):
    """Run All reaches the last cell; errors only in cells tagged raises-exception; no browser
    cell says it needs a browser; each expected result of the page is on show."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in notebook.cells:  # the learner's view of a fresh lesson: nothing ran yet
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / name)
    # Every cell in the page, not just those on screen, so that all outputs can be read.
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    command = lab_command("--no-browser", "--ServerApp.port=0", root=tmp_path)
    with running_lab(command, isolated_env(tmp_path, lab_environment()), cwd=tmp_path) as lab:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{lab.url}lab/tree/notebooks/{name}?token={lab.token}")
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_have_count(1, timeout=60_000)
            page.locator(".jp-Cell").first.click()
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
            prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
            expect(prompts.last).to_have_text(re.compile(r"\[\d+\]:"), timeout=300_000)
            code = [c for c in notebook.cells if c.cell_type == "code"]
            assert [p.inner_text() for p in prompts.all()] == [
                f"[{n}]:" for n in range(1, len(code) + 1)
            ]
            cells = page.locator(".jp-CodeCell").all()
            for cell, source in zip(cells, code, strict=True):
                failed = cell.locator("[data-mime-type='application/vnd.jupyter.stderr']").count()
                tagged = "raises-exception" in source.metadata.get("tags", [])
                assert bool(failed) == tagged, source.source
            shown = "\n".join(c.locator(".jp-OutputArea").inner_text() for c in cells)
            assert "needs the notebook open in JupyterLab" not in shown
            for expected in EXPECTED[name]:
                if isinstance(expected, re.Pattern):
                    assert expected.search(shown), expected.pattern
                else:
                    assert expected in shown
            if name == "02_first_websocket.ipynb":
                _assert_the_comparison_is_drawn_and_led_by_the_reader(page, cells, code, shown)
        finally:
            context.close()


def _assert_the_comparison_is_drawn_and_led_by_the_reader(page, cells, code, shown) -> None:
    """Lesson 02's comparison cell shows its picture; WebSocketStream's sender was never as far
    ahead as WebSocket's; the page's JavaScript errors show in red in the widget."""
    index = next(n for n, c in enumerate(code) if "compare_backpressure" in c.source)
    expect(cells[index].locator(".jp-OutputArea img")).to_have_count(1)
    ahead = dict(re.findall(r"^(WebSocket|WebSocketStream) .*?(\d+) messages", shown, re.M))
    assert int(ahead["WebSocketStream"]) < int(ahead["WebSocket"]) == 96
    threw = page.locator(".wslab-browser-socket tr[data-what='message handler threw']")
    expect(threw).to_contain_text("RangeError: not a number: twenty-one (line 3)")
