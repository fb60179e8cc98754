"""wslab: live WebSocket servers, a wire tap and graders for the course, inside a notebook.

Everything runs in background threads of the kernel, each with its own event loop, bound to
127.0.0.1 on a port the OS picks; re-running a cell replaces a service instead of leaking it.

    server = wslab.echo_server()          # ws://127.0.0.1:<port>/
    tap = wslab.tap(server)               # a recording proxy in front of it
    with wslab.connect(tap.url) as ws:
        ws.send("hello"); ws.recv()
    tap.frames()                          # the handshake and the frames, as a table
    wslab.stop_all()

Platforms: tested on Linux; portable calls only (macOS works the same way); on Windows, what
asyncio's default loop allows (see the README's "wslab in one screen" for what does not, yet).
"""

from . import production, protocol, tls
from ._process import ProcessServer, serve_process
from ._registry import running, stop_all
from ._service import Service
from .browser_socket import BrowserSocket, browser_socket
from .builtin import echo_server, push_server
from .channels import cluster
from .chat import ChatPanel, ChatServer, chat_panel, chat_server, start_bots
from .client import Client, connect
from .doctor import doctor
from .grading import check
from .http_server import HttpServer, http_server
from .inspector import Inspector, inspector
from .server import Server, serve
from .tap import Tap, tap

__all__ = [
    "BrowserSocket",
    "ChatPanel",
    "ChatServer",
    "Client",
    "HttpServer",
    "Inspector",
    "ProcessServer",
    "Server",
    "Service",
    "Tap",
    "chat_panel",
    "chat_server",
    "browser_socket",
    "check",
    "cluster",
    "connect",
    "doctor",
    "echo_server",
    "http_server",
    "inspector",
    "production",
    "protocol",
    "push_server",
    "running",
    "serve",
    "serve_process",
    "socketio_server",
    "start_bots",
    "stop_all",
    "tap",
    "tls",
]


def socketio_server(name: str = "socketio", **options):
    """Start a python-socketio server (lesson 10); see `wslab.socketio.socketio_server`.

    Imported on first use: python-socketio and aiohttp take most of a second to import.
    """
    from .socketio import socketio_server as start

    return start(name, **options)
