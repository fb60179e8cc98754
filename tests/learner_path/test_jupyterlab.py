"""Every lesson, Run All through JupyterLab's own UI in Chromium: what a learner does first.

JupyterLab is started with `wslab.lab`'s command line and environment (what `make lab` runs) on
a copy of the course (JupyterLab saves what it runs; the repository stays as it is). For each
lesson: clear the outputs, Run > Run All Cells, wait until no cell is queued and the kernel is
idle, save, and check the saved notebook: every code cell ran, and the only errors are in cells
tagged ``raises-exception``. In the page: no widget failed to render. Then what a learner clicks:
a frame's bytes in the inspector (lessons using `wslab.inspector`), the chat panel and the chat
page in its IFrame (lesson 06), and an exercise file opened from a lesson's link.

Each lesson's Run All time is printed; with ``WSLAB_RECORD_RESULTS=1`` in the environment it is
also written to benchmarks/results/jupyterlab_run_all.md (a plain test run changes no file).
Waiting is on the page's state (Playwright's `expect`, `wait_for_function`), never on sleeps.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from lab_server import isolated_env, running_lab
from playwright.sync_api import Page, expect

from wslab.lab import lab_command, lab_environment

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
RESULTS = ROOT / "benchmarks" / "results" / "jupyterlab_run_all.md"

pytestmark = pytest.mark.minutes

#: Milliseconds a lesson's Run All may take in the UI (measured 4-28 s on 2 shared cores).
RUN_ALL_TIMEOUT = 240_000
#: Milliseconds for JupyterLab's page, a kernel, a widget or a chat message to appear.
UI_TIMEOUT = 60_000

#: The status bar once the lesson's kernel has started and waits.
KERNEL_IDLE = re.compile(r"Python 3 \(ipykernel\) \| Idle")

#: Run All is over once cell `last` (a code cell index; -1 the last) has its number and the
#: kernel is idle. The kernel runs what Run All sends in order, so that cell runs last. Not "no
#: cell shows [*]": after a cell tagged raises-exception fails, JupyterLab clears the [*] of
#: the cells still queued, which the kernel runs all the same. It is also over, stopped, when a
#: cell not in `tagged` (the raises-exception cells) shows a traceback, the kernel is idle and no
#: cell waits ([*]): a traceback written to stderr while cells still run is no stop (the test
#: then fails on that stderr), and the kernel is idle for a moment between two cells.
RUN_ALL_DONE = """([last, tagged]) => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const bar = document.querySelector('#jp-main-statusbar');
    if (!panel || !bar || !/\\(ipykernel\\) \\| Idle/.test(bar.textContent)) return false;
    const cells = [...panel.querySelectorAll('.jp-CodeCell')];
    const cell = cells[last < 0 ? cells.length + last : last];
    const prompt = cell && cell.querySelector('.jp-InputPrompt');
    if (prompt && /\\[\\d+\\]/.test(prompt.textContent)) return true;
    if (cells.some(c => /\\[\\*\\]/.test(c.querySelector('.jp-InputPrompt').textContent))) {
        return false;
    }
    return cells.some((c, i) => !tagged.includes(i) && [...c.querySelectorAll(
        '.jp-OutputArea-output')].some(o => o.textContent.includes('Traceback (most recent')));
}"""

expect.set_options(timeout=UI_TIMEOUT)

IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "*.egg-info", "build", ".pytest_cache", ".ruff_cache"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab as `make lab` starts it, rooted at a copy of the course."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    course = tmp / "course"
    shutil.copytree(ROOT, course, ignore=IGNORE)
    env = lab_environment(isolated_env(tmp))
    # JupyterLab 4 renders only the cells in view ("windowing"): to observe every cell's prompt
    # and output in the page, this browser's settings turn that off, as a learner may.
    tracker = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    command = lab_command("--no-browser", "--ServerApp.port=0", root=course)
    with running_lab(command, env, cwd=tmp) as running:
        yield running


@pytest.fixture(scope="module")
def page(lab, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT)
    page.goto(f"{lab.url}lab?token={lab.token}")  # the token logs the browser in (a cookie)
    yield page
    context.close()


@pytest.fixture(scope="module")
def timings():
    """Each lesson's Run All time, printed and written as a table once all have run."""
    times: dict[str, float] = {}
    yield times
    if times:
        lines = ["| lesson | Run All in JupyterLab (s) |", "|---|---|"]
        lines += [f"| {name} | {seconds:.1f} |" for name, seconds in times.items()]
        report = (
            "# Run All in JupyterLab, per lesson\n\n"
            "Measured by tests/learner_path/test_jupyterlab.py (Chromium, a fresh kernel each):\n"
            "`WSLAB_RECORD_RESULTS=1 .venv/bin/python -m pytest "
            "tests/learner_path/test_jupyterlab.py`\n\n"
            + "\n".join(lines)
            + "\n"
        )
        print("\n" + report)
        # A partial or failed run does not replace the table; nor does an ordinary test run.
        if set(times) == set(LESSONS) and os.environ.get("WSLAB_RECORD_RESULTS") == "1":
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(report)


def menu(page: Page, top: str, item: str) -> None:
    """Click JupyterLab's menu `top`, then its entry `item` (exact labels)."""
    dialogs = page.locator(".jp-Dialog")
    if dialogs.count():
        pytest.fail(f"JupyterLab shows a dialog: {dialogs.first.inner_text()!r}")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def open_lesson(page: Page, lab, name: str) -> None:
    """Open `name` alone (a reset workspace) and wait for its kernel to be idle."""
    page.goto(f"{lab.url}lab/tree/notebooks/{name}?reset")
    expect(page.locator(".lm-TabBar-tab.jp-mod-current")).to_contain_text(name)
    # The toolbar's indicator says idle before there is a kernel; the status bar does not.
    expect(page.locator("#jp-main-statusbar")).to_contain_text(KERNEL_IDLE)


def tagged_cells(name: str) -> list[int]:
    """Indexes (among code cells) of the lesson's cells tagged raises-exception."""
    notebook = json.loads((ROOT / "notebooks" / name).read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    return [i for i, c in enumerate(code) if "raises-exception" in c["metadata"].get("tags", [])]


def run_all(page: Page, name: str) -> float:
    """Clear the outputs, Run All Cells, wait until it is over; the seconds it took."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    start = time.monotonic()
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(RUN_ALL_DONE, arg=[-1, tagged_cells(name)], timeout=RUN_ALL_TIMEOUT)
    return time.monotonic() - start


def save(page: Page, lab, name: str) -> dict:
    """Save the notebook from the UI; the notebook as saved."""
    menu(page, "File", "Save Notebook")
    expect(page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")).to_have_count(0)
    status, body = lab.get(f"api/contents/notebooks/{name}")
    assert status == 200
    return json.loads(body)["content"]


def shut_down_kernels(lab) -> None:
    for kernel in json.loads(lab.get("api/kernels")[1]):
        lab.delete(f"api/kernels/{kernel['id']}")


def check_inspector(page: Page) -> None:
    """Click a row of the (first) inspector: the detail pane shows that frame's bytes."""
    inspector = page.locator(".wslab-inspector").first
    inspector.scroll_into_view_if_needed()
    rows = inspector.locator("select option")
    expect(rows.first).to_be_visible()
    rows.nth(rows.count() - 1).click()
    expect(inspector.locator(".wslab-detail pre").first).to_contain_text(
        re.compile(r"[0-9a-f]{2} [0-9a-f]{2}")
    )


def check_chat(page: Page) -> None:
    """With the chat running: the panel sends, and the page in the IFrame joins and chats."""
    panel = page.locator(".wslab-chat").first
    panel.scroll_into_view_if_needed()
    panel.locator("input[type=text]").fill("hello from the panel")
    panel.get_by_role("button", name="Send").click()
    expect(panel).to_contain_text("hello from the panel")

    frame = page.frame_locator(".jp-OutputArea iframe").first
    frame.get_by_test_id("nick-input").fill("visitor")
    frame.get_by_test_id("join-button").click()
    expect(frame.get_by_test_id("status")).to_have_text("online")
    box = frame.get_by_test_id("message-input")
    box.fill("hello from the IFrame")
    box.press("Enter")
    own = frame.locator(
        "[data-testid=message] .text", has_text=re.compile("^hello from the IFrame$")
    )
    expect(own).to_have_count(1)  # (the lesson's bots may answer after it)
    expect(panel).to_contain_text("hello from the IFrame")  # the notebook's member got it


@pytest.mark.parametrize("name", LESSONS)
def test_run_all_in_jupyterlab(lab, page, timings, name):
    """Run All reaches the last cell with errors only where tagged, and every widget renders."""
    open_lesson(page, lab, name)
    seconds = run_all(page, name)
    print(f"{name}: Run All in {seconds:.1f} s")

    notebook = save(page, lab, name)
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    untagged = [
        (i, o["ename"], o["evalue"])
        for i, c in enumerate(code)
        for o in c["outputs"]
        if o["output_type"] == "error" and "raises-exception" not in c["metadata"].get("tags", [])
    ]
    assert untagged == [], "errors in cells not tagged raises-exception"
    not_run = [i for i, c in enumerate(code) if c["execution_count"] is None]
    assert not_run == [], f"code cells {not_run} did not run"
    stderr = [
        (i, "".join(o["text"]))
        for i, c in enumerate(code)
        for o in c["outputs"]
        if o["output_type"] == "stream" and o["name"] == "stderr"
    ]
    assert stderr == [], "cells wrote to stderr (the learner sees it in red)"

    notebook_panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(notebook_panel.get_by_text("Error displaying widget")).to_have_count(0)
    expect(notebook_panel.get_by_text("Loading widget...")).to_have_count(0)

    if "wslab.inspector(" in json.dumps(notebook) and page.locator(".wslab-inspector").count():
        check_inspector(page)
    if name.startswith("06"):
        # Run All ended with wslab.stop_all(): run everything above that cell once more, so
        # that the chat is up for the learner's clicks.
        menu(page, "Edit", "Clear Outputs of All Cells")
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").last.click()
        menu(page, "Run", "Run All Above Selected Cell")
        page.wait_for_function(RUN_ALL_DONE, arg=[-2, tagged_cells(name)], timeout=RUN_ALL_TIMEOUT)
        check_chat(page)
    shut_down_kernels(lab)
    timings[name] = seconds  # only a lesson that passed goes into the table


def test_an_exercise_opens_from_a_lesson_link(lab, page):
    """A lesson's link to its exercise file opens that file in JupyterLab's editor."""
    for name in LESSONS:
        notebook = json.loads((ROOT / "notebooks" / name).read_text())
        text = json.dumps([c["source"] for c in notebook["cells"] if c["cell_type"] == "markdown"])
        if match := re.search(r"\]\((\.\./exercises/(ex\d\d_\w+\.py))\)", text):
            break
    else:
        pytest.fail("no lesson links an exercise file (../exercises/exNN_*.py)")
    open_lesson(page, lab, name)
    # JupyterLab renders a relative link as .../files/exercises/NAME?_xsrf=...: match the path.
    link = page.locator(
        f'.jp-NotebookPanel:not(.lm-mod-hidden) a[href*="/exercises/{match.group(2)}"]'
    )
    link.first.scroll_into_view_if_needed()
    link.first.click()
    expect(page.locator(".lm-TabBar-tab.jp-mod-current")).to_contain_text(match.group(2))
    expect(page.locator(".jp-FileEditor:not(.lm-mod-hidden) .cm-content").first).to_contain_text(
        "def "
    )
    shut_down_kernels(lab)
