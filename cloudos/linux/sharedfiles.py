"""Shared file mappings: one set of frames per file mapped MAP_SHARED.

Owns: a memory object (``memobject``) for each file some process maps
MAP_SHARED, keyed by (st_dev, st_ino), holding pages [0, n) of the file. The
object lends its shadow address space to the VFS as a grant, so
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

from typing import Any

from cloudos.abi.vfs import MapAttach, MapSync
from cloudos.errno import Errno, KernelError
from cloudos.kernel.cap import Right
from cloudos.kernel.ipc import Message
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.pagetable import FRAME_MASK
from cloudos.kernel.mm.vm import AddressSpace, page_align
from cloudos.linux.memobject import OBJECT_BASE, MemoryObject

VFS = "vfs"  # the service that owns files (as in syscalls/sys_file.py)

FileKey = tuple[int, int]  # st_dev, st_ino


class SharedFile(MemoryObject):
    def __init__(self, kernel: Any, key: FileKey) -> None:
        super().__init__(kernel)
        self.key = key
        self.grant = 0          # the kernel grant the VFS reads the pages through
        self.writable = False   # mapped writable at least once: its pages are written back


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
        need = page_align(len(data)) // PAGE_SIZE
        self._reserve(need - (obj.pages if obj is not None else 0))
        if obj is None:
            obj = self.files[key] = SharedFile(self.kernel, key)
        if need > obj.pages:
            old = obj.pages
            obj.grow(need, data)
            for index in range(old, need):
                self.owner[obj.frame(index)] = obj
            self._lend(obj)
        obj.map(aspace, start, offset // PAGE_SIZE, size // PAGE_SIZE)
        obj.writable |= writable

    def _reserve(self, pages: int) -> None:
        """ENOMEM, before anything is taken, unless ``pages`` frames are free (once the
        page cache has given back what nobody maps): the guest's RAM bounds a mapping."""
        frames = self.kernel.frames
        if pages * PAGE_SIZE > frames.free_bytes:
            frames.reclaim()
            if pages * PAGE_SIZE > frames.free_bytes:
                raise KernelError(Errno.ENOMEM, "no room in RAM for the file's pages")

    def _lend(self, obj: SharedFile) -> None:
        """Give the VFS a grant on all the object's pages (replacing the smaller one)."""
        ipc, length = self.kernel.ipc, obj.pages * PAGE_SIZE
        ipc.grants.pop(obj.grant, None)
        cap = ipc.lend(0, obj.shadow, OBJECT_BASE, length, Right.READ | Right.WRITE)
        obj.grant = cap.obj
        self._tell_vfs(MapAttach(obj.key, length), caps=[cap])

    def _tell_vfs(self, request: MapAttach | MapSync, caps: list[Any] | None = None) -> None:
        client = self.kernel.services.get(VFS)
        if client is not None:
            msg = Message(request.OP, b"", 0, caps or [], body=request)
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
        self._tell_vfs(MapSync(obj.key, obj.read() if obj.writable else None, final))

    def collect(self) -> None:
        """Write back and free the objects no process maps any more."""
        for obj in list(self.files.values()):
            if obj.mapped():
                continue
            self.sync(obj, final=True)
            self.kernel.ipc.grants.pop(obj.grant, None)
            for frame in obj.frames():
                del self.owner[frame]
            obj.destroy()
            del self.files[obj.key]
