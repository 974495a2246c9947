"""Direct switch: a thread that blocks or yields in a system call hands the CPU to the
next ready thread inside the SYSCALL hook, with the CPU never stopped.

Without it, each such call stops the CPU (``emu_start`` returns), the scheduler's loop
picks the next thread and starts the CPU again: for a futex or pipe ping-pong, a yield or
a wait on a child, that stop and start cost more than the rest of the call. Here the
scheduler's own steps run in the hook, in the loop's order: the slice that ended is
accounted to the caller (``Scheduler.end``), the next thread is the one ``Scheduler.pick``
would give the loop, and its slice and quantum start (``enter``, ``budget``); the CPU then
swaps the two register states (``Cpu.switch``). It is the fast path's other half (the
guide's "Fast Path": a call's reply runs the caller at once), for threads rather than
servers.

The loop keeps everything else, and the CPU stops as before, when:
- a timer is due or the periodic boost is (the loop fires them before it picks);
- nothing else is ready, or what is next needs the loop: a server thread (it runs as a
  step of the loop), a thread with a signal to take or a new thread (its first entry to
  user mode), a single-stepped one;
- the machine has more than one CPU (the loop's take-turns rule and shootdowns), or the
  CPU cannot switch in its hook (KVM, whose every system call is an exit anyway);
- the caller exited (its address space may be gone), or the call is traced
  (the tracers' dispatcher does not install it).
``CLOUDOS_DIRECT_SWITCH=0`` turns it off, to compare.
Called by: ``Dispatcher.on_syscall`` (``DirectSwitch`` is its ``on_stop``), installed by
``machine``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cloudos.hal.cpu import TrapKind
from cloudos.kernel.sched import RunQueue
from cloudos.kernel.task import State, Thread

if TYPE_CHECKING:
    from cloudos.kernel.boot import Kernel

ENABLED = os.environ.get("CLOUDOS_DIRECT_SWITCH", "1") != "0"
TIMER_SLACK = 1e-4  # a timer due this soon (seconds) is due now: the loop fires it


def install(kernel: Kernel) -> "DirectSwitch | None":
    """Make ``kernel``'s dispatcher switch in the hook (when ENABLED)."""
    if not ENABLED:
        return None
    direct = DirectSwitch(kernel)
    kernel.dispatcher.on_stop = direct
    return direct


def returning(kernel: Kernel, thread: Thread, result: int) -> None:
    """``thread``'s system call, which goes on to raise Stop, returns ``result`` (RAX):
    written into its saved context if the direct switch gives the CPU to another thread
    (no register write on the live CPU, which is the next thread's by then), else into
    the CPU's RAX now, as ``Cpu.set_result`` would."""
    direct = kernel.dispatcher.on_stop
    if isinstance(direct, DirectSwitch):
        direct.result = (thread, result)
    else:
        kernel.cpu.set_result(result)


class DirectSwitch:
    """The dispatcher's ``on_stop``; ``switches`` counts the switches made in the hook.
    ``result``: the RAX of the call that stops next, left to it by ``returning``."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.switches = 0
        self.result: tuple[Thread, int] | None = None

    def __call__(self, thread: Thread) -> int | None:
        """``thread`` stopped in its system call: run the next thread on its CPU now, and
        return that thread's RAX; None: the CPU stops and the loop decides."""
        kernel = self.kernel
        cpu = kernel.cpu
        left, self.result = self.result, None
        result = left[1] if left is not None and left[0] is thread else None
        nxt = self._switch(thread)
        if result is not None:
            if nxt is None:
                cpu.set_result(result)
            else:
                assert thread.context is not None
                cpu.set_context_result(thread.context, result)
        return None if nxt is None else int(nxt)

    def _switch(self, thread: Thread) -> int | None:
        kernel = self.kernel
        cpu, scheduler = kernel.cpu, kernel.scheduler
        now = scheduler.clock()
        timers = scheduler.timers
        if thread.state not in (State.BLOCKED, State.READY) or now >= scheduler.next_boost \
                or timers and timers[0][0] <= now + TIMER_SLACK or cpu.smp is not None:
            return None
        queue = scheduler.queues[cpu.index]
        nxt = _first_ready(queue)
        if nxt is None:
            return None
        if nxt is thread or nxt.notify or nxt.context is None \
                or not cpu.can_switch(nxt.context):
            queue.push(nxt, front=True)  # (it was first of its level: it stays first)
            return None
        scheduler.end(thread, TrapKind.SYSCALL, queue)
        kernel.profile.context_switches += 1
        self.switches += 1
        scheduler.enter(nxt, cpu)
        return cpu.switch(nxt.context, scheduler.budget(nxt, cpu, now))


def _first_ready(queue: RunQueue) -> Thread | None:
    """``Scheduler.pick`` on a uniprocessor (where nothing conflicts and this CPU's queue
    is the only one): the first ready thread of the highest level, taken off its queue;
    stale entries before it (threads no longer ready) are dropped, as pick drops them."""
    for line in queue.levels:
        while line:
            thread = line.popleft()
            if thread.state is State.READY:
                return thread
    return None
