"""System V semaphores: semget(2), semop(2), semtimedop(2), semctl(2).

Owns: the machine's semaphore sets (values, last pids, times), the operations
asleep on each set, and each process's SEM_UNDO adjustments, applied when it exits.
A semop that cannot complete parks its thread (``sysvipc.park``); whoever changes
a set afterwards (semop, SETVAL, SETALL, an exit's undo) runs ``_update``, which
completes the parked operations that now can, in order of arrival, and wakes
their threads with 0, as Linux's update_queue does. IPC_RMID wakes them with
EIDRM; a signal (EINTR) or the timeout (EAGAIN) ends a sleep through the
scheduler, which leaves the waiter stale and skipped.
Never: touches guest memory but the caller's.
Called by: the system call table and the personality's ``on_exit`` (``exit_sem``), both
through ``syscalls.sys_ipc`` (which imports this module at the first semaphore call).

Limits are /proc/sys/kernel/sem's (SEMMSL, SEMMNS, SEMOPM, SEMMNI); SEMVMX is 32767.
"""

from __future__ import annotations

import struct
import time
from typing import Any

from cloudos.abi import sysctl
from cloudos.abi.dataclass import dataclass, field
from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Process, Thread
from cloudos.kernel.trap import Stop
from cloudos.linux import sysvipc
from cloudos.linux.syscalls.args import deadline, read_timespec, s32
from cloudos.linux.sysvipc import (IPC_64, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT,
                                   READ, WRITE, IpcObject, Registry, Waiter)

GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17
SEM_STAT, SEM_INFO, SEM_STAT_ANY = 18, 19, 20
SEM_UNDO = 0x1000
SEMVMX = 32767   # the largest value of a semaphore
SEMAEM = SEMVMX  # the largest undo adjustment
SEM_SIZE = 64  # Linux's struct sem: what each semaphore costs of the machine's memory
SEMBUF = struct.Struct("<Hhh")  # struct sembuf: sem_num, sem_op, sem_flg
# struct semid64_ds of x86_64 after its ipc64_perm: otime, unused, ctime, unused, nsems,
# two unused longs
SEMID_DS = "qQqQQQQ"
SEMID_DS_SIZE = 48 + 7 * 8
SEMINFO = struct.Struct("<10i")  # semmap, semmni, semmns, semmnu, semmsl, semopm, semume,
#                                  semusz, semvmx, semaem


@dataclass
class Sop:
    """One ``struct sembuf``."""

    num: int
    op: int
    flags: int


@dataclass
class SemWaiter(Waiter):
    """A semop asleep until all its operations can be done at once."""

    sops: list[Sop] = field(default_factory=list)
    blocking: Sop | None = None  # the operation that could not go (semncnt, semzcnt)


@dataclass
class SemSet(IpcObject):
    """One semaphore set: its values, who changed each last, and who waits on it."""

    values: list[int] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)  # sempid: the last to change each
    otime: int = 0
    waiters: list[SemWaiter] = field(default_factory=list)


@dataclass
class SemState:
    """One machine's semaphore sets and its processes' SEM_UNDO adjustments."""

    sets: Registry[SemSet] = field(default_factory=lambda: Registry("semaphore set"))
    # SEM_UNDO adjustments: pid -> set id -> semaphore -> amount added back at exit
    undo: dict[int, dict[int, dict[int, int]]] = field(default_factory=dict)


def state_of(kernel: Any) -> SemState:
    state: SemState = sysvipc.state_of(kernel, "sem", SemState)
    return state


def sys_semget(t: Thread, key: int, nsems: int, flags: int, *_: int) -> int:
    """Implements Linux semget(2)."""
    key, nsems, flags = s32(key), s32(nsems), s32(flags)
    msl, mns, mni = (sysctl.of(t.process.kernel).sem[i] for i in (0, 1, 3))
    if not 0 <= nsems <= msl:
        raise KernelError(Errno.EINVAL, f"{nsems} semaphores")
    sets = state_of(t.process.kernel).sets
    want = (flags >> 6 | flags >> 3 | flags) & 7
    def more_checks(found: SemSet) -> None:
        if nsems > len(found.values):
            raise KernelError(Errno.EINVAL, f"set {found.ident} has fewer semaphores")

    found = sets.lookup(t, key, flags, want, more_checks)
    if found is not None:
        return found.ident
    if nsems == 0:
        raise KernelError(Errno.EINVAL, "a new set of no semaphores")
    total = sum(len(s.values) for s in sets.by_id.values()) + nsems
    if total > mns:
        raise KernelError(Errno.ENOSPC, "SEMMNS semaphores in all")
    if total * SEM_SIZE > t.process.kernel.frames.total_bytes:  # (the host holds them)
        raise KernelError(Errno.ENOMEM, f"{total} semaphores")
    uid, gid = sysvipc.creator(t)
    semset = SemSet(sets.next_ident(mni), key, flags & 0o777, uid, gid,
                    values=[0] * nsems, pids=[0] * nsems)
    sets.by_id[semset.ident] = semset
    return semset.ident


def _read_sops(t: Thread, addr: int, nsops: int) -> list[Sop]:
    opm = sysctl.of(t.process.kernel).sem[2]
    if nsops < 1:
        raise KernelError(Errno.EINVAL, "no operations")
    if nsops > opm:
        raise KernelError(Errno.E2BIG, f"{nsops} operations, over SEMOPM")
    raw = t.process.aspace.copy_in(addr, nsops * SEMBUF.size)
    return [Sop(*SEMBUF.unpack_from(raw, i * SEMBUF.size)) for i in range(nsops)]


def _try(semset: SemSet, sops: list[Sop], pid: int) -> Sop | None:
    """perform_atomic_semop: do every operation, or none. None when done; else the
    operation that must wait. ERANGE past SEMVMX; EAGAIN when that one has IPC_NOWAIT."""
    values = list(semset.values)
    for sop in sops:
        value = values[sop.num] + sop.op
        if sop.op == 0 and values[sop.num] != 0 or value < 0:
            if sop.flags & IPC_NOWAIT:
                raise KernelError(Errno.EAGAIN, "the semaphore would block")
            return sop
        if value > SEMVMX:
            raise KernelError(Errno.ERANGE, f"semaphore value {value}")
        values[sop.num] = value
    semset.values = values
    for sop in sops:
        semset.pids[sop.num] = pid
    semset.otime = int(time.time())
    return None


def _record_undo(state: SemState, pid: int, semset: SemSet, sops: list[Sop]) -> None:
    for sop in sops:
        if sop.flags & SEM_UNDO and sop.op:
            adjust = state.undo.setdefault(pid, {}).setdefault(semset.ident, {})
            adjust[sop.num] = adjust.get(sop.num, 0) - sop.op


def _check_undo(state: SemState, pid: int, semset: SemSet, sops: list[Sop]) -> None:
    """ERANGE when an undo adjustment would pass SEMAEM."""
    adjust = dict(state.undo.get(pid, {}).get(semset.ident, {}))
    for sop in sops:
        if sop.flags & SEM_UNDO:
            adjust[sop.num] = adjust.get(sop.num, 0) - sop.op
            if abs(adjust[sop.num]) > SEMAEM:
                raise KernelError(Errno.ERANGE, "undo adjustment over SEMAEM")


def _update(state: SemState, semset: SemSet) -> None:
    """The parked operations that can go now go, first come first served, each waking
    its thread; one that fails (ERANGE) wakes with that error."""
    progress = True
    while progress:
        progress = False
        for waiter in list(semset.waiters):
            if not waiter.waiting():
                semset.waiters.remove(waiter)
                continue
            pid = waiter.thread.process.pid
            try:
                waiter.blocking = _try(semset, waiter.sops, pid)
            except KernelError as err:
                semset.waiters.remove(waiter)
                sysvipc.answer(waiter, -err.errno)
                continue
            if waiter.blocking is None:
                _record_undo(state, pid, semset, waiter.sops)
                semset.waiters.remove(waiter)
                sysvipc.answer(waiter, 0)
                progress = True
                break


def _semop(t: Thread, ident: int, sops_addr: int, nsops: int, timeout: int) -> int:
    sops = _read_sops(t, sops_addr, nsops)
    until = deadline(t, read_timespec(t.process.aspace, timeout)) if timeout else None
    state = state_of(t.process.kernel)
    semset = state.sets.get(ident)
    if any(sop.num >= len(semset.values) for sop in sops):
        raise KernelError(Errno.EFBIG, "semaphore number past the set")
    alters = any(sop.op for sop in sops)
    if not sysvipc.allowed(t, semset, WRITE if alters else READ):
        raise KernelError(Errno.EACCES, f"semaphore set {ident}")
    pid = t.process.pid
    _check_undo(state, pid, semset, sops)
    blocking = _try(semset, sops, pid)
    if blocking is None:
        _record_undo(state, pid, semset, sops)
        if alters:
            _update(state, semset)
        return 0
    seq = sysvipc.park(t, ("semop", ident), until, -Errno.EAGAIN)
    semset.waiters.append(SemWaiter(t, seq, sops, blocking))
    raise Stop


def sys_semop(t: Thread, ident: int, sops: int, nsops: int, *_: int) -> int:
    """Implements Linux semop(2)."""
    return _semop(t, s32(ident), sops, nsops & 0xFFFF_FFFF, 0)


def sys_semtimedop(t: Thread, ident: int, sops: int, nsops: int, timeout: int, *_: int) -> int:
    """Implements Linux semtimedop(2)."""
    return _semop(t, s32(ident), sops, nsops & 0xFFFF_FFFF, timeout)


def _count(semset: SemSet, num: int, zero: bool) -> int:
    """semncnt (waiting for a decrease) or semzcnt (waiting for zero) of semaphore ``num``:
    the parked operations that wait at it."""
    return sum(1 for w in semset.waiters if w.waiting() and w.blocking is not None
               and w.blocking.num == num and (w.blocking.op == 0) == zero)


def _forget_undo(state: SemState, ident: int, nums: range | list[int]) -> None:
    """SETVAL and SETALL clear every process's adjustments of the semaphores they set."""
    for per_pid in state.undo.values():
        adjust = per_pid.get(ident, {})
        for num in nums:
            adjust.pop(num, None)


def _stat(t: Thread, semset: SemSet, buf: int) -> None:
    t.process.aspace.copy_out(buf, sysvipc.pack_perm(
        SEMID_DS, semset, semset.otime, 0, semset.ctime, 0, len(semset.values), 0, 0))


def _info(t: Thread, state: SemState, cmd: int, buf: int) -> int:
    """IPC_INFO, SEM_INFO: the limits (SEM_INFO: semusz and semaem count sets and
    semaphores in use); the highest slot in use."""
    msl, mns, opm, mni = sysctl.of(t.process.kernel).sem
    used = len(state.sets.by_id)
    nsems = sum(len(s.values) for s in state.sets.by_id.values())
    usz, aem = (used, nsems) if cmd == SEM_INFO else (20, SEMAEM)
    t.process.aspace.copy_out(buf, SEMINFO.pack(mns, mni, mns, mns, msl, opm, opm, usz,
                                                SEMVMX, aem))
    return state.sets.highest_slot()


def _set_values(t: Thread, state: SemState, semset: SemSet, nums: list[int],
                values: list[int]) -> int:
    if any(not 0 <= v <= SEMVMX for v in values):
        raise KernelError(Errno.ERANGE, "semaphore value out of range")
    for num, value in zip(nums, values):
        semset.values[num] = value
        semset.pids[num] = t.process.pid
    _forget_undo(state, semset.ident, nums)
    semset.ctime = int(time.time())
    _update(state, semset)
    return 0


def _value_cmd(t: Thread, state: SemState, semset: SemSet, num: int, cmd: int,
               arg: int) -> int:
    """The commands on one semaphore, or on all of them (GETALL, SETALL)."""
    nsems = len(semset.values)
    if cmd in (GETVAL, GETPID, GETNCNT, GETZCNT, SETVAL) and not 0 <= num < nsems:
        raise KernelError(Errno.EINVAL, f"semaphore {num} of {nsems}")
    if not sysvipc.allowed(t, semset, WRITE if cmd in (SETVAL, SETALL) else READ):
        raise KernelError(Errno.EACCES, f"semaphore set {semset.ident}")
    aspace = t.process.aspace
    if cmd == GETVAL:
        return semset.values[num]
    if cmd == GETPID:
        return semset.pids[num]
    if cmd in (GETNCNT, GETZCNT):
        return _count(semset, num, cmd == GETZCNT)
    if cmd == GETALL:
        aspace.copy_out(arg, struct.pack(f"<{nsems}H", *semset.values))
        return 0
    if cmd == SETVAL:
        return _set_values(t, state, semset, [num], [s32(arg)])
    values = list(struct.unpack(f"<{nsems}H", aspace.copy_in(arg, 2 * nsems)))
    return _set_values(t, state, semset, list(range(nsems)), values)


def _remove(state: SemState, semset: SemSet) -> None:
    """IPC_RMID: the set goes; whoever waits on it wakes with EIDRM."""
    state.sets.remove(semset)
    for waiter in semset.waiters:
        if waiter.waiting():
            sysvipc.answer(waiter, -Errno.EIDRM)
    semset.waiters.clear()
    for per_pid in state.undo.values():
        per_pid.pop(semset.ident, None)


def sys_semctl(t: Thread, ident: int, num: int, cmd: int, arg: int, *_: int) -> int:
    """Implements Linux semctl(2): GETVAL, SETVAL, GETALL, SETALL, GETPID, GETNCNT,
    GETZCNT, IPC_STAT, SEM_STAT(_ANY), IPC_SET, IPC_RMID, IPC_INFO, SEM_INFO."""
    ident, num, cmd = s32(ident), s32(num), s32(cmd) & ~IPC_64
    state = state_of(t.process.kernel)
    if cmd in (IPC_INFO, SEM_INFO):
        return _info(t, state, cmd, arg)
    if cmd in (SEM_STAT, SEM_STAT_ANY):
        semset = state.sets.by_slot(ident)
        if cmd == SEM_STAT and not sysvipc.allowed(t, semset, READ):
            raise KernelError(Errno.EACCES, f"semaphore set {semset.ident}")
        _stat(t, semset, arg)
        return semset.ident
    if cmd not in (IPC_STAT, IPC_SET, IPC_RMID, GETPID, GETVAL, GETALL, GETNCNT, GETZCNT,
                   SETVAL, SETALL):
        raise KernelError(Errno.EINVAL, f"semctl command {cmd}")
    semset = state.sets.get(ident)
    if cmd == IPC_STAT:
        if not sysvipc.allowed(t, semset, READ):
            raise KernelError(Errno.EACCES, f"semaphore set {ident}")
        _stat(t, semset, arg)
        return 0
    if cmd in (IPC_SET, IPC_RMID):
        sysvipc.check_owner(t, semset)
        if cmd == IPC_RMID:
            _remove(state, semset)
            return 0
        fields = struct.unpack("<" + sysvipc.IPC64_PERM + SEMID_DS,
                               t.process.aspace.copy_in(arg, SEMID_DS_SIZE))
        sysvipc.set_perm(semset, fields[1], fields[2], fields[5])
        return 0
    return _value_cmd(t, state, semset, num, cmd, arg)


def exit_sem(process: Process) -> None:
    """A process ended: its SEM_UNDO adjustments are added back (a value is kept within
    0..SEMVMX, as Linux's exit_sem keeps it), and what waited for them may go."""
    state = state_of(process.kernel)
    for ident, adjust in state.undo.pop(process.pid, {}).items():
        semset = state.sets.by_id.get(ident)
        if semset is None:
            continue
        for num, amount in adjust.items():
            if amount:
                semset.values[num] = min(max(semset.values[num] + amount, 0), SEMVMX)
                semset.pids[num] = process.pid
        _update(state, semset)
