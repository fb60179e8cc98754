"""RIGHT, in another style: a regular expression for the packet, a dispatch table for Engine.IO,
and one `wait_for` that every function uses with a predicate. The tests must pass it."""

import json
import re

from websockets.exceptions import ConnectionClosed

PACKET = re.compile(r"(?P<type>\d)(?:(?P<ns>/[^,]*),?)?(?P<id>\d*)(?P<json>.*)", re.DOTALL)


class SessionClosed(ConnectionError):
    pass


async def open_session(websocket):
    first = await websocket.recv()
    if first[:1] != "0":
        raise ValueError(first)
    return json.loads(first[1:])


def parse(text):
    m = PACKET.fullmatch(text)
    data = json.loads(m["json"]) if m["json"] else None
    return int(m["type"]), m["ns"] or "/", int(m["id"]) if m["id"] else None, data


def prefix(kind, namespace, ack_id=None):
    return "4{}{}{}".format(kind, "" if namespace == "/" else namespace + ",", ack_id or "")


async def next_packet(websocket):
    async def pong(_):
        await websocket.send("3")

    async def closed(_):
        raise SessionClosed("engine.io close")

    async def nothing(_):
        return None

    engine = {"1": closed, "2": pong, "3": nothing, "5": nothing, "6": nothing}
    while True:
        try:
            packet = await websocket.recv()
        except ConnectionClosed as exc:
            raise SessionClosed(str(exc)) from exc
        if packet[:1] == "4":
            return parse(packet[1:])
        await engine.get(packet[:1], nothing)(packet)


async def wait_for(websocket, wanted):
    while True:
        packet = await next_packet(websocket)
        result = wanted(*packet)
        if result is not None:
            return result


async def connect(websocket, namespace="/"):
    await websocket.send(prefix(0, namespace))

    def answer(kind, ns, _id, data):
        if ns == namespace and kind == 4:
            raise ConnectionRefusedError(data)
        return data["sid"] if (ns, kind) == (namespace, 0) else None

    return await wait_for(websocket, answer)


async def call(websocket, namespace, event, args, ack_id):
    await websocket.send(prefix(2, namespace, ack_id) + json.dumps([event, *args]))
    return await wait_for(
        websocket, lambda k, ns, i, data: data if (k, ns, i) == (3, namespace, ack_id) else None
    )


async def next_event(websocket, namespace="/"):
    def event(kind, ns, _id, data):
        if ns == namespace and kind == 1:
            raise SessionClosed("disconnected")
        return (data[0], data[1:]) if (ns, kind) == (namespace, 2) else None

    return await wait_for(websocket, event)
