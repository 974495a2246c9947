"""Linux address spaces: the kernel's ``AddressSpace`` with its page-table work done a
table at a time.

Owns: the three operations a fork+exec+exit does to every page of a process —
fork's copy-on-write duplicate, the release of a range (munmap, exec's and exit's
teardown) and the mapping of a run of page-cache frames (an exec's or an mmap's
file pages) — done on each leaf page table's 512 entries at once by the C loops of
``_leaves.c``, instead of a walk from the root per page; and the frames' owner
counts (``FrameRefs``: the kernel's refs mapping as an array those loops index).
The result is exactly what the kernel's per-page methods leave (the same entries,
reference counts, resident count and TLB flushes: tests/linux/test_aspace.py
compares the two), like seL4's fast path beside its slow path. Faults, VMAs and
user access stay the kernel's.
Never: decides what is mapped (the callers do) or keeps state of its own.
Called by: ``process.load_program`` (every program's address space is one),
``sys_fork`` (through ``fork``), ``pagecache`` (``share_run``) and the personality
(``install_frame_refs``, at boot).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, MutableMapping
from itertools import compress
from operator import attrgetter
import weakref
from typing import Any, Callable

from cloudos.abi.dataclass import fields
from cloudos.errno import Errno, KernelError
from cloudos.linux import _leaves  # type: ignore[attr-defined]
from cloudos.hal.ram import PhysicalMemory
from cloudos.kernel.boot import Kernel
from cloudos.kernel.mm.buddy import PAGE_SIZE, BuddyAllocator
from cloudos.kernel.mm.pagetable import COW, FRAME_MASK, PRESENT, USER, WRITABLE, Pte
from cloudos.kernel.mm.vm import (EXEC, PAGE_MASK, USER_END, WRITE, AddressSpace, Prot, Vma,
                                  page_align)

DIRTY = int(Pte.DIRTY)
ENTRIES = 512          # entries in one page table
LEAF_SPAN = ENTRIES * PAGE_SIZE  # the addresses one leaf table maps: 2 MiB
LEAF_SHIFT = 21        # a PD entry points to the leaf table of 1 << 21 bytes
CHILD_WRITES = 4  # pages a fork copies at once because the last child wrote them first
_VMA_FIELDS = attrgetter(*(f.name for f in fields(Vma)))  # a VMA's fields, in order
_VMA_START = attrgetter("start")


class FrameRefs(MutableMapping[int, int]):
    """The kernel's owner counts of shared frames (``AddressSpace.refs``: frame ->
    owners, a frame with one owner has no entry) kept as one array that ``_leaves.c``
    indexes: per frame number, its owners beyond the first. The Linux personality
    installs it as ``Kernel.frame_refs`` before any address space exists."""

    def __init__(self, ram_size: int) -> None:
        # (a repeated one-element array: array("I", bytes(...)) converts word by word,
        # ~2.8 ms per GiB of RAM at every boot, against ~0.04 ms)
        self.counts = array("I", [0]) * (ram_size >> 12)
        assert self.counts.itemsize == 4, "_leaves.c counts in 32-bit words"

    def _extra(self, frame: int) -> int:
        """The owners of ``frame`` beyond the first (0 for what is not a frame of RAM)."""
        index = frame >> 12
        if frame & (PAGE_SIZE - 1) or not 0 <= index < len(self.counts):
            return 0
        return self.counts[index]

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and bool(self._extra(frame))

    def get(self, frame: int, default: Any = None) -> Any:
        extra = self._extra(frame)
        return extra + 1 if extra else default

    def __getitem__(self, frame: int) -> int:
        extra = self._extra(frame)
        if not extra:
            raise KeyError(frame)
        return extra + 1

    def __setitem__(self, frame: int, owners: int) -> None:
        if frame & (PAGE_SIZE - 1) or not 0 <= frame >> 12 < len(self.counts) or owners < 2:
            raise ValueError(f"frame {frame:#x}: {owners} owners")  # (one owner: no entry)
        self.counts[frame >> 12] = owners - 1

    def __delitem__(self, frame: int) -> None:
        if not self._extra(frame):
            raise KeyError(frame)
        self.counts[frame >> 12] = 0

    def __iter__(self) -> Iterator[int]:
        return (index << 12 for index in compress(range(len(self.counts)), self.counts))

    def __len__(self) -> int:
        return len(self.counts) - self.counts.count(0)


class LinuxAddressSpace(AddressSpace):
    """An address space whose fork, release and file mapping work per leaf table.

    ``forget`` (the KVM CPU's ``forget_frames``, or None) replaces the TLB flush after
    entries shrink or go (munmap, mprotect, a copy-on-write page copied for the kernel's
    own write): told the frames those entries held, it makes the CPU drop what it
    cached of them alone (False: it could not, and the flush follows as before).
    """

    refs: FrameRefs  # (the kernel's mapping, as the array the C loops index)
    forget: Callable[[list[int]], bool] | None = None
    # a fork's: the space it was forked from, which learns the pages it writes first
    forked_from: Callable[[], LinuxAddressSpace | None] | None = None
    child_writes: tuple[int, ...] = ()  # pages the children wrote first, the last CHILD_WRITES

    def __init__(self, ram: PhysicalMemory, frames: BuddyAllocator, kernel_entry: int,
                 on_flush: Callable[[int], None], on_code: Callable[[], None],
                 refs: FrameRefs) -> None:
        if not isinstance(refs, FrameRefs):
            raise TypeError(f"owner counts in a {type(refs).__name__}, not a FrameRefs")
        super().__init__(ram, frames, kernel_entry, on_flush, on_code, refs)

    def user_frame(self, va: int, write: bool, force: bool = False) -> int:
        """The kernel's ``user_frame`` (every system call's translation of a user
        address), its common case in one call: the page's entry read from its leaf
        table, found in ``PageTables.leaves``, instead of ``walk``'s two calls. Whatever
        that entry does not allow at once (absent, not the user's, a write to a page
        not writable) is the kernel's to decide, as before."""
        leaf = self.pt.leaves.get(va >> LEAF_SHIFT) if va < USER_END else None
        if leaf is not None:
            pte = self.ram.words[leaf + ((va >> 12) & 511)]
            if pte & USER and (pte & WRITABLE or not write):
                return pte & FRAME_MASK
        return super().user_frame(va, write, force)

    # -- the leaf tables ----------------------------------------------------------
    def _leaves(self, start: int, end: int) -> list[tuple[int, int]]:
        """(word index in RAM of the leaf table, address its entry 0 maps) of every
        leaf table that exists over [start, end), in address order: the page tables
        remember every leaf table they made (``PageTables.leaves``: a table is made
        only through that cache and freed only with all the others), so no descent
        from the root reads the upper tables."""
        if end <= start:
            return []
        low, high = start >> LEAF_SHIFT, (end - 1) >> LEAF_SHIFT
        leaves = self.pt.leaves
        return [(leaves[key], key << LEAF_SHIFT) for key in sorted(leaves)
                if low <= key <= high]

    def _leaf_table(self, va: int) -> int:
        """Word index of the leaf table that maps ``va``, made if missing."""
        return self.pt._leaf_slot(va, True) - ((va >> 12) & (ENTRIES - 1))

    # -- user copies ----------------------------------------------------------------
    def user_runs(self, va: int, length: int, write: bool,
                  force: bool = False) -> list[tuple[int, int]]:
        """[va, va+length) of user memory as (physical address, size) runs of contiguous
        frames, in order: each leaf table's entries are read as one slice, and a page
        whose entry does not allow the access goes through ``user_frame`` (populated,
        COW broken, or EFAULT), exactly as the kernel's per-page copies do."""
        runs, error = self._runs(va, length, write, force)
        if error is not None:
            raise error
        return runs

    def _runs(self, va: int, length: int, write: bool,
              force: bool) -> tuple[list[tuple[int, int]], KernelError | None]:
        """``user_runs``, and the error of the first page refused: the runs before it."""
        if length <= 0:
            return [], None
        end = va + length
        if va < 0 or end > USER_END:
            return [], KernelError(Errno.EFAULT, f"user range {va:#x}+{length:#x}")
        words, pt = self.ram.words, self.pt
        need = USER | WRITABLE if write else USER
        runs: list[tuple[int, int]] = []
        start = last = -1  # the run being built: [start, last)
        offset = va & (PAGE_SIZE - 1)
        page = va - offset
        while page < end:
            first = (page >> 12) & (ENTRIES - 1)
            count = min(ENTRIES - first, ((end - 1 - page) >> 12) + 1)
            slot = pt._leaf_slot(page, False)
            entries = words[slot:slot + count].tolist() if slot >= 0 else [0] * count
            for pte in entries:
                if pte & need == need:
                    frame = pte & FRAME_MASK
                else:
                    try:
                        frame = self.user_frame(page, write, force)
                    except KernelError as err:
                        if start >= 0:
                            runs.append((start, last - start))
                        return runs, err
                size = min(PAGE_SIZE - offset, end - page - offset)
                phys = frame + offset
                if phys != last:
                    if start >= 0:
                        runs.append((start, last - start))
                    start = phys
                last = phys + size
                offset = 0
                page += PAGE_SIZE
        runs.append((start, last - start))
        return runs, None

    def copy_in(self, va: int, length: int) -> bytes:
        """Read ``length`` bytes of user memory: one slice of RAM per run of frames."""
        if length <= 0:
            return b""
        ram = self.ram.bytes
        if (va & (PAGE_SIZE - 1)) + length <= PAGE_SIZE:  # the common case: one page
            phys = self.user_frame(va, False) + (va & (PAGE_SIZE - 1))
            return bytes(ram[phys:phys + length])
        runs = self.user_runs(va, length, False)
        if len(runs) == 1:
            phys, size = runs[0]
            return bytes(ram[phys:phys + size])
        return b"".join([ram[phys:phys + size] for phys, size in runs])

    def copy_out(self, va: int, data: bytes | bytearray | memoryview, force: bool = False) -> None:
        """Write ``data`` into user memory (``force``: the loader, even into code), one
        slice assignment per run of frames."""
        ram, done, offset = self.ram.bytes, 0, va & (PAGE_SIZE - 1)
        if not force and 0 <= va and 0 < len(data) <= PAGE_SIZE - offset:  # within one page
            phys = self.user_frame(va, True) + offset
            ram[phys:phys + len(data)] = data
            return
        runs, error = self._runs(va, len(data), True, force)
        for phys, size in runs:  # (up to a page refused: as the kernel's copy, page by page)
            ram[phys:phys + size] = data[done:done + size]
            done += size
        if error is not None:
            raise error
        vma = self.find(va) if force and data else None
        if vma is not None and vma.prot & EXEC:
            self.on_code()  # the CPU may hold translations of what these frames held before

    # -- VMAs -------------------------------------------------------------------
    def remove(self, start: int, length: int) -> None:
        """The kernel's ``remove``, skipped when no VMA is there: the common case (every
        mapping of an exec, a growing heap), where it would cut nothing at the price of
        four searches."""
        if self.overlaps(start, start + page_align(length)):
            super().remove(start, length)

    def _merge(self, vma: Vma) -> Vma:
        """The kernel's ``_merge``, skipped when no neighbour touches ``vma`` with its
        protection (an ELF image's segments touch, with other rights), since only such
        a neighbour can join it."""
        vmas = self.vmas
        i = bisect_left(vmas, vma.start, key=_VMA_START)
        before = vmas[i - 1] if i else None
        after = vmas[i + 1] if i + 1 < len(vmas) else None
        if (before is None or before.end != vma.start or before.prot != vma.prot) \
                and (after is None or after.start != vma.end or after.prot != vma.prot):
            return vma
        return super()._merge(vma)

    # -- release ----------------------------------------------------------------
    def _release(self, start: int, end: int) -> None:
        """Unmap every page of [start, end) and give up its frame (the kernel's
        ``_release``, one call of ``_leaves.release`` per leaf table)."""
        words, counts, freed = self.ram.words, self.refs.counts, 0
        free: list[int] = []
        gone: list[int] | None = None if self.forget is None else []
        for table, base in self._leaves(start, end):
            first = max(0, (start - base) >> 12)
            last = min(ENTRIES, (end - base + PAGE_SIZE - 1) >> 12)
            freed += _leaves.release(words, table + first, last - first, counts, free, gone)
        for frame in free:
            self.frames.free(frame, 0)
        if freed:
            self.resident -= freed
            if gone is None or self.forget is None or not self.forget(gone):
                self.on_flush(self.pt.root)

    def destroy(self) -> None:
        """The kernel's ``destroy``, then a flush even when ``forget`` took the pages: the
        frames of the page tables are free now, and KVM's shadow of a table must not
        outlive it (a frame that is a page table again would find its old shadow).
        Neither where the CPU keeps the tables' frames from new tables until it next
        drops its shadow tables (KVM's ``table_frames``): what it built of this space
        can only be reached through this space's tables, which nothing loads again and
        no new table sits in before then, so its pages need no forgetting either."""
        if self.forget is not None and self.pt.frames is not self.frames:
            on_flush, forget = self.on_flush, self.forget
            self.on_flush, self.forget = _no_flush, None
            try:
                super().destroy()
            finally:
                self.on_flush, self.forget = on_flush, forget
            return
        super().destroy()
        if self.forget is not None:
            self.on_flush(self.pt.root)

    def protect(self, start: int, length: int, prot: Prot) -> None:
        """The kernel's ``protect``; with ``forget``, only the frames of the range are
        dropped from the CPU's caches instead of a flush."""
        forget = self.forget
        if forget is None:
            super().protect(start, length, prot)
            return
        frames = [pte & FRAME_MASK for _, pte in self.pt.mapped(start, start + page_align(length))]
        self._unflushed(lambda: super(LinuxAddressSpace, self).protect(start, length, prot),
                        frames)

    def _break_cow(self, va: int, pte: int) -> int:
        """The kernel's ``_break_cow``; with ``forget``, only the old frame is dropped
        (none when the page was this space's alone: it only became writable). A fork's
        copy tells the space it was forked from (its next fork copies that page at once)."""
        parent = self.forked_from() if self.forked_from is not None else None
        if parent is not None and va & PAGE_MASK not in parent.child_writes:
            parent.child_writes = (*parent.child_writes[1 - CHILD_WRITES:], va & PAGE_MASK)
        if self.forget is None:
            return super()._break_cow(va, pte)
        result: list[int] = []
        old = pte & FRAME_MASK
        self._unflushed(lambda: result.append(super(LinuxAddressSpace, self)._break_cow(va, pte)),
                        [old] if old in self.refs else [])
        return result[0]

    def _unflushed(self, work: Callable[[], object], frames: list[int]) -> None:
        """Run ``work`` (a kernel method that flushes when done) with the flush held
        back; then forget ``frames``, or flush if that cannot be done."""
        flushes: list[int] = []
        on_flush, self.on_flush = self.on_flush, flushes.append
        try:
            work()
        finally:
            self.on_flush = on_flush
        if flushes and not (self.forget is not None and self.forget(frames)):
            on_flush(self.pt.root)

    # -- fork -------------------------------------------------------------------
    def fork(self, copied: tuple[int, ...] = ()) -> LinuxAddressSpace:
        """A copy-on-write duplicate (the kernel's ``fork``): the pages of shared VMAs
        are shared writable, every other writable page turns read-only COW in both.

        The pages at ``copied`` (the caller's stack top: the first thing the child
        writes), and those the last child wrote first (``child_writes``), that are this
        space's alone and writable are copied for the child at once instead, and are
        writable here: the fault each side would take on its first write is saved
        (Linux copies a page at fork too, when it may be pinned: copy_present_page).
        What either side reads or writes is the same."""
        private: list[tuple[int, int]] = []
        for va in (*copied, *self.child_writes):
            page = va & PAGE_MASK
            pte = self.pt.walk(page) if 0 <= va < USER_END else 0
            if not pte & (WRITABLE | COW) or pte & FRAME_MASK in self.refs \
                    or any(page == done for done, _ in private):
                continue  # (a page another space shares stays copy-on-write)
            vma = self.find(page)
            if vma is not None and vma.prot & WRITE and not vma.shared:
                private.append((page, (pte & ~COW) | WRITABLE))
        copies = self._frames_for(len(private))
        child: LinuxAddressSpace | None = None
        try:
            child = LinuxAddressSpace(self.ram, self.frames, self.kernel_entry, self.on_flush,
                                      self.on_code, self.refs)
            child.pt.frames = self.pt.frames  # (its tables' frames: new_aspace)
            shared = self._populate_shared()
            tables = self._child_tables(child)
        except KernelError:
            # Out of frames: this space is as it was (but for pages of shared memory it
            # had to have now, which read zero as before), the child's tables go back.
            if child is not None:
                child.destroy()
            for frame in copies:
                self.frames.free(frame, 0)
            raise
        child.forget = self.forget
        child.forked_from = weakref.ref(self)
        child.vmas = [Vma(*_VMA_FIELDS(v)) for v in self.vmas]
        child.brk_start, child.brk, child.mmap_top, child.stack_top = \
            self.brk_start, self.brk, self.mmap_top, self.stack_top
        child.resident = self.resident
        words, counts = self.ram.words, self.refs.counts
        for table, base, count, target in tables:
            keep = [(max(0, (s - base) >> 12), min(count, (e - base + PAGE_SIZE - 1) >> 12))
                    for s, e in shared if s < base + LEAF_SPAN and e > base]
            _leaves.fork(words, table, target, count, counts, keep)
        for (page, pte), frame in zip(private, copies):  # the child's copy; the page is
            self.ram.copy(frame, pte & FRAME_MASK, PAGE_SIZE)  # this space's alone again
            child.pt.set_entry(page, frame | (pte & ~FRAME_MASK))
            self.pt.set_entry(page, pte)
            del self.refs[pte & FRAME_MASK]
        self.on_flush(self.pt.root)
        return child

    def _populate_shared(self) -> list[tuple[int, int]]:
        """The ranges of the shared VMAs, every page of them present: both sides of a
        fork must see the same pages (ENOMEM when there is no frame for one)."""
        shared = [(v.start, v.end) for v in self.vmas if v.shared]
        for start, end in shared:
            vma = self.find(start)
            assert vma is not None
            for va in range(start, end, PAGE_SIZE):
                if not self.pt.walk(va) & PRESENT:
                    self._populate(va, vma)
        return shared

    def _child_tables(self, child: LinuxAddressSpace) -> list[tuple[int, int, int, int]]:
        """(table, address its entry 0 maps, entries, the child's table) of every leaf
        table with a present entry, the child's made now: all of fork's allocations come
        before it changes an entry (ENOMEM, the child's tables to be destroyed)."""
        words, out = self.ram.words, []
        for table, base in self._leaves(0, USER_END):
            count = min(ENTRIES, (USER_END - base) >> 12)
            if _leaves.present(words, table, count):
                out.append((table, base, count, child._leaf_table(base)))
        return out

    def _frames_for(self, count: int) -> list[int]:
        """``count`` free frames for fork's early copies, taken before anything changes;
        none when memory is short (the pages are then copied on write, as any other)."""
        try:
            return self._take_frames(count)
        except KernelError:
            return []

    def _take_frames(self, count: int) -> list[int]:
        """``count`` free frames, all or none: ENOMEM (none kept) when memory is short."""
        taken: list[int] = []
        try:
            for _ in range(count):
                taken.append(self.frames.alloc(0))
        except KernelError:
            for frame in taken:
                self.frames.free(frame, 0)
            raise
        return taken

    # -- file pages ---------------------------------------------------------------
    def share_run(self, start: int, frames: list[int], cow: bool = True) -> None:
        """Map ``frames`` at ``start``, one page each, inside one VMA: each is kept by
        another owner (the kernel's ``share`` for a run of pages)."""
        vma = self.find(start)
        assert vma is not None and start + len(frames) * PAGE_SIZE <= vma.end, \
            f"{start:#x}+{len(frames)} pages outside one VMA"
        flags = vma.pte_flags()
        if cow and flags & WRITABLE:
            flags = flags & ~WRITABLE | COW
        self._map_run(start, frames, flags | PRESENT, self.refs.counts)

    def fill(self, start: int, data: bytes | memoryview, pages: int) -> None:
        """Give the ``pages`` pages from ``start`` (inside one VMA that may be written)
        frames of their own now, holding ``data`` and zeros after it: what the kernel's
        copy into absent pages leaves, a run at a time, without zeroing the bytes the
        copy replaces (an exec's data and bss, which the program writes at once).
        ENOMEM, with nothing changed, when the frames are not there."""
        vma = self.find(start)
        assert vma is not None and not start & (PAGE_SIZE - 1) and vma.prot & WRITE \
            and start + pages * PAGE_SIZE <= vma.end and len(data) <= pages * PAGE_SIZE, \
            f"{start:#x}+{pages} pages outside one writable VMA"
        words, end, present = self.ram.words, start + pages * PAGE_SIZE, 0
        va = start
        while va < end:  # the tables first, as the kernel's copy makes them
            first = (va >> 12) & (ENTRIES - 1)
            count = min(ENTRIES - first, (end - va) >> 12)
            present += _leaves.present(words, self._leaf_table(va) + first, count)
            va += count * PAGE_SIZE
        if present:  # (a page there already: the kernel's copy, page by page)
            self.copy_out(start, bytes(data).ljust(pages * PAGE_SIZE, b"\0"), force=True)
            return
        frames = self._take_frames(pages)
        ram = self.ram
        for index, frame in enumerate(frames):
            chunk = data[index * PAGE_SIZE:(index + 1) * PAGE_SIZE]
            if len(chunk) == PAGE_SIZE:
                ram.bytes[frame:frame + PAGE_SIZE] = chunk
            else:
                ram.zero(frame, PAGE_SIZE)
                ram.bytes[frame:frame + len(chunk)] = chunk
        # dirty too (they hold the copy, or will be written: a fault-around's memset), so
        # that a shadow MMU maps them ahead writable (vm.Vma.pte_flags)
        self._map_run(start, frames, vma.pte_flags() | PRESENT | DIRTY, None)
        if vma.prot & EXEC:
            self.on_code()  # the CPU may hold translations of what these frames held before

    def _map_run(self, start: int, frames: list[int], entry_flags: int,
                 counts: array[int] | None) -> None:
        """Map ``frames`` at ``start``, each an entry of ``entry_flags``, the pages absent
        until now; each frame gains an owner in ``counts`` (None: new frames)."""
        words = self.ram.words
        done = 0
        while done < len(frames):
            va = start + done * PAGE_SIZE
            first = (va >> 12) & (ENTRIES - 1)
            count = min(ENTRIES - first, len(frames) - done)
            table = self._leaf_table(va)
            mapped = _leaves.share(words, table + first, frames[done:done + count],
                                   entry_flags, counts)
            assert mapped, f"a page of {va:#x}+{count} pages already mapped"
            done += count
        self.resident += len(frames)


def install_frame_refs(kernel: Kernel) -> None:
    """Make ``kernel``'s owner counts a ``FrameRefs`` (the Linux personality, at boot:
    before any address space holds the kernel's first mapping)."""
    assert not kernel.frame_refs and not kernel.processes, "frames shared already"
    kernel.frame_refs = FrameRefs(kernel.ram.size)


def _no_flush(_root: int) -> None:
    """A flush that is not needed (``LinuxAddressSpace.destroy``)."""


def new_aspace(kernel: Kernel) -> LinuxAddressSpace:
    """An empty address space for a program (``Kernel.new_aspace``, this class)."""
    refs = kernel.frame_refs
    if not isinstance(refs, FrameRefs):
        raise TypeError("the kernel's owner counts are not a FrameRefs (install_frame_refs)")
    aspace = LinuxAddressSpace(kernel.ram, kernel.frames, kernel.kernel_entry,
                               kernel.cpu.flush_tlb, kernel.cpu.invalidate_code, refs)
    aspace.forget = getattr(kernel.cpu, "forget_frames", None)
    tables = getattr(kernel.cpu, "table_frames", None)
    if tables is not None:  # (KVM: frames of gone tables kept until its next zap)
        aspace.pt.frames = tables(kernel.frames)
    return aspace
