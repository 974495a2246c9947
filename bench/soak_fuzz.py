#!/usr/bin/env python3
"""Soak CloudOS with the syscall fuzzer (tests/guest/fuzz.c) over many seeds.

Each seed is one ``cloudos run -- fuzz SEED CHILDREN CALLS`` with a host timeout.
A run is classified from its exit status and stderr:

    machine crash   "KERNEL PANIC"/"kernel panic", "Traceback", or exit status 125
                    (CloudOS's own error: a panic, or a run it refused)
    init lost       no summary line and a non-zero status (the fuzzer's parent, the
                    guest's init, died: nothing a child does may kill it)
    server crash    "server NAME crashed: ..." in the kernel log (rs restarts it; a
                    server must not crash on input)
    hung machine    the host timeout expired

and the totals are printed with every failing seed and the command that reproduces it.

    python bench/soak_fuzz.py --seeds 200 --children 20 --calls 500 [--cpus 2] [--jobs 2]
    python bench/soak_fuzz.py --sweep --seeds 1 --children 4 --calls 200 [--jobs 2]
    python bench/soak_fuzz.py --minimise SEED --children 20 --calls 500 [--only-nr NR]

``--sweep`` runs each seed once per syscall number (ONLY_NR), so that a defect in one
call is not hidden behind a crash that another call causes first.

``--minimise`` narrows a failing seed by bisection, each step one run that must fail the
same way: the first failing child (children ``0:END``, then that child alone ``K:K+1``),
its first failing call (CALLS), then that call alone (FUZZ_FROM) or that syscall number
alone (ONLY_NR); it prints the smallest command that still fails and the failing call
(from a FUZZ_TRACE=2 run, which prints the calls without issuing them).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "tests" / "guest" / "fuzz.c"
EXIT_CLOUDOS_ERROR = 125  # a kernel panic, or CloudOS refused the run (bad option)
SUMMARY = re.compile(rb"fuzz: seed \d+, (\d+) children, (\d+) calls issued, "
                     rb"(\d+) children killed by signal, (\d+) hung")
SERVER_CRASH = re.compile(rb"server (\S+) crashed: ([^\n]*)")
SWEEP = [*range(0, 463), *range(600, 613)]  # every Linux x86_64 number, CloudOS's own calls
TRACE_CALL = re.compile(rb"fuzz: child (\d+) call (\d+): syscall\((-?\d+), ([^)]*)\)")


class Failure(Enum):
    """What went wrong in one run, worst first."""

    PANIC = "machine crash"
    TRACEBACK = "traceback"
    HUNG = "hung machine"
    INIT_LOST = "init lost"
    SERVER_CRASH = "server crash"


@dataclass
class Run:
    """The outcome of one ``cloudos run`` of the fuzzer."""

    seed: int
    only_nr: int | None
    command: list[str]
    status: int | None  # None: killed at the host timeout
    stdout: bytes
    stderr: bytes
    seconds: float
    calls: int = 0
    failures: list[Failure] = field(default_factory=list)
    server_crashes: list[str] = field(default_factory=list)

    def signature(self) -> str:
        """A line that tells one defect from another (for grouping and minimising)."""
        for pattern in (rb"KERNEL PANIC: ([^\n]*)", rb"kernel panic: ([^\n]*)"):
            found = re.search(pattern, self.stderr)
            if found:
                return found.group(1).decode(errors="replace")
        if Failure.TRACEBACK in self.failures or Failure.PANIC in self.failures:
            lines = [ln for ln in self.stderr.splitlines() if ln and not ln.startswith(b" ")]
            return lines[-1].decode(errors="replace") if lines else "traceback"
        if self.server_crashes:
            return self.server_crashes[0]
        return self.failures[0].value if self.failures else "ok"


def classify(run: Run) -> Run:
    """Fill in calls, failures and server crashes from the run's output."""
    summary = SUMMARY.search(run.stdout)
    run.calls = int(summary.group(2)) if summary else 0
    if run.status is None:
        run.failures.append(Failure.HUNG)
    if run.status == EXIT_CLOUDOS_ERROR or re.search(rb"(?i)kernel panic", run.stderr):
        run.failures.append(Failure.PANIC)
    if b"Traceback" in run.stderr:
        run.failures.append(Failure.TRACEBACK)
    if summary is None and run.status not in (None, EXIT_CLOUDOS_ERROR) and not run.failures:
        run.failures.append(Failure.INIT_LOST)
    run.server_crashes = [f"server {m.group(1).decode()} crashed: {m.group(2).decode(errors='replace')}"
                          for m in SERVER_CRASH.finditer(run.stderr)]
    if run.server_crashes:
        run.failures.append(Failure.SERVER_CRASH)
    return run


def build(binary: Path) -> Path:
    """Compile fuzz.c (static, as the tests build it) unless the binary is up to date."""
    if binary.exists() and binary.stat().st_mtime >= SOURCE.stat().st_mtime:
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["gcc", "-static", "-O1", "-o", str(binary), str(SOURCE)], check=True)
    return binary


def fuzz_command(binary: Path, cloudos_args: list[str], seed: int, children: str, calls: int,
                 only_nr: int | None = None, env: dict[str, str] | None = None) -> list[str]:
    """``cloudos run`` of the fuzzer: its directory shown to the guest, ``env`` passed
    with -e (the guest gets nothing else of the host's environment)."""
    argv = [str(binary), str(seed), children, str(calls)]
    if only_nr is not None:
        argv.append(str(only_nr))
    passed = [word for name, value in (env or {}).items() for word in ("-e", f"{name}={value}")]
    return [sys.executable, "-m", "cloudos", "run", "--mount", str(binary.parent), *passed,
            *cloudos_args, "--", *argv]


def run_once(command: list[str], seed: int, timeout: float, only_nr: int | None = None) -> Run:
    start = time.monotonic()
    try:
        proc = subprocess.run(command, cwd=REPO, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
        status: int | None = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
        out, err = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        status, out, err = None, exc.stdout or b"", exc.stderr or b""
    return classify(Run(seed, only_nr, command, status, out, err, time.monotonic() - start))


def shell(command: list[str]) -> str:
    return " ".join("python3" if word == sys.executable else word for word in command)


# -- Campaign ---------------------------------------------------------------------------
def campaign(args: argparse.Namespace, binary: Path, cloudos_args: list[str]) -> int:
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    numbers: list[int | None] = list(SWEEP) if args.sweep else [args.only_nr]
    jobs = [(seed, nr) for seed in seeds for nr in numbers]
    print(f"soak_fuzz: {args.seeds} seeds from {args.first_seed} x {args.children} children "
          f"x {args.calls} calls" + (f" x {len(numbers)} numbers" if args.sweep else "")
          + f", cloudos run {' '.join(cloudos_args)}", flush=True)
    started = time.monotonic()

    def one(job: tuple[int, int | None]) -> Run:
        seed, nr = job
        command = fuzz_command(binary, cloudos_args, seed, str(args.children), args.calls, nr)
        run = run_once(command, seed, args.timeout, nr)
        state = ", ".join(f.value for f in run.failures) or "ok"
        what = f"seed {seed}" + ("" if nr is None else f" nr {nr}")
        print(f"  {what}: {run.calls} calls, {run.seconds:.1f} s, {state}", flush=True)
        return run

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(one, jobs))
    report(runs, args, time.monotonic() - started)
    return 1 if any(r.failures for r in runs) else 0


def report(runs: list[Run], args: argparse.Namespace, seconds: float) -> None:
    def count(kind: Failure) -> int:
        return sum(kind in r.failures for r in runs)

    print(f"calls issued:     {sum(r.calls for r in runs):,} in {len(runs)} runs, {seconds:.0f} s")
    print(f"machine crashes:  {count(Failure.PANIC)} (runs with a Python traceback: "
          f"{count(Failure.TRACEBACK)}; init lost: {count(Failure.INIT_LOST)})")
    print(f"server crashes:   {sum(len(r.server_crashes) for r in runs)} in "
          f"{count(Failure.SERVER_CRASH)} runs")
    print(f"hung machines:    {count(Failure.HUNG)}")
    failing = [r for r in runs if r.failures]
    if not failing:
        return
    by_signature: dict[str, list[int]] = {}
    for run in failing:
        by_signature.setdefault(run.signature(), []).append(run.seed)
    print("distinct failures:")
    for signature, seeds in sorted(by_signature.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(seeds):4} x {signature}  (seeds {', '.join(map(str, seeds[:10]))})")
    print("failing seeds (reproduce; minimise with --minimise SEED):")
    for run in failing:
        nr = "" if run.only_nr is None else f" --only-nr {run.only_nr}"
        print(f"  seed {run.seed}{nr}: {', '.join(f.value for f in run.failures)}: "
              f"{run.signature()}")
        print(f"    {shell(run.command)}")
        print(f"    python3 bench/soak_fuzz.py --minimise {run.seed} --children {args.children} "
              f"--calls {args.calls}{nr}" + (f" --cpus {args.cpus}" if args.cpus != 1 else ""))


# -- Minimising -------------------------------------------------------------------------
def same_failure(run: Run, want: Run) -> bool:
    return bool(run.failures) and run.failures[0] is want.failures[0] \
        and run.signature() == want.signature()


def smallest(lo: int, hi: int, fails: Callable[[int], bool]) -> int:
    """The smallest n in [lo, hi] with fails(n), given fails(hi) (bisection)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if fails(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


def minimise(args: argparse.Namespace, binary: Path, cloudos_args: list[str]) -> int:
    """Narrow a failing seed to one child and one call by bisection (each step a run)."""
    seed = args.minimise

    def attempt(children: str, calls: int, only_nr: int | None = args.only_nr,
                env: dict[str, str] | None = None) -> Run:
        command = fuzz_command(binary, cloudos_args, seed, children, calls, only_nr, env)
        run = run_once(command, seed, args.timeout)
        print(f"  {shell(command)}: {', '.join(f.value for f in run.failures) or 'ok'}",
              flush=True)
        return run

    first = attempt(str(args.children), args.calls)
    if not first.failures:
        print(f"seed {seed} did not fail (a race? run it again, or with load beside it)")
        return 1
    print(f"failure: {first.signature()}")

    def fails(children: str, calls: int, only_nr: int | None = args.only_nr,
              env: dict[str, str] | None = None) -> bool:
        return same_failure(attempt(children, calls, only_nr, env), first)

    end = smallest(1, args.children, lambda n: fails(f"0:{n}", args.calls))
    child = end - 1
    children = f"{child}:{end}" if fails(f"{child}:{end}", args.calls) else f"0:{end}"
    calls = smallest(1, args.calls, lambda n: fails(children, n))
    call = calls - 1
    dry = run_once(fuzz_command(binary, cloudos_args, seed, f"{child}:{end}", calls, None,
                                {"FUZZ_TRACE": "2", "FUZZ_FROM": str(call)}), seed, args.timeout)
    traced = list(TRACE_CALL.finditer(dry.stderr))
    number = int(traced[-1].group(3)) if traced else None
    env: dict[str, str] | None = None
    only_nr = args.only_nr
    if fails(f"{child}:{end}", calls, env={"FUZZ_FROM": str(call)}):
        children, env = f"{child}:{end}", {"FUZZ_FROM": str(call)}  # that call alone
    elif number is not None and fails(children, calls, number):
        only_nr = number  # that number alone, with the same arguments
    print(f"child {child}, call {call}; smallest reproducer:")
    print(f"  {shell(fuzz_command(binary, cloudos_args, seed, children, calls, only_nr, env))}")
    if traced:
        print(f"  the call: syscall({traced[-1].group(3).decode()}, {traced[-1].group(4).decode()});"
              "  /* addresses as in a run without --no-aslr: see tests/guest/fuzz.c */")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=200, help="number of seeds (default 200)")
    ap.add_argument("--first-seed", type=int, default=1, help="the first seed (default 1)")
    ap.add_argument("--children", type=int, default=20, help="children per seed (default 20)")
    ap.add_argument("--calls", type=int, default=500, help="calls per child (default 500)")
    ap.add_argument("--cpus", type=int, default=1, help="guest vCPUs (default 1)")
    ap.add_argument("--jobs", type=int, default=1, help="machines run at once (default 1)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="host seconds a run may take before it counts as hung (default 300)")
    ap.add_argument("--cloudos-arg", action="append", default=[],
                    help="an extra option for cloudos run, e.g. --cloudos-arg=--preempt-stress=3")
    ap.add_argument("--binary", type=Path,
                    default=Path(tempfile.gettempdir()) / "cloudos-fuzz" / "fuzz",
                    help="where fuzz.c is built (default $TMPDIR/cloudos-fuzz/fuzz)")
    ap.add_argument("--only-nr", type=int, metavar="NR",
                    help="issue only this syscall number (the fuzzer's ONLY_NR)")
    ap.add_argument("--sweep", action="store_true",
                    help="run every seed once per number: 0-462 and CloudOS's 600-612")
    ap.add_argument("--minimise", type=int, metavar="SEED", help="narrow a failing seed")
    args = ap.parse_args(argv)
    binary = build(args.binary)
    cloudos_args = (["--cpus", str(args.cpus)] if args.cpus != 1 else []) + args.cloudos_arg
    if args.minimise is not None:
        return minimise(args, binary, cloudos_args)
    return campaign(args, binary, cloudos_args)


if __name__ == "__main__":
    sys.exit(main())
