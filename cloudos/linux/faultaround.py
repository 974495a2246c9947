"""Fault-around: a demand-zero fault in a large private mapping fills its neighbours too.

Owns: on a CPU whose faults are dear (``fault_around`` pages on the CPU class: KVM,
where every fault is an exit to the host, ~200 µs on this nested host), which pages
next to a served fault are filled at once, so that a program sweeping fresh memory
(a 2 MiB ``memset`` of its .bss: 513 faults) stops once per window, not per page.
Never: changes what a fault means (the kernel's ``AddressSpace.fault`` serves each
page; one it refuses is left alone, never reported), or touches shared memory, file
pages, or a mapping smaller than ``MIN_VMA`` (Linux does not fill a fresh 4-page
``mmap`` either: mincore shows only the touched pages); nor a copy-on-write page's
neighbours (their private copies would need KVM's old entries zapped).
Called by: the personality, once, when the machine is built (``install``); the
loader, for each new program image (``privatize``).

Linux does the like for anonymous memory with transparent huge pages (a 2 MiB page
for a fault in a large enough mapping, or a multi-size folio), and for file pages
with ``fault_around_bytes`` (64 KiB). Here, for private anonymous memory (the heap,
the stack, .bss, anonymous mmap):
- a fault gets the largest naturally aligned block of 64 KiB to 2 MiB around it that
  the mapping holds whole, as Linux with transparent huge pages ``always`` (its
  default; Debian's is ``madvise``) and every multi-size THP order gives a folio of
  that size: a 2 MiB sieve in .bss stops 7 times, not 33 (each stop ~200 µs on this
  nested host). The pages stay 4 KiB pages (each freed, shared or protected on its
  own), filled a run at a time (``LinuxAddressSpace.fill``). A process that said
  prctl(PR_SET_THP_DISABLE) gets 64 KiB at most;
- a 64 KiB block the mapping does not hold whole is cut at the mapping's ends (a
  mapping of at least two windows; smaller ones fault page by page).

A copy-on-write page's neighbours are not copied with it (KVM's entries for their old
frames would stay until a zap); instead a new program's writable segments, which the
loader shares with the page cache, are copied at once before it runs (``privatize``):
programs write most of their .data (python3: 292 of 388 pages, each a fault).
"""

from __future__ import annotations

from typing import Callable

from cloudos.hal.x86 import PF_PRESENT, PF_USER
from cloudos.kernel.boot import Kernel
from cloudos.kernel.errno import KernelError
from cloudos.kernel.mm.buddy import PAGE_SIZE
from cloudos.kernel.mm.pagetable import COW, PRESENT
from cloudos.kernel.mm.vm import WRITE, AddressSpace, SegFault

WINDOW = 64 << 10   # bytes filled around a fault (Linux's fault_around_bytes)
HUGE = 2 << 20      # ... or, as a transparent huge page, when the mapping holds it all
MIN_VMA = 2 * WINDOW  # mappings smaller than this are faulted page by page
RESERVE = 16 << 20  # free RAM left alone: fault-around never brings the machine near OOM

FaultHandler = Callable[[int, int, int], bool]


def install(kernel: Kernel) -> None:
    """Wrap the fault handler of every CPU that asks for fault-around."""
    for cpu in kernel.cpus:
        if getattr(cpu, "fault_around", False):
            cpu.fault_handler = _around(kernel, cpu.fault_handler)


def privatize(kernel: Kernel, aspace: AddressSpace) -> int:
    """Copy the shared (copy-on-write) pages of ``aspace``'s writable private mappings, a
    program image just loaded, on a CPU that asks for fault-around; how many."""
    if not getattr(kernel.cpu, "fault_around", False):
        return 0
    copied = 0
    # A space that never ran: no CPU holds an entry of it, so the frames it gives up need
    # not be forgotten (that would cost an mprotect round trip a page)
    forget = getattr(aspace, "forget", None)
    if forget is not None:
        aspace.forget = _nothing_cached  # type: ignore[attr-defined]
    try:
        for vma in list(aspace.vmas):
            if vma.shared or not vma.prot & WRITE:
                continue
            for va, pte in list(aspace.pt.mapped(vma.start, vma.end)):
                if pte & COW:
                    aspace.user_frame(va, True)  # the copy
                    copied += 1
    finally:
        if forget is not None:
            aspace.forget = forget  # type: ignore[attr-defined]
    return copied


def _nothing_cached(_frames: list[int]) -> bool:
    return True


def _around(kernel: Kernel, served: FaultHandler) -> FaultHandler:
    def handler(address: int, rip: int, error: int) -> bool:
        if not served(address, rip, error):
            return False
        if not error & PF_PRESENT:
            fill(kernel, address)
        return True
    return handler


def fill(kernel: Kernel, address: int) -> int:
    """Fill the missing pages of the window around ``address``, a page just served; how
    many were filled."""
    thread = kernel.cpu.thread
    if thread is None or kernel.frames.free_bytes < RESERVE:
        return 0
    aspace = thread.process.aspace
    vma = aspace.find(address)
    if vma is None or vma.shared or not vma.prot or vma.name == "file" \
            or vma.end - vma.start < MIN_VMA:
        return 0
    thp_disabled = getattr(getattr(thread.process, "personality", None), "thp_disable", False)
    size = WINDOW if thp_disabled else HUGE
    while size > WINDOW and not (vma.start <= address & -size
                                 and (address & -size) + size <= vma.end
                                 and kernel.frames.free_bytes >= RESERVE + size):
        size >>= 1
    start = max(address & -size, vma.start)
    end = min((address & -size) + size, vma.end)
    if vma.prot & WRITE:
        return _fill_runs(aspace, start, end)
    walk, filled = aspace.pt.walk, 0
    for va in range(start, end, PAGE_SIZE):
        if walk(va) & PRESENT:
            continue
        try:
            aspace.fault(va, PF_USER)  # a read: a fresh zero page with the VMA's rights
        except (SegFault, KernelError):
            break
        filled += 1
    return filled


def _fill_runs(aspace: AddressSpace, start: int, end: int) -> int:
    """Give every absent page of [start, end), inside one writable private mapping, a
    zeroed frame of its own, a run of absent pages at a time; how many. Nothing more
    when memory runs short."""
    fill = getattr(aspace, "fill", None)
    if fill is None:
        return 0
    filled, va = 0, start
    for present, _pte in [*aspace.pt.mapped(start, end), (end, 0)]:
        if present > va:
            try:
                fill(va, b"", (present - va) // PAGE_SIZE)
            except KernelError:
                break
            filled += (present - va) // PAGE_SIZE
        va = present + PAGE_SIZE
    return filled
