"""Time and randomness: clock_gettime(2), clock_getres(2), gettimeofday(2), time(2),
nanosleep(2), clock_nanosleep(2), getrandom(2).

Wall clocks read the host's; the CPU-time clocks read the kernel's accounting.
Sleeps block the calling thread in the scheduler (they are not interrupted by
signals yet: no EINTR, ``rem`` is left alone).
"""

import os
import struct
import time

from cloudos.kernel.errno import Errno, KernelError
from cloudos.kernel.task import Thread
from cloudos.kernel.trap import Stop
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
