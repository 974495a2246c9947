"""AF_UNIX sockets: stream, seqpacket and datagram sockets on one machine.

Owns: creating sockets and connected pairs, names (a path, as a socket file, or an
abstract name; autobind), listening and its backlog, connecting and accepting
(an accept with nothing queued waits: a deferred reply), the socket options of
SOL_SOCKET, shutting a direction down, sends and receives (with the open files of
SCM_RIGHTS), a socket's poll events, and letting go of a socket (its connection
ends, its name goes). A connection is two pipes, crossed: each end reads one and
writes the other (``pipe`` moves the bytes). A datagram socket of socket(2) reads
its own queue, a message pipe that keeps each message's sender; it writes to the
queue of the socket an address names, or of the one it connected to (``tx``).
Never: touches guest memory except through a request's grants; reaches a host socket.
Called by: ``vfs.server`` (the socket calls, and every operation on a socket).
"""

from __future__ import annotations

import stat
import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from cloudos.abi import vfs as abi
from cloudos.abi.flags import AT_FDCWD
from cloudos.abi.vfs import BytesOut, Ioctl, Received
from cloudos.errno import Errno, KernelError
from cloudos.servers.net.inet import BUF_MAX, INT_MAX, MIN_SNDBUF
from cloudos.servers.net.sockets import IFREQ_ANSWERS, interface_ioctl
from cloudos.servers.vfs import fileops, files, pipe
from cloudos.servers.vfs.pipe import SHUT_READ, SHUT_WRITE
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.files import (O_CLOEXEC, O_NONBLOCK, Listener,
                                       OpenFile, Pipe)
from cloudos.servers.vfs.fs import Attr

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

SHUT_BOTH = SHUT_READ | SHUT_WRITE  # OpenFile.shut bits (pipe.py)
MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT, MSG_WAITALL = 1, 2, 0x20, 0x40, 0x100
MSG_NOSIGNAL, MSG_CMSG_CLOEXEC = 0x4000, 0x40000000
AF_UNSPEC, AF_UNIX, SOMAXCONN, SOCKET_BUFFER = 0, 1, 4096, 212992
SOCK_STREAM, SOCK_DGRAM = 1, 2
EPROTOTYPE = 91  # (not among the kernel's names: its image has no room)
SOL_SOCKET, SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF = 1, 2, 3, 4, 7, 8
SO_KEEPALIVE, SO_LINGER, SO_PASSCRED, SO_PEERCRED, SO_RCVTIMEO, SO_SNDTIMEO = 9, 13, 16, 17, 20, 21
SO_ACCEPTCONN, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PROTOCOL, SO_DOMAIN = 30, 32, 33, 38, 39
POLLIN, POLLOUT, POLLHUP, POLLRDHUP = 1, 4, 16, 0x2000
SOCKFS_DEV = 0x08
SOCKADDR_UN = 110  # sizeof(struct sockaddr_un)
CAP_NET_ADMIN = 12  # capabilities(7): SO_SNDBUFFORCE, SO_RCVBUFFORCE


def _connection(socktype: int) -> tuple[Pipe, Pipe]:
    """The two pipes of a connection; a message socket's keep message ends."""
    def new() -> Pipe:
        if socktype == SOCK_STREAM:  # (charged as Linux's sender allocates its sk_buffs)
            return Pipe(readers=1, writers=1, capacity=SOCKET_BUFFER, skbs=deque())
        return Pipe(readers=1, writers=1, bounds=deque(), capacity=SOCKET_BUFFER)
    return new(), new()


def socketpair(vfs: Vfs, request: Request, r: abi.Socketpair) -> int:
    """A connected AF_UNIX pair (the client checked domain, type and protocol)."""
    proc = vfs.proc(request)
    proc.fds.check_free(2)
    there, back = _connection(r.socktype)
    status, cloexec = files.O_RDWR | r.flags & O_NONBLOCK, bool(r.flags & O_CLOEXEC)
    cred = (request.sender, *vfs.owner())  # each end's peer is its creator
    first = proc.fds.install(OpenFile("socket", status, pipe=back, tx=there,
                                      socktype=r.socktype, cred=cred), cloexec)
    second = proc.fds.install(OpenFile("socket", status, pipe=there, tx=back,
                                       socktype=r.socktype, cred=cred), cloexec)
    vfs.api.copy_out(request.grants[0], 0, struct.pack("<ii", first, second))
    return 0


def socket(vfs: Vfs, request: Request, r: abi.Socket) -> int:
    """An unconnected AF_UNIX socket (the client checked domain and type). A datagram
    one has its own queue from the start: whoever finds its name sends to it."""
    queue = None
    if r.socktype == SOCK_DGRAM:
        queue = Pipe(readers=1, writers=1, bounds=deque(), capacity=SOCKET_BUFFER,
                     senders=deque())
    file = OpenFile("socket", files.O_RDWR | r.flags & O_NONBLOCK, pipe=queue,
                    socktype=r.socktype)
    return vfs.proc(request).fds.install(file, bool(r.flags & O_CLOEXEC))


def _address(addr: bytes) -> tuple[bytes, bytes]:
    """(name, kind) of a struct sockaddr_un: b"path" or b"abstract" (b"" to autobind)."""
    if not 2 <= len(addr) <= SOCKADDR_UN or struct.unpack_from("<H", addr)[0] != AF_UNIX:
        raise KernelError(Errno.EINVAL, "not an AF_UNIX address")
    path = addr[2:]
    if not path:
        return b"", b""
    if path[0] == 0:
        return path, b"abstract"
    path = path.split(b"\0")[0]
    if not path:
        raise KernelError(Errno.EINVAL, "empty socket path")
    return path, b"path"


def _sockaddr(name: bytes, kind: bytes) -> bytes:
    family = struct.pack("<H", AF_UNIX)
    return family + name + (b"\0" if kind == b"path" else b"")


def bind(vfs: Vfs, request: Request, r: abi.Bind) -> int:
    proc = vfs.proc(request)
    file = _socket(vfs, request, r.fd)
    name, kind = _address(r.addr)
    if file.name and kind == b"path":  # bound already: the name taken, else EINVAL
        walk, last = vfs.lookup_parent(proc, AT_FDCWD, name)
        try:
            walk[-1].fs.lookup(walk[-1].node, last)
        except KernelError:
            raise KernelError(Errno.EINVAL, "the socket is bound") from None
        raise KernelError(Errno.EADDRINUSE, name.decode(errors="replace"))
    if kind == b"path":
        mode = stat.S_IFSOCK | (0o777 & ~proc.umask)
        try:  # (a name that exists, "." and ".." too: EADDRINUSE)
            walk, last = vfs.lookup_parent(proc, AT_FDCWD, name)
            node = walk[-1].fs.mknod(walk[-1].node, last, mode, 0, *vfs.owner())
        except KernelError as err:
            raise KernelError(Errno.EADDRINUSE if err.errno == Errno.EEXIST
                              else err.errno, name.decode(errors="replace")) from None
        a = walk[-1].fs.getattr(node)
        key: Any = ("node", a.dev, a.ino)
    else:
        if file.name:
            raise KernelError(Errno.EINVAL, "the socket is bound")
        if not name:  # autobind: an abstract name of five hex digits
            vfs.state.autobinds += 1
            name, kind = b"\0%05x" % vfs.state.autobinds, b"abstract"
        key = ("abstract", name)
        if key in vfs.state.unix_names:
            raise KernelError(Errno.EADDRINUSE, "abstract name in use")
    if file.name:
        raise KernelError(Errno.EINVAL, "the socket is bound")
    file.name = _sockaddr(name, kind)
    vfs.state.unix_names[key] = file
    return 0


def listen(vfs: Vfs, request: Request, r: abi.Listen) -> int:
    file = _socket(vfs, request, r.fd)
    if _datagram(file):
        raise KernelError(Errno.EOPNOTSUPP, "a datagram socket does not listen")
    if not file.name or file.pipe is not None:
        raise KernelError(Errno.EINVAL, "listen needs a bound, unconnected socket")
    limit = min(max(r.backlog, 0), SOMAXCONN) + 1
    if file.listener is None:
        file.listener = Listener(limit, request.sender)
    file.listener.limit = limit
    return 0


def _bound(vfs: Vfs, proc: Proc, addr: bytes) -> OpenFile | None:
    """The socket bound to a sockaddr_un: None if no socket is (ENOENT for a missing
    path, ECONNREFUSED for a file that is no socket, as Linux's unix_find_other)."""
    name, kind = _address(addr)
    if kind == b"path":
        step = vfs.lookup(proc, AT_FDCWD, name)[-1]
        a = step.fs.getattr(step.node)
        if not stat.S_ISSOCK(a.mode):
            raise KernelError(Errno.ECONNREFUSED, "not a socket")
        return vfs.state.unix_names.get(("node", a.dev, a.ino))
    if kind == b"abstract":
        return vfs.state.unix_names.get(("abstract", name))
    raise KernelError(Errno.EINVAL, "no address")


def _datagram(file: OpenFile) -> bool:
    """Whether ``file`` is a datagram socket of socket(2) (its queue keeps senders)."""
    return file.pipe is not None and file.pipe.senders is not None


def _messages(file: OpenFile) -> bool:
    """Whether ``file`` receives messages, not a stream: a datagram socket, either end
    of a SOCK_DGRAM or SOCK_SEQPACKET pair, or a SOCK_SEQPACKET connection (all are
    received as Linux's unix_dgram_recvmsg receives)."""
    return file.pipe is not None and file.pipe.bounds is not None


def _message_flags(flags: int) -> None:
    """A message socket's receive flags: MSG_OOB is refused, the rest mean nothing or
    are the receive's own (Linux's unix_dgram_recvmsg)."""
    if flags & MSG_OOB:
        raise KernelError(Errno.EOPNOTSUPP, "no out-of-band data on a message socket")


def _dgram_connect(vfs: Vfs, request: Request, file: OpenFile, addr: bytes) -> int:
    """A datagram socket's default destination: set, or (AF_UNSPEC) dissolved."""
    if len(addr) >= 2 and struct.unpack_from("<H", addr)[0] == AF_UNSPEC:
        file.tx, file.peer = None, b""
        return 0
    target = _bound(vfs, vfs.proc(request), addr)
    if target is None:
        raise KernelError(Errno.ECONNREFUSED, "no socket is bound there")
    if not _datagram(target):
        raise KernelError(EPROTOTYPE, "the socket there is of another type")
    file.tx, file.peer = target.pipe, target.name
    return 0


def connect(vfs: Vfs, request: Request, r: abi.Connect) -> int:
    proc = vfs.proc(request)
    file = _socket(vfs, request, r.fd)
    if _datagram(file):
        return _dgram_connect(vfs, request, file, r.addr)
    server = _bound(vfs, proc, r.addr)
    if file.listener is not None:
        raise KernelError(Errno.EINVAL, "a listening socket does not connect")
    if file.pipe is not None:
        raise KernelError(Errno.EISCONN, "already connected")
    if server is not None and _datagram(server):
        raise KernelError(EPROTOTYPE, "a datagram socket is bound there")
    listener = server.listener if server is not None else None
    if listener is None:
        raise KernelError(Errno.ECONNREFUSED, "nobody listens there")
    if len(listener.queue) >= listener.limit:
        raise KernelError(Errno.EAGAIN, "the listener's backlog is full")
    assert server is not None
    if server.socktype != file.socktype:
        raise KernelError(EPROTOTYPE, "the listener is of another socket type")
    there, back = _connection(file.socktype)
    uid, gid = vfs.owner()
    accepted = OpenFile("socket", files.O_RDWR, pipe=there, tx=back, name=server.name,
                        peer=file.name or struct.pack("<H", AF_UNIX),
                        cred=(request.sender, uid, gid), socktype=file.socktype)
    file.pipe, file.tx, file.peer = back, there, server.name
    file.cred = (listener.owner, uid, gid)
    listener.queue.append(accepted)
    serve_accepts(vfs, listener)
    vfs.wake_pollers()
    return 0


def accept4(vfs: Vfs, request: Request, r: abi.Accept4) -> Any:
    file = _socket(vfs, request, r.fd)
    if r.flags & ~(O_CLOEXEC | O_NONBLOCK):
        raise KernelError(Errno.EINVAL, f"accept4 flags {r.flags:#x}")
    listener = file.listener
    if _datagram(file):
        raise KernelError(Errno.EOPNOTSUPP, "a datagram socket does not accept")
    if listener is None:
        raise KernelError(Errno.EINVAL, "not listening")
    if not listener.queue:
        if file.flags & O_NONBLOCK:
            raise KernelError(Errno.EAGAIN, "no connection waits")
        listener.accepting.append((request, r.flags))
        return None  # answered when a client connects
    return accept_one(vfs.proc(request), listener.queue.popleft(), r.flags)


def accept_one(proc: Proc, conn: OpenFile, flags: int) -> BytesOut:
    conn.flags |= flags & O_NONBLOCK
    return BytesOut(proc.fds.install(conn, bool(flags & O_CLOEXEC)), conn.peer)


def serve_accepts(vfs: Vfs, listener: Listener) -> None:
    while listener.queue and listener.accepting:
        request, flags = listener.accepting.popleft()
        proc = vfs.state.procs.get(request.sender)
        if proc is None or not vfs.api.waiting(request):
            continue
        vfs.api.reply(request, accept_one(proc, listener.queue.popleft(), flags))


def getsockname(vfs: Vfs, request: Request, r: abi.Getsockname) -> Any:
    file = _socket(vfs, request, r.fd)
    return BytesOut(0, file.name or struct.pack("<H", AF_UNIX))


def getpeername(vfs: Vfs, request: Request, r: abi.Getpeername) -> Any:
    file = _socket(vfs, request, r.fd)
    if file.pipe is None or _datagram(file) and file.tx is None:
        raise KernelError(Errno.ENOTCONN, "not connected")
    return BytesOut(0, file.peer)


def getsockopt(vfs: Vfs, request: Request, r: abi.Getsockopt) -> Any:
    """SOL_SOCKET options of an AF_UNIX stream socket: their value, as bytes."""
    file = _socket(vfs, request, r.fd)
    if r.level != SOL_SOCKET:
        raise KernelError(Errno.EOPNOTSUPP, f"level {r.level}")
    values = {SO_TYPE: file.socktype, SO_ERROR: 0, SO_DOMAIN: AF_UNIX, SO_PROTOCOL: 0,
              SO_ACCEPTCONN: int(file.listener is not None), SO_SNDBUF: _sndbuf(file),
              SO_RCVBUF: SOCKET_BUFFER, SO_REUSEADDR: 0, SO_KEEPALIVE: 0, SO_PASSCRED: 0}
    if r.option == SO_PEERCRED:
        known = file.pipe is not None and not _datagram(file)  # (a datagram's: none)
        return BytesOut(0, struct.pack("<iII", *file.cred) if known
                        else struct.pack("<iii", 0, -1, -1))
    if r.option not in values:
        raise KernelError(Errno.ENOPROTOOPT, f"socket option {r.option}")
    return BytesOut(0, struct.pack("<i", values[r.option]))


def setsockopt(vfs: Vfs, request: Request, r: abi.Setsockopt) -> int:
    """A connected socket's SO_SNDBUF (what its messages, or a stream's buffers, are
    charged against); accepted and without effect: the other buffer sizes, address
    reuse, keepalive."""
    file = _socket(vfs, request, r.fd)
    if r.level != SOL_SOCKET:
        raise KernelError(Errno.ENOPROTOOPT, f"level {r.level}")
    if r.option not in (SO_REUSEADDR, SO_KEEPALIVE, SO_SNDBUF, SO_RCVBUF, SO_PASSCRED,
                        SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_LINGER, SO_RCVTIMEO, SO_SNDTIMEO):
        raise KernelError(Errno.ENOPROTOOPT, f"socket option {r.option}")
    if r.option in (SO_SNDBUF, SO_SNDBUFFORCE) and len(r.value) < 4:
        raise KernelError(Errno.EINVAL, "an int option takes 4 bytes")
    if r.option in (SO_SNDBUFFORCE, SO_RCVBUFFORCE) and not vfs.who().capable(CAP_NET_ADMIN):
        raise KernelError(Errno.EPERM, "forcing a buffer size needs CAP_NET_ADMIN")
    tx = None if _datagram(file) else file.tx  # (a datagram's tx is its peer's own queue)
    if r.option in (SO_SNDBUF, SO_SNDBUFFORCE) and tx is not None \
            and (tx.bounds is not None or tx.skbs is not None):
        # as sock_setsockopt: doubled (Linux's bookkeeping overhead), within wmem_max
        # (FORCE: within INT_MAX), never under SOCK_MIN_SNDBUF
        wanted = max(struct.unpack_from("<i", r.value)[0], 0)
        most = INT_MAX // 2 if r.option == SO_SNDBUFFORCE else BUF_MAX
        tx.capacity = max(min(wanted, most) * 2, MIN_SNDBUF)
        pipe.changed(vfs, tx)  # (a larger buffer: waiting senders may go on)
    return 0


def _sndbuf(file: OpenFile) -> int:
    """SO_SNDBUF: a connected socket's charge limit; else Linux's default."""
    tx = None if _datagram(file) else file.tx
    return tx.capacity if tx is not None and (tx.bounds is not None or tx.skbs is not None) \
        else SOCKET_BUFFER


def sendmsg(vfs: Vfs, request: Request, r: abi.Sendmsg) -> int | None:
    """sendmsg: the bytes, and open files (SCM_RIGHTS) that travel with them."""
    proc = vfs.proc(request)
    file = _socket(vfs, request, r.fd)
    if r.flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL):
        raise KernelError(Errno.EOPNOTSUPP, f"send flags {r.flags:#x}")
    passing = [proc.fds.get(n) for n in r.fds]  # EBADF before anything is sent
    if _datagram(file):
        tx = _destination(vfs, request, file, r.addr)
    else:
        _connected(file, False)
        assert file.tx is not None
        tx = file.tx
    data = b"".join(vfs.api.copy_in(g, 0, n) for g, n in zip(request.grants, r.lengths))
    dontwait = bool(r.flags & MSG_DONTWAIT)
    if not (passing and data):
        return pipe.write(vfs, request, file, data, 0, dontwait, tx)
    # the files go in first: a reader waiting now takes them with the bytes
    start = tx.consumed + len(tx.buffer)
    chunk = [start, start + len(data), passing]
    tx.rights.append(chunk)
    for passed in passing:
        passed.refs += 1  # held by the message until it is received
    try:
        result = pipe.write(vfs, request, file, data, 0, dontwait, tx)
    except KernelError:
        if chunk in tx.rights:
            tx.rights.remove(chunk)
            for passed in passing:
                vfs.unref(passed)
        raise
    if result is not None:
        chunk[1] = start + result  # a non-blocking write may have sent less
    return result


def recvmsg(vfs: Vfs, request: Request, r: abi.Recvmsg) -> Any:
    """recvmsg: bytes into the buffers; open files that came with them into the control
    buffer (the last grant, ``room`` bytes)."""
    file = _socket(vfs, request, r.fd)
    if _messages(file):
        _message_flags(r.flags)
    _connected(file, True)
    grants = request.grants[:len(r.lengths)]
    control = (request.grants[len(r.lengths)] if r.room else 0, r.room, r.flags)
    if _messages(file):
        return _receive(vfs, request, _Datagram(file, r.flags, control, "msg"),
                        sum(r.lengths), grants, r.lengths)
    return _stream_receive(vfs, request, file, sum(r.lengths), grants, r.lengths, r.flags,
                           control)


def _connected(file: OpenFile, reading: bool) -> None:
    """A socket read or written must be connected (reading a listening or new one: EINVAL)."""
    if file.pipe is None:
        raise KernelError(Errno.EINVAL if reading else Errno.ENOTCONN, "not connected")


def _socket(vfs: Vfs, request: Request, fd: int) -> OpenFile:
    file = vfs.proc(request).fds.get(fd)
    if file.kind != "socket":
        raise KernelError(Errno.ENOTSOCK, f"fd {fd} is not a socket")
    return file


def _shutdown(vfs: Vfs, file: OpenFile, how: int) -> None:
    assert file.pipe is not None and file.tx is not None
    pipe.shut(vfs, file, how)


def shutdown(vfs: Vfs, request: Request, r: abi.Shutdown) -> int:
    file = _socket(vfs, request, r.fd)
    if r.how not in (0, 1, 2):
        raise KernelError(Errno.EINVAL, f"shutdown how={r.how}")
    if file.pipe is None or _datagram(file):  # Linux notes it and succeeds (a later
        file.shut |= r.how + 1                  # connect is refused, a send EPIPE)
        return 0
    _shutdown(vfs, file, r.how + 1)  # SHUT_RD, SHUT_WR, SHUT_RDWR -> bits 1, 2, 3
    return 0


def sendto(vfs: Vfs, request: Request, r: abi.Sendto) -> int | None:
    file = _socket(vfs, request, r.fd)
    if _datagram(file):
        if r.flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL):
            raise KernelError(Errno.EOPNOTSUPP, f"send flags {r.flags:#x}")
        to = _destination(vfs, request, file, r.addr)
        data = vfs.api.copy_in(request.grants[0], 0, r.count)
        return pipe.write(vfs, request, file, data, 0, bool(r.flags & MSG_DONTWAIT), to)
    if r.named:
        raise KernelError(Errno.EISCONN, "the socket is connected")
    if r.flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL):
        raise KernelError(Errno.EOPNOTSUPP, f"send flags {r.flags:#x}")
    _connected(file, False)
    data = vfs.api.copy_in(request.grants[0], 0, r.count)
    return pipe.write(vfs, request, file, data, 0, bool(r.flags & MSG_DONTWAIT))


def recvfrom(vfs: Vfs, request: Request, r: abi.Recvfrom) -> Any:
    file = _socket(vfs, request, r.fd)
    if _messages(file):
        _message_flags(r.flags)
        return _receive(vfs, request, _Datagram(file, r.flags, None, "from"), r.count,
                        request.grants[0], None)
    _connected(file, True)
    return _stream_receive(vfs, request, file, r.count, request.grants[0], None, r.flags, None)


def _stream_receive(vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any,
                    lengths: list[int] | None, flags: int, control: Any) -> Any:
    """A stream socket's recv, recvfrom or recvmsg with its flags, as Linux's
    unix_stream_read_generic: MSG_PEEK copies the bytes and leaves them queued,
    MSG_WAITALL waits for all ``count`` bytes (``_StreamWaitAll``; with MSG_PEEK, or not
    blocking, it means nothing), MSG_OOB is EINVAL (no out-of-band byte is ever queued
    here), flags that mean nothing to a stream (MSG_TRUNC, MSG_NOSIGNAL, MSG_ERRQUEUE...)
    are ignored."""
    if flags & MSG_OOB:
        raise KernelError(Errno.EINVAL, "no out-of-band data")
    dontwait = bool(flags & MSG_DONTWAIT)
    if not flags & MSG_PEEK:
        if flags & MSG_WAITALL and not dontwait and not file.flags & O_NONBLOCK \
                and file.pipe is not None and count:
            waiting = _StreamWaitAll(control)
            if not waiting.resume(vfs, request, file.pipe, count, grant, lengths):
                file.pipe.blocked_readers.append((request, count, grant, lengths, waiting))
            return None  # (answered by ``resume``, now or as bytes come)
        return pipe.read(vfs, request, file, count, grant, lengths, dontwait, control)
    rx = file.pipe
    assert rx is not None
    if count == 0:
        return 0
    if not rx.buffer:
        if rx.writers == 0 or rx.readers == 0:
            return 0  # end of file
        if file.flags & O_NONBLOCK or dontwait:
            raise KernelError(Errno.EAGAIN, "nothing queued")
        rx.blocked_readers.append((request, count, grant, lengths, _StreamPeek(control)))
        return None  # answered when bytes come
    return _peek(vfs, request, rx, count, grant, lengths, control)


def _peek(vfs: pipe.PipeServer, request: Request, rx: Pipe, count: int, grant: Any,
          lengths: list[int] | None, control: Any) -> Any:
    """A copy of up to ``count`` queued bytes, stopping after bytes that carry open files
    (as a read does); those files go to the control buffer as new fds too, the message
    keeping its own (Linux's unix_peek_fds)."""
    start = rx.consumed
    end = start + min(count, len(rx.buffer))
    passed: list[OpenFile] = []
    for chunk in rx.rights:
        if chunk[0] < end and chunk[1] > start:
            end, passed = min(end, chunk[1]), list(chunk[2])
            break
    for held in passed:
        held.refs += 1  # (the fd hand_over installs holds this one)
    return pipe.hand_over(vfs, request, grant, bytes(rx.buffer[:end - start]), lengths, passed,
                          control)


class _StreamWaitAll(pipe.Resumable):
    """A blocking MSG_WAITALL receive on a stream (Linux's unix_stream_read_generic with
    ``count`` as its target): it takes what comes until ``count`` bytes, the end of the
    stream, or bytes that carry files (the receive ends with them; they go to recvmsg's
    control buffer as a plain receive's do)."""

    def __init__(self, control: Any) -> None:
        self.control, self.done = control, 0

    def resume(self, vfs: pipe.PipeServer, request: Request, rx: Pipe, count: int, grant: Any,
               lengths: list[int] | None) -> bool:
        data, passed = pipe.take(rx, count - self.done)
        try:
            if data:
                fileops.scatter(vfs.api, grant, data, lengths, self.done)
        except KernelError as err:  # (its buffer went: what came before it is the answer)
            for held in passed:
                vfs.unref(held)
            vfs.answer(request, self.done or -err.errno)
            return True
        if data:
            self.done += len(data)
            request.on_crash = self.done  # taken already: a crash must not lose it
            pipe.signal_async(vfs, rx.async_writers)
            pipe.changed(vfs, rx)  # (room for writers)
        if self.done < count and not passed and rx.writers and rx.readers:
            return False
        answer = pipe.hand_over(vfs, request, grant, b"", lengths, passed, self.control)
        vfs.answer(request, self.done if isinstance(answer, int) else
                   Received(self.done, answer.control_used, answer.msg_flags))
        return True


class _StreamPeek(pipe.Resumable):
    """A blocking MSG_PEEK on a stream: answered with a copy of the first bytes that come
    (0 at the end of the stream)."""

    def __init__(self, control: Any) -> None:
        self.control = control

    def resume(self, vfs: pipe.PipeServer, request: Request, rx: Pipe, count: int, grant: Any,
               lengths: list[int] | None) -> bool:
        try:
            vfs.answer(request, _peek(vfs, request, rx, count, grant, lengths, self.control)
                       if rx.buffer else 0)
        except KernelError as err:
            vfs.answer(request, -err.errno)
        return True


def _destination(vfs: Vfs, request: Request, file: OpenFile, addr: bytes) -> Pipe:
    """The queue a datagram goes to: the socket bound at ``addr``, else the connected
    peer's. As Linux: ECONNREFUSED where nobody is bound; a peer gone is ECONNREFUSED
    once, then the socket is unconnected (ENOTCONN); EPERM if the receiver is connected
    to another socket."""
    if file.shut & SHUT_WRITE:
        raise KernelError(Errno.EPIPE, "shut down for sending")
    if addr:
        target = _bound(vfs, vfs.proc(request), addr)
        if target is None:
            raise KernelError(Errno.ECONNREFUSED, "no socket is bound there")
        if not _datagram(target):
            raise KernelError(EPROTOTYPE, "the socket there is of another type")
        if target.tx is not None and target.tx is not file.pipe:
            raise KernelError(Errno.EPERM, "the receiver is connected to another socket")
        assert target.pipe is not None
        return target.pipe
    if file.tx is None:
        raise KernelError(Errno.ENOTCONN, "no destination")
    if file.tx.readers == 0:
        file.tx, file.peer = None, b""
        raise KernelError(Errno.ECONNREFUSED, "the peer is gone")
    return file.tx


class _Datagram(pipe.Resumable):
    """A receive on a message socket (``_messages``), now or parked until a message
    comes: a read's, recvfrom's (the answer carries the sender's address) or recvmsg's
    (and its control buffer). A SOCK_SEQPACKET socket's stream of messages ends when its
    peer goes or it is shut for reading; a datagram one's only when it is shut."""

    def __init__(self, file: OpenFile, flags: int, control: Any, how: str) -> None:
        self.file, self.flags, self.control, self.how = file, flags, control, how

    def resume(self, vfs: pipe.PipeServer, request: Request, queue: Pipe, count: int,
               grant: Any, lengths: list[int] | None) -> bool:
        if not queue.readable():
            if not self.ended(queue):
                return False
            vfs.answer(request, self.nothing())
            return True
        try:
            vfs.answer(request, self.take(vfs, request, queue, count, grant, lengths))
        except KernelError as err:
            vfs.answer(request, -err.errno)
        return True

    def take(self, vfs: pipe.PipeServer, request: Request, queue: Pipe, count: int,
             grant: Any, lengths: list[int] | None) -> Any:
        """The first message (cut to ``count``; MSG_PEEK leaves it queued), answered as
        the call asks: MSG_TRUNC gives its whole length, and recvmsg's msg_flags say
        MSG_TRUNC when it was cut. A pair's messages have no sender address."""
        assert queue.bounds
        size = queue.bounds[0] - queue.consumed
        sender = queue.senders[0] if queue.senders is not None else b""
        if self.flags & MSG_PEEK:
            got = _peek(vfs, request, queue, min(count, size), grant, lengths, self.control)
        else:
            data, passed = pipe.take(queue, count)
            pipe.signal_async(vfs, queue.async_writers)
            got = pipe.hand_over(vfs, request, grant, data, lengths, passed, self.control)
        taken = got.count if isinstance(got, Received) else got
        length = size if self.flags & MSG_TRUNC else taken
        if self.how == "msg":
            assert isinstance(got, Received)
            trunc = MSG_TRUNC if size > taken else 0
            return Received(length, got.control_used, got.msg_flags | trunc, sender)
        return BytesOut(length, sender) if self.how == "from" else length

    def ended(self, queue: Pipe) -> bool:
        """With nothing queued: whether the receive is over (``nothing``) rather than
        waiting."""
        if self.file.shut & SHUT_READ:
            return True
        return self.file.socktype != SOCK_DGRAM and (queue.writers == 0 or queue.readers == 0)

    def nothing(self) -> Any:
        """The answer of a socket shut for reading, or a SOCK_SEQPACKET one whose peer
        went, with nothing queued: 0 bytes."""
        if self.how == "msg":
            return Received(0, 0, 0)
        return BytesOut(0, b"") if self.how == "from" else 0


def _receive(vfs: Vfs, request: Request, how: _Datagram, count: int, grant: Any,
             lengths: list[int] | None) -> Any:
    """A datagram socket's receive: a message now, else EAGAIN or a wait."""
    queue, file = how.file.pipe, how.file
    assert queue is not None
    if not queue.readable():
        if how.ended(queue):
            return how.nothing()
        if file.flags & O_NONBLOCK or how.flags & MSG_DONTWAIT:
            raise KernelError(Errno.EAGAIN, "no datagram queued")
        queue.blocked_readers.append((request, count, grant, lengths, how))
        return None  # answered when a message comes
    result = how.take(vfs, request, queue, count, grant, lengths)
    if not how.flags & MSG_PEEK:
        pipe.changed(vfs, queue)
    return result


class UnixSocket(FileOps):
    """The socket kind of open file: an AF_UNIX socket, connected or not, or listening."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any) -> Any:
        if not count:  # (nothing is taken, not even a message: Linux's sock_read_iter)
            return 0
        _connected(file, True)
        if _messages(file):
            return _receive(vfs, request, _Datagram(file, 0, None, "read"), count, grant, None)
        return pipe.read(vfs, request, file, count, grant, None)

    def readv(self, vfs: Vfs, request: Request, file: OpenFile, grants: list[int],
              lengths: list[int]) -> Any:
        vfs.check_readable(file)  # one read fills the buffers in order
        if not sum(lengths):
            return 0
        _connected(file, True)
        if _messages(file):
            return _receive(vfs, request, _Datagram(file, 0, None, "read"), sum(lengths),
                            grants, lengths)
        return pipe.read(vfs, request, file, sum(lengths), grants, lengths)

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
        if _datagram(file):
            return pipe.write(vfs, request, file, data, 0, False,
                              _destination(vfs, request, file, b""))
        _connected(file, False)
        return pipe.write(vfs, request, file, data, 0)

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        if file.listener is not None:
            return POLLIN & events if file.listener.queue else 0
        if file.pipe is None:  # unconnected: Linux says so
            return (POLLOUT & events) | POLLHUP
        if _datagram(file):  # as Linux's unix_dgram_poll
            mask = POLLIN if file.pipe.readable() else 0
            mask |= POLLOUT if file.tx is None or pipe.has_room(file.tx) else 0
            return mask & events
        # as Linux's unix_poll: shut directions, data, room
        rx, tx = file.pipe, file.tx
        assert tx is not None
        rcv_shut = not rx.readers or not rx.writers
        snd_shut = not tx.readers or not tx.writers
        mask = (POLLIN | POLLRDHUP if rcv_shut else 0) | (POLLIN if rx.readable() else 0)
        mask |= (POLLHUP if rcv_shut and snd_shut else 0)
        mask |= POLLOUT if pipe.has_room(tx) else 0
        return mask & (events | POLLHUP)

    def seek(self, file: OpenFile, offset: int, whence: int) -> int:
        raise KernelError(Errno.ESPIPE, "not seekable")

    def ioctl(self, vfs: Vfs, request: Request, file: OpenFile, r: Ioctl) -> int:
        """FIONREAD, and the interface ioctls any socket answers (glibc's if_nametoindex
        asks them of an AF_UNIX datagram socket)."""
        if r.cmd in IFREQ_ANSWERS:
            return interface_ioctl(vfs, request, r.cmd)
        return super().ioctl(vfs, request, file, r)

    def stat(self, file: OpenFile) -> Attr:
        return pipe.anon_attr(file, stat.S_IFSOCK | 0o777, SOCKFS_DEV)

    def path(self, file: OpenFile) -> bytes:
        if file.pipe is None:  # (what /proc showed of an unconnected socket before the
            return b"/dev/console"  # split into kinds; Linux shows socket:[inode])
        return pipe.anon_path(file)

    def unread(self, vfs: Vfs, file: OpenFile) -> int:
        queue = file.pipe
        if queue is not None and queue.bounds is not None \
                and file.socktype == SOCK_DGRAM:  # the next datagram's size (Linux's
            # unix_inq_len; a SOCK_SEQPACKET socket's is all it holds)
            return queue.bounds[0] - queue.consumed if queue.bounds else 0
        return len(queue.buffer) if queue is not None else 0

    def fasync(self, vfs: Vfs, file: OpenFile, on: bool) -> bool:
        pipe.fasync(file, on)
        return True

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        """The last fd of a socket went: its connection ends; a listener's queue is refused;
        open files in flight to it are dropped."""
        pipe.fasync(file, False)
        if _datagram(file):
            assert file.pipe is not None
            file.pipe.readers = 0  # senders to it are refused from now on
            file.tx = None
            pipe.changed(vfs, file.pipe)
        elif file.pipe is not None:
            _shutdown(vfs, file, SHUT_BOTH)
        if file.pipe is not None:
            while file.pipe.rights:
                for passed in file.pipe.rights.popleft()[2]:
                    vfs.unref(passed)
        if file.listener is not None:
            for conn in file.listener.queue:
                _shutdown(vfs, conn, SHUT_BOTH)
            file.listener.queue.clear()
        for key in [k for k, f in vfs.state.unix_names.items() if f is file]:
            del vfs.state.unix_names[key]
