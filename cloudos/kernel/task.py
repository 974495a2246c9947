"""Processes and threads: identities, lifecycle states, and what each one owns.

Owns: pid/tid numbers, the guide's lifecycle (Created, Ready, Running, Blocked,
Terminated), parent links and exit status. Never: schedules (``sched``) or
interprets Linux semantics; the personality keeps its per-process state in
``Process.personality``.
Called by: the trap path, the scheduler, the loader and the syscall handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from cloudos.hal.cpu import CpuContext
from cloudos.kernel.mm.vm import AddressSpace

if TYPE_CHECKING:
    from cloudos.kernel.boot import Kernel


class State(Enum):
    """The guide's process lifecycle."""

    CREATED = "created"
    READY = "ready"
    RUNNING = "running"
    BLOCKED = "blocked"
    TERMINATED = "terminated"


@dataclass(eq=False)
class Process:
    """An address space, its threads, and how it ended."""

    pid: int
    ppid: int
    name: str
    aspace: AddressSpace
    kernel: Kernel = field(repr=False)
    threads: list[Thread] = field(default_factory=list)
    exit_code: int = 0          # the status of exit(), when not killed
    killed_by: int = 0          # the signal that ended it, 0 if it exited
    state: State = State.CREATED
    personality: Any = None     # Linux state: signal actions, limits, credentials

    def wait_status(self) -> int:
        """The status word of wait4(): exit code or terminating signal."""
        return self.killed_by if self.killed_by else (self.exit_code & 0xFF) << 8

    def shell_status(self) -> int:
        """How a shell reports the end of this process: code, or 128 + signal."""
        return 128 + self.killed_by if self.killed_by else self.exit_code & 0xFF


@dataclass(eq=False)
class Thread:
    """A flow of control with its saved CPU state."""

    tid: int
    process: Process
    context: CpuContext
    state: State = State.CREATED
    clear_child_tid: int = 0
    personality: Any = None     # Linux state: signal mask, robust list
