"""Buddy allocator over the physical page frames of guest RAM.

Owns: which physical frames are free or allocated, in naturally aligned blocks
of ``PAGE_SIZE << order`` bytes (order 0 = 4 KiB .. 18 = 1 GiB).
Never: reads or writes RAM contents, or knows which process holds a block;
zeroing and ownership belong to its callers.
Called by: ``kernel.mm`` page tables and address spaces, to get and return frames.
"""

from cloudos.kernel.errno import Errno, KernelError

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT


class BuddyAllocator:
    """Physical frames in [base, base+size), handed out as power-of-two blocks."""

    def __init__(self, base: int, size: int, max_order: int = 18) -> None:
        assert base % PAGE_SIZE == 0 and size % PAGE_SIZE == 0, "arena must be page-aligned"
        assert base >= 0 and size >= 0 and max_order >= 0, "bad arena"
        self.base, self.end, self.max_order = base, base + size, max_order
        # Sets give O(1) insert/remove/membership; set.pop() on ints is deterministic.
        self._free: list[set[int]] = [set() for _ in range(max_order + 1)]
        self._allocated: dict[int, int] = {}
        self._free_bytes = 0
        self.reclaim = lambda: 0  # frees cached frames (set by the page cache); returns how many
        addr = base
        while addr < self.end:
            order = self._largest_fit(addr)
            self._free[order].add(addr)
            self._free_bytes += PAGE_SIZE << order
            addr += PAGE_SIZE << order

    def _largest_fit(self, addr: int) -> int:
        """Largest order whose block at addr is aligned (to address 0) and fits the arena."""
        order = self.max_order
        while addr & ((PAGE_SIZE << order) - 1) or addr + (PAGE_SIZE << order) > self.end:
            order -= 1
        return order

    def _check_order(self, order: int) -> None:
        if not 0 <= order <= self.max_order:
            raise KernelError(Errno.EINVAL, f"order {order} outside 0..{self.max_order}")

    def alloc(self, order: int = 0) -> int:
        """Physical address of a free block of exactly ``order`` (a larger one is split)."""
        self._check_order(order)
        found = order
        while not self._free[found]:
            found += 1
            if found > self.max_order:
                if self.reclaim():  # type: ignore[no-untyped-call]  # a cache gave frames back
                    return self.alloc(order)
                raise KernelError(Errno.ENOMEM, f"no free block of order {order}")
        addr = self._free[found].pop()
        # Keep the low half, give the upper halves back one order at a time.
        while found > order:
            found -= 1
            self._free[found].add(addr + (PAGE_SIZE << found))
        self._allocated[addr] = order
        self._free_bytes -= PAGE_SIZE << order
        return addr

    def free(self, addr: int, order: int = 0) -> None:
        """Return a block from ``alloc`` and merge it with its free buddies."""
        held = self._allocated.get(addr)
        # A mismatch here is a kernel bug (double free, stray pointer), not a user error.
        assert held is not None, f"free of {addr:#x}: not an allocated block (double free?)"
        assert held == order, f"free of {addr:#x}: allocated at order {held}, freed at {order}"
        del self._allocated[addr]
        self._free_bytes += PAGE_SIZE << order
        # Only in-arena blocks ever enter the free sets, so membership also bounds the range.
        while order < self.max_order:
            buddy = addr ^ (PAGE_SIZE << order)
            if buddy not in self._free[order]:
                break
            self._free[order].remove(buddy)
            addr &= ~(PAGE_SIZE << order)
            order += 1
        self._free[order].add(addr)

    @property
    def free_bytes(self) -> int:
        """Bytes currently free."""
        return self._free_bytes

    @property
    def total_bytes(self) -> int:
        """Bytes managed by this allocator."""
        return self.end - self.base

    def free_blocks(self, order: int) -> int:
        """Number of free blocks of exactly ``order``."""
        self._check_order(order)
        return len(self._free[order])

    @staticmethod
    def order_for(nbytes: int) -> int:
        """Smallest order whose block holds ``nbytes`` (at least one page)."""
        return ((max(nbytes, 1) - 1) >> PAGE_SHIFT).bit_length()
