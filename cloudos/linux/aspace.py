"""Linux address spaces: the kernel's ``AddressSpace`` with its page-table work done a
table at a time.

Owns: the three operations a fork+exec+exit does to every page of a process —
fork's copy-on-write duplicate, the release of a range (munmap, exec's and exit's
teardown) and the mapping of a run of page-cache frames (an exec's or an mmap's
file pages) — done on each leaf page table's 512 entries as one slice of RAM,
instead of a walk from the root per page. The result is exactly what the kernel's
per-page methods leave (the same entries, reference counts, resident count and
TLB flushes: tests/linux/test_aspace.py compares the two), like seL4's fast path
beside its slow path. Faults, VMAs and user access stay the kernel's.
Never: decides what is mapped (the callers do) or keeps state of its own.
Called by: ``process.load_program`` (every program's address space is one),
``sys_fork`` (through ``fork``) and ``pagecache`` (``share_run``).
"""

from __future__ import annotations

from array import array
from dataclasses import replace
from itertools import compress
from typing import Callable

from cloudos.errno import Errno, KernelError
from cloudos.kernel.boot import Kernel
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.pagetable import COW, FRAME_MASK, PRESENT, USER, WRITABLE
from cloudos.kernel.mm.vm import EXEC, USER_END, AddressSpace, Prot, page_align

ENTRIES = 512          # entries in one page table
LEAF_SPAN = ENTRIES * PAGE_SIZE  # the addresses one leaf table maps: 2 MiB
LEAF_SHIFT = 21        # a PD entry points to the leaf table of 1 << 21 bytes
TOP_SHIFT = 39         # a PML4 entry covers 1 << 39 bytes
SPARSE = 16  # present entries up to which a table is searched entry by entry
_ZEROS = memoryview(array("Q", bytes(8 * 512)))
_PRESENT_BYTE = bytes(b & PRESENT for b in range(256))  # a low byte -> its PRESENT bit


class LinuxAddressSpace(AddressSpace):
    """An address space whose fork, release and file mapping work per leaf table.

    ``forget`` (the KVM CPU's ``forget_frames``, or None) replaces the TLB flush after
    entries shrink or go (munmap, mprotect, a copy-on-write page copied for the kernel's
    own write): told the frames those entries held, it makes the CPU drop what it
    cached of them alone (False: it could not, and the flush follows as before).
    """

    forget: Callable[[list[int]], bool] | None = None

    # -- the leaf tables ----------------------------------------------------------
    def _leaves(self, start: int, end: int) -> list[tuple[int, int]]:
        """(word index in RAM of the leaf table, address its entry 0 maps) of every
        leaf table that exists over [start, end), in address order."""
        out: list[tuple[int, int]] = []
        self._descend(self.pt.root, TOP_SHIFT, 0, start, end, out)
        return out

    def _descend(self, table: int, shift: int, base: int, start: int, end: int,
                 out: list[tuple[int, int]]) -> None:
        span = 1 << shift
        first = max(0, (start - base) >> shift)
        last = min(ENTRIES, (end - base + span - 1) >> shift)
        words = self.ram.words
        for index in _present(self.ram.bytes, table + 8 * first, table + 8 * last):
            entry = words[(table >> 3) + first + index]
            if entry & PRESENT:
                va = base + ((first + index) << shift)
                if shift == LEAF_SHIFT:
                    out.append(((entry & FRAME_MASK) >> 3, va))
                else:
                    self._descend(entry & FRAME_MASK, shift - 9, va, start, end, out)

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
        ram, done = self.ram.bytes, 0
        length = len(data)
        if not force and 0 < length <= PAGE_SIZE - (va & (PAGE_SIZE - 1)):  # one page
            phys = self.user_frame(va, True) + (va & (PAGE_SIZE - 1))
            ram[phys:phys + length] = data
            return
        runs, error = self._runs(va, length, True, force)
        for phys, size in runs:  # (up to a page refused: as the kernel's copy, page by page)
            ram[phys:phys + size] = data[done:done + size]
            done += size
        if error is not None:
            raise error
        vma = self.find(va) if force and data else None
        if vma is not None and vma.prot & EXEC:
            self.on_code()  # the CPU may hold translations of what these frames held before

    # -- release ----------------------------------------------------------------
    def _release(self, start: int, end: int) -> None:
        """Unmap every page of [start, end) and give up its frame (the kernel's
        ``_release``, one slice per leaf table)."""
        words, freed = self.ram.words, 0
        gone: list[int] = []
        for table, base in self._leaves(start, end):
            first = max(0, (start - base) >> 12)
            last = min(ENTRIES, (end - base + PAGE_SIZE - 1) >> 12)
            present = _present(self.ram.bytes, 8 * (table + first), 8 * (table + last))
            if not present:
                continue
            frames = [words[table + first + index] & FRAME_MASK for index in present]
            words[table + first:table + last] = _ZEROS[:last - first]
            _drop_all(self, frames)
            freed += len(frames)
            gone.extend(frames)
        if freed:
            self.resident -= freed
            if self.forget is None or not self.forget(gone):
                self.on_flush(self.pt.root)

    def destroy(self) -> None:
        """The kernel's ``destroy``, then a flush even when ``forget`` took the pages: the
        frames of the page tables are free now, and KVM's shadow of a table must not
        outlive it (a frame that is a page table again would find its old shadow)."""
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
        (none when the page was this space's alone: it only became writable)."""
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
    def fork(self) -> LinuxAddressSpace:
        """A copy-on-write duplicate (the kernel's ``fork``): the pages of shared VMAs
        are shared writable, every other writable page turns read-only COW in both."""
        child = LinuxAddressSpace(self.ram, self.frames, self.kernel_entry, self.on_flush,
                                  self.on_code, self.refs)
        child.forget = self.forget
        child.vmas = [replace(v) for v in self.vmas]
        child.brk_start, child.brk, child.mmap_top, child.stack_top = \
            self.brk_start, self.brk, self.mmap_top, self.stack_top
        shared = [(v.start, v.end) for v in self.vmas if v.shared]
        for start, end in shared:  # shared memory exists now, so both sides see the same pages
            vma = self.find(start)
            assert vma is not None
            for va in range(start, end, PAGE_SIZE):
                if not self.pt.walk(va) & PRESENT:
                    self._populate(va, vma)
        child.resident = self.resident
        for table, base in self._leaves(0, USER_END):
            self._fork_leaf(child, table, base, shared)
        self.on_flush(self.pt.root)
        return child

    def _fork_leaf(self, child: LinuxAddressSpace, table: int, base: int,
                   shared: list[tuple[int, int]]) -> None:
        """Copy one leaf table into ``child``, marking private writable pages COW."""
        words, refs = self.ram.words, self.refs
        last = min(ENTRIES, (USER_END - base) >> 12)
        present = _present(self.ram.bytes, 8 * table, 8 * (table + last))
        if not present:
            return
        entries = words[table:table + last].tolist()
        overlap = [(s, e) for s, e in shared if s < base + LEAF_SPAN and e > base]
        copied = [0] * last
        changed = False
        for index in present:
            pte = entries[index]
            if pte & WRITABLE and not (overlap and _inside(base + (index << 12), overlap)):
                pte = entries[index] = (pte & ~WRITABLE) | COW
                changed = True
            copied[index] = pte
            frame = pte & FRAME_MASK
            refs[frame] = refs.get(frame, 1) + 1
        if changed:
            words[table:table + last] = array("Q", entries)
        target = child._leaf_table(base)
        words[target:target + last] = array("Q", copied)

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
        flags |= PRESENT
        words, refs = self.ram.words, self.refs
        done = 0
        while done < len(frames):
            va = start + done * PAGE_SIZE
            first = (va >> 12) & (ENTRIES - 1)
            count = min(ENTRIES - first, len(frames) - done)
            table = self._leaf_table(va)
            run = frames[done:done + count]
            assert not any(words[table + first:table + first + count].tolist()), \
                f"a page of {va:#x}+{count} pages already mapped"
            words[table + first:table + first + count] = array("Q", [f | flags for f in run])
            for frame in run:
                refs[frame] = refs.get(frame, 1) + 1
            done += count
        self.resident += len(frames)


def _present(ram: memoryview, start: int, end: int) -> list[int]:
    """Indices of the present entries of the table slots in RAM [start, end): found by
    their low bytes (the PRESENT bit is bit 0) with byte operations in C, since most
    tables hold a handful of entries among 512."""
    marks = ram[start:end].tobytes()[::8].translate(_PRESENT_BYTE)
    if marks.count(1) > SPARSE:
        return list(compress(range(len(marks)), marks))
    out: list[int] = []
    index = marks.find(1)
    while index >= 0:
        out.append(index)
        index = marks.find(1, index + 1)
    return out


def _drop_all(aspace: AddressSpace, frames: list[int]) -> None:
    """Give up one ownership of each of ``frames`` (the kernel's ``_drop``, inlined: it
    runs for every page a process leaves)."""
    refs, free = aspace.refs, aspace.frames.free
    for frame in frames:
        owners = refs.get(frame, 1)
        if owners == 1:
            free(frame, 0)
        elif owners == 2:
            del refs[frame]
        else:
            refs[frame] = owners - 1


def _inside(va: int, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= va < end for start, end in ranges)


def new_aspace(kernel: Kernel) -> LinuxAddressSpace:
    """An empty address space for a program (``Kernel.new_aspace``, this class)."""
    aspace = LinuxAddressSpace(kernel.ram, kernel.frames, kernel.kernel_entry,
                               kernel.cpu.flush_tlb, kernel.cpu.invalidate_code,
                               kernel.frame_refs)
    aspace.forget = getattr(kernel.cpu, "forget_frames", None)
    return aspace
