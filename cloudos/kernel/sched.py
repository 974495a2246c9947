"""The scheduler: which thread runs next on the CPU, and for how long.

Owns: the run queue and the loop that hands the CPU to threads until no thread
is left. Today it is round-robin with one quantum; the guide's 7-level MLFQ is
issue 4 and replaces ``pick``/``requeue`` without changing the loop.
Never: interprets a trap (``trap.handle_trap`` does) or touches page tables.
Called by: ``Kernel.run``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from cloudos.hal.cpu import TrapKind
from cloudos.kernel.task import State, Thread
from cloudos.kernel.trap import handle_trap

if TYPE_CHECKING:
    from cloudos.kernel.boot import Kernel

QUANTUM_US = 4000  # the guide's quantum for priority 2, user applications


class Scheduler:
    """A FIFO run queue served by one CPU."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.ready: deque[Thread] = deque()

    def add(self, thread: Thread) -> None:
        thread.state = State.READY
        self.ready.append(thread)

    def run(self) -> None:
        """Run threads until none is ready."""
        kernel, cpu = self.kernel, self.kernel.cpu
        while self.ready:
            thread = self.ready.popleft()
            if thread.state is not State.READY:
                continue
            if kernel.current is not thread:
                kernel.profile.context_switches += 1
            thread.state = State.RUNNING
            kernel.current = thread
            while thread.state is State.RUNNING:
                trap = cpu.run(thread.context, QUANTUM_US)
                handle_trap(kernel, thread, trap)
                if trap.kind is TrapKind.QUANTUM_EXPIRED and self.ready:
                    break
            if thread.state is State.RUNNING:
                self.add(thread)
