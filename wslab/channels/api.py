"""The backend's HTTP API: ``POST /apps/<app id>/events`` publishes an event, if signed.

This is how an app's own server (not a browser) publishes: one HTTP request, signed with the
app's secret (`auth.sign_request`: key, timestamp, body MD5 and signature in the query), with a
JSON body ``{"name": ..., "channel": ... or "channels": [...], "data": ...}``. The API checks
the signature (401 otherwise), writes the event to each channel's stream and relays it to every
node through the broker, and answers ``{"ids": {channel: event id}}``. It holds no connections
to clients, so any number of API processes can run side by side.

HTTP here is the smallest that works: one request per connection (``Connection: close``), a
body of exactly Content-Length bytes, at most `MAX_BODY`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .._streams import StreamService
from . import protocol
from .auth import App, AuthError, verify_request
from .broker import Broker

__all__ = ["ApiServer", "api_server"]

MAX_BODY = 64 * 1024
READ_TIMEOUT = 10.0


class HttpError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class ApiServer(StreamService):
    """The trigger API in a thread; see `api_server()`."""

    kind = "channels API"
    scheme = "http"

    def __init__(self, name: str, broker_url: str, app: App) -> None:
        super().__init__(name)
        self.app = app
        self.broker_url = broker_url
        self.requests_total = 0
        self._broker: Broker | None = None

    @property
    def events_url(self) -> str:
        return f"{self.url}apps/{self.app.id}/events"

    async def _start(self) -> tuple[str, int]:
        self._broker = Broker(self.broker_url, client_name="api")
        return await super()._start()

    async def _stop(self) -> None:
        await super()._stop()
        if self._broker is not None:
            await self._broker.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests_total += 1
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                method, target, body = await _read_request(reader)
            status, answer = 200, await self._handle(method, target, body)
        except HttpError as exc:
            status, answer = exc.status, {"error": str(exc)}
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            return
        self._log.info(f"{status} {json.dumps(answer)}")
        payload = json.dumps(answer).encode()
        writer.write(
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        await writer.drain()

    async def _handle(self, method: str, target: str, body: bytes) -> dict[str, Any]:
        parts = urlsplit(target)
        if parts.path != f"/apps/{self.app.id}/events":
            raise HttpError(404, f"nothing at {parts.path}; POST /apps/{self.app.id}/events")
        if method != "POST":
            raise HttpError(405, "use POST")
        try:
            verify_request(self.app, method, parts.path, dict(parse_qsl(parts.query)), body)
        except AuthError as exc:
            raise HttpError(401, str(exc)) from None
        try:
            fields = json.loads(body)
            channels = fields.get("channels") or [fields["channel"]]
            name = fields["name"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise HttpError(400, 'send {"name": ..., "channel": ..., "data": ...}') from None
        if not isinstance(name, str) or not all(
            isinstance(c, str) and protocol.CHANNEL.fullmatch(c) for c in channels
        ):
            raise HttpError(400, "bad event name or channel")
        assert self._broker is not None
        ids = {c: await self._broker.publish(c, name, fields.get("data")) for c in channels}
        return {"ids": ids}


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
}


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *header_lines = head.split("\r\n")
    try:
        method, target, _ = request_line.split(" ")
    except ValueError:
        raise HttpError(400, "bad request line") from None
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise HttpError(400, "bad Content-Length") from None
    if not 0 <= length <= MAX_BODY:
        raise HttpError(413, f"at most {MAX_BODY} bytes of body")
    return method, target, await reader.readexactly(length)


def api_server(
    name: str = "channels-api",
    *,
    broker: str,
    app_key: str = App.key,
    app_secret: str = App.secret,
) -> ApiServer:
    """Start (or restart) the trigger API for the cluster whose Redis is at `broker`."""
    return ApiServer(name, broker, App(key=app_key, secret=app_secret)).start()
