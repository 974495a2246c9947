"""Internet sockets that leave the machine: through host sockets the net server opens.

Owns: the host socket behind a guest socket whose caller holds the NETWORK right
(``cloudos run --net host``) and whose destination is off the guest's loopback: a
TCP connection (the host socket connects without blocking; a blocking guest
connect waits, parked, for the poll that sees it done), or a UDP socket's datagrams
to and from the host's network. The host sockets are never waited on: ``pump``
polls them (select with no timeout) when a guest sends and on a timer
notification (``NetPoll``) while any is open, and moves bytes between them and the
guest sockets' pipes (TCP) or datagram queues (UDP).
Never: blocks the server; opens a host socket for a caller without NETWORK (the
personality says, ``net.sockets`` checks before calling here).
Called by: ``net.sockets``, and ``net.server`` for the ``NetPoll`` notification.
"""

from __future__ import annotations

import errno
import select
from typing import TYPE_CHECKING, Any

from cloudos.abi import net
from cloudos.abi.netsrv import NetOp, NetPoll
from cloudos.errno import Errno, KernelError
from cloudos.servers.net import inet
from cloudos.servers.net.inet import InetSock
from cloudos.servers.vfs import pipe
from cloudos.servers.vfs.files import PIPE_CAPACITY, Pipe

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.net.server import NetServer
    from cloudos.servers.vfs.files import OpenFile

POLL_INTERVAL = 0.004  # seconds between polls of the host sockets while any is open
IDLE_INTERVAL = 0.02  # between polls of the published ports alone
UDP_BATCH = 64  # datagrams taken from one host socket per poll

# (``socket`` is imported by the functions that use it, not here: its import builds its
# enums, ~8 ms of every start of CloudOS, and only --net host and --publish need it)


def _host_address(ip: bytes, port: int) -> tuple[int, tuple[Any, ...]]:
    import socket
    if inet.is_v4(ip):
        return socket.AF_INET, (socket.inet_ntop(socket.AF_INET, ip[12:]), port)
    return socket.AF_INET6, (socket.inet_ntop(socket.AF_INET6, ip), port, 0, 0)


def _guest_address(host: tuple[Any, ...]) -> tuple[bytes, int]:
    import socket
    text, port = host[0], host[1]
    if ":" in text:
        return socket.inet_pton(socket.AF_INET6, text), port
    return inet.V4_PREFIX + socket.inet_pton(socket.AF_INET, text), port


def connect(srv: NetServer, request: Request, file: OpenFile, sock: InetSock,
            dest: tuple[bytes, int], nonblock: bool) -> Any:
    """A TCP connect off the machine: EINPROGRESS, or None (answered once it is done)."""
    import socket
    family, where = _host_address(*dest)
    try:
        host = socket.socket(family, socket.SOCK_STREAM)
    except OSError as err:
        raise KernelError(err.errno or Errno.ENOMEM, "no host socket") from None
    host.setblocking(False)
    status = host.connect_ex(where)
    if status not in (0, errno.EINPROGRESS):
        host.close()
        raise KernelError(status, "the host's connect failed")
    if sock.opt(net.IPPROTO_TCP, net.TCP_NODELAY):
        host.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.host, sock.remote = host, dest
    sock.connecting = True if nonblock else request
    srv.state.hosted.append(sock)
    schedule(srv)
    if nonblock:
        sock.in_progress = True
        raise KernelError(Errno.EINPROGRESS, "connecting through the host")
    return None


def send_datagram(srv: NetServer, sock: InetSock, data: bytes, dest: tuple[bytes, int]) -> int:
    """A UDP datagram off the machine, through the socket's host socket (made on its
    first one; the replies come back to the guest socket)."""
    import socket
    family, where = _host_address(*dest)
    if sock.host is None:
        try:
            host = socket.socket(socket.AF_INET6 if sock.family == net.AF_INET6 else
                                 socket.AF_INET, socket.SOCK_DGRAM)
        except OSError as err:
            raise KernelError(err.errno or Errno.ENOMEM, "no host socket") from None
        host.setblocking(False)
        sock.host = host
        srv.state.hosted.append(sock)
        schedule(srv)
    if sock.family == net.AF_INET6 and family == socket.AF_INET:
        where = ("::ffff:" + where[0], where[1], 0, 0)
    try:
        return sock.host.sendto(data, where)
    except BlockingIOError:
        raise KernelError(Errno.EAGAIN, "the host's buffer is full") from None
    except OSError as err:
        raise KernelError(err.errno or Errno.EIO, "the host's sendto failed") from None


def schedule(srv: NetServer) -> None:
    state = srv.state
    if (state.hosted or state.published) and not state.pumping:
        state.pumping = True
        # every 4 ms while the host sockets are busy, backing off to 64 ms while they
        # are quiet (a guest send polls at once, whatever the timer)
        wait = POLL_INTERVAL * 2 ** min(state.quiet, 4) if state.hosted else IDLE_INTERVAL
        srv.api.notify_at(wait, NetOp.POLL_HOST, NetPoll(0))


def net_poll(srv: NetServer, request: Request, r: NetPoll) -> None:
    """The timer's notification: poll the host sockets, and again later while any is open."""
    srv.state.pumping = False
    pump(srv)
    schedule(srv)


def pump(srv: NetServer) -> None:
    """Move what is ready between the host sockets and the guest's."""
    hosted = srv.state.hosted
    if srv.state.published:
        _accept_published(srv)
    if not hosted:
        return
    # (poll, not select: the host may hold more than FD_SETSIZE of them)
    poller, by_fd = select.poll(), {}
    for sock in hosted:
        wanted = (select.POLLIN if sock.connecting is None else 0) \
            | (select.POLLOUT if sock.connecting is not None or _unsent(sock) else 0)
        if wanted and sock.host.fileno() >= 0:
            poller.register(sock.host.fileno(), wanted)
            by_fd[sock.host.fileno()] = sock.host
    readable, writable = set(), set()
    for fd, events in poller.poll(0):
        if events & (select.POLLIN | select.POLLHUP | select.POLLERR):
            readable.add(by_fd[fd])
        if events & (select.POLLOUT | select.POLLHUP | select.POLLERR):
            writable.add(by_fd[fd])
    srv.state.quiet = 0 if readable or writable else srv.state.quiet + 1
    for sock in list(hosted):
        if sock.host in writable and sock.connecting is not None:
            _connected(srv, sock)
        elif sock.socktype == net.SOCK_DGRAM:
            if sock.host in readable:
                _receive_datagrams(srv, sock)
        elif sock.connecting is None:
            _move(srv, sock, sock.host in readable, sock.host in writable)


def _unsent(sock: InetSock) -> bool:
    tx = sock.owner.tx
    return tx is not None and bool(tx.buffer)


def _connected(srv: NetServer, sock: InetSock) -> None:
    """The host's connect finished: the guest socket is connected, or has failed."""
    import socket
    waiting, sock.connecting = sock.connecting, None
    status = sock.host.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if status:
        sock.so_error, sock.remote = status, None
        _drop(srv, sock)
    else:
        file = sock.owner
        file.pipe, file.tx = Pipe(readers=1, writers=1), Pipe(readers=1, writers=1)
        sock.local = _guest_address(sock.host.getsockname())
    if waiting is not True and srv.api.waiting(waiting):
        sock.in_progress = False
        srv.answer(waiting, -status)
    srv.wake_pollers()


def _move(srv: NetServer, sock: InetSock, readable: bool, writable: bool) -> None:
    """A TCP connection's bytes: from the host into the guest's receive pipe, from the
    guest's send pipe out to the host; an end closed on either side reaches the other."""
    import socket
    file, host = sock.owner, sock.host
    rx, tx = file.pipe, file.tx
    assert rx is not None and tx is not None
    try:
        room = PIPE_CAPACITY - len(rx.buffer)
        if readable and room > 0 and rx.writers:
            data = host.recv(room)
            if data:
                rx.buffer += data
            else:
                rx.writers = 0  # the host's peer closed: end of file
            pipe.changed(srv, rx)
        if writable and tx.buffer:
            sent = host.send(bytes(tx.buffer))
            del tx.buffer[:sent]
            tx.consumed += sent
            pipe.changed(srv, tx)
    except BlockingIOError:
        pass
    except OSError as err:  # reset or broken: both directions end
        sock.so_error = err.errno or Errno.ECONNRESET
        rx.writers, tx.readers = 0, 0
        pipe.changed(srv, rx)
        pipe.changed(srv, tx)
    if not tx.writers and not tx.buffer and not sock.shut_sent:
        sock.shut_sent = True
        quietly(host.shutdown, socket.SHUT_WR)
    if sock.closing and (not tx.buffer or not tx.readers):
        _drop(srv, sock)
    elif sock.forwarded and not rx.readers and not tx.writers and not tx.buffer:
        _drop(srv, sock)  # the guest closed its end of a published port's connection


def _accept_published(srv: NetServer) -> None:
    """Connections to a published port: each becomes one to the guest's listener on its
    port (on the loopback), with the host socket as the client; refused (closed at once)
    when nobody in the guest listens there."""
    import socket
    from cloudos.servers.net.sockets import forward  # (net.sockets calls here too)
    state = srv.state
    for listening, port in state.published:
        if listening.type == socket.SOCK_DGRAM:
            _relay_published(srv, listening, port)
            continue
        for _ in range(16):
            try:
                conn, peer = listening.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            conn.setblocking(False)
            server = inet.listener(state, inet.LOOPBACK4, port)
            if server is None or server.owner.listener is None:
                conn.close()
                continue
            client = forward(srv, server, _guest_address(peer), port)
            client.host = conn
            state.hosted.append(client)


def _relay_published(srv: NetServer, listening: Any, port: int) -> None:
    """Datagrams to a published UDP port: to the guest socket bound at its port on the
    loopback, from the sender's host address (dropped when no guest socket is there)."""
    from cloudos.servers.net.sockets import deliver  # (net.sockets calls here too)
    state = srv.state
    for _ in range(UDP_BATCH):
        try:
            data, sender = listening.recvfrom(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            continue
        source = _guest_address(sender)
        to = inet.receiver(state, inet.LOOPBACK4, port, source)
        if to is not None:
            state.udp_flows[source] = (listening, sender)
            deliver(srv, to, data, source)


def reply_published(srv: NetServer, data: bytes, dest: tuple[bytes, int]) -> bool:
    """A guest datagram to a published UDP port's sender goes back through that port's
    host socket; False when ``dest`` is not such a sender."""
    flow = srv.state.udp_flows.get(dest)
    if flow is None:
        return False
    quietly(flow[0].sendto, data, flow[1])
    return True


def _receive_datagrams(srv: NetServer, sock: InetSock) -> None:
    from cloudos.servers.net.sockets import deliver  # (net.sockets calls here too)
    for _ in range(UDP_BATCH):
        try:
            data, source = sock.host.recvfrom(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:  # an ICMP error for an earlier datagram
            sock.so_error = err.errno or Errno.ECONNREFUSED
            srv.wake_pollers()
            return
        deliver(srv, sock, data, _guest_address(source))


def shut(srv: NetServer, sock: InetSock, how: int) -> None:
    """A shutdown(2) of a guest socket with a host socket: a write shutdown goes out once
    what was sent has (``_move``)."""
    if sock.host is not None:
        pump(srv)


def close(srv: NetServer, sock: InetSock) -> None:
    """The guest socket is gone: its host socket closes once its last bytes are out."""
    if sock.host is None:
        return
    if _unsent(sock) and sock.owner.tx.readers:
        sock.closing = True
        return
    _drop(srv, sock)


def _drop(srv: NetServer, sock: InetSock) -> None:
    if sock in srv.state.hosted:
        srv.state.hosted.remove(sock)
    if sock.host is not None:
        quietly(sock.host.close)
        sock.host = None


def quietly(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except OSError:
        pass
