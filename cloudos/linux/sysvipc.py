"""What System V semaphore sets and message queues share: keys, identifiers, permissions.

Owns: ``IpcObject`` (an object's key, identifier, owner, creator, mode and change
time, and the ``struct ipc64_perm`` it reports), ``Registry`` (one machine's objects
of one kind: lookup by key and identifier, ``get`` as ipcget does it, removal), the
permission check ipcperms does, and ``Waiter``, a thread parked on an object.
Never: blocks or wakes a thread itself (``sysvsem`` and ``sysvmsg`` do).
Called by: ``sysvsem``, ``sysvmsg``, ``syscalls.sys_ipc`` (``has_state``). Shared memory
(``sysvshm``) predates this module and keeps its own copy of these rules.

Identifiers are the object's slot plus 32768 times a sequence number, like Linux's.
"""

from __future__ import annotations

import struct
import time
import weakref
from typing import Any, Callable, Generic, Protocol, TypeVar

from cloudos.abi.dataclass import dataclass, field
from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import State, Thread
from cloudos.linux.creds import CAP_IPC_OWNER, CAP_SYS_ADMIN
from cloudos.linux.process import linux

IPC_PRIVATE, IPC_CREAT, IPC_EXCL, IPC_NOWAIT = 0, 0o1000, 0o2000, 0o4000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO, IPC_64 = 0, 1, 2, 3, 0x100
SEQ_MULTIPLIER = 32768  # IPCMNI: the slots of one kind
# struct ipc64_perm of x86_64: key, uid, gid, cuid, cgid, mode, seq, two unused longs
IPC64_PERM = "iIIIIIH2x4xQQ"
READ, WRITE = 4, 2  # the bits of a mode ipcperms checks: reading, altering


@dataclass
class IpcObject:
    """One semaphore set or message queue: who owns it, who may use it."""

    ident: int
    key: int
    mode: int
    uid: int
    gid: int
    cuid: int = field(init=False)
    cgid: int = field(init=False)
    ctime: int = field(default_factory=lambda: int(time.time()))
    removed: bool = False

    def __post_init__(self) -> None:
        self.cuid, self.cgid = self.uid, self.gid

    def perm(self) -> tuple[int, ...]:
        """The fields of its ``struct ipc64_perm``, in order."""
        return (self.key, self.uid, self.gid, self.cuid, self.cgid, self.mode,
                self.ident // SEQ_MULTIPLIER & 0xFFFF, 0, 0)


@dataclass
class Waiter:
    """A thread asleep on an object; stale once the thread left that sleep (woken by a
    signal, its timeout, or killed): its ``wait_seq`` moved on or it no longer blocks."""

    thread: Thread
    seq: int

    def waiting(self) -> bool:
        return self.thread.state is State.BLOCKED and self.thread.wait_seq == self.seq


def park(t: Thread, channel: tuple[str, int], until: float | None, timeout_result: int) -> int:
    """Put ``t`` to sleep on ``channel``; the waiter's sequence number, to tell it is still
    the same sleep when someone comes to answer it."""
    t.process.kernel.scheduler.sleep_on(t, channel, until, timeout_result)
    return t.wait_seq


def answer(waiter: Waiter, result: int) -> None:
    """End ``waiter``'s sleep with ``result`` as its call's return value."""
    thread = waiter.thread
    scheduler = thread.process.kernel.scheduler
    channel = thread.channel
    scheduler.wake(thread, result)
    sleepers = scheduler.channels.get(channel)
    if sleepers is not None and thread in sleepers:
        sleepers.remove(thread)
        if not sleepers:
            del scheduler.channels[channel]


class Owned(Protocol):
    """What ipcperms reads of any System V object (a set, a queue, a shm segment)."""

    mode: int
    uid: int
    gid: int
    cuid: int
    cgid: int


def allowed(t: Thread, obj: Owned, want: int) -> bool:
    """ipcperms: the owner's, group's or others' bits of the mode grant ``want``."""
    c = linux(t.process).creds
    if c.capable(CAP_IPC_OWNER):
        return True
    if c.euid in (obj.uid, obj.cuid):
        granted = obj.mode >> 6
    elif c.egid in (obj.gid, obj.cgid) or {obj.gid, obj.cgid} & set(c.groups):
        granted = obj.mode >> 3
    else:
        granted = obj.mode
    return not want & ~granted & 7


def check_owner(t: Thread, obj: IpcObject) -> None:
    """IPC_SET and IPC_RMID: the owner, the creator or CAP_SYS_ADMIN (EPERM)."""
    c = linux(t.process).creds
    if not c.capable(CAP_SYS_ADMIN) and c.euid not in (obj.uid, obj.cuid):
        raise KernelError(Errno.EPERM, f"IPC object {obj.ident} belongs to another user")


def set_perm(obj: IpcObject, uid: int, gid: int, mode: int) -> None:
    """IPC_SET's part every kind shares: the owner and the low nine bits of the mode."""
    obj.uid, obj.gid = uid, gid
    obj.mode = obj.mode & ~0o777 | mode & 0o777
    obj.ctime = int(time.time())


T = TypeVar("T", bound=IpcObject)


class Registry(Generic[T]):
    """One machine's objects of one kind, by identifier."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.by_id: dict[int, T] = {}
        self.seq = 0

    def get(self, ident: int) -> T:
        """The object ``ident`` names (EINVAL: none, or a negative identifier)."""
        obj = self.by_id.get(ident) if ident >= 0 else None
        if obj is None:
            raise KernelError(Errno.EINVAL, f"no {self.what} {ident}")
        return obj

    def next_ident(self, limit: int) -> int:
        """The identifier a new object takes: the lowest free slot (ENOSPC past ``limit``)."""
        used = {ident % SEQ_MULTIPLIER for ident in self.by_id}
        slot = next(i for i in range(len(used) + 1) if i not in used)
        if slot >= min(limit, SEQ_MULTIPLIER):
            raise KernelError(Errno.ENOSPC, f"{len(used)} {self.what}s: the limit")
        ident = self.seq * SEQ_MULTIPLIER + slot
        self.seq = (self.seq + 1) % (1 << 16)
        return ident

    def lookup(self, t: Thread, key: int, flags: int, want: int,
               more_checks: Callable[[T], None] | None = None) -> T | None:
        """ipcget of an existing key: the object (EEXIST with IPC_CREAT|IPC_EXCL; then the
        kind's ``more_checks``; EACCES without the rights ``flags`` ask for), or None when
        the key has none (ENOENT without IPC_CREAT)."""
        found = next((o for o in self.by_id.values() if o.key == key), None) \
            if key != IPC_PRIVATE else None
        if found is None:
            if key != IPC_PRIVATE and not flags & IPC_CREAT:
                raise KernelError(Errno.ENOENT, f"no {self.what} with key {key:#x}")
            return None
        if flags & IPC_CREAT and flags & IPC_EXCL:
            raise KernelError(Errno.EEXIST, f"key {key:#x} exists")
        if more_checks is not None:
            more_checks(found)
        if not allowed(t, found, want):
            raise KernelError(Errno.EACCES, f"{self.what} {found.ident}")
        return found

    def remove(self, obj: T) -> None:
        obj.removed = True
        del self.by_id[obj.ident]

    def highest_slot(self) -> int:
        """IPC_INFO's answer: the highest slot in use (0 when none is)."""
        return max((ident % SEQ_MULTIPLIER for ident in self.by_id), default=0)

    def by_slot(self, slot: int) -> T:
        """SEM_STAT, MSG_STAT: the object in ``slot`` (EINVAL: none)."""
        obj = next((o for o in self.by_id.values() if o.ident % SEQ_MULTIPLIER == slot), None)
        if obj is None:
            raise KernelError(Errno.EINVAL, f"no {self.what} in slot {slot}")
        return obj


_machines: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def state_of(kernel: Any, name: str, make: Callable[[], Any]) -> Any:
    """The machine's ``name`` state (made by ``make`` at first use)."""
    states = _machines.setdefault(kernel, {})
    if name not in states:
        states[name] = make()
    return states[name]


def has_state(kernel: Any, name: str) -> bool:
    """Whether the machine's ``name`` state was made (by a call of that kind)."""
    return name in _machines.get(kernel, {})


def creator(t: Thread) -> tuple[int, int]:
    """The owner of what ``t`` creates: its effective user and group."""
    creds = linux(t.process).creds
    return creds.euid, creds.egid


def pack_perm(fmt: str, obj: IpcObject, *rest: int) -> bytes:
    """``obj``'s ipc64_perm followed by ``rest`` packed as ``fmt`` (a kind's ``*id64_ds``)."""
    return struct.pack("<" + IPC64_PERM + fmt, *obj.perm(), *rest)
