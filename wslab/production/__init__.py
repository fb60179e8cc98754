"""What changes when a WebSocket app leaves the laptop: lesson 07's mechanisms.

- `tokens`: signed, expiring tokens checked in the opening handshake (401/403);
- `relay`: a relay that adds delay, jitter and loss, or cuts connections at chosen frames;
- `proxy` and `nginx`: a reverse proxy in front of a server, real nginx or a stand-in;
- `delivery`: at-least-once delivery with acks, retries and deduplication by id;
- `shutdown`: a server that leaves gracefully on SIGTERM, and reconnecting crowds measured;
- `limits`: message size, rate and connection limits.
"""

from .nginx import Nginx, access_log, find_nginx, reverse_proxy
from .proxy import BROKEN, ProxyConfig, UserSpaceProxy, user_space_proxy
from .relay import Cut, Link, Relay, relay, tls_records

__all__ = [
    "BROKEN",
    "Cut",
    "Link",
    "Nginx",
    "ProxyConfig",
    "Relay",
    "access_log",
    "UserSpaceProxy",
    "find_nginx",
    "relay",
    "reverse_proxy",
    "tls_records",
    "user_space_proxy",
]
