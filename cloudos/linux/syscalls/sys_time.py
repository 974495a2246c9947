"""Time and randomness: clock_gettime(2), clock_getres(2), gettimeofday(2), time(2),
nanosleep(2), clock_nanosleep(2), the interval timer (alarm(2), setitimer(2)), the
clock-setting calls (clock_settime(2), settimeofday(2), adjtimex(2), clock_adjtime(2):
checked like Linux, then refused), getrandom(2).

Wall clocks read the host's; the CPU-time clocks read the kernel's accounting.
Sleeps block the calling thread in the scheduler; a signal ends them with EINTR
(``rem`` is left alone). Times a guest gives are decoded by ``args``: a sleep or
an alarm centuries away waits like any other.
"""

import os
import struct
import time

from cloudos.abi.signal import SIGPROF, SIGVTALRM
from cloudos.errno import Errno, KernelError
from cloudos.kernel.task import Process, Thread
from cloudos.kernel.trap import Stop
from cloudos.linux import signals
from cloudos.linux.process import cputimes, linux, linux_thread
from cloudos.linux.syscalls.args import (KTIME_MAX_NS, NSEC, TIMESPEC, USEC, WAIT_MAX,
                                         deadline, pack_time, read_timespec, s32, seconds,
                                         write_u64)
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
    """The host clock that serves a Linux clock id (EINVAL for an unknown id)."""
    return HOST_CLOCKS[_clock_id(clock_id)]


def _clock_id(clock_id: int) -> int:
    """A known Linux clock id (the low 32 bits, as Linux's clockid_t), else EINVAL."""
    clock = s32(clock_id)
    if clock not in HOST_CLOCKS:
        raise KernelError(Errno.EINVAL, f"clock {clock}")
    return clock


def sys_clock_gettime(t: Thread, clock_id: int, tp: int, *_: int) -> int:
    """Implements Linux clock_gettime(2)."""
    cpu = cpu_clock(t, s32(clock_id))
    ns = int(cpu * 1e9) if cpu is not None else time.clock_gettime_ns(_clock(clock_id))
    t.process.aspace.copy_out(tp, TIMESPEC.pack(ns // 10**9, ns % 10**9))
    return 0


def sys_clock_getres(t: Thread, clock_id: int, res: int, *_: int) -> int:
    """Implements Linux clock_getres(2): 1 ns, as Linux's high-resolution clocks (and
    its CPU-time clocks)."""
    if cpu_clock(t, s32(clock_id)) is None:
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


def _sleep(t: Thread, wait: float, rem: int = 0) -> int:
    """Block the calling thread for ``wait`` seconds; other threads run meanwhile. A
    signal that ends the sleep early writes the time left to ``rem`` (if not NULL)."""
    until = deadline(t, wait)
    linux_thread(t).sleep_rem = (rem, until) if rem else None
    t.process.kernel.scheduler.sleep_on(t, None, until, 0)
    raise Stop


def sys_nanosleep(t: Thread, req: int, rem: int, *_: int) -> int:
    """Implements Linux nanosleep(2)."""
    return _sleep(t, read_timespec(t.process.aspace, req), rem)


def sys_clock_nanosleep(t: Thread, clock_id: int, flags: int, req: int, rem: int,
                        *_: int) -> int:
    """Implements Linux clock_nanosleep(2), relative and TIMER_ABSTIME."""
    host = _clock(clock_id)
    if s32(clock_id) == CLOCK_THREAD_CPUTIME_ID:  # (EINVAL before Linux 5.x; the host's errno)
        raise KernelError(Errno.EOPNOTSUPP, "cannot sleep on a thread's CPU clock")
    wait = read_timespec(t.process.aspace, req)
    if flags & TIMER_ABSTIME:
        wait -= time.clock_gettime(host)
        rem = 0  # an absolute sleep has no time left to tell
    return _sleep(t, wait, rem)


# Setting the clocks. The sandbox does not set the host's clock: a request Linux would
# carry out is refused as for a process without CAP_SYS_TIME (EPERM), after the checks
# Linux makes first (EFAULT, EINVAL, EOPNOTSUPP), so a hostile value gets Linux's answer.
TIMEX = struct.Struct("<I4x4qi4x3q2q3qi4x5qi44x")  # struct timex (modes ... tai, padding)
ADJ_OFFSET_SINGLESHOT, ADJ_OFFSET_READONLY, ADJ_ADJTIME = 0x0001, 0x2000, 0x8000
STA_UNSYNC, TIME_ERROR = 0x0040, 5
# Linux refuses to set the wall clock this close to KTIME_MAX (30 years of uptime before it)
TIME_SETTOD_SEC_MAX = KTIME_MAX_NS // NSEC - 30 * 365 * 86400


def _settable(sec: int, nsec: int) -> None:
    """EINVAL for a time Linux would not set the wall clock to; else EPERM."""
    seconds(sec, nsec)
    if sec >= TIME_SETTOD_SEC_MAX:
        raise KernelError(Errno.EINVAL, "time too far to set")
    raise KernelError(Errno.EPERM, "the sandbox does not set the host's clock")


def sys_clock_settime(t: Thread, clock_id: int, tp: int, *_: int) -> int:
    """Implements Linux clock_settime(2): checked, then refused (EPERM)."""
    clock = s32(clock_id)
    if clock not in (CLOCK_REALTIME, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID):
        raise KernelError(Errno.EINVAL, f"clock {clock} cannot be set")
    sec, nsec = TIMESPEC.unpack(t.process.aspace.copy_in(tp, TIMESPEC.size))
    if clock != CLOCK_REALTIME:
        raise KernelError(Errno.EPERM, "a CPU-time clock cannot be set")
    _settable(sec, nsec)
    return 0


def sys_settimeofday(t: Thread, tv: int, tz: int, *_: int) -> int:
    """Implements Linux settimeofday(2): checked, then refused (EPERM)."""
    aspace = t.process.aspace
    sec = usec = 0
    if tv:
        sec, usec = TIMEVAL.unpack(aspace.copy_in(tv, TIMEVAL.size))
        if not 0 <= usec <= USEC:  # (1,000,000 is let through, to fail as a timespec)
            raise KernelError(Errno.EINVAL, "tv_usec out of range")
    if tz:
        aspace.copy_in(tz, 8)
    if tv:
        _settable(sec, usec * (NSEC // USEC))
    raise KernelError(Errno.EPERM, "the sandbox does not set the host's time zone")


def _adjtimex(t: Thread, buf: int) -> int:
    """adjtimex(2) on CLOCK_REALTIME: a read reports an unsynchronised clock; a change is
    checked as Linux checks it, then refused (EPERM)."""
    aspace = t.process.aspace
    modes = TIMEX.unpack(aspace.copy_in(buf, TIMEX.size))[0]
    if modes & ADJ_ADJTIME and not modes & ADJ_OFFSET_SINGLESHOT:
        raise KernelError(Errno.EINVAL, "ADJ_ADJTIME without ADJ_OFFSET_SINGLESHOT")
    if modes and not (modes & ADJ_ADJTIME and modes & ADJ_OFFSET_READONLY):
        raise KernelError(Errno.EPERM, "the sandbox does not adjust the host's clock")
    ns = time.time_ns()
    aspace.copy_out(buf, TIMEX.pack(modes, 0, 0, 16_000_000, 16_000_000, STA_UNSYNC, 2, 1,
                                    500 << 16, ns // NSEC, ns % NSEC // 1000, USEC // 100,
                                    0, 0, 0, 0, 0, 0, 0, 0, 0))
    return TIME_ERROR


def sys_adjtimex(t: Thread, buf: int, *_: int) -> int:
    """Implements Linux adjtimex(2): reads only (see _adjtimex)."""
    return _adjtimex(t, buf)


def sys_clock_adjtime(t: Thread, clock_id: int, buf: int, *_: int) -> int:
    """Implements Linux clock_adjtime(2): CLOCK_REALTIME as adjtimex, reads only."""
    t.process.aspace.copy_in(buf, TIMEX.size)
    clock = _clock_id(clock_id)
    if clock != CLOCK_REALTIME:
        raise KernelError(Errno.EOPNOTSUPP, f"clock {clock} cannot be adjusted")
    return _adjtimex(t, buf)


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


def _arm(process: Process, value: float, interval: float) -> tuple[float, float]:
    """(Re)arm the process's ITIMER_REAL; return what was left of the old one."""
    state = linux(process)
    now = process.kernel.scheduler.clock()
    old_deadline, old_interval = state.itimer
    left = max(0.0, old_deadline - now) if old_deadline else 0.0
    state.generation += 1
    state.itimer = (now + value, interval) if value else (0.0, 0.0)
    if value:
        _schedule(process, state.generation)
    return left, old_interval


def _schedule(process: Process, generation: int) -> None:
    """The kernel timer of ITIMER_REAL; one more than WAIT_MAX away is reached in steps."""
    state, scheduler = linux(process), process.kernel.scheduler

    def expire() -> None:
        if state.generation != generation or process.zombie:
            return  # re-armed or cancelled since
        if state.itimer[0] - scheduler.clock() > 1.0:  # a step on the way
            _schedule(process, generation)
            return
        signals.send(process, signals.SigInfo(signals.SIGALRM, signals.SI_KERNEL))
        period = state.itimer[1]
        state.itimer = (0.0, 0.0)
        if period:
            _arm(process, period, period)

    scheduler.call_at(min(state.itimer[0], scheduler.clock() + WAIT_MAX), expire)


def sys_alarm(t: Thread, secs: int, *_: int) -> int:
    """Implements Linux alarm(2): SIGALRM after ``secs`` seconds; returns the old alarm's rest
    in seconds, rounded as Linux rounds it (up from half a second, and never to 0)."""
    left = _arm(t.process, float(secs & 0xFFFF_FFFF), 0.0)[0]
    whole, usec = TIMESPEC.unpack(pack_time(left, USEC))
    return int(whole + (usec >= 500_000 or (whole == 0 and usec > 0)))


def _read_itimerval(t: Thread, new: int) -> tuple[float, float]:
    """A ``struct itimerval`` from user memory: (value, interval) in seconds; none: off."""
    if not new:
        return 0.0, 0.0
    fields = ITIMERVAL.unpack(t.process.aspace.copy_in(new, ITIMERVAL.size))
    return seconds(fields[2], fields[3], USEC), seconds(fields[0], fields[1], USEC)


def sys_setitimer(t: Thread, which: int, new: int, old: int, *_: int) -> int:
    """Implements Linux setitimer(2): ITIMER_REAL counts wall time (SIGALRM), ITIMER_VIRTUAL
    the process's user CPU time (SIGVTALRM), ITIMER_PROF its user and system time (SIGPROF)."""
    which = s32(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise KernelError(Errno.EINVAL, f"timer {which}")
    value, interval = _read_itimerval(t, new)
    if which == ITIMER_REAL:
        left, old_interval = _arm(t.process, value, interval)
    else:
        left, old_interval = _cpu_left(t.process, which)
        _cpu_arm(t.process, which, value, interval)
    if old:
        t.process.aspace.copy_out(old, pack_time(old_interval, USEC) + pack_time(left, USEC))
    return 0


def sys_getitimer(t: Thread, which: int, out: int, *_: int) -> int:
    """Implements Linux getitimer(2) (the three timers of setitimer)."""
    which = s32(which)
    if which == ITIMER_REAL:
        deadline, interval = linux(t.process).itimer
        left = max(0.0, deadline - t.process.kernel.scheduler.clock()) if deadline else 0.0
    elif which in (ITIMER_VIRTUAL, ITIMER_PROF):
        left, interval = _cpu_left(t.process, which)
    else:
        raise KernelError(Errno.EINVAL, f"timer {which}")
    t.process.aspace.copy_out(out, pack_time(interval, USEC) + pack_time(left, USEC))
    return 0


# -- the CPU-time interval timers (ITIMER_VIRTUAL, ITIMER_PROF) --------------------------
# The scheduler charges CPU time at the end of each slice; a kernel timer looks at the
# process's time (as RLIMIT_CPU's watch does, linux/cpulimit.py) no later than when it
# could first reach the deadline and at least every CPU_LOOK_MAX seconds. A signal is
# late by at most one slice plus CPU_LOOK_MIN of wall time.
CPU_LOOK_MIN, CPU_LOOK_MAX = 0.002, 0.25
ABOUT_TO_FIRE = 1e-6  # what getitimer reports of a timer whose deadline has passed
# Linux adds a tick to a CPU-time timer's first value, never to fire early (set_cpu_itimer);
# the tick of CONFIG_HZ=250, the common configuration (and this host's)
CPU_TIMER_TICK = 0.004


def _cpu_used(process: Process, which: int) -> float:
    user, system = cputimes(process)
    return user if which == ITIMER_VIRTUAL else user + system


def _cpu_left(process: Process, which: int) -> tuple[float, float]:
    """(time left, interval) of a CPU-time timer; (0, 0) when off."""
    armed = linux(process).cpu_itimers.get(which)
    if armed is None:
        return 0.0, 0.0
    deadline, interval, _ = armed
    return max(deadline - _cpu_used(process, which), ABOUT_TO_FIRE), interval


def _cpu_arm(process: Process, which: int, value: float, interval: float) -> None:
    """(Re)arm, or with ``value`` 0 stop, a CPU-time timer of ``process``."""
    timers = linux(process).cpu_itimers
    generation = timers[which][2] + 1 if which in timers else 1
    if not value:
        timers.pop(which, None)
        return
    timers[which] = (_cpu_used(process, which) + value + CPU_TIMER_TICK, interval, generation)
    _cpu_look(process, which, generation)


def _cpu_look(process: Process, which: int, generation: int) -> None:
    scheduler = process.kernel.scheduler
    deadline = linux(process).cpu_itimers[which][0]
    wait = min(max(deadline - _cpu_used(process, which), CPU_LOOK_MIN), CPU_LOOK_MAX)
    scheduler.call_at(scheduler.clock() + wait, lambda: _cpu_check(process, which, generation))


def _cpu_check(process: Process, which: int, generation: int) -> None:
    """Signal the process if its timer's deadline has passed (Linux reloads the deadline
    by one interval, check_cpu_itimer); look again while the timer runs."""
    timers = linux(process).cpu_itimers
    armed = timers.get(which)
    if armed is None or armed[2] != generation or process.zombie \
            or process.kernel.processes.get(process.pid) is not process:
        return
    deadline, interval, _ = armed
    if _cpu_used(process, which) >= deadline:
        signal = SIGVTALRM if which == ITIMER_VIRTUAL else SIGPROF
        signals.send(process, signals.SigInfo(signal, signals.SI_KERNEL))
        if not interval:
            del timers[which]
            return
        timers[which] = (deadline + interval, interval, generation)
    _cpu_look(process, which, generation)
