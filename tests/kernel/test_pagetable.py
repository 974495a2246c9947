"""Page tables: entries read back straight from guest RAM, in the guide's PTE layout."""

from __future__ import annotations

import pytest

from cloudos.hal.ram import PhysicalMemory
from cloudos.kernel.mm.buddy import PAGE_SIZE, BuddyAllocator
from cloudos.kernel.mm.pagetable import (FRAME_MASK, KERNEL_SLOT, TABLE_FLAGS, PageTables,
                                         Pte, indices)

MIB = 1 << 20
RAM_SIZE = 64 * MIB

# The guide's page_table_entry_t, bit by bit.
GUIDE_BITS = {
    "PRESENT": 0, "WRITABLE": 1, "USER": 2, "WRITE_THROUGH": 3, "CACHE_DISABLE": 4,
    "ACCESSED": 5, "DIRTY": 6, "PAT": 7, "GLOBAL": 8, "NO_EXECUTE": 63,
}
AVAILABLE_LOW = range(9, 12)
FRAME_BITS = range(12, 52)
AVAILABLE_HIGH = range(52, 63)


@pytest.fixture(scope="module")
def ram() -> PhysicalMemory:
    return PhysicalMemory(RAM_SIZE)


@pytest.fixture
def frames() -> BuddyAllocator:
    return BuddyAllocator(1 * MIB, RAM_SIZE - 1 * MIB)


@pytest.fixture
def pt(ram: PhysicalMemory, frames: BuddyAllocator):
    tables = PageTables(ram, frames)
    yield tables
    if tables.tables:
        tables.destroy()


def word(ram: PhysicalMemory, paddr: int) -> int:
    """The 64-bit little-endian word at ``paddr``, read two ways that must agree."""
    value = ram.words[paddr >> 3]
    assert value == int.from_bytes(ram.read(paddr, 8), "little")
    return value


def hand_walk(ram: PhysicalMemory, root: int, va: int) -> tuple[list[int], int]:
    """Walk PML4 -> PDPT -> PD -> PT by hand; return (the 3 table entries, the leaf PTE)."""
    idx = ((va >> 39) & 0x1FF, (va >> 30) & 0x1FF, (va >> 21) & 0x1FF, (va >> 12) & 0x1FF)
    table, upper = root, []
    for level in range(3):
        entry = word(ram, table + 8 * idx[level])
        assert entry & 1, f"level {level} entry for {va:#x} not present"
        upper.append(entry)
        table = entry & (((1 << 40) - 1) << 12)
    return upper, word(ram, table + 8 * idx[3])


# -- the layout ---------------------------------------------------------------

def test_pte_bits_match_the_guide() -> None:
    for name, bit in GUIDE_BITS.items():
        assert Pte[name] == 1 << bit, name
    # COW uses one of the three "available" bits 9-11.
    assert Pte.COW.value.bit_length() - 1 in AVAILABLE_LOW
    assert FRAME_MASK == sum(1 << b for b in FRAME_BITS)
    # No flag overlaps the frame number or the high available bits.
    for flag in Pte:
        assert not flag & FRAME_MASK
        assert not any(flag & (1 << b) for b in AVAILABLE_HIGH)
    assert TABLE_FLAGS == 0b111
    assert KERNEL_SLOT == 256


@pytest.mark.parametrize("va", [0, 0x1000, 0x0000_5555_5555_4000, 0x0000_7FFF_FFFF_F000,
                                0x0000_0040_2030_4000, (1 << 47) - PAGE_SIZE])
def test_indices_are_the_9_bit_fields(va: int) -> None:
    assert indices(va) == ((va >> 39) & 511, (va >> 30) & 511, (va >> 21) & 511,
                           (va >> 12) & 511)
    pml4, pdpt, pd, ptx = indices(va)
    assert va & ((1 << 48) - 1) & ~0xFFF == (pml4 << 39) | (pdpt << 30) | (pd << 21) | (ptx << 12)


def test_root_is_a_zeroed_page_from_the_allocator(ram, frames) -> None:
    before = frames.free_bytes
    pt = PageTables(ram, frames)
    assert pt.root % PAGE_SIZE == 0
    assert frames.base <= pt.root < frames.end
    assert frames.free_bytes == before - PAGE_SIZE
    assert ram.read(pt.root, PAGE_SIZE) == bytes(PAGE_SIZE)
    pt.destroy()
    assert frames.free_bytes == before


# -- map / walk ---------------------------------------------------------------

def test_map_writes_the_leaf_and_intermediate_entries(ram, frames, pt) -> None:
    va = 0x0000_7F12_3456_7000
    frame = frames.alloc(0)
    pt.map(va, frame, Pte.WRITABLE | Pte.USER | Pte.NO_EXECUTE)
    upper, leaf = hand_walk(ram, pt.root, va)
    for entry in upper:
        assert entry & 0b111 == 0b111, f"{entry:#x}: table entry not present+writable+user"
        assert not entry & (1 << 63)
        table = entry & FRAME_MASK
        assert frames.base <= table < frames.end and table % PAGE_SIZE == 0
    assert leaf == frame | 1 | 2 | 4 | (1 << 63)
    assert (leaf >> 12) & ((1 << 40) - 1) == frame >> 12
    assert pt.walk(va) == leaf
    # Three new tables (PDPT, PD, PT) besides the root.
    assert len(pt.tables) == 4
    frames.free(frame, 0)


def test_map_sets_present_and_keeps_each_flag_bit(ram, frames, pt) -> None:
    flags = [Pte.WRITABLE, Pte.USER, Pte.WRITE_THROUGH, Pte.CACHE_DISABLE, Pte.ACCESSED,
             Pte.DIRTY, Pte.PAT, Pte.GLOBAL, Pte.COW, Pte.NO_EXECUTE]
    base = 0x40_0000
    for i, flag in enumerate(flags):
        va, frame = base + i * PAGE_SIZE, (2 * MIB) + i * PAGE_SIZE
        pt.map(va, frame, flag)
        _, leaf = hand_walk(ram, pt.root, va)
        assert leaf == frame | flag | 1, f"{flag!r}: {leaf:#x}"
    # They all share one PT: only 4 tables in all.
    assert len(pt.tables) == 4


def test_map_only_a_leaf_table_entry_for_neighbours(ram, frames, pt) -> None:
    pt.map(0x1000, 3 * MIB, Pte.USER)
    pt.map(0x2000, 3 * MIB + PAGE_SIZE, Pte.USER)
    assert len(pt.tables) == 4
    pt.map(0x20_0000, 3 * MIB, Pte.USER)  # next PD slot: one more PT
    assert len(pt.tables) == 5
    pt.map(0x4000_0000, 3 * MIB, Pte.USER)  # next PDPT slot: a PD and a PT
    assert len(pt.tables) == 7
    pt.map(1 << 39, 3 * MIB, Pte.USER)  # next PML4 slot: PDPT, PD, PT
    assert len(pt.tables) == 10
    root_entries = [word(ram, pt.root + 8 * i) for i in range(512)]
    assert [i for i, e in enumerate(root_entries) if e] == [0, 1]


def test_walk_of_unmapped_is_zero(pt) -> None:
    assert pt.walk(0x1234_5000) == 0  # no tables at all
    pt.map(0x1234_5000, 4 * MIB, Pte.USER)
    assert pt.walk(0x1234_6000) == 0  # tables, but an empty slot
    assert pt.walk(0x1234_5000) & Pte.PRESENT


def test_mapping_the_same_page_twice_asserts(pt) -> None:
    pt.map(0x5000, 4 * MIB, Pte.USER)
    with pytest.raises(AssertionError):
        pt.map(0x5000, 4 * MIB + PAGE_SIZE, Pte.USER | Pte.WRITABLE)
    assert pt.walk(0x5000) == 4 * MIB | Pte.USER | Pte.PRESENT


# -- set_entry / unmap --------------------------------------------------------

def test_set_entry_rewrites_the_word_in_ram(ram, pt) -> None:
    va, frame = 0x7000, 5 * MIB
    pt.map(va, frame, Pte.USER | Pte.WRITABLE)
    new = frame | Pte.PRESENT | Pte.USER | Pte.NO_EXECUTE | Pte.DIRTY
    pt.set_entry(va, new)
    _, leaf = hand_walk(ram, pt.root, va)
    assert leaf == new == (frame | 1 | 4 | (1 << 6) | (1 << 63))
    assert pt.walk(va) == new


def test_set_entry_without_a_table_asserts(pt) -> None:
    with pytest.raises(AssertionError):
        pt.set_entry(0x9000_0000, 5 * MIB | Pte.PRESENT)


def test_unmap_clears_the_word_and_returns_the_old_pte(ram, pt) -> None:
    va, frame = 0x8000, 6 * MIB
    pt.map(va, frame, Pte.USER)
    upper_before, _ = hand_walk(ram, pt.root, va)
    assert pt.unmap(va) == frame | Pte.USER | Pte.PRESENT
    upper_after, leaf = hand_walk(ram, pt.root, va)
    assert leaf == 0 and pt.walk(va) == 0
    assert upper_after == upper_before  # tables stay until destroy
    assert pt.unmap(va) == 0
    assert pt.unmap(0x55_0000_0000) == 0  # no table
    pt.map(va, frame + PAGE_SIZE, Pte.USER)  # may be mapped again
    assert pt.walk(va) & FRAME_MASK == frame + PAGE_SIZE


# -- mapped -------------------------------------------------------------------

def test_mapped_yields_exactly_the_mapped_pages_in_order(pt) -> None:
    vas = [0x1000, 0x3000, 0x1F_F000, 0x20_0000, 0x3FFF_F000, 0x4000_0000,
           0x80_0000_0000, 0x80_0000_5000, 0x7FFF_FFFF_F000]
    expected = []
    for i, va in enumerate(vas):
        frame = 8 * MIB + i * PAGE_SIZE
        pt.map(va, frame, Pte.USER | Pte.WRITABLE)
        expected.append((va, frame | 0b111))
    pt.unmap(0x3000)
    expected = [e for e in expected if e[0] != 0x3000]
    assert list(pt.mapped(0, 1 << 47)) == expected
    # Sub-ranges: start inclusive, end exclusive.
    assert [va for va, _ in pt.mapped(0x1000, 0x20_0000)] == [0x1000, 0x1F_F000]
    assert [va for va, _ in pt.mapped(0x1F_F000, 0x20_1000)] == [0x1F_F000, 0x20_0000]
    assert [va for va, _ in pt.mapped(0x2000, 0x1F_F000)] == []
    assert [va for va, _ in pt.mapped(0x3FFF_F000, 0x80_0000_1000)] == \
        [0x3FFF_F000, 0x4000_0000, 0x80_0000_0000]
    assert list(pt.mapped(0x5000, 0x5000)) == []


def test_mapped_over_an_empty_space_is_empty(pt) -> None:
    assert list(pt.mapped(0, 1 << 47)) == []


# -- destroy / kernel half ----------------------------------------------------

def test_destroy_returns_every_table_frame(ram, frames) -> None:
    start = frames.free_bytes
    pt = PageTables(ram, frames)
    for i, va in enumerate([0x1000, 0x20_0000, 0x4000_0000, 1 << 39, 0x7FFF_FFFF_F000]):
        pt.map(va, 10 * MIB + i * PAGE_SIZE, Pte.USER)
    used = start - frames.free_bytes
    assert used == len(pt.tables) * PAGE_SIZE
    assert len(set(pt.tables)) == len(pt.tables)
    pt.destroy()
    assert pt.tables == []
    assert frames.free_bytes == start
    # Everything merged back: one more allocate-everything round works the same.
    assert frames.free_blocks(0) == BuddyAllocator(1 * MIB, RAM_SIZE - 1 * MIB).free_blocks(0)


def test_kernel_entry_lands_at_pml4_slot_256(ram, frames) -> None:
    kernel = PageTables(ram, frames)
    kernel.map(0xFFFF_8000_0000_0000, 0, Pte.WRITABLE | Pte.GLOBAL)
    entry = word(ram, kernel.root + 8 * 256)
    assert entry & Pte.PRESENT
    start = frames.free_bytes
    user = PageTables(ram, frames, kernel_entry=entry)
    assert word(ram, user.root + 8 * 256) == entry
    assert indices(0xFFFF_8000_0000_0000)[0] == 256
    assert [i for i in range(512) if word(ram, user.root + 8 * i)] == [256]
    # The shared kernel table is reached through the user root too ...
    assert user.walk(0xFFFF_8000_0000_0000) == kernel.walk(0xFFFF_8000_0000_0000)
    assert user.walk(0xFFFF_8000_0000_0000) == Pte.PRESENT | Pte.WRITABLE | Pte.GLOBAL
    # ... but it is not the user's to free.
    user.map(0x1000, 12 * MIB, Pte.USER)
    user.destroy()
    assert frames.free_bytes == start
    kernel.destroy()


def test_no_kernel_entry_leaves_slot_256_empty(ram, pt) -> None:
    assert word(ram, pt.root + 8 * 256) == 0
