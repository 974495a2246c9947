"""Where tracing looks into a running machine, and the events it reports.

Owns: attaching to a booted machine (before its first program runs) so that every system
call, signal, exit, page fault and IPC message of the guest becomes an event for the
sinks (``strace.Strace``, ``timeline.Timeline``); the bookkeeping of calls in flight
(a call that sleeps and is woken with its result, or woken to run again, which is the
same call, or is cut short by a signal: ERESTARTSYS).
How it costs nothing when off: nothing of this module is on any path unless ``attach``
ran. It does not add a test to the kernel (whose image has no room, and whose syscall
path must not pay for it); instead it puts its own objects where the kernel already
calls through an indirection it owns: the dispatcher (a ``TracingDispatcher``, the same
sealed table), the personality (``TracingPersonality`` wraps the Linux one), each CPU's
fault handler, and, on the scheduler and the IPC objects, the ``wake``, ``receive`` and
``reply`` methods (wrapped on the instance: the kernel's classes are untouched).
Never: changes what the guest sees; an error of a sink is logged once, never raised into
the kernel.
Called by: the CLI (``attach``) and tests.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from cloudos.abi.dataclass import dataclass, field
from cloudos.hal import regs as X

from cloudos.abi.sysno import Sysno
from cloudos.kernel.boot import Kernel, Personality
from cloudos.kernel.ipc import Deliver, Message, Port
from cloudos.kernel.task import Process, State, Thread
from cloudos.kernel.trap import Dispatcher
from cloudos.linux.process import LinuxProcess, linux, linux_thread
from cloudos.trace.render import ERESTARTSYS

if TYPE_CHECKING:
    from cloudos.machine import Machine

RETURN = -1  # Thread.restart of a sleep whose wake-up value is the call's result (sched)


@dataclass(eq=False)
class InFlight:
    """A system call a guest thread entered and that has not returned yet."""

    nr: int
    args: tuple[int, ...]
    start: float                # time.perf_counter() at entry
    wall: float                 # time.time() at entry
    restarting: bool = False    # woken to run again: its next entry is this same call
    blocked: bool = False
    notes: dict[str, Any] = field(default_factory=dict)  # each sink's own state


class Sink(Protocol):
    """What a trace consumer hears (every method has a do-nothing default)."""

    def enter(self, thread: Thread, call: InFlight) -> None: ...
    def block(self, thread: Thread, call: InFlight) -> None: ...
    def finish(self, thread: Thread, call: InFlight, result: int | None, now: float) -> None: ...
    def signal(self, thread: Thread, info: Any, now: float) -> None: ...
    def thread_exit(self, thread: Thread, code: int, now: float, killed_by: int = 0) \
        -> None: ...
    def process_exit(self, process: Process, now: float) -> None: ...
    def fault(self, thread: Thread, address: int, now: float) -> None: ...
    def ipc(self, thread: Thread, what: str, flow: int, now: float) -> None: ...
    def server_slice(self, thread: Thread, start: float, now: float) -> None: ...
    def close(self, now: float) -> None: ...


class Observer:
    """Turns the hooks' calls into sink events; keeps the calls in flight."""

    def __init__(self, kernel: Kernel, sinks: Sequence[Sink]) -> None:
        self.kernel, self.sinks = kernel, list(sinks)
        self.calls: dict[Thread, InFlight] = {}
        self.failed = False

    def _each(self, event: Callable[[Sink], None]) -> None:
        for sink in self.sinks:
            try:
                event(sink)
            except Exception as err:  # a tracing bug must not become a kernel panic
                if not self.failed:
                    self.failed = True
                    self.kernel.log.warn(f"trace: {type(err).__name__}: {err} "
                                         "(tracing goes on, this is reported once)")

    # -- system calls ----------------------------------------------------------
    def enter(self, thread: Thread, nr: int, args: Sequence[int]) -> None:
        call = self.calls.get(thread)
        if call is not None and call.restarting and call.nr == nr:
            call.restarting = call.blocked = False  # the same call, looking again
            return
        if call is not None:  # (cannot happen: a thread is in one call at a time)
            self.end(thread, None)
        call = InFlight(nr, tuple(args), time.perf_counter(), time.time())
        self.calls[thread] = call
        self._each(lambda s: s.enter(thread, call))

    def after(self, thread: Thread) -> None:
        """The handler returned or stopped: the call ended, sleeps, or never returns."""
        call = self.calls.get(thread)
        if call is None:
            return
        if thread.state in (State.RUNNING, State.READY):
            self.end(thread, self.kernel.cpu.reg(X.UC_X86_REG_RAX))
        elif thread.state is State.BLOCKED:
            if not call.blocked:
                call.blocked = True
                self._each(lambda s: s.block(thread, call))
        else:  # exit(2), or it was killed: no result
            self.end(thread, None)
            if thread.process.zombie:
                return
            killed = linux_thread(thread).killed_by
            if call.nr == Sysno.EXIT or killed:
                code = call.args[0] & 0xFF
                self._each(lambda s: s.thread_exit(thread, code, time.perf_counter(), killed))

    def end(self, thread: Thread, result: int | None) -> None:
        call = self.calls.pop(thread, None)
        if call is not None:
            now = time.perf_counter()
            self._each(lambda s: s.finish(thread, call, result, now))

    def woken(self, thread: Thread, result: int) -> None:
        """``thread`` wakes from a sleep in a system call (before the scheduler's wake)."""
        call = self.calls.get(thread)
        if call is None or thread.state is not State.BLOCKED:
            return
        if thread.restart >= 0:  # it runs its call again: a signal's restart, or a re-look
            if thread.notify:
                self.end(thread, -ERESTARTSYS)
            else:
                call.restarting = True
        elif thread.restart == RETURN:
            self.end(thread, result)

    # -- signals and ends --------------------------------------------------------
    def signal(self, thread: Thread, info: Any) -> None:
        call = self.calls.get(thread)
        if call is not None and call.restarting and _handled(thread.process, info.signo):
            self.end(thread, -ERESTARTSYS)  # its handler runs before the call looks again
        self._each(lambda s: s.signal(thread, info, time.perf_counter()))

    def process_exit(self, process: Process) -> None:
        for thread in process.threads:
            self.end(thread, None)
        self._each(lambda s: s.process_exit(process, time.perf_counter()))

    def fault(self, thread: Thread, address: int) -> None:
        self._each(lambda s: s.fault(thread, address, time.perf_counter()))

    def ipc(self, thread: Thread, what: str, flow: int) -> None:
        self._each(lambda s: s.ipc(thread, what, flow, time.perf_counter()))

    def calling(self, thread: Thread, flow: int) -> None:
        """``thread``'s system call went to a server as the call whose reply is ``flow``
        (whether it then sleeps or is answered on the fast path)."""
        call = self.calls.get(thread)
        if call is not None and "flow" not in call.notes:
            call.notes["flow"] = flow
            self.ipc(thread, "call", flow)

    def server_slice(self, thread: Thread, start: float) -> None:
        self._each(lambda s: s.server_slice(thread, start, time.perf_counter()))

    def close(self) -> None:
        now = time.perf_counter()
        self._each(lambda s: s.close(now))


class TracingDispatcher(Dispatcher):
    """The sealed dispatcher's table, with each call's entry and end reported."""

    def __init__(self, kernel: Kernel, sealed: Dispatcher, observer: Observer) -> None:
        super().__init__(kernel, sealed.handlers, sealed.native)
        self.profiling = sealed.profiling
        self.observer = observer

    def on_syscall(self, nr: int, a0: int, a1: int, a2: int, a3: int, a4: int,
                   a5: int) -> int | None:
        thread = self.kernel.cpu.thread
        if thread.state is State.RUNNING:
            self.observer.enter(thread, nr, [a0, a1, a2, a3, a4, a5])
        result = super().on_syscall(nr, a0, a1, a2, a3, a4, a5)
        if result is not None:  # (what RAX will hold, as after() reads it)
            self.kernel.cpu.set_result(result)
        if self.slow is None:
            self.observer.after(thread)
        return result

    def finish_slow(self, thread: Thread) -> None:
        slow = self.slow is not None
        super().finish_slow(thread)
        if slow:
            self.observer.after(thread)


class TracingPersonality:
    """The Linux personality, with the signals it delivers and the exits reported."""

    def __init__(self, inner: Personality, observer: Observer) -> None:
        self.inner, self.observer = inner, observer
        self.delivering: tuple[Thread, list[tuple[int, Any]]] | None = None

    def on_fault(self, thread: Thread, sig: int, addr: int, code: int) -> bool:
        taken = self.inner.on_fault(thread, sig, addr, code)
        if not taken:  # no handler: the kernel kills with it, as strace shows before the end
            from cloudos.linux.signals import SigInfo
            self.observer.signal(thread, SigInfo(sig, code, addr=addr))
        return taken

    def before_user(self, thread: Thread) -> None:
        self.delivering = (thread, _pending(thread))
        try:
            self.inner.before_user(thread)
        finally:
            self._report_taken()

    def _report_taken(self) -> None:
        """The signals the delivery in progress took (reported before the end it may cause)."""
        if self.delivering is None:
            return
        thread, before = self.delivering
        self.delivering = None
        left = {id(info) for _, info in _pending(thread)}
        for _, info in before:
            if id(info) not in left:
                self.observer.signal(thread, info)

    def on_dying(self, process: Process) -> None:
        self.inner.on_dying(process)

    def woke_too_late(self, thread: Thread) -> None:
        self.inner.woke_too_late(thread)

    def on_exit(self, process: Process) -> None:
        self._report_taken()
        info = getattr(process.personality, "fatal_info", None)
        if info is not None and process.killed_by == info.signo and process.threads:
            self.observer.signal(process.threads[0], info)  # (the signal that ended it)
        self.observer.process_exit(process)
        self.inner.on_exit(process)

    def conflict(self, thread: Thread) -> int | None:
        return self.inner.conflict(thread)


def _handled(process: Process, sig: int) -> bool:
    """Whether ``sig`` runs a handler of ``process`` (not SIG_DFL, SIG_IGN)."""
    if not isinstance(process.personality, LinuxProcess):
        return False
    raw = linux(process).sigactions.get(sig)
    return raw is not None and int.from_bytes(raw[:8], "little") > 1


def _pending(thread: Thread) -> list[tuple[int, Any]]:
    """The signals waiting for ``thread`` (its own, then its process's), in taking order."""
    if not isinstance(thread.process.personality, LinuxProcess):
        return []
    found = []
    for pending in (linux_thread(thread).pending, linux(thread.process).pending_set):
        found += sorted(pending.infos.items())
    return found


class _ServiceTimer:
    """A server thread's ``Service``, with each of its steps reported as a slice."""

    def __init__(self, inner: Any, observer: Observer) -> None:
        self.inner, self.observer = inner, observer

    def step(self, thread: Thread) -> None:
        start = time.perf_counter()
        try:
            self.inner.step(thread)
        finally:
            self.observer.server_slice(thread, start)


def attach(machine: Machine, sinks: Sequence[Sink], timeline: bool = False) -> Observer:
    """Report ``machine``'s events to ``sinks`` from now on (before it runs a program).
    ``timeline``: also page faults, IPC messages and the servers' slices."""
    kernel = machine.kernel
    observer = Observer(kernel, sinks)
    sealed = kernel.dispatcher
    kernel.dispatcher = TracingDispatcher(kernel, sealed, observer)
    for cpu in kernel.cpus:
        cpu.syscall_handler = kernel.dispatcher.on_syscall
    kernel.personality = TracingPersonality(kernel.personality, observer)
    scheduler = kernel.scheduler
    wake = scheduler.wake

    def traced_wake(thread: Thread, result: int, front: bool = False) -> None:
        observer.woken(thread, result)
        wake(thread, result, front)

    scheduler.wake = traced_wake  # type: ignore[method-assign]
    if timeline:
        _attach_timeline(machine, observer)
    return observer


def _attach_timeline(machine: Machine, observer: Observer) -> None:
    """Page faults, and each VFS call's message to its server and the reply back."""
    kernel = machine.kernel
    for cpu in kernel.cpus:
        resolve = cpu.fault_handler

        def fault(address: int, rip: int, error: int, resolve: Any = resolve,
                  cpu: Any = cpu) -> bool:
            observer.fault(cpu.thread, address)
            return bool(resolve(address, rip, error))

        cpu.fault_handler = fault
    ipc = kernel.ipc
    receive, reply = ipc.receive, ipc.reply

    servers = {server.pid: server.thread for server in (machine.vfs, machine.net, machine.rs)}

    def traced_receive(thread: Thread, port: Port, deliver: Deliver, deadline: float | None,
                       block: bool) -> int:
        def delivered(msg: Message) -> int:
            if msg.reply is not None:
                caller = ipc.replies.get(msg.reply.obj)
                if caller is not None:
                    observer.calling(caller, msg.reply.obj)
                observer.ipc(thread, "receive", msg.reply.obj)
            return deliver(msg)
        return receive(thread, port, delivered, deadline, block)

    def traced_reply(pid: int, token: int, msg: Message) -> int:
        cap = ipc.caps.spaces.get(pid, {}).get(token)
        if cap is not None:  # (from the server's track, though the caller's CPU runs it)
            observer.ipc(servers.get(pid, kernel.cpu.thread), "reply", cap.obj)
        return reply(pid, token, msg)

    ipc.receive = traced_receive  # type: ignore[method-assign]
    ipc.reply = traced_reply  # type: ignore[method-assign]
    for server in (machine.vfs, machine.rs):
        server.thread.service = _ServiceTimer(server.thread.service, observer)
