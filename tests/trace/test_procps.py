"""Debian's procps (dynamically linked, from the host) reads the guest's /proc and shows
the guest's processes: ps -ef, ps aux, top -b -n 1, free, uptime, pgrep."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(shutil.which("ps") is None or shutil.which("top") is None,
                                reason="procps not installed")


def test_procps_shows_the_guest(run_cloudos: Any) -> None:
    script = ("sleep 5 & echo '== ps -ef'; ps -ef; echo '== ps aux'; ps aux; "
              "echo '== top'; top -b -n 1; echo '== free'; free; echo '== uptime'; uptime; "
              "echo '== pgrep'; pgrep -l sleep; kill $!; wait; true")
    status, out, err = run_cloudos(["/bin/sh", "-c", script], extra_args=["--mem", "256M"])
    assert status == 0, err
    parts = dict(re.findall(r"== ([^\n]+)\n(.*?)(?=\n== |\Z)", out.decode(), re.S))
    ef = parts["ps -ef"].splitlines()
    assert ef[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    rows = {int(line.split()[1]): line for line in ef[1:]}
    assert rows[1].endswith("/bin/sh -c " + script)  # init, its whole command line
    sleeper = next(pid for pid, line in rows.items() if line.endswith(" sleep 5"))
    assert rows[sleeper].split()[2] == "1"  # its parent is the shell
    assert any(line.endswith(" ps -ef") for line in rows.values())
    aux = [line.split(None, 10) for line in parts["ps aux"].splitlines()[1:]]
    states = {row[10]: row[7] for row in aux}
    assert states["sleep 5"].startswith("S") and states["ps aux"].startswith("R")
    assert all(int(row[4]) > 0 and int(row[5]) > 0 for row in aux)  # VSZ, RSS in KiB
    top = parts["top"]
    assert re.search(r"Tasks: +\d+ total", top) and re.search(r"MiB Mem : +\d+\.\d total", top)
    assert re.search(r"^ +1 root .* sh$", top, re.M), top  # /bin/sh, as Linux names it
    total = int(parts["free"].splitlines()[1].split()[1])
    assert 200_000 < total <= 256 * 1024  # KiB of the guest's RAM, not the host's
    assert re.match(r" ?\d\d:\d\d:\d\d up +\d+ min", parts["uptime"])
    assert parts["pgrep"].strip() == f"{sleeper} sleep"
