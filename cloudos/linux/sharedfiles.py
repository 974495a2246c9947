"""Shared file mappings: one set of frames per file mapped MAP_SHARED.

Owns: a memory object for each file some process maps MAP_SHARED, keyed by
(st_dev, st_ino). Its frames hold pages [0, n) of the file and live in an
address space of their own (the object's shadow), which keeps them while no
process maps them. The object lends the shadow to the VFS as a grant, so
read(2) and write(2) of the file see and change the mapped pages, as with
Linux's single page cache. Writing the pages back to the file system on
msync and when the last mapping goes; freeing the object then.
Never: decides who may map a file (the VFS checks the open file's access mode
before it answers MMAP_READ), or writes back an object nobody mapped writable.
Called by: ``sys_mm`` (mmap, msync, munmap, mprotect) and the machine (after
a process exits or execs: ``collect``).

The VFS may serve a read in the moment between the last unmap and the
final MAP_SYNC: it then reads the file as it was at the last msync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloudos.kernel.cap import Right
from cloudos.kernel.ipc import Message
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.pagetable import FRAME_MASK
from cloudos.kernel.mm.vm import AddressSpace, Prot, page_align

OBJECT_BASE = 0x10000  # where an object's page 0 sits in its shadow address space
MAP_ATTACH, MAP_SYNC = 1007, 1008  # the VFS's ops (servers/vfs/server.py)
VFS = "vfs"  # the service that owns files (as in syscalls/sys_file.py)

FileKey = tuple[int, int]  # st_dev, st_ino


@dataclass(eq=False)
class SharedFile:
    key: FileKey
    shadow: AddressSpace
    pages: int = 0           # the object holds pages [0, pages) of the file
    grant: int = 0           # the kernel grant the VFS reads the pages through
    writable: bool = False   # mapped writable at least once: its pages are written back


class SharedFiles:
    """Every shared file mapping of the machine."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.files: dict[FileKey, SharedFile] = {}
        self.owner: dict[int, SharedFile] = {}  # frame -> the object holding it

    def map(self, aspace: AddressSpace, start: int, size: int, offset: int, key: FileKey,
            data: bytes, writable: bool) -> None:
        """Map pages of file ``key`` from ``offset`` at ``start``.

        ``data`` is the file from its start to the end of the mapping (or of the
        file); pages the object already holds are newer than it and are kept.
        """
        obj = self.files.get(key)
        if obj is None:
            obj = self.files[key] = SharedFile(key, self.kernel.new_aspace())
        need = page_align(len(data)) // PAGE_SIZE
        if need > obj.pages:
            self._grow(obj, need, data)
        first = offset // PAGE_SIZE
        for index in range(first, min(need, first + size // PAGE_SIZE)):
            aspace.share(start + (index - first) * PAGE_SIZE, self._frame(obj, index), cow=False)
        obj.writable |= writable

    def _frame(self, obj: SharedFile, index: int) -> int:
        return obj.shadow.pt.walk(OBJECT_BASE + index * PAGE_SIZE) & FRAME_MASK

    def _grow(self, obj: SharedFile, need: int, data: bytes) -> None:
        """Add pages [obj.pages, need), filled from ``data``; lend the VFS the larger object."""
        base = OBJECT_BASE + obj.pages * PAGE_SIZE
        obj.shadow.add(base, (need - obj.pages) * PAGE_SIZE, Prot.READ | Prot.WRITE, "object",
                       shared=True)
        obj.shadow.copy_out(base, data[obj.pages * PAGE_SIZE:need * PAGE_SIZE])
        for index in range(obj.pages, need):
            self.owner[self._frame(obj, index)] = obj
        obj.pages = need
        ipc = self.kernel.ipc
        ipc.grants.pop(obj.grant, None)
        cap = ipc.lend(0, obj.shadow, OBJECT_BASE, need * PAGE_SIZE, Right.READ | Right.WRITE)
        obj.grant = cap.obj
        self._tell_vfs(MAP_ATTACH, obj.key, need * PAGE_SIZE, caps=[cap])
        self.kernel.cpu.invalidate_code()  # new frames may be run: drop what they held before

    def _tell_vfs(self, op: int, *args: Any, caps: list[Any] | None = None) -> None:
        client = self.kernel.services.get(VFS)
        if client is not None:
            msg = Message(op, b"", 0, caps or [], body=(op, *args))
            self.kernel.ipc.notify(self.kernel.ipc.ports[client.obj], msg)

    def objects(self, aspace: AddressSpace, start: int, end: int) -> set[SharedFile]:
        """The objects whose pages are mapped in [start, end) of ``aspace``."""
        found = set()
        for _, pte in aspace.pt.mapped(start, end):
            obj = self.owner.get(pte & FRAME_MASK)
            if obj is not None:
                found.add(obj)
        return found

    def sync(self, obj: SharedFile, final: bool = False) -> None:
        """Send the object's pages to the VFS to be written to the file."""
        data = obj.shadow.copy_in(OBJECT_BASE, obj.pages * PAGE_SIZE) if obj.writable else None
        self._tell_vfs(MAP_SYNC, obj.key, data, final)

    def collect(self) -> None:
        """Write back and free the objects no process maps any more."""
        refs = self.kernel.frame_refs
        for obj in list(self.files.values()):
            frames = [self._frame(obj, index) for index in range(obj.pages)]
            if any(frame in refs for frame in frames):
                continue
            self.sync(obj, final=True)
            self.kernel.ipc.grants.pop(obj.grant, None)
            for frame in frames:
                del self.owner[frame]
            obj.shadow.destroy()
            del self.files[obj.key]
