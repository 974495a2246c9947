"""A multiprocessor: several vCPUs over one RAM, one host thread each, and the lock.

Owns: the machine's one lock (the kernel runs under it, a "big kernel lock";
guest code runs without it, so CPUs run guest code in parallel while Unicorn
has released Python's GIL), the host threads of CPUs 1..n-1, and the
shootdown: when the page tables a CPU may be running on change, or the
kernel writes code into RAM, the other CPUs must not go on with what their
TLB or translated-code cache holds. A CPU in guest code is kicked (its block
hook stops it, as its preemption timer does) and waited for; every such CPU
flushes before it enters guest code again (``Cpu._enter_guest``).

Protocol, per CPU: it holds the lock whenever it is not in guest code. It
gives the lock up in ``_enter_guest`` and takes it back when a hook runs or
guest code stops; a hook that stops the CPU keeps the lock until the kernel
has handled the trap, so no other CPU sees a thread half-way out of a call.
``in_guest`` changes only with the lock held (entering) or just before
taking it (leaving), so the CPU holding the lock sees a CPU either in guest
code, or out of it and unable to return without passing ``_enter_guest``.

Never: decides what runs (the scheduler does; ``on_acquire`` tells the kernel
which CPU it is on).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # (hal.cpu is Unicorn's: a KVM machine never imports it)
    from cloudos.hal.cpu import Cpu


class Halted(Exception):
    """Another CPU's kernel code failed: this CPU stops too."""


class Smp:
    """The CPUs of one machine and the lock the kernel runs under."""

    def __init__(self, cpus: list[Cpu], on_acquire: Callable[[Cpu], None]) -> None:
        self.cpus = cpus
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)  # CPUs with nothing to run wait here
        # Called with the lock just taken on behalf of a CPU (the kernel now runs there).
        self.on_acquire = on_acquire
        self.shootdowns = 0  # CPUs kicked out of guest code and waited for
        self.code_cpu: Cpu | None = None  # where a context that may write code last ran
        self.errors: list[BaseException] = []
        for cpu in cpus:
            cpu.smp = self

    def run(self, loop: Callable[[Cpu], None]) -> None:
        """Run ``loop`` (the scheduler's) on every CPU, CPU 0 in this host thread, the
        others in threads of their own; return when every loop has returned.

        A loop returns when its CPU finds nothing to run, nothing running and nothing
        to wait for: then the others, woken, find the same. If one raises, the
        others stop at their next entry to the kernel, and the error is raised here.
        """
        def run_cpu(cpu: Cpu) -> None:
            try:
                self.acquire(cpu)
                loop(cpu)
            except Halted:
                pass
            except BaseException as err:  # the kernel's error: the machine stops
                self.errors.append(err)
                for other in self.cpus:
                    other.kick()
            finally:
                cpu.parked = True
                self.idle.notify_all()
                self.release(cpu)

        self.errors = []
        others = [threading.Thread(target=run_cpu, args=(cpu,), name=f"cpu{cpu.index}",
                                   daemon=True) for cpu in self.cpus[1:]]
        for thread in others:
            thread.start()
        run_cpu(self.cpus[0])
        for thread in others:
            thread.join()
        if self.errors:
            raise self.errors[0]

    def acquire(self, cpu: Cpu) -> None:
        self.lock.acquire()
        cpu.holding = True
        if self.errors:
            raise Halted()
        self.on_acquire(cpu)

    def release(self, cpu: Cpu) -> None:
        cpu.holding = False
        self.lock.release()

    def busy(self) -> bool:
        """Some other CPU runs a thread (it is neither idle nor stopped)."""
        return any(not (cpu.parked or cpu.holding) for cpu in self.cpus)

    def wait_idle(self, cpu: Cpu, timeout: float | None) -> None:
        """Give up the lock until another CPU has work for this one, or ``timeout``."""
        cpu.holding, cpu.parked = False, True
        self.idle.wait(timeout)
        cpu.holding, cpu.parked = True, False
        if self.errors:
            raise Halted()
        cpu.thread = None
        self.on_acquire(cpu)

    def wake_idle(self) -> None:
        """A thread became ready: one idle CPU comes to look (the caller holds the lock,
        or, before ``run``, nobody does and nobody waits)."""
        if self.lock.locked():
            self.idle.notify()

    def shootdown(self, root: int) -> None:
        """Make the CPUs drop translations of page tables ``root`` (0: their translated
        code, all CPUs); return once none still runs on what it cached.

        Called with the lock held: the holder flushes at once, the others before they
        next enter guest code.
        """
        waits = []
        for cpu in self.cpus:
            if cpu.holding:
                if root:
                    cpu.drop_tlb()
                else:
                    cpu.drop_code()
                continue
            loaded = cpu.loaded
            if root:
                if loaded is None or loaded.root != root:
                    continue
                cpu.tlb_stale = True
            else:
                cpu.code_stale = True
            if cpu.in_guest:
                cpu.kick()
                waits.append(cpu)
        for cpu in waits:
            self.shootdowns += 1
            cpu.out.wait()
