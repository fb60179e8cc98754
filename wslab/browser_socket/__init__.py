"""A real browser WebSocket in the notebook's page, driven from Python: see `widget`."""

from .model import BinaryType, BrowserError, Close, DataType, Error, Message, Open, ReadyState
from .widget import BrowserSocket, NoBrowserError, OpenFailed, PageGone, browser_socket

__all__ = [
    "BinaryType",
    "BrowserError",
    "BrowserSocket",
    "Close",
    "DataType",
    "Error",
    "Message",
    "NoBrowserError",
    "Open",
    "OpenFailed",
    "PageGone",
    "ReadyState",
    "browser_socket",
]
