"""Linux address spaces: fork, release and runs of shared frames, done a leaf table at a
time, leave exactly what the kernel's per-page methods leave (the fast path and the slow
path agree)."""

from __future__ import annotations

from typing import Any

import pytest

from cloudos.errno import Errno, KernelError
from cloudos.hal.ram import PhysicalMemory
from cloudos.kernel.mm.buddy import PAGE_SIZE, BuddyAllocator
from cloudos.kernel.mm.pagetable import ACCESSED, FRAME_MASK, USER, WRITABLE
from cloudos.kernel.mm.vm import USER_END, AddressSpace, Prot
from cloudos.linux.aspace import DIRTY, FrameRefs, LinuxAddressSpace

MIB = 1 << 20
RAM_SIZE = 32 * MIB
RW, RX = Prot.READ | Prot.WRITE, Prot.READ | Prot.EXEC
WRITE_FAULT, READ_FAULT = 2 | 4, 4
LEAF = 2 * MIB
RW_PTE = USER | WRITABLE
BASE = 0x40_0000 + LEAF - 3 * PAGE_SIZE  # VMAs straddle a leaf table's edge


def owners(cls: type[AddressSpace]) -> Any:
    """Empty owner counts for ``cls``: the kernel's dict, or the Linux array."""
    return FrameRefs(RAM_SIZE) if issubclass(cls, LinuxAddressSpace) else {}


class Flushes:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *root: int) -> None:
        self.n += 1


def snapshot(spaces: list[AddressSpace], frames: BuddyAllocator,
             flushes: Flushes) -> tuple[Any, ...]:
    """What both implementations must agree on, with frames named by first appearance
    (the two machines' allocators may hand out different addresses)."""
    names: dict[int, int] = {}
    pages = []
    for space in spaces:
        entries = []
        for va, pte in space.pt.mapped(0, USER_END):
            frame = pte & FRAME_MASK
            entries.append((va, pte & ~FRAME_MASK, names.setdefault(frame, len(names)),
                            space.ram.read(frame, 8)))
        pages.append((entries, space.resident))
    refs = sorted((names.get(frame, -1), n) for frame, n in spaces[0].refs.items())
    return tuple(pages), refs, frames.free_bytes, flushes.n


def scenario(cls: type[AddressSpace], refs: Any = None) -> list[tuple[Any, ...]]:
    """One life of a process and its fork on a fresh machine; a snapshot after each step."""
    ram, frames, flushes = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB), Flushes()
    parent = cls(ram, frames, 0, flushes, lambda: None, owners(cls) if refs is None else refs)
    cached = [frames.alloc(0) for _ in range(6)]  # page-cache frames: another owner keeps them
    for i, frame in enumerate(cached):
        ram.write(frame, b"file%d" % i)
    steps = []
    parent.add(BASE, 6 * PAGE_SIZE, RX, "text")
    if isinstance(parent, LinuxAddressSpace):
        parent.share_run(BASE, cached)
    else:
        for i, frame in enumerate(cached):
            parent.share(BASE + i * PAGE_SIZE, frame)
    data = BASE + 8 * PAGE_SIZE
    parent.add(data, 4 * PAGE_SIZE, RW, "data")
    parent.copy_out(data + PAGE_SIZE, b"private")
    parent.fault(data + 3 * PAGE_SIZE, WRITE_FAULT)
    shared = BASE + 16 * PAGE_SIZE
    parent.add(shared, 3 * PAGE_SIZE, RW, "shm", shared=True)
    parent.copy_out(shared, b"shared")
    none = BASE + 24 * PAGE_SIZE
    parent.add(none, PAGE_SIZE, RW, "none")
    parent.fault(none, READ_FAULT)
    parent.protect(none, PAGE_SIZE, Prot.NONE)
    steps.append(snapshot([parent], frames, flushes))
    child = parent.fork()
    assert type(child) is cls
    steps.append(snapshot([parent, child], frames, flushes))
    child.copy_out(data + PAGE_SIZE, b"child")     # breaks COW
    child.copy_out(shared + PAGE_SIZE, b"both")    # shared: both see it
    steps.append(snapshot([parent, child], frames, flushes))
    parent.remove(BASE + 2 * PAGE_SIZE, 8 * PAGE_SIZE)  # across the leaf tables' edge
    steps.append(snapshot([parent, child], frames, flushes))
    parent.discard(data + 2 * PAGE_SIZE, 2 * PAGE_SIZE)
    steps.append(snapshot([parent, child], frames, flushes))
    child.destroy()
    steps.append(snapshot([parent], frames, flushes))
    parent.destroy()
    steps.append((frames.free_bytes + len(cached) * PAGE_SIZE == frames.total_bytes,
                  parent.refs, flushes.n))
    return steps


def test_fast_paths_agree_with_the_kernel() -> None:
    slow, fast = scenario(AddressSpace), scenario(LinuxAddressSpace)
    assert len(fast) == len(slow)
    for step, (want, got) in enumerate(zip(slow, fast)):
        assert got == want, f"step {step}"
    assert fast[-1] == (True, {}, fast[-1][2])  # every frame back, no reference left


def test_frame_refs_behave_as_the_kernels_dict() -> None:
    """The kernel's per-page methods leave the same over FrameRefs as over a dict, and
    FrameRefs is a mapping of shared frames to owners (one owner: no entry)."""
    assert scenario(AddressSpace, FrameRefs(RAM_SIZE)) == scenario(AddressSpace, {})
    refs = FrameRefs(RAM_SIZE)
    refs[5 * PAGE_SIZE] = 2
    refs[9 * PAGE_SIZE] = 70000
    assert dict(refs) == {5 * PAGE_SIZE: 2, 9 * PAGE_SIZE: 70000} and len(refs) == 2
    assert refs.get(5 * PAGE_SIZE, 1) == 2 and refs.get(6 * PAGE_SIZE, 1) == 1
    assert 6 * PAGE_SIZE not in refs and 5 * PAGE_SIZE + 1 not in refs and -PAGE_SIZE not in refs
    assert RAM_SIZE not in refs and refs.get(RAM_SIZE) is None
    del refs[5 * PAGE_SIZE]
    for bad in (lambda: refs[5 * PAGE_SIZE], lambda: refs.__delitem__(5 * PAGE_SIZE)):
        with pytest.raises(KeyError):
            bad()
    for frame, count in ((6 * PAGE_SIZE, 1), (RAM_SIZE, 2), (PAGE_SIZE + 8, 2)):
        with pytest.raises(ValueError):
            refs[frame] = count
    assert refs == {9 * PAGE_SIZE: 70000} and refs != {}


def test_linux_spaces_take_only_frame_refs() -> None:
    ram, frames = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB)
    with pytest.raises(TypeError):
        LinuxAddressSpace(ram, frames, 0, Flushes(), lambda: None, {})  # type: ignore[arg-type]


def test_leaf_loops_check_before_they_change() -> None:
    """_leaves.c refuses entries outside RAM and frames past the counts, changing nothing."""
    from cloudos.linux import _leaves  # type: ignore[attr-defined]

    ram, refs = PhysicalMemory(RAM_SIZE), FrameRefs(RAM_SIZE // 2)
    words, table = ram.words, (4 * MIB) >> 3
    words[table] = (RAM_SIZE - PAGE_SIZE) | 3  # present, a frame the counts do not cover
    before = bytes(ram.bytes[8 * table:8 * (table + 1024)])
    attempts = [lambda: _leaves.release(words, len(words) - 8, 16, refs.counts, [], None),
                lambda: _leaves.release(words, table, 512, refs.counts, [], None),
                lambda: _leaves.fork(words, table, table + 512, 512, refs.counts, []),
                lambda: _leaves.fork(words, table, table + 256, 512, refs.counts, []),
                lambda: _leaves.share(words, table + 1, [RAM_SIZE], 1, refs.counts),
                lambda: _leaves.share(words, table + 1, [PAGE_SIZE + 1], 1, refs.counts)]
    for attempt in attempts:
        with pytest.raises((IndexError, ValueError)):
            attempt()
    assert bytes(ram.bytes[8 * table:8 * (table + 1024)]) == before and not len(refs)
    assert not _leaves.share(words, table, [PAGE_SIZE], 1, refs.counts)  # in use


def test_forget_replaces_the_flush_of_shrinking_entries_but_not_of_a_destroy() -> None:
    """With ``forget`` (KVM's forget_frames), munmap, mprotect and a copy-on-write copy
    for the kernel's write hand the frames whose entries shrank to it instead of
    flushing; a refusal still flushes; destroy always flushes (its tables' frames are
    freed, and a shadow of a table must not outlive it)."""
    ram, frames, flushes = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB), Flushes()
    space = LinuxAddressSpace(ram, frames, 0, flushes, lambda: None, FrameRefs(RAM_SIZE))
    told: list[list[int]] = []
    answer = [True]

    def forget(gone: list[int]) -> bool:
        told.append(sorted(gone))
        return answer[0]

    space.forget = forget
    space.add(BASE, 8 * PAGE_SIZE, RW)
    for i in range(8):
        space.fault(BASE + i * PAGE_SIZE, WRITE_FAULT)
    frame = [space.pt.walk(BASE + i * PAGE_SIZE) & FRAME_MASK for i in range(8)]
    space.remove(BASE, PAGE_SIZE)
    assert told == [[frame[0]]] and flushes.n == 0
    space.protect(BASE + PAGE_SIZE, 2 * PAGE_SIZE, Prot.READ)
    assert told[-1] == sorted(frame[1:3]) and flushes.n == 0
    cached = frames.alloc(0)  # a page another owner keeps, shared copy-on-write
    ram.write(cached, b"cached")
    space.add(BASE + 16 * PAGE_SIZE, PAGE_SIZE, RW, "file")
    space.share_run(BASE + 16 * PAGE_SIZE, [cached])
    assert space.user_frame(BASE + 16 * PAGE_SIZE, True) != cached  # the kernel writes: a copy
    assert told[-1] == [cached] and flushes.n == 0
    answer[0] = False
    space.remove(BASE + 3 * PAGE_SIZE, PAGE_SIZE)
    assert told[-1] == [frame[3]] and flushes.n == 1  # refused: flushed
    answer[0] = True
    space.destroy()
    assert flushes.n == 2


class _Kept:
    """Table frames kept until a zap, as KVM's ``table_frames`` keeps them."""

    def __init__(self, frames: BuddyAllocator) -> None:
        self.frames, self.held = frames, []

    def alloc(self, order: int = 0) -> int:
        return self.frames.alloc(order)

    def free(self, frame: int, order: int = 0) -> None:
        self.held.append(frame)


def test_a_destroy_whose_tables_frames_are_kept_neither_flushes_nor_forgets() -> None:
    """Where the CPU keeps the frames of gone tables from new tables until its next zap
    (KVM on one CPU), a destroy hands its tables' frames to that keeper and its pages back
    to the allocator, and neither flushes nor asks ``forget``: what the CPU built of the
    space is reached only through its tables, and none is made in their frames before
    the zap. A space whose tables take frames from the allocator flushes, as before."""
    ram, frames, flushes = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB), Flushes()
    told: list[list[int]] = []
    for kept in (_Kept(frames), None):
        space = LinuxAddressSpace(ram, frames, 0, flushes, lambda: None, FrameRefs(RAM_SIZE))
        space.forget = lambda gone: bool(told.append(sorted(gone))) or True
        if kept is not None:
            space.pt.frames = kept  # type: ignore[assignment]
        space.add(BASE, 8 * PAGE_SIZE, RW)
        for i in range(8):
            space.fault(BASE + i * PAGE_SIZE, WRITE_FAULT)
        tables, before = list(space.pt.tables), frames.free_bytes
        space.destroy()
        if kept is not None:
            assert kept.held == tables and not told and flushes.n == 0
            assert frames.free_bytes == before + 8 * PAGE_SIZE  # the pages, not the tables
        else:
            assert told and flushes.n == 1


def copies(cls: type[AddressSpace]) -> list[Any]:
    """User copies across a leaf table's edge over present, absent, COW, read-only and
    PROT_NONE pages: what each copy returns or raises, and the machine after each."""
    ram, frames, flushes = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB), Flushes()
    space = cls(ram, frames, 0, flushes, lambda: None, owners(cls))
    space.add(BASE, 8 * PAGE_SIZE, RW, "data")
    space.add(BASE + 8 * PAGE_SIZE, 2 * PAGE_SIZE, Prot.READ, "ro")
    space.add(BASE + 10 * PAGE_SIZE, PAGE_SIZE, Prot.NONE, "none")
    space.fault(BASE + PAGE_SIZE, WRITE_FAULT)
    space.fault(BASE + 2 * PAGE_SIZE, WRITE_FAULT)
    child = space.fork()  # the parent's present pages are COW now
    pattern = bytes(range(256)) * (12 * PAGE_SIZE // 256)
    out: list[Any] = []
    for va, length in ((BASE + 100, 5 * PAGE_SIZE), (BASE - 1, 10), (BASE + 3 * PAGE_SIZE - 7, 9),
                       (BASE + 7 * PAGE_SIZE, 2 * PAGE_SIZE), (BASE + 10 * PAGE_SIZE - 1, 2),
                       (BASE, 8 * PAGE_SIZE), (USER_END - 4, 8), (BASE, 0)):
        for op in ("out", "in"):
            try:
                if op == "out":
                    space.copy_out(va, pattern[:length])
                    result: Any = None
                else:
                    result = space.copy_in(va, length)
            except KernelError as err:
                result = err.errno
            out.append((va, length, op, result, snapshot([space, child], frames, flushes)))
    return out


def test_user_copies_agree_with_the_kernel() -> None:
    slow, fast = copies(AddressSpace), copies(LinuxAddressSpace)
    assert len(fast) == len(slow)
    for step, (want, got) in enumerate(zip(slow, fast)):
        assert got == want, f"copy {step}: {got[:3]}"
    assert any(isinstance(step[3], bytes) and len(step[3]) == 8 * PAGE_SIZE for step in fast)
    assert any(isinstance(step[3], int) for step in fast)  # some copies were refused


def test_user_runs_merge_contiguous_frames() -> None:
    ram, frames = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB)
    space = LinuxAddressSpace(ram, frames, 0, Flushes(), lambda: None, FrameRefs(RAM_SIZE))
    space.add(BASE, 4 * PAGE_SIZE, RW, "data")
    block = frames.alloc(2)  # four contiguous frames, mapped in order
    for i in range(4):
        space.pt.map(BASE + i * PAGE_SIZE, block + i * PAGE_SIZE, RW_PTE)
    assert space.user_runs(BASE + 10, 4 * PAGE_SIZE - 20, False) == [(block + 10,
                                                                      4 * PAGE_SIZE - 20)]
    space.pt.unmap(BASE + 2 * PAGE_SIZE)  # populated afresh: another frame, two runs more
    runs = space.user_runs(BASE, 4 * PAGE_SIZE, True)
    assert [size for _, size in runs] == [2 * PAGE_SIZE, PAGE_SIZE, PAGE_SIZE]
    assert runs[0][0] == block and runs[2][0] == block + 3 * PAGE_SIZE


def vma_story(cls: type[AddressSpace], seed: int) -> list[Any]:
    """Random adds (touching, overlapping, with equal or other rights and names), removes
    and mprotects over 24 pages: the VMAs after each step."""
    import random
    rng = random.Random(seed)
    ram, frames = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB)
    space = cls(ram, frames, 0, Flushes(), lambda: None, owners(cls))
    out: list[Any] = []
    for _ in range(60):
        start, pages = BASE + rng.randrange(24) * PAGE_SIZE, rng.randrange(1, 6)
        prot = rng.choice([Prot.READ, RW, RX])
        op = rng.choice(["add", "add", "remove", "protect"])
        try:
            if op == "add":
                space.add(start, pages * PAGE_SIZE, prot, rng.choice(["a", "b"]),
                          shared=rng.random() < 0.2)
                space.fault(start, READ_FAULT)
            elif op == "remove":
                space.remove(start, pages * PAGE_SIZE)
            else:
                space.protect(start, pages * PAGE_SIZE, prot)
        except KernelError as err:
            out.append(err.errno)
        out.append([(v.start, v.end, v.prot, v.name, v.shared) for v in space.vmas])
    return out


def test_vma_changes_agree_with_the_kernel() -> None:
    """LinuxAddressSpace's remove and _merge skip the kernel's work only when it would
    change nothing: the VMAs are the kernel's after every step."""
    errors = 0
    for seed in range(20):
        fast, slow = vma_story(LinuxAddressSpace, seed), vma_story(AddressSpace, seed)
        assert fast == slow, f"seed {seed}"
        assert any(len(step) > 3 for step in fast if isinstance(step, list))
        errors += sum(isinstance(step, int) for step in fast)
    assert errors  # some mprotect met a hole


def test_fork_copies_the_pages_asked_for_and_those_the_last_child_wrote() -> None:
    """A page this space alone holds, writable and private, asked for (or written first
    by the last child) is the child's own copy at once and stays writable here; a page
    also held by a third space, of a shared or read-only VMA, or absent, stays as fork
    leaves it. Each side reads its own writes only."""
    ram, frames = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB)
    parent = LinuxAddressSpace(ram, frames, 0, Flushes(), lambda: None, FrameRefs(RAM_SIZE))
    parent.add(BASE, 8 * PAGE_SIZE, RW, "data")
    parent.add(BASE + 8 * PAGE_SIZE, PAGE_SIZE, RW, "shm", shared=True)
    parent.add(BASE + 9 * PAGE_SIZE, PAGE_SIZE, Prot.READ, "ro")
    for i in range(10):
        parent.copy_out(BASE + i * PAGE_SIZE, b"page%d" % i, force=True)
    third = parent.fork()  # every page shared with a third space, COW
    third.copy_out(BASE + 2 * PAGE_SIZE, b"third")  # page 2: the parent's alone, still COW
    parent.copy_out(BASE + 3 * PAGE_SIZE, b"again")  # page 3: the parent's alone, writable
    asked = [BASE + i * PAGE_SIZE + 8 for i in (0, 2, 3, 4, 8, 9)] + [BASE + 7 * PAGE_SIZE]
    parent.discard(BASE + 7 * PAGE_SIZE, PAGE_SIZE)  # (absent: nothing to copy)
    child = parent.fork(tuple(asked))

    def entry(space: AddressSpace, page: int) -> int:
        return space.pt.walk(BASE + page * PAGE_SIZE)

    for page in (2, 3):
        assert entry(parent, page) & WRITABLE and entry(child, page) & WRITABLE
        assert entry(parent, page) & FRAME_MASK != entry(child, page) & FRAME_MASK
    for page in (0, 1, 4, 9):  # shared with the third space (or not asked), or read-only
        assert not entry(child, page) & WRITABLE
        assert entry(parent, page) & FRAME_MASK == entry(child, page) & FRAME_MASK
    assert entry(parent, 8) == entry(child, 8)  # shared: the same writable page
    child.copy_out(BASE + 3 * PAGE_SIZE, b"child")
    assert parent.copy_in(BASE + 3 * PAGE_SIZE, 5) == b"again"
    parent.copy_out(BASE, b"PARENT")
    assert child.copy_in(BASE, 6) == b"page0\0"
    child.copy_out(BASE + 5 * PAGE_SIZE, b"first")  # the child's first write: learnt
    assert BASE + 5 * PAGE_SIZE in parent.child_writes
    child.destroy()
    third.destroy()  # page 5 is the parent's alone again (still COW here)
    second = parent.fork()
    assert entry(parent, 5) & WRITABLE and entry(second, 5) & WRITABLE
    assert second.copy_in(BASE + 5 * PAGE_SIZE, 5) == b"page5"
    for space in (second, parent):
        space.destroy()
    assert frames.free_bytes == frames.total_bytes and parent.refs == {}


def test_fork_copies_none_early_when_frames_are_short() -> None:
    """The early copies' frames are taken before the fork changes anything, all or none:
    short of frames, fork copies on write as it would without them."""
    ram, frames = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB)
    space = LinuxAddressSpace(ram, frames, 0, Flushes(), lambda: None, FrameRefs(RAM_SIZE))
    hoard = []
    while frames.free_bytes > 2 * PAGE_SIZE:
        hoard.append(frames.alloc(0))
    assert space._frames_for(3) == [] and frames.free_bytes == 2 * PAGE_SIZE
    got = space._frames_for(2)
    assert len(got) == 2 and frames.free_bytes == 0
    for frame in got + hoard:
        frames.free(frame, 0)


def test_a_fork_short_of_frames_fails_leaving_the_parent_as_it_was() -> None:
    """ENOMEM wherever the frames run out (the child's root, upper or leaf tables, the
    early copies': those go without), with every entry, owner count and free frame as
    before; with enough frames the same fork succeeds."""
    ram, frames = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB)
    parent = LinuxAddressSpace(ram, frames, 0, Flushes(), lambda: None, FrameRefs(RAM_SIZE))
    for region in range(4):  # pages under four leaf tables, two PDPT entries
        start = BASE + region * (LEAF if region < 3 else 1 << 30)
        parent.add(start, 2 * PAGE_SIZE, RW, "data")
        parent.copy_out(start, b"region%d" % region)
    third = parent.fork()  # some frames have other owners
    stack = parent.vmas[-1].start + 8
    hoard = []
    while frames.free_bytes:
        hoard.append(frames.alloc(0))
    failures = 0
    while True:
        before = snapshot([parent, third], frames, Flushes())
        try:
            child = parent.fork((stack,))
        except KernelError as err:
            assert err.errno == Errno.ENOMEM
            assert snapshot([parent, third], frames, Flushes()) == before
            failures += 1
            frames.free(hoard.pop(), 0)
            continue
        break
    assert failures >= 7  # root, PDPT, PD twice... four leaves: every step failed once
    for frame in hoard:
        frames.free(frame, 0)
    assert child.copy_in(BASE + LEAF, 7) == b"region1"
    child.copy_out(BASE, b"child")
    assert parent.copy_in(BASE, 7) == b"region0" and third.copy_in(BASE, 7) == b"region0"
    for space in (child, third, parent):
        space.destroy()
    assert frames.free_bytes == frames.total_bytes and not len(parent.refs)


def test_fill_leaves_what_the_kernels_copy_leaves() -> None:
    """An exec's data and bss given frames at once (``fill``): the same entries, bytes,
    resident count and free frames as the kernel's copy into absent pages; a run with
    a page present already is the kernel's copy; short of frames, ENOMEM and nothing
    changed."""
    data = bytes(range(256)) * 20  # a page and a quarter of file bytes, then bss

    def machine(cls: type[AddressSpace]) -> tuple[AddressSpace, BuddyAllocator]:
        ram, frames = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB)
        space = cls(ram, frames, 0, Flushes(), lambda: None, owners(cls))
        space.add(BASE, 4 * PAGE_SIZE, RW, "data")  # across the leaf tables' edge
        return space, frames

    def contents(space: AddressSpace) -> Any:  # (fill's entries are dirty too: it wrote them)
        return ([(va, pte & ~(FRAME_MASK | DIRTY)) for va, pte in space.pt.mapped(0, USER_END)],
                space.copy_in(BASE, 4 * PAGE_SIZE), space.resident)

    want, frames = machine(AddressSpace)
    want.copy_out(BASE, data.ljust(4 * PAGE_SIZE, b"\0"))
    for present in (False, True):
        got, got_frames = machine(LinuxAddressSpace)
        if present:
            got.fault(BASE + PAGE_SIZE, WRITE_FAULT)
            got.copy_out(BASE + PAGE_SIZE, b"old bytes")
        assert isinstance(got, LinuxAddressSpace)
        got.fill(BASE, data, 4)
        assert contents(got) == contents(want) and got_frames.free_bytes == frames.free_bytes
        if not present:  # accessed and dirty: a shadow MMU maps them ahead, writable
            assert all(pte & (ACCESSED | DIRTY) == ACCESSED | DIRTY
                       for _, pte in got.pt.mapped(0, USER_END))
    for left in range(8):  # tables (PDPT, PD, two leaves), then 4 pages: all or none
        short, short_frames = machine(LinuxAddressSpace)
        assert isinstance(short, LinuxAddressSpace)
        while short_frames.free_bytes > left * PAGE_SIZE:
            short_frames.alloc(0)
        with pytest.raises(KernelError):
            short.fill(BASE, data, 4)
        assert not list(short.pt.mapped(0, USER_END)) and short.resident == 0
        assert short_frames.free_bytes == max(0, left - 4) * PAGE_SIZE  # tables made stay


def test_user_string_reads_up_to_the_nul_in_any_page() -> None:
    """``args.user_string`` looks for the NUL in each page's frame and copies only the
    string: what reading the bytes one by one gives, EFAULT where that would fault
    (a page not mapped, PROT_NONE), ENAMETOOLONG past the limit."""
    from cloudos.linux.syscalls.args import user_string

    ram, frames = PhysicalMemory(RAM_SIZE), BuddyAllocator(MIB, RAM_SIZE - MIB)
    space = LinuxAddressSpace(ram, frames, 0, Flushes(), lambda: None, FrameRefs(RAM_SIZE))
    space.add(BASE, 2 * PAGE_SIZE, RW, "strings")  # then nothing mapped
    space.add(BASE + 3 * PAGE_SIZE, PAGE_SIZE, Prot.NONE, "none")
    space.copy_out(BASE, b"a" * (2 * PAGE_SIZE - 1) + b"\0")
    space.copy_out(BASE + PAGE_SIZE - 3, b"xyz/crossing\0")
    space.copy_out(BASE + 100, b"\0")

    def one_by_one(va: int, limit: int) -> bytes | str:
        out = b""
        while len(out) < limit:
            try:
                c = space.copy_in(va + len(out), 1)
            except KernelError as err:
                return err.errno.name
            if c == b"\0":
                return out
            out += c
        return "ENAMETOOLONG"

    for va, limit in ((BASE + PAGE_SIZE - 3, 4096), (BASE + 100, 4096), (BASE + 101, 4096),
                      (BASE + 101, 10), (BASE + PAGE_SIZE + 9, 4096),
                      (BASE + 2 * PAGE_SIZE - 1, 4096), (BASE + 2 * PAGE_SIZE, 4096),
                      (BASE + 3 * PAGE_SIZE, 4096), (USER_END + 5, 4096)):
        want = one_by_one(va, limit)
        try:
            got: bytes | str = user_string(space, va, limit)
        except KernelError as err:
            got = err.errno.name
        assert got == want, (hex(va), limit)
    space.copy_out(BASE + 2 * PAGE_SIZE - 1, b"b")  # no NUL before the unmapped page
    try:
        user_string(space, BASE + PAGE_SIZE + 10, 8192)
    except KernelError as err:
        assert err.errno.name == "EFAULT"
    else:
        raise AssertionError("a string running into an unmapped page")
