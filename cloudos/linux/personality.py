"""The Linux personality as the kernel sees it: ``kernel.boot.Personality``'s hooks.

Owns: what a CPU fault, a thread's return to user mode, a dying and a dead process,
and a thread's turn on a multiprocessor mean under Linux; each hook calls the module
that owns the matter (signals, coredump, sys_fork, the page cache, the VFS's notices).
Never: runs a system call (the syscall table does).
Called by: the kernel, through ``Kernel.personality``; the machine installs it.
"""

from __future__ import annotations

import heapq

from cloudos.abi.vfs import CoreDump, Exit
from cloudos.kernel.boot import Kernel
from cloudos.kernel.task import Process, State, Thread
from cloudos.linux import coredump, faultaround, ptrace, signals, vdso
from cloudos.linux.aspace import install_frame_refs
from cloudos.linux.pagecache import collect_shared
from cloudos.linux.process import LinuxThread, memory_kinds
from cloudos.linux.syscalls import sys_file, sys_fork, sys_futex, sys_ipc


class LinuxPersonality:
    """The hooks of ``kernel.boot.Personality`` for Linux processes."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        install_frame_refs(kernel)  # the frames' owner counts, as the C loops index them
        faultaround.install(kernel)

    def on_fault(self, thread: Thread, sig: int, addr: int, code: int) -> bool:
        """A CPU fault: the process's handler for ``sig`` takes it, if it has one."""
        return signals.on_fault(thread, sig, addr, code)

    def before_user(self, thread: Thread) -> None:
        """Signals due to ``thread``: a handler's frame, a stop, or the default action;
        the vDSO's clock anchor when it is due; first, a ptrace-stop that is due; before
        all, the end of its process by a fatal signal (which no stop holds back)."""
        if not signals.exit_due(thread) and not ptrace.before_user(thread):
            signals.deliver(thread)
        vdso.tick(self.kernel)

    def woke_too_late(self, thread: Thread) -> None:
        signals.woke_too_late(thread)

    def on_dying(self, dying: Process) -> None:
        """A process is about to lose its memory: the robust futexes its threads hold go
        to their next lockers; its core file, if it leaves one."""
        kernel = self.kernel
        if kernel.smp is not None:  # its threads on other CPUs stop (their registers)
            kernel.smp.shootdown(dying.aspace.pt.root)
        for thread in dying.threads:
            if isinstance(thread.personality, LinuxThread):
                sys_futex.exit_robust_list(thread)
        try:
            image = coredump.on_dying(dying)
        except Exception as err:  # a dump that cannot be made must not take the kernel down
            kernel.log.warn(f"core dump of {dying.name}[{dying.pid}] failed: {err}")
            return
        name = coredump.core_name(dying, dying.killed_by) if image is not None else None
        if image is not None and name:
            sys_file.notify(kernel, CoreDump(dying.pid, image, name))

    def on_exit(self, dead: Process) -> None:
        """A process ended: its parent hears of it, its orphans are adopted, its
        semaphore adjustments are undone, the VFS closes its files."""
        _stop_waiting(self.kernel, dead)
        sys_fork.on_exit(dead)
        collect_shared(self.kernel)
        sys_ipc.exit_sem(dead)
        signals.child_exited(dead)
        sys_file.notify(self.kernel, Exit(dead.pid))
        if dead.pid == 1:
            # init's end halts the machine: the alarms and POSIX timers processes left
            # armed would only keep it waiting (kernel timers of threads stay: they end
            # with their threads)
            scheduler = self.kernel.scheduler
            scheduler.timers = [entry for entry in scheduler.timers if entry[2] >= 0]
            heapq.heapify(scheduler.timers)

    def conflict(self, thread: Thread) -> int | None:
        """The CPU that runs what ``thread`` must not run beside, on a multiprocessor.

        Each vCPU is its own Unicorn, and Unicorn translates a ``lock``-prefixed
        read-modify-write (``lock xadd``, ``cmpxchg``) as a plain load and store:
        it is atomic on one vCPU, not between two (measured: two threads doing 3
        million ``lock xadd`` each on 2 vCPUs counted 3.5 million). So two CPUs
        never run guest code that can write the same memory at once: threads of
        one address space take turns, and so do processes that map memory shared
        and writable (a pthread mutex in a MAP_SHARED page). Processes that share
        nothing, the common case (a shell's pipeline, make, xargs -P), run in
        parallel. On KVM (``Cpu.atomics_shared``) the processor's atomics hold between
        vCPUs: nothing conflicts, threads of one process run in parallel.
        """
        kernel = self.kernel
        if kernel.smp is None or thread.context is None or kernel.cpu.atomics_shared:
            return None
        mine = thread.process.aspace
        # (a guest's writes to code are seen by its own vCPU only: see CpuContext)
        shares, thread.context.writes_code = memory_kinds(mine)
        for cpu in kernel.cpus:
            other = cpu.thread
            if cpu is kernel.cpu or other is None or other.state is not State.RUNNING \
                    or other.cpu != cpu.index or other.context is None:
                continue
            theirs = other.process.aspace
            if theirs is mine or shares and memory_kinds(theirs)[0]:
                return int(cpu.index)
        return None


def _stop_waiting(kernel: Kernel, dead: Process) -> None:
    """The calls ``dead``'s threads slept in are over: a server that parked one (a read
    of an empty pipe) finds its caller no longer waits (``Ipc.waits``) and drops it, as
    Linux's killed reader takes nothing; before, it took the next bytes written."""
    channels = kernel.scheduler.channels
    for thread in dead.threads:
        channel = thread.channel
        if type(channel) is tuple and channel[:1] == ("reply",):
            thread.channel = None
            sleepers = channels.get(channel)
            if sleepers is not None and thread in sleepers:
                sleepers.remove(thread)
                if not sleepers:
                    del channels[channel]
