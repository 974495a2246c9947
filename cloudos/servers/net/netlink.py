"""The guest's rtnetlink (NETLINK_ROUTE): its one interface, lo, as programs ask for it.

Owns: answering the requests a NETLINK_ROUTE socket sends (struct nlmsghdr, rtnetlink(7)):
RTM_GETLINK (lo: index 1, loopback, up, MTU 65536) and RTM_GETADDR (127.0.0.1/8 and
::1/128 on lo), as dumps or for one interface, which is what getifaddrs(3),
if_nameindex(3) and `ip addr` read; any other request is answered with an error message
(EOPNOTSUPP), and NLM_F_ACK gets its acknowledgement. The guest has no other interface:
the host's are not shown, even with --net host (its sockets reach the host's network
through the host, not through an interface of the guest).
Never: changes anything (RTM_NEW*/RTM_DEL* requests are refused, EPERM as to an
unprivileged process).
Called by: ``net.sockets`` (a send on an AF_NETLINK socket); the answers are datagrams
for the sender's queue.
"""

from __future__ import annotations

import struct

from cloudos.abi import net
from cloudos.errno import Errno

NLMSGHDR = struct.Struct("<IHHII")  # length, type, flags, sequence, port id
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x2, 0x4, 0x300
RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR = 16, 18, 20, 22
RTM_BASE, RTM_MAX = 16, 127
IFINFOMSG = struct.Struct("<BxHiII")  # family, type, index, flags, change
IFADDRMSG = struct.Struct("<BBBBI")   # family, prefix length, flags, scope, index
IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU, IFLA_TXQLEN = 1, 2, 3, 4, 13
IFLA_QDISC, IFLA_OPERSTATE, IFLA_LINKMODE, IFLA_GROUP = 6, 16, 17, 27
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 3, 6, 8
ARPHRD_LOOPBACK = 772
IFF_UP, IFF_LOOPBACK, IFF_RUNNING, IFF_LOWER_UP = 0x1, 0x8, 0x40, 0x10000
IFA_F_PERMANENT, RT_SCOPE_HOST = 0x80, 254
LO_INDEX, LO_MTU, OPER_UNKNOWN = 1, 65536, 0
FOREVER = 0xFFFFFFFF
# (family, address bytes, prefix length) of lo's addresses
LO_ADDRESSES = ((net.AF_INET, bytes([127, 0, 0, 1]), 8), (net.AF_INET6, bytes(15) + b"\x01", 128))


def _attr(kind: int, data: bytes) -> bytes:
    size = 4 + len(data)
    return struct.pack("<HH", size, kind) + data + bytes(-size % 4)


def _message(kind: int, flags: int, seq: int, pid: int, body: bytes) -> bytes:
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), kind, flags, seq, pid) + body


def _link() -> bytes:
    flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP
    return (IFINFOMSG.pack(net.AF_UNSPEC, ARPHRD_LOOPBACK, LO_INDEX, flags, 0)
            + _attr(IFLA_IFNAME, b"lo\0") + _attr(IFLA_TXQLEN, struct.pack("<I", 1000))
            + _attr(IFLA_OPERSTATE, bytes([OPER_UNKNOWN])) + _attr(IFLA_LINKMODE, b"\0")
            + _attr(IFLA_MTU, struct.pack("<I", LO_MTU)) + _attr(IFLA_QDISC, b"noqueue\0")
            + _attr(IFLA_GROUP, struct.pack("<I", 0)) + _attr(IFLA_ADDRESS, bytes(6))
            + _attr(IFLA_BROADCAST, bytes(6)))


def _addresses(family: int) -> list[bytes]:
    out = []
    for kind, address, prefix in LO_ADDRESSES:
        if family not in (net.AF_UNSPEC, kind):
            continue
        body = IFADDRMSG.pack(kind, prefix, IFA_F_PERMANENT, RT_SCOPE_HOST, LO_INDEX)
        body += _attr(IFA_ADDRESS, address)
        if kind == net.AF_INET:
            body += _attr(IFA_LOCAL, address) + _attr(IFA_LABEL, b"lo\0")
        body += _attr(IFA_FLAGS, struct.pack("<I", IFA_F_PERMANENT))
        body += _attr(IFA_CACHEINFO, struct.pack("<IIII", FOREVER, FOREVER, 0, 0))
        out.append(body)
    return out


def _error(errno: int, request: bytes, seq: int, pid: int) -> bytes:
    """An NLMSG_ERROR (errno 0: an acknowledgement) quoting the request's header."""
    return _message(NLMSG_ERROR, 0, seq, pid, struct.pack("<i", -errno) + request[:16])


def answer(data: bytes, pid: int) -> list[bytes]:
    """The datagrams that answer the requests in ``data`` (sent by port id ``pid``)."""
    out: list[bytes] = []
    at = 0
    while at + NLMSGHDR.size <= len(data):
        length, kind, flags, seq, _ = NLMSGHDR.unpack_from(data, at)
        if length < NLMSGHDR.size or at + length > len(data):
            break  # as Linux: a truncated message ends the batch
        request, body = data[at:at + length], data[at + NLMSGHDR.size:at + length]
        at += (length + 3) & ~3
        if not flags & NLM_F_REQUEST or kind < RTM_BASE:
            continue
        family = body[0] if body else net.AF_UNSPEC
        if kind == RTM_GETLINK:
            wanted = struct.unpack_from("<i", body, 4)[0] if len(body) >= 8 else 0
            if not flags & NLM_F_DUMP and wanted not in (0, LO_INDEX):
                out.append(_error(Errno.ENODEV, request, seq, pid))
                continue
            bodies, kind_out = [_link()], RTM_NEWLINK  # (any family: Linux's own handler)
        elif kind == RTM_GETADDR:
            bodies, kind_out = _addresses(family), RTM_NEWADDR
        else:  # a change (only privileged processes may), or a table not kept here
            errno = Errno.EPERM if (kind - RTM_BASE) % 4 in (0, 1) else Errno.EOPNOTSUPP
            out.append(_error(errno, request, seq, pid))
            continue
        if flags & NLM_F_DUMP:
            if bodies:
                out.append(b"".join(_message(kind_out, NLM_F_MULTI, seq, pid, b)
                                    for b in bodies))
            out.append(_message(NLMSG_DONE, NLM_F_MULTI, seq, pid, struct.pack("<i", 0)))
        else:
            out += [_message(kind_out, 0, seq, pid, b) for b in bodies[:1]]
            if flags & NLM_F_ACK:
                out.append(_error(0, request, seq, pid))
    return out
