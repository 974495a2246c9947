"""The file-operations protocol: what every kind of open file implements.

Owns: ``FileOps``, the operations the VFS asks of an open file whatever its kind
(read, readv, pread, write, pwrite, poll, seek, resize, ioctl, stat, fasync, release, the job
control check of a terminal, the path and the fdinfo lines /proc shows for it, and
what opening that /proc/<pid>/fd link opens), like Linux's ``file_operations``;
its defaults are those of an anonymous inode (an eventfd, a timerfd, a signalfd,
an epoll instance, a pidfd: not read or written unless the kind says how, seeks
nowhere without refusing, no positioned I/O, no terminal, stats as a mode-0600
inode with no file type); and ``scatter``, the copy of a read's bytes to its
grants. One module per kind implements it (``regular``, ``pipe``, ``fifo``, ``unix``,
``console``, ``eventfd``, ``timerfd``, ``signalfd``, ``epoll``, ``pidfd``, and
``notify``'s inotify instances), and ``server.KINDS`` finds a file's implementation by its ``kind``.
Never: decodes requests (``server`` does) or resolves paths.
Called by: ``vfs.server``.
"""

from __future__ import annotations

import os
import struct
import time
from typing import TYPE_CHECKING, Any

from cloudos.abi.vfs import Ioctl
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.files import OpenFile
from cloudos.servers.vfs.fs import Attr

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request, ServerApi
    from cloudos.servers.vfs.server import Proc, Vfs

FOLLOW = object()  # reopen: the link is followed by the name it shows
ANON_INODE_DEV = 0x0E  # the anonymous inode file system's device
FIONREAD = 0x541B


class FileOps:
    """One kind of open file. A read or write answers a count, None (answered later: a
    deferred reply), or a typed answer (abi/vfs.py); errors are raised."""

    # A read given a buffer bad past its start fails in its own copy (inotify: its
    # events are taken first, as Linux's copy_to_user fails after), not before it
    # (Vfs.lent: EFAULT for any kind but a regular file's, which reads up to there).
    copies_late = False

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any) -> Any:
        raise KernelError(Errno.EINVAL, f"a {file.kind} is not read")

    def readv(self, vfs: Vfs, request: Request, file: OpenFile, grants: list[int],
              lengths: list[int]) -> Any:
        """readv(2): a read per buffer, until one comes back short."""
        total = 0
        for grant, length in zip(grants, lengths):
            got = vfs.read_file(request, self, file, length, grant)
            assert got is not None
            total += got
            if got < length:
                break
        return total

    def pread(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any,
              offset: int, lengths: list[int] | None = None) -> int | None:
        """pread(2) of ``count`` bytes into ``grant`` (preadv: ``lengths``, one grant each)."""
        raise KernelError(Errno.ESPIPE, f"a {file.kind} has no positions")

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int | None:
        raise KernelError(Errno.EINVAL, f"a {file.kind} is not written")

    def pwrite(self, vfs: Vfs, request: Request, file: OpenFile, count: int,
               offset: int, lengths: list[int] | None = None) -> int | None:
        """pwrite(2) of ``count`` bytes from the request's grant (pwritev: ``lengths``)."""
        raise KernelError(Errno.ESPIPE, f"a {file.kind} has no positions")

    def resize(self, vfs: Vfs, request: Request, file: OpenFile, length: int) -> None:
        """ftruncate(2) of the file, open for writing: only a regular file has a size."""
        raise KernelError(Errno.EINVAL, f"ftruncate of a {file.kind}")

    def foreground(self, vfs: Vfs, file: OpenFile, pgid: int, sid: int, output: bool) -> None:
        """Whether the job (``pgid``, ``sid``) may read (or write, ``output``) the file
        now: a terminal raises for a background job (see ``console``)."""

    def ioctl(self, vfs: Vfs, request: Request, file: OpenFile, r: Ioctl) -> int:
        """ioctl(2) commands of the kind (the VFS serves the ones of any file itself)."""
        if r.cmd == FIONREAD:
            vfs.api.copy_out(request.grants[0], 0, struct.pack("<i", self.unread(vfs, file)))
            return 0
        raise KernelError(Errno.ENOTTY, "not a terminal")

    def unread(self, vfs: Vfs, file: OpenFile) -> int:
        """FIONREAD: the bytes a read would find now."""
        return 0

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        """The poll events of ``events`` the file has now."""
        return 0

    def seek(self, file: OpenFile, offset: int, whence: int) -> int:
        return 0  # Linux's anonymous files seek nowhere but do not refuse

    def stat(self, file: OpenFile) -> Attr:
        now = time.time_ns()
        return Attr(1, 0o600, 1, os.getuid(), os.getgid(), 0, 0, 4096, 0, now, now, now,
                    ANON_INODE_DEV)

    def fdinfo(self, file: OpenFile) -> bytes:
        """The lines of its kind that /proc/<pid>/fdinfo/<fd> shows after the common ones."""
        return b""

    def path(self, file: OpenFile) -> bytes:
        """What /proc/<pid>/fd shows for it."""
        return f"anon_inode:[{file.kind}]".encode()

    def reopen(self, vfs: Vfs, request: Request, proc: Proc, file: OpenFile, status: int,
               cloexec: bool) -> Any:
        """An open of ``file``'s /proc/<pid>/fd link (Linux's magic link): the new fd, None
        (answered later), or FOLLOW: open the name the link shows instead (a file's path)."""
        return FOLLOW
    def fasync(self, vfs: Vfs, file: OpenFile, on: bool) -> bool:
        """F_SETFL sets (``on``) or clears O_ASYNC: a kind that signals I/O registers the
        file and answers True (Linux's ->fasync); the others answer False, and the flag
        is not kept (as Linux drops it on a file without ->fasync)."""
        return False

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        """The last holder of ``file`` let go of it."""


def scatter(api: ServerApi, grant: Any, data: bytes | memoryview,
            lengths: list[int] | None, offset: int = 0) -> None:
    """Copy a read's bytes to its grant, or (``lengths``: a readv's) to its grants in order,
    from ``offset`` on (a receive that takes its bytes in several steps)."""
    if lengths is None:
        api.copy_out(grant, offset, data)
        return
    done, at = 0, 0
    for token, length in zip(grant, lengths):
        if at + length > offset and done < len(data):
            skip = max(0, offset - at)
            piece = data[done:done + length - skip]
            api.copy_out(token, skip, piece)
            done += len(piece)
        at += length
