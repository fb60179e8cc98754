"""The lesson's chat page in real Chromium: its few lines of Socket.IO, written for the course,
talk to python-socketio next to a python-socketio client. No third-party JavaScript anywhere.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from pathlib import Path

import pytest
import socketio
from playwright.sync_api import expect, sync_playwright

import wslab

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
TIMEOUT = 5.0


def test_no_socketio_client_library_is_copied_into_the_repository():
    """No socket.io-client build in the tracked files, and the page loads no script by URL."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [f for f in tracked if "socket.io" in Path(f).name.lower() and f.endswith(".js")]
    page = (ROOT / "wslab" / "socketio" / "static" / "index.html").read_text()
    assert "src=" not in page


def test_page_chats_with_a_python_client():
    """Typed on the page, a message reaches a python-socketio client; the client's reaches the
    page (rendered as text)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no browser at {CHROMIUM}")
    server = wslab.socketio_server()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(TIMEOUT * 2)

    client = socketio.AsyncSimpleClient()
    try:
        run(client.connect(server.url, transports=["websocket"]))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page()
                page.goto(server.url)
                # The page shows "(connected)" when the server answers its 40: from then on,
                # broadcasts reach it.
                expect(page.locator("#messages li").first).to_have_text("(connected)")
                run(client.call("chat message", "<b>from python</b>", timeout=TIMEOUT))
                expect(page.locator("#messages li").last).to_have_text("<b>from python</b>")
                page.fill("#input", "from the page")
                page.click("button")
                received = [run(client.receive(timeout=TIMEOUT)) for _ in range(2)]
                assert received[1][:2] == ["chat message", "from the page"]
                expect(page.locator("#messages li").last).to_have_text("from the page")
            finally:
                browser.close()
    finally:
        run(client.disconnect())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT)
