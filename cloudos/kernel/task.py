"""Processes and threads: identities, lifecycle states, and what each one owns.

Owns: pid/tid numbers, the guide's lifecycle (Created, Ready, Running, Blocked,
Terminated), parent links and exit status. Never: schedules (``sched``) or
interprets Linux semantics; the personality keeps its per-process state in
``Process.personality``.
Called by: the trap path, the scheduler, the loader and the syscall handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Hashable, Protocol

from cloudos.abi.dataclass import dataclass, field
from cloudos.abi.enums import Enum, IntEnum
from cloudos.hal.x86 import CpuContext
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
    """An address space, its threads, its place in the process tree, and how it ended."""

    pid: int
    parent: Process | None
    name: str
    aspace: AddressSpace
    kernel: Kernel = field(repr=False)
    threads: list[Thread] = field(default_factory=list)
    children: list[Process] = field(default_factory=list)
    pgid: int = 0
    sid: int = 0
    exit_code: int = 0          # the status of exit(), when not killed
    killed_by: int = 0          # the signal that ended it, 0 if it exited
    state: State = State.CREATED
    exe: bytes = b""            # the program it runs, and its arguments NUL-separated
    cmdline: bytes = b""
    personality: Any = None     # Linux state: signal actions, limits, credentials

    @property
    def ppid(self) -> int:
        return self.parent.pid if self.parent else 0

    @property
    def zombie(self) -> bool:
        return self.state is State.TERMINATED



class Policy(IntEnum):
    """Scheduling policies (Linux's SCHED_* numbers)."""

    NORMAL = 0
    FIFO = 1
    RR = 2
    BATCH = 3
    IDLE = 5


class Service(Protocol):
    """A thread of a user-space server: Python code the scheduler steps instead of a CPU."""

    def step(self, thread: Thread) -> None: ...


@dataclass(eq=False)
class Thread:
    """A flow of control: saved CPU state (or a server's step), scheduling, accounting."""

    tid: int
    process: Process
    context: CpuContext | None
    state: State = State.CREATED
    # Scheduling (kernel.sched): MLFQ level, CPU used at that level, policy.
    level: int = 1
    used_us: float = 0.0
    cpu: int = 0                # the CPU it last ran on, whose run queue it joins
    policy: Policy = Policy.NORMAL
    rt_priority: int = 0
    nice: int = 0
    # Blocking (kernel.sched.sleep_on): the channel slept on, the deadline, the
    # result delivered in RAX if the deadline passes first, and a wake-up filter.
    channel: Hashable = None
    deadline: float | None = None
    timeout_result: int = 0
    wait_bits: int = 0
    wait_seq: int = 0
    restart: int = -1           # the system call to re-execute on wake-up, if any
    user_time: float = 0.0
    sys_time: float = 0.0
    service: Service | None = None  # set for server threads, which have no CPU context
    syscall: int = -1           # the system call it last made (to restart or interrupt it)
    notify: bool = False        # the personality has work before it returns to user mode
    result: int = 0             # a server thread's wake-up value (a CPU thread's goes to RAX)
    personality: Any = None     # Linux state: signal mask, robust list
