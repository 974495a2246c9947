"""/proc/<pid>/mem's open file: another process's memory at file offsets that are its
addresses (Linux's proc_mem_operations).

Owns: ``ProcMem``, the kind "procmem": read, write, pread, pwrite and lseek of an open
mem file, through the ``Memory`` grant its open was given (``ProcFs.open_memory``, which
the machine's view checks with the opener's credentials, once, as Linux's mem_open).
Never: reaches a process's memory without that grant; seeks from the end (EINVAL).
Called by: the VFS (``server.KINDS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.fileops import scatter
from cloudos.servers.vfs.files import OpenFile
from cloudos.servers.vfs.procfs import Memory
from cloudos.servers.vfs.regular import SEEK_CUR, SEEK_SET, Regular

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Vfs

OFFSET_MASK = (1 << 64) - 1  # mem_lseek's position is an unsigned address
MAX_RW = 0x7FFF_F000  # MAX_RW_COUNT: the most one read or write moves


def _memory(file: OpenFile) -> Memory:
    assert file.memory is not None  # the kind is made only with its grant
    memory: Memory = file.memory
    return memory


class ProcMem(Regular):
    """The kind "procmem": a process's memory; a path, stat and poll like any node's."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any) -> int:
        data = _memory(file).read(file.offset, min(count, MAX_RW))
        file.offset += len(data)
        vfs.api.copy_out(grant, 0, data)
        return len(data)

    def pread(self, vfs: Vfs, request: Request, file: OpenFile, count: int, grant: Any,
              offset: int, lengths: list[int] | None = None) -> int:
        if offset < 0:
            raise KernelError(Errno.EINVAL, "negative offset")
        vfs.check_readable(file)
        data = _memory(file).read(offset, min(count, MAX_RW))
        scatter(vfs.api, grant, data, lengths)
        return len(data)

    def write(self, vfs: Vfs, request: Request, file: OpenFile, data: bytes) -> int:
        written = _memory(file).write(file.offset, data[:MAX_RW])
        file.offset += written
        return written

    def pwrite(self, vfs: Vfs, request: Request, file: OpenFile, count: int,
               offset: int, lengths: list[int] | None = None) -> int:
        if offset < 0:
            raise KernelError(Errno.EINVAL, "negative offset")
        data = (vfs.api.copy_in(request.grants[0], 0, count) if lengths is None else
                b"".join(vfs.api.copy_in(g, 0, n) for g, n in zip(request.grants, lengths)))
        vfs.check_writable(file)
        return _memory(file).write(offset, data[:MAX_RW])

    def seek(self, file: OpenFile, offset: int, whence: int) -> int:
        """Linux's mem_lseek: SEEK_SET to any address, SEEK_CUR from the position (both
        unsigned: no offset is too large); anything else EINVAL."""
        if whence not in (SEEK_SET, SEEK_CUR):
            raise KernelError(Errno.EINVAL, f"whence {whence} of a mem file")
        base = file.offset if whence == SEEK_CUR else 0
        file.offset = (base + offset) & OFFSET_MASK
        return file.offset

    def resize(self, vfs: Vfs, request: Request, file: OpenFile, length: int) -> None:
        """Linux's proc_setattr takes a size and changes nothing: ftruncate answers 0."""

    def unread(self, vfs: Vfs, file: OpenFile) -> int:
        return 0
