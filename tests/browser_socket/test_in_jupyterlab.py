"""wslab.browser_socket() in real JupyterLab and Chromium: the page that shows the notebook runs
the WebSocket, and Python drives it, blocking, while its code runs.

JupyterLab is started as `make lab` starts it (rooted at a scratch folder holding one notebook),
once as on a laptop and once under a hub's base URL. A kernel the server started is attached
to the notebook (a session, as opening it would make) and the notebook is opened in Chromium;
the test then runs code in that kernel. Each socket's widget model is created by the page from
the kernel's messages, and its WebSocket opens in the page.
"""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlsplit

import nbformat
import pytest
from learner_path.lab_server import Kernel, isolated_env, running_lab
from playwright.sync_api import expect

from wslab.lab import lab_command, lab_environment

NOTEBOOK = "browser.ipynb"

SETUP = """
import base64, json, wslab
from wslab.browser_socket import OpenFailed
server = wslab.echo_server()
tap = wslab.tap(server)

def handshake(tap, conn):
    # Wait for both heads: through the Jupyter server's proxy, the page's open event comes
    # before our server has answered the proxy.
    request, response = tap.wait_for(2, conn=conn)[:2]
    return {"request": {k.lower(): v for k, v in request.headers}, "status": response.start_line}
"""


@pytest.fixture(scope="module", params=["/", "/user/learner/"], ids=["local", "hosted"])
def notebook(request, tmp_path_factory, browser):
    """(kernel, page, lab origin, base URL, WebSocket URLs the page opened)."""
    base = request.param
    tmp = tmp_path_factory.mktemp("lab")
    shown = nbformat.v4.new_code_cell("shown = wslab.browser_socket(server.url)\nshown")
    nbformat.write(nbformat.v4.new_notebook(cells=[shown]), tmp / NOTEBOOK)
    # make lab's command line and environment, rooted at the scratch folder.
    command = lab_command(
        "--no-browser", "--ServerApp.port=0", f"--ServerApp.base_url={base}", root=tmp
    )
    with running_lab(command, isolated_env(tmp, lab_environment()), cwd=tmp) as lab:
        kernel = Kernel(lab)
        context = browser.new_context()
        try:
            _post_json(lab, "api/sessions", {
                "path": NOTEBOOK, "name": NOTEBOOK, "type": "notebook",
                "kernel": {"id": kernel.id},
            })  # fmt: skip
            page = context.new_page()
            sockets: list[str] = []
            page.on("websocket", lambda socket: sockets.append(socket.url))
            page.goto(f"{lab.url}lab/tree/{NOTEBOOK}?token={lab.token}")
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status=idle]")).to_have_count(
                1, timeout=60_000
            )
            kernel.run(SETUP)
            jupyter = urlsplit(lab.url)
            yield kernel, page, f"{jupyter.scheme}://{jupyter.netloc}", base, sockets
            kernel.run("wslab.stop_all()")
        finally:
            context.close()
            kernel.close()


def run(kernel: Kernel, code: str) -> dict:
    """Run `code` in the kernel; the JSON object it printed last."""
    return json.loads(kernel.run(code).strip().splitlines()[-1])


def test_text_and_binary_messages_both_ways(notebook):
    """The page's socket opens; a text comes back as a string, bytes as a Blob, then (after
    binaryType = "arraybuffer") as an ArrayBuffer; close(4000, reason) ends cleanly."""
    kernel, _, _, base, _ = notebook
    result = run(kernel, """
ws = wslab.browser_socket(tap.url)
ws.wait_open(timeout=20)
opened = (ws.ready_state.name, ws.protocol, ws.binary_type.value)
ws.send("hello")
text = ws.next_message()
ws.send(b"\\x00\\x01\\xff")
blob = ws.next_message()
ws.binary_type = "arraybuffer"
ws.send(b"\\x02")
buffer = ws.next_message()
ws.close(4000, "done")
closed = ws.wait_closed()
print(json.dumps({
    "opened": opened,
    "messages": [[m.type.value, m.data if isinstance(m.data, str) else m.data.hex()]
                 for m in (text, blob, buffer)],
    "close": [closed.code, closed.reason, closed.was_clean], "state": ws.ready_state.name,
    "events": [type(e).__name__ for e in ws.events],
}))
""")  # fmt: skip
    assert result["opened"] == ["OPEN", "", "blob"]
    assert result["messages"] == [["string", "hello"], ["Blob", "0001ff"], ["ArrayBuffer", "02"]]
    # jupyter-server-proxy relays a close's code but not its reason.
    assert result["close"] == [4000, "done" if base == "/" else "", True]
    assert result["state"] == "CLOSED"
    assert result["events"] == ["Open", "Message", "Message", "Message", "Close"]


def test_the_tap_records_chromiums_handshake(notebook):
    """The handshake the tap recorded is Chromium's: its User-Agent, and the Origin of the
    JupyterLab page (the page's own location.origin, which Python learns from the page)."""
    kernel, page, origin, base, sockets = notebook
    result = run(kernel, """
fresh = wslab.tap(server, name="handshake tap")
ws = wslab.browser_socket(fresh.url).wait_open(timeout=20)
print(json.dumps({"handshake": handshake(fresh, 1),
                  "page": [ws.page.origin, ws.page.user_agent]}))
ws.close()
""")  # fmt: skip
    headers = result["handshake"]["request"]
    assert result["page"] == [origin, page.evaluate("navigator.userAgent")]
    assert "Chrome/" in headers["user-agent"]
    assert result["handshake"]["status"].startswith("HTTP/1.1 101")
    if base == "/":
        assert headers["origin"] == origin
        assert headers["user-agent"] == result["page"][1]
    else:  # through the Jupyter server only: nothing went to the kernel's ports directly
        prefix = origin.replace("http", "ws", 1) + base
        assert sockets and all(url.startswith(prefix) for url in sockets), sockets


def test_the_widget_shows_the_state_and_the_live_log(notebook):
    """Run from the notebook, the cell shows the socket's state and its events as they come."""
    kernel, page, *_ = notebook
    page.locator(".jp-Cell .cm-content").first.click()
    page.keyboard.press("Shift+Enter")
    widget = page.locator(".wslab-browser-socket")
    expect(widget).to_contain_text("readyState 1 (OPEN)", timeout=30_000)
    run(kernel, 'shown.send("on show"); print(json.dumps(shown.next_message().data))')
    expect(widget.locator("tr").last).to_contain_text('"on show"')
    run(kernel, "shown.close(); print(json.dumps(shown.wait_closed().code))")
    expect(widget).to_contain_text("readyState 3 (CLOSED)")
    expect(widget.locator("tr").last).to_contain_text("code 1000")


def test_the_browsers_errors_reach_python(notebook):
    """close(1005) is refused by the browser itself (InvalidAccessError), and Python raises it."""
    kernel, *_ = notebook
    result = run(kernel, """
from wslab.browser_socket import BrowserError
ws = wslab.browser_socket(server.url).wait_open(timeout=20)
try:
    ws.close(1005)
except BrowserError as exc:
    thrown = [exc.name, str(exc)]
ws.close()
print(json.dumps({"thrown": thrown, "close": ws.wait_closed().code}))
""")  # fmt: skip
    assert result["thrown"][0] == "InvalidAccessError"
    assert "1005" in result["thrown"][1]
    assert result["close"] == 1000


def test_an_origin_allow_list_refuses_then_admits_the_lab(notebook):
    """A server that admits only https://example.org answers the lab page's handshake with 403
    (the tap sees it, with the page's Origin); the page sees close 1006, not clean, after an
    error event (directly) or after an open event (through the Jupyter server, whose proxy
    accepts the page before it asks the server). Admitting the page's origin lets it in."""
    kernel, _, origin, base, _ = notebook
    result = run(kernel, """
strict = wslab.echo_server(name="strict", origins=["https://example.org"])
strict_tap = wslab.tap(strict, name="strict tap")
ws = wslab.browser_socket(strict_tap.url)
try:
    ws.wait_open(timeout=20)
    refused = ""
except OpenFailed as exc:
    refused = str(exc)
close = ws.wait_closed()
refusal = handshake(strict_tap, 1)
admitting = wslab.echo_server(name="strict", origins=[ws.page.origin])
admitting_tap = wslab.tap(admitting, name="strict tap")
again = wslab.browser_socket(admitting_tap.url).wait_open(timeout=20)
again.send("let in")
print(json.dumps({
    "refused": refused, "status": refusal["status"], "origin": refusal["request"].get("origin"),
    "events": [type(e).__name__ for e in ws.events], "close": [close.code, close.was_clean],
    "admitted": again.next_message().data, "page_origin": ws.page.origin,
}))
again.close()
""")  # fmt: skip
    assert result["status"].startswith("HTTP/1.1 403")
    assert result["origin"] == result["page_origin"] == origin
    assert result["close"] == [1006, False]
    if base == "/":
        assert result["events"] == ["Error", "Close"]
        assert "could not open" in result["refused"]
    else:
        assert result["events"] == ["Open", "Close"]
        assert result["refused"] == ""
    assert result["admitted"] == "let in"


def _post_json(lab, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        lab.url + path,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        return json.loads(response.read())


def test_the_backpressure_comparison_and_a_handler_from_python(notebook):
    """From JupyterLab's page: the comparison measures both APIs (send() never waits, the
    writer holds one message, and reaching the reader directly it is held back before it gets
    all the way ahead); a handler from Python shows its output and its error.

    Through the Jupyter server the writer is held back by the proxy, which reads whatever it is
    sent (measured: 58 of 64 messages ahead), not by the reader: nothing is claimed there."""
    kernel, _, _, base, _ = notebook
    result = run(kernel, """
import asyncio
from wslab.browser_socket import JavaScriptError

async def reads_slowly(websocket):
    read = 0
    async for _ in websocket:
        await asyncio.sleep(0.002)
        read += 1
        await websocket.send(str(read))

reader = wslab.serve(reads_slowly, max_queue=1, max_size=None)
ws = wslab.browser_socket(server.url).wait_open(timeout=20)
compared = ws.compare_backpressure(reader.url, count=64, size=256 * 1024)
ws.on("message", "if (event.data === 'boom') null.x; show(event.data.toUpperCase());")
ws.send("quiet")
shown = ws.next_output()
ws.send("boom")
try:
    ws.next_output()
except JavaScriptError as exc:
    thrown = [exc.name, exc.line]
ws.close()
print(json.dumps({
    "ahead": [compared.websocket.ahead[-1], compared.stream.most_ahead],
    "held": [compared.websocket.peak_held, compared.stream.peak_held],
    "shown": shown, "thrown": thrown,
}))
""")  # fmt: skip
    assert result["held"] == [64 * 256 * 1024, 256 * 1024]
    assert result["ahead"][0] == 64
    if base == "/":
        assert result["ahead"][1] < 64
    assert result["shown"] == "QUIET"
    assert result["thrown"] == ["TypeError", 1]
