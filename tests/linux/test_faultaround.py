"""Fault-around (linux.faultaround): on a CPU whose faults are exits (KVM), a demand-zero
fault in a large private anonymous mapping fills the aligned 64 KiB window around it,
within the mapping; small, shared, file and PROT_NONE mappings fault page by page; a
new program's writable copy-on-write pages are copied before it runs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from cloudos.hal.cpu import PF_PRESENT, PF_USER, PF_WRITE
from cloudos.hal.ram import PhysicalMemory
from cloudos.kernel.mm.buddy import PAGE_SIZE, BuddyAllocator
from cloudos.kernel.mm.pagetable import COW, PRESENT, WRITABLE
from cloudos.kernel.mm.vm import Prot
from cloudos.linux import faultaround
from cloudos.linux.aspace import FrameRefs, LinuxAddressSpace

MIB = 1 << 20
BASE = 0x4000_0000
RW = Prot.READ | Prot.WRITE
WRITE_FAULT = PF_WRITE | PF_USER
WINDOW_PAGES = faultaround.WINDOW // PAGE_SIZE


def machine(fault_around: bool = True, ram_size: int = 64 * MIB) -> Any:
    ram = PhysicalMemory(ram_size)
    frames = BuddyAllocator(MIB, ram_size - MIB)
    aspace = LinuxAddressSpace(ram, frames, 0, lambda *_root: None, lambda: None,
                               FrameRefs(ram_size))
    cpu = SimpleNamespace(thread=SimpleNamespace(process=SimpleNamespace(aspace=aspace)),
                          fault_handler=None)
    if fault_around:
        cpu.fault_around = True
    kernel = SimpleNamespace(cpu=cpu, cpus=[cpu], frames=frames, ram=ram)
    served: list[int] = []

    def handler(address: int, _rip: int, error: int) -> bool:
        served.append(address)
        aspace.fault(address, error)
        return True

    cpu.fault_handler = handler
    faultaround.install(kernel)  # type: ignore[arg-type]
    return kernel, aspace, served


def present(aspace: LinuxAddressSpace, start: int, pages: int) -> list[int]:
    return [i for i in range(pages) if aspace.pt.walk(start + i * PAGE_SIZE) & PRESENT]


def test_a_fault_in_a_large_mapping_fills_its_aligned_window() -> None:
    kernel, aspace, served = machine()
    # holds no aligned block larger than 64 KiB around the fault
    aspace.add(BASE + 4 * faultaround.WINDOW + PAGE_SIZE, 4 * faultaround.WINDOW, RW)
    address = BASE + 5 * faultaround.WINDOW + 3 * PAGE_SIZE + 123
    assert kernel.cpu.fault_handler(address, 0, WRITE_FAULT)
    first = 5 * WINDOW_PAGES
    assert present(aspace, BASE, 255) == list(range(first, first + WINDOW_PAGES))
    assert aspace.resident == WINDOW_PAGES
    assert served == [address]  # the kernel served the fault itself, once
    pte = aspace.pt.walk(BASE + first * PAGE_SIZE)
    assert pte & WRITABLE and not pte & COW  # fresh zero pages with the VMA's rights
    assert kernel.ram.read(pte & 0x000F_FFFF_FFFF_F000, PAGE_SIZE) == bytes(PAGE_SIZE)


@pytest.mark.parametrize("start, size, fault, block", [
    (BASE, 4 * MIB, BASE + 3 * MIB, (BASE + 2 * MIB, 2 * MIB)),      # a whole huge page
    (BASE, MIB, BASE + (700 << 10), (BASE, MIB)),                     # all a 1 MiB holds
    # .bss of bench/compute.c, [0x4a7000, 0x694000): the blocks a memset from its start
    # meets, so 7 faults fill its 2 MiB
    (0x4a7000, 0x1ed000, 0x4a7000, (0x4a7000, 0x9000)),
    (0x4a7000, 0x1ed000, 0x4c0000, (0x4c0000, 256 << 10)),
    (0x4a7000, 0x1ed000, 0x500000, (0x500000, MIB)),
    (0x4a7000, 0x1ed000, 0x600000, (0x600000, 512 << 10)),
    (0x4a7000, 0x1ed000, 0x690000, (0x690000, 0x4000)),
])
def test_a_fault_fills_the_largest_aligned_block_the_mapping_holds(start, size, fault,
                                                                   block) -> None:
    kernel, aspace, _ = machine()
    aspace.add(start, size, RW)
    kernel.cpu.fault_handler(fault, 0, WRITE_FAULT)
    pages = [start + i * PAGE_SIZE for i in present(aspace, start, size // PAGE_SIZE)]
    assert pages == list(range(block[0], block[0] + block[1], PAGE_SIZE))
    assert aspace.resident == block[1] // PAGE_SIZE


def test_a_block_keeps_the_pages_already_there() -> None:
    kernel, aspace, _ = machine()
    aspace.add(BASE, MIB, RW)
    aspace.copy_out(BASE + 5 * PAGE_SIZE, b"kept")
    aspace.copy_out(BASE + 9 * PAGE_SIZE + 100, b"also")
    kernel.cpu.fault_handler(BASE, 0, WRITE_FAULT)
    assert present(aspace, BASE, MIB // PAGE_SIZE) == list(range(MIB // PAGE_SIZE))
    assert aspace.resident == MIB // PAGE_SIZE
    assert aspace.copy_in(BASE + 5 * PAGE_SIZE, 4) == b"kept"
    assert aspace.copy_in(BASE + 9 * PAGE_SIZE + 100, 4) == b"also"
    assert aspace.copy_in(BASE + 6 * PAGE_SIZE, PAGE_SIZE) == bytes(PAGE_SIZE)


def test_a_process_that_disabled_thp_gets_64_kib() -> None:
    kernel, aspace, _ = machine()
    kernel.cpu.thread.process.personality = SimpleNamespace(thp_disable=True)
    aspace.add(BASE, 4 * MIB, RW)
    kernel.cpu.fault_handler(BASE + 3 * MIB, 0, WRITE_FAULT)
    assert present(aspace, BASE + 3 * MIB, 64) == list(range(WINDOW_PAGES))
    assert aspace.resident == WINDOW_PAGES


def test_a_block_is_never_taken_from_the_reserve() -> None:
    kernel, aspace, _ = machine(ram_size=faultaround.RESERVE + 3 * MIB)
    aspace.add(BASE, 4 * MIB, RW)
    free = kernel.frames.free_bytes
    assert faultaround.RESERVE + faultaround.WINDOW <= free < faultaround.RESERVE + 2 * MIB
    kernel.cpu.fault_handler(BASE, 0, WRITE_FAULT)
    assert free - kernel.frames.free_bytes <= free - faultaround.RESERVE
    assert aspace.resident == MIB // PAGE_SIZE  # the largest block that leaves it alone


def test_the_window_stays_inside_the_mapping() -> None:
    kernel, aspace, _ = machine()
    start = BASE + 3 * PAGE_SIZE  # not window-aligned: the window is cut at both ends
    aspace.add(start, 2 * faultaround.WINDOW, RW)
    aspace.add(start - PAGE_SIZE, PAGE_SIZE, RW, "neighbour")
    kernel.cpu.fault_handler(start, 0, WRITE_FAULT)
    assert present(aspace, BASE, 64) == list(range(3, WINDOW_PAGES))
    end = start + 2 * faultaround.WINDOW
    kernel.cpu.fault_handler(end - 1, 0, WRITE_FAULT)
    last = 2 * WINDOW_PAGES + 3  # the VMA's end: its last window is cut there
    assert present(aspace, BASE, 64) == [*range(3, WINDOW_PAGES), *range(2 * WINDOW_PAGES, last)]
    assert not aspace.pt.walk(start - PAGE_SIZE) & PRESENT  # the other VMA: untouched


@pytest.mark.parametrize("size, prot, name, shared", [
    (4 * PAGE_SIZE, RW, "", False),           # small: Linux's mincore shows 1 0 1 0
    (MIB, RW, "", True),                      # shared memory
    (MIB, RW, "file", False),                 # a file mapping's pages past its end
])
def test_other_mappings_fault_page_by_page(size, prot, name, shared) -> None:
    kernel, aspace, _ = machine()
    aspace.add(BASE, size, prot, name, shared=shared)
    kernel.cpu.fault_handler(BASE + PAGE_SIZE, 0, WRITE_FAULT)
    assert present(aspace, BASE, size // PAGE_SIZE) == [1]


def test_a_copy_on_write_fault_and_a_refused_fault_fill_nothing() -> None:
    kernel, aspace, _ = machine()
    aspace.add(BASE, MIB, RW)
    shared = kernel.frames.alloc(0)  # a page another owner keeps: copy-on-write here
    aspace.share_run(BASE + 2 * PAGE_SIZE, [shared])
    assert kernel.cpu.fault_handler(BASE + 2 * PAGE_SIZE, 0, WRITE_FAULT | PF_PRESENT)
    assert present(aspace, BASE, 256) == [2]
    assert aspace.pt.walk(BASE + 2 * PAGE_SIZE) & WRITABLE  # copied, no neighbours filled

    def refuse(_address: int, _rip: int, _error: int) -> bool:
        return False

    kernel.cpu.fault_handler = refuse
    faultaround.install(kernel)
    assert not kernel.cpu.fault_handler(BASE + MIB // 2, 0, WRITE_FAULT)
    assert present(aspace, BASE, 256) == [2]


def test_a_cpu_without_fault_around_keeps_its_handler() -> None:
    kernel, aspace, _ = machine(fault_around=False)
    aspace.add(BASE, MIB, RW)
    kernel.cpu.fault_handler(BASE, 0, WRITE_FAULT)
    assert present(aspace, BASE, 256) == [0]
    assert faultaround.privatize(kernel, aspace) == 0


def test_a_machine_short_of_memory_fills_nothing_more() -> None:
    kernel, aspace, _ = machine(ram_size=16 * MIB)  # under RESERVE free
    assert kernel.frames.free_bytes < faultaround.RESERVE
    aspace.add(BASE, MIB, RW)
    kernel.cpu.fault_handler(BASE, 0, WRITE_FAULT)
    assert present(aspace, BASE, 256) == [0]


def test_privatize_copies_the_writable_shared_pages_of_a_new_image() -> None:
    kernel, aspace, _ = machine()
    frames, ram = kernel.frames, kernel.ram
    cached = [frames.alloc(0) for _ in range(4)]  # page-cache frames: another owner keeps them
    for i, frame in enumerate(cached):
        ram.write(frame, b"page%d" % i)
    aspace.add(BASE, 2 * PAGE_SIZE, Prot.READ | Prot.EXEC, "text")
    aspace.share_run(BASE, cached[:2])
    aspace.add(BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, RW, "data")
    aspace.share_run(BASE + 2 * PAGE_SIZE, cached[2:])
    told: list[list[int]] = []

    def forget(frames: list[int]) -> bool:
        told.append(frames)
        return True

    aspace.forget = forget
    assert faultaround.privatize(kernel, aspace) == 2
    assert told == [] and aspace.forget is forget  # a space that never ran: nothing cached
    for i in range(4):
        pte = aspace.pt.walk(BASE + i * PAGE_SIZE)
        frame = pte & 0x000F_FFFF_FFFF_F000
        assert ram.read(frame, 5) == b"page%d" % i
        if i < 2:  # the text stays shared
            assert frame == cached[i] and not pte & WRITABLE
        else:  # the data is the program's own, writable, and the cache's page unchanged
            assert frame != cached[i] and pte & WRITABLE and not pte & COW
            assert ram.read(cached[i], 5) == b"page%d" % i
