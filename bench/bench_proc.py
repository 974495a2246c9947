#!/usr/bin/env python3
"""Process and thread benchmarks: CloudOS against native execution and qemu-x86_64.

Builds these bench/ programs with ``gcc -static -O2`` (each takes N from argv[1]):

    fork_exit       N x fork(); the child _exit(0)s; the parent waitpid()s
    fork_exec       N x fork(); the child execve()s exit0 (built too); the parent waitpid()s
    thread_join     N x pthread_create + pthread_join of a thread that returns at once
    futex_pingpong  N round trips of a token between two threads via FUTEX_WAIT/WAKE_PRIVATE
    yield_switch    two threads pinned to one CPU each call sched_yield() N times

Each is timed with N and with N=0 (start-up) under every runner (native, cloudos,
qemu; best of --repeat runs), and reported as us/op = (t(N) - t(0)) / N, where
yield_switch counts 2N operations (one per context switch).  The ratio columns
compare us/op.  A runner that fails gets a "<runner>: failed (...)" cell.

    python bench/bench_proc.py [--quick] [--repeat K] [--only a,b] [--runners ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as common  # noqa: E402


@dataclass
class Bench:
    name: str
    n: int          # default N
    ops_per_n: int  # operations counted per unit of N


BENCHES = [
    Bench("fork_exit", 2000, 1),
    Bench("fork_exec", 2000, 1),
    Bench("thread_join", 2000, 1),
    Bench("futex_pingpong", 20000, 1),
    Bench("yield_switch", 20000, 2),
]
PROGRAMS = [b.name for b in BENCHES] + ["exit0"]
THREADED = ["thread_join", "futex_pingpong", "yield_switch"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    ap.add_argument("--quick", action="store_true", help="N divided by 10 and a single repeat")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed per run (default 300)")
    ap.add_argument("--runners", default="native,cloudos,qemu",
                    help="comma-separated subset of native,cloudos,qemu")
    ap.add_argument("--only", default=None,
                    help="comma-separated subset of " + ",".join(b.name for b in BENCHES))
    args = ap.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    if repeat <= 0:
        ap.error("--repeat must be positive")
    benches = BENCHES
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - {b.name for b in BENCHES}
        if unknown:
            ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        benches = [b for b in BENCHES if b.name in wanted]

    # results[bench][runner] = (t(N), t(0)) in seconds, or the failure message
    results: dict[str, dict[str, tuple[float, float] | str]] = {b.name: {} for b in benches}
    sizes = {b.name: max(1, b.n // 10) if args.quick else b.n for b in benches}

    with tempfile.TemporaryDirectory(prefix="cloudos-bench-proc-") as tmp:
        runners = common.make_runners(args.runners, tmp)  # guests see tmp (--mount)
        bins = common.build(Path(tmp), PROGRAMS, {name: ["-pthread"] for name in THREADED})
        for b in benches:
            extra = [str(bins["exit0"])] if b.name == "fork_exec" else []
            native_out: dict[int, bytes] = {}
            for r in runners:
                timed = []
                for n in (sizes[b.name], 0):
                    print(f"  running {b.name} N={n} under {r.name} ...", file=sys.stderr, flush=True)
                    cmd = r.prefix + [str(bins[b.name]), str(n), *extra]
                    try:
                        t, out = common.best_of(cmd, repeat, args.timeout, native_out.get(n))
                    except common.RunFailed as exc:
                        results[b.name][r.name] = f"{r.name}: failed (N={n}: {exc})"
                        break
                    if r.name == "native":
                        native_out[n] = out
                    timed.append(t)
                else:
                    results[b.name][r.name] = (timed[0], timed[1])

    def per_op(b: Bench, runner: str) -> float | None:
        v = results[b.name].get(runner)
        if not isinstance(v, tuple):
            return None
        return (v[0] - v[1]) / (sizes[b.name] * b.ops_per_n) * 1e6

    headers = ["benchmark", "runner", "seconds", "us/op", "vs native", "vs qemu"]
    rows = []
    for b in benches:
        label = f"{b.name} N={sizes[b.name]}"
        for r in runners:
            v = results[b.name][r.name]
            if isinstance(v, str):
                rows.append([label, r.name, v])
                continue
            us = per_op(b, r.name)
            rows.append([label, r.name, f"{v[0]:.3f}", f"{us:.2f}",
                         common.fmt_ratio(us, per_op(b, "native")), common.fmt_ratio(us, per_op(b, "qemu"))])
    print(f"best of {repeat} run(s), wall clock; seconds = t(N); us/op = (t(N) - t(0)) / ops, "
          "ops = N (2N for yield_switch); ratios compare us/op")
    common.print_table(headers, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
