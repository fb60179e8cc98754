"""Exercise 06 · An echo handler that also answers JSON commands (lesson 02, your first WebSocket)

Write `handler(websocket)`, a websockets 17 handler: websockets calls it once per connection,
with that connection as its only argument, and the connection ends when it returns. It must
answer every message it receives with exactly one message, in order:

- a **binary** message (``bytes``) comes back unchanged, even if its bytes happen to be JSON;
- a **text** message that is a JSON object with a ``"type"`` field is a **command**, answered
  by a JSON object (sent as text) instead of the echo::

      the client sends                       the handler answers
      {"type": "reverse", "text": "abc"}     {"type": "reverse", "text": "cba"}
      {"type": "count"}                      {"type": "count", "value": n}
      {"type": "launch"}  (any other type)   {"type": "error", "error": "unknown type: launch"}

  ``n`` is the number of messages this connection has received so far, this one included:
  text, binary, commands, everything. Each connection counts for itself, from 1. Other
  fields of a command are ignored.
  A ``reverse`` without a ``"text"`` that is a string gets ``{"type": "error", "error": ...}``
  with a message of your choice, as does a ``"type"`` that is not a string at all;
- **any other text** comes back unchanged, character for character: text that is not JSON
  (``"hello"``, ``""``, ``"{oops"``), JSON that is not an object (``"[1, 2]"``, ``"42"``), an
  object without ``"type"`` (``'{"kind": "count"}'``). Echo the text you received, not
  ``json.dumps()`` of what you decoded: that could change its spacing.

When the client closes the connection, the handler returns without raising anything.

The tests run your handler with ``wslab.serve(handler)`` and with websockets' own ``serve()``,
and talk to it with real clients. They check: text and binary echo (empty messages, 100 KB
messages, non-ASCII text), each command and its reply, unknown types (``"Count"`` is not
``"count"``), JSON that is not a command coming back byte for byte, 1000 messages in a row,
two clients at once each with its own count, a client that sends 20 MB without reading a
single echo while another client still gets its echo at once (each connection waits only for
its own client: share nothing between connections, not even a lock), and a clean end: when
the client closes, the close code is 1000 and your handler has raised nothing (not even
``ConnectionClosedOK``).

Hints: lesson 02's ``commands`` handler has the shape: ``async for message in websocket``, then
``json.loads()`` inside ``try`` / ``except json.JSONDecodeError``. Check ``isinstance(message,
str)`` before decoding anything. A variable in the handler, not a global, counts for one
connection. `command_reply()` below is a good place for the table above.

Check your work: ``python -m wslab grade --exercise ex06`` or, in lesson 02,
``wslab.check("ex06")``.
"""

import json


def command_reply(command: dict, count: int) -> dict:
    """The reply to a command (a decoded JSON object with a "type"), `count` messages in."""
    ### BEGIN SOLUTION
    match command["type"]:
        case "reverse":
            text = command.get("text")
            if not isinstance(text, str):
                return {"type": "error", "error": "reverse needs a string 'text'"}
            return {"type": "reverse", "text": text[::-1]}
        case "count":
            return {"type": "count", "value": count}
        case str(name):
            return {"type": "error", "error": f"unknown type: {name}"}
        case other:
            return {"type": "error", "error": f"the type must be a string, not {other!r}"}
    ### END SOLUTION


async def handler(websocket) -> None:
    """Echo every message, except JSON commands, which get `command_reply()`."""
    ### BEGIN SOLUTION
    count = 0  # this connection's messages: a local variable, so each connection has its own
    async for message in websocket:
        count += 1
        reply = message
        if isinstance(message, str):
            try:
                request = json.loads(message)
            except ValueError:  # JSONDecodeError is a ValueError: not JSON, so echo it
                request = None
            if isinstance(request, dict) and "type" in request:
                reply = json.dumps(command_reply(request, count))
        await websocket.send(reply)
    ### END SOLUTION
