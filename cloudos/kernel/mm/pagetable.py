"""Four-level x86_64 page tables, written into guest RAM in the guide's PTE layout.

Owns: the PML4/PDPT/PD/PT frames of one address space and the entries in them.
Never: decides policy (which pages a process may have: that is ``vm``), or
touches the contents of the pages it maps. The vCPU caches translations
(notes/unicorn-facts.md), so callers flush the TLB after ``set_entry`` and
``unmap``, once per batch of changes.
Called by: ``kernel.mm.vm`` (address spaces) and the boot code (kernel half).
"""


from cloudos.abi.enums import IntFlag
from cloudos.hal.ram import PhysicalMemory
from cloudos.kernel.mm.buddy import PAGE_SIZE, BuddyAllocator


class Pte(IntFlag):
    """Bits of a page table entry (the guide's page_table_entry_t)."""

    PRESENT = 1 << 0
    WRITABLE = 1 << 1
    USER = 1 << 2
    WRITE_THROUGH = 1 << 3
    CACHE_DISABLE = 1 << 4
    ACCESSED = 1 << 5
    DIRTY = 1 << 6
    PAT = 1 << 7            # bit 7 is also "huge page" in a PD or PDPT entry
    GLOBAL = 1 << 8
    COW = 1 << 9            # the first "available" bit: copy this page on write
    NO_EXECUTE = 1 << 63


FRAME_MASK = ((1 << 40) - 1) << 12  # bits 12..51: the physical frame number
# Plain ints of the bits the hot paths test: IntFlag arithmetic costs microseconds.
PRESENT, WRITABLE, USER, ACCESSED, COW, NO_EXECUTE = (
    int(f) for f in (Pte.PRESENT, Pte.WRITABLE, Pte.USER, Pte.ACCESSED, Pte.COW, Pte.NO_EXECUTE))
TABLE_FLAGS = PRESENT | WRITABLE | USER  # leaves decide the real rights
KERNEL_SLOT = 256  # PML4 index of 0xFFFF_8000_0000_0000, shared by every address space


def indices(va: int) -> tuple[int, int, int, int]:
    """The PML4, PDPT, PD and PT indices of a virtual address."""
    return (va >> 39) & 511, (va >> 30) & 511, (va >> 21) & 511, (va >> 12) & 511


class PageTables:
    """The page tables of one address space, rooted at ``root`` (the value for CR3)."""

    def __init__(self, ram: PhysicalMemory, frames: BuddyAllocator,
                 kernel_entry: int = 0) -> None:
        self.ram, self.frames = ram, frames
        self.root = self._new_table()
        self.tables = [self.root]  # every frame this object owns, freed by destroy()
        self.leaves: dict[int, int] = {}  # va >> 21 -> word index in RAM of its leaf table
        if kernel_entry:
            ram.words[(self.root >> 3) + KERNEL_SLOT] = kernel_entry

    def _new_table(self) -> int:
        frame = self.frames.alloc(0)
        self.ram.zero(frame, PAGE_SIZE)
        return frame

    def _leaf_slot(self, va: int, create: bool) -> int:
        """Word index in RAM of the PTE for ``va``, or -1 when a table is missing. Each
        2 MiB's leaf table is remembered once found (``leaves``): a table is freed only
        with all the others (``destroy``), so the walk is done once per table."""
        leaf = self.leaves.get(va >> 21)
        if leaf is None:
            words, table = self.ram.words, self.root
            for index in indices(va)[:3]:
                slot = (table >> 3) + index
                entry = words[slot]
                if not entry & PRESENT:
                    if not create:
                        return -1
                    child = self._new_table()
                    self.tables.append(child)
                    entry = words[slot] = child | TABLE_FLAGS
                table = entry & FRAME_MASK
            leaf = self.leaves[va >> 21] = table >> 3
        return leaf + ((va >> 12) & 511)

    def map(self, va: int, frame: int, flags: int) -> None:
        """Point the page at ``va`` to ``frame``. The page must not be mapped."""
        slot = self._leaf_slot(va, True)
        assert not self.ram.words[slot] & PRESENT, f"page {va:#x} already mapped"
        self.ram.words[slot] = frame | flags | PRESENT

    def walk(self, va: int) -> int:
        """The PTE of ``va`` (0 when nothing is mapped there)."""
        slot = self._leaf_slot(va, False)
        return self.ram.words[slot] if slot >= 0 else 0

    def set_entry(self, va: int, pte: int) -> None:
        """Replace the PTE of a mapped page; the caller flushes the TLB once it is done."""
        slot = self._leaf_slot(va, False)
        assert slot >= 0, f"page {va:#x} has no page table"
        self.ram.words[slot] = pte

    def unmap(self, va: int) -> int:
        """Remove the page at ``va``; return its old PTE (0 when none was mapped)."""
        slot = self._leaf_slot(va, False)
        if slot < 0:
            return 0
        old = self.ram.words[slot]
        self.ram.words[slot] = 0
        return old

    def mapped(self, start: int, end: int) -> list[tuple[int, int]]:
        """(va, pte) of every present page in [start, end), in order.

        A descent through the tables that reads each one's slots in one slice, so
        the cost follows the tables that exist, not the size of the range.
        """
        out: list[tuple[int, int]] = []
        self._collect(self.root, 39, 0, start, end, out)
        return out

    def _collect(self, table: int, shift: int, base: int, start: int, end: int,
                 out: list[tuple[int, int]]) -> None:
        span = 1 << shift
        first = max(0, (start - base) >> shift)
        last = min(512, (end - base + span - 1) >> shift)
        slots = self.ram.words[(table >> 3) + first:(table >> 3) + last].tolist()
        for index, entry in enumerate(slots, first):
            if entry & PRESENT:
                va = base + (index << shift)
                if shift == 12:
                    out.append((va, entry))
                else:
                    self._collect(entry & FRAME_MASK, shift - 9, va, start, end, out)

    def destroy(self) -> None:
        """Free the table frames (not the pages they map: the address space owns those)."""
        for frame in self.tables:
            self.frames.free(frame, 0)
        self.tables, self.leaves = [], {}
