"""A reverse proxy in front of a WebSocket server: the configuration, and a user-space stand-in.

In production, clients rarely reach the WebSocket server itself: nginx (or a load balancer)
stands in front, ends TLS, and passes requests on. Three of its settings decide whether
WebSockets work through it at all (`ProxyConfig`):

- ``proxy_http_version 1.1``: nginx speaks HTTP/1.0 to the server by default, and HTTP/1.0
  has no Upgrade: the server refuses the handshake (400);
- ``proxy_set_header Upgrade $http_upgrade`` and ``Connection "upgrade"``: Upgrade and
  Connection are hop-by-hop headers, which a proxy does not pass on unless told to; without
  them the server sees a plain GET and answers 426 Upgrade Required;
- ``proxy_read_timeout``: a connection on which the server sends nothing for that long is
  closed (60 s by default), with no close frame: the client sees 1006. A server that pings
  more often than that keeps it open.

`nginx_config()` writes these as nginx configuration (`wslab.production.nginx` runs it);
`UserSpaceProxy` does the same in Python for machines without nginx, following nginx's
observable behaviour: the same request reaches the server, the same status comes back, the
same line goes to the access log (``address "request line" status``, written when the
connection ends, as nginx does).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from .. import protocol
from .relay import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Relay, _Pair

#: Hop-by-hop headers (RFC 9110 §7.6.1): meant for the next hop only, dropped by a proxy.
HOP_BY_HOP = {
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
}


@dataclass(frozen=True)
class ProxyConfig:
    """The reverse proxy settings that matter for WebSockets."""

    http_version: str = "1.1"
    """``proxy_http_version``: what the proxy speaks to the server (nginx's default: 1.0)."""
    pass_upgrade: bool = True
    """Set ``Upgrade: $http_upgrade`` and ``Connection: upgrade`` towards the server."""
    read_timeout: float = 60.0
    """``proxy_read_timeout``, seconds: how long the server may stay silent."""

    def __post_init__(self) -> None:
        if self.http_version not in ("1.0", "1.1"):
            raise ValueError(f"http_version must be '1.0' or '1.1', not {self.http_version!r}")
        if not self.read_timeout >= 0.001:
            raise ValueError(f"read_timeout must be at least 1 ms, not {self.read_timeout!r}")


#: A configuration that works for WebSockets.
WORKING = ProxyConfig()
#: The configuration that breaks WebSockets: nginx's defaults.
BROKEN = ProxyConfig(http_version="1.0", pass_upgrade=False)


def rewrite_request(head: bytes, config: ProxyConfig, upstream: str) -> tuple[bytes, str]:
    """The request head the proxy sends to the server, and the request line it logs.

    As nginx does: the request line in `config.http_version`, ``Host`` set to the upstream,
    hop-by-hop headers dropped, then ``Connection: close`` (nginx's default), or the
    ``Upgrade`` and ``Connection: upgrade`` pair when `config.pass_upgrade` is on.
    """
    request = protocol.parse_request(head)
    headers = [("Host", upstream)]
    headers += [
        (name, value)
        for name, value in request.headers
        if name.lower() not in HOP_BY_HOP and name.lower() != "host"
    ]
    upgrade = request.headers.get("Upgrade")
    if config.pass_upgrade and upgrade:
        headers += [("Upgrade", upgrade), ("Connection", "upgrade")]
    else:
        headers += [("Connection", "close")]
    first = f"{request.method} {request.target} HTTP/{config.http_version}"
    lines = [first, *(f"{name}: {value}" for name, value in headers)]
    logged = f"{request.method} {request.target} {request.version}"
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), logged


def nginx_config(config: ProxyConfig, listen: int, upstream: str, workdir: str) -> str:
    """An nginx.conf that proxies 127.0.0.1:`listen` to `upstream`, every path in `workdir`.

    ``master_process off``: one process, running as the user who starts it, so no root is
    needed; pid file, logs and temporary files stay in `workdir`.
    """
    upgrade = (
        "            proxy_set_header Upgrade $http_upgrade;\n"
        '            proxy_set_header Connection "upgrade";\n'
        if config.pass_upgrade
        else ""
    )
    temp = "".join(
        f"    {kind}_temp_path {workdir}/{kind}_temp;\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""\
daemon off;
master_process off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{
    worker_connections 1024;
}}
http {{
    log_format course '$remote_addr "$request" $status';
    access_log {workdir}/access.log course;
{temp}    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version {config.http_version};
{upgrade}            proxy_read_timeout {round(config.read_timeout * 1000)}ms;
        }}
    }}
}}
"""


class UserSpaceProxy(Relay):
    """A reverse proxy in Python that behaves, for WebSockets, as nginx with `config` does."""

    kind = "proxy (user space)"

    def __init__(self, target: str, name: str, config: ProxyConfig) -> None:
        super().__init__(target, name)
        self.config = config
        self._access: list[str] = []
        self._access_lock = threading.Lock()

    def access_log(self) -> list[str]:
        """One line per finished request: ``address "request line" status``."""
        with self._access_lock:
            return list(self._access)

    def _closed(self, pair: _Pair, peer: str) -> None:
        # nginx logs a request when it ends, which for a WebSocket is when the connection does.
        if pair.request_line is not None:
            with self._access_lock:
                self._access.append(f'{peer} "{pair.request_line}" {pair.status or "-"}')

    async def _read(self, pair: _Pair, direction: str, reader: asyncio.StreamReader) -> bytes:
        if direction == CLIENT_TO_SERVER:
            return await super()._read(pair, direction, reader)
        try:
            async with asyncio.timeout(self.config.read_timeout):
                return await super()._read(pair, direction, reader)
        except TimeoutError:
            self._log.info(f"connection {pair.conn}: upstream timed out, closing")
            pair.hang_up()
            return b""

    def _rewrite(self, pair: _Pair, direction: str, data: bytes) -> bytes:
        if direction == SERVER_TO_CLIENT:
            if pair.status is None:  # the status line: "HTTP/1.1 101 Switching Protocols"
                pair.status = data.split(b" ", 2)[1].decode("ascii", "replace")
            return data
        if pair.request_line is not None:
            return data
        pair.request_head += data
        end = protocol.find_head_end(bytes(pair.request_head))
        if end is None:
            return b""  # hold the head back until it is complete
        head, rest = bytes(pair.request_head[:end]), bytes(pair.request_head[end:])
        upstream = f"{self._target_host}:{self._target_port}"
        new_head, pair.request_line = rewrite_request(head, self.config, upstream)
        return new_head + rest


def user_space_proxy(target: Any, config: ProxyConfig, name: str = "proxy") -> UserSpaceProxy:
    """Start the user-space reverse proxy in front of `target`."""
    url = getattr(target, "url", target)
    return UserSpaceProxy(url, name, config).start()
