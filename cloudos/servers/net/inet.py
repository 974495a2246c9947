"""Internet sockets' protocol state: addresses, ports, routes and options.

Owns: ``InetSock`` (one AF_INET or AF_INET6 socket's family, type, local and
remote endpoint, options, pending error, and a datagram socket's queue),
``NetState`` (the machine's port namespace: who is bound to each TCP and UDP port,
the next ephemeral port, the host sockets in use), the sockaddr_in/sockaddr_in6
formats, Linux's bind rules (EADDRINUSE unless SO_REUSEADDR/SO_REUSEPORT allow,
EADDRNOTAVAIL for an address the guest does not have, port 0: an ephemeral one,
IPV6_V6ONLY), the route to a destination (the guest's loopback, 127.0.0.0/8,
::1 and 0.0.0.0, or the host's network) and the socket options' values.
Every address is kept as 16 bytes, an IPv4 one mapped (::ffff:a.b.c.d), so that an
AF_INET6 socket that is not V6ONLY meets AF_INET ones on the same ports.
Never: touches guest memory (``net.sockets`` does) or an fd table, or blocks.
Called by: ``net.sockets`` and ``net.host``.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

from cloudos.abi import net
from cloudos.abi.dataclass import dataclass, field
from cloudos.errno import Errno, KernelError

V4_PREFIX = bytes(10) + b"\xff\xff"
ANY4, ANY6 = V4_PREFIX + bytes(4), bytes(16)
LOOPBACK4, LOOPBACK6 = V4_PREFIX + bytes([127, 0, 0, 1]), bytes(15) + b"\x01"
EPHEMERAL_FIRST, EPHEMERAL_LAST = 32768, 60999  # net.ipv4.ip_local_port_range
SOMAXCONN = 4096
# Buffer sizes as Linux's defaults (tcp_rmem/tcp_wmem[1], rmem/wmem_default) and limits
TCP_RCVBUF, TCP_SNDBUF, UDP_BUF, BUF_MAX = 131072, 16384, 212992, 212992
MIN_RCVBUF, MIN_SNDBUF = 2304, 4608
# A loopback TCP socket's send buffer once connected, unless SO_SNDBUF set one: Linux
# grows it as the connection starts (tcp_init_buffer_space) to hold ten of the
# loopback's 64 KiB segments, which tcp_wmem[2] (4 MiB) caps: 3939840 on Linux 6.18
LOOPBACK_SNDBUF = 3939840
INT_MAX = (1 << 31) - 1
UDP_MAX = 65507  # the largest UDP payload over IPv4 (65535 - 8 - 20)
SIN = struct.Struct("!HH4s8x")  # (the family is little-endian: packed apart)
SIN6 = struct.Struct("!HHI16sI")
SNL = struct.Struct("<HHII")  # struct sockaddr_nl: family, pad, port id, groups


@dataclass(eq=False)
class InetSock:
    """One internet socket's protocol state (its open file is ``owner``)."""

    family: int
    socktype: int
    owner: Any = None
    local: tuple[bytes, int] | None = None   # (address, port) once bound
    remote: tuple[bytes, int] | None = None  # once connected
    listening: bool = False
    so_error: int = 0
    # options: SO_REUSEADDR and the like by (level, option), as the ints they were set to
    opts: dict[tuple[int, int], int] = field(default_factory=dict)
    linger: tuple[int, int] = (0, 0)
    rcvbuf: int = 0
    sndbuf: int = 0
    sndbuf_set: bool = False  # SO_SNDBUF set it (Linux's SOCK_SNDBUF_LOCK: never grown)
    # a datagram socket's queue: (payload, source address, source port), its bytes, and
    # the receives waiting for one
    dgrams: deque[tuple[bytes, bytes, int]] = field(default_factory=deque)
    queued: int = 0
    readers: deque[Any] = field(default_factory=deque)
    host: Any = None  # the host socket (socket.socket) a connection to the host goes through
    connecting: Any = None  # a connect waiting for the host (its request, or True)
    in_progress: bool = False  # a non-blocking connect said EINPROGRESS; not called since
    shut_sent: bool = False  # the host socket was shut for writing (the guest's end was)
    closing: bool = False  # the guest let go; the host socket closes once its bytes are out
    forwarded: bool = False  # a published port's connection (no guest fd of its own)
    creator: int = 0  # the pid that made it (a netlink socket's port id once bound)
    peer: Any = None  # the other end of a loopback connection (its InetSock)
    # SO_RCVTIMEO and SO_SNDTIMEO in seconds (None: wait for ever)
    rcvtimeo: float | None = None
    sndtimeo: float | None = None
    reset_sent: bool = False  # wrote to a peer that had closed: its reset came back
    handle: int = 0  # the net server's name for it, which the VFS's open file holds
    waits_on: Any = None  # the listener whose full backlog its connect waits on
    # urgent data come in (MSG_OOB): the mark's place in the stream (the urgent byte's, or
    # out of line where it would be), the byte, and whether recv(MSG_OOB) may still take it
    urg_mark: int | None = None
    urg_byte: int = 0
    urg_valid: bool = False

    def __post_init__(self) -> None:
        stream = self.socktype == net.SOCK_STREAM
        self.rcvbuf = self.rcvbuf or (TCP_RCVBUF if stream else UDP_BUF)
        self.sndbuf = self.sndbuf or (TCP_SNDBUF if stream else UDP_BUF)

    @property
    def proto(self) -> int:
        if self.family == net.AF_NETLINK:
            return net.NETLINK_ROUTE
        return net.IPPROTO_TCP if self.socktype == net.SOCK_STREAM else net.IPPROTO_UDP

    def opt(self, level: int, option: int) -> int:
        return self.opts.get((level, option), 0)


@dataclass
class NetState:
    """The machine's port namespace: the sockets bound to each (protocol, port)."""

    bound: dict[tuple[int, int], list[InetSock]] = field(default_factory=dict)
    next_port: int = EPHEMERAL_FIRST
    hosted: list[InetSock] = field(default_factory=list)  # sockets with a host socket
    # cloudos run --publish: listening host sockets (socket.socket) and the guest TCP
    # port each forwards its connections to
    published: list[tuple[Any, int]] = field(default_factory=list)
    # a published UDP port's senders as the guest sees them (their host address), and
    # where a datagram the guest sends to one goes: (the published host socket, the sender)
    udp_flows: dict[tuple[bytes, int], tuple[Any, Any]] = field(default_factory=dict)
    pumping: bool = False  # a host-socket poll is scheduled
    quiet: int = 0  # host-socket polls in a row that found nothing ready (they back off)
    # every internet socket an fd or a listener's queue holds, for /proc/net (procnet)
    sockets: dict[int, InetSock] = field(default_factory=dict)
    # socket calls parked with a timeout, by the key of their timer notification
    timeouts: dict[int, tuple[Any, InetSock]] = field(default_factory=dict)
    next_timeout: int = 0


# -- addresses ----------------------------------------------------------------------
def is_v4(addr: bytes) -> bool:
    return addr.startswith(V4_PREFIX)


def is_any(addr: bytes) -> bool:
    return addr in (ANY4, ANY6)


def is_loopback(addr: bytes) -> bool:
    """127.0.0.0/8 and ::1; 0.0.0.0 and :: too as a destination (Linux connects to
    the local host there)."""
    return (is_v4(addr) and addr[12] == 127) or addr == LOOPBACK6 or is_any(addr)


def parse(sock: InetSock, raw: bytes, unspec_ok: bool = False) -> tuple[bytes, int] | None:
    """(address, port) of a sockaddr for ``sock``'s family; None for AF_UNSPEC where the
    call allows it (connect: dissolve the association)."""
    if len(raw) < 2:
        raise KernelError(Errno.EINVAL, "address too short")
    family = struct.unpack_from("<H", raw)[0]
    if family == net.AF_UNSPEC and unspec_ok:
        return None
    if sock.family == net.AF_NETLINK:  # struct sockaddr_nl: the port id (groups ignored)
        if len(raw) < SNL.size or family != net.AF_NETLINK:
            raise KernelError(Errno.EINVAL, "not a sockaddr_nl")
        return b"", SNL.unpack_from(raw)[2]
    if sock.family == net.AF_INET:
        if len(raw) < SIN.size:
            raise KernelError(Errno.EINVAL, "sockaddr_in too short")
        if family != net.AF_INET:
            raise KernelError(Errno.EAFNOSUPPORT, f"family {family} on an AF_INET socket")
        _, port, ip, = SIN.unpack_from(raw)
        return V4_PREFIX + ip, port
    if len(raw) < 24:  # SIN6_LEN_RFC2133: without the scope id
        raise KernelError(Errno.EINVAL, "sockaddr_in6 too short")
    if family != net.AF_INET6:
        raise KernelError(Errno.EAFNOSUPPORT, f"family {family} on an AF_INET6 socket")
    _, port, _, ip, _ = SIN6.unpack_from(raw.ljust(SIN6.size, b"\0"))
    return ip, port


def sockaddr(sock: InetSock, endpoint: tuple[bytes, int] | None) -> bytes:
    """The sockaddr of ``sock``'s family for an endpoint (None: the unbound one)."""
    if sock.family == net.AF_NETLINK:
        return SNL.pack(net.AF_NETLINK, 0, endpoint[1] if endpoint else 0, 0)
    ip, port = endpoint or (ANY4 if sock.family == net.AF_INET else ANY6, 0)
    if sock.family == net.AF_INET:
        return struct.pack("<H", net.AF_INET) + SIN.pack(0, port, ip[12:])[2:]
    return struct.pack("<H", net.AF_INET6) + SIN6.pack(0, port, 0, ip, 0)[2:]


# -- the port namespace ----------------------------------------------------------------
def _families(sock: InetSock, addr: bytes) -> set[int]:
    """Which kinds of address a socket bound to ``addr`` receives on."""
    if sock.family == net.AF_INET or is_v4(addr):
        return {4}
    if addr == ANY6 and not sock.opt(net.IPPROTO_IPV6, net.IPV6_V6ONLY):
        return {4, 6}
    return {6}


def _overlap(a: InetSock, b: InetSock) -> bool:
    assert a.local is not None and b.local is not None
    if not _families(a, a.local[0]) & _families(b, b.local[0]):
        return False
    return is_any(a.local[0]) or is_any(b.local[0]) or a.local[0] == b.local[0]


def _shareable(a: InetSock, b: InetSock) -> bool:
    """Whether two sockets may hold overlapping addresses on one port, as Linux says."""
    reuseaddr = (net.SOL_SOCKET, net.SO_REUSEADDR)
    reuseport = (net.SOL_SOCKET, net.SO_REUSEPORT)
    if a.opts.get(reuseport) and b.opts.get(reuseport):
        return True
    if a.opts.get(reuseaddr) and b.opts.get(reuseaddr):
        return a.socktype == net.SOCK_DGRAM or not (a.listening or b.listening)
    return False


def conflict(state: NetState, sock: InetSock, port: int) -> bool:
    holders = state.bound.get((sock.proto, port), [])
    return any(_overlap(sock, other) and not _shareable(sock, other)
               for other in holders if other is not sock)


def local_address(addr: bytes) -> bool:
    """Whether the guest has ``addr``: its loopback and the wildcards (no other interface)."""
    return is_any(addr) or (is_v4(addr) and addr[12] == 127) or addr == LOOPBACK6


def bind(state: NetState, sock: InetSock, addr: bytes, port: int) -> None:
    """Give ``sock`` its local endpoint; port 0: a free ephemeral port."""
    if sock.local is not None:
        raise KernelError(Errno.EINVAL, "the socket is bound")
    if not local_address(addr):
        raise KernelError(Errno.EADDRNOTAVAIL, "not an address of this machine")
    if sock.family == net.AF_INET6 and is_v4(addr) and sock.opt(net.IPPROTO_IPV6,
                                                               net.IPV6_V6ONLY):
        raise KernelError(Errno.EADDRNOTAVAIL, "an IPv4 address on a V6ONLY socket")
    sock.local = (addr, port)
    if port == 0:
        sock.local = (addr, _ephemeral(state, sock))
    elif conflict(state, sock, port):
        sock.local = None
        raise KernelError(Errno.EADDRINUSE, f"port {port}")
    state.bound.setdefault((sock.proto, sock.local[1]), []).append(sock)


def _ephemeral(state: NetState, sock: InetSock) -> int:
    span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1
    for _ in range(span):
        port = state.next_port
        state.next_port = EPHEMERAL_FIRST + (port + 1 - EPHEMERAL_FIRST) % span
        if not state.bound.get((sock.proto, port)) and not conflict(state, sock, port):
            return port
    sock.local = None
    raise KernelError(Errno.EADDRINUSE, "no ephemeral port is free")


def autobind(state: NetState, sock: InetSock, toward: bytes) -> None:
    """An unbound socket that sends or connects gets an ephemeral port; a socket bound to
    a wildcard takes the source address of the route (the loopback's, here)."""
    if sock.local is None:
        bind(state, sock, ANY4 if sock.family == net.AF_INET else ANY6, 0)
    assert sock.local is not None
    if is_any(sock.local[0]) and sock.socktype == net.SOCK_STREAM:
        sock.local = (source_for(toward), sock.local[1])


def source_for(dest: bytes) -> bytes:
    """The source address Linux picks toward ``dest`` on the loopback."""
    if is_v4(dest):
        return dest if dest[12] == 127 else LOOPBACK4
    return LOOPBACK6


def unbind(state: NetState, sock: InetSock) -> None:
    if sock.local is None:
        return
    holders = state.bound.get((sock.proto, sock.local[1]), [])
    if sock in holders:
        holders.remove(sock)
    if not holders:
        state.bound.pop((sock.proto, sock.local[1]), None)


def _receives(sock: InetSock, dest: bytes) -> bool:
    """Whether ``sock``'s local address takes packets sent to ``dest``."""
    assert sock.local is not None
    here = sock.local[0]
    if not ({4} if is_v4(dest) else {6}) & _families(sock, here):
        return False
    if is_any(dest):  # to 0.0.0.0 / ::: the loopback's address
        dest = LOOPBACK4 if is_v4(dest) else LOOPBACK6
    return is_any(here) or here == dest


def listener(state: NetState, dest: bytes, port: int) -> InetSock | None:
    """The listening TCP socket a connection to (dest, port) reaches (a specific address
    before a wildcard), or None: refused."""
    found = [s for s in state.bound.get((net.IPPROTO_TCP, port), [])
             if s.listening and _receives(s, dest)]
    found.sort(key=lambda s: is_any(s.local[0]) if s.local else True)
    return found[0] if found else None


def receiver(state: NetState, dest: bytes, port: int, source: tuple[bytes, int]) -> InetSock | None:
    """The UDP socket a datagram to (dest, port) from ``source`` goes to: bound there, and
    if connected, connected to ``source``."""
    found = [s for s in state.bound.get((net.IPPROTO_UDP, port), [])
             if _receives(s, dest) and (s.remote is None or s.remote == source)]
    found.sort(key=lambda s: (s.remote is None, is_any(s.local[0]) if s.local else True))
    return found[0] if found else None


# -- options ----------------------------------------------------------------------------
INT_OPTIONS = {
    (net.SOL_SOCKET, net.SO_REUSEADDR), (net.SOL_SOCKET, net.SO_REUSEPORT),
    (net.SOL_SOCKET, net.SO_KEEPALIVE), (net.SOL_SOCKET, net.SO_BROADCAST),
    (net.SOL_SOCKET, net.SO_OOBINLINE), (net.SOL_SOCKET, net.SO_DONTROUTE),
    (net.IPPROTO_IP, net.IP_TOS), (net.IPPROTO_IP, net.IP_TTL)}
TCP_OPTIONS = {(net.IPPROTO_TCP, net.TCP_NODELAY), (net.IPPROTO_TCP, net.TCP_KEEPIDLE),
               (net.IPPROTO_TCP, net.TCP_KEEPINTVL), (net.IPPROTO_TCP, net.TCP_KEEPCNT)}
DEFAULTS = {(net.IPPROTO_IP, net.IP_TTL): 64, (net.IPPROTO_TCP, net.TCP_KEEPIDLE): 7200,
            (net.IPPROTO_TCP, net.TCP_KEEPINTVL): 75, (net.IPPROTO_TCP, net.TCP_KEEPCNT): 9}


def _known(sock: InetSock, key: tuple[int, int]) -> bool:
    if sock.family == net.AF_NETLINK:  # (SOL_NETLINK's flags: kept, nothing to change)
        return key[0] == net.SOL_NETLINK or key in INT_OPTIONS and key[0] == net.SOL_SOCKET
    if key in INT_OPTIONS:
        return key[0] != net.IPPROTO_IP or sock.family == net.AF_INET
    if key in TCP_OPTIONS:
        return sock.socktype == net.SOCK_STREAM
    return key == (net.IPPROTO_IPV6, net.IPV6_V6ONLY) and sock.family == net.AF_INET6


TIMEVAL = struct.Struct("<qq")


def setsockopt(sock: InetSock, level: int, option: int, value: bytes) -> None:
    """Set an option from its bytes (an int, SO_LINGER's struct linger, a timeout's
    struct timeval)."""
    key = (level, option)
    if key in ((net.SOL_SOCKET, net.SO_RCVTIMEO), (net.SOL_SOCKET, net.SO_SNDTIMEO)):
        if len(value) < TIMEVAL.size:
            raise KernelError(Errno.EINVAL, "a timeout is a struct timeval")
        seconds, micros = TIMEVAL.unpack_from(value)
        if not 0 <= micros < 1_000_000:
            raise KernelError(Errno.EDOM, "tv_usec out of range")
        # as Linux's sock_set_timeout: 0 waits for ever, a negative time not at all
        wait = None if seconds == micros == 0 else max(0.0, seconds + micros / 1e6)
        if option == net.SO_RCVTIMEO:
            sock.rcvtimeo = wait
        else:
            sock.sndtimeo = wait
        return
    if key == (net.SOL_SOCKET, net.SO_LINGER):
        if len(value) < 8:
            raise KernelError(Errno.EINVAL, "struct linger is 8 bytes")
        onoff, seconds = struct.unpack_from("<ii", value)
        sock.linger = (int(bool(onoff)), seconds)
        return
    if not (_known(sock, key) or key in _BUFFERS):
        raise KernelError(Errno.ENOPROTOOPT, f"option {level}/{option}")
    if len(value) < 4:
        raise KernelError(Errno.EINVAL, "an int option takes 4 bytes")
    number = struct.unpack_from("<i", value)[0]
    if key == (net.IPPROTO_IPV6, net.IPV6_V6ONLY) and sock.local is not None:
        raise KernelError(Errno.EINVAL, "IPV6_V6ONLY of a bound socket")
    if key in _BUFFERS:  # Linux doubles the size asked for (its bookkeeping overhead)
        wanted = min(max(number, 0), INT_MAX // 2 if option in (net.SO_SNDBUFFORCE,
                                                                net.SO_RCVBUFFORCE) else BUF_MAX)
        if option in (net.SO_RCVBUF, net.SO_RCVBUFFORCE):
            sock.rcvbuf = max(wanted * 2, MIN_RCVBUF)
        else:
            sock.sndbuf, sock.sndbuf_set = max(wanted * 2, MIN_SNDBUF), True
        if sock.peer is not None:
            resize(sock, sock.peer)
        return
    numeric = level in (net.IPPROTO_IP, net.SOL_NETLINK) or key in DEFAULTS
    sock.opts[key] = number if numeric else int(bool(number))


_BUFFERS = {(net.SOL_SOCKET, o) for o in (net.SO_SNDBUF, net.SO_RCVBUF, net.SO_SNDBUFFORCE,
                                          net.SO_RCVBUFFORCE)}


def connected(sock: InetSock, peer: InetSock) -> None:
    """The two ends of a loopback connection just made: each one's send buffer grows as
    Linux's (``LOOPBACK_SNDBUF``) unless SO_SNDBUF set it, and each way holds what
    ``capacity`` says."""
    for end in (sock, peer):
        if not end.sndbuf_set and end.socktype == net.SOCK_STREAM:
            end.sndbuf = LOOPBACK_SNDBUF
    resize(sock, peer)


def capacity(sender: InetSock, receiver: InetSock) -> int:
    """The bytes a loopback connection holds one way before a write waits: the sender's
    send buffer and the receiver's window (half its receive buffer: tcp_adv_win_scale 1)."""
    return sender.sndbuf + receiver.rcvbuf // 2


def resize(sock: InetSock, peer: InetSock) -> None:
    """Both ways of the connection between ``sock`` and ``peer`` hold what their buffers
    say now (after a connection or a buffer's change)."""
    for sender, receiver in ((sock, peer), (peer, sock)):
        tx = sender.owner.tx if sender.owner is not None else None
        if tx is not None and not sender.forwarded:
            tx.capacity = capacity(sender, receiver)


def getsockopt(sock: InetSock, level: int, option: int) -> bytes:
    """An option's value as bytes (SO_ERROR is read and cleared by the caller)."""
    key = (level, option)
    fixed = {(net.SOL_SOCKET, net.SO_TYPE): sock.socktype,
             (net.SOL_SOCKET, net.SO_DOMAIN): sock.family,
             (net.SOL_SOCKET, net.SO_PROTOCOL): sock.proto,
             (net.SOL_SOCKET, net.SO_ACCEPTCONN): int(sock.listening),
             (net.SOL_SOCKET, net.SO_RCVBUF): sock.rcvbuf,
             (net.SOL_SOCKET, net.SO_SNDBUF): sock.sndbuf,
             (net.SOL_SOCKET, net.SO_RCVLOWAT): 1, (net.SOL_SOCKET, net.SO_SNDLOWAT): 1}
    if key in fixed:
        return struct.pack("<i", fixed[key])
    if key == (net.SOL_SOCKET, net.SO_LINGER):
        return struct.pack("<ii", *sock.linger)
    if key in ((net.SOL_SOCKET, net.SO_RCVTIMEO), (net.SOL_SOCKET, net.SO_SNDTIMEO)):
        wait = sock.rcvtimeo if option == net.SO_RCVTIMEO else sock.sndtimeo
        whole, part = divmod(round((wait or 0.0) * 1e6), 1_000_000)
        return TIMEVAL.pack(whole, part)
    if key == (net.IPPROTO_TCP, net.TCP_MAXSEG) and sock.socktype == net.SOCK_STREAM:
        return struct.pack("<i", 65483 if sock.remote else 536)  # the loopback's MSS
    if not _known(sock, key):
        raise KernelError(Errno.ENOPROTOOPT, f"option {level}/{option}")
    return struct.pack("<i", sock.opts.get(key, DEFAULTS.get(key, 0)))
