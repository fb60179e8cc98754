"""ex06, right: a table of command functions and an explicit receive loop.

Instead of ``async for`` and a ``match``, this one calls ``recv()`` until the connection
closes and looks commands up in a dict; it must earn full marks all the same.
"""

import json

from websockets.exceptions import ConnectionClosed


def reverse(command, count):
    if not isinstance(command.get("text"), str):
        return {"type": "error", "error": "reverse takes a string in 'text'"}
    return {"type": "reverse", "text": "".join(reversed(command["text"]))}


def count_messages(command, count):
    return {"type": "count", "value": count}


COMMANDS = {"reverse": reverse, "count": count_messages}


def command_reply(command, count):
    kind = command["type"]
    if not isinstance(kind, str):
        return {"type": "error", "error": "type must be a string"}
    if kind not in COMMANDS:
        return {"type": "error", "error": "unknown type: " + kind}
    return COMMANDS[kind](command, count)


def as_command(message):
    """The command in a message, or None when the message is to be echoed."""
    if isinstance(message, bytes):
        return None
    try:
        decoded = json.loads(message)
    except json.JSONDecodeError:
        return None
    return decoded if type(decoded) is dict and "type" in decoded else None


async def handler(websocket):
    received = 0
    while True:
        try:
            message = await websocket.recv()
        except ConnectionClosed:
            return
        received += 1
        command = as_command(message)
        if command is None:
            await websocket.send(message)
        else:
            await websocket.send(json.dumps(command_reply(command, received)))
