"""Linux x86_64 socket numbers: address families, socket types, levels, options, flags.

Owns the numbers of socket(2), setsockopt(2) and send/recv(2) (linux/socket.h,
asm-generic/socket.h, netinet/in.h, netinet/tcp.h, linux/in6.h), named once for
the personality and the servers.
The NETWORK right (``Right.NETWORK``, bit 13 of a capability's rights in
``kernel.cap``) is what lets a process's internet sockets leave the machine: the
personality asks whether the caller's VFS capability holds it and says so in the
request (``network``); without it only the guest's loopback answers.
Never: decides anything.
"""

from __future__ import annotations

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET = 0, 1, 2, 10, 16, 17
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET = 1, 2, 3, 5
SOCK_TYPE_MASK = 0xF
IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6 = 0, 6, 17, 41

SOL_SOCKET = 1
SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE, SO_BROADCAST = 2, 3, 4, 5, 6
SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_OOBINLINE, SO_LINGER = 7, 8, 9, 10, 13
SO_REUSEPORT, SO_RCVLOWAT, SO_SNDLOWAT, SO_RCVTIMEO, SO_SNDTIMEO = 15, 18, 19, 20, 21
SO_ACCEPTCONN, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PROTOCOL, SO_DOMAIN = 30, 32, 33, 38, 39
TCP_NODELAY, TCP_MAXSEG, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = 1, 2, 4, 5, 6
IP_TOS, IP_TTL = 1, 2
IPV6_V6ONLY = 26
NETLINK_ROUTE, SOL_NETLINK = 0, 270

MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT, MSG_EOR = 0x1, 0x2, 0x20, 0x40, 0x80
MSG_WAITALL, MSG_CONFIRM, MSG_ERRQUEUE = 0x100, 0x800, 0x2000
MSG_NOSIGNAL, MSG_MORE = 0x4000, 0x8000
MSG_CMSG_CLOEXEC = 0x40000000

SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2
