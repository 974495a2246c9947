"""Fast user-space mutexes: futex(2), futex_waitv(2).

A futex is a sleep channel named by a user address. In a private mapping the
key is (address space, address), as Linux keys it; in shared memory (anonymous
MAP_SHARED, shared file mappings) it is the physical address, so processes
mapping the page at different addresses meet on it. An operation with
FUTEX_PRIVATE_FLAG is keyed (address space, address) wherever the address is, as
Linux keys it (so it needs no lookup of the address's mapping): in shared memory,
a private wait is woken by a private wake of its own process only.

A thread sleeps on one channel; futex_waitv's thread sleeps on one of its own, and
each of its futexes lists it (``_vectors``), so that a wake of any of them wakes it
with that futex's index.

A thread's robust list (set_robust_list) is walked when it ends or execs
(``exit_robust_list``): the next locker of a robust mutex it held gets EOWNERDEAD.
"""

import itertools
import struct
import time
import weakref
from typing import Hashable

from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.vm import PAGE_MASK, USER_END
from cloudos.kernel.task import State, Thread
from cloudos.kernel.trap import Stop
from cloudos.linux import switch
from cloudos.linux.process import linux_thread
from cloudos.linux.syscalls.args import deadline, read_timespec, s32

FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 3, 4
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
WAIT_PRIVATE, WAKE_PRIVATE = FUTEX_WAIT | FUTEX_PRIVATE_FLAG, FUTEX_WAKE | FUTEX_PRIVATE_FLAG
BITSET_MATCH_ANY = 0xFFFF_FFFF
# futex_waitv: struct futex_waitv (val, uaddr, flags, reserved), at most 128 of them;
# futex2 flags: the size (only 32 bits is supported, as Linux) and PRIVATE
FUTEX_WAITV = struct.Struct("<QQII")
FUTEX_WAITV_MAX, FUTEX2_SIZE_MASK, FUTEX2_SIZE_U32, FUTEX2_PRIVATE = 128, 3, 2, 128
CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1
# A robust futex word: the owner's tid, and two flags; at most 2048 list entries are walked
FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK = 0x8000_0000, 0x4000_0000, 0x3FFF_FFFF
ROBUST_LIST_LIMIT = 2048
# futex_waitv's sleepers by futex key: (thread, the channel it sleeps on, the index);
# and each thread's registration (channel, keys), dropped at its next futex_waitv or wake
_vectors: dict[Hashable, list[tuple[Thread, Hashable, int]]] = {}
_registered: weakref.WeakKeyDictionary[Thread, tuple[Hashable, list[Hashable]]] = \
    weakref.WeakKeyDictionary()
_channels = itertools.count()


def _key(t: Thread, uaddr: int, private: bool = False) -> tuple[str, int, int]:
    if uaddr & 3:
        raise KernelError(Errno.EINVAL, "futex address not 4-byte aligned")
    if uaddr >= USER_END:  # Linux's access_ok, even for a wake that reads nothing
        raise KernelError(Errno.EFAULT, f"futex address {uaddr:#x} outside user space")
    aspace = t.process.aspace
    if private:  # FUTEX_PRIVATE_FLAG: the address space's, wherever it is (no VMA lookup)
        return ("futex", id(aspace), uaddr)
    vma = aspace.find(uaddr)
    if vma is not None and vma.shared:
        return ("futex", 0, aspace.user_frame(uaddr & PAGE_MASK, False) + (uaddr & ~PAGE_MASK))
    return ("futex", id(aspace), uaddr)


def _load(t: Thread, uaddr: int) -> int:
    """The futex word (``uaddr`` is 4-aligned: ``_key``, so it lies in one page)."""
    aspace = t.process.aspace
    phys = aspace.user_frame(uaddr, False) + (uaddr & ~PAGE_MASK)
    return int.from_bytes(aspace.ram.bytes[phys:phys + 4], "little")


def futex_wake(t: Thread, uaddr: int, count: int, bits: int = BITSET_MATCH_ANY,
               private: bool = False) -> int:
    """Wake up to ``count`` waiters on ``uaddr`` whose bitset meets ``bits`` (a
    futex_waitv sleeper's bitset is every bit)."""
    key = _key(t, uaddr, private)
    scheduler = t.process.kernel.scheduler
    sleepers = scheduler.channels.get(key)
    if sleepers is not None and len(sleepers) == 1 and count:  # (what wakeup does for one)
        one = sleepers[0]
        if one.state is State.BLOCKED and one.channel == key and one.wait_bits & bits:
            switch.wake(t.process.kernel, one, 0)  # (its channel goes with it: wake)
            return 1 + _wake_vectors(t, key, count - 1) if _vectors else 1
    woken = scheduler.wakeup(key, 0, count, bits)
    return woken + _wake_vectors(t, key, count - woken)


def _wake_vectors(t: Thread, key: Hashable, room: int) -> int:
    """Wake up to ``room`` futex_waitv sleepers of ``key``, each with its index there."""
    woken = 0
    for thread, channel, index in list(_vectors.get(key, ())):
        asleep = thread.state is State.BLOCKED and thread.channel == channel
        if asleep and woken >= room:
            break
        _unregister(thread)  # (one that no longer sleeps there: timed out, signalled)
        if asleep:
            t.process.kernel.scheduler.wakeup(channel, index)
            woken += 1
    return woken


def _unregister(thread: Thread) -> None:
    """Drop ``thread``'s futex_waitv registration (it woke, timed out or was signalled)."""
    registration = _registered.pop(thread, None)
    if registration is None:
        return
    channel, keys = registration
    for key in keys:
        left = [entry for entry in _vectors.get(key, ()) if entry[1] != channel]
        if left:
            _vectors[key] = left
        else:
            _vectors.pop(key, None)


def _until(t: Thread, timeout: int, op: int, absolute: bool) -> float | None:
    """When a wait gives up, on the kernel's monotonic clock."""
    if not timeout:
        return None
    wait = read_timespec(t.process.aspace, timeout)
    if absolute:  # a time on CLOCK_REALTIME or CLOCK_MONOTONIC: how far from now
        wait -= time.time() if op & FUTEX_CLOCK_REALTIME else time.monotonic()
    return deadline(t, wait)


def _wait(t: Thread, uaddr: int, val: int, timeout: int, op: int, bits: int) -> int:
    entry = time.perf_counter()
    key = _key(t, uaddr, bool(op & FUTEX_PRIVATE_FLAG))
    if bits == 0:
        raise KernelError(Errno.EINVAL, "empty bitset")
    until = _until(t, timeout, op, (op & 127) == FUTEX_WAIT_BITSET) if timeout else None
    aspace = t.process.aspace  # (the futex word: ``_load``, inline)
    phys = aspace.user_frame(uaddr, False) + (uaddr & ~PAGE_MASK)
    if int.from_bytes(aspace.ram.bytes[phys:phys + 4], "little") != val & 0xFFFF_FFFF:
        raise KernelError(Errno.EAGAIN, "futex value changed")
    kernel = t.process.kernel
    kernel.scheduler.sleep_on(t, key, until, -Errno.ETIMEDOUT, bits)
    return switch.asleep(kernel, t, entry)  # (the next thread's RAX, or Stop)


def _requeue(t: Thread, uaddr: int, wake: int, move: int, uaddr2: int,
             expected: int | None, private: bool) -> int:
    if expected is not None and _load(t, uaddr) != expected & 0xFFFF_FFFF:
        raise KernelError(Errno.EAGAIN, "futex value changed")
    scheduler = t.process.kernel.scheduler
    source, target = _key(t, uaddr, private), _key(t, uaddr2, private)
    woken = scheduler.wakeup(source, 0, wake)
    moved = 0
    for thread in list(scheduler.channels.get(source, [])):
        if moved == move:
            break
        if thread.channel == source:
            scheduler.channels[source].remove(thread)
            thread.channel = target
            scheduler.channels.setdefault(target, []).append(thread)
            moved += 1
    return woken + moved


def sys_futex(t: Thread, uaddr: int, op: int, val: int, timeout: int, uaddr2: int, val3: int
              ) -> int:
    """Implements Linux futex(2): WAIT, WAKE, their BITSET forms, REQUEUE, CMP_REQUEUE."""
    op &= 0xFFFF_FFFF  # (an int: its sign bit is none of the flags or commands below)
    if op == WAIT_PRIVATE and not timeout and not uaddr & 3 and uaddr < USER_END:
        # (a pthread's wait: ``_wait``'s steps for FUTEX_WAIT_PRIVATE with no timeout,
        # inline; the sleeper's slice ends and the next thread runs here if it may)
        entry = time.perf_counter()
        aspace = t.process.aspace
        phys = aspace.user_frame(uaddr, False) + (uaddr & ~PAGE_MASK)
        if int.from_bytes(aspace.ram.bytes[phys:phys + 4], "little") != val & 0xFFFF_FFFF:
            raise KernelError(Errno.EAGAIN, "futex value changed")
        kernel = t.process.kernel
        kernel.scheduler.sleep_on(t, ("futex", id(aspace), uaddr), None, -Errno.ETIMEDOUT,
                                  BITSET_MATCH_ANY)
        return switch.asleep(kernel, t, entry)
    if op == WAKE_PRIVATE and not uaddr & 3 and uaddr < USER_END and not _vectors \
            and val & 0xFFFF_FFFF:
        # (a pthread's wake: ``futex_wake``'s steps for FUTEX_WAKE_PRIVATE, inline, when no
        # futex_waitv sleeps anywhere: none sleeping, or the one sleeper woken; else below)
        kernel = t.process.kernel
        key = ("futex", id(t.process.aspace), uaddr)
        sleepers = kernel.scheduler.channels.get(key)
        if sleepers is None:
            return 0
        if len(sleepers) == 1 and not val & 0x8000_0000:  # (a count of at least one)
            one = sleepers[0]
            if one.state is State.BLOCKED and one.channel == key:  # (its bits: any)
                switch.wake(kernel, one, 0)
                return 1
    if op & ~FUTEX_PRIVATE_FLAG == FUTEX_WAKE:  # (futex_wake checks the address: _key)
        return futex_wake(t, uaddr, max(0, s32(val)), BITSET_MATCH_ANY,
                          bool(op & FUTEX_PRIVATE_FLAG))
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    if op & FUTEX_CLOCK_REALTIME and cmd not in (FUTEX_WAIT_BITSET, FUTEX_WAIT):
        raise KernelError(Errno.ENOSYS, "FUTEX_CLOCK_REALTIME with this operation")
    if cmd == FUTEX_WAIT:
        return _wait(t, uaddr, val, timeout, op, BITSET_MATCH_ANY)
    if cmd == FUTEX_WAIT_BITSET:
        return _wait(t, uaddr, val, timeout, op, val3 & 0xFFFF_FFFF)
    private = bool(op & FUTEX_PRIVATE_FLAG)
    if cmd == FUTEX_WAKE_BITSET:
        if not val3 & 0xFFFF_FFFF:
            raise KernelError(Errno.EINVAL, "empty bitset")
        return futex_wake(t, uaddr, max(0, s32(val)), val3 & 0xFFFF_FFFF, private)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        move = s32(timeout)  # val2 travels in the timeout argument
        if s32(val) < 0 or move < 0:
            raise KernelError(Errno.EINVAL, "negative count")
        return _requeue(t, uaddr, s32(val), move, uaddr2,
                        val3 if cmd == FUTEX_CMP_REQUEUE else None, private)
    raise KernelError(Errno.ENOSYS, f"futex operation {cmd}")


def sys_futex_waitv(t: Thread, waiters: int, count: int, flags: int, timeout: int,
                    clockid: int, *_: int) -> int:
    """Implements Linux futex_waitv(2): wait on up to 128 32-bit futexes at once until
    one is woken (its index is the result) or the absolute ``timeout`` on ``clockid``
    passes; EAGAIN at once if a futex no longer holds its value."""
    count, clockid = count & 0xFFFF_FFFF, s32(clockid)
    if flags or not 0 < count <= FUTEX_WAITV_MAX or not waiters:
        raise KernelError(Errno.EINVAL, f"futex_waitv of {count} flags {flags:#x}")
    until = None
    if timeout:
        if clockid not in (CLOCK_REALTIME, CLOCK_MONOTONIC):
            raise KernelError(Errno.EINVAL, f"clock {clockid}")
        until = _until(t, timeout, FUTEX_CLOCK_REALTIME if clockid == CLOCK_REALTIME else 0,
                       True)
    raw = t.process.aspace.copy_in(waiters, FUTEX_WAITV.size * count)
    entries = [FUTEX_WAITV.unpack_from(raw, FUTEX_WAITV.size * i) for i in range(count)]
    for value, _, futex_flags, reserved in entries:
        if futex_flags & ~(FUTEX2_SIZE_MASK | FUTEX2_PRIVATE) or reserved \
                or futex_flags & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32 or value >> 32:
            raise KernelError(Errno.EINVAL, f"futex_waitv entry flags {futex_flags:#x}")
    keys: list[Hashable] = [_key(t, uaddr, bool(futex_flags & FUTEX2_PRIVATE))
                            for _, uaddr, futex_flags, _ in entries]
    if any(_load(t, uaddr) != value for value, uaddr, _, _ in entries):
        raise KernelError(Errno.EAGAIN, "a futex's value changed")
    _unregister(t)
    channel: Hashable = ("futex_waitv", next(_channels))
    for index, key in enumerate(keys):
        _vectors.setdefault(key, []).append((t, channel, index))
    _registered[t] = (channel, keys)
    t.process.kernel.scheduler.sleep_on(t, channel, until, -Errno.ETIMEDOUT)
    raise Stop


# -- robust lists -----------------------------------------------------------------
def exit_robust_list(t: Thread) -> None:
    """What ``t``'s end (or exec) does to the robust futexes it holds, as Linux's
    exit_robust_list: in the list it registered (struct robust_list_head: the first entry,
    the futex word's offset from an entry, the entry of a lock being taken or released),
    each word ``t`` owns gets FUTEX_OWNER_DIED (its tid bits cleared, FUTEX_WAITERS kept)
    and, with waiters, one is woken; so the next locker gets EOWNERDEAD. A pending entry
    nobody owns gets a wake (its holder may have died between unlock and wake). An entry's
    low bit marks a PI futex: marked, not woken. The walk stops at a bad address, a
    misaligned word or after 2048 entries; the registration is dropped."""
    state = linux_thread(t)
    head, _ = state.robust_list
    state.robust_list = (0, 0)
    if not head:
        return
    aspace = t.process.aspace
    try:
        first, offset, pending = struct.unpack("<QqQ", aspace.copy_in(head, 24))
    except KernelError:
        return
    entry, pi = first & ~1, first & 1
    pending, pending_pi = pending & ~1, pending & 1
    for _ in range(ROBUST_LIST_LIMIT):
        if entry == head:
            break
        try:
            following: int | None = struct.unpack("<Q", aspace.copy_in(entry, 8))[0]
        except KernelError:
            following = None
        if entry != pending and not _owner_died(t, entry + offset, bool(pi), False):
            return
        if following is None:
            return
        entry, pi = following & ~1, following & 1
    if pending:
        _owner_died(t, pending + offset, bool(pending_pi), True)


def _owner_died(t: Thread, uaddr: int, pi: bool, pending: bool) -> bool:
    """One robust futex word of dying ``t`` (Linux's handle_futex_death); False: stop."""
    uaddr &= 0xFFFF_FFFF_FFFF_FFFF
    if uaddr & 3:
        return False
    aspace = t.process.aspace
    try:
        value = int.from_bytes(aspace.copy_in(uaddr, 4), "little")
        owner = value & FUTEX_TID_MASK
        if pending and not pi and not owner:
            _wake_one(t, uaddr)
            return True
        if owner != t.tid:
            return True
        aspace.copy_out(uaddr, ((value & FUTEX_WAITERS) | FUTEX_OWNER_DIED).to_bytes(4, "little"))
    except KernelError:
        return False
    if not pi and value & FUTEX_WAITERS:
        _wake_one(t, uaddr)
    return True


def _wake_one(t: Thread, uaddr: int) -> None:
    """A shared (not FUTEX_PRIVATE_FLAG) wake of one waiter, as Linux's robust wakes are
    (glibc's robust mutexes wait so); it cannot fail the walk."""
    try:
        futex_wake(t, uaddr, 1)
    except KernelError:
        pass
