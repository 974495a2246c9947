"""The page cache: one frame per page of a file, shared by every process that maps it.

Owns: the frames holding file pages (keyed by the file's identity — device, inode,
size, modification time — and the page's index), handing them out to address
spaces copy-on-write (``AddressSpace.share``), and dropping the ones no process
maps any more. So libc mapped by fifty processes costs its pages once. The frames of
a run of pages mapped before (an exec's segment, ld.so's mapping of libc) are
remembered, so the next exec of the same file does not look its pages up again.
The machine's RAM bounds it: a mapping whose missing pages do not fit in the free
frames is refused (ENOMEM) before any is taken.
Never: writes a page back (these pages are mapped privately; shared mappings of
files are ``sharedfiles``' objects). Pages no process maps stay cached until the
buddy allocator runs out of frames, which calls ``drop`` (the whole cache of
unmapped pages goes at once: no LRU yet).
Called by: ``sys_mm`` (mmap of a file), ``elf`` (exec's segments) and the machine
(``drop`` when it halts).
"""

from __future__ import annotations

import weakref
from typing import Any

from cloudos.errno import Errno, KernelError
from cloudos.kernel.boot import Kernel
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.vm import EXEC, WRITE, AddressSpace
from cloudos.linux.aspace import LinuxAddressSpace
from cloudos.linux.sharedfiles import SharedFiles

FileId = tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns
RUN_PAGES_MAX = 1 << 18  # pages the remembered runs name at most (2 MiB of their lists)
EAGER_COPY_MAX = 16 * PAGE_SIZE  # a writable private mapping this small is copied at once


class PageCache:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.pages: dict[tuple[FileId, int], int] = {}
        # the frames of runs of pages mapped before, by (file, first page, pages), and
        # how many they name (at most RUN_PAGES_MAX: they are forgotten all at once)
        self.runs: dict[tuple[FileId, int, int], list[int]] = {}
        self.run_pages = 0
        kernel.frames.reclaim = self.drop  # out of frames: the pages nobody maps go first
        self.shared = SharedFiles(kernel)  # MAP_SHARED mappings of files
        self.sysv: Any = None  # System V shared memory segments (linux/sysvshm.py)
        self.private_copies = 0  # private mappings of shared-mapped files, numbered

    def map(self, aspace: AddressSpace, start: int, file: FileId, offset: int,
            data: bytes | memoryview) -> None:
        """Map ``data`` (the file from ``offset``, page-aligned) at ``start``, sharing pages;
        ENOMEM, with nothing mapped, when the machine has no room for the pages it lacks.
        A run of pages mapped before (an exec of the same file) is not looked up again.

        A small writable private mapping (a program's or a library's data segment: the
        loader writes every page of it at once, relocating) gets private copies now,
        rather than the cache's pages copy-on-write: a page fault each saved."""
        vma = aspace.find(start)
        if vma is not None and vma.prot & WRITE and not vma.prot & EXEC \
                and not vma.shared and 0 < len(data) <= EAGER_COPY_MAX:
            if isinstance(aspace, LinuxAddressSpace):
                aspace.fill(start, data, (len(data) + PAGE_SIZE - 1) // PAGE_SIZE)
            else:
                aspace.copy_out(start, data)
            return
        run = (file, offset // PAGE_SIZE, (len(data) + PAGE_SIZE - 1) // PAGE_SIZE)
        frames, filled = self.runs.get(run), False
        if frames is None:
            frames, filled = self._fill(file, offset, data)
            self.run_pages += len(frames)
            if self.run_pages > RUN_PAGES_MAX:  # (a guest mapping ever new ranges)
                self.runs.clear()
                self.run_pages = len(frames)
            self.runs[run] = frames
        if isinstance(aspace, LinuxAddressSpace):
            aspace.share_run(start, frames)
        else:
            for index, frame in enumerate(frames):
                aspace.share(start + index * PAGE_SIZE, frame)
        if filled and vma is not None and vma.prot & 4:
            # A new frame holds code: the CPU may have translations of what it held before.
            # Pages found in the cache keep theirs, which are still right: no flush.
            self.kernel.cpu.invalidate_code()

    def _fill(self, file: FileId, offset: int,
              data: bytes | memoryview) -> tuple[list[int], bool]:
        """The frames of ``data``'s pages, the missing ones read into new frames (then
        the flag is true)."""
        self._reserve(file, offset, len(data))
        frames, filled = [], False
        for done in range(0, len(data), PAGE_SIZE):
            key = (file, (offset + done) // PAGE_SIZE)
            frame = self.pages.get(key)
            if frame is None:
                frame = self.kernel.frames.alloc(0)
                page = bytes(data[done:done + PAGE_SIZE])
                self.kernel.ram.write(frame, page.ljust(PAGE_SIZE, b"\0"))
                self.pages[key] = frame
                filled = True
            frames.append(frame)
        return frames, filled

    def _missing(self, file: FileId, offset: int, length: int) -> int:
        first = offset // PAGE_SIZE
        return sum(1 for index in range(first, first + (length + PAGE_SIZE - 1) // PAGE_SIZE)
                   if (file, index) not in self.pages)

    def _reserve(self, file: FileId, offset: int, length: int) -> None:
        """ENOMEM unless the frames for the pages not cached yet are free, once the cache
        has given back what nobody maps: a mapping never takes the machine's last frames
        half-way (the guest's RAM bounds what a file mapping holds)."""
        frames = self.kernel.frames
        if self._missing(file, offset, length) * PAGE_SIZE <= frames.free_bytes:
            return
        self.drop()
        if self._missing(file, offset, length) * PAGE_SIZE > frames.free_bytes:
            raise KernelError(Errno.ENOMEM, "no room in RAM for the file's pages")

    def drop(self) -> int:
        """Free the pages no address space maps; return how many."""
        refs = self.kernel.frame_refs
        unused = [key for key, frame in self.pages.items() if frame not in refs]
        if unused:
            self.runs.clear()  # they may name the frames freed here
            self.run_pages = 0
        for key in unused:
            self.kernel.frames.free(self.pages.pop(key), 0)
        return len(unused)


_caches: weakref.WeakKeyDictionary[Any, PageCache] = weakref.WeakKeyDictionary()


def cache_of(kernel: Any) -> PageCache:
    """The page cache of ``kernel``'s machine (made at its first use)."""
    cache = _caches.get(kernel)
    if cache is None:
        cache = _caches[kernel] = PageCache(kernel)
    return cache


def collect_shared(kernel: Any) -> None:
    """An address space let go of its mappings: free the shared file objects nobody maps."""
    cache = cache_of(kernel)
    if cache.shared.files:
        cache.shared.collect()
    if cache.sysv is not None and cache.sysv.by_id:
        cache.sysv.collect()
