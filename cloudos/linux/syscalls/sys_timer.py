"""POSIX per-process timers: timer_create(2), timer_settime(2), timer_gettime(2),
timer_getoverrun(2), timer_delete(2).

A timer counts on a wall or monotonic clock and, at each expiry, sends its signal
(SIGEV_SIGNAL), sends it to one thread (SIGEV_THREAD_ID, which glibc's
SIGEV_THREAD is built on), or does nothing (SIGEV_NONE). An expiry whose
previous signal is still pending counts as an overrun instead. Expiries are
kernel timers (``Scheduler.call_at``); a generation number drops those of a
timer re-armed or deleted since. Timers are not inherited by fork and end with exec.
"""

from __future__ import annotations

import struct
import time

from cloudos.abi.dataclass import dataclass
from cloudos.abi.signal import NSIG, SI_TIMER
from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Process, Thread
from cloudos.linux import signals
from cloudos.linux.process import linux, linux_thread
from cloudos.linux.syscalls.sys_time import TIMER_ABSTIME
from cloudos.linux.syscalls.args import KTIME_MAX, WAIT_MAX, pack_time, s32, seconds

SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
SIGEVENT = struct.Struct("<QiiI")  # sigev_value, sigev_signo, sigev_notify, sigev_notify_thread_id
ITIMERSPEC = struct.Struct("<qqqq")  # it_interval (sec, nsec), it_value (sec, nsec)
# The clocks a timer may count on: their host clocks (CPU-time clocks are not supported)
CLOCKS = {0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 7: time.CLOCK_BOOTTIME,
          8: time.CLOCK_REALTIME, 9: time.CLOCK_BOOTTIME}
INT_MAX = 2**31 - 1  # overrun counts stop here


@dataclass(eq=False)
class PosixTimer:
    """One timer_create(2) timer: its clock, how it notifies, and when it fires next."""

    ident: int
    clock: int
    notify: int
    signo: int
    value: int
    tid: int
    deadline: float = 0.0  # on the scheduler's clock; 0: disarmed
    interval: float = 0.0
    generation: int = 0
    info: signals.SigInfo | None = None  # the last signal it queued (overruns counted in it)
    taken_overrun: int = 0  # the overruns of the signal before info (taken by then)


def _timers(t: Thread) -> dict[int, PosixTimer]:
    return linux(t.process).timers


def _timer(t: Thread, ident: int) -> PosixTimer:
    timer = _timers(t).get(s32(ident))
    if timer is None:
        raise KernelError(Errno.EINVAL, f"no timer {s32(ident)}")
    return timer


def sys_timer_create(t: Thread, clock: int, event: int, out: int, *_: int) -> int:
    """Implements Linux timer_create(2)."""
    clock = s32(clock)
    if clock not in CLOCKS:
        raise KernelError(Errno.EINVAL, f"timers on clock {clock} are not supported")
    aspace, state = t.process.aspace, linux(t.process)
    ident = state.next_timer  # as Linux: ids count up, a deleted one is not reused
    if event:
        value, signo, notify, tid = SIGEVENT.unpack(aspace.copy_in(event, SIGEVENT.size))
    else:  # as Linux: SIGALRM, with the timer's id as its value
        value, signo, notify, tid = ident, signals.SIGALRM, SIGEV_SIGNAL, 0
    if notify not in (SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID) \
            or notify != SIGEV_NONE and not 1 <= signo <= NSIG:
        raise KernelError(Errno.EINVAL, f"sigevent notify {notify} signal {signo}")
    if notify == SIGEV_THREAD_ID and not any(x.tid == tid for x in t.process.threads):
        raise KernelError(Errno.EINVAL, f"thread {tid} is not in this process")
    aspace.copy_out(out, struct.pack("<i", ident))
    state.timers[ident] = PosixTimer(ident, clock, notify, signo, value, tid)
    state.next_timer += 1
    return 0


def _read_spec(t: Thread, addr: int) -> tuple[float, float]:
    """it_interval and it_value in seconds (EINVAL out of range, clamped as Linux)."""
    fields = ITIMERSPEC.unpack(t.process.aspace.copy_in(addr, ITIMERSPEC.size))
    return seconds(*fields[:2]), seconds(*fields[2:])


def _spec(timer: PosixTimer, now: float) -> bytes:
    left = max(0.0, timer.deadline - now) if timer.deadline else 0.0
    if timer.deadline and left < 1e-9:
        left = 1e-9  # due: not yet fired, so still armed
    return pack_time(timer.interval) + pack_time(left)


def sys_timer_settime(t: Thread, ident: int, flags: int, new: int, old: int, *_: int) -> int:
    """Implements Linux timer_settime(2): relative or TIMER_ABSTIME, one-shot or periodic
    (other flag bits are ignored, as by Linux)."""
    timer = _timer(t, ident)
    interval, value = _read_spec(t, new)
    scheduler = t.process.kernel.scheduler
    now = scheduler.clock()
    if old:
        t.process.aspace.copy_out(old, _spec(timer, now))
    timer.generation += 1
    timer.interval = interval
    if not value:
        timer.deadline = 0.0
        return 0
    if s32(flags) & TIMER_ABSTIME:  # a time on the timer's clock: how far from now
        value = max(0.0, value - time.clock_gettime(CLOCKS[timer.clock]))
    timer.deadline = now + min(value, KTIME_MAX)
    _schedule(t.process, timer)
    return 0


def _schedule(process: Process, timer: PosixTimer) -> None:
    scheduler, generation = process.kernel.scheduler, timer.generation

    def expire() -> None:
        if timer.generation != generation or process.zombie \
                or linux(process).timers.get(timer.ident) is not timer:
            return  # re-armed or deleted since
        if scheduler.clock() < timer.deadline - 1e-6:  # a far deadline, met in steps
            _schedule(process, timer)
            return
        missed = 0
        if timer.interval:
            now = scheduler.clock()
            missed = max(0, int((now - timer.deadline) / timer.interval))
            timer.deadline += (missed + 1) * timer.interval
            _schedule(process, timer)
        else:
            timer.deadline = 0.0
        _fire(process, timer, missed)

    # the host cannot sleep until KTIME_MAX: a far deadline is met in steps
    scheduler.call_at(min(timer.deadline, scheduler.clock() + WAIT_MAX), expire)


def _fire(process: Process, timer: PosixTimer, missed: int) -> None:
    if timer.notify == SIGEV_NONE:
        return
    target = None
    if timer.notify == SIGEV_THREAD_ID:
        target = next((x for x in process.threads if x.tid == timer.tid), None)
        if target is None:
            return  # that thread has ended
    info = timer.info
    if info is not None and _pending(process, info):
        info.overrun = min(info.overrun + missed + 1, INT_MAX)  # still waiting: count it
        return
    if info is not None:
        timer.taken_overrun = info.overrun
    timer.info = signals.SigInfo(timer.signo, SI_TIMER, timer_id=timer.ident,
                                 overrun=min(missed, INT_MAX), value=timer.value)
    signals.send(process, timer.info, target)


def _pending(process: Process, info: signals.SigInfo) -> bool:
    sets = [linux(process).pending_set] + [linux_thread(x).pending for x in process.threads]
    return any(p.infos.get(info.signo) is info for p in sets)


def sys_timer_gettime(t: Thread, ident: int, out: int, *_: int) -> int:
    """Implements Linux timer_gettime(2)."""
    timer = _timer(t, ident)
    t.process.aspace.copy_out(out, _spec(timer, t.process.kernel.scheduler.clock()))
    return 0


def sys_timer_getoverrun(t: Thread, ident: int, *_: int) -> int:
    """Implements Linux timer_getoverrun(2): the overruns of the last signal taken, not of
    one still pending (Linux fixes the count when the signal is dequeued)."""
    timer = _timer(t, ident)
    info = timer.info
    if info is None or _pending(t.process, info):
        return timer.taken_overrun
    return info.overrun


def sys_timer_delete(t: Thread, ident: int, *_: int) -> int:
    """Implements Linux timer_delete(2)."""
    timer = _timer(t, ident)
    timer.generation += 1
    del _timers(t)[timer.ident]
    return 0
