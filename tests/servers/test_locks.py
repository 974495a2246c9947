"""The VFS's lock table (servers/vfs/locks.py) on its own: record locks against a byte-by-byte
model of who holds what, many locks of one owner (bisection, not a scan of every lock),
the machine's limit (ENOLCK), a waits-for cycle of three processes (EDEADLK), waiters
granted in order as locks go, and leases that come down by force after lease-break-time.
The guest program files_locks.c checks the same rules against Linux; this checks what a
program cannot see quickly."""

from __future__ import annotations

import random
import time
from types import SimpleNamespace
from dataclasses import dataclass, field
from typing import Any

import pytest

from cloudos.abi.sysctl import Sysctl
from cloudos.abi.flags import FcntlCmd, LockType, OwnerType
from cloudos.abi.vfs import FcntlLock, LockHolder
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import files, locks
from cloudos.servers.vfs.files import FdTable, OpenFile, Pipe
from cloudos.servers.vfs.paths import Step
from cloudos.servers.vfs.perm import Who
from cloudos.servers.vfs.tmpfs import TmpFs

RD, WR, UN = int(LockType.RDLCK), int(LockType.WRLCK), int(LockType.UNLCK)
SETLK, SETLKW, GETLK = int(FcntlCmd.SETLK), int(FcntlCmd.SETLKW), int(FcntlCmd.GETLK)


@dataclass
class Req:
    sender: int
    waits: bool = True


@dataclass
class State:
    locks: locks.LockTable = field(default_factory=locks.LockTable)
    sysctl: Sysctl = field(default_factory=Sysctl)  # lease-break-time 45 s


class Api:
    def waiting(self, request: Req) -> bool:
        return request.waits


class FakeVfs:
    """What locks.py uses of the server: its state, ``api.waiting`` and ``answer``."""

    def __init__(self) -> None:
        self.state = State()
        self.api = Api()
        self.answers: list[tuple[int, Any]] = []

    def answer(self, request: Req, result: Any) -> None:
        request.waits = False
        self.answers.append((request.sender, result))


def _file() -> OpenFile:
    return OpenFile("pipe", files.O_RDWR, pipe=Pipe())  # (locks key a pipe by itself)


def _set(vfs: FakeVfs, pid: int, file: OpenFile, type_: int, start: int, length: int,
         cmd: int = SETLK) -> Any:
    request = Req(pid)
    return locks.fcntl_lock(vfs, request, file,  # type: ignore[arg-type]
                            FcntlLock(0, cmd, type_, 0, start, length, 0))


def _holder(vfs: FakeVfs, pid: int, file: OpenFile, type_: int, start: int, length: int) -> Any:
    return locks.fcntl_lock(vfs, Req(pid), file,  # type: ignore[arg-type]
                            FcntlLock(0, GETLK, type_, 0, start, length, 0))


def test_ranges_match_a_byte_model() -> None:
    """Random locks and unlocks of three processes on 64 bytes: every byte's holders, by
    F_GETLK from a fourth process, are what a byte-by-byte model says."""
    rng = random.Random(13)
    vfs, file = FakeVfs(), _file()
    size = 64
    model: list[dict[int, int]] = [{} for _ in range(size)]  # byte -> {pid: type}
    for _ in range(600):
        pid = rng.choice((1, 2, 3))
        start = rng.randrange(size)
        length = rng.randrange(1, size - start + 1)
        type_ = rng.choice((RD, WR, UN, UN))
        byte_range = range(start, start + length)
        conflict = type_ != UN and any(
            other != pid and WR in (held, type_)
            for b in byte_range for other, held in model[b].items())
        try:
            assert _set(vfs, pid, file, type_, start, length) == 0
            assert not conflict
        except KernelError as err:
            assert err.errno == Errno.EAGAIN and conflict
            continue
        for b in byte_range:
            if type_ == UN:
                model[b].pop(pid, None)
            else:
                model[b][pid] = type_
    for b in range(size):
        held = _holder(vfs, 9, file, WR, b, 1)
        expect = model[b]
        if not expect:
            assert held == 0, b
        else:
            assert isinstance(held, LockHolder) and held.pid in expect, (b, held)
            assert held.type == expect[held.pid] and held.start <= b < held.start + held.length
    # each owner's locks are disjoint, sorted, and merged with neighbours of their type
    for owned in vfs.state.locks.ranges[locks.key_of(vfs, file)].values():  # type: ignore[arg-type]
        for a, b in zip(owned, owned[1:]):
            assert a.end < b.start and not (a.type == b.type and a.end + 1 == b.start)
    assert vfs.state.locks.count == sum(
        len(o) for o in vfs.state.locks.ranges[locks.key_of(vfs, file)].values())  # type: ignore[arg-type]


def test_many_locks_of_one_owner_are_cheap_and_limited() -> None:
    vfs, file = FakeVfs(), _file()
    began = time.perf_counter()
    for i in range(locks.LOCKS_MAX):
        _set(vfs, 1, file, WR if i % 2 else RD, 2 * i, 1)
    assert time.perf_counter() - began < 10  # bisection: ~65k locks in a second or two
    with pytest.raises(KernelError) as err:
        _set(vfs, 1, file, WR, 2 * locks.LOCKS_MAX, 1)
    assert err.value.errno == Errno.ENOLCK
    assert _holder(vfs, 2, file, RD, 2 * 777, 1) == LockHolder(WR, 2 * 777, 1, 1)
    _set(vfs, 1, file, UN, 0, 0)  # one unlock of everything
    assert vfs.state.locks.count == 0 and not vfs.state.locks.ranges


def test_a_cycle_of_three_waits_is_edeadlk_and_waiters_go_in_order() -> None:
    vfs, file = FakeVfs(), _file()
    for pid in (1, 2, 3):
        _set(vfs, pid, file, WR, pid, 1)
    assert _set(vfs, 1, file, WR, 2, 1, SETLKW) is None  # 1 waits for 2
    assert _set(vfs, 2, file, WR, 3, 1, SETLKW) is None  # 2 waits for 3
    with pytest.raises(KernelError) as err:
        _set(vfs, 3, file, WR, 1, 1, SETLKW)  # 3 would wait for 1: a cycle
    assert err.value.errno == Errno.EDEADLK
    assert _set(vfs, 4, file, RD, 3, 1, SETLKW) is None  # 4 waits for 3 too, after 2
    locks.exited(vfs, 3)  # type: ignore[arg-type]
    assert vfs.answers == [(2, 0)]  # 2 first; 4's read lock now waits for 2's write lock
    locks.exited(vfs, 2)  # type: ignore[arg-type]
    assert vfs.answers == [(2, 0), (1, 0), (4, 0)]
    assert vfs.state.locks.waiters == []
    for pid in (1, 4):
        locks.exited(vfs, pid)  # type: ignore[arg-type]
    assert vfs.state.locks.count == 0 and not vfs.state.locks.by_pid


def test_an_interrupted_waiter_is_never_granted() -> None:
    vfs, file = FakeVfs(), _file()
    _set(vfs, 1, file, WR, 0, 0)
    request = Req(2)
    assert locks.fcntl_lock(vfs, request, file,  # type: ignore[arg-type]
                            FcntlLock(0, SETLKW, WR, 0, 0, 1, 0)) is None
    request.waits = False  # a signal took it back
    _set(vfs, 1, file, UN, 0, 0)
    assert vfs.answers == [] and _holder(vfs, 3, file, WR, 0, 0) == 0
    assert vfs.state.locks.waiters == []


# -- leases -------------------------------------------------------------------------------
class LeaseVfs(FakeVfs):
    """The fake server with what leases use: processes' fds (none: the test's files are
    open nowhere else), the caller's credentials, signals, timers and re-runs."""

    def __init__(self) -> None:
        super().__init__()
        self.state.procs = {}  # type: ignore[attr-defined]
        self.state.caller = 7  # type: ignore[attr-defined]
        self.signals: list[tuple[int, int, int]] = []
        self.state.send_sigio = lambda *a: self.signals.append(a)  # type: ignore[attr-defined]
        self.timers: list[float] = []
        self.api.notify_at = lambda delay, op, body: self.timers.append(delay)  # type: ignore[attr-defined]
        self.reruns: list[Req] = []

    def who(self) -> Who:
        return Who()

    def rerun(self, request: Req) -> None:
        self.reruns.append(request)


def _regular_file(vfs: LeaseVfs, flags: int = files.O_RDONLY) -> OpenFile:
    """A file of a tmpfs, open (only) in process 7's fd table."""
    fs = TmpFs()
    node = fs.create(fs.root(), b"f", 0o644, 0, 0)
    file = OpenFile("node", flags, (Step(b"f", fs, node),))
    table = FdTable()
    table.install(file)
    vfs.state.procs[7] = SimpleNamespace(fds=table)  # type: ignore[attr-defined]
    return file


def test_a_lease_not_let_go_comes_down_after_lease_break_time() -> None:
    vfs = LeaseVfs()
    file = _regular_file(vfs)
    assert locks.setlease(vfs, file, RD) == 0  # type: ignore[arg-type]
    key = locks.key_of(vfs, file)  # type: ignore[arg-type]
    assert b" LEASE  ACTIVE    READ 7 " in locks.proc_locks(vfs.state.locks)
    opener = Req(8)
    assert locks.break_lease(vfs, opener, key, files.O_WRONLY) is False  # type: ignore[arg-type]
    assert vfs.signals == [(int(OwnerType.PID), 7, 29)] and vfs.timers == [45.0]
    assert locks.getlease(vfs, file) == UN  # type: ignore[arg-type]
    assert b" LEASE  BREAKING  UNLCK 7 " in locks.proc_locks(vfs.state.locks)
    locks.lease_timeout(vfs)  # type: ignore[arg-type]
    assert vfs.reruns == []  # not yet: the holder has 45 s
    vfs.state.locks.leases[key][file].deadline = 0.0
    locks.lease_timeout(vfs)  # type: ignore[arg-type]
    assert vfs.reruns == [opener] and locks.getlease(vfs, file) == UN  # type: ignore[arg-type]
    assert vfs.state.locks.count == 0 and not vfs.state.locks.leases


def test_a_write_lease_broken_by_a_reader_comes_down_to_a_read_lease() -> None:
    vfs = LeaseVfs()
    file = _regular_file(vfs)
    assert locks.setlease(vfs, file, WR) == 0  # type: ignore[arg-type]
    key = locks.key_of(vfs, file)  # type: ignore[arg-type]
    reader = Req(8)
    assert locks.break_lease(vfs, reader, key, files.O_RDONLY) is False  # type: ignore[arg-type]
    assert locks.getlease(vfs, file) == RD  # type: ignore[arg-type]
    assert locks.break_lease(vfs, Req(9), key, files.O_RDONLY) is False  # type: ignore[arg-type]
    assert len(vfs.signals) == 1  # one break, one signal
    vfs.state.locks.leases[key][file].deadline = 0.0
    locks.lease_timeout(vfs)  # type: ignore[arg-type]
    assert [r.sender for r in vfs.reruns] == [8, 9]
    assert locks.getlease(vfs, file) == RD  # type: ignore[arg-type]
    assert locks.break_lease(vfs, Req(10), key, files.O_RDONLY) is True  # type: ignore[arg-type]
    with pytest.raises(KernelError) as err:  # a writer, not waiting
        locks.break_lease(vfs, Req(11), key, files.O_RDWR | files.O_NONBLOCK)  # type: ignore[arg-type]
    assert err.value.errno == Errno.EAGAIN
