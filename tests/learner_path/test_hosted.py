"""Hosted JupyterLab: the browser reaches the kernel's machine only through the Jupyter server.

JupyterLab is started the way `make lab` starts it, plus the base URL a hub gives a user's
server (``--ServerApp.base_url=/user/learner/``). A kernel the server starts runs the chat;
Chromium opens the chat page at the URL wslab gives (`ChatServer.page_url`), and every request
the page makes, its WebSocket included, must go to the Jupyter server's port under its base URL:
jupyter-server-proxy carries them to the chat. A Python member in the room proves that chatting
works both ways.
"""

from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit

import pytest
from lab_server import Kernel, isolated_env, running_lab
from playwright.sync_api import expect

import wslab

BASE = "/user/learner/"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    """JupyterLab under /user/learner/, and a kernel of its own running the chat server."""
    tmp = tmp_path_factory.mktemp("hosted")
    command = [
        sys.executable, "-m", "wslab", "lab", "--no-browser", "--ServerApp.port=0",
        f"--ServerApp.base_url={BASE}",
    ]  # fmt: skip
    with running_lab(command, isolated_env(tmp), cwd=tmp) as lab:
        kernel = Kernel(lab)
        try:
            printed = kernel.run(
                "import json, wslab\n"
                "chat = wslab.chat_server()\n"
                "print(json.dumps({'page': chat.page_url, 'port': chat.port}))\n"
            )
            yield lab, json.loads(printed)
            kernel.run("wslab.stop_all()")
        finally:
            kernel.close()


def test_the_page_url_goes_through_the_jupyter_server(hosted):
    """In a kernel of a server with a base URL, the chat page is the proxy path on that server."""
    lab, chat = hosted
    assert lab.info["base_url"] == BASE
    assert chat["page"] == f"{BASE}proxy/{chat['port']}/"


def test_chatting_through_the_proxy_only(hosted, browser):
    """The proxied page loads, its WebSocket opens through the Jupyter server, and a message
    goes from the page to a Python member and back; nothing goes to the chat's own port."""
    lab, chat = hosted
    jupyter = urlsplit(lab.url)
    origin = f"{jupyter.scheme}://{jupyter.netloc}"
    context = browser.new_context()
    try:
        page = context.new_page()
        requests, sockets, errors = [], [], []
        page.on("request", lambda request: requests.append(request.url))
        page.on("websocket", lambda socket: sockets.append(socket.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        # The token logs the browser in (a cookie), as a hub's login would.
        page.goto(f"{origin}{chat['page']}?token={lab.token}")
        page.get_by_test_id("nick-input").fill("web")
        page.get_by_test_id("join-button").click()
        expect(page.get_by_test_id("status")).to_have_text("online")

        with wslab.connect(f"ws://127.0.0.1:{chat['port']}/ws") as member:
            member.send(json.dumps({"type": "join", "nick": "py"}))
            assert next_of(member, "welcome")["type"] == "welcome"
            box = page.get_by_test_id("message-input")
            box.fill("hello from the browser")
            box.press("Enter")
            said = next_of(member, "message")
            assert (said["from"], said["text"]) == ("web", "hello from the browser")
            member.send(json.dumps({"type": "say", "text": "hello from Python"}))
            expect(page.locator("[data-testid=message] .text").last).to_have_text(
                "hello from Python"
            )

        prefix = f"{origin}{BASE}proxy/{chat['port']}/"
        assert sockets == [prefix.replace("http", "ws", 1) + "ws"]
        assert requests and all(url.startswith(prefix) for url in requests), requests
        assert errors == []
    finally:
        context.close()


def next_of(member, kind: str) -> dict:
    """The next message of type `kind`, skipping the others (presence, acks, typing)."""
    while (message := json.loads(member.recv(timeout=10)))["type"] != kind:
        pass
    return message
