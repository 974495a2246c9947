#!/usr/bin/env python3
"""Benchmark CloudOS against native execution and qemu-x86_64 (user mode).

Builds bench/compute.c, bench/getpid_loop.c, bench/pipe_pingpong.c and bench/clock_loop.c with
``gcc -static -O2`` and times each (wall clock, best of --repeat runs) under
every runner:

    native        the binary itself
    cloudos       python -m cloudos run --backend unicorn -- BINARY
    cloudos-kvm   python -m cloudos run --backend kvm -- BINARY (where /dev/kvm opens)
    qemu          qemu-x86_64 BINARY   (when found on PATH)

The getpid loop, the pipe ping-pong (N one-byte round trips between two
processes) and the clock loop (N clock_gettime through libc) also run with N=0 to measure start-up cost, so the cost of one
call or round trip is (t(N) - t(0)) / N.  A runner that fails gets a
"<runner>: failed (...)" cell instead of stopping the benchmark.

    python bench/bench.py [--quick] [--repeat K] [-n N] [--pipe-n N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
PROGRAMS = ["compute", "getpid_loop", "pipe_pingpong", "clock_loop"]


class RunFailed(Exception):
    pass


@dataclass
class Runner:
    name: str
    prefix: list[str]


def build(out_dir: Path, programs: list[str] | None = None,
          extra_flags: dict[str, list[str]] | None = None) -> dict[str, Path]:
    """Compile bench/NAME.c with gcc -static -O2 (plus extra_flags[NAME]) for each of programs
    (default PROGRAMS) into out_dir; returns {name: binary}. Exits with gcc's message on failure."""
    if shutil.which("gcc") is None:
        sys.exit("bench: gcc not found")
    bins = {}
    for name in PROGRAMS if programs is None else programs:
        out = out_dir / name
        cmd = ["gcc", "-static", "-O2", *(extra_flags or {}).get(name, []),
               "-o", str(out), str(BENCH_DIR / f"{name}.c")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench: {' '.join(cmd)} failed:\n{proc.stderr}")
        bins[name] = out
    return bins


def make_runners(spec: str, shared: str = "", python: str | None = None) -> list[Runner]:
    """Runners named in the comma-separated spec (a subset of native,cloudos,cloudos-kvm,qemu),
    in that order. CloudOS's guests are shown the directory ``shared`` (where the programs are);
    CloudOS runs under ``python`` (default: this interpreter; the tree is this repository's
    either way, as the runs start in it)."""
    wanted = spec.split(",")
    runners = []
    if "native" in wanted:
        runners.append(Runner("native", []))
    cloudos = [python or sys.executable, "-m", "cloudos", "run", *(["--mount", shared] if shared else []),
               "--backend"]
    if "cloudos" in wanted:
        runners.append(Runner("cloudos", [*cloudos, "unicorn", "--"]))
    if "cloudos-kvm" in wanted:
        sys.path.insert(0, str(REPO_ROOT))
        from cloudos.hal.kvm import unavailable
        reason = unavailable()
        if reason is None:
            runners.append(Runner("cloudos-kvm", [*cloudos, "kvm", "--"]))
        else:
            print(f"bench: no KVM ({reason}), skipping the cloudos-kvm column", file=sys.stderr)
    qemu = shutil.which("qemu-x86_64")
    if "qemu" in wanted:
        if qemu:
            runners.append(Runner("qemu", [qemu]))
        else:
            print("bench: qemu-x86_64 not found, skipping that column", file=sys.stderr)
    return runners


def time_once(cmd: list[str], timeout: float) -> tuple[float, bytes]:
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise RunFailed(f"timed out after {timeout:g}s") from None
    except OSError as exc:
        raise RunFailed(str(exc)) from None
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        last = lines[-1] if lines else "no stderr"
        raise RunFailed(f"exit {proc.returncode}: {last[:100]}")
    return elapsed, proc.stdout


def best_of(cmd: list[str], repeat: int, timeout: float, expect: bytes | None) -> tuple[float, bytes]:
    best = float("inf")
    out = b""
    for _ in range(repeat):
        elapsed, out = time_once(cmd, timeout)
        if expect is not None and out != expect:
            raise RunFailed(f"wrong output {out[:60]!r}, native gave {expect[:60]!r}")
        best = min(best, elapsed)
    return best, out


def fmt_ratio(t: float | None, ref: float | None) -> str:
    if t is None or ref is None or ref <= 0:
        return "-"
    return f"{t / ref:.2f}x"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Rows of one or two cells after the first two hold a failure message spanning the rest."""
    full = [r for r in rows if len(r) == len(headers)]
    widths = [max(len(r[i]) for r in [headers, *full]) for i in range(len(headers))]
    for r in rows:
        for i in (0, 1):
            widths[i] = max(widths[i], len(r[i]))

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i >= 2 else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r) if len(r) == len(headers) else line(r[:2]) + "  " + r[2])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    ap.add_argument("-n", "--syscalls", type=int, default=None,
                    help="getpid calls in the syscall loop (default 1000000, or 100000 with --quick)")
    ap.add_argument("--quick", action="store_true", help="N=100000 and a single repeat")
    ap.add_argument("--timeout", type=float, default=600, help="seconds allowed per run (default 600)")
    ap.add_argument("--pipe-n", type=int, default=None,
                    help="pipe round trips (default 20000, or 2000 with --quick)")
    ap.add_argument("--runners", default="native,cloudos,cloudos-kvm,qemu",
                    help="comma-separated subset of native,cloudos,cloudos-kvm,qemu")
    args = ap.parse_args(argv)
    n = args.syscalls if args.syscalls is not None else (100_000 if args.quick else 1_000_000)
    pipe_n = args.pipe_n if args.pipe_n is not None else (2_000 if args.quick else 20_000)
    repeat = 1 if args.quick else args.repeat
    if n <= 0 or repeat <= 0:
        ap.error("-n and --repeat must be positive")

    with tempfile.TemporaryDirectory(prefix="cloudos-bench-") as tmp:
        runners = make_runners(args.runners, tmp)
        bins = build(Path(tmp))
        cases = [
            ("compute", [str(bins["compute"])]),
            (f"getpid N={n}", [str(bins["getpid_loop"]), str(n)]),
            ("getpid N=0", [str(bins["getpid_loop"]), "0"]),
            (f"pipe N={pipe_n}", [str(bins["pipe_pingpong"]), str(pipe_n)]),
            ("pipe N=0", [str(bins["pipe_pingpong"]), "0"]),
            (f"clock N={n}", [str(bins["clock_loop"]), str(n)]),
            ("clock N=0", [str(bins["clock_loop"]), "0"]),
        ]
        # times[case][runner] = seconds, or the failure message
        times: dict[str, dict[str, float | str]] = {case: {} for case, _ in cases}
        native_out: dict[str, bytes] = {}
        for case, cmd in cases:
            for r in runners:
                print(f"  running {case} under {r.name} ...", file=sys.stderr, flush=True)
                try:
                    t, out = best_of(r.prefix + cmd, repeat, args.timeout, native_out.get(case))
                except RunFailed as exc:
                    times[case][r.name] = f"{r.name}: failed ({exc})"
                    continue
                times[case][r.name] = t
                if r.name == "native":
                    native_out[case] = out

    def secs(case: str, runner: str) -> float | None:
        v = times[case].get(runner)
        return v if isinstance(v, float) else None

    headers = ["benchmark", "runner", "seconds", "vs native", "vs qemu", "us/op"]
    rows = []
    per_op = {cases[1][0]: (cases[2][0], n), cases[3][0]: (cases[4][0], pipe_n),
              cases[5][0]: (cases[6][0], n)}
    for case, _ in cases:
        for r in runners:
            v = times[case][r.name]
            if isinstance(v, str):
                rows.append([case, r.name, v])
                continue
            per_call = "-"
            zero_case, count = per_op.get(case, ("", 0))
            zero = secs(zero_case, r.name) if count else None
            if zero is not None:
                per_call = f"{(v - zero) / count * 1e6:.3f}"
            rows.append([case, r.name, f"{v:.3f}", fmt_ratio(v, secs(case, "native")),
                         fmt_ratio(v, secs(case, "qemu")), per_call])
    print(f"best of {repeat} run(s), wall clock; us/op = (t(N) - t(0)) / N: one getpid, "
          "one pipe round trip (two writes, two reads, two wake-ups), or one clock_gettime "
          "(CLOCK_MONOTONIC through libc: the vDSO, no system call, where there is one)")
    print_table(headers, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
