"""Behind a hub, the chat admits the origin its page was served to through Jupyter, and only it.

The kernel cannot see a hub's public address (https://hub.example.org): the chat learns it from
the page request that jupyter-server-proxy forwards (X-Forwarded-Context, the browser's Host,
the hub's X-Forwarded-Proto). These tests send those requests as the proxy would, on a chat
server told that it is hosted (WSLAB_BROWSER_ROUTE=proxy).
"""

from __future__ import annotations

import http.client

import pytest
import websockets

import wslab
from wslab.browser_url import forwarded_origin

HUB = {"Host": "hub.example.org", "X-Forwarded-Proto": "https"}
PROXIED = {**HUB, "X-Forwarded-Context": "/user/ann/proxy/4321"}


@pytest.fixture
def hosted_chat(monkeypatch):
    monkeypatch.setenv("WSLAB_BROWSER_ROUTE", "proxy")
    monkeypatch.delenv("WSLAB_JUPYTER_URL", raising=False)
    return wslab.chat_server()


def get_page(server, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        connection.request("GET", "/", headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def refused(server, origin: str) -> bool:
    try:
        wslab.connect(server.url, origin=origin).close()
    except websockets.InvalidStatus as error:
        assert error.response.status_code == 403
        return True
    return False


def test_the_hub_origin_is_admitted_after_its_page_came_through_the_proxy(hosted_chat):
    """Before the proxied page request the hub's origin is refused; after it, admitted."""
    assert refused(hosted_chat, "https://hub.example.org")
    assert get_page(hosted_chat, PROXIED) == 200
    assert not refused(hosted_chat, "https://hub.example.org")
    assert refused(hosted_chat, "http://evil.example")


def test_a_page_request_without_the_proxy_mark_teaches_nothing(hosted_chat):
    """A request a browser could send from any site (no X-Forwarded-Context) adds no origin."""
    assert get_page(hosted_chat, HUB) == 200
    assert refused(hosted_chat, "https://hub.example.org")


def test_a_direct_chat_never_learns_origins(monkeypatch):
    """On the kernel's own machine (direct route) the allow-list stays the page's own origin."""
    monkeypatch.setenv("WSLAB_BROWSER_ROUTE", "direct")
    server = wslab.chat_server()
    assert get_page(server, PROXIED) == 200
    assert refused(server, "https://hub.example.org")


@pytest.mark.parametrize(
    "headers, origin",
    [
        (PROXIED, "https://hub.example.org"),
        ({**PROXIED, "X-Forwarded-Proto": "https, http"}, "https://hub.example.org"),
        ({"Host": "127.0.0.1:8888", "X-Forwarded-Context": "/proxy/1"}, "http://127.0.0.1:8888"),
        (HUB, None),
        ({**PROXIED, "Host": "evil.example; connect-src *"}, None),
        ({**PROXIED, "X-Forwarded-Proto": "javascript"}, None),
    ],
)
def test_forwarded_origin(headers, origin):
    """Only a well-formed request marked by the proxy gives an origin."""
    assert forwarded_origin(headers) == origin
