"""A page that runs the widget's front end outside JupyterLab: faster than a lab, same code.

The page is served from 127.0.0.1 (Chromium lets only a page on loopback open loopback
WebSockets) and imports the real static/browser_socket.js. anywidget's side is what the module
uses of it: a model whose ``get()`` reads the widget's synced values, and an element to render
into. Everything else is real: Chromium, the report channel, the servers.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from wslab.browser_socket import BrowserSocket

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>browser socket</title>
<div id="widget"></div>
<script type="module">
import widget from "./browser_socket.js";
const values = %s;
const model = { get: (name) => values[name], on() {}, off() {} };
widget.initialize({ model });
widget.render({ model, el: document.getElementById("widget") });
</script>
"""


@contextlib.contextmanager
def page_running(browser, socket: BrowserSocket, folder: Path, before: str = "") -> Iterator:
    """A Playwright page that runs `socket`'s front end; its server is stopped afterwards.
    `before` is JavaScript run in the page before any of its own."""
    static = resources.files("wslab.browser_socket").joinpath("static", "browser_socket.js")
    (folder / "browser_socket.js").write_text(static.read_text())
    view = socket.view
    values = {name: getattr(view, name) for name in ("url", "protocols", "report_url", "token")}
    (folder / "index.html").write_text(PAGE % json.dumps(values))
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context()
    if before:
        context.add_init_script(before)
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        yield page
    finally:
        context.close()
        server.shutdown()
        server.server_close()
        thread.join()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the base class's signature)
        pass
