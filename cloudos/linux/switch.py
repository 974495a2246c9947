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
import time
from typing import TYPE_CHECKING

from cloudos.hal.x86 import TrapKind
from cloudos.kernel.sched import (BLOCKED, BOTTOM, LEVELS, MIN_SLICE_US, QUANTA_US, READY, REAL,
                                  REALTIME, TOP, RunQueue)
from cloudos.kernel.task import Policy, State, Thread
from cloudos.kernel.trap import Stop

if TYPE_CHECKING:
    from cloudos.kernel.boot import Kernel

ENABLED = os.environ.get("CLOUDOS_DIRECT_SWITCH", "1") != "0"
TIMER_SLACK = 1e-4  # a timer due this soon (seconds) is due now: the loop fires it
# Enum members as plain names: on Python 3.11 each ``State.X`` or ``Policy.X`` read costs
# ~0.25 us (a global's ~0.04), and an IPC round trip or a yield made a dozen of them.
RUNNING, FIFO, RR = State.RUNNING, Policy.FIFO, Policy.RR


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


def wake(kernel: Kernel, thread: Thread, result: int) -> None:
    """``Scheduler.wake(thread, result)``, its steps inline where nothing else can be
    involved: one CPU (nothing conflicts, no other CPU to wake) and a user thread asleep
    in a system call that returns ``result`` (not one restarted). Otherwise, or with the
    direct switch off, ``Scheduler.wake`` itself; so too while a tracer watches (its
    dispatcher, which has no direct switch, wraps ``Scheduler.wake`` to see the call
    end: ``trace.observe``)."""
    context = thread.context
    scheduler = kernel.scheduler
    if not isinstance(kernel.dispatcher.on_stop, DirectSwitch) or kernel.smp is not None \
            or context is None or thread.restart != -1 or thread.state is not BLOCKED:
        scheduler.wake(thread, result)  # (the first test: ``inline``)
        return
    channels = scheduler.channels
    sleepers = channels.get(thread.channel)
    if sleepers is not None and len(sleepers) == 1 and sleepers[0] is thread:
        del channels[thread.channel]
    thread.channel, thread.deadline = None, None
    kernel.cpu.set_context_result(context, result)
    if thread.policy in REAL:
        thread.level = REALTIME
    else:
        thread.level, thread.used_us = max(TOP, thread.level - 1), 0.0
    thread.state = READY
    scheduler.queues[thread.cpu].levels[thread.level].append(thread)


def inline(kernel: Kernel) -> bool:
    """Whether a call may do the scheduler's or IPC's steps itself (``wake``, a reply's
    or a receive's, ``asleep``): the direct switch is on, and no tracer has put its own
    dispatcher in (a tracer wraps ``Scheduler.wake``, ``Ipc.receive`` and ``Ipc.reply``
    to see what they do, so they must be called)."""
    return isinstance(kernel.dispatcher.on_stop, DirectSwitch)


def asleep(kernel: Kernel, thread: Thread, entry: float) -> int:
    """The end of a system call that has just put ``thread`` to sleep: the next thread
    runs at once (``DirectSwitch.block_now``) and its RAX is returned; or, when it may
    not, Stop is raised (the usual way: the dispatcher's ``on_stop``, or the loop).
    ``entry``: when the call began (``time.perf_counter``)."""
    direct = kernel.dispatcher.on_stop
    if isinstance(direct, DirectSwitch):
        rax = direct.block_now(thread, entry)
        if rax is not None:
            return rax
    raise Stop


class DirectSwitch:
    """The dispatcher's ``on_stop``; ``switches`` counts the switches made in the hook,
    ``yields`` those of them a sched_yield made itself (``yield_now``), ``handoffs``
    those a call made to the thread it woke (``hand_to``: an IPC call's server, or the
    caller a reply_recv answered),
    ``blocks`` those a call that put its thread to sleep made itself (``block_now``).
    ``result``: the RAX of the call that stops next, left to it by ``returning``."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.switches = 0
        self.yields = 0  # of them, made by ``yield_now`` inside a sched_yield
        self.handoffs = 0  # of them, made by ``hand_to``
        self.blocks = 0  # of them, made by ``block_now`` inside a futex wait or a receive
        self.result: tuple[Thread, int] | None = None

    def __call__(self, thread: Thread) -> int | None:
        """``thread`` stopped in its system call: run the next thread on its CPU now, and
        return that thread's RAX; None: the CPU stops and the loop decides."""
        kernel = self.kernel
        cpu, scheduler = kernel.cpu, kernel.scheduler
        left, self.result = self.result, None
        result = left[1] if left is not None and left[0] is thread else None
        now = scheduler.clock()
        timers = scheduler.timers
        nxt = None
        if thread.state in (BLOCKED, READY) and now < scheduler.next_boost \
                and not (timers and timers[0][0] <= now + TIMER_SLACK) and cpu.smp is None:
            queue = scheduler.queues[cpu.index]
            nxt = _first_ready(queue)
            if nxt is not None and (nxt is thread or nxt.notify or nxt.context is None
                                    or not cpu.can_switch(nxt.context)):
                queue.push(nxt, front=True)  # (it was first of its level: it stays first)
                nxt = None
        if nxt is None:
            if result is not None:
                cpu.set_result(result)
            return None
        assert nxt.context is not None and thread.context is not None
        # (the caller's RAX goes into its saved context: the CPU is the next thread's)
        return self._run(thread, nxt, queue, result)

    def yield_now(self, thread: Thread, entry: float) -> int | None:
        """sched_yield of ``thread`` (running, at its level, which it goes to the back
        of) when the next thread may take the CPU now: the switch is made here, inside
        the call, and the RAX returned is the next thread's (the SYSCALL hook writes it
        into the CPU, which is the next thread's by then); the yielder's 0 is in its saved
        context. None: nothing was done (the call goes the usual way: ``returning``, Stop).
        ``entry``: when the call began (``time.perf_counter``): its time up to the end of
        the yielder's slice is the yielder's system time, the rest is the next thread's
        slice (the two never overlap: before, under a loaded host, a yield loop's CPU
        time, summed over its threads, came to ~1.7x the wall time it took)."""
        kernel = self.kernel
        cpu, scheduler = kernel.cpu, kernel.scheduler
        now = scheduler.clock()
        timers = scheduler.timers
        if thread.notify or cpu.smp is not None or now >= scheduler.next_boost \
                or timers and timers[0][0] <= now + TIMER_SLACK \
                or thread.process.personality.ptrace is not None:  # (its stops: the result)
            return None
        queue = scheduler.queues[cpu.index]
        nxt = _first_ready(queue, thread.level)  # (the yielder goes behind its level)
        if nxt is None:
            return None
        if nxt.notify or nxt.context is None or not cpu.can_switch(nxt.context):
            queue.push(nxt, front=True)
            return None
        assert thread.context is not None
        # ``Scheduler.yield_cpu`` on a uniprocessor (its ``add``: nothing conflicts, no
        # other CPU to wake): to the back of its level
        if thread.policy in REAL:
            thread.level = REALTIME
            if thread.policy is RR:
                thread.used_us = 0.0
        thread.state = READY
        queue.levels[thread.level].append(thread)
        thread.sys_time += time.perf_counter() - entry  # (end's split of the slice)
        self.yields += 1
        rax = self._run(thread, nxt, queue, 0)
        # The dispatcher adds the whole call's time once it returns: the part counted
        # above, and the switch, which is the next thread's slice's: taken back here.
        thread.sys_time -= time.perf_counter() - entry
        return rax

    def block_now(self, thread: Thread, entry: float) -> int | None:
        """``thread``, just put to sleep by its system call (a futex wait, a receive on
        an empty port), gives the CPU to the next ready thread here, inside the call:
        what ``__call__`` does once the call has raised Stop, without the Stop's trip
        through the dispatcher. Returns the next thread's RAX (the SYSCALL hook writes it
        into the CPU, the next thread's by then); the sleeper's RAX is written when it
        wakes. None: nothing was done (the call raises Stop, the usual way): a timer or
        the boost due, several CPUs, a signal to take or a tracer, a RAX left by
        ``returning``, or nothing ready that the CPU may switch to. ``entry``: when the
        call began, as for ``yield_now``."""
        kernel = self.kernel
        cpu, scheduler = kernel.cpu, kernel.scheduler
        now = scheduler.clock()
        timers = scheduler.timers
        if thread.notify or cpu.smp is not None or now >= scheduler.next_boost \
                or timers and timers[0][0] <= now + TIMER_SLACK or self.result is not None \
                or thread.state is not BLOCKED or thread.context is None \
                or thread.process.personality.ptrace is not None:
            return None
        queue = scheduler.queues[cpu.index]
        nxt = _first_ready(queue)
        if nxt is None:
            return None
        if nxt.notify or nxt.context is None or not cpu.can_switch(nxt.context):
            queue.push(nxt, front=True)  # (it was first of its level: it stays first)
            return None
        thread.sys_time += time.perf_counter() - entry
        self.blocks += 1
        rax = self._run(thread, nxt, queue, None)
        thread.sys_time -= time.perf_counter() - entry
        return rax

    def may_hand_to(self, thread: Thread, nxt: Thread) -> bool:
        """Whether ``thread``, running a system call that is about to block it and wake
        ``nxt`` (a sleeper), may give the CPU to ``nxt`` at once (``hand_to``): the loop
        has nothing to do first (no timer or boost due, one CPU), neither thread has a
        signal to take or a tracer, ``nxt`` is a user thread that returns a result (not
        one restarted), the CPU can switch to it, and no ready thread stands above the
        level its wake-up lifts it to (that one would run first: it still does; at that
        level it would go first, as the front of the queue)."""
        cpu, scheduler = self.kernel.cpu, self.kernel.scheduler
        now = scheduler.clock()
        timers = scheduler.timers
        if cpu.smp is not None or now >= scheduler.next_boost \
                or timers and timers[0][0] <= now + TIMER_SLACK \
                or thread.notify or thread.context is None or nxt is thread \
                or thread.process.personality.ptrace is not None \
                or nxt.notify or nxt.context is None or nxt.restart != -1 \
                or nxt.state is not BLOCKED or not cpu.can_switch(nxt.context):
            return False
        level = REALTIME if nxt.policy in REAL else max(TOP, nxt.level - 1)
        for line in scheduler.queues[cpu.index].levels[:level]:  # (its own: it goes first)
            for other in line:
                if other.state is READY:
                    return False
        return True

    def hand_to(self, thread: Thread, nxt: Thread, result: int, entry: float) -> int:
        """``thread``, blocked by now, gives the CPU to ``nxt``, which wakes with RAX
        ``result`` (``may_hand_to`` said it may): ``Scheduler.wake``'s steps, but ``nxt``
        runs now instead of joining the front of its level's queue, from which the
        direct switch (``__call__``) would take it. Returns ``nxt``'s RAX, which the
        SYSCALL hook writes into the CPU (``nxt``'s by then). ``entry``: when the call
        began (``time.perf_counter``), as for ``yield_now``."""
        kernel = self.kernel
        cpu, scheduler = kernel.cpu, kernel.scheduler
        assert nxt.context is not None
        channels = scheduler.channels
        if channels.get(nxt.channel) == [nxt]:
            del channels[nxt.channel]
        nxt.channel, nxt.deadline = None, None
        if nxt.policy in REAL:
            nxt.level = REALTIME
        else:
            nxt.level, nxt.used_us = max(TOP, nxt.level - 1), 0.0
        thread.sys_time += time.perf_counter() - entry
        self.handoffs += 1
        self._run(thread, nxt, scheduler.queues[cpu.index], None)
        thread.sys_time -= time.perf_counter() - entry
        return result

    def _run(self, thread: Thread, nxt: Thread, queue: RunQueue, result: int | None) -> int:
        """``thread``'s slice ends (``Scheduler.end`` of a thread no longer running:
        asleep, or queued already) and ``nxt`` runs from here: ``Scheduler.enter``, its
        slice and quantum (``Scheduler.budget``: it starts once the other's has ended,
        they never overlap) and the CPU's ``switch`` (``result``, not None: ``thread``'s
        RAX, into its saved context). Returns ``nxt``'s RAX. The three scheduler steps
        inline, in this one call; with the scheduler's trace on, ``end`` records it."""
        kernel = self.kernel
        cpu, scheduler = kernel.cpu, kernel.scheduler
        if scheduler.trace_limit:
            scheduler.end(thread, TrapKind.SYSCALL, queue)
            now = scheduler.clock()
        else:  # (``end``: the rest of the slice, not in system calls, is user time)
            now = scheduler.clock()  # (the one slice ends when the other starts)
            start, system = cpu.slice
            elapsed = now - start
            user = elapsed - (thread.sys_time - system)
            thread.user_time += user if user > 0.0 else 0.0
            thread.used_us += elapsed * 1e6
        kernel.profile.context_switches += 1
        self.switches += 1
        cpu.thread = nxt  # (``Scheduler.enter``)
        nxt.state, nxt.cpu = RUNNING, cpu.index
        cpu.slice = now, nxt.sys_time
        budget = QUANTA_US[BOTTOM] if nxt.policy is FIFO \
            else QUANTA_US[nxt.level] - nxt.used_us
        timers = scheduler.timers
        if timers:
            budget = min(budget, (timers[0][0] - now) * 1e6)
        assert nxt.context is not None
        return cpu.switch(nxt.context, int(max(budget, MIN_SLICE_US)), result)


def _first_ready(queue: RunQueue, last: int = LEVELS - 1) -> Thread | None:
    """``Scheduler.pick`` on a uniprocessor (where nothing conflicts and this CPU's queue
    is the only one): the first ready thread of the highest level, taken off its queue;
    stale entries before it (threads no longer ready) are dropped, as pick drops them."""
    for line in queue.levels[:last + 1]:
        while line:
            thread = line.popleft()
            if thread.state is READY:
                return thread
    return None
