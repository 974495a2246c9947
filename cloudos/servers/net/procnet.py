"""/proc/net/{tcp,tcp6,udp,udp6}: the guest's internet sockets as Linux lists them.

Owns: the text of those files (one line per socket, in the format of Linux's
tcp4_seq_show/udp4_seq_show: addresses as hex words in host byte order, ports in
hex, the state, the queues' bytes, the owner's uid and the inode /proc/<pid>/fd
names as socket:[inode]), which netstat and ss (without sock_diag) read.
Never: changes a socket.
Called by: procfs, through the machine's view (``machine.KernelProcView``).
"""

from __future__ import annotations

import struct
from typing import Any, Callable

from cloudos.abi import net
from cloudos.servers.net.inet import InetSock, NetState, is_v4

ESTABLISHED, SYN_SENT, FIN_WAIT2, CLOSE, CLOSE_WAIT, LISTEN = 0x01, 0x02, 0x05, 0x07, 0x08, 0x0A
TCP_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
              "   uid  timeout inode")
TCP6_HEADER = ("  sl  local_address                         remote_address                        "
               "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")
FILES = ("tcp", "tcp6", "udp", "udp6")


def _hex(address: bytes, six: bool) -> str:
    """An address as /proc/net shows it: 32-bit words printed in host (little-endian) order."""
    raw = address if six else address[12:]
    return "".join(f"{word:08X}" for word in struct.unpack(f"<{len(raw) // 4}I", raw))


def _state(sock: InetSock) -> int:
    file = sock.owner
    if sock.listening:
        return LISTEN
    if sock.socktype == net.SOCK_DGRAM:
        return ESTABLISHED if sock.remote is not None else CLOSE
    if sock.connecting is not None:
        return SYN_SENT
    if file.pipe is None or file.tx is None:
        return CLOSE
    if not file.pipe.writers:
        return CLOSE_WAIT  # the peer is done sending
    return FIN_WAIT2 if not file.tx.writers else ESTABLISHED


def _queues(sock: InetSock) -> tuple[int, int]:
    file = sock.owner
    if sock.socktype == net.SOCK_DGRAM:
        return 0, sock.queued
    if sock.listening and file.listener is not None:
        return 0, len(file.listener.queue)
    # (on the loopback, what is sent is in the peer's receive queue at once)
    tx = len(file.tx.buffer) if file.tx is not None and sock.host is not None else 0
    return tx, len(file.pipe.buffer) if file.pipe is not None else 0


def render(state: NetState, name: str, uid: int, inode: Callable[[Any], int]) -> bytes:
    """The text of /proc/net/``name`` (one of FILES)."""
    six = name.endswith("6")
    stream = name.startswith("tcp")
    lines = [TCP6_HEADER if six else TCP_HEADER]
    for sock in state.sockets.values():
        if (sock.socktype == net.SOCK_STREAM) != stream or sock.family == net.AF_NETLINK:
            continue
        local = sock.local or (bytes(16), 0)
        remote = sock.remote or (bytes(16), 0)
        if (sock.family == net.AF_INET6) != six or (not six and not is_v4(local[0])):
            continue
        tx, rx = _queues(sock)
        lines.append(f"{len(lines) - 1:4d}: {_hex(local[0], six)}:{local[1]:04X} "
                     f"{_hex(remote[0], six)}:{remote[1]:04X} {_state(sock):02X} "
                     f"{tx:08X}:{rx:08X} 00:00000000 00000000 {uid:5d} {0:8d} "
                     f"{inode(sock.owner)} 1 0000000000000000 100 0 0 10 0")
    return ("\n".join(lines) + "\n").encode()
