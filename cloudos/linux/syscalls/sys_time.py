"""Time and randomness: clock_gettime(2), clock_getres(2), gettimeofday(2), time(2),
nanosleep(2), clock_nanosleep(2), getrandom(2).

Wall clocks read the host's; the CPU-time clocks read the kernel's accounting.
Sleeps block the calling thread in the scheduler (they are not interrupted by
signals yet: no EINTR, ``rem`` is left alone).
"""

import os
import struct
import time

from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Thread
from cloudos.kernel.trap import Stop
from cloudos.linux import signals
from cloudos.linux.process import linux
from cloudos.linux.syscalls.args import TIMESPEC, read_timespec, s32, write_u64
from cloudos.linux.syscalls.sys_sched import cpu_clock

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 1, 2, 3
# Linux clock ids and the host clock that serves each (CPU-time ids: see cpu_clock).
HOST_CLOCKS = {0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 2: time.CLOCK_PROCESS_CPUTIME_ID,
               3: time.CLOCK_THREAD_CPUTIME_ID, 4: time.CLOCK_MONOTONIC_RAW,
               5: time.CLOCK_REALTIME, 6: time.CLOCK_MONOTONIC, 7: time.CLOCK_BOOTTIME,
               8: time.CLOCK_REALTIME, 9: time.CLOCK_BOOTTIME, 11: time.CLOCK_REALTIME}
TIMER_ABSTIME = 1
TIMEVAL = struct.Struct("<qq")
GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4


def _clock(clock_id: int) -> int:
    host = HOST_CLOCKS.get(s32(clock_id))
    if host is None:
        raise KernelError(Errno.EINVAL, f"clock {s32(clock_id)}")
    return host


def sys_clock_gettime(t: Thread, clock_id: int, tp: int, *_: int) -> int:
    """Implements Linux clock_gettime(2)."""
    host = _clock(clock_id)
    cpu = cpu_clock(t, s32(clock_id))
    ns = int(cpu * 1e9) if cpu is not None else time.clock_gettime_ns(host)
    t.process.aspace.copy_out(tp, TIMESPEC.pack(ns // 10**9, ns % 10**9))
    return 0


def sys_clock_getres(t: Thread, clock_id: int, res: int, *_: int) -> int:
    """Implements Linux clock_getres(2): 1 ns, as Linux's high-resolution clocks."""
    _clock(clock_id)
    if res:
        t.process.aspace.copy_out(res, TIMESPEC.pack(0, 1))
    return 0


def sys_gettimeofday(t: Thread, tv: int, tz: int, *_: int) -> int:
    """Implements Linux gettimeofday(2); the time zone is UTC."""
    ns = time.time_ns()
    if tv:
        t.process.aspace.copy_out(tv, TIMEVAL.pack(ns // 10**9, ns % 10**9 // 1000))
    if tz:
        t.process.aspace.copy_out(tz, bytes(8))
    return 0


def sys_time(t: Thread, tloc: int, *_: int) -> int:
    """Implements Linux time(2)."""
    now = int(time.time())
    if tloc:
        write_u64(t.process.aspace, tloc, now)
    return now


def _sleep(t: Thread, seconds: float) -> int:
    """Block the calling thread for ``seconds``; other threads run meanwhile."""
    scheduler = t.process.kernel.scheduler
    scheduler.sleep_on(t, None, scheduler.clock() + max(seconds, 0.0), 0)
    raise Stop


def sys_nanosleep(t: Thread, req: int, rem: int, *_: int) -> int:
    """Implements Linux nanosleep(2)."""
    return _sleep(t, read_timespec(t.process.aspace, req))


def sys_clock_nanosleep(t: Thread, clock_id: int, flags: int, req: int, rem: int,
                        *_: int) -> int:
    """Implements Linux clock_nanosleep(2), relative and TIMER_ABSTIME."""
    host = _clock(clock_id)
    if s32(clock_id) == CLOCK_THREAD_CPUTIME_ID:
        raise KernelError(Errno.EINVAL, "cannot sleep on a thread's CPU clock")
    seconds = read_timespec(t.process.aspace, req)
    if flags & TIMER_ABSTIME:
        seconds -= time.clock_gettime(host)
    return _sleep(t, seconds)


def sys_getrandom(t: Thread, buf: int, count: int, flags: int, *_: int) -> int:
    """Implements Linux getrandom(2) from the host's CSPRNG."""
    if flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) \
            or flags & (GRND_RANDOM | GRND_INSECURE) == GRND_RANDOM | GRND_INSECURE:
        raise KernelError(Errno.EINVAL, f"getrandom flags {flags:#x}")
    count = min(count, (1 << 25) - 1)
    t.process.aspace.copy_out(buf, os.urandom(count))
    return count


ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
ITIMERVAL = struct.Struct("<qqqq")  # it_interval (sec, usec), it_value (sec, usec)


def _arm(t: Thread, value: float, interval: float) -> tuple[float, float]:
    """(Re)arm the process's ITIMER_REAL; return what was left of the old one."""
    state = linux(t.process)
    scheduler = t.process.kernel.scheduler
    old_deadline, old_interval = state.itimer
    left = max(0.0, old_deadline - scheduler.clock()) if old_deadline else 0.0
    state.generation += 1
    generation = state.generation
    state.itimer = (scheduler.clock() + value, interval) if value else (0.0, 0.0)
    process = t.process

    def expire() -> None:
        if state.generation != generation or process.zombie:
            return  # re-armed or cancelled since
        signals.send(process, signals.SigInfo(signals.SIGALRM, signals.SI_KERNEL))
        period = state.itimer[1]
        state.itimer = (0.0, 0.0)
        if period:
            _arm(process.threads[0], period, period)

    if value:
        scheduler.call_at(state.itimer[0], expire)
    return left, old_interval


def sys_alarm(t: Thread, seconds: int, *_: int) -> int:
    """Implements Linux alarm(2): SIGALRM after ``seconds``; returns the old alarm's rest."""
    left = _arm(t, float(seconds & 0xFFFF_FFFF), 0.0)[0]
    return int(left + 0.5) if left else 0


def _timeval(sec: float) -> tuple[int, int]:
    return int(sec), int(sec % 1 * 1e6)


def sys_setitimer(t: Thread, which: int, new: int, old: int, *_: int) -> int:
    """Implements Linux setitimer(2) for ITIMER_REAL (the CPU-time timers: EINVAL)."""
    if s32(which) != ITIMER_REAL:
        raise KernelError(Errno.EINVAL, f"timer {s32(which)}")
    value = interval = 0.0
    if new:
        fields = ITIMERVAL.unpack(t.process.aspace.copy_in(new, 32))
        if min(fields[0], fields[2]) < 0 or not all(0 <= u < 10**6 for u in fields[1::2]):
            raise KernelError(Errno.EINVAL, "timeval out of range")
        interval, value = fields[0] + fields[1] / 1e6, fields[2] + fields[3] / 1e6
    left, old_interval = _arm(t, value, interval)
    if old:
        t.process.aspace.copy_out(old, ITIMERVAL.pack(*_timeval(old_interval), *_timeval(left)))
    return 0


def sys_getitimer(t: Thread, which: int, out: int, *_: int) -> int:
    """Implements Linux getitimer(2) for ITIMER_REAL."""
    if s32(which) != ITIMER_REAL:
        raise KernelError(Errno.EINVAL, f"timer {s32(which)}")
    deadline, interval = linux(t.process).itimer
    left = max(0.0, deadline - t.process.kernel.scheduler.clock()) if deadline else 0.0
    t.process.aspace.copy_out(out, ITIMERVAL.pack(*_timeval(interval), *_timeval(left)))
    return 0
