"""Fast user-space mutexes: futex(2).

A futex is a sleep channel named by a user address. In a private mapping the
key is (address space, address), as Linux keys it; in shared memory (anonymous
MAP_SHARED, shared file mappings) it is the physical address, so processes
mapping the page at different addresses meet on it. Either way the key does
not depend on FUTEX_PRIVATE_FLAG: a private futex in shared memory can only
see extra, harmless, wake-ups.
"""

import struct
import time

from cloudos.errno import Errno, KernelError
from cloudos.kernel.mm.vm import PAGE_MASK, USER_END
from cloudos.kernel.task import Thread
from cloudos.kernel.trap import Stop
from cloudos.linux.syscalls.args import deadline, read_timespec, s32

FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 3, 4
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
BITSET_MATCH_ANY = 0xFFFF_FFFF


def _key(t: Thread, uaddr: int) -> tuple[str, int, int]:
    if uaddr & 3:
        raise KernelError(Errno.EINVAL, "futex address not 4-byte aligned")
    if uaddr >= USER_END:  # Linux's access_ok, even for a wake that reads nothing
        raise KernelError(Errno.EFAULT, f"futex address {uaddr:#x} outside user space")
    aspace = t.process.aspace
    vma = aspace.find(uaddr)
    if vma is not None and vma.shared:
        return ("futex", 0, aspace.user_frame(uaddr & PAGE_MASK, False) + (uaddr & ~PAGE_MASK))
    return ("futex", id(aspace), uaddr)


def _load(t: Thread, uaddr: int) -> int:
    return int(struct.unpack("<I", t.process.aspace.copy_in(uaddr, 4))[0])


def futex_wake(t: Thread, uaddr: int, count: int, bits: int = BITSET_MATCH_ANY) -> int:
    """Wake up to ``count`` waiters on ``uaddr`` whose bitset meets ``bits``."""
    return t.process.kernel.scheduler.wakeup(_key(t, uaddr), 0, count, bits)


def _until(t: Thread, timeout: int, op: int, absolute: bool) -> float | None:
    """When a wait gives up, on the kernel's monotonic clock."""
    if not timeout:
        return None
    wait = read_timespec(t.process.aspace, timeout)
    if absolute:  # a time on CLOCK_REALTIME or CLOCK_MONOTONIC: how far from now
        wait -= time.time() if op & FUTEX_CLOCK_REALTIME else time.monotonic()
    return deadline(t, wait)


def _wait(t: Thread, uaddr: int, val: int, timeout: int, op: int, bits: int) -> int:
    key = _key(t, uaddr)
    if bits == 0:
        raise KernelError(Errno.EINVAL, "empty bitset")
    until = _until(t, timeout, op, (op & 127) == FUTEX_WAIT_BITSET)
    if _load(t, uaddr) != val & 0xFFFF_FFFF:
        raise KernelError(Errno.EAGAIN, "futex value changed")
    t.process.kernel.scheduler.sleep_on(t, key, until, -Errno.ETIMEDOUT, bits)
    raise Stop


def _requeue(t: Thread, uaddr: int, wake: int, move: int, uaddr2: int,
             expected: int | None) -> int:
    if expected is not None and _load(t, uaddr) != expected & 0xFFFF_FFFF:
        raise KernelError(Errno.EAGAIN, "futex value changed")
    scheduler = t.process.kernel.scheduler
    source, target = _key(t, uaddr), _key(t, uaddr2)
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
    op = s32(op)
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    if op & FUTEX_CLOCK_REALTIME and cmd not in (FUTEX_WAIT_BITSET, FUTEX_WAIT):
        raise KernelError(Errno.ENOSYS, "FUTEX_CLOCK_REALTIME with this operation")
    if cmd == FUTEX_WAIT:
        return _wait(t, uaddr, val, timeout, op, BITSET_MATCH_ANY)
    if cmd == FUTEX_WAIT_BITSET:
        return _wait(t, uaddr, val, timeout, op, val3 & 0xFFFF_FFFF)
    if cmd == FUTEX_WAKE:
        _key(t, uaddr)
        return futex_wake(t, uaddr, max(0, s32(val)))
    if cmd == FUTEX_WAKE_BITSET:
        if not val3 & 0xFFFF_FFFF:
            raise KernelError(Errno.EINVAL, "empty bitset")
        return futex_wake(t, uaddr, max(0, s32(val)), val3 & 0xFFFF_FFFF)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        move = s32(timeout)  # val2 travels in the timeout argument
        if s32(val) < 0 or move < 0:
            raise KernelError(Errno.EINVAL, "negative count")
        return _requeue(t, uaddr, s32(val), move, uaddr2,
                        val3 if cmd == FUTEX_CMP_REQUEUE else None)
    raise KernelError(Errno.ENOSYS, f"futex operation {cmd}")
