#!/usr/bin/env python3
"""CPython's regression tests as a conformance oracle for CloudOS's Linux ABI.

Each module (``test_os``, ``test_socket``, ``test_asyncio.test_unix_events`` ...) runs
twice with the system's ``/usr/bin/python3 -m test -v MODULE [-m PATTERN ...]``: natively,
then under ``python -m cloudos run --no-cwd``. The ``-v`` lines ``test_x (module.Class.test_x)
... ok`` (or ``FAIL``, ``ERROR``, ``skipped '...'``) are parsed and each module prints one row:

    module  native pass/fail/skip  cloudos pass/fail/skip  status

then the names of the tests that pass natively but fail, error or are missing under CloudOS
(missing: the run ended, hung or crashed before them), and those run natively but skipped
under CloudOS. A CloudOS traceback or kernel panic
on stderr is reported whole: those matter most. This is a campaign script, not a test.

    PYTHONPATH=. python3 bench/pysuite_sweep.py [--backend kvm|unicorn] [--timeout S]
        [MODULE[:PATTERN,!PATTERN...] ...]

A PATTERN picks tests (regrtest's -m: a whole test id or one part of it, such as a class),
a !PATTERN leaves them out (-i), a +RESOURCE enables one (-u network).

It needs CPython's test package for /usr/bin/python3 (Debian: libpython3.11-testsuite).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
DEFAULT_MODULES = [
    "test_os", "test_posix", "test_fcntl", "test_select", "test_selectors", "test_poll",
    "test_epoll", "test_signal", "test_subprocess",
    "test_socket:!*VSOCK*",  # (natively, the host's vsock test waits in accept for ever)
    "test_socketserver:+network",  # (the guest's own loopback)
    "test_pty", "test_mmap", "test_time", "test_threading", "test_thread",
    "test_shutil", "test_tempfile", "test_fileio", "test_pipes", "test_resource", "test_pwd",
    "test_grp", "test_stat", "test_glob", "test_pathlib", "test_asyncio.test_unix_events",
    "test_multiprocessing_forkserver:WithProcessesTestProcess,WithProcessesTestPool,"
    "WithProcessesTestQueue,WithProcessesTestConnection",
]
# "test_x (test.test_os.FileTests.test_x)"; the outcome follows " ... " on this line or,
# after a docstring line, on a later one.
START = re.compile(r"^(\w+) \(([\w.]+)\)")
OUTCOME = re.compile(r"\.\.\. (ok|FAIL|ERROR|skipped|expected failure|unexpected success)\b")
PASSED = {"ok", "expected failure", "skipped"}
# CloudOS's own failure: a panic, or a traceback through CloudOS's files (the guest's
# tracebacks name /usr/lib/python3.11 only)
CRASH = re.compile(rb"kernel panic|File \"[^\"]*/cloudos/[^\"]*\.py\"")


@dataclass
class Run:
    """One run of a module: each test's outcome, the exit status, stderr's tail."""

    outcomes: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    crash: str = ""

    def count(self, kinds: set[str]) -> int:
        return sum(1 for o in self.outcomes.values() if o in kinds)

    def summary(self) -> str:
        return (f"{self.count({'ok', 'expected failure'})}/"
                f"{self.count({'FAIL', 'ERROR', 'unexpected success'})}/"
                f"{self.count({'skipped'})}")


def parse(text: str) -> dict[str, str]:
    """Each test's outcome, keyed ``Class.test_x``."""
    outcomes: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        start = START.match(line)
        if start:
            current = ".".join(start.group(2).split(".")[-2:])
        found = OUTCOME.search(line)
        if found and current is not None:
            outcomes.setdefault(current, found.group(1))
            current = None
    return outcomes


def run(argv: list[str], timeout: float, save: Path | None) -> Run:
    try:
        proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, timeout=timeout)
        out, err, status = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out, err, status = exc.stdout or b"", exc.stderr or b"", None
    result = Run(parse((out + b"\n" + err).decode(errors="replace")), status)
    found = CRASH.search(err)
    if found:
        result.crash = err[max(0, found.start() - 2000):found.end() + 2000].decode(errors="replace")
    if save is not None:
        save.write_bytes(out + b"\n--- stderr ---\n" + err)
    return result


def test_args(spec: str) -> tuple[str, list[str]]:
    module, _, patterns = spec.partition(":")
    args = ["-m", "test", "-v", module]
    for pattern in filter(None, patterns.split(",")):
        kind = {"!": "-i", "+": "-u"}.get(pattern[0])
        args += [kind, pattern[1:]] if kind else ["-m", pattern]
    return module, args


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", default=DEFAULT_MODULES)
    parser.add_argument("--backend", default="kvm", choices=["kvm", "unicorn"])
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--save", type=Path,
                        help="write each run's output to DIR/MODULE.native and .cloudos")
    opts = parser.parse_args()
    if not Path("/usr/lib/python3.11/test/libregrtest").is_dir():
        print("CPython's test package is missing for /usr/bin/python3: "
              "apt-get install libpython3.11-testsuite", file=sys.stderr)
        return 2
    for spec in opts.modules:
        module, args = test_args(spec)
        save = {kind: opts.save / f"{module}.{kind}" if opts.save else None
                for kind in ("native", "cloudos")}
        native = run([PYTHON, *args], opts.timeout, save["native"])
        guest = run([sys.executable, "-m", "cloudos", "run", "--backend", opts.backend,
                     "--cpus", str(opts.cpus), "--no-cwd", "--timeout", str(opts.timeout),
                     "--", PYTHON, *args], opts.timeout + 60, save["cloudos"])
        # failing only under CloudOS, or run natively and skipped under CloudOS
        only = sorted(t for t, o in native.outcomes.items()
                      if o in PASSED and guest.outcomes.get(t, "missing") not in PASSED
                      or o != "skipped" and guest.outcomes.get(t) == "skipped")
        status = "same" if not only and guest.status == native.status else "DIFF"
        if guest.status is None or guest.status == 124:
            status = "HANG"
        print(f"{module:40} native {native.summary():>12} (rc {native.status})  "
              f"cloudos {guest.summary():>12} (rc {guest.status})  {status}", flush=True)
        for name in only:
            print(f"    {guest.outcomes.get(name, 'missing'):8} {name}")
        if guest.crash:
            lines = guest.crash.splitlines()
            print("    CloudOS itself failed:\n" + "\n".join("      " + ln for ln in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
