"""Internet sockets that leave the machine: through host sockets the VFS opens.

Owns: (filled in by the NETWORK step) the host sockets behind guest sockets.
Called by: ``vfs.inet``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudos.errno import Errno, KernelError
from cloudos.servers.net.inet import InetSock

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.files import OpenFile
    from cloudos.servers.vfs.server import Vfs


def connect(vfs: Vfs, request: Request, file: OpenFile, sock: InetSock,
            dest: tuple[bytes, int], nonblock: bool) -> Any:
    raise KernelError(Errno.ENETUNREACH, "no route off the machine")


def send_datagram(vfs: Vfs, sock: InetSock, data: bytes, dest: tuple[bytes, int]) -> int:
    raise KernelError(Errno.ENETUNREACH, "no route off the machine")


def pump(vfs: Vfs) -> None:
    """Move what is waiting between the guest's sockets and the host's."""


def shut(vfs: Vfs, sock: InetSock, how: int) -> None:
    """A shutdown(2) of a guest socket reaches its host socket."""


def close(vfs: Vfs, sock: InetSock) -> None:
    """The guest socket is gone: its host socket closes."""


def net_poll(vfs: Vfs, request: Request, r: Any) -> None:
    """The timer's notification: poll the host sockets."""
    pump(vfs)
