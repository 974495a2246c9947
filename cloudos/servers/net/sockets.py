"""Internet sockets as open files: AF_INET and AF_INET6, TCP (SOCK_STREAM) and UDP
(SOCK_DGRAM).

Owns: the socket calls on an internet socket (socket, bind, listen, connect,
accept4, the names, the options, shutdown, the sends and receives with MSG_PEEK,
MSG_DONTWAIT, MSG_WAITALL and MSG_TRUNC), its file operations (read, write, its poll
events, FIONREAD, release), and the data path: a TCP connection on the guest's
loopback is two pipes, crossed, as an AF_UNIX one (``pipe`` moves the bytes and
parks the readers and writers); a UDP datagram goes straight to the queue of the
socket bound where it is sent. Ports, addresses, routes and options are the
network stack's (``servers.net.inet``); the sockets that go through a host socket
are ``host``'s. The pipes are the VFS's pipe code (``vfs.pipe``), run on the net
server's own pipes: the net server stands in for the VFS where it takes one
(``answer``, ``wake_pollers``, ``api``).
Never: touches guest memory except through a request's grants; blocks the server;
holds an fd (a new socket and an accepted connection go to the VFS for theirs).
Called by: ``net.server`` (every socket call the VFS forwards).
"""

from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from cloudos.abi import net, vfs as abi
from cloudos.abi.netsrv import NetOp, NetRead, NetWrite, SocketTimeout
from cloudos.abi.vfs import Again, BytesOut, Received
from cloudos.errno import Errno, KernelError
from cloudos.servers.net import host, inet, netlink
from cloudos.servers.net.inet import InetSock
from cloudos.servers.vfs import fileops, files, pipe
from cloudos.servers.vfs.pipe import SHUT_READ, SHUT_WRITE, PipeServer
from cloudos.servers.vfs.files import O_CLOEXEC, O_NONBLOCK, Listener, OpenFile, Pipe

if TYPE_CHECKING:
    from cloudos.servers.net.server import NetServer
    from cloudos.servers.runtime import Request

POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLRDHUP = 1, 2, 4, 8, 16, 0x2000
FIONREAD, SIOCATMARK = 0x541B, 0x8905
SEND_FLAGS = net.MSG_DONTWAIT | net.MSG_NOSIGNAL | net.MSG_MORE | net.MSG_CONFIRM | net.MSG_EOR
MSG_CTRUNC = 0x8


def socket(srv: NetServer, request: Request, r: abi.Socket) -> None:
    """A new TCP or UDP socket (the personality checked domain, type and protocol); the
    VFS gives it its fd."""
    file = OpenFile("inet", files.O_RDWR | r.flags & O_NONBLOCK, socktype=r.socktype)
    file.inet = InetSock(r.domain, r.socktype, owner=file, creator=request.sender)
    srv.state.sockets[id(file.inet)] = file.inet
    srv.adopt(request, file, r.flags & (O_CLOEXEC | O_NONBLOCK))


def _sock(srv: NetServer) -> tuple[OpenFile, InetSock]:
    """The socket the call being served names."""
    file = srv.serving
    assert file is not None and file.kind == "inet"
    return file, file.inet


def _stream(sock: InetSock) -> bool:
    return sock.socktype == net.SOCK_STREAM


def bind(srv: NetServer, request: Request, r: abi.Bind) -> int:
    _, sock = _sock(srv)
    where = inet.parse(sock, r.addr)
    assert where is not None
    if sock.family == net.AF_NETLINK:
        _netlink_bind(sock, where[1])
        return 0
    inet.bind(srv.state, sock, *where)
    return 0


def _netlink_bind(sock: InetSock, pid: int) -> None:
    """A netlink socket's port id: the one asked for, or the creator's pid (port 0)."""
    if sock.local is not None and pid not in (0, sock.local[1]):
        raise KernelError(Errno.EINVAL, "the socket is bound")
    if sock.local is None:
        sock.local = (b"", pid or sock.creator)


def listen(srv: NetServer, request: Request, r: abi.Listen) -> int:
    file, sock = _sock(srv)
    if not _stream(sock):
        raise KernelError(Errno.EOPNOTSUPP, "a datagram socket does not listen")
    if sock.remote is not None or sock.host is not None:
        raise KernelError(Errno.EINVAL, "a connected socket does not listen")
    if sock.local is None:
        inet.bind(srv.state, sock, inet.ANY4 if sock.family == net.AF_INET else inet.ANY6, 0)
    assert sock.local is not None
    was, sock.listening = sock.listening, True
    if not was and inet.conflict(srv.state, sock, sock.local[1]):
        sock.listening = False  # another socket listens there (SO_REUSEADDR does not share)
        raise KernelError(Errno.EADDRINUSE, f"port {sock.local[1]}")
    limit = min(max(r.backlog, 0), inet.SOMAXCONN) + 1
    if file.listener is None:
        file.listener = Listener(limit, request.sender)
    file.listener.limit = limit
    srv.wake_pollers()
    return 0


def connect(srv: NetServer, request: Request, r: abi.Connect) -> int | None:
    file, sock = _sock(srv)
    dest = inet.parse(sock, r.addr, unspec_ok=True)
    if sock.family == net.AF_NETLINK:
        _netlink_bind(sock, 0)
        sock.remote = dest
        return 0
    if not _stream(sock):
        return _associate(srv, sock, dest, r.network)
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
        return _host_connect(srv, request, file, sock, dest, nonblock)
    inet.autobind(srv.state, sock, dest[0])
    server = inet.listener(srv.state, *dest)
    if (server is None or server.owner.listener is None) and r.network:
        # with the NETWORK right, the host's own services answer on the loopback too
        return _host_connect(srv, request, file, sock, dest, nonblock)
    if server is None or server.owner.listener is None:
        if nonblock:  # refused at once on the loopback, but reported as TCP does
            sock.so_error, sock.in_progress = Errno.ECONNREFUSED, True
            raise KernelError(Errno.EINPROGRESS, "refused (see SO_ERROR)")
        raise KernelError(Errno.ECONNREFUSED, "nobody listens there")
    listener = server.owner.listener
    if len(listener.queue) >= listener.limit:
        _wait_for_room(srv, request, file, sock, server, dest, nonblock)
        return None  # (answered when an accept makes room)
    _loopback_connect(srv, file, sock, server, dest)
    if nonblock:  # a non-blocking connect reports the handshake as in progress
        sock.in_progress = True
        raise KernelError(Errno.EINPROGRESS, "connected (see SO_ERROR)")
    return 0


def _host_connect(srv: NetServer, request: Request, file: OpenFile, sock: InetSock,
                  dest: tuple[bytes, int], nonblock: bool) -> Any:
    """A connect through a host socket; a blocking one waits at most SO_SNDTIMEO."""
    result = host.connect(srv, request, file, sock, dest, nonblock)
    if result is None:
        _arm(srv, sock, request, sock.sndtimeo)
    return result


def _route(sock: InetSock, dest: bytes, network: bool) -> None:
    """ENETUNREACH for a destination off the machine without the NETWORK right."""
    if sock.family == net.AF_INET6 and inet.is_v4(dest) \
            and sock.opt(net.IPPROTO_IPV6, net.IPV6_V6ONLY):
        raise KernelError(Errno.ENETUNREACH, "an IPv4 address on a V6ONLY socket")
    if not inet.is_loopback(dest) and not network:
        raise KernelError(Errno.ENETUNREACH, "no NETWORK capability: the loopback only")


def _wait_for_room(srv: NetServer, request: Request, file: OpenFile, sock: InetSock,
                   server: InetSock, dest: tuple[bytes, int], nonblock: bool) -> None:
    """The listener's accept queue is full: Linux drops the SYN, and the connect goes on
    (blocking, or in progress) until a retransmission finds room; here it waits in the
    listener's line until an accept makes room (``_admit``)."""
    listener = server.owner.listener
    sock.connecting, sock.waits_on = True if nonblock else request, server
    listener.waiting.append((file, sock, server, dest))
    if nonblock:
        sock.in_progress = True
        raise KernelError(Errno.EINPROGRESS, "the listener's backlog is full")
    _arm(srv, sock, request, sock.sndtimeo)


def _admit(srv: NetServer, listener: Listener) -> None:
    """Connects waiting for room in the accept queue get in, first come first."""
    while listener.waiting and len(listener.queue) < listener.limit:
        file, sock, server, dest = listener.waiting.popleft()
        waiting, sock.connecting, sock.waits_on = sock.connecting, None, None
        _loopback_connect(srv, file, sock, server, dest)
        if waiting is not True and waiting is not None and srv.api.waiting(waiting):
            sock.in_progress = False
            srv.answer(waiting, 0)


def _refuse_waiting(srv: NetServer, listener: Listener) -> None:
    """The listener closed: connects waiting for room are refused (their SYN gets a reset)."""
    while listener.waiting:
        _, sock, _, _ = listener.waiting.popleft()
        waiting, sock.connecting, sock.waits_on = sock.connecting, None, None
        sock.so_error = Errno.ECONNREFUSED
        if waiting is not True and waiting is not None and srv.api.waiting(waiting):
            sock.so_error, sock.in_progress = 0, False
            srv.answer(waiting, -Errno.ECONNREFUSED)
    srv.wake_pollers()


def _leave_line(sock: InetSock) -> None:
    """A socket closed while its connect waited for room: it leaves the listener's line."""
    server, sock.waits_on = sock.waits_on, None
    listener = server.owner.listener if server is not None else None
    if listener is not None:
        listener.waiting = deque(w for w in listener.waiting if w[1] is not sock)


def _loopback_connect(srv: NetServer, file: OpenFile, sock: InetSock, server: InetSock,
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
    srv.state.sockets[id(peer)] = peer
    accepted.peer = inet.sockaddr(peer, sock.local)
    file.pipe, file.tx, sock.remote = back, there, seen
    inet.connected(sock, peer)
    listener.queue.append(accepted)
    serve_accepts(srv, listener)
    srv.wake_pollers()


def forward(srv: NetServer, server: InetSock, peer: tuple[bytes, int], port: int) -> InetSock:
    """A connection from outside (a published port, ``hostnet``) to the guest's listener
    ``server``: the accepted end waits in its queue; the other is a file no fd holds, whose
    pipes the host socket fills and drains (its ``InetSock``, returned)."""
    client = OpenFile("inet", files.O_RDWR)
    sock = InetSock(server.family, net.SOCK_STREAM, owner=client, local=peer, forwarded=True)
    client.inet = sock
    _loopback_connect(srv, client, sock, server, (inet.source_for(inet.LOOPBACK4), port))
    client.pipe, client.tx = client.tx, client.pipe  # (the host's side: it fills what the
    return sock                                       # guest reads, drains what it writes)


def _associate(srv: NetServer, sock: InetSock, dest: tuple[bytes, int] | None,
               network: bool) -> int:
    """connect(2) of a UDP socket: its default destination, and the only source it takes."""
    if dest is None:
        sock.remote = None
        return 0
    _route(sock, dest[0], network)
    inet.autobind(srv.state, sock, dest[0])
    assert sock.local is not None
    if inet.is_any(sock.local[0]) and inet.is_loopback(dest[0]):
        sock.local = (inet.source_for(dest[0]), sock.local[1])
    sock.remote = (inet.source_for(dest[0]) if inet.is_any(dest[0]) else dest[0], dest[1])
    return 0


def accept4(srv: NetServer, request: Request, r: abi.Accept4) -> Any:
    file, sock = _sock(srv)
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
        _arm(srv, sock, request, sock.rcvtimeo)
        return None  # answered when a client connects
    _hand_over(srv, request, listener.queue.popleft(), r.flags)
    _admit(srv, listener)
    return None


def _hand_over(srv: NetServer, request: Request, conn: OpenFile, flags: int) -> None:
    """An accepted connection goes to the VFS for its fd (which answers the accept)."""
    conn.flags |= flags & O_NONBLOCK
    srv.adopt(request, conn, flags, conn.peer)


def serve_accepts(srv: NetServer, listener: Listener) -> None:
    """Connections waiting, accept calls waiting: each call takes one."""
    while listener.queue and listener.accepting:
        request, flags = listener.accepting.popleft()
        if srv.api.waiting(request):
            _hand_over(srv, request, listener.queue.popleft(), flags)
            _admit(srv, listener)


def getsockname(srv: NetServer, request: Request, r: abi.Getsockname) -> Any:
    _, sock = _sock(srv)
    return BytesOut(0, inet.sockaddr(sock, sock.local))


def getpeername(srv: NetServer, request: Request, r: abi.Getpeername) -> Any:
    _, sock = _sock(srv)
    if sock.remote is None or sock.connecting is not None:
        raise KernelError(Errno.ENOTCONN, "not connected")
    return BytesOut(0, inet.sockaddr(sock, sock.remote))


def getsockopt(srv: NetServer, request: Request, r: abi.Getsockopt) -> Any:
    _, sock = _sock(srv)
    if (r.level, r.option) == (net.SOL_SOCKET, net.SO_ERROR):
        error, sock.so_error = sock.so_error, 0
        return BytesOut(0, error.to_bytes(4, "little"))
    return BytesOut(0, inet.getsockopt(sock, r.level, r.option))


def setsockopt(srv: NetServer, request: Request, r: abi.Setsockopt) -> int:
    _, sock = _sock(srv)
    inet.setsockopt(sock, r.level, r.option, r.value)
    return 0


def shutdown(srv: NetServer, request: Request, r: abi.Shutdown) -> int:
    file, sock = _sock(srv)
    if r.how not in (net.SHUT_RD, net.SHUT_WR, net.SHUT_RDWR):
        raise KernelError(Errno.EINVAL, f"shutdown how={r.how}")
    how = r.how + 1  # SHUT_RD, SHUT_WR, SHUT_RDWR -> bits 1, 2, 3
    if sock.listening:
        if how & SHUT_READ:  # Linux stops listening (its queue is refused)
            _stop_listening(srv, file, sock)
        return 0
    if sock.remote is None:
        raise KernelError(Errno.ENOTCONN, "not connected")
    _shut(srv, file, how)
    host.shut(srv, sock, how)
    return 0


def _shut(srv: NetServer, file: OpenFile, how: int) -> None:
    if pipe.shut(srv, file, how) & SHUT_READ:
        _serve_datagrams(srv, file.inet)
    srv.wake_pollers()


def _stop_listening(srv: NetServer, file: OpenFile, sock: InetSock) -> None:
    listener = file.listener
    sock.listening = False
    if listener is None:
        return
    for conn in listener.queue:
        _shut(srv, conn, SHUT_READ | SHUT_WRITE)
        srv.state.sockets.pop(id(conn.inet), None)
    listener.queue.clear()
    while listener.accepting:
        request, _ = listener.accepting.popleft()
        srv.answer(request, -Errno.EINVAL)
    _refuse_waiting(srv, listener)


# -- sending ------------------------------------------------------------------------------
def sendto(srv: NetServer, request: Request, r: abi.Sendto) -> int | None:
    file, sock = _sock(srv)
    data = srv.api.copy_in(request.grants[0], 0, r.count)
    return _send(srv, request, file, sock, data, r.flags, r.addr if r.named else b"", r.network)


def sendmsg(srv: NetServer, request: Request, r: abi.Sendmsg) -> int | None:
    file, sock = _sock(srv)
    # (SCM_RIGHTS off AF_UNIX: ignored, as Linux's TCP and UDP do)
    data = b"".join(srv.api.copy_in(g, 0, n) for g, n in zip(request.grants, r.lengths))
    return _send(srv, request, file, sock, data, r.flags, r.addr, r.network)


def _send(srv: NetServer, request: Request, file: OpenFile, sock: InetSock, data: bytes, flags: int,
          addr: bytes, network: bool) -> int | None:
    if flags & net.MSG_OOB and not _stream(sock):
        raise KernelError(Errno.EOPNOTSUPP, "urgent data (MSG_OOB) is TCP's")
    dontwait = bool(flags & net.MSG_DONTWAIT)
    if not _stream(sock):
        return _send_datagram(srv, sock, data, addr, network)
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
    if flags & net.MSG_OOB and data:
        return _send_urgent(srv, request, file, sock, data)
    result = pipe.write(srv, request, file, data, 0, dontwait)
    if result is None:
        _arm(srv, sock, request, sock.sndtimeo)
    host.pump(srv)
    return result


def write(srv: NetServer, request: Request, r: NetWrite) -> int | None:
    """write(2) and writev(2); sendfile(2)'s ``whole`` write takes every byte now (past
    the buffer's size: the VFS moved its source's offset already)."""
    file, sock = _sock(srv)
    if not r.whole:
        return _send(srv, request, file, sock, r.data, 0, b"", False)
    written = _send(srv, request, file, sock, r.data, net.MSG_DONTWAIT, b"", False)
    assert written is not None  # (MSG_DONTWAIT: never parked)
    if written < len(r.data) and file.tx is not None:
        file.tx.buffer += r.data[written:]
        pipe.changed(srv, file.tx)
        host.pump(srv)
    return len(r.data)


def _send_urgent(srv: NetServer, request: Request, file: OpenFile, sock: InetSock,
                 data: bytes) -> int:
    """send(MSG_OOB) on a loopback connection: its last byte is urgent (TCP's urgent
    pointer). The receiver's reads stop at its mark; out of line (no SO_OOBINLINE) the
    byte leaves the stream for recv(MSG_OOB), inline it stays; POLLPRI until it is read
    or passed. A newer urgent byte replaces one not yet read. Sent without waiting: a
    buffer without room for it all takes what fits, with no urgent byte."""
    receiver, tx = sock.peer, file.tx
    if sock.host is not None or receiver is None or tx is None:
        raise KernelError(Errno.EOPNOTSUPP, "urgent data off the guest's loopback")
    inline = bool(receiver.opt(net.SOL_SOCKET, net.SO_OOBINLINE))
    body = data if inline else data[:-1]
    written = pipe.write(srv, request, file, body, 0, dontwait=True) if body else 0
    assert written is not None  # (dontwait: never parked)
    if written < len(body):
        return written
    receiver.urg_mark = tx.consumed + len(tx.buffer) - inline
    receiver.urg_byte, receiver.urg_valid = data[-1], True
    srv.wake_pollers()
    return len(data)


def _send_datagram(srv: NetServer, sock: InetSock, data: bytes, addr: bytes, network: bool) -> int:
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
        return _netlink_send(srv, sock, data, dest)
    if len(data) > inet.UDP_MAX + (20 if sock.family == net.AF_INET6 else 0):
        raise KernelError(Errno.EMSGSIZE, "larger than a UDP datagram")
    if dest in srv.state.udp_flows and host.reply_published(srv, data, dest):
        return len(data)  # (to a sender of a published port, wherever it is)
    _route(sock, dest[0], network)
    inet.autobind(srv.state, sock, dest[0])
    assert sock.local is not None
    if not inet.is_loopback(dest[0]):
        return host.send_datagram(srv, sock, data, dest)
    source = (inet.source_for(dest[0]) if inet.is_any(sock.local[0]) else sock.local[0],
              sock.local[1])
    to = inet.receiver(srv.state, dest[0], dest[1], source)
    if to is None and network:  # (as a TCP connect: the host's loopback)
        return host.send_datagram(srv, sock, data, dest)
    if to is None:
        if sock.remote is not None:  # the port unreachable reply comes back to a connected one
            sock.so_error = Errno.ECONNREFUSED
            srv.wake_pollers()
        return len(data)
    deliver(srv, to, data, source)
    return len(data)


def _netlink_send(srv: NetServer, sock: InetSock, data: bytes, dest: tuple[bytes, int]) -> int:
    """Requests to the kernel (port id 0): their answers come back to the sender's queue."""
    if dest[1] != 0:
        raise KernelError(Errno.ECONNREFUSED, "no netlink socket has that port id")
    _netlink_bind(sock, 0)
    assert sock.local is not None
    for datagram in netlink.answer(data, sock.local[1]):
        deliver(srv, sock, datagram, (b"", 0))
    return len(data)


def deliver(srv: NetServer, to: InetSock, data: bytes, source: tuple[bytes, int]) -> None:
    """A datagram arrives at ``to`` (dropped, as Linux drops it, past its receive buffer)."""
    if to.owner.shut & SHUT_READ or to.queued + len(data) > to.rcvbuf:
        return
    to.dgrams.append((data, *source))
    to.queued += len(data)
    _serve_datagrams(srv, to)
    srv.wake_pollers()


# -- receiving ----------------------------------------------------------------------------
RECVFROM, RECVMSG, READ = "recvfrom", "recvmsg", "read"


def recvfrom(srv: NetServer, request: Request, r: abi.Recvfrom) -> Any:
    file, _ = _sock(srv)
    return _receive(srv, request, file, r.count, request.grants[0], None, r.flags, RECVFROM)


def recvmsg(srv: NetServer, request: Request, r: abi.Recvmsg) -> Any:
    file, _ = _sock(srv)
    grants = request.grants[:len(r.lengths)]
    return _receive(srv, request, file, sum(r.lengths), grants, r.lengths, r.flags, RECVMSG)


def _receive(srv: NetServer, request: Request, file: OpenFile, count: int, grant: Any,
             lengths: list[int] | None, flags: int, how: str) -> Any:
    result = _receive_now(srv, request, file, count, grant, lengths, flags, how)
    if result is None:
        _arm(srv, file.inet, request, file.inet.rcvtimeo)
    return result


def _receive_now(srv: NetServer, request: Request, file: OpenFile, count: int, grant: Any,
                 lengths: list[int] | None, flags: int, how: str) -> Any:
    sock: InetSock = file.inet
    if flags & net.MSG_OOB and _stream(sock) and not flags & net.MSG_ERRQUEUE:
        return _receive_urgent(srv, sock, grant, lengths, count, flags)
    if flags & (net.MSG_OOB | net.MSG_ERRQUEUE):
        raise KernelError(Errno.EINVAL if flags & net.MSG_OOB else Errno.EAGAIN,
                          "no urgent data, no error queue")
    dontwait = bool(flags & net.MSG_DONTWAIT) or bool(file.flags & O_NONBLOCK)
    if not _stream(sock):
        return _receive_datagram(srv, request, sock, count, grant, lengths, flags, how, dontwait)
    if sock.so_error:
        error, sock.so_error = sock.so_error, 0
        raise KernelError(error, "the connection failed")
    if file.pipe is None:
        if sock.connecting is not None and dontwait:
            raise KernelError(Errno.EAGAIN, "still connecting")
        raise KernelError(Errno.ENOTCONN, "not connected")
    rx = file.pipe
    eof = not rx.writers or not rx.readers
    if count == 0 or (not rx.buffer and eof):
        return 0
    count = _to_the_mark(sock, rx, count, bool(flags & net.MSG_PEEK))
    if not rx.buffer and dontwait:
        raise KernelError(Errno.EAGAIN, "nothing to read")
    if flags & net.MSG_PEEK:
        if rx.buffer:
            return _copy(srv, grant, lengths, 0, bytes(rx.buffer[:count]))
        rx.blocked_readers.append((request, count, grant, lengths, Peek()))
        return None
    if flags & net.MSG_WAITALL and not dontwait:
        waiting = WaitAll()
        if waiting.resume(srv, request, rx, count, grant, lengths):
            return None  # (answered)
        rx.blocked_readers.append((request, count, grant, lengths, waiting))
        return None
    return pipe.read(srv, request, file, count, grant, lengths, dontwait)


def _to_the_mark(sock: InetSock, rx: Pipe, count: int, peek: bool) -> int:
    """A read stops at the urgent mark (Linux's tcp_recvmsg: data before it and data after
    it never come in one read); a read at the mark passes it, and the urgent data is gone
    (read with MSG_OOB or not; out of line, its byte was never in the stream here)."""
    mark = sock.urg_mark
    if mark is None:
        return count
    if rx.consumed < mark:
        return min(count, mark - rx.consumed)
    if not peek:
        sock.urg_mark, sock.urg_valid = None, False
    return count


def _receive_urgent(srv: NetServer, sock: InetSock, grant: Any, lengths: list[int] | None,
                    count: int, flags: int) -> int:
    """recv(MSG_OOB): the urgent byte, once; EINVAL with none, with it read already, or
    with SO_OOBINLINE (it is in the stream), as Linux's tcp_recv_urg."""
    if sock.listening:
        raise KernelError(Errno.ENOTCONN, "a listening socket")
    if sock.opt(net.SOL_SOCKET, net.SO_OOBINLINE) or sock.urg_mark is None \
            or not sock.urg_valid:
        raise KernelError(Errno.EINVAL, "no urgent data to read")
    if not flags & net.MSG_PEEK:
        sock.urg_valid = False
        srv.wake_pollers()  # (POLLPRI goes)
    return _copy(srv, grant, lengths, 0, bytes([sock.urg_byte])[:count])


def _copy(srv: PipeServer, grant: Any, lengths: list[int] | None, offset: int, data: bytes) -> int:
    """Copy ``data`` to the receive's buffers from ``offset`` on; its length."""
    if data:
        fileops.scatter(srv.api, grant, data, lengths, offset)
    return len(data)


class Peek(pipe.Resumable):
    """A blocking MSG_PEEK: answered with a copy of the first bytes that come."""

    def resume(self, srv: PipeServer, request: Request, rx: Pipe, count: int, grant: Any,
               lengths: list[int] | None) -> bool:
        srv.answer(request, _copy(srv, grant, lengths, 0, bytes(rx.buffer[:count])))
        return True


class WaitAll(pipe.Resumable):
    """A MSG_WAITALL receive: it takes what comes until ``count`` bytes or the end."""

    def __init__(self) -> None:
        self.done = 0

    def resume(self, srv: PipeServer, request: Request, rx: Pipe, count: int, grant: Any,
               lengths: list[int] | None) -> bool:
        data, _ = pipe.take(rx, count - self.done)
        self.done += _copy(srv, grant, lengths, self.done, data)
        if data:
            request.on_crash = self.done  # taken already: a crash must not lose it
            pipe.changed(srv, rx)  # (room for writers)
        if self.done < count and rx.writers and rx.readers:
            return False
        srv.answer(request, self.done)
        return True


def _receive_datagram(srv: NetServer, request: Request, sock: InetSock, count: int, grant: Any,
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
    return _take_datagram(srv, sock, count, grant, lengths, flags, how)


def _take_datagram(srv: NetServer, sock: InetSock, count: int, grant: Any,
                   lengths: list[int] | None, flags: int, how: str) -> Any:
    data, ip, port = sock.dgrams[0]
    if not flags & net.MSG_PEEK:
        sock.dgrams.popleft()
        sock.queued -= len(data)
    got = _copy(srv, grant, lengths, 0, data[:count])
    result = len(data) if flags & net.MSG_TRUNC else got
    name = inet.sockaddr(sock, (ip, port))
    if how == RECVFROM:
        return BytesOut(result, name)
    if how == RECVMSG:
        return Received(result, 0, net.MSG_TRUNC if len(data) > count else 0, name)
    return result


def _serve_datagrams(srv: NetServer, sock: InetSock | None) -> None:
    """Answer the receives waiting on a UDP socket that can go on."""
    if sock is None or sock.socktype != net.SOCK_DGRAM:
        return
    while sock.readers and (sock.dgrams or sock.owner.shut & SHUT_READ):
        request, count, grant, lengths, flags, how = sock.readers.popleft()
        if not srv.api.waiting(request):
            continue
        if not sock.dgrams:
            srv.answer(request, 0)
            continue
        try:
            srv.answer(request, _take_datagram(srv, sock, count, grant, lengths, flags, how))
        except KernelError as err:
            srv.answer(request, -err.errno)


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


def interface_ioctl(srv: PipeServer, request: Request, cmd: int) -> int:
    """SIOCGIF*: lo's name by index, or its index, flags, MTU, address, netmask by name;
    any other interface is ENODEV. (Any socket's, as Linux's dev_ioctl: the VFS asks
    this for an AF_UNIX socket.)"""
    ifreq = srv.api.copy_in(request.grants[0], 0, IFREQ)
    if cmd == SIOCGIFNAME:
        if struct.unpack_from("<i", ifreq, IFNAMSIZ)[0] != netlink.LO_INDEX:
            raise KernelError(Errno.ENODEV, "no such interface")
        srv.api.copy_out(request.grants[0], 0, IFREQ_ANSWERS[cmd])
        return 0
    if ifreq[:IFNAMSIZ].split(b"\0")[0] != b"lo":
        raise KernelError(Errno.ENODEV, "no such interface")
    srv.api.copy_out(request.grants[0], IFNAMSIZ, IFREQ_ANSWERS[cmd])
    return 0


def _arm(srv: NetServer, sock: InetSock, request: Request, wait: float | None) -> None:
    """A call parked on ``sock`` with SO_RCVTIMEO or SO_SNDTIMEO set ends after ``wait``."""
    if wait is None:
        return
    if request.on_crash is Again.RESTART:  # a signal ends it with EINTR, SA_RESTART or not,
        request.on_crash = -Errno.EINTR     # as signal(7) says of a socket with a timeout
        # (a crash of the server while it waits answers that too: the call is over)
    state = srv.state
    state.next_timeout += 1
    state.timeouts[state.next_timeout] = (request, sock)
    srv.api.notify_at(wait, NetOp.SOCKET_TIMEOUT, SocketTimeout(state.next_timeout))


def timed_out(srv: NetServer, request: Request, r: SocketTimeout) -> None:
    """A parked call's timeout: if it still waits, it leaves its queue and is answered
    EAGAIN, or with what it moved already (a MSG_WAITALL receive, a long send); a connect
    through the host, EINPROGRESS."""
    parked, sock = srv.state.timeouts.pop(r.key, (None, None))
    if parked is None or sock is None or not srv.api.waiting(parked):
        return
    file, answer = sock.owner, -Errno.EAGAIN
    if sock.connecting is parked:  # a connect: it goes on, as a non-blocking one would
        sock.connecting, sock.in_progress = True, True
        srv.answer(parked, -Errno.EINPROGRESS)
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
    srv.answer(parked, answer)


def read(srv: NetServer, request: Request, r: NetRead) -> Any:
    """read(2) and readv(2)."""
    file, _ = _sock(srv)
    lengths = list(r.lengths) if r.lengths is not None else None
    grant = request.grants[:len(lengths)] if lengths is not None else \
        request.grants[0] if r.inline is None else r.inline
    return _receive(srv, request, file, r.count, grant, lengths, 0, READ)


def ioctl(srv: NetServer, request: Request, r: abi.Ioctl) -> int:
    """FIONREAD (SIOCINQ) and the interface ioctls; the VFS serves those of any file."""
    file, _ = _sock(srv)
    if r.cmd in IFREQ_ANSWERS:
        return interface_ioctl(srv, request, r.cmd)
    if r.cmd == FIONREAD:
        srv.api.copy_out(request.grants[0], 0, struct.pack("<i", _unread(file)))
        return 0
    if r.cmd == SIOCATMARK and _stream(file.inet) and not file.inet.listening:
        sock, rx = file.inet, file.pipe
        at = rx is not None and sock.urg_mark is not None and sock.urg_mark == rx.consumed
        srv.api.copy_out(request.grants[0], 0, struct.pack("<i", int(at)))
        return 0
    raise KernelError(Errno.ENOTTY, "not a terminal")


def events(file: OpenFile) -> int:
    """The socket's poll events now (the VFS keeps them for poll, select and epoll)."""
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
        # (writable while a third of its room is free: sk_stream_is_writeable)
        mask |= POLLOUT if len(tx.buffer) * 3 <= tx.capacity * 2 or snd_shut else 0
        mask |= POLLPRI if sock.urg_mark is not None and sock.urg_valid else 0
    return mask


def _unread(file: OpenFile) -> int:
    sock: InetSock = file.inet
    if not _stream(sock):  # Linux: the size of the next datagram
        return len(sock.dgrams[0][0]) if sock.dgrams else 0
    return len(file.pipe.buffer) if file.pipe is not None else 0


def release(srv: NetServer, file: OpenFile) -> None:
    """The last fd went: the connection ends (its peer reads EOF), a listener's queue
    is refused, the port is free again."""
    sock: InetSock = file.inet
    if sock.listening:
        _stop_listening(srv, file, sock)
    _leave_line(sock)
    if file.pipe is not None:
        if file.pipe.buffer and sock.peer is not None:  # closed with bytes unread: Linux
            sock.peer.so_error = Errno.ECONNRESET     # resets the connection
        _shut(srv, file, SHUT_READ | SHUT_WRITE)
    sock.dgrams.clear()
    if sock.peer is not None:
        sock.peer.peer = sock.peer = None
    sock.readers = deque()
    host.close(srv, sock)
    inet.unbind(srv.state, sock)
    srv.state.sockets.pop(id(sock), None)
