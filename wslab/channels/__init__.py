"""Channels like Pusher's, on a cluster of nodes sharing a real Redis: lesson 08.

- `protocol`: the JSON messages; `auth`: HMAC-SHA256 signatures for private and presence
  channels and for the backend's API calls; `state`: one node's subscriptions, sans I/O.
- `broker` (Redis streams and pub/sub) and `memory` (no broker), `node` (the server),
  `api` (the backend's HTTP API), `backend` (the app's server), `client` (clients that
  reconnect and resume), `processes` (Redis, nginx), `balancer`, `cluster`.
"""

from .auth import App, AuthError, sign_subscription, verify_subscription
from .backend import Backend
from .client import ChannelClient, Clients, clients
from .cluster import Cluster, cluster
from .node import ChannelNode, channel_node
from .processes import redis_binary, redis_server

__all__ = [
    "App",
    "AuthError",
    "Backend",
    "ChannelClient",
    "ChannelNode",
    "Clients",
    "Cluster",
    "channel_node",
    "clients",
    "cluster",
    "redis_binary",
    "redis_server",
    "sign_subscription",
    "verify_subscription",
]
