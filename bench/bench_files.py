#!/usr/bin/env python3
"""File and IPC benchmarks: CloudOS against native execution and qemu-x86_64.

Builds these bench/ programs with ``gcc -static -O2`` (each takes N from argv[1]):

    pipe_pingpong  N round trips of one byte between two processes over two pipes
    ipc_pingpong   N CloudOS call/reply round trips between two processes over a port
                   (include/cloudos.h; CloudOS only: Linux has no such calls, so the
                   native and qemu cells are "n/a")
    file_rw        write an N MiB file in /tmp in 64 KiB blocks, read it back, unlink it
    open_close     N times open() + close() of an existing file in /tmp
    tcp_pingpong   N round trips of one byte between two processes over TCP on 127.0.0.1
    tcp_stream     N MiB sent in 64 KiB writes from one process to another over TCP on
                   127.0.0.1 (the guest's own loopback under CloudOS)

Each is timed with N and with N=0 (start-up) under every runner (native, cloudos,
qemu; best of --repeat runs). The round trips and open+close are reported in us/op
= (t(N) - t(0)) / N; file_rw in MB/s = 2 * N MiB (written, then read) / (t(N) - t(0)),
tcp_stream in MB/s = N MiB / (t(N) - t(0)).
The ratio columns are slowdowns (above 1: slower than that runner). A runner that
fails gets a "<runner>: failed (...)" cell.

    python bench/bench_files.py [--quick] [--repeat K] [--only a,b] [--runners ...]
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
    n: int           # default N
    quick_n: int     # N with --quick
    unit: str        # "us/op" or "MB/s"
    cloudos_only: bool = False
    moved: int = 2   # MB/s: the MiB moved are this many times N


BENCHES = [
    Bench("pipe_pingpong", 20000, 2000, "us/op"),
    Bench("ipc_pingpong", 20000, 2000, "us/op", cloudos_only=True),
    Bench("file_rw", 16, 16, "MB/s"),
    Bench("open_close", 20000, 2000, "us/op"),
    Bench("tcp_pingpong", 20000, 2000, "us/op"),
    Bench("tcp_stream", 64, 16, "MB/s", moved=1),
]
INCLUDE = common.REPO_ROOT / "include"


def value(b: Bench, n: int, t_n: float, t_0: float) -> float:
    """us per op, or MB/s (b.moved * n MiB moved); inf when t(N) <= t(0)."""
    dt = t_n - t_0
    if b.unit == "MB/s":
        return b.moved * n * (1 << 20) / dt / 1e6 if dt > 0 else float("inf")
    return dt / n * 1e6


def slowdown(b: Bench, v: float | None, ref: float | None) -> str:
    if v is None or ref is None:
        return "-"
    return common.fmt_ratio(ref, v) if b.unit == "MB/s" else common.fmt_ratio(v, ref)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="N divided by 10 (file_rw keeps 16 MiB) and a single repeat")
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

    sizes = {b.name: b.quick_n if args.quick else b.n for b in benches}
    # results[bench][runner] = (t(N), t(0)) in seconds, or a message for the cell
    results: dict[str, dict[str, tuple[float, float] | str]] = {b.name: {} for b in benches}

    with tempfile.TemporaryDirectory(prefix="cloudos-bench-files-") as tmp:
        runners = common.make_runners(args.runners, tmp)  # guests see tmp (--mount)
        bins = common.build(Path(tmp), [b.name for b in benches],
                            {"ipc_pingpong": ["-I", str(INCLUDE)]})
        for b in benches:
            for r in runners:
                if b.cloudos_only and r.name != "cloudos":
                    results[b.name][r.name] = "n/a"
                    continue
                timed = []
                for n in (sizes[b.name], 0):
                    print(f"  running {b.name} N={n} under {r.name} ...", file=sys.stderr, flush=True)
                    cmd = r.prefix + [str(bins[b.name]), str(n)]
                    # Every program checks its own work and prints what it did.
                    expect = {"file_rw": f"file_rw mib={n} blocks={n * 16} ok={n * 16}\n"}.get(
                        b.name, f"{b.name} n={n} ok={n}\n").encode()
                    try:
                        t, _ = common.best_of(cmd, repeat, args.timeout, expect)
                    except common.RunFailed as exc:
                        results[b.name][r.name] = f"{r.name}: failed (N={n}: {exc})"
                        break
                    timed.append(t)
                else:
                    results[b.name][r.name] = (timed[0], timed[1])

    def val(b: Bench, runner: str) -> float | None:
        v = results[b.name].get(runner)
        return value(b, sizes[b.name], *v) if isinstance(v, tuple) else None

    headers = ["benchmark", "runner", "seconds", "result", "unit", "vs native", "vs qemu"]
    rows = []
    for b in benches:
        label = f"{b.name} N={sizes[b.name]}" + (" MiB" if b.unit == "MB/s" else "")
        for r in runners:
            v = results[b.name][r.name]
            if v == "n/a":
                rows.append([label, r.name, "n/a", "n/a", b.unit, "-", "-"])
                continue
            if isinstance(v, str):
                rows.append([label, r.name, v])
                continue
            result = val(b, r.name)
            rows.append([label, r.name, f"{v[0]:.3f}", f"{result:.2f}", b.unit,
                         slowdown(b, result, val(b, "native")), slowdown(b, result, val(b, "qemu"))])
    print(f"best of {repeat} run(s), wall clock; seconds = t(N); us/op = (t(N) - t(0)) / N; "
          "MB/s = 2 * N MiB (tcp_stream: N MiB) / (t(N) - t(0)); ratios are slowdowns")
    common.print_table(headers, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
