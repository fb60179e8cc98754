"""Which URL a *browser* must use to reach a server in this kernel: direct, or through Jupyter.

A server started in a notebook listens on 127.0.0.1 of the kernel's machine. Python code in the
kernel always reaches it there (``server.url``). A browser does only when it runs on that same
machine, as with `make lab`. On JupyterHub or Binder the browser reaches the kernel's machine
only through the Jupyter server, so browser-facing URLs go through jupyter-server-proxy (a
course dependency): ``{base_url}proxy/{port}/{path}`` on the Jupyter server is forwarded to
``127.0.0.1:{port}/{path}``, WebSocket upgrades included.

How the route is chosen (`route()`):

1. ``WSLAB_BROWSER_ROUTE=direct`` or ``=proxy``, if set (an explicit choice always wins);
2. proxied if the kernel runs under a Jupyter server whose base URL is not ``/``: a hub always
   serves a user's server under ``/user/NAME/``. The server is found from the environment a
   hub gives it (``JUPYTERHUB_SERVICE_PREFIX``), from ``WSLAB_JUPYTER_URL`` (the server's URL as
   the browser sees it, e.g. ``https://hub.example.org/user/ann/``), or from the runtime file
   the Jupyter server that started this kernel wrote (``jpserver-PID.json``);
3. direct otherwise, e.g. JupyterLab at ``http://127.0.0.1:8888/``, or no Jupyter at all.

Browser-side clients also send an Origin header, which wslab's servers check: `browser_origins()`
gives the origins of the Jupyter server the browser uses, when the kernel can know them.
"""

from __future__ import annotations

import enum
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "JupyterServer",
    "Route",
    "browser_origins",
    "browser_url",
    "forwarded_origin",
    "jupyter_server",
    "route",
]

#: Environment variables that configure the choice (see the module's docstring).
ROUTE_VARIABLE = "WSLAB_BROWSER_ROUTE"
URL_VARIABLE = "WSLAB_JUPYTER_URL"
HUB_PREFIX_VARIABLE = "JUPYTERHUB_SERVICE_PREFIX"

_LOOPBACK_NAMES = ("127.0.0.1", "localhost")

#: A Host header: a name or IPv4 address, or a bracketed IPv6 address, and maybe a port.
HOST_HEADER = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


class Route(enum.Enum):
    """How a browser reaches a server in this kernel."""

    DIRECT = "direct"
    """The browser runs on the kernel's machine: ``http://127.0.0.1:PORT/``."""
    PROXY = "proxy"
    """Through the Jupyter server: ``{base_url}proxy/PORT/``."""


@dataclass(frozen=True)
class JupyterServer:
    """The Jupyter server between the browser and this kernel, as far as the kernel knows it."""

    base_url: str
    """The path every URL of the server starts with, ``/`` or e.g. ``/user/ann/``."""
    origins: tuple[str, ...] = ()
    """The origins the browser may load it from, e.g. ``http://127.0.0.1:8888``; empty when
    the kernel cannot know (a hub's public address)."""


def jupyter_server(environ: os._Environ | dict[str, str] | None = None) -> JupyterServer | None:
    """The Jupyter server that runs this kernel, or None (a plain Python, a test's kernel)."""
    env = os.environ if environ is None else environ
    if url := env.get(URL_VARIABLE):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{URL_VARIABLE} must be an http(s) URL, got {url!r}")
        return JupyterServer(_slashed(parts.path), _origins(f"{parts.scheme}://{parts.netloc}"))
    info = _server_info(env)
    if info is not None:
        parts = urlsplit(info.get("url", ""))
        origins = _origins(f"{parts.scheme}://{parts.netloc}") if parts.netloc else ()
        return JupyterServer(_slashed(info.get("base_url", "/")), origins)
    if prefix := env.get(HUB_PREFIX_VARIABLE):
        return JupyterServer(_slashed(prefix))
    return None


def route(environ: os._Environ | dict[str, str] | None = None) -> Route:
    """DIRECT or PROXY, chosen as the module's docstring says."""
    env = os.environ if environ is None else environ
    if chosen := env.get(ROUTE_VARIABLE):
        try:
            return Route(chosen.strip().lower())
        except ValueError:
            message = f"{ROUTE_VARIABLE} must be 'direct' or 'proxy', got {chosen!r}"
            raise ValueError(message) from None
    server = jupyter_server(env)
    return Route.PROXY if server is not None and server.base_url != "/" else Route.DIRECT


def browser_url(
    port: int,
    path: str = "/",
    *,
    host: str = "127.0.0.1",
    scheme: str = "http",
    environ: os._Environ | dict[str, str] | None = None,
) -> str:
    """The URL a browser opens for ``{scheme}://{host}:{port}{path}`` of this kernel's machine.

    Direct: that URL itself. Proxied: ``{base_url}proxy/{port}{path}``, a path on the Jupyter
    server's own origin (absolute when the server's public URL is known through
    ``WSLAB_JUPYTER_URL``), for a link, an IFrame or a page's ``fetch()``. `scheme` ``ws`` gives
    a WebSocket URL in direct mode; through the proxy a page derives its ``ws(s)://`` URL from
    its own location instead (a path has no scheme). `host` must be loopback to be proxied.
    """
    if not 0 < port < 65536:
        raise ValueError(f"port must be 1-65535, got {port}")
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {path!r}")
    env = os.environ if environ is None else environ
    if route(env) is Route.DIRECT:
        return f"{scheme}://{host}:{port}{path}"
    if host not in _LOOPBACK_NAMES:
        raise ValueError(f"only a loopback server can be reached through the proxy, not {host}")
    server = jupyter_server(env) or JupyterServer("/")
    proxied = f"{server.base_url}proxy/{port}{path}"
    if URL_VARIABLE in env and server.origins:
        return server.origins[0] + proxied
    return proxied


def browser_origins(environ: os._Environ | dict[str, str] | None = None) -> list[str]:
    """The origins of the Jupyter server the browser uses (its pages' Origin header), if known.

    Direct mode: the JupyterLab page is another origin than the server in the kernel, so a
    WebSocket it opens carries JupyterLab's origin. Proxied: every browser-facing request comes
    from the Jupyter server's origin. Empty without a Jupyter server, or behind a hub whose
    public address the kernel cannot see (set ``WSLAB_JUPYTER_URL`` there).
    """
    server = jupyter_server(environ)
    return list(server.origins) if server is not None else []


def forwarded_origin(headers: Mapping[str, str]) -> str | None:
    """The browser's origin, for a page request that jupyter-server-proxy forwarded; else None.

    Behind a hub, the kernel cannot know the hub's public address, but the request for a page
    tells it: jupyter-server-proxy passes the browser's Host (and the hub's X-Forwarded-Proto)
    and marks what it forwards with X-Forwarded-Context. A page on another site cannot make a
    browser send that header to a server in the kernel: a custom header needs a CORS preflight,
    which wslab's servers never grant. So a server may admit this origin for the WebSocket that
    the page it served opens next.
    """
    if not headers.get("X-Forwarded-Context") or not (host := headers.get("Host")):
        return None
    scheme = headers.get("X-Forwarded-Proto", "http").split(",")[0].strip().lower()
    if scheme not in ("http", "https") or not HOST_HEADER.fullmatch(host):
        return None
    return f"{scheme}://{host.lower()}"


def _server_info(env: os._Environ | dict[str, str]) -> dict | None:
    """The runtime file (``jpserver-PID.json``) of the Jupyter server that started this kernel.

    jupyter_client passes its pid to the kernel as JPY_PARENT_PID (a handle on Windows, hence
    also the parent pid). Read directly: importing jupyter_server to list servers takes seconds.
    """
    from jupyter_core.paths import jupyter_runtime_dir

    candidates = {env.get("JPY_PARENT_PID", ""), str(os.getppid())}
    runtime = Path(env.get("JUPYTER_RUNTIME_DIR") or jupyter_runtime_dir())
    for pid in sorted(c for c in candidates if c.isdigit()):
        try:
            return json.loads((runtime / f"jpserver-{pid}.json").read_text())
        except (OSError, ValueError):
            continue
    return None


def _slashed(path: str) -> str:
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


def _origins(origin: str) -> tuple[str, ...]:
    """`origin`, plus its other loopback spelling (127.0.0.1 / localhost): the browser may use
    either for a server on loopback."""
    parts = urlsplit(origin)
    host, port = parts.hostname or "", f":{parts.port}" if parts.port else ""
    if host in _LOOPBACK_NAMES:
        return tuple(f"{parts.scheme}://{name}{port}" for name in _LOOPBACK_NAMES)
    return (origin.rstrip("/"),)
