"""The reverse proxy: real nginx and the user-space stand-in behave the same for WebSockets."""

from __future__ import annotations

import os
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

import wslab
from wslab import protocol
from wslab.production import BROKEN, ProxyConfig, access_log, find_nginx, reverse_proxy
from wslab.production.proxy import nginx_config, rewrite_request

KINDS = [pytest.param(True, id="nginx"), pytest.param(False, id="user-space")]


def test_rewrite_request_as_nginx_does():
    """Broken: HTTP/1.0, no Upgrade, Connection: close. Fixed: 1.1, Upgrade, Connection: upgrade."""
    head = protocol.build_request("127.0.0.1:1", "/chat?token=t", key="x" * 24)
    broken, logged = rewrite_request(head, BROKEN, "127.0.0.1:2")
    request = protocol.parse_request(broken)
    assert (request.version, request.headers.get("Upgrade")) == ("HTTP/1.0", None)
    assert request.headers.get("Connection") == "close"
    assert request.headers.get("Host") == "127.0.0.1:2"
    assert logged == "GET /chat?token=t HTTP/1.1"
    fixed = protocol.parse_request(rewrite_request(head, ProxyConfig(), "127.0.0.1:2")[0])
    assert fixed.version == "HTTP/1.1"
    assert (fixed.headers.get("Upgrade"), fixed.headers.get("Connection")) == (
        "websocket",
        "upgrade",
    )
    assert fixed.headers.get("Sec-WebSocket-Key") == "x" * 24


def test_bad_settings_are_refused_early():
    """A timeout nginx cannot take, or an HTTP version it does not speak, is a ValueError."""
    for bad in ({"read_timeout": 0}, {"read_timeout": -1}, {"http_version": "2"}):
        with pytest.raises(ValueError):
            ProxyConfig(**bad)


def test_nginx_config_has_the_three_settings():
    """The fixed config sets 1.1, both headers and the timeout; the broken one only 1.0."""
    good = nginx_config(ProxyConfig(read_timeout=2), 8080, "127.0.0.1:9", "/tmp/w")
    assert "proxy_http_version 1.1;" in good and "proxy_read_timeout 2000ms;" in good
    assert "proxy_set_header Upgrade $http_upgrade;" in good
    assert 'proxy_set_header Connection "upgrade";' in good
    bad = nginx_config(BROKEN, 8080, "127.0.0.1:9", "/tmp/w")
    assert "proxy_http_version 1.0;" in bad and "Upgrade" not in bad


def status(url: str) -> int | str:
    try:
        with wslab.connect(url) as ws:
            return ws.request("hi")
    except InvalidStatus as exc:
        return exc.response.status_code


@pytest.fixture(params=KINDS)
def use_nginx(request):
    if request.param:
        assert find_nginx(), "nginx is not installed: make test installs it (apt-get install nginx)"
    return request.param


def test_broken_then_fixed(use_nginx):
    """Defaults: 505; 1.1 without the headers: 426; the right config: the echo works."""
    server = wslab.echo_server()
    assert status(reverse_proxy(server, BROKEN, nginx=use_nginx).url) == 505
    half = ProxyConfig(http_version="1.1", pass_upgrade=False)
    assert status(reverse_proxy(server, half, nginx=use_nginx).url) == 426
    proxy = reverse_proxy(server, ProxyConfig(), nginx=use_nginx)
    assert status(proxy.url + "?token=abc") == "hi"
    assert access_log(proxy, lines=1) == ['127.0.0.1 "GET /?token=abc HTTP/1.1" 101']


def test_read_timeout_cuts_a_silent_connection_and_pings_keep_it(use_nginx):
    """A server silent for read_timeout loses the connection (1006); one that pings doesn't."""
    quiet = wslab.echo_server(name="quiet", ping_interval=None)
    proxy = reverse_proxy(quiet, ProxyConfig(read_timeout=0.5), nginx=use_nginx)
    with wslab.connect(proxy.url) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1006
    pinging = wslab.echo_server(name="pinging", ping_interval=0.15)
    proxy = reverse_proxy(pinging, ProxyConfig(read_timeout=0.5), nginx=use_nginx)
    with wslab.connect(proxy.url) as ws:
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1.5)
        assert ws.request("alive") == "alive"


def test_stop_all_stops_nginx():
    """After wslab.stop_all() nginx's process and its folder are gone; its log is still readable."""
    assert find_nginx()
    proxy = reverse_proxy(wslab.echo_server(), nginx=True)
    pid, folder = proxy.pid, proxy.workdir
    os.kill(pid, 0)  # running
    with wslab.connect(proxy.url) as ws:
        ws.request("hi")
    access_log(proxy, lines=1)
    wslab.stop_all()
    assert not folder.exists()
    assert proxy.access_log() == ['127.0.0.1 "GET / HTTP/1.1" 101']  # kept after the stop
    deadline = time.monotonic() + 5
    with pytest.raises(ProcessLookupError):
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.01)
