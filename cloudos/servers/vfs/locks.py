"""File locks: POSIX record locks, open-file-description (OFD) locks, flock(2), leases.

Owns: the machine's lock table, keyed by a file's identity (st_dev, st_ino for a file
on a file system; the pipe or socket itself otherwise), and Linux's rules for it
(fs/locks.c):
- record locks (fcntl F_SETLK, F_SETLKW, F_GETLK) belong to a process: its own never
  conflict with each other, a new one replaces what it overlaps of its old ones
  (splitting them) and merges with the adjacent and overlapping ones of its type; all of
  them on a file go when the process closes any fd of that file, and when it exits;
- OFD locks (F_OFD_*) are the same ranges owned by an open file description, released
  when its last fd closes; they conflict with record locks of any process;
- flock locks are whole-file, owned by an open file description, and independent of
  the other two; a conversion lets go of the old lock first, as Linux does;
- leases (F_SETLEASE) are an open file description's, on a regular file: an open that
  conflicts breaks them (their holder is signalled, the open waits until the lease goes
  or comes down, at the latest after lease-break-time), and /proc/locks lists it all.
A lock that cannot be had now waits (F_SETLKW, flock without LOCK_NB): the request is
parked (a deferred reply) and granted, in arrival order, when a lock on the file goes;
a signal takes it back (the server runtime answers it ``Again.INTERRUPTED``). A record
lock wait that would close a cycle of processes, each waiting for the next one's lock,
is EDEADLK (Linux follows at most ten steps; OFD locks are not followed).
Never: reads guest memory (the personality decodes struct flock), nor knows processes
beyond the pid that owns a record lock (a lease's signal goes through the machine's
``send_sigio``).
Called by: ``vfs.server`` (fcntl, flock, open and truncate, close, the last reference
of an open file, exit); the machine's /proc view (/proc/locks).
"""

from __future__ import annotations

import bisect
import os
import stat
import time
from typing import TYPE_CHECKING, Any

from cloudos.abi.dataclass import dataclass, field
from cloudos.abi.flags import FcntlCmd, FlockOp, LockType, OpenFlag, OwnerType
from cloudos.abi.signal import Signal
from cloudos.abi.vfs import FcntlLock, LeaseTimeout, LockHolder, Op
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs.files import OpenFile

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Vfs

OFFSET_MAX = (1 << 63) - 1  # a lock's end "to the end of the file"
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
RDLCK, WRLCK, UNLCK = int(LockType.RDLCK), int(LockType.WRLCK), int(LockType.UNLCK)
F_GETLK, F_SETLK, F_SETLKW = int(FcntlCmd.GETLK), int(FcntlCmd.SETLK), int(FcntlCmd.SETLKW)
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = map(int, (FcntlCmd.OFD_GETLK, FcntlCmd.OFD_SETLK,
                                                 FcntlCmd.OFD_SETLKW))
LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN, LOCK_MAND = map(int, (FlockOp.SH, FlockOp.EX, FlockOp.NB,
                                                        FlockOp.UN, FlockOp.MAND))
PIPEFS_DEV = 0x0C  # (pipe.py's: the device a pipe's fstat shows)
O_ACCMODE, O_RDONLY, O_TRUNC, O_NONBLOCK, O_PATH = map(int, (
    OpenFlag.ACCMODE, OpenFlag.RDONLY, OpenFlag.TRUNC, OpenFlag.NONBLOCK, OpenFlag.PATH))
OWNER_PID = int(OwnerType.PID)
SIGIO = int(Signal.SIGIO)
MAX_DEADLK_ITERATIONS = 10  # Linux's bound on the waits-for chain it follows
LOCKS_MAX = 1 << 16  # locks on the machine (each is host memory): ENOLCK beyond


@dataclass(eq=False)
class Lock:
    """A held lock. ``owner``: ("posix", pid) for a record lock, the OpenFile for an OFD
    or flock lock; ``pid``: what F_GETLK reports (-1 for an OFD lock); ``end`` is
    inclusive (OFFSET_MAX: to the end of the file, however far it grows)."""

    owner: Any
    pid: int
    type: int
    start: int = 0
    end: int = OFFSET_MAX


@dataclass(eq=False)
class Waiter:
    """A parked request for a lock: ``flock`` for flock(2), else a record or OFD lock."""

    request: Request
    key: Any
    lock: Lock
    flock: bool


@dataclass(eq=False)
class Lease:
    """A lease an open file holds: its type, and while it is being broken, the type it
    must come down to (UNLCK for a writer's open, RDLCK for a reader's) and by when."""

    type: int
    pid: int  # its taker's (/proc/locks)
    target: int | None = None
    deadline: float = 0.0


@dataclass
class LockTable:
    """Every lock on the machine (in VfsState: it outlives a crash of the server's code)."""

    # record and OFD locks by file, then by owner: each owner's sorted by start, disjoint,
    # neighbours of one type merged
    ranges: dict[Any, dict[Any, list[Lock]]] = field(default_factory=dict)
    flocks: dict[Any, dict[Any, Lock]] = field(default_factory=dict)  # by file, by owner
    waiters: list[Waiter] = field(default_factory=list)
    # the files on which each process holds record locks (what its close and exit release)
    by_pid: dict[int, set[Any]] = field(default_factory=dict)
    count: int = 0
    waking: dict[Any, bool] = field(default_factory=dict)  # keys being woken: run again?
    # leases (F_SETLEASE) by file, by open file; opens waiting for a lease to break
    leases: dict[Any, dict[OpenFile, Lease]] = field(default_factory=dict)
    breakers: list[tuple[Request, Any, bool]] = field(default_factory=list)
    lease_generation: int = 0


def key_of(vfs: Vfs, file: OpenFile) -> Any:
    """The identity of the file ``file`` opens (remembered on the open file)."""
    if file.lock_key is None:
        if file.walk is not None:
            attr = file.fs.getattr(file.node)
            file.lock_key = ("node", attr.dev, attr.ino)
        else:
            file.lock_key = ("anon", id(file.pipe if file.pipe is not None else file))
    return file.lock_key


def _overlaps(lock: Lock, start: int, end: int) -> bool:
    return lock.start <= end and start <= lock.end


def _conflict(owners: dict[Any, list[Lock]], want: Lock) -> Lock | None:
    """The first lock of another owner that ``want`` cannot be held with (an owner's
    locks are sorted and disjoint: the first that may overlap is found by bisection)."""
    for owner, locks in owners.items():
        if owner == want.owner:
            continue
        i = bisect.bisect_left(locks, want.start, key=_end)
        while i < len(locks) and locks[i].start <= want.end:
            if WRLCK in (locks[i].type, want.type):
                return locks[i]
            i += 1
    return None


def _end(lock: Lock) -> int:
    return lock.end


def _range(vfs: Vfs, file: OpenFile, r: FcntlLock) -> tuple[int, int]:
    """struct flock's (l_whence, l_start, l_len) as an inclusive range, by Linux's rules
    (flock64_to_posix_lock): a negative length ends the range before l_start."""
    if r.whence == SEEK_SET:
        base = 0
    elif r.whence == SEEK_CUR:
        base = file.offset
    elif r.whence == SEEK_END:
        base = file.fs.getattr(file.node).size if file.walk is not None else 0
    else:
        raise KernelError(Errno.EINVAL, f"l_whence {r.whence}")
    if r.start > OFFSET_MAX - base:
        raise KernelError(Errno.EOVERFLOW, "l_start beyond the largest offset")
    start = base + r.start
    if start < 0:
        raise KernelError(Errno.EINVAL, "a range before the start of the file")
    if r.length > 0:
        if r.length - 1 > OFFSET_MAX - start:
            raise KernelError(Errno.EOVERFLOW, "l_len beyond the largest offset")
        return start, start + r.length - 1
    if r.length < 0:
        if start + r.length < 0:
            raise KernelError(Errno.EINVAL, "a range before the start of the file")
        return start + r.length, start - 1
    return start, OFFSET_MAX


def fcntl_lock(vfs: Vfs, request: Request, file: OpenFile, r: FcntlLock) -> Any:
    """fcntl's F_GETLK, F_SETLK, F_SETLKW and their F_OFD_ forms, as Linux's
    fcntl_getlk and fcntl_setlk check and do them."""
    ofd = r.cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
    if r.cmd in (F_GETLK, F_OFD_GETLK):
        if r.type not in (RDLCK, WRLCK):
            raise KernelError(Errno.EINVAL, f"F_GETLK of l_type {r.type}")
        start, end = _range(vfs, file, r)
        if ofd and r.pid != 0:
            raise KernelError(Errno.EINVAL, "F_OFD_GETLK with l_pid set")
        owner = file if ofd else ("posix", request.sender)
        held = _conflict(vfs.state.locks.ranges.get(key_of(vfs, file), {}),
                         Lock(owner, 0, r.type, start, end))
        if held is None:
            return 0  # the personality reports F_UNLCK
        length = 0 if held.end == OFFSET_MAX else held.end - held.start + 1
        return LockHolder(held.type, held.start, length, held.pid)
    start, end = _range(vfs, file, r)
    if r.type not in (RDLCK, WRLCK, UNLCK):
        raise KernelError(Errno.EINVAL, f"l_type {r.type}")
    if r.type == RDLCK and not file.readable() or r.type == WRLCK and not file.writable():
        raise KernelError(Errno.EBADF, "the fd's access mode does not allow the lock")
    if ofd and r.pid != 0:
        raise KernelError(Errno.EINVAL, "an OFD lock with l_pid set")
    lock = Lock(file, -1, r.type, start, end) if ofd \
        else Lock(("posix", request.sender), request.sender, r.type, start, end)
    wait = r.cmd in (F_SETLKW, F_OFD_SETLKW)
    return _acquire(vfs, request, key_of(vfs, file), lock, wait, flock=False)


def flock(vfs: Vfs, request: Request, file: OpenFile, operation: int) -> Any:
    """flock(2) on the open file ``file`` (the fd and ``operation`` checked by the caller):
    a conversion drops the old lock first, then waits for the new one like any other."""
    kind = operation & ~LOCK_NB
    if kind != LOCK_UN and not (file.readable() or file.writable()):
        raise KernelError(Errno.EBADF, "an O_PATH fd")
    table = vfs.state.locks
    key = key_of(vfs, file)
    want = UNLCK if kind == LOCK_UN else RDLCK if kind == LOCK_SH else WRLCK
    mine = table.flocks.get(key, {}).get(file)
    if mine is not None:
        if mine.type == want:
            return 0
        _drop_flock(table, key, file)
        wake(vfs, key)
    if want == UNLCK:
        return 0
    return _acquire(vfs, request, key, Lock(file, request.sender, want), not operation & LOCK_NB,
                    flock=True)


def _acquire(vfs: Vfs, request: Request, key: Any, lock: Lock, wait: bool,
             flock: bool) -> int | None:
    """Take ``lock`` now (0), fail (EAGAIN, EDEADLK), or park the request (None)."""
    table = vfs.state.locks
    held = _try(vfs, key, lock, flock)
    if held is None:
        return 0
    if not wait:
        raise KernelError(Errno.EAGAIN, "the lock is held")
    if not flock and isinstance(lock.owner, tuple) and _deadlock(vfs, lock.owner, held):
        raise KernelError(Errno.EDEADLK, "waiting would deadlock")
    table.waiters = [w for w in table.waiters if vfs.api.waiting(w.request)]
    table.waiters.append(Waiter(request, key, lock, flock))
    return None


def _try(vfs: Vfs, key: Any, lock: Lock, flock: bool) -> Lock | None:
    """Take ``lock`` if nothing conflicts; else the lock in the way."""
    table = vfs.state.locks
    if flock:
        # an exclusive lock is its file's only one (but for its owner's, taken meanwhile
        # by another thread): the first other holder tells
        holders = table.flocks.setdefault(key, {})
        held = next((h for h in holders.values() if h.owner is not lock.owner), None)
        if held is not None and WRLCK in (held.type, lock.type):
            return held
        _count(table, lock.owner not in holders)
        holders[lock.owner] = lock
        return None
    owners = table.ranges.get(key, {})
    if lock.type != UNLCK:
        held = _conflict(owners, lock)
        if held is not None:
            return held
    _place(vfs, key, lock)
    return None


def _place(vfs: Vfs, key: Any, lock: Lock) -> None:
    """Put the owner's new lock (or unlock) over its old ones: what it covers of them
    goes (a lock over the middle of one splits it in two), then neighbours of one type
    merge. Only the owner's locks that overlap or touch the range change."""
    table = vfs.state.locks
    owner = lock.owner
    mine = table.ranges.get(key, {}).get(owner, [])
    first = bisect.bisect_left(mine, lock.start - 1, key=_end)
    last = first
    while last < len(mine) and mine[last].start <= lock.end + 1:
        last += 1
    touched = mine[first:last]
    pieces: list[Lock] = []
    weakened = False
    for held in touched:
        if held.start < lock.start:
            pieces.append(Lock(owner, held.pid, held.type, held.start,
                               min(held.end, lock.start - 1)))
        if held.end > lock.end:
            pieces.append(Lock(owner, held.pid, held.type, max(held.start, lock.end + 1),
                               held.end))
        weakened |= _overlaps(held, lock.start, lock.end) and (
            lock.type == UNLCK or held.type == WRLCK and lock.type == RDLCK)
    if lock.type != UNLCK:
        pieces.append(lock)
    pieces.sort(key=lambda held: held.start)
    merged: list[Lock] = []
    for held in pieces:
        prev = merged[-1] if merged else None
        if prev is not None and prev.type == held.type and held.start <= prev.end + 1:
            merged[-1] = Lock(owner, prev.pid, prev.type, prev.start, max(prev.end, held.end))
        else:
            merged.append(held)
    _count(table, len(merged) - len(touched))
    mine[first:last] = merged  # (in place: appending to many locks costs no copy of them)
    owners = table.ranges.setdefault(key, {})
    if mine:
        owners[owner] = mine
    else:
        owners.pop(owner, None)
        if not owners:
            del table.ranges[key]
    if isinstance(owner, tuple):
        pid = owner[1]
        if mine:
            table.by_pid.setdefault(pid, set()).add(key)
        elif pid in table.by_pid:
            table.by_pid[pid].discard(key)
            if not table.by_pid[pid]:
                del table.by_pid[pid]
    if weakened:
        wake(vfs, key)  # a range went, or a write lock became a read lock


def _count(table: LockTable, added: int) -> None:
    if added > 0 and table.count + added > LOCKS_MAX:
        raise KernelError(Errno.ENOLCK, "the machine's lock table is full")
    table.count += added


def _deadlock(vfs: Vfs, owner: Any, held: Lock) -> bool:
    """Whether waiting for ``held`` closes a cycle: its owner waits for a lock whose owner
    waits ... for one of ``owner``'s (Linux's posix_locks_deadlock)."""
    table = vfs.state.locks
    for _ in range(MAX_DEADLK_ITERATIONS + 1):
        if held.owner == owner:
            return True
        if not isinstance(held.owner, tuple):
            return False  # an OFD lock's owner is no process
        waiter = next((w for w in table.waiters if not w.flock and w.lock.owner == held.owner
                       and vfs.api.waiting(w.request)), None)
        if waiter is None:
            return False
        blocker = _conflict(table.ranges.get(waiter.key, {}), waiter.lock)
        if blocker is None:
            return False
        held = blocker
    return False


def wake(vfs: Vfs, key: Any) -> None:
    """Locks on ``key`` went or weakened: grant the waiters that can go on, in order (a
    grant that weakens its owner's locks lets later ones go too: the pass repeats)."""
    table = vfs.state.locks
    if key in table.waking:
        table.waking[key] = True  # (a grant inside the pass below: it runs again)
        return
    table.waking[key] = True
    try:
        while table.waking[key]:
            table.waking[key] = False
            for waiter in [w for w in table.waiters if w.key == key]:
                if not vfs.api.waiting(waiter.request):
                    table.waiters.remove(waiter)  # interrupted, or its process is gone
                    continue
                try:
                    held = _try(vfs, key, waiter.lock, waiter.flock)
                except KernelError as err:
                    table.waiters.remove(waiter)
                    vfs.answer(waiter.request, -err.errno)
                    continue
                if held is None:
                    table.waiters.remove(waiter)
                    vfs.answer(waiter.request, 0)
    finally:
        del table.waking[key]


def _drop_flock(table: LockTable, key: Any, file: OpenFile) -> None:
    holders = table.flocks.get(key, {})
    if holders.pop(file, None) is not None:
        table.count -= 1
        if not holders:
            del table.flocks[key]


def _drop_owner(table: LockTable, key: Any, owner: Any) -> bool:
    """Drop every record or OFD lock ``owner`` holds on ``key``; whether it held any."""
    owners = table.ranges.get(key, {})
    gone = owners.pop(owner, None)
    if not owners:
        table.ranges.pop(key, None)
    if gone is None:
        return False
    table.count -= len(gone)
    return True


def closed(vfs: Vfs, pid: int, file: OpenFile) -> None:
    """Process ``pid`` closed an fd of ``file``: its record locks on that file go."""
    keys = vfs.state.locks.by_pid.get(pid)
    if keys and key_of(vfs, file) in keys:
        _release_pid_key(vfs, pid, key_of(vfs, file))


def _release_pid_key(vfs: Vfs, pid: int, key: Any) -> None:
    table = vfs.state.locks
    _drop_owner(table, key, ("posix", pid))
    keys = table.by_pid.get(pid)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del table.by_pid[pid]
    wake(vfs, key)


def exited(vfs: Vfs, pid: int) -> None:
    """Process ``pid`` is gone: whatever record locks it still held go."""
    for key in list(vfs.state.locks.by_pid.get(pid, ())):
        _release_pid_key(vfs, pid, key)


def released(vfs: Vfs, file: OpenFile) -> None:
    """The last reference to the open file ``file`` went: its OFD and flock locks and
    its lease go."""
    if file.lock_key is None:
        return  # never locked
    table = vfs.state.locks
    key = file.lock_key
    _drop_owner(table, key, file)
    _drop_flock(table, key, file)
    wake(vfs, key)
    if file in table.leases.get(key, {}):
        _lease_drop(vfs, key, file)


def proc_locks(table: LockTable) -> bytes:
    """/proc/locks, as Linux's locks_show writes it: one line a lock (its class, type,
    owner's pid, the file as major:minor:inode, its range), each waiter after the lock it
    waits for, with that lock's number and "-> "."""
    blocked: dict[int, list[tuple[Waiter, str]]] = {}
    for waiter in table.waiters:
        if waiter.request.answered:
            continue  # (interrupted, or its process gone: dropped at the next wake)
        if waiter.flock:
            held = next((h for h in table.flocks.get(waiter.key, {}).values()
                         if h.owner is not waiter.lock.owner), None)
        else:
            held = _conflict(table.ranges.get(waiter.key, {}), waiter.lock)
        if held is not None:
            kind = "FLOCK " if waiter.flock else _kind(waiter.lock)
            blocked.setdefault(id(held), []).append((waiter, kind))
    out: list[str] = []
    held_locks = [(key, lock, _kind(lock)) for key, owners in table.ranges.items()
                  for owned in owners.values() for lock in owned]
    held_locks += [(key, lock, "FLOCK ") for key, holders in table.flocks.items()
                   for lock in holders.values()]
    for number, (key, lock, kind) in enumerate(held_locks, 1):
        out.append(_proc_line(number, "", kind + " ADVISORY  ", lock, key))
        for waiter, waiter_kind in blocked.get(id(lock), []):
            out.append(_proc_line(number, "-> ", waiter_kind + " ADVISORY  ", waiter.lock, key))
    number = len(held_locks)
    for key, leases in table.leases.items():
        for lease in leases.values():  # a lease shows the type it is coming down to
            number += 1
            type_ = lease.type if lease.target is None else lease.target
            head = "LEASE  " + ("ACTIVE    " if lease.target is None else "BREAKING  ")
            out.append(_proc_line(number, "", head, Lock(None, lease.pid, type_), key))
    return "".join(out).encode()


def _kind(lock: Lock) -> str:
    return "POSIX " if isinstance(lock.owner, tuple) else "OFDLCK"


def _proc_line(number: int, prefix: str, head: str, lock: Lock, key: Any) -> str:
    if key[0] == "node":
        where = f"{os.major(key[1]):02x}:{os.minor(key[1]):02x}:{key[2]}"
    else:  # a pipe or socket: pipefs's device, the inode its fstat shows
        where = f"00:{PIPEFS_DEV:02x}:{key[1] & 0xFFFFFF}"
    end = "EOF" if lock.end == OFFSET_MAX else str(lock.end)
    type_ = "WRITE" if lock.type == WRLCK else "READ" if lock.type == RDLCK else "UNLCK"
    return f"{number}: {prefix}{head}{type_} {lock.pid} {where} {lock.start} {end}\n"


# -- leases (F_SETLEASE, F_GETLEASE) ---------------------------------------------------
CAP_LEASE = 28  # capabilities(7): a lease on a file of another owner


def open_counts(vfs: Vfs, key: Any) -> tuple[int, int]:
    """How many open descriptions of the file ``key`` read only, and write (Linux's
    i_readcount and i_writecount)."""
    seen: set[int] = set()
    readers = writers = 0
    for proc in vfs.state.procs.values():
        for entry in proc.fds.entries.values():
            file = entry.file
            if id(file) in seen or file.walk is None or file.flags & O_PATH:
                continue
            seen.add(id(file))
            if key_of(vfs, file) != key:
                continue
            if file.writable():
                writers += 1
            elif file.readable():
                readers += 1
    return readers, writers


def setlease(vfs: Vfs, file: OpenFile, arg: int) -> int:
    """F_SETLEASE (Linux's generic_setlease): the owner of the file (or CAP_LEASE) takes a
    read lease while no one has the file open for writing, a write lease while this is
    its only open description; F_UNLCK lets go (and lets a waiting open go on)."""
    attr = file.fs.getattr(file.node) if file.walk is not None else None
    who = vfs.who()
    if attr is not None and who.fsuid != attr.uid and not who.capable(CAP_LEASE):
        raise KernelError(Errno.EACCES, "a lease on another's file")
    if attr is None or not stat.S_ISREG(attr.mode):
        raise KernelError(Errno.EINVAL, "a lease on a file that is not regular")
    table = vfs.state.locks
    key = key_of(vfs, file)
    leases = table.leases.get(key, {})
    mine = leases.get(file)
    if arg == UNLCK:
        if mine is None:
            raise KernelError(Errno.EAGAIN, "no lease to let go of")  # (generic_delete_lease)
        _lease_drop(vfs, key, file)
        return 0
    if arg not in (RDLCK, WRLCK):
        raise KernelError(Errno.EINVAL, f"lease type {arg}")
    readers, writers = open_counts(vfs, key)
    if arg == RDLCK and writers:
        raise KernelError(Errno.EAGAIN, "the file is open for writing")
    if arg == WRLCK and (readers, writers) != ((0, 1) if file.writable() else (1, 0)):
        raise KernelError(Errno.EAGAIN, "the file has other opens")
    for other, lease in leases.items():
        if other is not file and (arg == WRLCK or lease.target == UNLCK):
            raise KernelError(Errno.EAGAIN, "another lease, or one being broken")
    if mine is not None:
        mine.type = arg
        if mine.target is not None and _satisfied(mine):
            mine.target = None
        _lease_changed(vfs, key)
        return 0
    _count(table, 1)
    table.leases.setdefault(key, {})[file] = Lease(arg, vfs.state.caller)
    file.owner = (OWNER_PID, vfs.state.caller)  # SIGIO goes to the lease's taker
    return 0


def getlease(vfs: Vfs, file: OpenFile) -> int:
    """F_GETLEASE: the lease ``file`` holds, or what it must come down to while broken."""
    lease = vfs.state.locks.leases.get(file.lock_key, {}).get(file)
    if lease is None:
        return UNLCK
    return lease.target if lease.target is not None else lease.type


def _satisfied(lease: Lease) -> bool:
    return lease.target is not None and (lease.target == RDLCK and lease.type == RDLCK)


def break_lease(vfs: Vfs, request: Request, key: Any, flags: int) -> bool:
    """An open of the file ``key`` with open(2) ``flags``: a lease it conflicts with (any
    lease for a writer, a write lease for a reader) is broken (its holder signalled) and
    the open waits (False: parked) until the leases let it go on; O_NONBLOCK: EWOULDBLOCK.
    True: go on now."""
    table = vfs.state.locks
    leases = table.leases.get(key)
    if not leases:
        return True
    want_write = flags & O_ACCMODE != O_RDONLY or bool(flags & O_TRUNC)
    conflicting = [(file, lease) for file, lease in leases.items()
                   if want_write or lease.type == WRLCK]
    if not conflicting:
        return True
    target = UNLCK if want_write else RDLCK
    grace = float(vfs.state.sysctl.lease_break_time)  # seconds a holder has to let go
    for file, lease in conflicting:
        if lease.target is None or target == UNLCK and lease.target != UNLCK:
            lease.target = target
            lease.deadline = time.monotonic() + grace
            table.lease_generation += 1
            vfs.api.notify_at(grace, Op.LEASE_TIMEOUT,
                              LeaseTimeout(table.lease_generation))
            vfs.state.send_sigio(*file.owner, file.signum or SIGIO)
    if flags & O_NONBLOCK:
        raise KernelError(Errno.EAGAIN, "a lease is being broken")
    table.breakers.append((request, key, want_write))
    return False


def _lease_drop(vfs: Vfs, key: Any, file: OpenFile) -> None:
    table = vfs.state.locks
    leases = table.leases.get(key, {})
    if leases.pop(file, None) is not None:
        table.count -= 1
    if not leases:
        table.leases.pop(key, None)
    _lease_changed(vfs, key)


def _lease_changed(vfs: Vfs, key: Any) -> None:
    """A lease on ``key`` went or came down: the opens it held back run again."""
    table = vfs.state.locks
    leases = table.leases.get(key, {})
    waiting, table.breakers = table.breakers, []
    for request, where, want_write in waiting:
        if where != key or not vfs.api.waiting(request):
            if vfs.api.waiting(request):
                table.breakers.append((request, where, want_write))
            continue
        if any(want_write or lease.type == WRLCK for lease in leases.values()):
            table.breakers.append((request, where, want_write))
            continue
        vfs.rerun(request)


def lease_timeout(vfs: Vfs) -> None:
    """lease-break-time passed for a lease being broken: it comes down by force."""
    table = vfs.state.locks
    now = time.monotonic()
    for key, leases in list(table.leases.items()):
        expired = [(f, lease) for f, lease in leases.items()
                   if lease.target is not None and lease.deadline <= now]
        for file, lease in expired:
            if lease.target == UNLCK:
                leases.pop(file)
                table.count -= 1
            else:
                lease.type, lease.target = RDLCK, None
        if not leases:
            del table.leases[key]
        if expired:
            _lease_changed(vfs, key)
