"""Scheduling and CPU time: sched_yield(2), sched_{get,set}scheduler(2),
sched_{get,set}param(2), sched_get_priority_{max,min}(2), sched_{get,set}affinity(2),
{get,set}priority(2), ioprio_{get,set}(2), times(2), getrusage(2), membarrier(2).

Policies map onto the MLFQ (``kernel.sched``): SCHED_FIFO and SCHED_RR threads
live on the real-time level 0; SCHED_OTHER, BATCH and IDLE threads move through
levels 1-6. Nice values are recorded; the MLFQ does not weigh them. So are I/O
priorities (a process's, inherited by fork and kept by exec): file systems write
through, there is no I/O queue to order.
"""

import struct
import time

from cloudos.abi.flags import MembarrierCmd as M
from cloudos.errno import Errno, KernelError
from cloudos.kernel.sched import QUANTA_US, Scheduler
from cloudos.kernel.task import Policy, Process, State, Thread
from cloudos.kernel.trap import Stop
from cloudos.linux import switch
from cloudos.linux.creds import CAP_SYS_ADMIN, CAP_SYS_NICE
from cloudos.linux.process import cputimes, linux, linux_thread
from cloudos.linux.syscalls.args import pack_time, s32
from cloudos.linux.syscalls.sys_fork import rusage_bytes

SCHED_RESET_ON_FORK = 0x40000000
PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
# ioprio: who (1 a process, 2 a process group, 3 a user); a value is the class (bits
# 13-15: none, real time, best effort, idle) over the data, whose low 3 bits are the level
IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER = 1, 2, 3
IOPRIO_CLASS_SHIFT = 13
IOPRIO_CLASS_NONE, IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE = 0, 1, 2, 3
RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1
CLK_TCK = 100
CPUSET_BYTES = 8  # the kernel's cpumask: one unsigned long


def _target(t: Thread, pid: int, negative: Errno = Errno.EINVAL) -> Thread:
    """The thread a sched_* call names: 0 is the caller, else a tid. A negative pid fails
    with ``negative``: EINVAL, but ESRCH for the affinity calls (Linux looks it up as any
    other pid there)."""
    pid = s32(pid)
    if pid < 0:
        raise KernelError(negative, f"pid {pid}")
    if pid == 0:
        return t
    for thread in t.process.kernel.threads():
        if thread.tid == pid:
            return thread
    raise KernelError(Errno.ESRCH, f"no thread {pid}")


def _behind(scheduler: Scheduler, t: Thread) -> int:
    """The level where a yield of ``t`` puts it behind the threads that should run before
    it again; -1: none is ready (it runs on). A real-time thread goes to the back of its
    own level (POSIX: behind the threads of its priority). A normal thread goes behind
    every ready normal thread, as Linux's yield lets each of them run before the caller
    again: to the back of the lowest level that holds one, when that is below its own
    (the MLFQ would otherwise keep a thread that woke more recently, a level up, yielding
    to itself: one of three yielding threads ran 90-230 turns in a row)."""
    realtime = t.policy in (Policy.FIFO, Policy.RR)
    found = -1
    for queue in scheduler.queues:
        levels = queue.levels
        for level in range(t.level if realtime else len(levels) - 1, found, -1):
            line = levels[level]
            if not line:  # (most are empty)
                continue
            for other in line:
                if realtime or other.state is State.READY and other is not t:
                    found = level
                    break
            if found == level:
                break
    return -1 if found < 0 else found if found > t.level else t.level


def sys_sched_yield(t: Thread, *_: int) -> int:
    """Implements Linux sched_yield(2): behind the threads ready at its level or below
    (``_behind``). With none ready and no timer due, the scheduler would pick the caller
    again: it runs on at once, with no trip through the scheduler (a stop and a start of
    the CPU)."""
    entry = time.perf_counter()
    scheduler = t.process.kernel.scheduler
    timers = scheduler.timers
    level = _behind(scheduler, t)
    if level < 0 and not (timers and timers[0][0] <= scheduler.clock()):
        return 0
    t.level = level if level > t.level else t.level
    kernel = t.process.kernel
    direct = kernel.dispatcher.on_stop
    if isinstance(direct, switch.DirectSwitch):  # the next thread at once, if it may
        rax = direct.yield_now(t, entry)
        if rax is not None:
            return rax
    scheduler.yield_cpu(t)
    switch.returning(kernel, t, 0)  # (RAX 0: in its saved context if switched)
    raise Stop


def _priority_range(policy: int) -> tuple[int, int]:
    if policy in (Policy.FIFO, Policy.RR):
        return 1, 99
    if policy in (Policy.NORMAL, Policy.BATCH, Policy.IDLE):
        return 0, 0
    raise KernelError(Errno.EINVAL, f"policy {policy}")


def sys_sched_get_priority_max(t: Thread, policy: int, *_: int) -> int:
    """Implements Linux sched_get_priority_max(2)."""
    return _priority_range(s32(policy))[1]


def sys_sched_get_priority_min(t: Thread, policy: int, *_: int) -> int:
    """Implements Linux sched_get_priority_min(2)."""
    return _priority_range(s32(policy))[0]


def _set(t: Thread, target: Thread, policy: int, param: int) -> int:
    low, high = _priority_range(policy)
    priority = s32(struct.unpack("<i", t.process.aspace.copy_in(param, 4))[0])
    if not low <= priority <= high:
        raise KernelError(Errno.EINVAL, f"priority {priority} for policy {policy}")
    realtime = policy in (Policy.FIFO, Policy.RR)
    if realtime and not linux(t.process).creds.capable(CAP_SYS_NICE):
        raise KernelError(Errno.EPERM, "real-time policies need privilege")
    target.policy, target.rt_priority = Policy(policy), priority
    if not realtime:
        target.level = max(target.level, 1)
    if target.state is State.READY:  # move it to its new level now
        t.process.kernel.scheduler.add(target)
    elif target is t and realtime:
        t.process.kernel.cpu.set_result(0)
        t.process.kernel.scheduler.add(t, front=True)
        raise Stop  # reschedule: a real-time thread runs first
    return 0


def sys_sched_setscheduler(t: Thread, pid: int, policy: int, param: int, *_: int) -> int:
    """Implements Linux sched_setscheduler(2)."""
    if not param:
        raise KernelError(Errno.EINVAL, "no sched_param")
    return _set(t, _target(t, pid), s32(policy) & ~SCHED_RESET_ON_FORK, param)


def sys_sched_getscheduler(t: Thread, pid: int, *_: int) -> int:
    """Implements Linux sched_getscheduler(2)."""
    return int(_target(t, pid).policy)


def sys_sched_setparam(t: Thread, pid: int, param: int, *_: int) -> int:
    """Implements Linux sched_setparam(2)."""
    if not param:
        raise KernelError(Errno.EINVAL, "no sched_param")
    target = _target(t, pid)
    return _set(t, target, target.policy, param)


def sys_sched_rr_get_interval(t: Thread, pid: int, interval: int, *_: int) -> int:
    """Implements Linux sched_rr_get_interval(2): the quantum the MLFQ gives the thread
    (1 ms for SCHED_RR, 0 for SCHED_FIFO, which runs until it blocks or yields; a normal
    thread's level's, 1-64 ms, where Linux reports its fair slice, often 0 jiffies)."""
    target = _target(t, pid)
    if target.policy is Policy.FIFO:
        quantum_us = 0
    else:
        quantum_us = QUANTA_US[target.level]
    t.process.aspace.copy_out(interval, pack_time(quantum_us / 1_000_000))
    return 0


def sys_sched_getparam(t: Thread, pid: int, param: int, *_: int) -> int:
    """Implements Linux sched_getparam(2)."""
    if not param:
        raise KernelError(Errno.EINVAL, "no sched_param")
    t.process.aspace.copy_out(param, struct.pack("<i", _target(t, pid).rt_priority))
    return 0


def _all_cpus(t: Thread) -> int:
    return (1 << len(t.process.kernel.cpus)) - 1


def sys_sched_getaffinity(t: Thread, pid: int, size: int, mask: int, *_: int) -> int:
    """Implements Linux sched_getaffinity(2): the mask set, else every CPU. The size is
    checked before the pid, as Linux does."""
    if size < CPUSET_BYTES or size & (CPUSET_BYTES - 1):
        raise KernelError(Errno.EINVAL, f"cpuset size {size}")
    target = _target(t, pid, Errno.ESRCH)
    cpus = linux_thread(target).affinity or _all_cpus(t)
    t.process.aspace.copy_out(mask, struct.pack("<Q", cpus))
    return CPUSET_BYTES


def sys_sched_setaffinity(t: Thread, pid: int, size: int, mask: int, *_: int) -> int:
    """Implements Linux sched_setaffinity(2): a mask that names a CPU of the machine is
    kept (sched_getaffinity reports it, children inherit it) but not enforced: the
    thread still runs on every CPU. The mask is read before the pid is looked up (EFAULT
    first), as Linux does."""
    raw = t.process.aspace.copy_in(mask, min(size, CPUSET_BYTES))
    target = _target(t, pid, Errno.ESRCH)
    cpus = int.from_bytes(raw, "little") & _all_cpus(t)
    if not cpus:
        raise KernelError(Errno.EINVAL, "the mask names no CPU of this machine")
    linux_thread(target).affinity = cpus
    return 0


def _priority_targets(t: Thread, which: int, who: int) -> list[Thread]:
    which, who = s32(which), s32(who)
    threads = t.process.kernel.threads()
    if which == PRIO_PROCESS:
        pid = who or t.process.pid
        found = [th for th in threads if th.process.pid == pid or th.tid == pid]
    elif which == PRIO_PGRP:
        pgid = who or t.process.pgid
        found = [th for th in threads if th.process.pgid == pgid]
    elif which == PRIO_USER:
        uid = who or linux(t.process).uid
        found = [th for th in threads if linux(th.process).uid == uid]
    else:
        raise KernelError(Errno.EINVAL, f"which {which}")
    if not found:
        raise KernelError(Errno.ESRCH, f"no process for {which}/{who}")
    return found


def sys_getpriority(t: Thread, which: int, who: int, *_: int) -> int:
    """Implements Linux getpriority(2): returns 20 - nice, as the kernel ABI does."""
    return 20 - min(th.nice for th in _priority_targets(t, which, who))


def sys_setpriority(t: Thread, which: int, who: int, prio: int, *_: int) -> int:
    """Implements Linux setpriority(2): nice values are recorded."""
    nice = max(-20, min(19, s32(prio)))
    targets = _priority_targets(t, which, who)
    if any(nice < th.nice for th in targets) \
            and not linux(t.process).creds.capable(CAP_SYS_NICE):
        raise KernelError(Errno.EACCES, "lowering nice needs privilege")
    for th in targets:
        th.nice = nice
    return 0


def _ioprio_processes(t: Thread, which: int, who: int) -> list[Process]:
    """The live processes an ioprio call names (ESRCH if none; EINVAL for a bad which)."""
    which = s32(which)
    if which not in (IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER):
        raise KernelError(Errno.EINVAL, f"ioprio which {which}")
    found: list[Process] = []
    for thread in _priority_targets(t, which - IOPRIO_WHO_PROCESS, who):
        if thread.process not in found:
            found.append(thread.process)
    return found


def sys_ioprio_set(t: Thread, which: int, who: int, ioprio: int, *_: int) -> int:
    """Implements Linux ioprio_set(2): recorded (there is no I/O queue to order). Real
    time needs CAP_SYS_NICE (or CAP_SYS_ADMIN); class none takes no level; another
    user's process needs CAP_SYS_NICE."""
    value = s32(ioprio) & 0xFFFF  # (the kernel keeps an unsigned short)
    klass, level = (s32(ioprio) >> IOPRIO_CLASS_SHIFT) & 7, value & 7
    creds = linux(t.process).creds
    if klass == IOPRIO_CLASS_RT and not (creds.capable(CAP_SYS_NICE)
                                         or creds.capable(CAP_SYS_ADMIN)):
        raise KernelError(Errno.EPERM, "real-time I/O priority needs CAP_SYS_NICE")
    if klass > IOPRIO_CLASS_IDLE or klass == IOPRIO_CLASS_NONE and level:
        raise KernelError(Errno.EINVAL, f"I/O priority {ioprio:#x}")
    for process in _ioprio_processes(t, which, who):
        if linux(process).creds.uid not in (creds.euid, creds.uid) \
                and not creds.capable(CAP_SYS_NICE):
            raise KernelError(Errno.EPERM, f"I/O priority of process {process.pid}")
        linux(process).ioprio = value
    return 0


def sys_ioprio_get(t: Thread, which: int, who: int, *_: int) -> int:
    """Implements Linux ioprio_get(2): a process's value (0, class none, if never set); of
    a group or a user, the highest priority (the least value) among its processes."""
    return min(linux(process).ioprio for process in _ioprio_processes(t, which, who))


def sys_times(t: Thread, buf: int, *_: int) -> int:
    """Implements Linux times(2): clock ticks of 1/100 s."""
    user, system = cputimes(t.process)
    child_user, child_system = linux(t.process).child_times
    if buf:
        t.process.aspace.copy_out(buf, struct.pack(
            "<4q", *(int(v * CLK_TCK) for v in (user, system, child_user, child_system))))
    return int(time.monotonic() * CLK_TCK) & 0x7FFF_FFFF_FFFF_FFFF


def sys_getrusage(t: Thread, who: int, usage: int, *_: int) -> int:
    """Implements Linux getrusage(2): CPU times; the other fields are zero."""
    who = s32(who)
    if who == RUSAGE_SELF:
        user, system = cputimes(t.process)
    elif who == RUSAGE_CHILDREN:
        user, system = linux(t.process).child_times
    elif who == RUSAGE_THREAD:
        user, system = t.user_time, t.sys_time
    else:
        raise KernelError(Errno.EINVAL, f"who {who}")
    t.process.aspace.copy_out(usage, rusage_bytes(user, system))
    return 0


# A CPU-time clock id of a given process or thread (clock_getcpuclockid(3),
# pthread_getcpuclockid(3)): ~pid << 3 | per-thread bit | which clock
CPUCLOCK_PERTHREAD, CPUCLOCK_WHICH, CPUCLOCK_VIRT, CPUCLOCK_MAX = 4, 3, 1, 3


def cpu_clock(t: Thread, clock_id: int) -> float | None:
    """Seconds on a CPU-time clock: 2 the caller's process's, 3 its thread's, a negative
    id another's (Linux's posix-cpu-timers: user time for CPUCLOCK_VIRT, else user and
    system; a thread of the caller's own process only; EINVAL for any other id or no
    such process); None for the other clocks."""
    if clock_id == 2:
        return sum(cputimes(t.process))
    if clock_id == 3:
        return t.user_time + t.sys_time
    if clock_id >= 0:
        return None
    which, pid = clock_id & CPUCLOCK_WHICH, ~(clock_id >> 3)
    if which >= CPUCLOCK_MAX:
        raise KernelError(Errno.EINVAL, f"clock {clock_id}")
    if clock_id & CPUCLOCK_PERTHREAD:
        found = [th for th in t.process.threads if th.tid == pid] if pid else [t]
        if not found:
            raise KernelError(Errno.EINVAL, f"no thread {pid} in the caller's process")
        user, system = found[0].user_time, found[0].sys_time
    else:
        process = t.process.kernel.processes.get(pid) if pid else t.process
        if process is None:
            raise KernelError(Errno.EINVAL, f"no process {pid}")
        user, system = cputimes(process)
    return user if which == CPUCLOCK_VIRT else user + system


# membarrier(2): what QUERY answers (no rseq here, so not its commands), and each barrier
# with the registration it needs (0: none)
MEMBARRIER_COMMANDS = int(M.GLOBAL | M.GLOBAL_EXPEDITED | M.REGISTER_GLOBAL_EXPEDITED
                          | M.PRIVATE_EXPEDITED | M.REGISTER_PRIVATE_EXPEDITED
                          | M.PRIVATE_EXPEDITED_SYNC_CORE
                          | M.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE | M.GET_REGISTRATIONS)
MEMBARRIER_REGISTERS = int(M.REGISTER_GLOBAL_EXPEDITED | M.REGISTER_PRIVATE_EXPEDITED
                           | M.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)
MEMBARRIER_BARRIERS = {int(M.GLOBAL): 0, int(M.GLOBAL_EXPEDITED): 0,
                       int(M.PRIVATE_EXPEDITED): int(M.REGISTER_PRIVATE_EXPEDITED),
                       int(M.PRIVATE_EXPEDITED_SYNC_CORE):
                           int(M.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE)}


def sys_membarrier(t: Thread, cmd: int, flags: int, cpu_id: int, *_: int) -> int:
    """Implements Linux membarrier(2). A barrier holds once every other thread that may
    run the caller's memory has passed through the kernel (a full barrier, and core
    serializing): on one vCPU they all have, as none runs while the caller does; on
    several, the vCPUs running that memory are stopped and wait (the TLB shootdown's
    kick), all of them for the global commands."""
    cmd, flags = s32(cmd), s32(flags)
    if flags or cmd < 0 or (cmd and (cmd & (cmd - 1) or not cmd & MEMBARRIER_COMMANDS)):
        raise KernelError(Errno.EINVAL, f"membarrier command {cmd:#x} flags {flags:#x}")
    state = linux(t.process)
    if cmd == M.QUERY:
        return MEMBARRIER_COMMANDS
    if cmd == M.GET_REGISTRATIONS:
        return state.membarrier
    if cmd & MEMBARRIER_REGISTERS:
        state.membarrier |= cmd
        return 0
    needed = MEMBARRIER_BARRIERS[cmd]
    if needed and not state.membarrier & needed:
        raise KernelError(Errno.EPERM, "membarrier: the process did not register for it")
    kernel = t.process.kernel
    if kernel.smp is not None:
        spaces = {t.process.aspace.pt.root} if needed else \
            {p.aspace.pt.root for p in kernel.processes.values() if not p.zombie}
        for root in spaces:
            kernel.smp.shootdown(root)
    return 0
