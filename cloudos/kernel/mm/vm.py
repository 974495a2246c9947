"""Address spaces: the VMAs of one process, its page tables, and its page faults.

Owns: which user virtual ranges exist (VMAs) with which protection, the frames
that back them, demand-zero faults, stack growth into its reserve, and the
kernel's checked access to user memory (``copy_in``/``copy_out``: EFAULT, never a
crash). Never: decides how a fault is reported to a process (the trap path
turns ``SegFault`` into SIGSEGV), or knows Linux flags (the personality
translates mmap/mprotect arguments into ``Prot`` and calls here).
Called by: the trap path (faults), syscall handlers (brk, mmap, ...), the loader.

User layout, after the guide's diagram: program text where the ELF is linked
(position-independent programs at ``PIE_BASE``), the heap (brk) from
``HEAP_BASE``, the mmap area allocated top-down below ``MMAP_TOP``, and the stack
below ``STACK_TOP``, growing down into an 8 MiB reserve, with the unmapped
non-canonical hole above it as the guard zone.
"""

from __future__ import annotations

import bisect
from typing import Callable, MutableMapping

from cloudos.abi.dataclass import dataclass, replace
from cloudos.abi.enums import IntFlag
from cloudos.hal.x86 import PF_FETCH, PF_PRESENT, PF_USER, PF_WRITE
from cloudos.hal.ram import PhysicalMemory
from cloudos.kernel.errno import Errno, KernelError
from cloudos.kernel.mm.buddy import PAGE_SIZE, BuddyAllocator
from cloudos.kernel.mm.pagetable import (ACCESSED, COW, FRAME_MASK, NO_EXECUTE, PRESENT, USER,
                                         WRITABLE, PageTables)

PIE_BASE = 0x0000_5555_5555_4000
HEAP_BASE = 0x0000_7FFF_7000_0000
MMAP_BASE = 0x0000_7FFF_8000_0000
MMAP_TOP = 0x0000_7FFF_E000_0000
STACK_TOP = 0x0000_7FFF_FFFF_F000
STACK_RESERVE = 8 << 20      # RLIMIT_STACK's default
STACK_GUARD_GAP = 256 * PAGE_SIZE  # Linux's stack_guard_gap: no growth within 1 MiB of a mapping
USER_END = 0x0000_7FFF_FFFF_F000  # Linux's TASK_SIZE: the top page below the hole is never user
MMAP_FLOOR = 0x10000          # vm.mmap_min_addr: nothing is ever mapped below
PAGE_MASK = ~(PAGE_SIZE - 1)


class Prot(IntFlag):
    """Access rights of a VMA (the values of Linux's PROT_*)."""

    NONE = 0
    READ = 1
    WRITE = 2
    EXEC = 4


READ, WRITE, EXEC = 1, 2, 4  # Prot as plain ints for the fault path


@dataclass(slots=True)
class Vma:
    """A range [start, end) of user addresses with one protection (Prot bits, as an int)."""

    start: int
    end: int
    prot: int
    name: str = ""
    grows_down: bool = False
    shared: bool = False  # MAP_SHARED: a fork shares its pages instead of copying them

    def pte_flags(self) -> int:
        if not self.prot:  # kept present for the kernel, out of the user's reach
            return NO_EXECUTE
        # Made accessed, as Linux's faults make entries young: a shadow MMU (KVM without
        # hardware paging, as PVM) maps ahead only a fault's accessed neighbours (8 at a
        # time), so a sweep of fresh pages stops there once per 8 pages, not at each
        return (USER | ACCESSED | (WRITABLE if self.prot & WRITE else 0)
                | (0 if self.prot & EXEC else NO_EXECUTE))


class SegFault(Exception):
    """A user access no VMA allows. ``error`` has the bits of x86's page-fault code."""

    def __init__(self, address: int, error: int) -> None:
        super().__init__(f"segfault at {address:x} error {error}")
        self.address, self.error = address, error


def _start(vma: Vma) -> int:
    return vma.start


def page_align(n: int) -> int:
    return (n + PAGE_SIZE - 1) & PAGE_MASK


class AddressSpace:
    """The user half of one process's virtual memory."""

    stack_reserve = STACK_RESERVE  # RLIMIT_STACK: the personality sets it per process

    def __init__(self, ram: PhysicalMemory, frames: BuddyAllocator, kernel_entry: int,
                 on_flush: Callable[[int], None], on_code: Callable[[], None],
                 refs: MutableMapping[int, int] | None = None) -> None:
        # on_flush drops stale TLB entries; on_code drops translated code, since frames
        # the kernel fills with code (not the guest) may hold old translations.
        self.ram, self.frames, self.on_flush, self.on_code = ram, frames, on_flush, on_code
        self.kernel_entry = kernel_entry
        # Owners of frames shared copy-on-write, kernel-wide; a frame absent has one owner.
        self.refs: MutableMapping[int, int] = {} if refs is None else refs
        self.pt = PageTables(ram, frames, kernel_entry)
        self.vmas: list[Vma] = []
        self.brk_start = self.brk = HEAP_BASE
        self.mmap_top, self.stack_top = MMAP_TOP, STACK_TOP  # lowered by ASLR
        self.resident = 0  # pages mapped: for /proc and the profile

    # -- VMAs -----------------------------------------------------------------
    def find(self, va: int) -> Vma | None:
        i = bisect.bisect_right(self.vmas, va, key=_start) - 1
        if i >= 0 and va < self.vmas[i].end:
            return self.vmas[i]
        return None

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.vmas, end, key=_start) - 1
        return i >= 0 and self.vmas[i].end > start

    def add(self, start: int, length: int, prot: Prot, name: str = "",
            grows_down: bool = False, shared: bool = False) -> Vma:
        """Create a VMA over [start, start+length), replacing whatever was there."""
        end = start + page_align(length)
        if start & ~PAGE_MASK or not MMAP_FLOOR <= start < end <= USER_END:
            raise KernelError(Errno.EINVAL, f"range {start:#x}+{length:#x}")
        self.remove(start, end - start)
        vma = Vma(start, end, int(prot), name, grows_down, shared)
        bisect.insort(self.vmas, vma, key=_start)
        return self._merge(vma)

    def _merge(self, vma: Vma) -> Vma:
        """Join ``vma`` with neighbours it continues (a growing heap stays one VMA)."""
        i = self.vmas.index(vma)
        for j in (i + 1, i):
            if 0 < j < len(self.vmas):
                left, right = self.vmas[j - 1], self.vmas[j]
                if left.end == right.start \
                        and replace(left, start=right.start, end=right.end) == right:
                    left.end = right.end
                    del self.vmas[j]
                    vma = left
        return vma

    def _split(self, va: int) -> None:
        """Make ``va`` a VMA boundary."""
        vma = self.find(va)
        if vma is not None and vma.start < va:
            tail = replace(vma, start=va)
            vma.end = va
            bisect.insort(self.vmas, tail, key=_start)

    def _covered(self, start: int, end: int) -> list[Vma]:
        self._split(start)
        self._split(end)
        lo = bisect.bisect_left(self.vmas, start, key=_start)
        hi = bisect.bisect_left(self.vmas, end, key=_start)
        return self.vmas[lo:hi]

    def remove(self, start: int, length: int) -> None:
        """Unmap [start, start+length): VMAs are cut, their frames freed."""
        end = start + page_align(length)
        doomed = self._covered(start, end)
        if not doomed:
            return
        for vma in doomed:
            self.vmas.remove(vma)
        self._release(start, end)

    def _release(self, start: int, end: int) -> None:
        freed = False
        for va, pte in list(self.pt.mapped(start, end)):
            self.pt.unmap(va)
            self._drop(pte & FRAME_MASK)
            self.resident -= 1
            freed = True
        if freed:
            self.on_flush(self.pt.root)

    def _drop(self, frame: int) -> None:
        """Give up one ownership of ``frame``; the last owner frees it."""
        owners = self.refs.get(frame, 1)
        if owners == 1:
            self.frames.free(frame, 0)
        elif owners == 2:
            del self.refs[frame]
        else:
            self.refs[frame] = owners - 1

    def fork(self) -> AddressSpace:
        """A copy-on-write duplicate: every page shared, written pages copied on first write."""
        child = AddressSpace(self.ram, self.frames, self.kernel_entry, self.on_flush,
                             self.on_code, self.refs)
        child.vmas = [replace(v) for v in self.vmas]
        child.brk_start, child.brk, child.mmap_top, child.stack_top = \
            self.brk_start, self.brk, self.mmap_top, self.stack_top
        shared = [v for v in self.vmas if v.shared]
        for vma in shared:  # shared memory exists now, so both sides see the same pages
            for va in range(vma.start, vma.end, PAGE_SIZE):
                if not self.pt.walk(va) & PRESENT:
                    self._populate(va, vma)
        child.resident = self.resident
        refs = self.refs
        for va, pte in list(self.pt.mapped(0, USER_END)):
            if pte & WRITABLE and not any(v.start <= va < v.end for v in shared):
                pte = (pte & ~WRITABLE) | COW
                self.pt.set_entry(va, pte)
            frame = pte & FRAME_MASK
            child.pt.map(va, frame, pte & ~(FRAME_MASK | PRESENT))
            refs[frame] = refs.get(frame, 1) + 1
        self.on_flush(self.pt.root)
        return child

    def _break_cow(self, va: int, pte: int) -> int:
        """Make the COW page at ``va`` private and writable; return its frame."""
        frame = pte & FRAME_MASK
        flags = (pte & ~(FRAME_MASK | COW)) | WRITABLE
        if frame in self.refs:
            private = self.frames.alloc(0)
            self.ram.copy(private, frame, PAGE_SIZE)
            self._drop(frame)
            frame = private
        self.pt.set_entry(va & PAGE_MASK, frame | flags)
        self.on_flush(self.pt.root)
        return frame

    def protect(self, start: int, length: int, prot: Prot) -> None:
        """Change the protection of [start, start+length)."""
        end = start + page_align(length)
        va = start
        while va < end:  # Linux: every page must be mapped, else ENOMEM
            vma = self.find(va)
            if vma is None:
                raise KernelError(Errno.ENOMEM, f"{va:#x} is not mapped")
            va = vma.end
        gained_exec = False
        for vma in self._covered(start, end):
            gained_exec |= bool(prot & EXEC and not vma.prot & EXEC)
            vma.prot = int(prot)
            self._reflag(vma)
        self.on_flush(self.pt.root)
        if gained_exec:
            self.on_code()

    def _reflag(self, vma: Vma) -> None:
        flags = vma.pte_flags() | PRESENT
        for va, pte in list(self.pt.mapped(vma.start, vma.end)):
            frame = pte & FRAME_MASK
            if flags & WRITABLE and not vma.shared and (pte & COW or frame in self.refs):
                self.pt.set_entry(va, frame | (flags & ~WRITABLE) | COW)  # still shared
            else:
                self.pt.set_entry(va, frame | flags)

    def discard(self, start: int, length: int) -> None:
        """Drop the pages of [start, start+length) so they read back zero (MADV_DONTNEED)."""
        self._release(start, start + page_align(length))

    # -- faults ---------------------------------------------------------------
    def share(self, va: int, frame: int, cow: bool = True) -> None:
        """Map ``frame``, which another owner keeps: copy-on-write (a page-cache page) or not."""
        vma = self.find(va)
        assert vma is not None, f"{va:#x} outside any VMA"
        flags = vma.pte_flags()
        self.pt.map(va, frame, flags & ~WRITABLE | COW if cow and flags & WRITABLE else flags)
        self.refs[frame] = self.refs.get(frame, 1) + 1
        self.resident += 1

    def _populate(self, va: int, vma: Vma) -> int:
        frame = self.frames.alloc(0)
        self.ram.zero(frame, PAGE_SIZE)
        self.pt.map(va, frame, vma.pte_flags())
        self.resident += 1
        return frame

    def _grow_stack(self, va: int) -> Vma | None:
        """The stack VMA just above ``va``, extended down to cover it, if its reserve allows."""
        i = bisect.bisect_right(self.vmas, va, key=_start)
        if i >= len(self.vmas) or not self.vmas[i].grows_down:
            return None
        stack = self.vmas[i]
        new_start = va & PAGE_MASK
        below = self.vmas[i - 1].end if i else 0
        if self.stack_top - new_start > self.stack_reserve or new_start - below < STACK_GUARD_GAP:
            return None
        stack.start = new_start
        return stack

    def fault(self, va: int, error: int) -> None:
        """Resolve a user page fault at ``va`` (x86 error code ``error``) or raise SegFault."""
        vma = self.find(va) or self._grow_stack(va)
        pte = self.pt.walk(va)
        if vma and pte & USER and (pte & WRITABLE or not error & PF_WRITE) \
                and not (error & PF_FETCH and pte & NO_EXECUTE):
            return  # another CPU mended the entry meanwhile: the access runs again
        if error & PF_PRESENT and error & PF_WRITE and pte & COW and vma and vma.prot & WRITE:
            self._break_cow(va, pte)
            return
        if error & PF_PRESENT or vma is None or not vma.prot \
                or (error & PF_WRITE and not vma.prot & WRITE) \
                or (error & PF_FETCH and not vma.prot & EXEC):
            raise SegFault(va, error | PF_USER)
        self._populate(va & PAGE_MASK, vma)

    # -- the kernel's access to user memory ----------------------------------
    def user_frame(self, va: int, write: bool, force: bool = False) -> int:
        """Physical frame behind user page ``va``; EFAULT unless a VMA allows the access.

        ``force`` is the loader's right to fill read-only pages it is setting up.
        """
        # the tables see 48 bits: a higher address would alias a low one
        pte = self.pt.walk(va) if va < USER_END else 0
        if pte & USER and (pte & WRITABLE or not write):
            return pte & FRAME_MASK
        vma = self.find(va)
        # On x86 any access right implies read, so only PROT_NONE refuses a read.
        if vma is None or not (force or vma.prot & (WRITE if write else READ | WRITE | EXEC)):
            raise KernelError(Errno.EFAULT, f"user address {va:#x}")
        if pte & PRESENT:
            return self._break_cow(va, pte) if write and pte & COW else pte & FRAME_MASK
        return self._populate(va & PAGE_MASK, vma)

    def copy_in(self, va: int, length: int) -> bytes:
        """Read ``length`` bytes of user memory."""
        if length <= 0:
            return b""
        offset = va & ~PAGE_MASK
        if offset + length <= PAGE_SIZE:  # the common case: one page
            frame = self.user_frame(va, False) + offset
            return bytes(self.ram.bytes[frame:frame + length])
        parts = []
        for page, start, size in _pieces(va, length):
            frame = self.user_frame(page, False) + start
            parts.append(self.ram.bytes[frame:frame + size])
        return b"".join(parts)

    def copy_out(self, va: int, data: bytes | bytearray | memoryview, force: bool = False) -> None:
        """Write ``data`` into user memory (``force``: the loader, even into code)."""
        done = 0
        for page, start, size in _pieces(va, len(data)):
            frame = self.user_frame(page, True, force) + start
            self.ram.bytes[frame:frame + size] = data[done:done + size]
            done += size
        vma = self.find(va) if force and data else None
        if vma is not None and vma.prot & EXEC:
            self.on_code()  # the CPU may hold translations of what these frames held before

    def destroy(self) -> None:
        """Free every frame: the process is gone."""
        self._release(0, USER_END)
        self.vmas = []
        self.pt.destroy()


def _pieces(va: int, length: int) -> list[tuple[int, int, int]]:
    """Split [va, va+length) at page boundaries: (page address, offset in page, size)."""
    if va < 0 or va + length > USER_END:
        raise KernelError(Errno.EFAULT, f"user range {va:#x}+{length:#x}")
    out = []
    while length > 0:
        start = va & ~PAGE_MASK
        size = min(length, PAGE_SIZE - start)
        out.append((va & PAGE_MASK, start, size))
        va += size
        length -= size
    return out
