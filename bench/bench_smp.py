#!/usr/bin/env python3
"""Multiprocessor benchmarks: CloudOS on 1, 2 and 4 vCPUs against native and qemu-x86_64.

Times (wall clock, best of --repeat runs) bench/par_compute.c, N workers each running
the same compute loop (no memory traffic, no system calls):

    procs N     N forked processes, which share nothing: CloudOS runs them on its
                vCPUs at the same time
    threads N   N threads of one process: on Unicorn CloudOS runs threads of one
                address space one at a time (its atomics are not atomic between vCPUs,
                see Machine._conflict), so more vCPUs should not help; on KVM (real
                atomics) they run side by side

Each row is one workload under one runner; "vs 1 CPU" is CloudOS's speed-up over
itself on one vCPU, measured in the same run. The host's CPU count bounds it (this
script prints it): 2 vCPUs on a 2-CPU host can at best halve the time, and the
host threads of the kernel (the big lock, Python's GIL) take their share.

"compute" is the run less the same runner's run with 0 iterations (start-up, the
threads' creation, exit: serial whatever the CPU count; CloudOS's ~0.2 s of it would
cap a 1e8-iteration run's speed-up near 1.45x), "cpu s" the run's host CPU time (user
+ system, children included), and the load average is printed before each runner: on
a shared host the wall-clock speed-up says as much about the neighbours as about
CloudOS. So a native row of one worker doing all the work comes first: its "compute
vs 1 CPU" is what a second worker gains natively at that moment (2.00x on an idle host).

    python bench/bench_smp.py [--quick] [--repeat K] [--iterations I] [--workers N]
                              [--backends unicorn,kvm] [--only threads]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as common  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    ap.add_argument("--quick", action="store_true", help="a single repeat")
    ap.add_argument("--iterations", type=int, default=100_000_000,
                    help="loop iterations per worker (default 1e8)")
    ap.add_argument("--workers", type=int, default=2, help="processes or threads (default 2)")
    ap.add_argument("--cpus", default="1,2,4", help="vCPU counts for CloudOS (default 1,2,4)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--backends", default="unicorn",
                    help="CloudOS's CPU backends, comma-separated: unicorn, kvm (default unicorn)")
    ap.add_argument("--only", choices=("procs", "threads"), default=None,
                    help="one workload (default both)")
    ap.add_argument("--no-reference", action="store_true", help="no native and qemu rows")
    args = ap.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    cpu_counts = [int(c) for c in args.cpus.split(",")]
    print(f"host: {os.cpu_count()} CPUs; {args.workers} workers x {args.iterations:g} iterations",
          file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="cloudos-bench-smp-") as tmp:
        prog = common.build(Path(tmp), ["par_compute"],
                            {"par_compute": ["-pthread"]})["par_compute"]
        runners = [] if args.no_reference else common.make_runners("native,qemu")
        base = [sys.executable, "-m", "cloudos", "run", "--mount", tmp, "--backend"]
        for backend in args.backends.split(","):
            name = "cloudos" if backend == "unicorn" else f"cloudos-{backend}"
            runners += [common.Runner(f"{name} --cpus {n}", [*base, backend, "--cpus", str(n),
                                                             "--"]) for n in cpu_counts]
        headers = ["workload", "runner", "seconds", "compute", "cpu s", "vs native", "vs qemu",
                   "vs 1 CPU", "compute vs 1 CPU"]
        rows: list[list[str]] = []
        for mode in (args.only,) if args.only else ("procs", "threads"):
            label = f"{mode} {args.workers}"
            cmd = [str(prog), mode, str(args.workers), str(args.iterations)]
            idle = [str(prog), mode, str(args.workers), "0"]
            ref: dict[str, tuple[float, float]] = {}
            expect = None
            for r in runners:
                print(f"  running {label} under {r.name} (load {os.getloadavg()[0]:.2f}) ...",
                      file=sys.stderr, flush=True)
                try:
                    before = _children_cpu()
                    secs, out = common.best_of(r.prefix + cmd, repeat, args.timeout, expect)
                    cpu = (_children_cpu() - before) / repeat
                    start, _ = common.best_of(r.prefix + idle, repeat, args.timeout, None)
                except common.RunFailed as err:
                    rows.append([label, r.name, f"failed: {err}"])
                    continue
                expect = expect or out
                ref[r.name] = secs, secs - start
                backend = r.name.split(" --cpus ")[0]
                one = ref.get(f"{backend} --cpus {cpu_counts[0]}") \
                    if r.name.startswith("cloudos") else None
                native = ref.get("native")
                if r.name == "native" and args.workers > 1:
                    # the host's own parallelism now: one worker doing all the work
                    alone, _ = common.best_of([str(prog), mode, "1",
                                               str(args.iterations * args.workers)],
                                              repeat, args.timeout, None)
                    rows.append([f"{mode} 1", "native, all the work", f"{alone:.3f}", "-",
                                 "-", "-", "-", "-", common.fmt_ratio(alone, secs)])
                rows.append([label, r.name, f"{secs:.3f}", f"{secs - start:.3f}", f"{cpu:.2f}",
                             common.fmt_ratio(secs, native[0] if native else None),
                             common.fmt_ratio(secs, ref["qemu"][0] if "qemu" in ref else None),
                             common.fmt_ratio(one[0], secs) if one else "-",
                             common.fmt_ratio(one[1], secs - start) if one else "-"])
        common.print_table(headers, rows)
    return 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    sys.exit(main())
