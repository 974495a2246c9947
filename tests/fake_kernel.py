"""A kernel without a machine, for unit tests of the scheduler, IPC and signals.

The real ``Kernel`` boots Unicorn CPUs and maps RAM; the subsystems under test use
only a few of its attributes. This one gives them a fake clock (the scheduler's
injectable ``clock``), CPUs that run a scripted ``Behaviour`` instead of guest code
and advance the clock by the time it "ran", and records kills instead of freeing
memory. Everything is deterministic: no host time, no threads, no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

from cloudos.hal.cpu import Trap, TrapKind
from cloudos.kernel.boot import Profile
from cloudos.kernel.sched import Scheduler
from cloudos.kernel.task import Process, State, Thread


class FakeClock:
    """Seconds since boot, moved only by the test and by the fake CPUs."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


OVERSHOOT = 1e-9  # seconds a hog runs past its budget

# What a thread does when a fake CPU runs it for at most ``budget_us``: it moves the
# clock on by what it used and returns the trap that ended its slice.
Behaviour = Callable[["FakeCpu", Thread, float], Trap]


@dataclass
class FakeContext:
    """Stands in for a ``CpuContext``: the thread's script and what the kernel set in it."""

    behaviour: Behaviour
    entry: None = None
    results: list[int] = field(default_factory=list)
    restarts: list[int] = field(default_factory=list)


class FakeCpu:
    """Stands in for ``hal.cpu.Cpu``: runs scripts, idles by moving the clock."""

    def __init__(self, index: int, clock: FakeClock) -> None:
        self.index, self.clock = index, clock
        self.thread: Thread | None = None
        self.slice = (0.0, 0.0)
        self.budgets: list[tuple[int, float]] = []  # (tid, budget in µs) of every run
        self.halts: list[float | None] = []

    def run(self, context: FakeContext, budget_us: float) -> Trap:
        assert self.thread is not None
        self.budgets.append((self.thread.tid, budget_us))
        return context.behaviour(self, self.thread, budget_us)

    def halt(self, timeout: float | None) -> None:
        assert timeout is not None, "idle with no timer: the loop would hang"
        self.halts.append(timeout)
        self.clock.advance(max(0.0, timeout))

    def wake_others(self) -> None:
        pass

    def others_busy(self) -> bool:
        return False

    def kick(self) -> None:
        pass

    def restart_syscall(self, context: FakeContext, nr: int) -> None:
        context.restarts.append(nr)

    def set_context_result(self, context: FakeContext, result: int) -> None:
        context.results.append(result)


class FakePersonality:
    """A bare personality: faults kill, a thread's pending work is just cleared."""

    def on_fault(self, thread: Thread, sig: int, addr: int, code: int = 0) -> bool:
        return False

    def before_user(self, thread: Thread) -> None:  # (before the Personality protocol)
        self.personality.before_user(thread)

    def on_dying(self, process: Process) -> None:
        pass

    def on_exit(self, process: Process) -> None:
        pass

    def conflict(self, thread: Thread) -> int | None:
        return None


class FakeKernel:
    """The attributes of ``Kernel`` the scheduler, IPC and signal code use."""

    def __init__(self, cpus: int = 1) -> None:
        self.clock = FakeClock()
        self.personality = FakePersonality()
        self.cpus = [FakeCpu(i, self.clock) for i in range(cpus)]
        self.cpu = self.cpus[0]
        self.profile = Profile()
        self.processes: dict[int, Process] = {}
        self.killed: list[tuple[int, int]] = []  # (pid, signal)
        self.warnings: list[str] = []
        self.log = SimpleNamespace(warn=self.warnings.append, info=lambda _m: None)
        self.dispatcher = SimpleNamespace(finish_slow=lambda _t: None)
        self.scheduler = Scheduler(self, self.clock)  # type: ignore[arg-type]
        self.scheduler.trace_limit = 1 << 20
        self.next_pid = 1

    def before_user(self, thread: Thread) -> None:  # (before the Personality protocol)
        self.personality.before_user(thread)

    def threads(self) -> list[Thread]:
        return [t for p in self.processes.values() for t in p.threads
                if t.state is not State.TERMINATED]

    def new_process(self, name: str = "p", parent: Process | None = None) -> Process:
        process = Process(self.next_pid, parent, name, None, self)  # type: ignore[arg-type]
        self.processes[process.pid] = process
        self.next_pid += 1
        return process

    def new_thread(self, process: Process, behaviour: Behaviour | None = None,
                   **fields: object) -> Thread:
        """A thread with a scripted CPU context (or, without a behaviour, none: a server's)."""
        context = FakeContext(behaviour) if behaviour else None
        thread = Thread(process.pid * 100 + len(process.threads), process,
                        context, **fields)  # type: ignore[arg-type]
        process.threads.append(thread)
        return thread

    def exit_process(self, process: Process, code: int = 0, signal: int = 0) -> None:
        self.killed.append((process.pid, signal))
        for thread in process.threads:
            thread.state = State.TERMINATED
        process.state = State.TERMINATED

    def kill(self, process: Process, signal: int) -> None:
        self.exit_process(process, 0, signal)


def hog(seconds: float) -> Behaviour:
    """Spins for ``seconds`` of CPU in total, then exits."""
    left = [seconds]

    def run(cpu: FakeCpu, thread: Thread, budget_us: float) -> Trap:
        # A real CPU stops at the first block boundary after its timer: a little late.
        # (Exactly on time, float rounding can leave the quantum a hair short of used
        # up, and the scheduler then counts the slice as preempted.)
        used = min(budget_us / 1e6 + OVERSHOOT, left[0])
        cpu.clock.advance(used)
        left[0] -= used
        if left[0] <= 1e-12:
            thread.state = State.TERMINATED
        return Trap(TrapKind.QUANTUM_EXPIRED, 0)
    return run


def napper(kernel: FakeKernel, naps: int, work_s: float, nap_s: float) -> Behaviour:
    """Works ``work_s``, then sleeps ``nap_s`` (a deadline-only sleep), ``naps`` times."""
    left = [naps]

    def run(cpu: FakeCpu, thread: Thread, budget_us: float) -> Trap:
        cpu.clock.advance(min(work_s, budget_us / 1e6))
        if left[0] == 0:
            thread.state = State.TERMINATED
            return Trap(TrapKind.SYSCALL, 0)
        left[0] -= 1
        kernel.scheduler.sleep_on(thread, None, cpu.clock() + nap_s)
        return Trap(TrapKind.SYSCALL, 0)
    return run
