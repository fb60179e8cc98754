"""A real browser WebSocket in the notebook's page, driven from Python: see `widget`;
`backpressure` compares the browser's two WebSocket APIs against a slow reader."""

from .backpressure import Api, Comparison, Run
from .model import (
    BinaryType,
    BrowserError,
    Close,
    DataType,
    Error,
    HandlerError,
    JavaScriptError,
    Message,
    Open,
    ReadyState,
    Shown,
)
from .widget import BrowserSocket, NoBrowserError, OpenFailed, PageGone, browser_socket

__all__ = [
    "Api",
    "BinaryType",
    "BrowserError",
    "BrowserSocket",
    "Close",
    "Comparison",
    "DataType",
    "Error",
    "HandlerError",
    "JavaScriptError",
    "Message",
    "NoBrowserError",
    "Open",
    "OpenFailed",
    "PageGone",
    "ReadyState",
    "Run",
    "Shown",
    "browser_socket",
]
