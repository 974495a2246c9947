#!/usr/bin/env python3
"""Issue 14's figures in one run: every operation beside native and qemu-x86_64, with
its target, and where a CloudOS run's time goes (--profile).

Each program is built with ``gcc -static -O2`` and timed (wall clock, best of --repeat)
at N and at 0 iterations under every runner; an operation costs (t(N) - t(0)) / ops.
Whole commands (the shell loop, start-up) are timed as they are. The last column says
whether CloudOS meets the target (``compute`` compares with native; the rest are
absolute; on cloudos-kvm, compute's target is issue 18's 1.2x). ``compute_code`` is
compute's run less the same runner's run of a program that only exits: the guest code's
own speed, start-up left out as the per-op figures leave it out. Runners as in
bench.py: native, cloudos, cloudos-kvm (where /dev/kvm opens), qemu.

    python bench/targets.py [--quick] [--repeat K] [--runners native,cloudos,qemu]
    python bench/targets.py --profile open_close [-n N]   # cProfile of CloudOS's run
    python bench/targets.py --python VENV/bin/python3 ...  # CloudOS under another Python
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as common  # noqa: E402


@dataclass
class Case:
    name: str          # the program (bench/NAME.c), or a label for a whole command
    n: int             # N; --quick divides it by 10
    target: float      # us per op, MB/s, x native, or seconds (see unit)
    unit: str = "us/op"
    ops_per_n: int = 1
    moved: int = 2     # MB/s: MiB moved per unit of N
    args: tuple[str, ...] = ()
    cloudos_only: bool = False
    kvm_target: float | None = None  # issue 18's target on KVM, where it differs


CASES = [
    Case("open_close", 20000, 50),
    Case("pipe_pingpong", 20000, 60),
    Case("ipc_pingpong", 20000, 30, cloudos_only=True),
    # the same with the server's answer and next receive as two calls (3 per round trip)
    Case("ipc_split", 20000, 30, cloudos_only=True),
    Case("file_rw", 64, 400, unit="MB/s"),
    Case("futex_pingpong", 20000, 40),
    Case("yield_switch", 20000, 10, ops_per_n=2),
    Case("thread_join", 2000, 0),
    Case("fork_exec", 2000, 2000, args=("exit0",)),
    Case("getpid_loop", 200000, 2.5),
    Case("compute", 0, 2.0, unit="x native", kvm_target=1.2),
    # compute's guest code alone: its whole run less the same runner's start-up and exit
    # (a static program that only exits), against native's.
    Case("compute_code", 0, 2.0, unit="x native", args=("exit0",), kvm_target=1.2),
    Case("shell_loop", 100, 1.0, unit="s"),
    Case("startup", 1, 0.25, unit="s"),
]
THREADED = {"thread_join", "futex_pingpong", "yield_switch"}
SHELL_LOOP = "for i in $(seq {n}); do /bin/true; done"


def commands(case: Case, runner: common.Runner, bins: dict[str, Path], n: int) -> list[str]:
    if case.name == "shell_loop":
        return [*runner.prefix, "/bin/sh", "-c", SHELL_LOOP.format(n=n)]
    if case.name == "startup":
        return [*runner.prefix, "/bin/true"]
    if case.name == "compute_code":
        return [*runner.prefix, str(bins["compute"])]
    extra = [str(bins[a]) for a in case.args]
    sized = [] if case.name == "compute" else [str(n)]
    return [*runner.prefix, str(bins[case.name]), *sized, *extra]


def measure(case: Case, runner: common.Runner, bins: dict[str, Path], n: int,
            repeat: int, timeout: float, expect: dict[int, bytes]) -> float | str:
    """The case's figure under ``runner`` (its unit), or why it failed."""
    whole = case.name in ("shell_loop", "startup", "compute")
    if case.name == "compute_code":  # the whole run, less a run of exit0
        try:
            t, out = common.best_of(commands(case, runner, bins, n), repeat, timeout,
                                    expect.get(n))
            bare, _ = common.best_of([*runner.prefix, str(bins["exit0"])], repeat, timeout,
                                     None)
        except common.RunFailed as exc:
            return f"{runner.name}: failed ({exc})"
        if runner.name == "native":
            expect[n] = out
        return t - bare
    timed = []
    for size in ((n,) if whole else (n, 0)):
        try:
            t, out = common.best_of(commands(case, runner, bins, size), repeat, timeout,
                                    expect.get(size))
        except common.RunFailed as exc:
            return f"{runner.name}: failed (N={size}: {exc})"
        if runner.name == "native":
            expect[size] = out
        timed.append(t)
    if whole:
        return timed[0]
    dt = timed[0] - timed[1]
    if case.unit == "MB/s":
        return case.moved * n * (1 << 20) / dt / 1e6 if dt > 0 else float("inf")
    return dt / (n * case.ops_per_n) * 1e6


def verdict(case: Case, value: float, native: float | None, kvm: bool = False) -> str:
    target = case.kvm_target if kvm and case.kvm_target is not None else case.target
    if not target:
        return "-"
    if case.unit == "x native":
        if native is None:
            return "?"
        value = value / native
    good = value >= target if case.unit == "MB/s" else value <= target
    return ("met" if good else "MISSED") + f" ({'>=' if case.unit == 'MB/s' else '<='} " \
        f"{target:g} {case.unit})"


def profile(case: Case, n: int, bins: dict[str, Path], shared: str, top: int) -> int:
    """Run the case under CloudOS inside cProfile; print the functions that took the time."""
    runner = common.Runner("cloudos", [sys.executable, "-m", "cProfile", "-s", "tottime", "-m",
                                       "cloudos", "run", "--mount", shared, "--"])
    cmd = commands(case, runner, bins, n)
    print(f"$ {' '.join(cmd)}", file=sys.stderr)
    proc = subprocess.run(cmd, cwd=common.REPO_ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if "function calls" in line), 0)
    print("\n".join(lines[:start]))  # the program's own output
    print("\n".join(lines[start:start + top + 6]))
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    ap.add_argument("--quick", action="store_true", help="N divided by 10, a single repeat")
    ap.add_argument("--timeout", type=float, default=600, help="seconds allowed per run")
    ap.add_argument("--runners", default="native,cloudos,qemu",
                    help="comma-separated subset of native,cloudos,cloudos-kvm,qemu")
    ap.add_argument("--only", default=None, help="comma-separated subset of "
                    + ",".join(c.name for c in CASES))
    ap.add_argument("--profile", metavar="CASE", default=None,
                    help="run CASE under CloudOS inside cProfile and print where time goes")
    ap.add_argument("-n", type=int, default=None, help="N for --profile (or every case)")
    ap.add_argument("--top", type=int, default=30, help="functions --profile prints")
    ap.add_argument("--python", default=None, metavar="PATH",
                    help="the interpreter CloudOS runs under (default this one; e.g. a clean "
                    "venv's, whose start does not run this environment's site hooks)")
    args = ap.parse_args(argv)
    by_name = {c.name: c for c in CASES}
    wanted = [args.profile] if args.profile else (args.only.split(",") if args.only else
                                                   list(by_name))
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        ap.error(f"unknown case(s): {', '.join(unknown)}")
    cases = [by_name[w] for w in wanted]
    repeat = 1 if args.quick else args.repeat
    programs = sorted({c.name for c in cases if c.name not in ("shell_loop", "startup",
                                                                "compute_code")}
                      | {a for c in cases for a in c.args}
                      | ({"compute"} if any(c.name == "compute_code" for c in cases) else set()))
    with tempfile.TemporaryDirectory(prefix="cloudos-bench-targets-") as tmp:
        bins = common.build(Path(tmp), programs, {p: ["-pthread"] for p in THREADED} | {
            "ipc_pingpong": ["-I", str(common.REPO_ROOT / "include")],
            "ipc_split": ["-I", str(common.REPO_ROOT / "include")]})

        def size(case: Case) -> int:
            if args.n is not None:
                return args.n
            return max(1, case.n // 10) if args.quick and case.n > 1 else case.n

        if args.profile:
            return profile(cases[0], size(cases[0]), bins, tmp, args.top)
        runners = common.make_runners(args.runners, tmp, args.python)
        rows = []
        for case in cases:
            n, expect = size(case), {}
            figures: dict[str, float | str] = {}
            for runner in runners:
                if case.cloudos_only and not runner.name.startswith("cloudos"):
                    continue
                print(f"  {case.name} N={n} under {runner.name} ...", file=sys.stderr,
                      flush=True)
                figures[runner.name] = measure(case, runner, bins, n, repeat, args.timeout,
                                               expect)
            native = figures.get("native")
            for name, value in figures.items():
                label = f"{case.name} N={n}"
                if isinstance(value, str):
                    rows.append([label, name, value])
                    continue
                ratio = "-"
                if isinstance(native, float):
                    ratio = common.fmt_ratio(native, value) if case.unit == "MB/s" else \
                        common.fmt_ratio(value, native)
                shown = f"{value:.3f}" if case.unit in ("s", "x native") else f"{value:.2f}"
                unit = "s" if case.unit == "x native" else case.unit
                mark = verdict(case, value, native if isinstance(native, float) else None,
                               kvm=name == "cloudos-kvm") if name.startswith("cloudos") else ""
                rows.append([label, name, shown, unit, ratio, mark])
    print(f"best of {repeat} run(s), wall clock; per-op figures are (t(N) - t(0)) / ops; "
          "ratios are slowdowns against native")
    common.print_table(["case", "runner", "figure", "unit", "vs native", "target"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
