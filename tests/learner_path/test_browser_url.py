"""Which URL the browser uses: direct on the kernel's machine, through Jupyter when hosted."""

from __future__ import annotations

import json
import os

import pytest

from wslab.browser_url import (
    JupyterServer,
    Route,
    browser_origins,
    browser_url,
    jupyter_server,
    route,
)


@pytest.fixture
def runtime(tmp_path):
    """An environment whose Jupyter runtime folder is `tmp_path`, with no hub variables."""
    return {"JUPYTER_RUNTIME_DIR": str(tmp_path), "JPY_PARENT_PID": "424242"}


def write_server(runtime, base_url, url, pid="424242"):
    """The runtime file a Jupyter server with `pid` writes at start."""
    path = os.path.join(runtime["JUPYTER_RUNTIME_DIR"], f"jpserver-{pid}.json")
    with open(path, "w") as file:
        json.dump({"base_url": base_url, "url": url, "pid": int(pid)}, file)


def test_no_jupyter_means_direct(runtime):
    """A kernel that no Jupyter server started (a script, a test's kernel): the direct URL."""
    assert jupyter_server(runtime) is None
    assert route(runtime) is Route.DIRECT
    assert browser_url(4321, environ=runtime) == "http://127.0.0.1:4321/"
    assert browser_url(4321, "/ws", scheme="ws", environ=runtime) == "ws://127.0.0.1:4321/ws"
    assert browser_origins(runtime) == []


def test_local_jupyterlab_at_the_root_is_direct(runtime):
    """`make lab`: JupyterLab at http://127.0.0.1:8888/, the browser on the same machine."""
    write_server(runtime, "/", "http://127.0.0.1:8888/")
    assert jupyter_server(runtime) == JupyterServer(
        "/", ("http://127.0.0.1:8888", "http://localhost:8888")
    )
    assert browser_url(4321, environ=runtime) == "http://127.0.0.1:4321/"


def test_a_base_url_means_the_proxy(runtime):
    """A server under /user/learner/ (how a hub runs it): the proxy path on the server's origin,
    whose origin the browser's pages carry."""
    write_server(runtime, "/user/learner/", "http://127.0.0.1:8888/user/learner/")
    assert route(runtime) is Route.PROXY
    assert browser_url(4321, environ=runtime) == "/user/learner/proxy/4321/"
    assert browser_url(4321, "/chat.js", environ=runtime) == "/user/learner/proxy/4321/chat.js"
    assert browser_origins(runtime) == ["http://127.0.0.1:8888", "http://localhost:8888"]


def test_another_servers_runtime_file_is_not_ours(runtime):
    """Only the server that started this kernel counts, not another one on the machine."""
    write_server(runtime, "/user/other/", "http://127.0.0.1:9999/user/other/", pid="1")
    assert jupyter_server(runtime) is None


def test_a_hub_prefix_alone_means_the_proxy(runtime):
    """JupyterHub's variable names the prefix; its public origin is not known to the kernel."""
    env = {**runtime, "JUPYTERHUB_SERVICE_PREFIX": "/user/ann/"}
    assert browser_url(80, environ=env) == "/user/ann/proxy/80/"
    assert browser_origins(env) == []


def test_the_public_url_gives_absolute_urls_and_the_origin(runtime):
    """WSLAB_JUPYTER_URL: the server as the browser sees it, e.g. behind a hub's HTTPS."""
    env = {**runtime, "WSLAB_JUPYTER_URL": "https://hub.example.org/user/ann/"}
    write_server(runtime, "/user/learner/", "http://127.0.0.1:8888/user/learner/")
    assert browser_url(4321, environ=env) == "https://hub.example.org/user/ann/proxy/4321/"
    assert browser_origins(env) == ["https://hub.example.org"]


@pytest.mark.parametrize("chosen, expected", [("direct", Route.DIRECT), ("PROXY", Route.PROXY)])
def test_an_explicit_route_wins(runtime, chosen, expected):
    """WSLAB_BROWSER_ROUTE overrides the detection both ways."""
    write_server(runtime, "/user/learner/", "http://127.0.0.1:8888/user/learner/")
    assert route({**runtime, "WSLAB_BROWSER_ROUTE": chosen}) is expected


@pytest.mark.parametrize(
    "env, call, message",
    [
        ({"WSLAB_BROWSER_ROUTE": "tunnel"}, lambda e: route(e), "'direct' or 'proxy'"),
        ({"WSLAB_JUPYTER_URL": "hub.example.org"}, lambda e: route(e), r"an http\(s\) URL"),
        ({}, lambda e: browser_url(0, environ=e), "port must be"),
        ({}, lambda e: browser_url(80, "ws", environ=e), "must start with '/'"),
        (
            {"JUPYTERHUB_SERVICE_PREFIX": "/user/a/"},
            lambda e: browser_url(80, host="10.0.0.2", environ=e),
            "only a loopback server",
        ),
    ],
)
def test_bad_settings_are_clear_errors(runtime, env, call, message):
    """A mistyped setting or argument says what is wrong instead of producing a dead URL."""
    with pytest.raises(ValueError, match=message):
        call({**runtime, **env})
