"""What each mapping of an address space maps: the file's path, offset and identity.

Owns: per address space, the ranges mmap, mremap and the ELF loader mapped, each with
the file behind it (path, offset of the range's first byte, st_dev, st_ino) or none
(anonymous memory), newest first. The kernel's VMAs hold a short name only; this is
what /proc/<pid>/maps shows beside each VMA: the newest range that covers the VMA's
start says what the VMA maps, and at which file offset (VMAs split and merge in the
kernel; the file offset of any address of a range follows from the range's).
Never: decides anything about memory (the kernel's VMAs do).
Called by: elf (segments), sys_mm (mmap, munmap, mremap), sys_fork (fork copies, exec
starts anew), the machine's ProcView.
"""

from __future__ import annotations

import weakref

from cloudos.abi.dataclass import dataclass, replace
from cloudos.kernel.mm.vm import AddressSpace, Vma


@dataclass(frozen=True)
class Backing:
    """[start, end) maps ``path`` from ``offset`` (path None: anonymous memory)."""

    start: int
    end: int
    path: bytes | None
    offset: int = 0
    dev: int = 0
    ino: int = 0


_ranges: weakref.WeakKeyDictionary[AddressSpace, list[Backing]] = weakref.WeakKeyDictionary()


def _of(aspace: AddressSpace) -> list[Backing]:
    ranges = _ranges.get(aspace)
    if ranges is None:
        ranges = _ranges[aspace] = []
    return ranges


def record(aspace: AddressSpace, start: int, size: int, path: bytes | None, offset: int = 0,
           dev: int = 0, ino: int = 0) -> None:
    """[start, start + size) now maps ``path`` from ``offset`` (None: anonymous)."""
    end = start + size
    ranges = _of(aspace)
    ranges[:] = [b for b in ranges if not start <= b.start < b.end <= end]  # hidden
    ranges.insert(0, Backing(start, end, path, offset, dev, ino))


def forget(aspace: AddressSpace, start: int, size: int) -> None:
    """munmap: the ranges wholly inside [start, start + size) are gone."""
    end = start + size
    ranges = _of(aspace)
    ranges[:] = [b for b in ranges if not start <= b.start < b.end <= end]


def backing(aspace: AddressSpace, address: int) -> Backing | None:
    """The newest range holding ``address``, its offset moved to ``address``."""
    for b in _ranges.get(aspace, ()):
        if b.start <= address < b.end:
            return replace(b, start=address, offset=b.offset + address - b.start)
    return None


def moved(aspace: AddressSpace, old: int, new: int, size: int) -> None:
    """mremap moved [old, old + size) to ``new``: it maps what it mapped."""
    b = backing(aspace, old)
    if b is not None:
        record(aspace, new, size, b.path, b.offset, b.dev, b.ino)


def grown(aspace: AddressSpace, start: int, at: int, size: int) -> None:
    """mremap grew the mapping at ``start`` in place by [at, at + size): the file goes on."""
    b = backing(aspace, start)
    if b is not None:
        record(aspace, at, size, b.path, b.offset + at - start, b.dev, b.ino)


def fork(parent: AddressSpace, child: AddressSpace) -> None:
    _ranges[child] = list(_ranges.get(parent, ()))


Piece = tuple[int, int, str, int, int, int]  # start, end, name, offset, st_dev, st_ino


def describe(aspace: AddressSpace, vma: Vma) -> list[Piece]:
    """What /proc/<pid>/maps shows of ``vma``: one line per stretch of one mapping (the
    kernel merges neighbouring VMAs alike in protection, as a library's first segment
    and the file mapped just below it), each named by its file's path and offset, or
    [heap], [stack], [vvar], [vdso], or nothing for anonymous memory."""
    if vma.name in ("[heap]", "[stack]", "[vvar]", "[vdso]"):
        return [(vma.start, vma.end, vma.name, 0, 0, 0)]
    cuts = sorted({vma.start, vma.end} | {edge for b in _ranges.get(aspace, ())
                                         for edge in (b.start, b.end)
                                         if vma.start < edge < vma.end})
    pieces: list[Piece] = []
    for start, end in zip(cuts, cuts[1:]):
        b = backing(aspace, start)
        name, offset, dev, ino = ("", 0, 0, 0) if b is None or b.path is None else \
            (b.path.decode(errors="surrogateescape"), b.offset, b.dev, b.ino)
        if pieces:
            first, _, was, at, was_dev, was_ino = pieces[-1]
            if (was, was_dev, was_ino) == (name, dev, ino) \
                    and (not name or at + start - first == offset):
                pieces[-1] = (first, end, name, at, dev, ino)  # one mapping goes on
                continue
        pieces.append((start, end, name, offset, dev, ino))
    return pieces
