"""The file-operations protocol: what every kind of open file implements.

Owns: ``FileOps``, the operations the VFS asks of an open file whatever its kind
(read, write, poll, seek, stat, release, and the path /proc shows for it), like
Linux's ``file_operations``; its defaults are those of an anonymous inode (an
eventfd, a timerfd, a signalfd, an epoll instance: not read or written unless the
kind says how, seeks nowhere without refusing, stats as a mode-0600 inode with no
file type). One module per kind implements it (``eventfd``, ...), and
``server.KINDS`` finds a file's implementation by its ``kind``.
Never: decodes requests (``server`` does) or resolves paths.
Called by: ``vfs.server``.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.files import OpenFile
from cloudos.servers.vfs.fs import Attr

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs

ANON_INODE_DEV = 0x0E  # the anonymous inode file system's device


class FileOps:
    """One kind of open file. A read or write answers a count, None (answered later: a
    deferred reply), or a typed answer (abi/vfs.py); errors are raised."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any) -> Any:
        raise KernelError(Errno.EINVAL, f"a {file.kind} is not read")

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
        raise KernelError(Errno.EINVAL, f"a {file.kind} is not written")

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        """The poll events of ``events`` the file has now."""
        return 0

    def seek(self, file: OpenFile, offset: int, whence: int) -> int:
        return 0  # Linux's anonymous files seek nowhere but do not refuse

    def stat(self, file: OpenFile) -> Attr:
        now = time.time_ns()
        return Attr(1, 0o600, 1, os.getuid(), os.getgid(), 0, 0, 4096, 0, now, now, now,
                    ANON_INODE_DEV)

    def path(self, file: OpenFile) -> bytes:
        """What /proc/<pid>/fd shows for it."""
        return f"anon_inode:[{file.kind}]".encode()

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        """The last holder of ``file`` let go of it."""
