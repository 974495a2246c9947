#!/usr/bin/env python3
"""Start-up benchmark: where the wall time of ``cloudos run -- /bin/true`` goes.

Best of --repeat runs of each, wall clock:

    python start-up   python -c pass (the interpreter and site, nothing of CloudOS)
    import CloudOS    python -c 'import cloudos.cli, cloudos.machine', less python start-up
    boot              Machine() in a warm process: the kernel, servers, the guest's namespace
    program           machine.run('/bin/true') in that process: exec, run, exit, halt
    cloudos run       python -m cloudos run -- /bin/true, the whole command

beside native /bin/true and qemu-x86_64 /bin/true (when qemu is installed), for scale.
Boot and program are timed inside one probe process each run (perf_counter around the
two calls); the rest are whole commands timed from outside.

    python bench/bench_startup.py [--repeat N] [--program /bin/true] [--mount HOSTDIR]

(--mount shows HOSTDIR to the guest at its own path, e.g. --mount /tmp --program /tmp/exit0
for a static program; the backend is CLOUDOS_BACKEND's.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as common  # noqa: E402

PROBE = """
import json, sys, time
import cloudos.cli, cloudos.machine
from cloudos.hal.console import KernelLog
from cloudos.sandbox import Mount, Sandbox
sandbox = Sandbox(mounts=tuple(Mount(d, d) for d in sys.argv[2:]))
t0 = time.perf_counter()
machine = cloudos.machine.Machine(log=KernelLog(console_level=4), sandbox=sandbox)
t1 = time.perf_counter()
status = machine.run(sys.argv[1], [sys.argv[1]], {"PATH": "/usr/bin:/bin"})
t2 = time.perf_counter()
print(json.dumps({"boot": t1 - t0, "program": t2 - t1, "status": status}))
"""


def best(cmd: list[str], repeat: int) -> float:
    """The least wall time of ``repeat`` runs of ``cmd`` (which must exit 0)."""
    elapsed, _ = common.best_of(cmd, repeat, timeout=60, expect=None)
    return elapsed


def probe(program: str, mounts: list[str], repeat: int) -> tuple[float, float]:
    """Boot and program times (each the best of ``repeat``) from inside a process."""
    boots, runs = [], []
    for _ in range(repeat):
        _, out = common.time_once([sys.executable, "-c", PROBE, program, *mounts], timeout=60)
        split = json.loads(out)
        if split["status"] != 0:
            raise common.RunFailed(f"{program} exited {split['status']} in the probe")
        boots.append(split["boot"])
        runs.append(split["program"])
    return min(boots), min(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs of each (best counts)")
    parser.add_argument("--program", default="/bin/true")
    parser.add_argument("--mount", action="append", default=[], metavar="HOSTDIR",
                        help="show HOSTDIR to the guest at its own path (repeatable)")
    opts = parser.parse_args(argv)
    py = sys.executable
    start = best([py, "-c", "pass"], opts.repeat)
    imported = best([py, "-c", "import cloudos.cli, cloudos.machine"], opts.repeat)
    mounts = [os.path.abspath(d) for d in opts.mount]
    boot, program = probe(opts.program, mounts, opts.repeat)
    flags = [arg for d in mounts for arg in ("--mount", d)]
    whole = best([py, "-m", "cloudos", "run", *flags, "--", opts.program], opts.repeat)
    native = best([opts.program], opts.repeat)
    rows = [["python start-up", f"{start * 1000:.0f} ms"],
            ["import CloudOS", f"{(imported - start) * 1000:.0f} ms"],
            ["boot", f"{boot * 1000:.0f} ms"],
            ["program", f"{program * 1000:.0f} ms"],
            ["cloudos run", f"{whole * 1000:.0f} ms"],
            ["native", f"{native * 1000:.1f} ms"]]
    qemu = shutil.which("qemu-x86_64")
    if qemu:
        rows.append(["qemu-x86_64", f"{best([qemu, opts.program], opts.repeat) * 1000:.1f} ms"])
    print(f"{opts.program}, best of {opts.repeat}")
    common.print_table(["part", "wall"], rows)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (common.RunFailed, subprocess.SubprocessError) as err:
        sys.exit(f"bench_startup: {err}")
