"""The mistakes learners make with handlers, caught before any client connects.

Shared by `wslab.serve` (a handler on a loop thread) and `wslab.serve_process` (a handler in a
child process), so that both say the same thing about the same mistake.
"""

from __future__ import annotations

import inspect
from typing import Any


def check_handler(handler: Any) -> None:
    """Catch the mistakes learners make with handlers before any client connects."""
    if not callable(handler):
        raise TypeError(f"handler must be an async function, got {handler!r}")
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):  # some callables have no signature; let them run
        return
    required = [
        p
        for p in parameters
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(required) == 2:
        raise TypeError(
            "handler takes (websocket, path), the signature of websockets < 13. websockets 17 "
            "calls handler(websocket); read the path from websocket.request.path."
        )
    if len(required) != 1:
        raise TypeError("handler must take exactly one argument, the websocket connection")
    if not (
        inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(type(handler).__call__)
    ):
        raise TypeError("handler must be an async function: async def handler(websocket): ...")
