"""Start-up: what ``cloudos run`` loads to run a program that uses none of the rarer parts.

These modules load at their first use (a System V semaphore or message queue call, a
read of /proc/<pid> or /proc/config.gz, the first pseudo-terminal, --strace, a kernel
panic, the KVM backend), so a run that needs none of them never pays for them; an import
that loads one eagerly again adds its cost to every run (``bench/bench_startup.py``
measures the whole). The same holds for the host's modules of LOADED_BY_RARE_PATHS: the
Python standard library's ``socket`` builds its enums when imported (~8 ms), and only
--net host and --publish open host sockets.
"""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO_ROOT

LOADED_AT_FIRST_USE = (
    "cloudos.linux.sysvmsg", "cloudos.linux.sysvsem", "cloudos.servers.vfs.procinfo",
    "cloudos.linux.kconfig", "cloudos.panic", "cloudos.hal.kvm", "cloudos.trace.session",
    "cloudos.trace.strace", "cloudos.servers.tty.pty",
)
LOADED_BY_RARE_PATHS = ("socket",)


def test_true_loads_nothing_it_does_not_use(guest_backend: str) -> None:
    """(On the KVM backend, hal.kvm is the CPU itself; the rest still wait for first use.)"""
    unused = set(LOADED_AT_FIRST_USE + LOADED_BY_RARE_PATHS) \
        - ({"cloudos.hal.kvm"} if guest_backend == "kvm" else set())
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "cloudos", "run", "--",
                          "/bin/true"], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = set(re.findall(r"^import time:.*\|\s*(\S+)$", run.stderr, re.M))
    assert "cloudos.machine" in loaded  # (the pattern reads -X importtime's lines)
    assert loaded.isdisjoint(unused), sorted(loaded & unused)
