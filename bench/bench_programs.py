#!/usr/bin/env python3
"""Real-program benchmarks: CloudOS against native execution and qemu-x86_64.

Times unmodified host programs (wall clock, best of --repeat runs) under each runner
(native, cloudos = python -m cloudos run --backend unicorn --, cloudos-kvm = the same
with --backend kvm where /dev/kvm opens, qemu = qemu-x86_64; see bench.py):

    sh loop         /bin/sh -c 'for i in $(seq 100); do /bin/true; done'
    sha256 10MiB    /bin/sh -c 'head -c 10485760 /dev/zero > /tmp/F && sha256sum /tmp/F'
                    (inside CloudOS /tmp is its tmpfs; natively it is the host's /tmp)
    sha256 file     /usr/bin/sha256sum HOSTFILE, a 10 MiB file written beforehand
                    (no shell, so qemu runs all of it)
    python3 -c pass /usr/bin/python3 -c pass with the environment PATH=/usr/bin:/bin only
    python3 squares /usr/bin/python3 -c 'print(sum(i*i for i in range(3000000)))' (the
                    interpreter's own code: issue 18's guest-code figure), same environment
    sqlite3 100k    /usr/bin/sqlite3 /tmp/F: 100,000 rows inserted in one transaction (a
                    recursive CTE), then counted and summed (inside CloudOS /tmp is its
                    tmpfs; natively the host's /tmp)
    boot to shell   python -m cloudos boot --cmdline loglevel=6 with stdin "exit\\n":
                    the kernel's own stamp on "boot: user space: entering ring 3" and the
                    wall time of the whole command (Python start-up included); natively
                    (and under qemu) sh -c exit, for scale

qemu-user does not follow execve: a child the guest shell starts runs natively on the
host (unless binfmt_misc routes x86_64 ELFs to qemu, which an x86_64 host never does by
default).  A probe checks this, and the cases that exec children get the cell
"qemu: n/a (execve leaves qemu)" instead of a number that would mostly time native code.

    python bench/bench_programs.py [--quick] [--repeat K] [--runners ...] [--only ...]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as common  # noqa: E402

MIB10 = 10 * 1024 * 1024
SHA_TMP = f"/tmp/cloudos-bench-sha-{os.getpid()}.bin"
SQLITE_DB = f"/tmp/cloudos-bench-sqlite-{os.getpid()}.db"
SQUARES = "print(sum(i*i for i in range(3000000)))"
SQLITE_SQL = ("DROP TABLE IF EXISTS t; CREATE TABLE t(a INTEGER, b INTEGER); BEGIN; "
              "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) "
              "INSERT INTO t SELECT x, x * x FROM c; COMMIT; SELECT count(*), sum(b) FROM t;")
MINIMAL_ENV = ["env", "-i", "PATH=/usr/bin:/bin"]
RING3 = re.compile(rb"^\[\s*([0-9.]+)\] boot: user space: entering ring 3", re.M)
NA_EXEC = "qemu: n/a (execve leaves qemu)"
CASES = ["sh-loop", "sha256-tmp", "sha256-file", "python3", "python3-squares", "sqlite3", "boot"]


def qemu_follows_exec(qemu: list[str]) -> bool:
    """True if a program the guest shell execs also runs under qemu: the inner sh reads its
    own /proc/PID/exe through a child, which qemu does not fake (it is not the child's pid)."""
    try:
        proc = subprocess.run(qemu + ["/bin/sh", "-c", "/bin/sh -c 'readlink /proc/$$/exe'"],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b"qemu" in proc.stdout


def boot_once(timeout: float) -> tuple[float, float]:
    """(wall seconds, kernel's ring-3 stamp) of one `cloudos boot` that reads "exit"."""
    cmd = [sys.executable, "-m", "cloudos", "boot", "--cmdline", "loglevel=6"]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=common.REPO_ROOT, input=b"exit\n",
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise common.RunFailed(f"timed out after {timeout:g}s") from None
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise common.RunFailed(f"exit {proc.returncode}: {(lines[-1] if lines else 'no stderr')[:100]}")
    m = RING3.search(proc.stderr)
    if m is None:
        raise common.RunFailed("no 'entering ring 3' line in the boot log")
    return elapsed, float(m.group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    ap.add_argument("--quick", action="store_true", help="a single repeat")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed per run (default 300)")
    ap.add_argument("--runners", default="native,cloudos,cloudos-kvm,qemu",
                    help="comma-separated subset of native,cloudos,cloudos-kvm,qemu")
    ap.add_argument("--only", default=None, help="comma-separated subset of " + ",".join(CASES))
    args = ap.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    if repeat <= 0:
        ap.error("--repeat must be positive")
    wanted = CASES if args.only is None else args.only.split(",")
    unknown = set(wanted) - set(CASES)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    runners = common.make_runners(args.runners)
    qemu = next((r for r in runners if r.name == "qemu"), None)
    follows = qemu is not None and qemu_follows_exec(qemu.prefix)
    if qemu is not None:
        print(f"  qemu-x86_64 {'follows' if follows else 'does not follow'} execve", file=sys.stderr)

    headers = ["benchmark", "runner", "seconds", "vs native", "vs qemu"]
    rows: list[list[str]] = []

    def add_rows(label: str, times: list[tuple[str, float | str]], ref: dict[str, float]) -> None:
        for name, v in times:
            if isinstance(v, str):
                rows.append([label, name, v])
            else:
                rows.append([label, name, f"{v:.3f}", common.fmt_ratio(v, ref.get("native")),
                             common.fmt_ratio(v, ref.get("qemu"))])

    with tempfile.TemporaryDirectory(prefix="cloudos-bench-programs-") as tmp:
        host_file = Path(tmp) / "10mib.bin"
        host_file.write_bytes(bytes(MIB10))
        # (key, label, command, host-side wrapper, runs children?)
        cases = [
            ("sh-loop", "sh loop: 100 x /bin/true",
             ["/bin/sh", "-c", "for i in $(seq 100); do /bin/true; done"], [], True),
            ("sha256-tmp", "sh: head 10MiB>/tmp && sha256sum",
             ["/bin/sh", "-c", f"head -c {MIB10} /dev/zero > {SHA_TMP} && sha256sum {SHA_TMP}"], [], True),
            ("sha256-file", "sha256sum 10MiB host file", ["/usr/bin/sha256sum", str(host_file)], [], False),
            ("python3", "python3 -c pass", ["/usr/bin/python3", "-c", "pass"], MINIMAL_ENV, False),
            ("python3-squares", "python3: sum of 3M squares", ["/usr/bin/python3", "-c", SQUARES],
             MINIMAL_ENV, False),
            ("sqlite3", "sqlite3: 100k inserts, /tmp db",
             ["/usr/bin/sqlite3", SQLITE_DB, SQLITE_SQL], [], False),
        ]
        try:
            for key, label, cmd, wrapper, execs in cases:
                if key not in wanted:
                    continue
                times: list[tuple[str, float | str]] = []
                ref: dict[str, float] = {}
                native_out = None
                for r in runners:
                    if r.name == "qemu" and execs and not follows:
                        times.append((r.name, NA_EXEC))
                        continue
                    prefix = r.prefix
                    if r.name.startswith("cloudos") and wrapper:
                        # -B: the host Python must not write bytecode once env -i drops
                        # PYTHONDONTWRITEBYTECODE; the guest gets exactly the minimal env.
                        prefix = [prefix[0], "-B", *prefix[1:]]
                    print(f"  running {label} under {r.name} ...", file=sys.stderr, flush=True)
                    try:
                        t, out = common.best_of(wrapper + prefix + cmd, repeat, args.timeout, native_out)
                    except common.RunFailed as exc:
                        times.append((r.name, f"{r.name}: failed ({exc})"))
                        continue
                    if r.name == "native":
                        native_out = out
                    times.append((r.name, t))
                    ref[r.name] = t
                add_rows(label, times, ref)
        finally:
            Path(SHA_TMP).unlink(missing_ok=True)
            Path(SQLITE_DB).unlink(missing_ok=True)

    if "boot" in wanted:
        label = "boot to shell, exit"
        times = []
        ref = {}
        for r in runners:
            if r.name == "cloudos":
                print("  running cloudos boot ...", file=sys.stderr, flush=True)
                try:
                    runs = [boot_once(args.timeout) for _ in range(repeat)]
                except common.RunFailed as exc:
                    times.append(("cloudos boot", f"cloudos: failed ({exc})"))
                    continue
                times.append(("cloudos: kernel stamp at ring 3", min(s for _, s in runs)))
                times.append(("cloudos: wall, boot until exit", min(w for w, _ in runs)))
            else:
                print(f"  running sh -c exit under {r.name} ...", file=sys.stderr, flush=True)
                try:
                    t, _ = common.best_of(r.prefix + ["/bin/sh", "-c", "exit"], repeat, args.timeout, None)
                except common.RunFailed as exc:
                    times.append((f"{r.name}: sh -c exit", f"{r.name}: failed ({exc})"))
                    continue
                times.append((f"{r.name}: sh -c exit", t))
                ref[r.name] = t
        add_rows(label, times, ref)

    print(f"best of {repeat} run(s), wall clock (boot: best stamp and best wall taken separately)")
    common.print_table(headers, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
