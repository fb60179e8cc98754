"""The widget's front end in a real Chromium page (see `widget_page`): code from Python as a
socket's handler, and the two APIs' backpressure against a slow reader."""

from __future__ import annotations

import asyncio

import pytest
from playwright.sync_api import expect
from widget_page import page_running

import wslab
from wslab.browser_socket import Api, BrowserError, HandlerError, JavaScriptError, Message

DOUBLE = """
const n = Number(event.data);
if (Number.isNaN(n)) throw new RangeError(`not a number: ${event.data}`);
show(`${n} doubled is ${2 * n}`);
"""


@pytest.fixture
def echo():
    server = wslab.echo_server(name="page echo")
    yield server
    server.stop()


@pytest.fixture
def page(browser, echo, tmp_path):
    socket = wslab.browser_socket(echo.url)
    with page_running(browser, socket, tmp_path) as page:
        socket.wait_open(timeout=20)
        yield socket, page
    wslab.stop_all()


def test_a_handler_from_python_runs_on_each_message(page):
    """on("message", code) runs the code for each message; show() reaches Python and the
    widget, in the order things happened; setting it again replaces it."""
    socket, shown = page
    socket.on("message", DOUBLE)
    socket.send("21")
    assert socket.next_output() == "21 doubled is 42"
    socket.on("message", "show(`got ${event.data}`);")
    socket.send("7")
    assert socket.next_output() == "got 7"
    socket.on("message", "")
    socket.send("nothing to show")
    assert [socket.next_message().data for _ in range(3)] == ["21", "7", "nothing to show"]
    socket.on("message", "show(`back for ${event.data}`);")
    socket.send("the last")
    # Outputs come in order: a removed handler that still ran would come first.
    assert socket.next_output() == "back for the last"
    assert [m.data for m in socket.events if isinstance(m, Message)] == [
        "21", "7", "nothing to show", "the last",
    ]  # fmt: skip
    expect(shown.locator("#widget tr[data-what=show]")).to_have_count(3)


def test_a_handler_that_throws_shows_its_error_in_the_widget_and_in_python(page):
    """A handler that throws at run time: the widget shows the error, and Python gets it as a
    HandlerError event; next_output() raises it, naming the line of the learner's code."""
    socket, shown = page
    socket.on("message", DOUBLE)
    socket.send("twenty")
    with pytest.raises(JavaScriptError) as thrown:
        socket.next_output()
    assert thrown.value.name == "RangeError"
    assert thrown.value.line == 3
    assert str(thrown.value) == "the browser threw RangeError at line 3: not a number: twenty"
    errors = [e for e in socket.events if isinstance(e, HandlerError)]
    assert [(e.on, e.error.name) for e in errors] == [("message", "RangeError")]
    row = shown.locator("#widget tr[data-what='message handler threw']")
    expect(row).to_contain_text("RangeError: not a number: twenty (line 3)")
    socket.send("4")  # the handler still runs for the next message
    assert socket.next_output() == "4 doubled is 8"


def test_code_that_does_not_compile_raises_at_once_and_shows(page):
    """A syntax error raises JavaScriptError when on() is called, and the widget shows it;
    the handler set before stays in place."""
    socket, shown = page
    socket.on("message", "show(`before: ${event.data}`);")
    with pytest.raises(JavaScriptError) as thrown:
        socket.on("message", "show(event.data;")
    assert thrown.value.name == "SyntaxError"
    expect(shown.locator("#widget tr[data-what=threw]")).to_contain_text("SyntaxError")
    socket.send("still open")
    assert socket.next_output() == "before: still open"


def test_network_text_is_shown_as_text_never_as_html(page):
    """A message and a show() that hold markup appear as text: no element is created."""
    socket, shown = page
    markup = '<img src=x onerror="document.title=\'owned\'"><b id="bold">b</b>'
    socket.on("message", "show(event.data);")
    socket.send(markup)
    assert socket.next_output() == markup
    expect(shown.locator("#widget tr[data-what=show]")).to_contain_text(markup)
    assert shown.locator("#widget img, #widget #bold").count() == 0
    assert shown.title() == "browser socket"


async def reads_slowly(websocket):
    """A slow reader: one message every 2 ms, each confirmed with the count read so far."""
    read = 0
    async for _ in websocket:
        await asyncio.sleep(0.002)
        read += 1
        await websocket.send(str(read))


def test_websocketstream_waits_for_the_reader_and_websocket_does_not(page):
    """Same messages, same slow reader: WebSocket's send() loop ends with every message in
    bufferedAmount and the reader confirming none yet; WebSocketStream's writer holds one
    message at a time and waits for the reader, so it never gets all the way ahead."""
    socket, _ = page
    slow = wslab.serve(reads_slowly, max_queue=1, max_size=None)
    count, size = 96, 256 * 1024
    result = socket.compare_backpressure(slow.url, count=count, size=size)
    classic, stream = result.websocket, result.stream
    assert socket.page.web_socket_stream  # Chromium 156 has it
    assert stream is not None
    # send() never waits: the loop handed over everything before any confirmation could run.
    assert classic.ahead == tuple(range(1, count + 1))
    assert classic.peak_held == count * size
    assert classic.sender_done < classic.reader_done
    # The writer held one message at a time, and the reader held the sender back.
    assert stream.peak_held == size
    assert stream.most_ahead < count
    assert stream.sender_done > classic.sender_done
    assert str(result).splitlines()[0].startswith("API")
    assert f"{count * size:>11,} (bufferedAmount)" in str(result)
    assert [r.api for r in (classic, stream)] == [Api.WEBSOCKET, Api.STREAM]


def test_without_websocketstream_the_comparison_says_so(browser, echo, tmp_path):
    """In a browser without WebSocketStream (here: Chromium with it removed before the page
    runs), the page says so in its hello, and the comparison runs WebSocket alone."""
    socket = wslab.browser_socket(echo.url)
    slow = wslab.serve(reads_slowly, max_queue=1, max_size=None)
    try:
        with page_running(browser, socket, tmp_path, "delete window.WebSocketStream;") as page:
            socket.wait_open(timeout=20)
            result = socket.compare_backpressure(slow.url, count=8, size=1024)
            assert socket.page.web_socket_stream is False
            assert result.stream is None
            assert result.websocket.count == 8
            assert str(result).splitlines()[-1] == "WebSocketStream  this browser does not have it"
            row = page.locator("#widget tr[data-what=WebSocketStream]")
            expect(row).to_contain_text("not in this browser")
    finally:
        wslab.stop_all()


async def never_answers(websocket):
    """Reads every message, confirms none."""
    async for _ in websocket:
        pass


@pytest.mark.parametrize(
    ("handler", "timeout", "error"),
    [
        (None, 30, "it sent a binary message"),  # the echo server sends the message back
        (never_answers, 1, "not done within 1 s: is the server reading?"),
    ],
)
def test_a_server_that_does_not_confirm_ends_the_comparison_with_an_error(
    page, echo, handler, timeout, error
):
    """A server that does not confirm each message with the count read (an echo server, or
    one that never answers) raises BrowserError saying so; the page's socket goes on."""
    socket, _ = page
    target = echo if handler is None else wslab.serve(handler, max_size=None)
    with pytest.raises(BrowserError, match=error):
        socket.compare_backpressure(target.url, count=4, size=1024, timeout=timeout)
    socket.send("still here")
    assert socket.next_message().data == "still here"


def test_a_url_that_is_not_a_websocket_url_is_refused_in_python(page):
    """compare_backpressure() checks its URL as browser_socket() does, before the page runs."""
    socket, _ = page
    with pytest.raises(ValueError, match="starts with ws:// or wss://"):
        socket.compare_backpressure("http://127.0.0.1:9/")


def test_after_the_close_every_wait_for_a_message_says_so(page):
    """Messages not yet returned come first (next_output() has a place of its own: what it
    returned is still next for next_message()); then each next_message() raises
    ConnectionError, the close is not used up."""
    socket, _ = page
    socket.on("message", "show(event.data);")
    socket.send("one")
    assert socket.next_output() == "one"
    socket.close(4001, "done")
    socket.wait_closed()
    assert socket.next_message().data == "one"
    for _ in range(2):
        with pytest.raises(ConnectionError, match="code 4001"):
            socket.next_message(timeout=1)
