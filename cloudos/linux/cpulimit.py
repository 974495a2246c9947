"""RLIMIT_CPU: a process that uses its CPU seconds gets SIGXCPU, then SIGKILL.

Owns: one watch per process whose RLIMIT_CPU soft limit is finite, a kernel
timer (``Scheduler.call_at``) that compares the CPU time of its threads, live
and dead, with the limit. As Linux: SIGXCPU when the soft limit is reached and
once a second of CPU after that, SIGKILL at the hard limit.
Never: charges or measures CPU time itself (the scheduler does), or keeps a
process alive (a watch ends with its process; an ended watch costs nothing).
Called by: prlimit/setrlimit (``sys_proc``) and fork (``sys_fork``), whose
child inherits the limit with a CPU time of 0.

A process never learns of a limit later than ``MAX_CHECK`` seconds of wall
time after reaching it, and only ever earlier when it computes on more than
one CPU at once.
"""

from __future__ import annotations

import weakref

from cloudos.abi.signal import SIGKILL, SIGXCPU
from cloudos.kernel.task import Process
from cloudos.linux.process import RLIM_INFINITY, RLIMIT_CPU, cputimes, linux
from cloudos.linux.syscalls.sys_signal import send_signal

MIN_CHECK, MAX_CHECK = 0.01, 0.25  # seconds between two looks at a process's CPU time

_watched: weakref.WeakSet[Process] = weakref.WeakSet()


def _used(process: Process) -> float:
    user, system = cputimes(process)
    return user + system


def watch(process: Process) -> None:
    """Keep an eye on ``process`` if its RLIMIT_CPU is finite (once: a second call while
    a watch runs does nothing)."""
    soft = linux(process).rlimits[RLIMIT_CPU][0]
    if soft == RLIM_INFINITY or process in _watched:
        return
    _watched.add(process)
    _arm(process, float(soft))


def _arm(process: Process, next_signal: float) -> None:
    """Look again when the process may have used ``next_signal`` seconds of CPU."""
    scheduler = process.kernel.scheduler
    wait = min(max(next_signal - _used(process), MIN_CHECK), MAX_CHECK)
    scheduler.call_at(scheduler.clock() + wait, lambda: _check(process, next_signal))


def _check(process: Process, next_signal: float) -> None:
    state = linux(process)
    soft, hard = state.rlimits[RLIMIT_CPU]
    used = _used(process)
    if process.zombie or process.kernel.processes.get(process.pid) is not process \
            or soft == RLIM_INFINITY or used >= hard:
        if used >= hard and not process.zombie:
            send_signal(process, SIGKILL)
        _watched.discard(process)
        return
    next_signal = max(next_signal, float(soft))  # (the limit may have been raised)
    if used >= next_signal:
        send_signal(process, SIGXCPU)
        next_signal = used + 1.0
    _arm(process, min(next_signal, float(hard)))
