"""timerfd: a timer read as a count of expirations.

Owns: creating a timerfd (on CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME),
arming and reading it (timerfd_settime, timerfd_gettime), counting its expirations
(the kernel wakes the VFS with a TimerFired notification at each deadline,
``ServerApi.notify_at``; a stale one, for a timer closed or re-armed since, is
dropped), its reads (the count, 8 bytes; a read of none waits, a deferred reply)
and poll events, and forgetting it when its last fd closes.
Never: touches guest memory except through a request's grants.
Called by: ``vfs.server``.
"""

from __future__ import annotations

import struct
import time
from typing import TYPE_CHECKING, Any

from cloudos.abi.vfs import Op, TimerFired, TimerfdCreate, TimerfdGettime, TimerfdSettime
from cloudos.errno import Errno, KernelError
from cloudos.servers.vfs import files
from cloudos.servers.vfs.fileops import FileOps
from cloudos.servers.vfs.files import O_CLOEXEC, O_NONBLOCK, OpenFile, Timer

if TYPE_CHECKING:
    from cloudos.servers.runtime import Request
    from cloudos.servers.vfs.server import Proc, Vfs, VfsState

TIMERFD_CLOCKS = (time.CLOCK_REALTIME, time.CLOCK_MONOTONIC, time.CLOCK_BOOTTIME)
POLLIN = 1


def create(state: VfsState, r: TimerfdCreate) -> tuple[OpenFile, bool]:
    """A new timerfd, and whether its fd closes on exec."""
    if r.clock not in TIMERFD_CLOCKS or r.flags & ~(O_CLOEXEC | O_NONBLOCK):
        raise KernelError(Errno.EINVAL, f"timerfd_create clock {r.clock} flags {r.flags:#x}")
    state.timer_keys += 1
    timer = Timer(state.timer_keys, r.clock)
    state.timers[timer.key] = timer
    file = OpenFile("timerfd", files.O_RDWR | r.flags & O_NONBLOCK, timer=timer)
    return file, bool(r.flags & O_CLOEXEC)


def _timer(vfs: Vfs, request: Request, fd: int) -> Timer:
    file = vfs.proc(request).fds.get(fd)
    if file.timer is None:
        raise KernelError(Errno.EINVAL, f"fd {fd} is not a timerfd")
    return file.timer


def _now(timer: Timer) -> tuple[float, bytes]:
    """The timer as struct itimerspec (interval, time to the next expiry), and now."""
    now = time.monotonic()
    left = max(0.0, timer.deadline - now) if timer.deadline is not None else 0.0
    if timer.deadline is not None and left == 0.0:
        left = 1e-9  # armed and due: Linux never reports an armed timer as 0
    ns = [round(timer.interval * 1e9), round(left * 1e9)]
    return now, struct.pack("<qqqq", ns[0] // 10**9, ns[0] % 10**9, ns[1] // 10**9,
                            ns[1] % 10**9)


def settime(vfs: Vfs, request: Request, r: TimerfdSettime) -> int:
    """Implements Linux timerfd_settime(2) (the old value to the grant, if any)."""
    timer = _timer(vfs, request, r.fd)
    advance(vfs, timer)
    if request.grants:  # the old value
        vfs.api.copy_out(request.grants[0], 0, _now(timer)[1])
    now = time.monotonic()
    timer.ticks, timer.interval = 0, r.interval
    if r.value == 0:
        timer.deadline = None
    elif r.absolute:  # a time on the timer's clock, as a time on the host's monotonic one
        timer.deadline = now + r.value - time.clock_gettime(timer.clock)
    else:
        timer.deadline = now + r.value
    _schedule(vfs, timer)
    vfs.wake_pollers()
    return 0


def gettime(vfs: Vfs, request: Request, r: TimerfdGettime) -> int:
    """Implements Linux timerfd_gettime(2)."""
    timer = _timer(vfs, request, r.fd)
    advance(vfs, timer)
    vfs.api.copy_out(request.grants[0], 0, _now(timer)[1])
    return 0


def _schedule(vfs: Vfs, timer: Timer) -> None:
    timer.generation += 1
    if timer.deadline is not None:
        vfs.api.notify_at(timer.deadline - time.monotonic(), Op.TIMER_FIRED,
                          TimerFired(timer.key, timer.generation))


def advance(vfs: Vfs, timer: Timer) -> None:
    """Count the expirations that are due; a periodic timer moves to its next one."""
    if timer.deadline is None:
        return
    now = time.monotonic()
    if now < timer.deadline:
        return
    if timer.interval:
        missed = 1 + int((now - timer.deadline) / timer.interval)
        timer.ticks += missed
        timer.deadline += missed * timer.interval
    else:
        timer.ticks += 1
        timer.deadline = None
    _schedule(vfs, timer)


def fired(vfs: Vfs, r: TimerFired) -> None:
    """A timer's expiry notification: count it, answer waiting reads, wake pollers."""
    timer = vfs.state.timers.get(r.key)
    if timer is None or timer.generation != r.generation:
        return  # closed or re-armed since: a stale notification
    advance(vfs, timer)
    if timer.deadline is not None and timer.generation == r.generation:
        _schedule(vfs, timer)  # woken a little early: wait again
    while timer.blocked_readers and timer.ticks:
        reader, grant = timer.blocked_readers.popleft()
        if not vfs.api.waiting(reader):
            continue
        try:
            vfs.api.copy_out(grant, 0, struct.pack("<Q", timer.ticks))
            timer.ticks = 0
            vfs.answer(reader, 8)
        except KernelError as err:
            vfs.answer(reader, -err.errno)
    vfs.wake_pollers()


class TimerFd(FileOps):
    """The timerfd kind of open file."""

    def read(self, vfs: Vfs, request: Request, file: OpenFile, count: int,
             grant: Any) -> int | None:
        timer = file.timer
        assert timer is not None
        if count < 8:
            raise KernelError(Errno.EINVAL, "a timerfd is read 8 bytes at a time")
        advance(vfs, timer)
        if not timer.ticks:
            if file.flags & O_NONBLOCK:
                raise KernelError(Errno.EAGAIN, "no expiration yet")
            timer.blocked_readers.append((request, grant))
            return None
        vfs.api.copy_out(grant, 0, struct.pack("<Q", timer.ticks))
        timer.ticks = 0
        return 8

    def poll(self, vfs: Vfs, proc: Proc, fd: int, file: OpenFile, events: int) -> int:
        assert file.timer is not None
        advance(vfs, file.timer)
        return POLLIN & events if file.timer.ticks else 0

    def release(self, vfs: Vfs, file: OpenFile) -> None:
        assert file.timer is not None
        vfs.state.timers.pop(file.timer.key, None)
