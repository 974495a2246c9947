"""The load average, as Linux computes it (kernel/sched/loadavg.c).

Owns: avenrun, the 1-, 5- and 15-minute exponentially decayed averages of the number
of runnable tasks, in Linux's fixed point (FSHIFT 11 bits): every LOAD_FREQ (5 s) a
kernel timer counts the threads that are running or ready to run and folds the count
in with Linux's decay factors. /proc/loadavg (through the machine's ProcView) and
sysinfo(2) read it.
Never: counts a blocked thread (CloudOS has no uninterruptible sleep, Linux's D state,
which Linux counts too).
Called by: the machine (``start`` when init starts), sys_proc (sysinfo), the ProcView.
"""

from __future__ import annotations

import weakref
from cloudos.kernel.boot import Kernel
from cloudos.kernel.task import State

FSHIFT = 11
FIXED_1 = 1 << FSHIFT
EXP = (1884, 2014, 2037)  # FIXED_1 / exp(5 s / 1, 5, 15 min)
LOAD_FREQ = 5.0  # seconds between samples (Linux: 5 * HZ + 1 ticks)

_averages: weakref.WeakKeyDictionary[Kernel, list[int]] = weakref.WeakKeyDictionary()


def avenrun(kernel: Kernel) -> list[int]:
    """The machine's three averages, fixed point (0 until the first sample)."""
    values = _averages.get(kernel)
    if values is None:
        values = _averages[kernel] = [0, 0, 0]
    return values


def calc_load(load: int, exp: int, active: int) -> int:
    """One step of the decay (Linux's calc_load), rounding up while the load rises."""
    new = load * exp + active * (FIXED_1 - exp)
    if active >= load:
        new += FIXED_1 - 1
    return new // FIXED_1


def runnable(kernel: Kernel) -> int:
    """Threads running or waiting for a CPU (Linux's nr_running)."""
    return sum(1 for t in kernel.threads() if t.state in (State.RUNNING, State.READY))


def sample(kernel: Kernel) -> None:
    values, active = avenrun(kernel), runnable(kernel) * FIXED_1
    values[:] = [calc_load(load, exp, active) for load, exp in zip(values, EXP)]


def start(kernel: Kernel) -> None:
    """Samples every LOAD_FREQ seconds of the scheduler's clock while threads live."""
    scheduler = kernel.scheduler

    def tick() -> None:
        sample(kernel)
        if kernel.threads():
            scheduler.call_at(scheduler.clock() + LOAD_FREQ, tick)

    scheduler.call_at(scheduler.clock() + LOAD_FREQ, tick)


def text(kernel: Kernel) -> str:
    """The three averages as /proc/loadavg prints them ("0.42 0.10 0.03")."""
    def one(x: int) -> str:
        x += FIXED_1 // 200  # rounded to hundredths, as Linux's loadavg_proc_show
        return f"{x >> FSHIFT}.{((x & (FIXED_1 - 1)) * 100) >> FSHIFT:02d}"
    return " ".join(one(v) for v in avenrun(kernel))
