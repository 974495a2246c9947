"""Internet sockets as open files: the VFS's side of a socket the net server owns.

Owns: the ``inet`` kind of open file, which holds only the net server's handle for its
socket and the socket's poll events as the net server last told them (``NetRef``),
so that fds, dup, fork, SCM_RIGHTS, close-on-exec, O_NONBLOCK, poll, select and
epoll stay the VFS's as for any file; forwarding every socket call and every read,
write and ioctl on one to the net server (``NetCall``, with the caller's reply
capability and grants: the net server answers the caller); and the net server's
messages to the VFS: an fd for its new socket (``SocketMade``), poll events that
changed (``SocketEvents``), and its restart (``NetRestarted``: the sockets of the
crashed incarnation are reset).
Never: keeps protocol state (ports, connections, buffers: ``servers.net``); waits for
the net server (a call forwarded is the net server's to answer).
Called by: ``vfs.server`` (socket calls on an internet socket, the messages from the
net server, every operation on an ``inet`` file) and ``vfs.transfer`` (sendfile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudos.abi import vfs as abi
from cloudos.abi.dataclass import dataclass, replace
from cloudos.abi.netsrv import RESET_EVENTS, NetCall, NetClose, NetRead, NetWatch, NetWrite
from cloudos.abi.vfs import BytesOut, Inline, NetRestarted, SocketEvents, SocketMade
from cloudos.errno import Errno, KernelError
from cloudos.kernel.ipc import Message
from cloudos.servers.vfs import files, pipe
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.files import O_CLOEXEC, O_NONBLOCK, OpenFile
from cloudos.servers.vfs.fs import Attr

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

POLLERR, POLLHUP = 8, 16
SOCKFS_DEV = 0x08
S_IFSOCK = 0o140000


@dataclass(eq=False)
class NetRef:
    """An internet socket as the VFS holds it: the net server's handle, its poll events
    as the net server last told them, and whether it tells every change (``watched``:
    once the socket is polled; until then ``events`` may be old)."""

    handle: int
    events: int
    watched: bool = False


class NetSync(Exception):
    """A call needs the events of a socket the VFS does not watch yet: it waits for them
    (``wait_for_events``) and runs again. Raised before the call changed anything."""


def _forward(vfs: Vfs, request: Request, handle: int, nonblock: bool, call: Any) -> None:
    port = vfs.state.net_port
    if port is None:
        raise KernelError(Errno.EAFNOSUPPORT, "no network server")
    vfs.api.forward(request, port, NetCall(handle, nonblock, call))


def _call(vfs: Vfs, request: Request, file: OpenFile, call: Any) -> None:
    _forward(vfs, request, file.inet.handle, bool(file.flags & O_NONBLOCK), call)


def socket(vfs: Vfs, request: Request, r: abi.Socket) -> None:
    """socket(2) of an internet or netlink socket: the net server makes it, and sends it
    back here (``socket_made``) for its fd."""
    vfs.proc(request)  # (ESRCH for a process the VFS does not know)
    _forward(vfs, request, 0, False, r)


def socket_call(vfs: Vfs, request: Request, r: Any) -> None:
    """bind, connect, accept4, sendto, recvmsg ... on an internet socket: the net server's."""
    _call(vfs, request, vfs.proc(request).fds.get(r.fd), r)


def socket_made(vfs: Vfs, request: Request, r: SocketMade) -> Any:
    """The net server's new socket (socket's, or a connection accept4 took) gets an fd in
    the caller's table; accept4's answer carries the peer's address."""
    try:
        proc = vfs.proc(request)
        file = OpenFile("inet", files.O_RDWR | r.flags & O_NONBLOCK)
        file.inet = NetRef(r.handle, r.events)
        fd = proc.fds.install(file, bool(r.flags & O_CLOEXEC))
    except KernelError:
        _close(vfs, r.handle)  # (EMFILE, ENFILE: the net server lets go of it)
        raise
    vfs.state.net_files[r.handle] = file
    return fd if r.peer is None else BytesOut(fd, r.peer)


def socket_events(vfs: Vfs, request: Request, r: SocketEvents) -> None:
    """The poll events of the net server's sockets that changed: pollers may go on. The
    answer to a NetWatch: those sockets are watched now, and the calls that waited for
    their events run again."""
    known = vfs.state.net_files
    for handle, events in r.changes:
        file = known.get(handle)
        if file is not None:
            file.inet.events = events
            file.inet.watched = file.inet.watched or r.watched
    if r.watched:
        vfs.state.net_watching = False
        _run_again(vfs)
    vfs.wake_pollers()


def wait_for_events(vfs: Vfs, request: Request) -> None:
    """``request`` polls a socket not watched yet: it runs again once the net server has
    told the events of every socket not watched (``socket_events``)."""
    vfs.state.net_syncing.append(request)
    watch(vfs)


def watch(vfs: Vfs) -> None:
    """Ask the net server for the events of the sockets not watched (once at a time)."""
    state = vfs.state
    if state.net_watching or state.net_port is None:
        return
    handles = tuple(h for h, f in state.net_files.items() if not f.inet.watched)
    if handles:
        state.net_watching = True
        vfs.api.kernel.ipc.notify(state.net_port, Message(NetWatch.OP, b"", vfs.api.pid,
                                                          body=NetWatch(handles)))


def _run_again(vfs: Vfs) -> None:
    waiting, vfs.state.net_syncing = vfs.state.net_syncing, []
    for request in waiting:
        if vfs.api.waiting(request):
            vfs.handle(request)


def net_restarted(vfs: Vfs, request: Request, r: NetRestarted) -> None:
    """The net server restarted empty: the sockets it had are reset (every call on one
    fails ECONNRESET there; poll reports the reset, as Linux's does after an RST)."""
    for handle, file in vfs.state.net_files.items():
        if handle < r.first:
            file.inet.events, file.inet.watched = RESET_EVENTS, True
    vfs.state.net_watching = False  # (a NetWatch the crash lost: asked again)
    _run_again(vfs)
    vfs.wake_pollers()


def send_whole(vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int:
    """sendfile(2) to a socket that has room: the net server takes ``data`` whole and
    answers the caller; the count is what the source's offset moves by."""
    _call(vfs, request, file, NetWrite(data, whole=True))
    return len(data)


def _close(vfs: Vfs, handle: int) -> None:
    port = vfs.state.net_port
    if port is not None:
        vfs.api.kernel.ipc.notify(port, Message(NetClose.OP, b"", vfs.api.pid,
                                                body=NetClose(handle)))


class NetSocket(FileOps):
    """The inet kind of open file: a TCP, UDP or netlink socket the net server owns."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any) -> Any:
        _call(vfs, request, file, NetRead(count, None, grant if type(grant) is Inline else None))

    def readv(self, vfs: Vfs, request: Request, file: OpenFile, grants: list[int],
              lengths: list[int]) -> Any:
        _call(vfs, request, file, NetRead(sum(lengths), tuple(lengths)))

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
        _call(vfs, request, file, NetWrite(data))
        return None

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        ref: NetRef = file.inet
        if not ref.watched:
            raise NetSync(ref.handle)
        return ref.events & (events | POLLHUP | POLLERR)

    def seek(self, file: OpenFile, offset: int, whence: int) -> int:
        raise KernelError(Errno.ESPIPE, "not seekable")

    def ioctl(self, vfs: Vfs, request: Request, file: OpenFile, r: abi.Ioctl) -> Any:
        _call(vfs, request, file, r)  # (FIONREAD, the interface ioctls; else ENOTTY)

    def stat(self, file: OpenFile) -> Attr:
        attr = pipe.anon_attr(file, S_IFSOCK | 0o777, SOCKFS_DEV)
        return replace(attr, ino=inode(file))

    def path(self, file: OpenFile) -> bytes:
        return f"socket:[{inode(file)}]".encode()

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        """The last fd went: the net server lets go of the socket."""
        ref: NetRef = file.inet
        vfs.state.net_files.pop(ref.handle, None)
        _close(vfs, ref.handle)


def inode(file: OpenFile) -> int:
    """The inode number fstat and /proc show for a socket (socket:[inode]): its handle,
    which /proc/net's tables show too."""
    ref: NetRef = file.inet
    return ref.handle
