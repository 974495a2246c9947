"""Boot, the kernel object and halt.

Owns: the guide's boot sequence (each stage logged like dmesg, with its time),
the ``Kernel`` object that ties the subsystems together (RAM, CPU, frames, the
kernel half of every address space, processes, scheduler, dispatch), process
creation and death, and halting after a panic (the report is ``cloudos.panic``).
Never: knows Linux ABI details; the personality installs its table (``install_syscalls``).
Called by: the CLI (boot, then run) and the personality (processes, threads).
"""

from __future__ import annotations

import time
from typing import MutableMapping, Protocol, Sequence

from cloudos.abi.dataclass import dataclass
from cloudos.abi.signal import Signal
from cloudos.hal.backend import cpu_class
from cloudos.hal.console import KernelLog
from cloudos.hal.x86 import KERNEL_BASE, LOW_RESERVED, STUB_PHYS, CpuContext
from cloudos.hal.ram import DEFAULT_SIZE, PhysicalMemory
from cloudos.hal.smp import Smp
from cloudos.kernel.mm.buddy import PAGE_SIZE, BuddyAllocator
from cloudos.kernel.mm.pagetable import KERNEL_SLOT, PageTables, Pte
from cloudos.kernel.cap import Cap
from cloudos.kernel.ipc import Ipc
from cloudos.kernel.mm.vm import AddressSpace
from cloudos.kernel.sched import Scheduler
from cloudos.kernel.task import Process, State, Thread
from cloudos.kernel.trap import Dispatcher, Handler, resolve_fault

VERSION = "0.1.0"


@dataclass
class Profile:
    """Kernel-wide counters (the guide's kernel_profile)."""

    page_faults: int = 0
    exceptions: int = 0
    context_switches: int = 0


class Personality(Protocol):
    """What the kernel asks of the personality that gives its processes an ABI (Linux's,
    ``cloudos.linux.personality``). These defaults are a bare kernel's (unit tests)."""

    def on_fault(self, thread: Thread, sig: int, addr: int, code: int) -> bool:
        """A CPU fault as signal ``sig``: True if a handler takes it (else the kernel kills)."""
        return False

    def before_user(self, thread: Thread) -> None:
        """Work on a thread about to return to user mode (``thread.notify``: a signal)."""
        return None

    def on_dying(self, process: Process) -> None:
        """``process`` ends; its memory is still there (a core file is made of it)."""
        return None

    def woke_too_late(self, thread: Thread) -> None:
        """``thread`` just slept in a call with ``notify`` set: a signal may be due."""
        return None

    def on_exit(self, process: Process) -> None:
        """``process`` ended: what that means to others (its parent, its orphans)."""
        return None

    def conflict(self, thread: Thread) -> int | None:
        """On a multiprocessor: the CPU running what ``thread`` must not run beside."""
        return None


class Bare(Personality):
    """No personality: a kernel on its own (unit tests), whose faults kill."""


class Kernel:
    """One booted machine: hardware, memory, processes and the scheduler."""

    def __init__(self, mem: int = DEFAULT_SIZE, log: KernelLog | None = None,
                 cpus: int = 1) -> None:
        self.log = log or KernelLog()
        self.profile = Profile()
        self.processes: dict[int, Process] = {}
        self.frame_refs: MutableMapping[int, int] = {}  # frames shared copy-on-write: owner count
        self.services: dict[str, Cap] = {}  # SEND capabilities on server ports, by server name
        self.personality: Personality = Bare()  # until the machine installs Linux's
        self.next_pid = 1
        self.boot_time = time.time()
        self._boot(mem, cpus)

    def _stage(self, name: str) -> None:
        self.log.info(f"boot: {name}")

    def _boot(self, mem: int, cpus: int) -> None:
        """The guide's boot sequence up to the scheduler; user space starts in ``run``."""
        new_cpu, what = cpu_class()
        self._stage(f"firmware: virtual x86_64 machine, {what}")
        self._stage("boot loader: kernel image loaded")
        self._stage(f"kernel entry: CloudOS {VERSION}")
        self.ram = PhysicalMemory(mem)
        self.cpus = list(map(new_cpu, [self.ram] * cpus, range(cpus)))
        self.cpu = self.cpus[0]
        self.frames = BuddyAllocator(LOW_RESERVED, self.ram.size - LOW_RESERVED)
        self.kernel_entry = self._map_kernel_half()
        for cpu in self.cpus:
            cpu.start(self.kernel_pt.root)
            cpu.fault_handler = lambda address, rip, error: resolve_fault(self, address, rip, error)
        # The CPU that takes the big lock runs the kernel.
        self.smp = Smp(self.cpus, lambda cpu: setattr(self, "cpu", cpu)) if cpus > 1 else None
        self._stage("architecture setup: GDT, IDT, TSS; paging; ring 3 entry")
        self._stage(f"memory init: {self.ram.size >> 20} MiB RAM, "
                    f"{self.frames.free_bytes >> 20} MiB in the buddy allocator")
        self.scheduler = Scheduler(self)
        self.ipc = Ipc(self)
        self.dispatcher = Dispatcher(self, ())
        self._stage("kernel data structures: process table, run queues, ports, capabilities")
        self._stage("device discovery: console (host stdio), timer")
        self._stage(f"scheduler: MLFQ, 7 levels, quanta 1-64 ms, boost every 1 s, {cpus} CPUs")

    def _map_kernel_half(self) -> int:
        """Map low memory at KERNEL_BASE, supervisor-only, in a table every process shares."""
        self.kernel_pt = PageTables(self.ram, self.frames)
        # ints: an IntFlag or'd with a frame makes a new pseudo-member each time (~0.1 ms
        # a page, ~15-35 ms of every start-up for these 256), and even or'd with each other
        # each time, ~2 us a page
        flags, nx = int(Pte.WRITABLE | Pte.GLOBAL), int(Pte.NO_EXECUTE)
        for paddr in range(0, LOW_RESERVED, PAGE_SIZE):
            pte = flags if paddr == STUB_PHYS else flags | nx
            self.kernel_pt.map(KERNEL_BASE + paddr, paddr, pte)
        return int(self.ram.words[(self.kernel_pt.root >> 3) + KERNEL_SLOT])

    def install_syscalls(self, handlers: Sequence[Handler | None],
                         native: dict[int, Handler] | None = None) -> None:
        """Seal the system call table (once, at boot)."""
        assert not self.dispatcher.handlers, "the syscall table is sealed"
        self.dispatcher = Dispatcher(self, handlers, native)
        for cpu in self.cpus:
            cpu.syscall_handler = self.dispatcher.on_syscall

    # -- processes ------------------------------------------------------------
    def new_aspace(self) -> AddressSpace:
        return AddressSpace(self.ram, self.frames, self.kernel_entry, self.cpu.flush_tlb,
                            self.cpu.invalidate_code, self.frame_refs)

    def new_process(self, name: str, parent: Process | None = None,
                    aspace: AddressSpace | None = None) -> Process:
        process = Process(self._new_id(), parent, name, aspace or self.new_aspace(), self)
        if parent is not None:
            parent.children.append(process)
            process.pgid, process.sid = parent.pgid, parent.sid
        else:
            process.pgid = process.sid = process.pid
        self.processes[process.pid] = process
        return process

    def new_thread(self, process: Process, context: CpuContext) -> Thread:
        """A thread of ``process`` (its first takes the pid as tid), ready to run."""
        tid = process.pid if not process.threads else self._new_id()
        thread = Thread(tid, process, context)
        process.threads.append(thread)
        process.state = State.READY
        self.scheduler.add(thread)
        return thread

    def _new_id(self) -> int:
        used = {t.tid for t in self.threads()} | set(self.processes)
        while self.next_pid in used:
            self.next_pid += 1
        self.next_pid += 1
        return self.next_pid - 1

    def threads(self) -> list[Thread]:
        """Every thread that has not ended."""
        return [t for p in self.processes.values() for t in p.threads
                if t.state is not State.TERMINATED]

    def exit_thread(self, thread: Thread, code: int) -> None:
        """End one thread; the last one to end takes the process with it."""
        thread.state = State.TERMINATED
        threads = thread.process.threads
        if all(t.state is State.TERMINATED for t in threads):
            self.exit_process(thread.process, code)
        elif thread.tid != thread.process.pid:  # the leader stays, as Linux's zombie leader
            threads.remove(thread)

    def exit_process(self, process: Process, code: int = 0, signal: int = 0) -> None:
        """End every thread of ``process`` and free its memory; it stays as a zombie.

        What its end means to others (its parent, its orphans) is the personality's
        ``on_exit``.
        """
        if process.state is State.TERMINATED:
            return
        process.exit_code, process.killed_by = code, signal
        process.state = State.TERMINATED
        for thread in process.threads:
            thread.state = State.TERMINATED
        self.personality.on_dying(process)
        self.release_aspace(process, process.aspace)
        self.ipc.caps.drop(process.pid)
        self.personality.on_exit(process)

    def release_aspace(self, process: Process, aspace: AddressSpace) -> None:
        """Free ``aspace`` unless another live process shares it (CLONE_VM, vfork)."""
        if not any(p is not process and not p.zombie and p.aspace is aspace
                   for p in self.processes.values()):
            aspace.destroy()

    def forget(self, process: Process) -> None:
        """Drop a zombie from the process table (its parent collected its status)."""
        if process.parent is not None:
            process.parent.children.remove(process)
        del self.processes[process.pid]

    def kill(self, process: Process, signal: int) -> None:
        """Terminate ``process`` by ``signal``."""
        self.exit_process(process, 0, signal)

    def run(self) -> None:
        """User space: run the scheduler until no thread is left."""
        self._stage("user space: entering ring 3")
        if self.smp:
            self.smp.run(self.scheduler.run)
        else:
            self.scheduler.run(self.cpu)

    def halt(self) -> None:
        """Stop the machine after a panic: nothing runs any more."""
        for process in list(self.processes.values()):
            self.exit_process(process, 0, Signal.SIGKILL)
