#!/usr/bin/env python3
"""Soak: issue 11's loaded-host pipeline loop, repeated, with CPU hogs beside it.

Runs ``cloudos run -- /bin/sh -c '<ITER x: busybox 2>&1 | cat | md5sum>'`` RUNS times
with HOGS busy host processes, and prints per run and in total: pipelines whose
checksum was right, wrong checksums, segfault reports, and the run's status and time.

    python3 bench/soak_pipelines.py [--runs 10] [--iterations 100] [--hogs 2] [--cpus 1]

Exit status 0 only when every pipeline of every run printed the right checksum and
no process segfaulted. Needs busybox (Debian busybox-static) on the host.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--hogs", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    args = parser.parse_args()
    if shutil.which("busybox") is None:
        print("busybox not found (apt-get install busybox-static)", file=sys.stderr)
        return 2
    want = hashlib.md5(subprocess.run(["busybox"], capture_output=True).stdout).hexdigest()
    script = (f"i=0; while [ $i -lt {args.iterations} ]; do busybox 2>&1 | cat | md5sum; "
              "i=$((i+1)); done")
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.hogs)]
    total_good = total_bad = total_segv = 0
    try:
        print(f"{args.runs} runs x {args.iterations} pipelines, {args.hogs} CPU hogs, "
              f"--cpus {args.cpus}, load {os.getloadavg()[0]:.1f}")
        for run in range(1, args.runs + 1):
            start = time.monotonic()
            try:
                proc = subprocess.run([sys.executable, "-m", "cloudos", "run", "--cpus",
                                       str(args.cpus), "--", "/bin/sh", "-c", script],
                                      capture_output=True, text=True, timeout=args.timeout)
                status, out, err = proc.returncode, proc.stdout, proc.stderr
            except subprocess.TimeoutExpired:
                status, out, err = "timeout", "", ""
            sums = [line.split()[0] for line in out.splitlines() if line.strip()]
            good = sum(s == want for s in sums)
            bad = args.iterations - good
            segv = err.count("segfault at")
            total_good, total_bad, total_segv = total_good + good, total_bad + bad, \
                total_segv + segv
            print(f"run {run:3}: {good:4} right, {bad:3} wrong or missing, {segv:3} segfaults, "
                  f"status {status}, {time.monotonic() - start:6.1f} s, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        for hog in hogs:
            hog.kill()
    print(f"total: {total_good} right, {total_bad} wrong or missing, {total_segv} segfaults")
    return 0 if total_bad == 0 and total_segv == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
