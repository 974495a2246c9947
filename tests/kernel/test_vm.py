"""Address spaces: VMAs, demand-zero faults, stack growth and checked user access."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudos.hal.ram import PhysicalMemory
from cloudos.errno import Errno, KernelError
# The personality's mmap placement, over a kernel AddressSpace:
from cloudos.linux.layout import find_free
from cloudos.kernel.mm.buddy import PAGE_SIZE, BuddyAllocator
from cloudos.kernel.mm.pagetable import FRAME_MASK, Pte
from cloudos.kernel.mm.vm import (MMAP_FLOOR, MMAP_TOP, STACK_GUARD_GAP, STACK_RESERVE,
                                  STACK_TOP, USER_END, AddressSpace, Prot, SegFault)

MIB = 1 << 20
RAM_SIZE = 64 * MIB
RW = Prot.READ | Prot.WRITE
RX = Prot.READ | Prot.EXEC
BASE = 0x40_0000  # a quiet place for test VMAs
# x86 page-fault error code bits, as the CPU reports them to AddressSpace.fault.
PF_P, PF_W, PF_U, PF_I = 1 << 0, 1 << 1, 1 << 2, 1 << 4
READ_FAULT, WRITE_FAULT, FETCH_FAULT = PF_U, PF_U | PF_W, PF_U | PF_I


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *root: int) -> None:  # on_flush gets the page tables' root
        self.n += 1


@pytest.fixture(scope="module")
def ram() -> PhysicalMemory:
    return PhysicalMemory(RAM_SIZE)


def new_frames() -> BuddyAllocator:
    return BuddyAllocator(1 * MIB, RAM_SIZE - 1 * MIB)


@pytest.fixture
def frames() -> BuddyAllocator:
    return new_frames()


@pytest.fixture
def flushes() -> Counter:
    return Counter()


@pytest.fixture
def codes() -> Counter:
    return Counter()


@pytest.fixture
def aspace(ram, frames, flushes, codes) -> AddressSpace:
    return AddressSpace(ram, frames, kernel_entry=0, on_flush=flushes, on_code=codes)


def dirty_arena(ram: PhysicalMemory, frames: BuddyAllocator) -> None:
    """Fill every free frame with garbage, so 'zeroed' means the kernel zeroed it."""
    ram.bytes[frames.base:frames.end] = b"\xAA" * (frames.end - frames.base)


def errno_of(excinfo: pytest.ExceptionInfo[KernelError]) -> Errno:
    return excinfo.value.errno


def check_sane(aspace: AddressSpace) -> None:
    """VMAs sorted, non-overlapping, non-empty, page-aligned; pages only inside VMAs."""
    vmas = aspace.vmas
    for vma in vmas:
        assert vma.start < vma.end, vma
        assert vma.start % PAGE_SIZE == 0 and vma.end % PAGE_SIZE == 0, vma
        assert MMAP_FLOOR <= vma.start and vma.end <= USER_END, vma
    for a, b in zip(vmas, vmas[1:]):
        assert a.end <= b.start, (a, b)
    resident = 0
    for va, pte in aspace.pt.mapped(0, USER_END):
        vma = aspace.find(va)
        assert vma is not None, f"page {va:#x} mapped outside every VMA"
        assert pte == (pte & FRAME_MASK) | vma.pte_flags() | Pte.PRESENT, (hex(va), vma)
        resident += 1
    assert resident == aspace.resident


# -- VMAs -----------------------------------------------------------------------

def test_add_find_overlaps(aspace) -> None:
    a = aspace.add(BASE, 3 * PAGE_SIZE, RW, "a")
    b = aspace.add(BASE + 8 * PAGE_SIZE, PAGE_SIZE + 1, Prot.READ, "b")  # length rounds up
    assert (a.start, a.end, a.prot, a.name) == (BASE, BASE + 3 * PAGE_SIZE, RW, "a")
    assert (b.start, b.end) == (BASE + 8 * PAGE_SIZE, BASE + 10 * PAGE_SIZE)
    assert aspace.vmas == [a, b]
    assert aspace.find(BASE) is a
    assert aspace.find(BASE + 3 * PAGE_SIZE - 1) is a
    assert aspace.find(BASE + 3 * PAGE_SIZE) is None
    assert aspace.find(BASE - 1) is None
    assert aspace.find(BASE + 9 * PAGE_SIZE + 123) is b
    assert aspace.find(BASE + 10 * PAGE_SIZE) is None
    assert aspace.overlaps(BASE - PAGE_SIZE, BASE + 1)
    assert not aspace.overlaps(BASE - PAGE_SIZE, BASE)
    assert not aspace.overlaps(BASE + 3 * PAGE_SIZE, BASE + 8 * PAGE_SIZE)
    assert aspace.overlaps(BASE + 3 * PAGE_SIZE, BASE + 8 * PAGE_SIZE + 1)
    assert aspace.overlaps(0, USER_END)
    check_sane(aspace)


def test_add_merges_with_neighbours_it_continues(aspace) -> None:
    heap = aspace.add(BASE, PAGE_SIZE, RW, "[heap]")
    grown = aspace.add(BASE + PAGE_SIZE, 2 * PAGE_SIZE, RW, "[heap]")  # brk grows
    assert grown is heap and len(aspace.vmas) == 1
    assert (heap.start, heap.end) == (BASE, BASE + 3 * PAGE_SIZE)
    aspace.add(BASE + 3 * PAGE_SIZE, PAGE_SIZE, Prot.READ, "[heap]")  # other rights
    aspace.add(BASE - PAGE_SIZE, PAGE_SIZE, RW, "other")  # other name
    assert len(aspace.vmas) == 3
    # Filling a hole joins both sides.
    aspace.add(BASE + 6 * PAGE_SIZE, PAGE_SIZE, RX)
    aspace.add(BASE + 8 * PAGE_SIZE, PAGE_SIZE, RX)
    middle = aspace.add(BASE + 7 * PAGE_SIZE, PAGE_SIZE, RX)
    assert (middle.start, middle.end) == (BASE + 6 * PAGE_SIZE, BASE + 9 * PAGE_SIZE)
    assert len(aspace.vmas) == 4
    check_sane(aspace)


def test_add_rejects_bad_ranges(aspace) -> None:
    for start, length in [(BASE + 1, PAGE_SIZE), (0, PAGE_SIZE),
                          (MMAP_FLOOR - PAGE_SIZE, PAGE_SIZE),
                          (USER_END - PAGE_SIZE, 2 * PAGE_SIZE), (BASE, 0)]:
        with pytest.raises(KernelError) as e:
            aspace.add(start, length, RW)
        assert errno_of(e) == Errno.EINVAL, (hex(start), length)
    assert aspace.vmas == []


def test_add_replaces_what_was_there(aspace, frames) -> None:
    aspace.add(BASE, 4 * PAGE_SIZE, RW, "old")
    aspace.copy_out(BASE, b"x" * 4 * PAGE_SIZE)
    free = frames.free_bytes
    aspace.add(BASE + PAGE_SIZE, 2 * PAGE_SIZE, Prot.READ, "new")
    assert [(v.start - BASE, v.end - BASE, v.name) for v in aspace.vmas] == \
        [(0, PAGE_SIZE, "old"), (PAGE_SIZE, 3 * PAGE_SIZE, "new"),
         (3 * PAGE_SIZE, 4 * PAGE_SIZE, "old")]
    assert frames.free_bytes == free + 2 * PAGE_SIZE
    assert aspace.copy_in(BASE + PAGE_SIZE, 2 * PAGE_SIZE) == bytes(2 * PAGE_SIZE)
    assert aspace.copy_in(BASE, 1) == b"x"
    check_sane(aspace)


def test_find_free_is_top_down_below_mmap_top(aspace) -> None:
    aspace.add(STACK_TOP - 32 * PAGE_SIZE, 32 * PAGE_SIZE, RW, "[stack]", grows_down=True)
    first = find_free(aspace, 3 * PAGE_SIZE)
    assert first == MMAP_TOP - 3 * PAGE_SIZE
    aspace.add(first, 3 * PAGE_SIZE, RW)
    second = find_free(aspace, PAGE_SIZE + 5)  # rounds up to two pages
    assert second == first - 2 * PAGE_SIZE
    aspace.add(second, 2 * PAGE_SIZE, RW)
    third = find_free(aspace, PAGE_SIZE)
    assert third == second - PAGE_SIZE < second < first < MMAP_TOP
    aspace.add(third, PAGE_SIZE, RW)
    # A hole left by munmap is reused when it is big enough, and skipped when it is not.
    aspace.remove(first, PAGE_SIZE)
    assert find_free(aspace, PAGE_SIZE) == first
    assert find_free(aspace, 2 * PAGE_SIZE) == third - 2 * PAGE_SIZE
    check_sane(aspace)


def test_find_free_honours_a_free_hint(aspace) -> None:
    hint = 0x1234_5000
    assert find_free(aspace, 4 * PAGE_SIZE, hint) == hint
    aspace.add(hint + 2 * PAGE_SIZE, PAGE_SIZE, RW)
    # An occupied hint falls back to top-down.
    assert find_free(aspace, 4 * PAGE_SIZE, hint) == MMAP_TOP - 4 * PAGE_SIZE
    assert find_free(aspace, 2 * PAGE_SIZE, hint) == hint  # fits before the VMA
    assert find_free(aspace, PAGE_SIZE, MMAP_FLOOR - PAGE_SIZE) == MMAP_TOP - PAGE_SIZE


# -- the kernel's access to user memory ----------------------------------------

def test_copy_round_trip_across_a_page_boundary(aspace) -> None:
    aspace.add(BASE, 3 * PAGE_SIZE, RW)
    data = bytes(range(256)) * 20  # 5120 bytes
    va = BASE + PAGE_SIZE - 100
    aspace.copy_out(va, data)
    assert aspace.copy_in(va, len(data)) == data
    assert aspace.copy_in(BASE + PAGE_SIZE - 100, 100) == data[:100]
    assert aspace.copy_in(BASE + PAGE_SIZE, 10) == data[100:110]
    assert aspace.copy_in(va - 1, 1) == b"\0"
    # The two pages really are two frames, both mapped user-writable.
    pte1, pte2 = aspace.pt.walk(BASE), aspace.pt.walk(BASE + PAGE_SIZE)
    assert pte1 & FRAME_MASK != pte2 & FRAME_MASK
    for pte in (pte1, pte2):
        wanted = Pte.PRESENT | Pte.USER | Pte.WRITABLE
        assert pte & wanted == wanted
    assert aspace.copy_in(va, 0) == b""
    aspace.copy_out(va, b"")
    aspace.add(BASE + 4 * PAGE_SIZE, PAGE_SIZE, RW)
    aspace.copy_out(BASE + 4 * PAGE_SIZE, b"hi\0there")
    assert aspace.copy_in(BASE + 4 * PAGE_SIZE, 3) == b"hi\0"
    check_sane(aspace)


def test_copy_in_unmapped_is_efault(aspace) -> None:
    aspace.add(BASE, PAGE_SIZE, RW)
    for va, length in [(BASE - PAGE_SIZE, 8), (BASE + PAGE_SIZE, 1), (BASE + PAGE_SIZE - 4, 8),
                       (0, 1), (USER_END - 4, 8), (0xFFFF_8000_0000_0000, 8)]:
        with pytest.raises(KernelError) as e:
            aspace.copy_in(va, length)
        assert errno_of(e) == Errno.EFAULT, hex(va)
    with pytest.raises(KernelError) as e:
        aspace.copy_out(BASE + PAGE_SIZE - 2, b"abcd")
    assert errno_of(e) == Errno.EFAULT


def test_addresses_above_user_space_never_alias_low_ones(aspace) -> None:
    # the page tables decode 48 bits: bit 48 or 63 set would reach BASE's page
    aspace.add(BASE, PAGE_SIZE, RW)
    aspace.copy_out(BASE, b"low")
    for alias in (BASE | 1 << 48, BASE | 1 << 63, BASE | 0xFFFF << 48):
        for access in (lambda va: aspace.copy_in(va, 3), lambda va: aspace.copy_out(va, b"x"),
                       lambda va: aspace.user_frame(va, False)):
            with pytest.raises(KernelError) as e:
                access(alias)
            assert errno_of(e) == Errno.EFAULT, hex(alias)
    assert aspace.copy_in(BASE, 3) == b"low"


def test_the_top_user_page_is_never_user_memory(aspace) -> None:
    assert USER_END == 0x7FFF_FFFF_F000  # Linux's TASK_SIZE on x86_64 with 4-level paging
    with pytest.raises(KernelError) as e:
        aspace.add(USER_END, PAGE_SIZE, RW)
    assert errno_of(e) == Errno.EINVAL
    with pytest.raises(KernelError) as e:
        aspace.copy_in(USER_END, 1)
    assert errno_of(e) == Errno.EFAULT


def test_copy_out_to_read_only_is_efault_unless_forced(aspace) -> None:
    aspace.add(BASE, 2 * PAGE_SIZE, Prot.READ)
    with pytest.raises(KernelError) as e:
        aspace.copy_out(BASE + 10, b"nope")
    assert errno_of(e) == Errno.EFAULT
    aspace.copy_out(BASE + 10, b"loader", force=True)
    assert aspace.copy_in(BASE + 10, 6) == b"loader"
    # Now present (read-only): still EFAULT without force.
    assert aspace.pt.walk(BASE) & Pte.PRESENT
    assert not aspace.pt.walk(BASE) & Pte.WRITABLE
    with pytest.raises(KernelError) as e:
        aspace.copy_out(BASE + 10, b"nope")
    assert errno_of(e) == Errno.EFAULT
    assert aspace.copy_in(BASE + 10, 6) == b"loader"
    # PROT_NONE: neither read nor write, but the loader may still fill it.
    aspace.add(BASE + 4 * PAGE_SIZE, PAGE_SIZE, Prot.NONE)
    with pytest.raises(KernelError) as e:
        aspace.copy_in(BASE + 4 * PAGE_SIZE, 1)
    assert errno_of(e) == Errno.EFAULT
    aspace.copy_out(BASE + 4 * PAGE_SIZE, b"z", force=True)
    with pytest.raises(KernelError) as e:
        aspace.copy_in(BASE + 4 * PAGE_SIZE, 1)
    assert errno_of(e) == Errno.EFAULT
    check_sane(aspace)


@pytest.mark.parametrize("prot", [Prot.WRITE, Prot.EXEC], ids=["write-only", "exec-only"])
def test_copy_in_of_a_non_resident_write_or_exec_only_page(aspace, prot) -> None:
    aspace.add(BASE, 2 * PAGE_SIZE, prot)
    aspace.fault(BASE, READ_FAULT)  # the guest touches the first page
    assert aspace.copy_in(BASE, 4) == bytes(4)  # resident: readable
    # Not yet resident: still readable, as on x86 Linux, where any right implies read.
    assert aspace.copy_in(BASE + PAGE_SIZE, 4) == bytes(4)


# -- faults ---------------------------------------------------------------------

@pytest.mark.parametrize("prot", [Prot.READ, RW, RX, RW | Prot.EXEC, Prot.WRITE, Prot.EXEC])
def test_fault_maps_a_zeroed_page_with_the_vma_rights(ram, frames, aspace, prot) -> None:
    aspace.add(BASE, 4 * PAGE_SIZE, prot)
    dirty_arena(ram, frames)
    free = frames.free_bytes
    va = BASE + 2 * PAGE_SIZE + 0x123
    aspace.fault(va, READ_FAULT)
    pte = aspace.pt.walk(va)
    assert pte & Pte.PRESENT and pte & Pte.USER
    assert bool(pte & Pte.WRITABLE) == bool(prot & Prot.WRITE)
    assert bool(pte & Pte.NO_EXECUTE) == (not prot & Prot.EXEC)
    frame = pte & FRAME_MASK
    assert ram.read(frame, PAGE_SIZE) == bytes(PAGE_SIZE)
    assert frames.free_bytes < free  # the page plus any new tables
    assert aspace.resident == 1
    assert [va for va, _ in aspace.pt.mapped(0, USER_END)] == [BASE + 2 * PAGE_SIZE]
    check_sane(aspace)


def test_fault_error_bits_are_the_hardware_ones() -> None:
    from cloudos.hal.cpu import PF_FETCH, PF_PRESENT, PF_USER, PF_WRITE
    assert (PF_PRESENT, PF_WRITE, PF_USER, PF_FETCH) == (PF_P, PF_W, PF_U, PF_I) == (1, 2, 4, 16)


def test_fault_outside_any_vma_is_a_user_segfault(aspace) -> None:
    aspace.add(BASE, PAGE_SIZE, RW)
    for va in (BASE - 1, BASE + PAGE_SIZE, 0, MMAP_TOP, USER_END + 5):
        for error in (READ_FAULT, WRITE_FAULT, FETCH_FAULT):
            with pytest.raises(SegFault) as e:
                aspace.fault(va, error)
            assert e.value.address == va
            assert e.value.error & PF_U
            assert e.value.error == error
    # The user bit is set even when the reported code lacks it.
    with pytest.raises(SegFault) as e:
        aspace.fault(BASE - 1, 0)
    assert e.value.error == PF_U
    assert aspace.resident == 0 and aspace.pt.walk(BASE) == 0


def test_fault_on_prot_none_is_a_segfault(aspace) -> None:
    aspace.add(BASE, PAGE_SIZE, Prot.NONE)
    with pytest.raises(SegFault) as e:
        aspace.fault(BASE, READ_FAULT)
    assert e.value.error == PF_U
    assert aspace.resident == 0


def test_write_fault_on_a_read_only_vma_is_a_segfault(aspace) -> None:
    aspace.add(BASE, PAGE_SIZE, RX)
    with pytest.raises(SegFault) as e:
        aspace.fault(BASE + 8, WRITE_FAULT)
    assert e.value.error == PF_U | PF_W
    assert aspace.pt.walk(BASE) == 0  # nothing mapped for a refused access


def test_second_fault_on_a_present_read_only_page_is_error_7(aspace) -> None:
    aspace.add(BASE, PAGE_SIZE, Prot.READ)
    aspace.fault(BASE + 8, READ_FAULT)  # demand-zero, read-only
    pte = aspace.pt.walk(BASE)
    assert pte & Pte.PRESENT and not pte & Pte.WRITABLE
    with pytest.raises(SegFault) as e:
        aspace.fault(BASE + 8, PF_P | PF_W | PF_U)  # the write that follows
    assert e.value.error == 1 | 2 | 4 == 7
    assert e.value.address == BASE + 8
    assert aspace.pt.walk(BASE) == pte  # untouched


def test_instruction_fetch_sets_bit_16(aspace) -> None:
    aspace.add(BASE, PAGE_SIZE, RW)  # not executable
    with pytest.raises(SegFault) as e:
        aspace.fault(BASE, FETCH_FAULT)
    assert e.value.error == PF_U | PF_I and e.value.error & 16
    aspace.fault(BASE, READ_FAULT)  # a data access: fine
    with pytest.raises(SegFault) as e:  # fetch from the present NX page
        aspace.fault(BASE, PF_P | PF_U | PF_I)
    assert e.value.error == 1 | 4 | 16
    with pytest.raises(SegFault) as e:
        aspace.fault(BASE - PAGE_SIZE, FETCH_FAULT)  # no VMA
    assert e.value.error == 4 | 16
    # An executable VMA serves a fetch fault with an executable page.
    aspace.add(BASE + PAGE_SIZE, PAGE_SIZE, RX)
    aspace.fault(BASE + PAGE_SIZE, FETCH_FAULT)
    pte = aspace.pt.walk(BASE + PAGE_SIZE)
    assert pte & Pte.PRESENT and pte & Pte.USER and not pte & Pte.NO_EXECUTE


def test_stack_grows_down_within_its_reserve(aspace) -> None:
    low = STACK_TOP - 128 * 1024
    stack = aspace.add(low, 128 * 1024, RW, "[stack]", grows_down=True)
    aspace.fault(low - PAGE_SIZE + 8, WRITE_FAULT)
    assert stack.start == low - PAGE_SIZE and stack.end == STACK_TOP
    assert aspace.find(low - PAGE_SIZE) is stack
    pte = aspace.pt.walk(low - PAGE_SIZE)
    assert pte & (Pte.PRESENT | Pte.USER | Pte.WRITABLE) == Pte.PRESENT | Pte.USER | Pte.WRITABLE
    # Right down to the end of the reserve in one jump ...
    floor = STACK_TOP - STACK_RESERVE
    aspace.fault(floor, WRITE_FAULT)
    assert stack.start == floor
    # ... and not a page further.
    with pytest.raises(SegFault) as e:
        aspace.fault(floor - 1, WRITE_FAULT)
    assert e.value.error == PF_U | PF_W
    assert stack.start == floor
    check_sane(aspace)


def test_stack_beyond_the_reserve_is_a_segfault(aspace) -> None:
    low = STACK_TOP - 128 * 1024
    stack = aspace.add(low, 128 * 1024, RW, "[stack]", grows_down=True)
    with pytest.raises(SegFault) as e:
        aspace.fault(STACK_TOP - STACK_RESERVE - PAGE_SIZE, WRITE_FAULT)
    assert e.value.error & PF_U and e.value.error == PF_U | PF_W
    assert stack.start == low and aspace.resident == 0


def test_stack_keeps_its_guard_gap(aspace) -> None:
    low = STACK_TOP - 128 * 1024
    stack = aspace.add(low, 128 * 1024, RW, "[stack]", grows_down=True)
    blocker = low - 64 * PAGE_SIZE - STACK_GUARD_GAP
    aspace.add(blocker - PAGE_SIZE, PAGE_SIZE, RW)
    aspace.fault(blocker + STACK_GUARD_GAP, WRITE_FAULT)  # exactly one gap away: allowed
    with pytest.raises(SegFault):
        aspace.fault(blocker + STACK_GUARD_GAP - 1, WRITE_FAULT)
    assert stack.start == blocker + STACK_GUARD_GAP


def test_non_grows_down_vma_does_not_grow(aspace) -> None:
    aspace.add(STACK_TOP - 128 * 1024, 128 * 1024, RW, "plain")
    with pytest.raises(SegFault):
        aspace.fault(STACK_TOP - 128 * 1024 - 8, WRITE_FAULT)


# -- protect / remove / discard / destroy --------------------------------------

def test_protect_splits_and_rewrites_present_ptes(aspace, flushes, codes) -> None:
    aspace.add(BASE, 6 * PAGE_SIZE, RW, "heap")
    aspace.copy_out(BASE, b"q" * 6 * PAGE_SIZE)
    frames_before = [aspace.pt.walk(BASE + i * PAGE_SIZE) & FRAME_MASK for i in range(6)]
    n_flush, n_code = flushes.n, codes.n
    aspace.protect(BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, Prot.READ)
    assert [(v.start - BASE, v.end - BASE, v.prot, v.name) for v in aspace.vmas] == [
        (0, 2 * PAGE_SIZE, RW, "heap"), (2 * PAGE_SIZE, 4 * PAGE_SIZE, Prot.READ, "heap"),
        (4 * PAGE_SIZE, 6 * PAGE_SIZE, RW, "heap")]
    for i in range(6):
        pte = aspace.pt.walk(BASE + i * PAGE_SIZE)
        assert pte & FRAME_MASK == frames_before[i]  # same frames, new rights
        assert pte & Pte.PRESENT and pte & Pte.USER and pte & Pte.NO_EXECUTE
        assert bool(pte & Pte.WRITABLE) == (i not in (2, 3))
    assert flushes.n > n_flush
    assert codes.n == n_code
    assert aspace.copy_in(BASE + 2 * PAGE_SIZE, 3) == b"qqq"  # contents kept
    with pytest.raises(KernelError):
        aspace.copy_out(BASE + 2 * PAGE_SIZE, b"x")
    aspace.protect(BASE + 3 * PAGE_SIZE, PAGE_SIZE, RX)
    assert codes.n == n_code + 1  # gained EXEC
    assert not aspace.pt.walk(BASE + 3 * PAGE_SIZE) & Pte.NO_EXECUTE
    aspace.protect(BASE, PAGE_SIZE, Prot.NONE)
    pte = aspace.pt.walk(BASE)
    assert pte & Pte.PRESENT and not pte & Pte.USER and not pte & Pte.WRITABLE
    check_sane(aspace)


def test_protect_over_a_hole_is_enomem_and_changes_nothing(aspace) -> None:
    aspace.add(BASE, 2 * PAGE_SIZE, RW)
    aspace.add(BASE + 3 * PAGE_SIZE, 2 * PAGE_SIZE, RW)
    aspace.fault(BASE, WRITE_FAULT)
    for start, length in [(BASE, 5 * PAGE_SIZE), (BASE + 2 * PAGE_SIZE, PAGE_SIZE),
                          (BASE - PAGE_SIZE, 2 * PAGE_SIZE), (BASE + 4 * PAGE_SIZE, 2 * PAGE_SIZE)]:
        with pytest.raises(KernelError) as e:
            aspace.protect(start, length, Prot.READ)
        assert errno_of(e) == Errno.ENOMEM
    assert [(v.start, v.end, v.prot) for v in aspace.vmas] == [
        (BASE, BASE + 2 * PAGE_SIZE, RW), (BASE + 3 * PAGE_SIZE, BASE + 5 * PAGE_SIZE, RW)]
    assert aspace.pt.walk(BASE) & Pte.WRITABLE


def test_protect_across_adjacent_vmas(aspace) -> None:
    aspace.add(BASE, 2 * PAGE_SIZE, RW, "a")
    aspace.add(BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, Prot.READ, "b")
    aspace.protect(BASE + PAGE_SIZE, 2 * PAGE_SIZE, RX)
    assert [(v.start - BASE, v.end - BASE, v.prot) for v in aspace.vmas] == [
        (0, PAGE_SIZE, RW), (PAGE_SIZE, 2 * PAGE_SIZE, RX),
        (2 * PAGE_SIZE, 3 * PAGE_SIZE, RX), (3 * PAGE_SIZE, 4 * PAGE_SIZE, Prot.READ)]
    check_sane(aspace)


def test_remove_in_the_middle_splits_and_frees(aspace, frames, flushes) -> None:
    aspace.add(BASE, 5 * PAGE_SIZE, RW, "m")
    aspace.copy_out(BASE, b"w" * 5 * PAGE_SIZE)
    assert aspace.resident == 5
    free, n_flush = frames.free_bytes, flushes.n
    aspace.remove(BASE + PAGE_SIZE, 2 * PAGE_SIZE)
    assert [(v.start - BASE, v.end - BASE, v.name) for v in aspace.vmas] == [
        (0, PAGE_SIZE, "m"), (3 * PAGE_SIZE, 5 * PAGE_SIZE, "m")]
    assert frames.free_bytes == free + 2 * PAGE_SIZE
    assert aspace.resident == 3
    assert flushes.n == n_flush + 1
    assert aspace.pt.walk(BASE + PAGE_SIZE) == 0 and aspace.pt.walk(BASE + 2 * PAGE_SIZE) == 0
    assert aspace.copy_in(BASE, 1) == b"w" and aspace.copy_in(BASE + 3 * PAGE_SIZE, 1) == b"w"
    with pytest.raises(KernelError):
        aspace.copy_in(BASE + PAGE_SIZE, 1)
    with pytest.raises(SegFault):
        aspace.fault(BASE + 2 * PAGE_SIZE, WRITE_FAULT)
    # Removing a hole changes nothing and flushes nothing.
    aspace.remove(BASE + PAGE_SIZE, 2 * PAGE_SIZE)
    assert flushes.n == n_flush + 1
    check_sane(aspace)


def test_discard_makes_pages_read_back_zero(aspace, frames) -> None:
    aspace.add(BASE, 3 * PAGE_SIZE, RW)
    aspace.copy_out(BASE, b"d" * 3 * PAGE_SIZE)
    free = frames.free_bytes
    aspace.discard(BASE + PAGE_SIZE, PAGE_SIZE)
    assert frames.free_bytes == free + PAGE_SIZE
    assert len(aspace.vmas) == 1  # the mapping stays
    assert aspace.copy_in(BASE + PAGE_SIZE, PAGE_SIZE) == bytes(PAGE_SIZE)
    assert aspace.copy_in(BASE, 2) == b"dd"
    assert aspace.copy_in(BASE + 2 * PAGE_SIZE, 2) == b"dd"
    check_sane(aspace)


def test_destroy_frees_every_frame_and_table(ram, flushes, codes) -> None:
    frames = new_frames()
    start = frames.free_bytes
    aspace = AddressSpace(ram, frames, kernel_entry=0, on_flush=flushes, on_code=codes)
    aspace.add(BASE, 8 * PAGE_SIZE, RW)
    aspace.add(0x0000_5555_5555_4000, 4 * PAGE_SIZE, RX)
    aspace.add(STACK_TOP - 16 * PAGE_SIZE, 16 * PAGE_SIZE, RW, grows_down=True)
    aspace.copy_out(BASE, b"a" * 8 * PAGE_SIZE)
    aspace.copy_out(0x0000_5555_5555_4000, b"c" * 4 * PAGE_SIZE, force=True)
    aspace.fault(STACK_TOP - 8, WRITE_FAULT)
    aspace.fault(STACK_TOP - 32 * PAGE_SIZE, WRITE_FAULT)  # grows
    assert frames.free_bytes < start - 14 * PAGE_SIZE
    aspace.destroy()
    assert aspace.vmas == []
    assert frames.free_bytes == start


def test_on_code_when_the_kernel_writes_code(aspace, codes) -> None:
    """Translated code is dropped only when the kernel fills executable pages (the loader)
    or execute permission is added, not for every executable mapping."""
    aspace.add(BASE, PAGE_SIZE, RW)
    aspace.add(BASE + PAGE_SIZE, PAGE_SIZE, RX)
    assert codes.n == 0
    aspace.copy_out(BASE, b"data", force=True)
    assert codes.n == 0
    aspace.copy_out(BASE + PAGE_SIZE, b"\x90\xc3", force=True)
    assert codes.n == 1
    aspace.protect(BASE, PAGE_SIZE, RX)
    assert codes.n == 2


# -- property: random VMA operations keep the list sane --------------------------

WINDOW = 16  # pages
W_BASE = 0x80_0000
op = st.tuples(st.sampled_from(["add", "remove", "protect", "read", "write", "fetch"]),
               st.integers(0, WINDOW - 1), st.integers(1, 6),
               st.sampled_from([Prot.NONE, Prot.READ, RW, RX, RW | Prot.EXEC]))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(op, max_size=25))
def test_random_vma_operations_keep_vmas_sane(ram, ops) -> None:
    frames = new_frames()
    start_free = frames.free_bytes
    aspace = AddressSpace(ram, frames, 0, lambda _root: None, lambda: None)
    model: dict[int, Prot] = {}  # page index -> protection
    check_sane(aspace)
    for kind, first, count, prot in ops:
        va, length = W_BASE + first * PAGE_SIZE, count * PAGE_SIZE
        pages = range(first, first + count)
        if kind == "add":
            aspace.add(va, length, prot)
            model.update({p: prot for p in pages})
        elif kind == "remove":
            aspace.remove(va, length)
            for p in pages:
                model.pop(p, None)
        elif kind == "protect":
            try:
                aspace.protect(va, length, prot)
            except KernelError as e:
                assert e.errno == Errno.ENOMEM
                assert any(p not in model for p in pages)
            else:
                assert all(p in model for p in pages)
                model.update({p: prot for p in pages})
        else:  # a fault as the CPU would report it
            pte = aspace.pt.walk(va)
            present = bool(pte & Pte.PRESENT)
            error = {"read": READ_FAULT, "write": WRITE_FAULT, "fetch": FETCH_FAULT}[kind]
            need = {"read": Prot.NONE, "write": Prot.WRITE, "fetch": Prot.EXEC}[kind]
            vma_prot = model.get(first, Prot.NONE)
            # A fault the entry already allows is spurious (another CPU mended the entry
            # after this one walked it): the access just runs again.
            spurious = bool(pte & Pte.USER) and (kind != "write" or bool(pte & Pte.WRITABLE)) \
                and not (kind == "fetch" and pte & Pte.NO_EXECUTE)
            allowed = spurious or not present and vma_prot != Prot.NONE and vma_prot & need == need
            try:
                aspace.fault(va, error | (PF_P if present else 0))
            except SegFault as e:
                assert not allowed
                assert e.error & PF_U
            else:
                assert allowed
                assert aspace.pt.walk(va) & Pte.PRESENT
        check_sane(aspace)
        got = {}
        for vma in aspace.vmas:
            for a in range(vma.start, vma.end, PAGE_SIZE):
                got[(a - W_BASE) // PAGE_SIZE] = vma.prot
        assert got == model
    aspace.destroy()
    assert frames.free_bytes == start_free
