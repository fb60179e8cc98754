"""The app's own server, as seen by the channel service: it holds the secret, nobody else does.

Two jobs, both with `auth`'s signatures:

- `authorize()`: a browser or Python client that wants a private or presence channel asks the
  app's backend (in a real app: an HTTP endpoint behind the user's login); the backend decides
  whether this user may, and signs ``socket_id:channel[:channel_data]`` if so;
- `trigger()`: publish an event from the app's server, by a signed HTTP call to the API.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from .auth import App, sign_request, sign_subscription
from .protocol import Kind, kind_of

__all__ = ["Backend", "Signed"]

TIMEOUT = 10.0


class Signed(dict):
    """A signed request, kept as sent: ``path`` (with its query) and ``body``."""


class Backend:
    """The app's backend: signs subscriptions and triggers events through the API at `api_url`."""

    def __init__(
        self, app: App | None = None, api_url: str | None = None, allow: Any = None
    ) -> None:
        self.app = app or App()
        self.api_url = api_url
        self.allow = allow
        """None (anyone may join any channel) or ``allow(user_id, channel) -> bool``."""

    def authorize(self, socket_id: str, channel: str, user: dict | None = None) -> dict[str, str]:
        """The ``auth`` (and for presence the ``channel_data``) to subscribe with."""
        if kind_of(channel) is Kind.PUBLIC:
            return {}
        channel_data = None
        if kind_of(channel) is Kind.PRESENCE:
            if user is None or "user_id" not in user:
                raise PermissionError("presence channels need a user: {'user_id': ..., ...}")
            channel_data = json.dumps(user, separators=(",", ":"), sort_keys=True)
        user_id = None if user is None else user.get("user_id")
        if self.allow is not None and not self.allow(user_id, channel):
            raise PermissionError(f"user {user_id!r} may not join {channel}")
        signed = {"auth": sign_subscription(self.app, socket_id, channel, channel_data)}
        if channel_data is not None:
            signed["channel_data"] = channel_data
        return signed

    def signed_trigger(self, channel: str, name: str, data: Any = None) -> Signed:
        """The request `trigger()` sends, signed now: send it with `send()` (again, to see a
        replay refused once it is too old)."""
        path = f"/apps/{self.app.id}/events"
        body = json.dumps({"name": name, "channel": channel, "data": data}).encode()
        query = sign_request(self.app, "POST", path, body)
        return Signed(path=f"{path}?{urlencode(query)}", body=body)

    def trigger(self, channel: str, name: str, data: Any = None) -> str:
        """Publish an event on `channel` through the API; the event's id."""
        status, answer = self.send(self.signed_trigger(channel, name, data))
        if status != 200:
            raise RuntimeError(f"the API answered {status}: {answer.get('error')}")
        return answer["ids"][channel]

    def send(self, request: Signed) -> tuple[int, dict[str, Any]]:
        """POST a signed request to the API; (status, JSON answer)."""
        if self.api_url is None:
            raise RuntimeError("this backend has no api_url to send to")
        parts = urlsplit(self.api_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
        try:
            connection.request(
                "POST",
                request["path"],
                body=request["body"],
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            connection.close()
