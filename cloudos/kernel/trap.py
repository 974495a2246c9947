"""Trap entry: system calls, CPU exceptions and the end of a quantum.

Owns: the sealed system call dispatch (a tuple indexed by number, installed
once at boot by the personality), the one place where ``KernelError`` becomes
``-errno`` in RAX, the ENOSYS counter, and the decision of what a CPU exception
does to the thread that raised it. Never: implements a system call itself.
Called by: ``hal.cpu`` (its SYSCALL hook runs ``Dispatcher.on_syscall``, its
page-fault hook ``resolve_fault``) and the scheduler loop (``handle_trap`` for
everything that stopped the CPU).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Sequence

from cloudos.abi.signal import SI_KERNEL, Signal
from cloudos.hal.x86 import Trap, TrapKind
from cloudos.kernel.errno import Errno, KernelError
from cloudos.kernel.mm.vm import SegFault
from cloudos.kernel.task import State, Thread

if TYPE_CHECKING:
    from cloudos.kernel.boot import Kernel

ENOSYS = -Errno.ENOSYS
RUNNING = State.RUNNING  # (a plain name: read through its class costs ~0.2 us per call)

# A handler gets the calling thread and the six argument registers and returns
# RAX. It raises KernelError to fail, or Stop when the thread must leave the CPU.
Handler = Callable[[Thread, int, int, int, int, int, int], int]


class Stop(Exception):
    """The calling thread cannot continue on this CPU (it exited or blocked)."""


class SlowPath(Exception):
    """Finish this system call with the CPU stopped: ``work()`` returns RAX.

    The fast path runs inside the CPU's SYSCALL hook, where the live CPU state
    must not change under Unicorn. Calls that build or replace CPU contexts
    (fork, clone, execve) raise this; the trap path runs ``work`` once
    ``emu_start`` has returned, with the caller's context still loaded.
    """

    def __init__(self, work: Callable[[], int]) -> None:
        super().__init__()
        self.work = work


class Dispatcher:
    """Runs system calls on the fast path, inside the CPU's SYSCALL hook."""

    def __init__(self, kernel: Kernel, handlers: Sequence[Handler | None],
                 native: dict[int, Handler] | None = None) -> None:
        self.kernel = kernel
        self.handlers = tuple(handlers)   # sealed: nobody adds entries after boot
        self.native = dict(native or {})  # CloudOS's own calls, numbered above Linux's
        self.counts = [0] * (len(self.handlers) + 1)  # the last slot counts unknown numbers
        self.times = [0.0] * len(self.handlers)
        self.enosys = 0
        self.profiling = False
        self.slow: Callable[[], int] | None = None
        # The personality's: in the SYSCALL hook, give the CPU to another thread when the
        # caller stops (its RAX, or None: the CPU stops).
        self.on_stop: Callable[[Thread], int | None] | None = None

    def on_syscall(self, nr: int, a0: int, a1: int, a2: int, a3: int, a4: int,
                   a5: int) -> int | None:
        """Serve one SYSCALL: RAX, or None to stop the CPU (the thread exited or blocked,
        or a signal waits)."""
        thread = self.kernel.cpu.thread
        if thread.state is not RUNNING:  # another CPU ended it meanwhile
            return None
        thread.syscall = nr
        handlers = self.handlers
        if nr < len(handlers):
            handler = handlers[nr]
            self.counts[nr] += 1
        else:
            handler = self.native.get(nr)
            self.counts[len(handlers)] += 1
        if handler is None:
            self.enosys += 1
            return ENOSYS
        start = time.perf_counter()
        try:
            result = handler(thread, a0, a1, a2, a3, a4, a5)
        except KernelError as err:
            result = -err.errno
        except Stop:
            result = None
        except SlowPath as slow:
            self.slow = slow.work
            return None
        finally:
            spent = time.perf_counter() - start
            thread.sys_time += spent
            if self.profiling and nr < len(self.times):
                self.times[nr] += spent
        if result is None:  # it blocked, yielded or exited: the next may run at once
            if thread.notify and thread.state is State.BLOCKED:  # (another CPU's signal)
                self.kernel.personality.woke_too_late(thread)
            return self.on_stop(thread) if self.on_stop else None
        if thread.notify:  # a signal to deliver: stop, so the kernel can
            self.kernel.cpu.set_result(result)
            return None
        return result

    def finish_slow(self, thread: Thread) -> None:
        """Run a system call's slow path, now that the CPU is stopped."""
        work, self.slow = self.slow, None
        if work is None:
            return
        start = time.perf_counter()
        try:
            result = work()
        except KernelError as err:
            result = -err.errno
        except Stop:
            return
        finally:
            thread.sys_time += time.perf_counter() - start
        self.kernel.cpu.set_result(result)


def resolve_fault(kernel: Kernel, address: int, rip: int, error: int) -> bool:
    """Serve a page fault inside the CPU hook; False leaves it to ``handle_trap`` (a SIGSEGV)."""
    thread = kernel.cpu.thread  # (if another CPU ended it, its memory is gone: SegFault)
    try:
        thread.process.aspace.fault(address, error)
    except (SegFault, KernelError):  # KernelError: no frame left (handle_trap decides)
        return False
    kernel.profile.page_faults += 1
    return True


def handle_trap(kernel: Kernel, thread: Thread, trap: Trap) -> None:
    """Decide what a stop of the CPU means for ``thread``: resume, fault in, or kill."""
    kind = trap.kind
    if kind is TrapKind.SYSCALL:
        kernel.dispatcher.finish_slow(thread)
        return
    if kind is TrapKind.QUANTUM_EXPIRED:
        return
    if kind is TrapKind.PAGE_FAULT:
        try:
            thread.process.aspace.fault(trap.address, trap.error)
            return
        except SegFault as fault:
            if kernel.personality.on_fault(thread, Signal.SIGSEGV, fault.address,
                                          1 + (fault.error & 1)):
                return  # a handler takes it (SEGV_MAPERR or SEGV_ACCERR)
            kernel.log.warn(f"{thread.process.name}[{thread.process.pid}]: segfault at "
                            f"{fault.address:x} ip {trap.rip:016x} error {fault.error}")
            kernel.kill(thread.process, Signal.SIGSEGV)
            return
        except KernelError:  # out of memory: the process goes, as by Linux's OOM killer
            kernel.log.warn("out of memory: killed " + thread.process.name)
            kernel.kill(thread.process, Signal.SIGKILL)
            return
    kernel.profile.exceptions += 1
    signal = {TrapKind.INVALID_OPCODE: Signal.SIGILL, TrapKind.DIVIDE_ERROR: Signal.SIGFPE,
              TrapKind.BREAKPOINT: Signal.SIGTRAP}.get(kind, Signal.SIGSEGV)
    if kernel.personality.on_fault(thread, signal, trap.rip, SI_KERNEL):
        return
    what = trap.detail or f"{kind.value} (vector {trap.vector})"
    kernel.log.warn(f"traps: {thread.process.name}[{thread.process.pid}] {what} "
                    f"ip:{trap.rip:x}")
    kernel.kill(thread.process, signal)
