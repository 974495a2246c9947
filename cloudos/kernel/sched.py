"""The scheduler: the guide's multi-level feedback queue, sleeping and waking, timers.

Owns: per-CPU run queues of 7 levels with the guide's quanta (1, 2, 4, 8, 16,
32, 64 ms), the loop that hands the CPU to threads, sleep channels (xv6's
sleep/wakeup: a thread sleeps on any hashable "channel" until someone wakes
that channel or its deadline passes), the timer heap, the idle path, CPU-time
accounting and a trace of every scheduling decision.

Policy, where the guide is silent or incomplete:
- Level 0 is real time: only SCHED_FIFO (runs until it blocks or yields) and
  SCHED_RR (1 ms round robin) threads live there, above every normal thread.
- Normal threads start at level 1; a thread that uses up its level's quantum
  is demoted one level (down to 6); a thread that wakes from a sleep is
  promoted one level (up to 1).
- Every BOOST_PERIOD (1 s) all normal threads return to level 1, so a
  demoted thread cannot starve behind a stream of interactive ones (the
  guide's algorithm lacks this).
- A slice also ends at the next timer deadline, so a thread woken by a timer
  preempts a lower-level thread within the timer's precision, not after
  the lower level's (up to 64 ms) quantum.
Never: interprets a trap (``trap.handle_trap``) or touches page tables.
Called by: ``Kernel.run`` (the loop) and system call handlers (sleep, wake, yield).
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterator

from cloudos.abi.signal import Signal
from cloudos.hal.x86 import TrapKind
from cloudos.kernel.task import Policy, State, Thread
from cloudos.kernel.trap import handle_trap

if TYPE_CHECKING:
    from cloudos.kernel.boot import Kernel

# (enum members as plain names for the hot paths: read through the class ~0.1-0.3 us each)
READY, BLOCKED = State.READY, State.BLOCKED
REAL = (Policy.FIFO, Policy.RR)
QUANTA_US = (1000, 2000, 4000, 8000, 16000, 32000, 64000)
LEVELS = len(QUANTA_US)
REALTIME, TOP, BOTTOM = 0, 1, LEVELS - 1
BOOST_PERIOD = 1.0
MIN_SLICE_US = 50        # below this a timer is treated as due now


class RunQueue:
    """The ready threads of one CPU, one FIFO per level (``Scheduler.pick`` takes them)."""

    def __init__(self) -> None:
        self.levels: list[deque[Thread]] = [deque() for _ in range(LEVELS)]

    def push(self, thread: Thread, front: bool = False) -> None:
        queue = self.levels[thread.level]
        queue.appendleft(thread) if front else queue.append(thread)

    def __iter__(self) -> Iterator[Thread]:
        for queue in self.levels:
            yield from (t for t in queue if t.state is State.READY)


class Scheduler:
    """Multi-level feedback queue scheduling over the kernel's CPUs.

    Each CPU has its run queue and runs this loop in a host thread of its own,
    under the machine's big lock (``hal.smp``), which it gives up only while
    guest code runs and while it idles. A thread joins the queue of the CPU it
    last ran on; a CPU with an empty queue takes work from the others.
    """

    def __init__(self, kernel: Kernel, clock: Callable[[], float] = time.monotonic) -> None:
        self.kernel, self.clock = kernel, clock
        self.queues = [RunQueue() for _ in kernel.cpus]
        # (deadline, tie-breaker, the sleep's wait_seq or -1, the Thread or a callback)
        self.timers: list[tuple[float, int, int, Any]] = []
        self.order = 0
        self.channels: dict[Hashable, list[Thread]] = {}
        self.epoch = clock()
        self.next_boost = self.epoch + BOOST_PERIOD
        # One tuple per stretch of a thread on a CPU: start (seconds since boot),
        # duration (seconds), pid, tid, level, why it ended (quantum, preempt, block,
        # yield, exit, trap), CPU. ``machine.Slice`` names the fields. Kept only when
        # asked for (--sched-trace sets how many): it costs host memory at every slice.
        self.trace: list[tuple[float, float, int, int, int, str, int]] = []
        self.trace_limit = 0

    def conflict(self, thread: Thread) -> int | None:
        """On a multiprocessor: the CPU running a thread that ``thread`` must not run
        beside (None: it may run now); such a thread joins that CPU's queue instead."""
        return self.kernel.personality.conflict(thread)

    # -- making threads ready, sleeping, waking --------------------------------
    def add(self, thread: Thread, front: bool = False) -> None:
        thread.state = READY
        if thread.policy in REAL:
            thread.level = REALTIME
        other = self.conflict(thread)
        if other is None:  # it may run anywhere now: an idle CPU may take it
            self.kernel.cpu.wake_others()
        else:  # it waits for what that CPU runs: it queues there
            thread.cpu = other
        self.queues[thread.cpu].push(thread, front)

    def sleep_on(self, thread: Thread, channel: Hashable, deadline: float | None = None,
                 timeout_result: int = 0, bits: int = -1, restart: int = -1) -> None:
        """Block ``thread`` until ``wakeup(channel)`` or ``deadline`` (then RAX = timeout_result).

        With ``restart`` (a system call number) the thread re-executes that call
        when woken, instead of returning a result: a wait that must look again.
        ``restart`` -2: it resumes with its registers untouched (it slept on its
        way back to user mode).
        """
        thread.state = BLOCKED
        thread.channel, thread.deadline = channel, deadline
        thread.timeout_result, thread.wait_bits, thread.restart = timeout_result, bits, restart
        thread.wait_seq += 1
        if channel is not None:
            self.channels.setdefault(channel, []).append(thread)
        if deadline is not None:
            self.order += 1
            heapq.heappush(self.timers, (deadline, self.order, thread.wait_seq, thread))

    def wakeup(self, channel: Hashable, result: int = 0, count: int = -1,
               bits: int = -1) -> int:
        """Wake up to ``count`` (-1: all) sleepers on ``channel`` whose bits match."""
        sleepers = self.channels.get(channel, [])
        woken, keep = 0, []
        for thread in sleepers:
            if thread.state is not BLOCKED or thread.channel != channel:
                continue
            if woken != count and thread.wait_bits & bits:
                self.wake(thread, result)
                woken += 1
            else:
                keep.append(thread)
        if keep:
            self.channels[channel] = keep
        else:
            self.channels.pop(channel, None)
        return woken

    def wake(self, thread: Thread, result: int, front: bool = False) -> None:
        """End ``thread``'s sleep with ``result`` in RAX; a sleeper is promoted one level."""
        if thread.state is not BLOCKED:
            return
        if self.channels.get(thread.channel) == [thread]:  # (a reply's: the thread goes now,
            del self.channels[thread.channel]  # not at the next boost, with its memory)
        thread.channel, thread.deadline = None, None
        if thread.context is None:
            thread.result = result
        elif thread.restart >= 0:
            self.kernel.cpu.restart_syscall(thread.context, thread.restart)
        elif thread.restart == -1:
            self.kernel.cpu.set_context_result(thread.context, result)
        if thread.policy not in REAL:
            thread.level, thread.used_us = max(TOP, thread.level - 1), 0.0
        self.add(thread, front)

    def yield_cpu(self, thread: Thread) -> None:
        """sched_yield: to the back of its level."""
        thread.used_us = 0.0 if thread.policy is Policy.RR else thread.used_us
        self.add(thread)

    # -- the loop ---------------------------------------------------------------
    def run(self, cpu: Any) -> None:
        """Run threads on ``cpu`` until none is ready, running, sleeping, or able to be
        woken (``Kernel.run`` calls it for each CPU)."""
        queue = self.queues[cpu.index]
        while True:
            now = self.clock()
            self._fire_timers(now)
            self._prune_timers()
            if now >= self.next_boost:
                self._boost(now)
            thread = self.pick(queue)
            if thread is not None:
                self._run_slice(thread, queue)
            elif self.timers or cpu.others_busy():  # (another CPU may wake someone)
                self._idle(cpu)
            elif not self._deadlock():
                return

    def pick(self, own: RunQueue) -> Thread | None:
        """The first ready thread of the highest level, in this CPU's queue first, then
        in the others'. One that must not run beside what another CPU runs moves to
        the back of that CPU's queue, so the two take turns in one FIFO (stale entries
        are dropped)."""
        queues = self.queues if len(self.queues) < 2 else dict.fromkeys([own, *self.queues])
        for level in range(LEVELS):
            for queue in queues:
                line = queue.levels[level]
                for thread in list(line) if line else ():
                    other = self.conflict(thread) if thread.state is State.READY else None
                    if other is None:
                        line.remove(thread)
                        if thread.state is State.READY:
                            return thread
                    elif queue is not self.queues[other]:
                        line.remove(thread)
                        thread.cpu = other
                        self.queues[other].push(thread)
        return None

    def _run_slice(self, thread: Thread, queue: RunQueue) -> None:
        kernel = self.kernel
        cpu = kernel.cpu
        if cpu.thread is not thread:
            kernel.profile.context_switches += 1
        self.enter(thread, cpu)
        if thread.notify:
            # e.g. a signal frame; or the signal killed it
            kernel.personality.before_user(thread)
            if thread.state is not State.RUNNING:
                return
        start = self.clock()
        if thread.context is None:  # a server: it runs until it waits for a message
            assert thread.service is not None
            thread.service.step(thread)
            thread.sys_time += self.clock() - start
            if thread.state is State.RUNNING:
                self.add(thread)
            return
        trap = cpu.run(thread.context, self.budget(thread, cpu, start))
        thread = cpu.thread  # (the SYSCALL hook may have given the CPU to another: on_stop)
        if thread.state is not State.TERMINATED:  # (another CPU may have ended it)
            handle_trap(kernel, thread, trap)
        self.end(thread, trap.kind, queue)

    def enter(self, thread: Thread, cpu: Any) -> None:
        cpu.thread = thread
        thread.state, thread.cpu = State.RUNNING, cpu.index

    def budget(self, thread: Thread, cpu: Any, start: float) -> int:
        """The length in µs of a slice that starts now (``cpu.slice`` keeps its start
        and the thread's system time then)."""
        cpu.slice = start, thread.sys_time
        budget = QUANTA_US[thread.level] - thread.used_us
        if thread.policy is Policy.FIFO:
            budget = QUANTA_US[BOTTOM]  # runs on; the cap only lets timers in
        if self.timers:
            budget = min(budget, (self.timers[0][0] - start) * 1e6)
        return int(max(budget, MIN_SLICE_US))

    def end(self, thread: Thread, kind: TrapKind, queue: RunQueue) -> None:
        """Account the slice that ended to ``thread`` and requeue it."""
        cpu = self.kernel.cpu
        start, system = cpu.slice
        elapsed = self.clock() - start
        thread.user_time += max(0.0, elapsed - (thread.sys_time - system))
        thread.used_us += elapsed * 1e6
        level = thread.level
        reason = self._after_slice(thread, kind, queue)
        if len(self.trace) < self.trace_limit:
            self.trace.append((start - self.epoch, elapsed, thread.process.pid, thread.tid,
                               level, reason, cpu.index))

    def _after_slice(self, thread: Thread, kind: TrapKind, queue: RunQueue) -> str:
        """Requeue a thread that is still running; say why its slice ended."""
        if thread.state is State.TERMINATED:
            return "exit"
        if thread.state is State.BLOCKED:
            return "block"
        if thread.state is State.READY:
            return "yield"
        if thread.used_us >= QUANTA_US[thread.level] and thread.policy is not Policy.FIFO:
            level = thread.level
            if thread.policy is not Policy.RR:
                thread.level = min(BOTTOM, level + 1)
            thread.used_us = 0.0
            self.add(thread)
            return "quantum"
        self.add(thread, front=True)  # a timer or a trap ended the slice early
        return "preempt" if kind is TrapKind.QUANTUM_EXPIRED else "trap"

    def call_at(self, deadline: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` (in the kernel, between slices) at ``deadline`` (alarm(2)...)."""
        self.order += 1
        heapq.heappush(self.timers, (deadline, self.order, -1, callback))

    def _fire_timers(self, now: float) -> None:
        while self.timers and self.timers[0][0] <= now + MIN_SLICE_US / 1e6:
            _, _, seq, thread = heapq.heappop(self.timers)
            if seq < 0:
                thread()
            elif thread.state is State.BLOCKED and thread.wait_seq == seq:
                thread.restart = -1  # a deadline ends the call; it is not re-executed
                self.wake(thread, thread.timeout_result)

    def _prune_timers(self) -> None:
        """Drop timers of threads that were woken some other way."""
        while self.timers:
            _, _, seq, thread = self.timers[0]
            if seq < 0 or thread.state is State.BLOCKED and thread.wait_seq == seq:
                return
            heapq.heappop(self.timers)

    def _boost(self, now: float) -> None:
        """Lift every normal thread back to the top level; forget the sleepers that were
        woken directly (a reply) or killed, which stay listed on their channel."""
        self.next_boost = now + BOOST_PERIOD
        for channel in list(self.channels):
            self.wakeup(channel, count=0)
        for thread in self.kernel.threads():
            if thread.policy not in (Policy.FIFO, Policy.RR):
                thread.level, thread.used_us = TOP, 0.0
        for queue in self.queues:
            ready = list(queue)
            for level in queue.levels:
                level.clear()
            for thread in ready:
                queue.push(thread)

    def _idle(self, cpu: Any) -> None:
        """Nothing to run: halt the CPU until the next timer (on a multiprocessor, or
        until another CPU makes a thread ready)."""
        cpu.halt(self.timers[0][0] - self.clock() if self.timers else None)

    def _deadlock(self) -> bool:
        """Threads are blocked with no timer and no device to wake them: kill them."""
        stuck = {t.process for t in self.kernel.threads() if t.state is State.BLOCKED and t.context}
        for process in stuck:
            self.kernel.log.warn(f"sched: {process.name}[{process.pid}] deadlocked: killed")
            self.kernel.kill(process, Signal.SIGKILL)
        return bool(stuck)
