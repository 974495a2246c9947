"""Internet sockets as open files: AF_INET and AF_INET6, TCP (SOCK_STREAM) and UDP
(SOCK_DGRAM).

Owns: the socket calls on an internet socket (socket, bind, listen, connect,
accept4, the names, the options, shutdown, the sends and receives with MSG_PEEK,
MSG_DONTWAIT, MSG_WAITALL and MSG_TRUNC), its file operations (read, write, poll,
FIONREAD, stat, release), and the data path: a TCP connection on the guest's
loopback is two pipes, crossed, as an AF_UNIX one (``pipe`` moves the bytes and
parks the readers and writers); a UDP datagram goes straight to the queue of the
socket bound where it is sent. Ports, addresses, routes and options are the
network stack's (``servers.net.inet``); the sockets that go through a host socket
are ``servers.net.host``'s.
Never: touches guest memory except through a request's grants; blocks the server.
Called by: ``vfs.server`` (the socket calls of an internet socket, and every
operation on one).
"""

from __future__ import annotations

import dataclasses
import stat
import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from cloudos.abi import net, vfs as abi
from cloudos.abi.vfs import BytesOut, Op, Received, SocketTimeout
from cloudos.errno import Errno, KernelError
from cloudos.servers.net import inet, netlink
from cloudos.servers.net.inet import InetSock
from cloudos.servers.vfs import files, hostnet as host, pipe, unix
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.files import O_CLOEXEC, O_NONBLOCK, PIPE_CAPACITY, Listener, OpenFile, Pipe
from cloudos.servers.vfs.fs import Attr

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP = 1, 4, 8, 16, 0x2000
SOCKFS_DEV = 0x08
SHUT_READ, SHUT_WRITE = 1, 2  # OpenFile.shut bits
SEND_FLAGS = net.MSG_DONTWAIT | net.MSG_NOSIGNAL | net.MSG_MORE | net.MSG_CONFIRM | net.MSG_EOR
MSG_CTRUNC = 0x8


def socket(vfs: Vfs, request: Request, r: abi.Socket) -> int:
    """A new TCP or UDP socket (the personality checked domain, type and protocol)."""
    file = OpenFile("inet", files.O_RDWR | r.flags & O_NONBLOCK, socktype=r.socktype)
    file.inet = InetSock(r.domain, r.socktype, owner=file, creator=request.sender)
    fd = vfs.proc(request).fds.install(file, bool(r.flags & O_CLOEXEC))
    vfs.state.net.sockets[id(file.inet)] = file.inet
    return fd


def inode(file: OpenFile) -> int:
    """The inode number fstat and /proc show for a socket (socket:[inode])."""
    return id(file) & 0xFFFFFF


def _sock(vfs: Vfs, request: Request, fd: int) -> tuple[OpenFile, InetSock]:
    file = vfs.proc(request).fds.get(fd)
    assert file.kind == "inet"  # (vfs.server sends only these here)
    return file, file.inet


def _stream(sock: InetSock) -> bool:
    return sock.socktype == net.SOCK_STREAM


def bind(vfs: Vfs, request: Request, r: abi.Bind) -> int:
    _, sock = _sock(vfs, request, r.fd)
    where = inet.parse(sock, r.addr)
    assert where is not None
    if sock.family == net.AF_NETLINK:
        _netlink_bind(sock, where[1])
        return 0
    inet.bind(vfs.state.net, sock, *where)
    return 0


def _netlink_bind(sock: InetSock, pid: int) -> None:
    """A netlink socket's port id: the one asked for, or the creator's pid (port 0)."""
    if sock.local is not None and pid not in (0, sock.local[1]):
        raise KernelError(Errno.EINVAL, "the socket is bound")
    if sock.local is None:
        sock.local = (b"", pid or sock.creator)


def listen(vfs: Vfs, request: Request, r: abi.Listen) -> int:
    file, sock = _sock(vfs, request, r.fd)
    if not _stream(sock):
        raise KernelError(Errno.EOPNOTSUPP, "a datagram socket does not listen")
    if sock.remote is not None or sock.host is not None:
        raise KernelError(Errno.EINVAL, "a connected socket does not listen")
    if sock.local is None:
        inet.bind(vfs.state.net, sock, inet.ANY4 if sock.family == net.AF_INET else inet.ANY6, 0)
    assert sock.local is not None
    was, sock.listening = sock.listening, True
    if not was and inet.conflict(vfs.state.net, sock, sock.local[1]):
        sock.listening = False  # another socket listens there (SO_REUSEADDR does not share)
        raise KernelError(Errno.EADDRINUSE, f"port {sock.local[1]}")
    limit = min(max(r.backlog, 0), inet.SOMAXCONN) + 1
    if file.listener is None:
        file.listener = Listener(limit, request.sender)
    file.listener.limit = limit
    vfs.wake_pollers()
    return 0


def connect(vfs: Vfs, request: Request, r: abi.Connect) -> int | None:
    file, sock = _sock(vfs, request, r.fd)
    dest = inet.parse(sock, r.addr, unspec_ok=True)
    if sock.family == net.AF_NETLINK:
        _netlink_bind(sock, 0)
        sock.remote = dest
        return 0
    if not _stream(sock):
        return _associate(vfs, sock, dest, r.network)
    if sock.in_progress and sock.connecting is None:  # the call after an EINPROGRESS
        sock.in_progress = False
        error, sock.so_error = sock.so_error, 0
        if error or sock.remote is not None:
            return -error
    if sock.listening or sock.remote is not None and sock.connecting is None:
        raise KernelError(Errno.EISCONN, "connected already")
    if sock.connecting is not None:
        raise KernelError(Errno.EALREADY, "a connect is in progress")
    if dest is None:
        return 0  # AF_UNSPEC on an unconnected socket: nothing to dissolve
    _route(sock, dest[0], r.network)
    nonblock = bool(file.flags & O_NONBLOCK)
    if not inet.is_loopback(dest[0]):
        return _host_connect(vfs, request, file, sock, dest, nonblock)
    inet.autobind(vfs.state.net, sock, dest[0])
    server = inet.listener(vfs.state.net, *dest)
    if (server is None or server.owner.listener is None) and r.network:
        # with the NETWORK right, the host's own services answer on the loopback too
        return _host_connect(vfs, request, file, sock, dest, nonblock)
    if server is None or server.owner.listener is None:
        if nonblock:  # refused at once on the loopback, but reported as TCP does
            sock.so_error, sock.in_progress = Errno.ECONNREFUSED, True
            raise KernelError(Errno.EINPROGRESS, "refused (see SO_ERROR)")
        raise KernelError(Errno.ECONNREFUSED, "nobody listens there")
    _loopback_connect(vfs, file, sock, server, dest)
    if nonblock:  # a non-blocking connect reports the handshake as in progress
        sock.in_progress = True
        raise KernelError(Errno.EINPROGRESS, "connected (see SO_ERROR)")
    return 0


def _host_connect(vfs: Vfs, request: Request, file: OpenFile, sock: InetSock,
                  dest: tuple[bytes, int], nonblock: bool) -> Any:
    """A connect through a host socket; a blocking one waits at most SO_SNDTIMEO."""
    result = host.connect(vfs, request, file, sock, dest, nonblock)
    if result is None:
        _arm(vfs, sock, request, sock.sndtimeo)
    return result


def _route(sock: InetSock, dest: bytes, network: bool) -> None:
    """ENETUNREACH for a destination off the machine without the NETWORK right."""
    if sock.family == net.AF_INET6 and inet.is_v4(dest) \
            and sock.opt(net.IPPROTO_IPV6, net.IPV6_V6ONLY):
        raise KernelError(Errno.ENETUNREACH, "an IPv4 address on a V6ONLY socket")
    if not inet.is_loopback(dest) and not network:
        raise KernelError(Errno.ENETUNREACH, "no NETWORK capability: the loopback only")


def _loopback_connect(vfs: Vfs, file: OpenFile, sock: InetSock, server: InetSock,
                      dest: tuple[bytes, int]) -> None:
    """The connection, made at once: the server's end waits in the listener's queue."""
    assert sock.local is not None
    listener = server.owner.listener
    there, back = Pipe(readers=1, writers=1), Pipe(readers=1, writers=1)
    seen = (inet.source_for(dest[0]) if inet.is_any(dest[0]) else dest[0], dest[1])
    accepted = OpenFile("inet", files.O_RDWR, pipe=there, tx=back)
    peer = InetSock(server.family, net.SOCK_STREAM, owner=accepted, local=seen,
                    remote=sock.local, opts=dict(server.opts), linger=server.linger,
                    rcvbuf=server.rcvbuf, sndbuf=server.sndbuf)
    accepted.inet = peer
    peer.peer, sock.peer = sock, peer
    vfs.state.net.sockets[id(peer)] = peer
    accepted.peer = inet.sockaddr(peer, sock.local)
    file.pipe, file.tx, sock.remote = back, there, seen
    listener.queue.append(accepted)
    unix.serve_accepts(vfs, listener)
    vfs.wake_pollers()


def forward(vfs: Vfs, server: InetSock, peer: tuple[bytes, int], port: int) -> InetSock:
    """A connection from outside (a published port, ``hostnet``) to the guest's listener
    ``server``: the accepted end waits in its queue; the other is a file no fd holds, whose
    pipes the host socket fills and drains (its ``InetSock``, returned)."""
    client = OpenFile("inet", files.O_RDWR)
    sock = InetSock(server.family, net.SOCK_STREAM, owner=client, local=peer, forwarded=True)
    client.inet = sock
    _loopback_connect(vfs, client, sock, server, (inet.source_for(inet.LOOPBACK4), port))
    client.pipe, client.tx = client.tx, client.pipe  # (the host's side: it fills what the
    return sock                                       # guest reads, drains what it writes)


def _associate(vfs: Vfs, sock: InetSock, dest: tuple[bytes, int] | None, network: bool) -> int:
    """connect(2) of a UDP socket: its default destination, and the only source it takes."""
    if dest is None:
        sock.remote = None
        return 0
    _route(sock, dest[0], network)
    inet.autobind(vfs.state.net, sock, dest[0])
    assert sock.local is not None
    if inet.is_any(sock.local[0]) and inet.is_loopback(dest[0]):
        sock.local = (inet.source_for(dest[0]), sock.local[1])
    sock.remote = (inet.source_for(dest[0]) if inet.is_any(dest[0]) else dest[0], dest[1])
    return 0


def accept4(vfs: Vfs, request: Request, r: abi.Accept4) -> Any:
    file, sock = _sock(vfs, request, r.fd)
    if r.flags & ~(O_CLOEXEC | O_NONBLOCK):
        raise KernelError(Errno.EINVAL, f"accept4 flags {r.flags:#x}")
    if not _stream(sock):
        raise KernelError(Errno.EOPNOTSUPP, "a datagram socket does not accept")
    listener = file.listener
    if listener is None or not sock.listening:
        raise KernelError(Errno.EINVAL, "not listening")
    if not listener.queue:
        if file.flags & O_NONBLOCK:
            raise KernelError(Errno.EAGAIN, "no connection waits")
        listener.accepting.append((request, r.flags))
        _arm(vfs, sock, request, sock.rcvtimeo)
        return None  # answered when a client connects
    return unix.accept_one(vfs.proc(request), listener.queue.popleft(), r.flags)


def getsockname(vfs: Vfs, request: Request, r: abi.Getsockname) -> Any:
    _, sock = _sock(vfs, request, r.fd)
    return BytesOut(0, inet.sockaddr(sock, sock.local))


def getpeername(vfs: Vfs, request: Request, r: abi.Getpeername) -> Any:
    _, sock = _sock(vfs, request, r.fd)
    if sock.remote is None or sock.connecting is not None:
        raise KernelError(Errno.ENOTCONN, "not connected")
    return BytesOut(0, inet.sockaddr(sock, sock.remote))


def getsockopt(vfs: Vfs, request: Request, r: abi.Getsockopt) -> Any:
    _, sock = _sock(vfs, request, r.fd)
    if (r.level, r.option) == (net.SOL_SOCKET, net.SO_ERROR):
        error, sock.so_error = sock.so_error, 0
        return BytesOut(0, error.to_bytes(4, "little"))
    return BytesOut(0, inet.getsockopt(sock, r.level, r.option))


def setsockopt(vfs: Vfs, request: Request, r: abi.Setsockopt) -> int:
    _, sock = _sock(vfs, request, r.fd)
    inet.setsockopt(sock, r.level, r.option, r.value)
    return 0


def shutdown(vfs: Vfs, request: Request, r: abi.Shutdown) -> int:
    file, sock = _sock(vfs, request, r.fd)
    if r.how not in (net.SHUT_RD, net.SHUT_WR, net.SHUT_RDWR):
        raise KernelError(Errno.EINVAL, f"shutdown how={r.how}")
    how = r.how + 1  # SHUT_RD, SHUT_WR, SHUT_RDWR -> bits 1, 2, 3
    if sock.listening:
        if how & SHUT_READ:  # Linux stops listening (its queue is refused)
            _stop_listening(vfs, file, sock)
        return 0
    if sock.remote is None:
        raise KernelError(Errno.ENOTCONN, "not connected")
    _shut(vfs, file, how)
    host.shut(vfs, sock, how)
    return 0


def _shut(vfs: Vfs, file: OpenFile, how: int) -> None:
    new = how & ~file.shut
    file.shut |= new
    if file.pipe is not None and file.tx is not None:
        if new & SHUT_READ:
            file.pipe.readers -= 1
        if new & SHUT_WRITE:
            file.tx.writers -= 1
        pipe.changed(vfs, file.pipe)
        pipe.changed(vfs, file.tx)
    if new & SHUT_READ:
        _serve_datagrams(vfs, file.inet)
    vfs.wake_pollers()


def _stop_listening(vfs: Vfs, file: OpenFile, sock: InetSock) -> None:
    listener = file.listener
    sock.listening = False
    if listener is None:
        return
    for conn in listener.queue:
        _shut(vfs, conn, SHUT_READ | SHUT_WRITE)
        vfs.state.net.sockets.pop(id(conn.inet), None)
    listener.queue.clear()
    while listener.accepting:
        request, _ = listener.accepting.popleft()
        vfs.answer(request, -Errno.EINVAL)
    vfs.wake_pollers()


# -- sending ------------------------------------------------------------------------------
def sendto(vfs: Vfs, request: Request, r: abi.Sendto) -> int | None:
    file, sock = _sock(vfs, request, r.fd)
    data = vfs.api.copy_in(request.grants[0], 0, r.count)
    return _send(vfs, request, file, sock, data, r.flags, r.addr if r.named else b"", r.network)


def sendmsg(vfs: Vfs, request: Request, r: abi.Sendmsg) -> int | None:
    file, sock = _sock(vfs, request, r.fd)
    # (SCM_RIGHTS off AF_UNIX: ignored, as Linux's TCP and UDP do)
    data = b"".join(vfs.api.copy_in(g, 0, n) for g, n in zip(request.grants, r.lengths))
    return _send(vfs, request, file, sock, data, r.flags, r.addr, r.network)


def _send(vfs: Vfs, request: Request, file: OpenFile, sock: InetSock, data: bytes, flags: int,
          addr: bytes, network: bool) -> int | None:
    if flags & net.MSG_OOB:
        raise KernelError(Errno.EOPNOTSUPP, "urgent data (MSG_OOB)")
    dontwait = bool(flags & net.MSG_DONTWAIT)
    if not _stream(sock):
        return _send_datagram(vfs, sock, data, addr, network)
    if sock.connecting is not None or (sock.host is not None and file.tx is None):
        if file.flags & O_NONBLOCK or dontwait:
            raise KernelError(Errno.EAGAIN, "still connecting")
    if file.tx is None:
        error, sock.so_error = sock.so_error, 0
        raise KernelError(error or Errno.EPIPE, "not connected")
    if file.shut & SHUT_WRITE:
        raise KernelError(Errno.EPIPE, "shut for writing")
    rx, tx = file.pipe, file.tx
    if not tx.readers and rx is not None and not rx.writers and sock.host is None \
            and not sock.reset_sent:
        # the peer closed: as on Linux this write is sent, and answered by a reset that
        # makes the next one EPIPE
        sock.reset_sent = True
        return len(data)
    result = pipe.write(vfs, request, file, data, 0, dontwait)
    if result is None:
        _arm(vfs, sock, request, sock.sndtimeo)
    host.pump(vfs)
    return result


def write_now(vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int:
    """sendfile(2)'s write to a socket that has room: what it takes now."""
    written = _send(vfs, request, file, file.inet, data, net.MSG_DONTWAIT, b"", False)
    assert written is not None  # (MSG_DONTWAIT: never parked)
    return written


def _send_datagram(vfs: Vfs, sock: InetSock, data: bytes, addr: bytes, network: bool) -> int:
    """One UDP datagram: to the socket bound where it goes, or out through the host."""
    if addr:
        dest = inet.parse(sock, addr)
        assert dest is not None
    elif sock.remote is not None:
        dest = sock.remote
    elif sock.family == net.AF_NETLINK:
        dest = (b"", 0)  # the kernel
    else:
        raise KernelError(Errno.EDESTADDRREQ, "no destination")
    if sock.owner.shut & SHUT_WRITE:
        raise KernelError(Errno.EPIPE, "shut for writing")
    if sock.family == net.AF_NETLINK:
        return _netlink_send(vfs, sock, data, dest)
    if len(data) > inet.UDP_MAX + (20 if sock.family == net.AF_INET6 else 0):
        raise KernelError(Errno.EMSGSIZE, "larger than a UDP datagram")
    if dest in vfs.state.net.udp_flows and host.reply_published(vfs, data, dest):
        return len(data)  # (to a sender of a published port, wherever it is)
    _route(sock, dest[0], network)
    inet.autobind(vfs.state.net, sock, dest[0])
    assert sock.local is not None
    if not inet.is_loopback(dest[0]):
        return host.send_datagram(vfs, sock, data, dest)
    source = (inet.source_for(dest[0]) if inet.is_any(sock.local[0]) else sock.local[0],
              sock.local[1])
    to = inet.receiver(vfs.state.net, dest[0], dest[1], source)
    if to is None and network:  # (as a TCP connect: the host's loopback)
        return host.send_datagram(vfs, sock, data, dest)
    if to is None:
        if sock.remote is not None:  # the port unreachable reply comes back to a connected one
            sock.so_error = Errno.ECONNREFUSED
            vfs.wake_pollers()
        return len(data)
    deliver(vfs, to, data, source)
    return len(data)


def _netlink_send(vfs: Vfs, sock: InetSock, data: bytes, dest: tuple[bytes, int]) -> int:
    """Requests to the kernel (port id 0): their answers come back to the sender's queue."""
    if dest[1] != 0:
        raise KernelError(Errno.ECONNREFUSED, "no netlink socket has that port id")
    _netlink_bind(sock, 0)
    assert sock.local is not None
    for datagram in netlink.answer(data, sock.local[1]):
        deliver(vfs, sock, datagram, (b"", 0))
    return len(data)


def deliver(vfs: Vfs, to: InetSock, data: bytes, source: tuple[bytes, int]) -> None:
    """A datagram arrives at ``to`` (dropped, as Linux drops it, past its receive buffer)."""
    if to.owner.shut & SHUT_READ or to.queued + len(data) > to.rcvbuf:
        return
    to.dgrams.append((data, *source))
    to.queued += len(data)
    _serve_datagrams(vfs, to)
    vfs.wake_pollers()


# -- receiving ----------------------------------------------------------------------------
RECVFROM, RECVMSG, READ = "recvfrom", "recvmsg", "read"


def recvfrom(vfs: Vfs, request: Request, r: abi.Recvfrom) -> Any:
    file, _ = _sock(vfs, request, r.fd)
    return _receive(vfs, request, file, r.count, request.grants[0], None, r.flags, RECVFROM)


def recvmsg(vfs: Vfs, request: Request, r: abi.Recvmsg) -> Any:
    file, _ = _sock(vfs, request, r.fd)
    grants = request.grants[:len(r.lengths)]
    return _receive(vfs, request, file, sum(r.lengths), grants, r.lengths, r.flags, RECVMSG)


def take_error(file: OpenFile) -> None:
    """A read's first check of a stream socket (splice's too): a failed connection's
    error, reported once (and cleared, as SO_ERROR is)."""
    sock: InetSock = file.inet
    if sock.so_error:
        error, sock.so_error = sock.so_error, 0
        raise KernelError(error, "the connection failed")


def _receive(vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any,
             lengths: list[int] | None, flags: int, how: str) -> Any:
    result = _receive_now(vfs, request, file, count, grant, lengths, flags, how)
    if result is None:
        _arm(vfs, file.inet, request, file.inet.rcvtimeo)
    return result


def _receive_now(vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any,
                 lengths: list[int] | None, flags: int, how: str) -> Any:
    sock: InetSock = file.inet
    if flags & (net.MSG_OOB | net.MSG_ERRQUEUE):
        raise KernelError(Errno.EINVAL if flags & net.MSG_OOB else Errno.EAGAIN,
                          "no urgent data, no error queue")
    dontwait = bool(flags & net.MSG_DONTWAIT) or bool(file.flags & O_NONBLOCK)
    if not _stream(sock):
        return _receive_datagram(vfs, request, sock, count, grant, lengths, flags, how, dontwait)
    take_error(file)
    if file.pipe is None:
        if sock.connecting is not None and dontwait:
            raise KernelError(Errno.EAGAIN, "still connecting")
        raise KernelError(Errno.ENOTCONN, "not connected")
    rx = file.pipe
    eof = not rx.writers or not rx.readers
    if count == 0 or (not rx.buffer and eof):
        return 0
    if not rx.buffer and dontwait:
        raise KernelError(Errno.EAGAIN, "nothing to read")
    if flags & net.MSG_PEEK:
        if rx.buffer:
            return _copy(vfs, grant, lengths, 0, bytes(rx.buffer[:count]))
        rx.blocked_readers.append((request, count, grant, lengths, Peek()))
        return None
    if flags & net.MSG_WAITALL and not dontwait:
        waiting = WaitAll()
        if waiting.resume(vfs, request, rx, count, grant, lengths):
            return None  # (answered)
        rx.blocked_readers.append((request, count, grant, lengths, waiting))
        return None
    return pipe.read(vfs, request, file, count, grant, lengths, dontwait)


def _copy(vfs: Vfs, grant: Any, lengths: list[int] | None, offset: int, data: bytes) -> int:
    """Copy ``data`` to the receive's buffers from ``offset`` on; its length."""
    if lengths is None:
        if data:
            vfs.api.copy_out(grant, offset, data)
        return len(data)
    done, at = 0, 0
    for token, length in zip(grant, lengths):
        if at + length > offset and done < len(data):
            skip = max(0, offset - at)
            piece = data[done:done + length - skip]
            vfs.api.copy_out(token, skip, piece)
            done += len(piece)
        at += length
    return len(data)


class Peek(pipe.Resumable):
    """A blocking MSG_PEEK: answered with a copy of the first bytes that come."""

    def resume(self, vfs: Vfs, request: Request, rx: Pipe, count: int, grant: Any,
               lengths: list[int] | None) -> bool:
        vfs.answer(request, _copy(vfs, grant, lengths, 0, bytes(rx.buffer[:count])))
        return True


class WaitAll(pipe.Resumable):
    """A MSG_WAITALL receive: it takes what comes until ``count`` bytes or the end."""

    def __init__(self) -> None:
        self.done = 0

    def resume(self, vfs: Vfs, request: Request, rx: Pipe, count: int, grant: Any,
               lengths: list[int] | None) -> bool:
        data, _ = pipe.take(rx, count - self.done)
        self.done += _copy(vfs, grant, lengths, self.done, data)
        if data:
            request.on_crash = self.done  # taken already: a crash must not lose it
            pipe.changed(vfs, rx)  # (room for writers)
        if self.done < count and rx.writers and rx.readers:
            return False
        vfs.answer(request, self.done)
        return True


def _receive_datagram(vfs: Vfs, request: Request, sock: InetSock, count: int, grant: Any,
                      lengths: list[int] | None, flags: int, how: str, dontwait: bool) -> Any:
    if sock.so_error:
        error, sock.so_error = sock.so_error, 0
        raise KernelError(error, "the port was unreachable")
    if not sock.dgrams:
        if sock.owner.shut & SHUT_READ:
            return 0
        if dontwait:
            raise KernelError(Errno.EAGAIN, "no datagram")
        sock.readers.append((request, count, grant, lengths, flags, how))
        return None
    return _take_datagram(vfs, sock, count, grant, lengths, flags, how)


def _take_datagram(vfs: Vfs, sock: InetSock, count: int, grant: Any,
                   lengths: list[int] | None, flags: int, how: str) -> Any:
    data, ip, port = sock.dgrams[0]
    if not flags & net.MSG_PEEK:
        sock.dgrams.popleft()
        sock.queued -= len(data)
    got = _copy(vfs, grant, lengths, 0, data[:count])
    result = len(data) if flags & net.MSG_TRUNC else got
    name = inet.sockaddr(sock, (ip, port))
    if how == RECVFROM:
        return BytesOut(result, name)
    if how == RECVMSG:
        return Received(result, 0, net.MSG_TRUNC if len(data) > count else 0, name)
    return result


def _serve_datagrams(vfs: Vfs, sock: InetSock | None) -> None:
    """Answer the receives waiting on a UDP socket that can go on."""
    if sock is None or sock.socktype != net.SOCK_DGRAM:
        return
    while sock.readers and (sock.dgrams or sock.owner.shut & SHUT_READ):
        request, count, grant, lengths, flags, how = sock.readers.popleft()
        if not vfs.api.waiting(request):
            continue
        if not sock.dgrams:
            vfs.answer(request, 0)
            continue
        try:
            vfs.answer(request, _take_datagram(vfs, sock, count, grant, lengths, flags, how))
        except KernelError as err:
            vfs.answer(request, -err.errno)


# The SIOCGIF* ioctls of a socket on lo, the guest's one interface: what each writes in the
# struct ifreq (40 bytes: the name, then a union at offset 16), as Linux's dev_ioctl.
SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK = 0x8910, 0x8913, 0x8915, 0x891B
SIOCGIFMTU, SIOCGIFINDEX = 0x8921, 0x8933
IFREQ, IFNAMSIZ = 40, 16
LOOPBACK_SOCKADDR = struct.pack("<H", net.AF_INET) + struct.pack("!H4s8x", 0, bytes([127, 0, 0, 1]))
NETMASK_8 = struct.pack("<H", net.AF_INET) + struct.pack("!H4s8x", 0, bytes([255, 0, 0, 0]))
IFREQ_ANSWERS = {
    SIOCGIFFLAGS: struct.pack("<h", netlink.IFF_UP | netlink.IFF_LOOPBACK | netlink.IFF_RUNNING),
    SIOCGIFMTU: struct.pack("<i", netlink.LO_MTU), SIOCGIFINDEX: struct.pack("<i", 1),
    SIOCGIFADDR: LOOPBACK_SOCKADDR, SIOCGIFNETMASK: NETMASK_8, SIOCGIFNAME: b"lo\0"}


def _interface_ioctl(vfs: Vfs, request: Request, cmd: int) -> int:
    """SIOCGIF*: lo's name by index, or its index, flags, MTU, address, netmask by name;
    any other interface is ENODEV."""
    ifreq = vfs.api.copy_in(request.grants[0], 0, IFREQ)
    if cmd == SIOCGIFNAME:
        if struct.unpack_from("<i", ifreq, IFNAMSIZ)[0] != netlink.LO_INDEX:
            raise KernelError(Errno.ENODEV, "no such interface")
        vfs.api.copy_out(request.grants[0], 0, IFREQ_ANSWERS[cmd])
        return 0
    if ifreq[:IFNAMSIZ].split(b"\0")[0] != b"lo":
        raise KernelError(Errno.ENODEV, "no such interface")
    vfs.api.copy_out(request.grants[0], IFNAMSIZ, IFREQ_ANSWERS[cmd])
    return 0


def _arm(vfs: Vfs, sock: InetSock, request: Request, wait: float | None) -> None:
    """A call parked on ``sock`` with SO_RCVTIMEO or SO_SNDTIMEO set ends after ``wait``."""
    if wait is None:
        return
    state = vfs.state.net
    state.next_timeout += 1
    state.timeouts[state.next_timeout] = (request, sock)
    vfs.api.notify_at(wait, Op.SOCKET_TIMEOUT, SocketTimeout(state.next_timeout))


def timed_out(vfs: Vfs, request: Request, r: SocketTimeout) -> None:
    """A parked call's timeout: if it still waits, it leaves its queue and is answered
    EAGAIN, or with what it moved already (a MSG_WAITALL receive, a long send); a connect
    through the host, EINPROGRESS."""
    parked, sock = vfs.state.net.timeouts.pop(r.key, (None, None))
    if parked is None or sock is None or not vfs.api.waiting(parked):
        return
    file, answer = sock.owner, -Errno.EAGAIN
    if sock.connecting is parked:  # a connect: it goes on, as a non-blocking one would
        sock.connecting, sock.in_progress = True, True
        vfs.answer(parked, -Errno.EINPROGRESS)
        return
    queues = [q for q in (file.pipe.blocked_readers if file.pipe else None,
                          file.tx.blocked_writers if file.tx else None, sock.readers,
                          file.listener.accepting if file.listener else None) if q is not None]
    for queue in queues:
        for entry in list(queue):
            if entry[0] is not parked:
                continue
            queue.remove(entry)
            if queue is sock.readers or queue is getattr(file.listener, "accepting", None):
                break
            if file.tx is not None and queue is file.tx.blocked_writers:
                answer = entry[3] or answer  # (the bytes written already)
            elif isinstance(entry[4], WaitAll):
                answer = entry[4].done or answer
    vfs.answer(parked, answer)


class InetSocket(FileOps):
    """The inet kind of open file: a TCP or UDP socket, of either family."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any) -> Any:
        return _receive(vfs, request, file, count, grant, None, 0, READ)

    def readv(self, vfs: Vfs, request: Request, file: OpenFile, grants: list[int],
              lengths: list[int]) -> Any:
        return _receive(vfs, request, file, sum(lengths), grants, lengths, 0, READ)

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
        return _send(vfs, request, file, file.inet, data, 0, b"", False)

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        sock: InetSock = file.inet
        mask = POLLERR if sock.so_error else 0
        if not _stream(sock):
            mask |= (POLLIN if sock.dgrams else 0) | POLLOUT
            mask |= POLLIN | POLLRDHUP if file.shut & SHUT_READ else 0
        elif sock.listening:
            mask |= POLLIN if file.listener is not None and file.listener.queue else 0
        elif file.pipe is None or file.tx is None:  # unconnected, connecting or refused
            if sock.connecting is None:
                mask |= POLLOUT | POLLHUP
                mask |= POLLIN | POLLRDHUP if sock.so_error else 0
        else:  # as Linux's tcp_poll
            rx, tx = file.pipe, file.tx
            rcv_shut = not rx.readers or not rx.writers
            snd_shut = not tx.readers or not tx.writers
            mask |= (POLLIN | POLLRDHUP if rcv_shut else 0) | (POLLIN if rx.buffer else 0)
            mask |= POLLHUP if rcv_shut and snd_shut else 0
            mask |= POLLOUT if len(tx.buffer) < PIPE_CAPACITY or snd_shut else 0
        return mask & (events | POLLHUP | POLLERR)

    def seek(self, file: OpenFile, offset: int, whence: int) -> int:
        raise KernelError(Errno.ESPIPE, "not seekable")

    def ioctl(self, vfs: Vfs, request: Request, file: OpenFile, r: abi.Ioctl) -> int:
        if r.cmd in IFREQ_ANSWERS:
            return _interface_ioctl(vfs, request, r.cmd)
        return super().ioctl(vfs, request, file, r)

    def stat(self, file: OpenFile) -> Attr:
        attr = pipe.anon_attr(file, stat.S_IFSOCK | 0o777, SOCKFS_DEV)
        return dataclasses.replace(attr, ino=inode(file))

    def path(self, file: OpenFile) -> bytes:
        return f"socket:[{inode(file)}]".encode()

    def unread(self, vfs: Vfs, file: OpenFile) -> int:
        sock: InetSock = file.inet
        if not _stream(sock):  # Linux: the size of the next datagram
            return len(sock.dgrams[0][0]) if sock.dgrams else 0
        return len(file.pipe.buffer) if file.pipe is not None else 0

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        """The last fd went: the connection ends (its peer reads EOF), a listener's queue
        is refused, the port is free again."""
        sock: InetSock = file.inet
        if sock.listening:
            _stop_listening(vfs, file, sock)
        if file.pipe is not None:
            if file.pipe.buffer and sock.peer is not None:  # closed with bytes unread: Linux
                sock.peer.so_error = Errno.ECONNRESET     # resets the connection
            _shut(vfs, file, SHUT_READ | SHUT_WRITE)
        sock.dgrams.clear()
        if sock.peer is not None:
            sock.peer.peer = sock.peer = None
        sock.readers = deque()
        host.close(vfs, sock)
        inet.unbind(vfs.state.net, sock)
        vfs.state.net.sockets.pop(id(sock), None)
