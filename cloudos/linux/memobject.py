"""Memory objects: pages that exist apart from any process that maps them.

Owns: a set of frames, pages [0, n) of the object, held in an address space
of its own (the object's shadow, page i at ``OBJECT_BASE + i * PAGE_SIZE``), so
they live on while no process maps them; mapping them into a process without
copy-on-write, so every mapper sees every write; telling whether any process
still maps them.
Never: decides what the pages mean (a file's shared mapping in
``sharedfiles``, a System V segment in ``sysvshm``) or when they go.
Called by: ``sharedfiles`` and ``sysvshm``.
"""

from __future__ import annotations

from typing import Any

from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.pagetable import FRAME_MASK
from cloudos.kernel.mm.vm import AddressSpace, Prot

OBJECT_BASE = 0x10000  # where page 0 sits in the shadow address space


class MemoryObject:
    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.shadow: AddressSpace = kernel.new_aspace()
        self.pages = 0

    def grow(self, pages: int, data: bytes = b"") -> None:
        """Add pages [self.pages, pages): ``data`` (from page 0) fills them, zeros the rest."""
        if pages <= self.pages:
            return
        base, length = OBJECT_BASE + self.pages * PAGE_SIZE, (pages - self.pages) * PAGE_SIZE
        self.shadow.add(base, length, Prot.READ | Prot.WRITE, "object", shared=True)
        fill = data[self.pages * PAGE_SIZE:pages * PAGE_SIZE]
        self.shadow.copy_out(base, fill.ljust(length, b"\0"))  # every page gets its frame
        self.pages = pages
        self.kernel.cpu.invalidate_code()  # new frames may be run: drop what they held before

    def frame(self, index: int) -> int:
        return self.shadow.pt.walk(OBJECT_BASE + index * PAGE_SIZE) & FRAME_MASK

    def frames(self) -> list[int]:
        return [self.frame(index) for index in range(self.pages)]

    def map(self, aspace: AddressSpace, start: int, first: int, count: int) -> None:
        """Map pages [first, first+count) at ``start`` (inside a VMA already there)."""
        for index in range(first, min(self.pages, first + count)):
            aspace.share(start + (index - first) * PAGE_SIZE, self.frame(index), cow=False)

    def mapped(self) -> bool:
        """Whether some process maps a page of the object."""
        refs = self.kernel.frame_refs
        return any(frame in refs for frame in self.frames())

    def read(self) -> bytes:
        return self.shadow.copy_in(OBJECT_BASE, self.pages * PAGE_SIZE)

    def destroy(self) -> None:
        self.shadow.destroy()
