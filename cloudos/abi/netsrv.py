"""The net server's protocol: what the VFS and the net server's own timers send it.

Owns: ``NetOp`` (a request's number, the message tag) and one record per request. A
socket call on an internet socket reaches the VFS first (the fd is the VFS's): the VFS
forwards it as a ``NetCall`` naming the socket by its handle, with the caller's reply
capability and memory grants, and the net server answers the caller itself. The
``call`` inside is the VFS request the personality sent (``abi.vfs``: ``Socket``,
``Bind``, ``Connect``, ``Sendto``, ``Ioctl`` ...), or ``NetRead``/``NetWrite`` for the
plain file calls (read, readv, write, writev, sendfile), whose fd the net server does
not need. What the net server sends the VFS (an fd for a new socket, poll events) is
``abi.vfs``'s ``SocketMade``, ``SocketEvents`` and ``NetRestarted``.
Never: does anything; it is data both ends import.
Called by: the VFS server (``servers.vfs.netsock``) and the net server
(``servers.net.server``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from cloudos.abi.enums import IntEnum
from cloudos.abi.record import Record


class NetOp(IntEnum):
    """A net server request's number (the message tag)."""

    CALL = 2000  # a socket call the VFS forwarded, with its caller's reply
    CLOSE = 2001  # the last fd of a socket went (a notification)
    POLL_HOST = 2002  # the server's own timer: poll the host sockets
    SOCKET_TIMEOUT = 2003  # the server's own timer: a parked call's SO_RCVTIMEO/SNDTIMEO
    WATCH = 2004  # the VFS polls these sockets: their events, now and as they change


# The poll events of a socket whose net server crashed: as a connection reset (Linux's
# tcp_poll after an RST): POLLIN, POLLOUT, POLLERR, POLLHUP.
RESET_EVENTS = 0x1 | 0x4 | 0x8 | 0x10


class NetCall(Record):
    """A socket call on the socket ``handle`` (0: ``socket`` itself); ``nonblock``: the
    open file's O_NONBLOCK, which the VFS keeps."""
    OP: ClassVar[NetOp] = NetOp.CALL
    handle: int
    nonblock: bool
    call: Any


class NetRead(Record):
    """read(2) (``lengths`` None, one grant, or ``inline``: the read's ``abi.vfs.Inline``)
    or readv(2) (a grant per length)."""
    count: int
    lengths: tuple[int, ...] | None = None
    inline: Any = None


class NetWrite(Record):
    """write(2) or writev(2) of ``data`` (copied in by the VFS); ``whole``: sendfile's,
    which takes every byte or fails (its source's offset moved already)."""
    data: bytes
    whole: bool = False


class NetClose(Record):
    """The VFS let go of the socket ``handle`` (its last fd closed)."""
    OP: ClassVar[NetOp] = NetOp.CLOSE
    handle: int


class NetWatch(Record):
    """The VFS is about to poll these sockets (poll, select, epoll, sendfile): the net
    server answers with their events (a ``SocketEvents`` marked ``watched``), and from
    then on tells the VFS of every change to them. The sockets nobody polls cost no
    message per change."""
    OP: ClassVar[NetOp] = NetOp.WATCH
    handles: tuple[int, ...]


class NetPoll(Record):
    """The net server's own timer notification: poll the host sockets (``net.host``)."""
    OP: ClassVar[NetOp] = NetOp.POLL_HOST
    tick: int


class SocketTimeout(Record):
    """The net server's own timer notification: the parked socket call ``key`` has waited
    its SO_RCVTIMEO or SO_SNDTIMEO (``net.sockets``)."""
    OP: ClassVar[NetOp] = NetOp.SOCKET_TIMEOUT
    key: int
