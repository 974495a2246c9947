"""A machine running Linux programs: a booted kernel with the Linux personality installed.

Owns: the order of bring-up (boot, seal the syscall table, start init, run)
and the report of per-syscall statistics. Called by: the CLI and the tests.
"""

from __future__ import annotations

import json
from typing import TextIO

from cloudos.hal.ram import DEFAULT_SIZE
from cloudos.kernel.boot import Kernel, KernelLog
from cloudos.linux import process
from cloudos.linux.syscalls import sys_fork
from cloudos.linux.syscalls.sys_cloudos import native_handlers
from cloudos.linux.syscalls.table import TABLE, handlers


class Machine:
    """One virtual machine with the Linux system call table sealed into its kernel."""

    def __init__(self, mem: int = DEFAULT_SIZE, log: KernelLog | None = None) -> None:
        self.kernel = Kernel(mem, log)
        self.kernel.install_syscalls(handlers(), native_handlers())
        self.kernel.on_exit = sys_fork.on_exit

    def run(self, path: str, argv: list[str], env: dict[str, str]) -> int:
        """Run ``path`` as init until every process has ended; return init's shell status."""
        init = process.spawn(self.kernel, path, argv, env)
        self.kernel.log.info(f"init: pid {init.pid} {path}")
        self.kernel.run()
        if not init.zombie:
            raise RuntimeError("the scheduler stopped while init was still alive")
        return init.shell_status()

    def write_sched_trace(self, path: str) -> None:
        """The scheduler's decisions as Chrome/Perfetto trace-event JSON, a track per thread."""
        events: list[dict[str, object]] = []
        names = {(p.pid, t.tid): p.name for p in self.kernel.processes.values() for t in p.threads}
        for (pid, tid), name in names.items():
            events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                           "args": {"name": f"{name}[{tid}]"}})
        for s in self.kernel.scheduler.trace:
            events.append({"ph": "X", "name": f"L{s.level} {s.reason}", "cat": "sched",
                           "pid": s.pid, "tid": s.tid, "ts": round(s.start * 1e6, 1),
                           "dur": round(s.duration * 1e6, 1),
                           "args": {"level": s.level, "ended_by": s.reason}})
        with open(path, "w") as f:
            json.dump({"traceEvents": events, "displayTimeUnit": "ms"}, f)

    def print_stats(self, out: TextIO) -> None:
        d = self.kernel.dispatcher
        rows = sorted(((count, nr) for nr, count in enumerate(d.counts) if count), reverse=True)
        out.write(f"{'calls':>10} {'µs each':>9}  syscall\n")
        for count, nr in rows:
            name = TABLE[nr].name if nr < len(TABLE) else "(numbers above the table)"
            each = d.times[nr] / count * 1e6 if nr < len(d.times) else 0.0
            missing = "  ENOSYS" if nr >= len(TABLE) or TABLE[nr].handler is None else ""
            out.write(f"{count:>10} {each:>9.1f}  {name}{missing}\n")
        p = self.kernel.profile
        out.write(f"ENOSYS returned {d.enosys} times; {p.page_faults} page faults; "
                  f"{p.exceptions} exceptions; {p.context_switches} context switches\n")
