"""Tests for the physical-frame buddy allocator."""

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.buddy import PAGE_SIZE, BuddyAllocator

MiB = 1 << 20


def free_state(b: BuddyAllocator) -> list[frozenset[int]]:
    # Peeks at the free sets: block counts alone would not catch a wrong merge address.
    return [frozenset(s) for s in b._free]


def test_split_then_coalesce_restores_single_block() -> None:
    b = BuddyAllocator(0, MiB)
    assert b.free_blocks(8) == 1 and b.free_bytes == b.total_bytes == MiB
    addr = b.alloc(0)
    assert [b.free_blocks(o) for o in range(8)] == [1] * 8
    assert b.free_bytes == MiB - PAGE_SIZE
    b.free(addr)
    assert b.free_blocks(8) == 1
    assert all(b.free_blocks(o) == 0 for o in range(8))
    assert b.free_bytes == MiB


def test_large_blocks_are_naturally_aligned_to_zero() -> None:
    b = BuddyAllocator(0x4000_0000 - 2 * MiB, 2 * MiB + (1 << 30))
    assert b.free_blocks(18) == 1 and b.free_blocks(9) == 1
    assert b.alloc(18) == 0x4000_0000


def test_exhaustion_gives_enomem_and_free_recovers() -> None:
    b = BuddyAllocator(0, 64 * PAGE_SIZE)
    frames = [b.alloc() for _ in range(64)]
    assert len(set(frames)) == 64 and b.free_bytes == 0
    with pytest.raises(KernelError) as e:
        b.alloc()
    assert e.value.errno == Errno.ENOMEM
    b.free(frames[5])
    assert b.alloc() == frames[5]
    with pytest.raises(KernelError) as e:
        b.alloc(7)  # larger than the whole arena
    assert e.value.errno == Errno.ENOMEM


def test_bad_order_is_einval() -> None:
    b = BuddyAllocator(0, MiB, max_order=8)
    for order in (-1, 9):
        with pytest.raises(KernelError) as e:
            b.alloc(order)
        assert e.value.errno == Errno.EINVAL


def test_blocks_aligned_and_disjoint() -> None:
    b = BuddyAllocator(0, 4 * MiB)
    spans = []
    for order in [0, 3, 1, 5, 0, 2, 7, 0, 4, 6, 1, 0]:
        addr = b.alloc(order)
        size = PAGE_SIZE << order
        assert addr % size == 0
        spans.append((addr, addr + size))
    spans.sort()
    assert all(a[1] <= c[0] for a, c in zip(spans, spans[1:]))


def test_double_free_foreign_and_wrong_order_assert() -> None:
    b = BuddyAllocator(0, MiB)
    addr = b.alloc(2)
    with pytest.raises(AssertionError):
        b.free(addr, 1)
    b.free(addr, 2)
    with pytest.raises(AssertionError):
        b.free(addr, 2)
    with pytest.raises(AssertionError):
        b.free(0x1234_5000)
    assert b.free_bytes == MiB


def test_non_power_of_two_arena() -> None:
    base, size = 0x5000, 3 * MiB + 3 * PAGE_SIZE
    b = BuddyAllocator(base, size)
    initial = free_state(b)
    assert b.free_bytes == b.total_bytes == size
    for order, blocks in enumerate(initial):
        for addr in blocks:
            assert addr % (PAGE_SIZE << order) == 0
            assert base <= addr and addr + (PAGE_SIZE << order) <= base + size
    frames = []
    while True:
        try:
            frames.append(b.alloc())
        except KernelError as e:
            assert e.errno == Errno.ENOMEM
            break
    assert len(frames) == size // PAGE_SIZE
    assert all(base <= f < base + size for f in frames)
    for f in reversed(frames):
        b.free(f)
    assert free_state(b) == initial


def test_order_for() -> None:
    sizes = (0, 1, 4096, 4097, 8192, 1 << 30)
    assert [BuddyAllocator.order_for(n) for n in sizes] == [0, 0, 0, 1, 1, 18]


def test_deterministic() -> None:
    def run() -> list[int]:
        b = BuddyAllocator(0x5000, 3 * MiB)
        out = [b.alloc(o) for o in (0, 2, 1, 0, 4)]
        b.free(out[1], 2)
        return out + [b.alloc(0), b.alloc(3)]

    assert run() == run()


class BuddyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.b = BuddyAllocator(0x3000, 2 * MiB + 5 * PAGE_SIZE, max_order=10)
        self.initial = free_state(self.b)
        self.live: dict[int, int] = {}

    @rule(order=st.integers(0, 10))
    def alloc(self, order: int) -> None:
        try:
            addr = self.b.alloc(order)
        except KernelError as e:
            assert e.errno == Errno.ENOMEM
            # ENOMEM only when no free block of order >= requested exists.
            assert all(self.b.free_blocks(o) == 0 for o in range(order, 11))
            return
        assert addr % (PAGE_SIZE << order) == 0 and addr not in self.live
        self.live[addr] = order

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def free(self, data: st.DataObject) -> None:
        addr = data.draw(st.sampled_from(sorted(self.live)))
        self.b.free(addr, self.live.pop(addr))

    @precondition(lambda self: self.live)
    @rule()
    def free_all(self) -> None:
        for addr, order in self.live.items():
            self.b.free(addr, order)
        self.live.clear()
        assert free_state(self.b) == self.initial

    @invariant()
    def accounting_and_no_overlap(self) -> None:
        used = sum(PAGE_SIZE << o for o in self.live.values())
        assert self.b.free_bytes + used == self.b.total_bytes
        spans = sorted((a, a + (PAGE_SIZE << o)) for a, o in self.live.items())
        # Free blocks count too: a frame both free and live would be handed out twice.
        spans += [(a, a + (PAGE_SIZE << o)) for o, s in enumerate(self.b._free) for a in s]
        spans.sort()
        assert all(x[1] <= y[0] for x, y in zip(spans, spans[1:]))
        assert all(self.b.base <= s and e <= self.b.end for s, e in spans)

    def teardown(self) -> None:
        for addr, order in self.live.items():
            self.b.free(addr, order)
        assert free_state(self.b) == self.initial


BuddyMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
TestBuddyMachine = BuddyMachine.TestCase
