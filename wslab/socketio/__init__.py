"""Socket.IO on the wire (lesson 10): a real python-socketio server, and its packets decoded.

`socketio_server()` starts python-socketio in the kernel like the other wslab servers;
`packets` parses and explains Engine.IO and Socket.IO packets (sans-I/O); `wire()` turns what
a `wslab.tap` recorded into one row per packet with what it does.
"""

from . import packets
from .server import SocketIOServer, socketio_server
from .wire import PacketRow, PacketTable, wire

__all__ = ["PacketRow", "PacketTable", "SocketIOServer", "packets", "socketio_server", "wire"]
