"""Safe by default: loopback only, origins checked where a browser connects, sizes bounded,
TLS that works on loopback, and no secret in what the notebooks store."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
from collections.abc import Callable
from typing import Any

import pytest
import websockets
from helpers import Resources, assert_released

import wslab
from wslab.lab import NOTEBOOKS, lab_command
from wslab.tls import local_tls


async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)


FACTORIES: dict[str, Callable[..., Any]] = {
    "serve": lambda **options: wslab.serve(echo, **options),
    "echo_server": lambda **options: wslab.echo_server(**options),
    "push_server": lambda **options: wslab.push_server(**options),
    "http_server": lambda **options: wslab.http_server(interval=None, **options),
    "chat_server": lambda **options: wslab.chat_server(**options),
    "tap": lambda **options: wslab.tap(wslab.echo_server(), **options),
}


def reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return False
    return True


# --- loopback ---------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", FACTORIES)
def test_services_listen_on_loopback_only(factory: str):
    """Every service listens on 127.0.0.1 and nowhere else, unless told otherwise: another
    address of the machine (here 127.0.0.2, which a 0.0.0.0 listener would answer) is refused."""
    service = FACTORIES[factory]()
    assert service.host == "127.0.0.1"
    assert reachable("127.0.0.1", service.port)
    assert not reachable("127.0.0.2", service.port)


@pytest.mark.parametrize("factory", ["serve", "echo_server", "http_server"])
def test_another_address_only_when_asked(factory: str):
    """host= binds where the caller explicitly asks (an address that is still local here)."""
    service = FACTORIES[factory](host="127.0.0.2")
    assert service.host == "127.0.0.2"
    assert reachable("127.0.0.2", service.port)
    assert not reachable("127.0.0.1", service.port)


@pytest.mark.parametrize("function", [wslab.serve, wslab.http_server])
def test_the_docs_warn_before_opening_to_the_network(function):
    """The functions that take host= say, in their documentation, what another host risks."""
    doc = " ".join(function.__doc__.split())
    assert "Warning:" in doc and "reachable from other machines" in doc


def test_jupyterlab_listens_on_loopback_with_its_token():
    """`wslab lab` starts JupyterLab on 127.0.0.1 and keeps its token authentication."""
    command = lab_command()
    assert "--ServerApp.ip=127.0.0.1" in command
    assert not any("token" in part.lower() or "password" in part.lower() for part in command)


# --- origins ----------------------------------------------------------------------------------


def test_the_chat_admits_its_page_and_refuses_other_origins():
    """A browser page on another origin cannot open the chat's WebSocket (403), not even from
    another port of localhost or a sandboxed frame ("null"); the chat's own page can."""
    server = wslab.chat_server()
    page = server.page_url.rstrip("/")
    with wslab.connect(server.url, origin=page) as client:
        client.send(json.dumps({"type": "join", "nick": "page"}))
        assert json.loads(client.recv())["type"] == "welcome"
    other_port = f"http://127.0.0.1:{server.port + 1}"
    for origin in ("http://evil.example", other_port, "null", page.replace("http", "https")):
        with pytest.raises(websockets.InvalidStatus) as refused:
            wslab.connect(server.url, origin=origin)
        assert refused.value.response.status_code == 403, origin


def test_an_allow_list_on_any_server():
    """Any server takes websockets' origins= allow-list."""
    server = wslab.echo_server(origins=["http://course.example"])
    with wslab.connect(server.url, origin="http://course.example") as client:
        assert client.request("ok") == "ok"
    with pytest.raises(websockets.InvalidStatus):
        wslab.connect(server.url, origin="http://evil.example")


# --- size limits ------------------------------------------------------------------------------


@pytest.mark.parametrize(("factory", "limit"), [("echo_server", 2**20), ("serve", 2**20)])
def test_websocket_messages_are_bounded_by_default(factory: str, limit: int):
    """A message one byte over the default limit (1 MiB) closes the connection with 1009."""
    server = FACTORIES[factory]()
    with wslab.connect(server.url) as client:
        assert client.request(bytes(limit)) == bytes(limit)
        client.send(bytes(limit + 1))
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            client.recv()
    assert closed.value.rcvd.code == 1009


def test_the_chat_bounds_messages_and_backlogs():
    """The chat's frame limit and per-member backlog are on by default."""
    server = wslab.chat_server()
    assert 0 < server.options["max_size"] <= 2**20
    assert 0 < server.max_backlog <= 16 * 2**20


def test_http_bodies_and_heads_are_bounded_by_default():
    """The HTTP server answers 413 over max_body and 431 over its head limit."""
    import http.client

    server = wslab.http_server(interval=None)
    for headers, body, status in [
        ({}, bytes(server.max_body + 1), 413),
        ({"X-Big": "x" * 20_000}, b"", 431),
    ]:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
        connection.request("POST", "/echo", body=body, headers=headers)
        assert connection.getresponse().status == status
        connection.close()


# --- TLS --------------------------------------------------------------------------------------


def test_wss_round_trip_with_a_local_certificate(capfd):
    """With local_tls(), a server speaks wss:// and a client that trusts the local authority
    gets its echo; the tap, which only reads plain text, refuses a wss:// target."""
    before = Resources.now()
    server_tls, client_tls = local_tls()
    server = wslab.echo_server(ssl=server_tls)
    assert server.url.startswith("wss://127.0.0.1:")
    with wslab.connect(server.url, ssl=client_tls) as client:
        assert client.request("over TLS") == "over TLS"
        assert client.connection.socket.version() in ("TLSv1.2", "TLSv1.3")
    with pytest.raises(ValueError, match="ws:// or http://"):
        wslab.tap(server)
    server.stop()
    assert capfd.readouterr() == ("", "")
    assert_released(before)


def test_clients_that_do_not_trust_the_certificate_are_refused(capfd):
    """A client with the system's authorities, or another local authority, fails the TLS
    handshake on certificate verification; a plain ws:// client gets nowhere; the server
    goes on serving the client that trusts it, printing nothing."""
    server_tls, client_tls = local_tls()
    _, stranger_tls = local_tls()
    server = wslab.echo_server(ssl=server_tls)
    for options in ({}, {"ssl": stranger_tls}):
        with pytest.raises(ssl.SSLCertVerificationError):
            wslab.connect(server.url, **options)
    with pytest.raises((websockets.InvalidMessage, ConnectionError, TimeoutError)):
        wslab.connect(server.url.replace("wss://", "ws://"), timeout=2)
    with wslab.connect(server.url, ssl=client_tls) as client:
        assert client.request("still serving") == "still serving"
    assert capfd.readouterr() == ("", "")


def test_the_server_certificate_names_only_this_machine():
    """The certificate local_tls() makes is valid for loopback names only."""
    server_tls, client_tls = local_tls()
    server = wslab.echo_server(ssl=server_tls)
    with socket.create_connection((server.host, server.port)) as raw:
        with client_tls.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            names = {value for _, value in tls.getpeercert()["subjectAltName"]}
    assert names == {"127.0.0.1", "localhost", "0:0:0:0:0:0:0:1"}  # ::1, spelt out


# --- secrets in stored outputs ----------------------------------------------------------------

SECRET_PATTERNS = {
    "Jupyter token": re.compile(r"token=[0-9a-f]{32,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "bearer token": re.compile(r"Authorization:\s*(Bearer|Basic)\s+\S{8,}", re.IGNORECASE),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
}
SECRET_NAMES = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE", re.IGNORECASE)


def stored_outputs(path) -> str:
    """Everything a notebook stores besides its sources: outputs and metadata."""
    notebook = json.loads(path.read_text())
    parts = [json.dumps(notebook.get("metadata", {}))]
    for cell in notebook["cells"]:
        parts.append(json.dumps(cell.get("outputs", [])))
        parts.append(json.dumps(cell.get("metadata", {})))
    return "\n".join(parts)


@pytest.mark.parametrize("lesson", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_no_secret_in_stored_notebook_outputs(lesson: str):
    """No stored output or metadata holds a token, key or the value of a secret-looking
    environment variable of this machine."""
    stored = stored_outputs(NOTEBOOKS / lesson)
    for name, pattern in SECRET_PATTERNS.items():
        assert not pattern.search(stored), f"{name} in {lesson}"
    for variable, value in os.environ.items():
        if SECRET_NAMES.search(variable) and len(value) >= 8:
            assert value not in stored, f"the value of ${variable} in {lesson}"
