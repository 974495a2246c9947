"""File locks: POSIX record locks, open-file-description (OFD) locks and flock(2).

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
  the other two; a conversion lets go of the old lock first, as Linux does.
A lock that cannot be had now waits (F_SETLKW, flock without LOCK_NB): the request is
parked (a deferred reply) and granted, in arrival order, when a lock on the file goes;
a signal takes it back (the server runtime answers it ``Again.INTERRUPTED``). A record
lock wait that would close a cycle of processes, each waiting for the next one's lock,
is EDEADLK (Linux follows at most ten steps; OFD locks are not followed).
Never: reads guest memory (the personality decodes struct flock), nor knows processes
beyond the pid that owns a record lock.
Called by: ``vfs.server`` (fcntl, flock, close, the last reference of an open file,
exit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cloudos.abi.flags import FcntlCmd, FlockOp, LockType
from cloudos.abi.vfs import FcntlLock, LockHolder
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


@dataclass
class LockTable:
    """Every lock on the machine (in VfsState: it outlives a crash of the server's code)."""

    ranges: dict[Any, list[Lock]] = field(default_factory=dict)  # record and OFD locks
    flocks: dict[Any, list[Lock]] = field(default_factory=dict)
    waiters: list[Waiter] = field(default_factory=list)
    # the files on which each process holds record locks (what its close and exit release)
    by_pid: dict[int, set[Any]] = field(default_factory=dict)
    count: int = 0
    waking: dict[Any, bool] = field(default_factory=dict)  # keys being woken: run again?


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


def _conflict(locks: list[Lock], want: Lock) -> Lock | None:
    """The first lock of another owner that ``want`` cannot be held with."""
    for held in locks:
        if held.owner is want.owner or held.owner == want.owner:
            continue
        if _overlaps(held, want.start, want.end) and WRLCK in (held.type, want.type):
            return held
    return None


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
        held = _conflict(vfs.state.locks.ranges.get(key_of(vfs, file), []),
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
    locks = table.flocks.get(key, [])
    want = UNLCK if kind == LOCK_UN else RDLCK if kind == LOCK_SH else WRLCK
    mine = next((lock for lock in locks if lock.owner is file), None)
    if mine is not None:
        if mine.type == want:
            return 0
        _drop(table, table.flocks, key, [mine])
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
        locks = table.flocks.setdefault(key, [])
        held = _conflict(locks, lock)
        if held is None:
            _count(table, 1)
            locks.append(lock)
        return held
    locks = table.ranges.get(key, [])
    if lock.type != UNLCK:
        held = _conflict(locks, lock)
        if held is not None:
            return held
    _place(vfs, key, lock)
    return None


def _place(vfs: Vfs, key: Any, lock: Lock) -> None:
    """Put the owner's new lock (or unlock) over its old ones: what it covers of them
    goes (a lock over the middle of one splits it in two), then neighbours of one type
    merge."""
    table = vfs.state.locks
    locks = table.ranges.get(key, [])
    owner = lock.owner
    mine: list[Lock] = []
    others: list[Lock] = []
    for held in locks:
        (mine if held.owner is owner or held.owner == owner else others).append(held)
    kept: list[Lock] = []
    for held in mine:
        if not _overlaps(held, lock.start, lock.end):
            kept.append(held)
            continue
        if held.start < lock.start:
            kept.append(Lock(owner, held.pid, held.type, held.start, lock.start - 1))
        if held.end > lock.end:
            kept.append(Lock(owner, held.pid, held.type, lock.end + 1, held.end))
    if lock.type != UNLCK:
        kept.append(lock)
    kept.sort(key=lambda held: held.start)
    merged: list[Lock] = []
    for held in kept:
        last = merged[-1] if merged else None
        if last is not None and last.type == held.type and held.start <= last.end + 1 \
                and last.end != OFFSET_MAX:
            merged[-1] = Lock(owner, last.pid, last.type, last.start, max(last.end, held.end))
        else:
            merged.append(held)
    _count(table, len(merged) - len(mine))
    if others or merged:
        table.ranges[key] = others + merged
    else:
        table.ranges.pop(key, None)
    if isinstance(owner, tuple):
        pid = owner[1]
        if merged:
            table.by_pid.setdefault(pid, set()).add(key)
        elif pid in table.by_pid:
            table.by_pid[pid].discard(key)
    if len(merged) < len(mine) or lock.type != WRLCK:
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
        blocker = _conflict(table.ranges.get(waiter.key, []), waiter.lock)
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


def _drop(table: LockTable, where: dict[Any, list[Lock]], key: Any, gone: list[Lock]) -> None:
    locks = [lock for lock in where.get(key, []) if not any(lock is g for g in gone)]
    table.count -= len(gone)
    if locks:
        where[key] = locks
    else:
        where.pop(key, None)


def closed(vfs: Vfs, pid: int, file: OpenFile) -> None:
    """Process ``pid`` closed an fd of ``file``: its record locks on that file go."""
    keys = vfs.state.locks.by_pid.get(pid)
    if keys and key_of(vfs, file) in keys:
        _release_pid_key(vfs, pid, key_of(vfs, file))


def _release_pid_key(vfs: Vfs, pid: int, key: Any) -> None:
    table = vfs.state.locks
    owner = ("posix", pid)
    gone = [lock for lock in table.ranges.get(key, []) if lock.owner == owner]
    _drop(table, table.ranges, key, gone)
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
    """The last reference to the open file ``file`` went: its OFD and flock locks go."""
    if file.lock_key is None:
        return  # never locked
    table = vfs.state.locks
    key = file.lock_key
    for where in (table.ranges, table.flocks):
        gone = [lock for lock in where.get(key, []) if lock.owner is file]
        if gone:
            _drop(table, where, key, gone)
    wake(vfs, key)

