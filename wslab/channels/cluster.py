"""`wslab.cluster()`: channel nodes in their own processes, one Redis, one load balancer.

    cluster = wslab.cluster(nodes=3)    # Redis, 3 node processes, nginx in front, the API
    cluster.url                         # where clients connect (the load balancer)
    cluster.backend.trigger("news", "update", {...})   # the app's server publishes
    cluster.kill(1); cluster.restart(1) # SIGKILL a node, start it again on the same port
    wslab.stop_all()                    # stops all of it

Each part is a wslab service named ``<name>-redis``, ``<name>-node-<i>``, ``<name>-lb`` and
``<name>-api``: re-running a cell stops the previous cluster of that name first, and
`wslab.stop_all()` stops every part. ``broker=None`` starts the nodes without Redis (each on
its own: what a cluster is not).

The load balancer is Debian's nginx when installed (``least_conn``), otherwise `TcpBalancer`
(the same policy in Python, in the kernel); ``.balancer_kind`` says which.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from .._process import ProcessServer, serve_process
from .._service import running
from .api import ApiServer, api_server
from .auth import App
from .backend import Backend
from .balancer import TcpBalancer
from .broker import HISTORY
from .processes import NginxBalancer, RedisServer, nginx_binary, redis_server

__all__ = ["Cluster", "cluster"]

NODE_TARGET = "wslab.channels.node:channel_node"
KILL_TIMEOUT = 5.0


def _start_node(name: str, **options: Any) -> ProcessServer:
    """The one place the cluster depends on wslab's out-of-process servers."""
    return serve_process(NODE_TARGET, name=name, **options)


class Cluster:
    """A running cluster; see the module docstring."""

    def __init__(
        self, name: str, size: int, broker: str | None, balancer: str, history: int, app: App
    ) -> None:
        self.name = name
        self.app = app
        self.history = history
        self.redis: RedisServer | None = None
        self.broker_url: str | None = None
        if broker == "redis":
            self.redis = redis_server(f"{name}-redis")
            self.broker_url = self.redis.url
        elif broker is not None:
            self.broker_url = broker  # a Redis of your own, by URL
        self.nodes: list[ProcessServer] = []
        for i in range(1, size + 1):
            self.nodes.append(self._node(i, port=0))
        self._ports = [n.port for n in self.nodes]
        ports = self._ports
        lb_name = f"{name}-lb"
        self.balancer: NginxBalancer | TcpBalancer
        if balancer == "nginx":
            self.balancer = NginxBalancer(lb_name, nginx_binary() or "nginx", ports).start()
        else:
            self.balancer = TcpBalancer(lb_name, ports).start()
        self.api: ApiServer | None = None
        if self.broker_url is not None:
            self.api = api_server(
                f"{name}-api", broker=self.broker_url, app_key=app.key, app_secret=app.secret
            )
        self.backend = Backend(app, self.api.url if self.api else None)
        """The app's backend: signs subscriptions, triggers events through the API."""

    @property
    def url(self) -> str:
        """Where clients connect: the load balancer."""
        return self.balancer.url

    @property
    def balancer_kind(self) -> str:
        return "nginx" if isinstance(self.balancer, NginxBalancer) else "python"

    @property
    def running(self) -> bool:
        return self.balancer.running

    def cpu_seconds(self) -> list[float]:
        """CPU time each node process has used so far (user + system; 0 for a stopped one)."""
        return [_cpu_seconds(n.pid) if n.running and n.pid else 0.0 for n in self.nodes]

    def kill(self, index: int) -> None:
        """SIGKILL node `index` (0-based): no goodbye to its clients, as a crash would."""
        node = self.nodes[index]
        if node.pid is None or not node.running:
            raise RuntimeError(f"node {index} is not running")
        os.kill(node.pid, signal.SIGKILL)
        deadline = time.monotonic() + KILL_TIMEOUT
        while node.returncode is None and time.monotonic() < deadline:
            time.sleep(0.01)  # until the loop thread has reaped the child
        node.stop()

    def restart(self, index: int) -> ProcessServer:
        """Start node `index` again, on the port it had (so the load balancer finds it)."""
        self.nodes[index] = self._node(index + 1, port=self._ports[index])
        return self.nodes[index]

    def stop(self) -> None:
        for part in [self.balancer, self.api, *self.nodes, self.redis]:
            if part is not None:
                part.stop()

    def __repr__(self) -> str:
        alive = sum(n.running for n in self.nodes)
        return (
            f"<Cluster {self.name!r} {self.url} {alive}/{len(self.nodes)} nodes, "
            f"broker {'redis' if self.broker_url else 'none'}, {self.balancer_kind}>"
        )

    def _node(self, number: int, port: int) -> ProcessServer:
        return _start_node(
            f"{self.name}-node-{number}",
            node=str(number),
            broker=self.broker_url,
            app_key=self.app.key,
            app_secret=self.app.secret,
            history=self.history,
            port=port,
        )


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cluster(
    nodes: int = 3,
    broker: str | None = "redis",
    *,
    name: str = "cluster",
    balancer: str | None = None,
    history: int = HISTORY,
    app: App | None = None,
) -> Cluster:
    """Start (or restart) a cluster of `nodes` channel nodes behind one load balancer.

    `broker`: "redis" (start one), a ``redis://`` URL, or None (no broker). `balancer`:
    "nginx", "python" or None (nginx if installed). `history`: events each channel's stream
    keeps. `app`: the credentials shared by nodes, API and backend.
    """
    if nodes < 1:
        raise ValueError(f"nodes must be >= 1, got {nodes}")
    if balancer is None:
        balancer = "nginx" if nginx_binary() else "python"
    if balancer not in ("nginx", "python"):
        raise ValueError(f"balancer must be 'nginx' or 'python', got {balancer!r}")
    for service_name, service in running().items():  # the previous cluster of this name
        if service_name.startswith(f"{name}-"):
            service.stop()
    return Cluster(name, nodes, broker, balancer, history, app or App())
