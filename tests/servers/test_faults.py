"""Fault isolation: the VFS or net server crashes on purpose, rs restarts it, clients carry on.

`--inject-crash vfs:N[:COUNT]` makes the VFS crash on its Nth call (COUNT calls in a
row), before the server sees it: the call had no effect, so the personality runs it
again on the restarted server, up to 3 times, then it fails with EIO. The kernel,
every other process and the VFS's state (open files, the file systems) survive.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out = tmp_path_factory.mktemp("faults") / "vfs_faults"
    subprocess.run(["gcc", "-static", "-O1", "-o", str(out), str(HERE / "vfs_faults.c")],
                   check=True)
    return out


def test_without_faults(program, run_cloudos) -> None:
    status, out, _ = run_cloudos([program])
    assert (status, out) == (0, b"eio=0 ok=150 other=0 file=still here\n")


def test_one_crash_is_invisible(program, run_cloudos) -> None:
    status, out, err = run_cloudos([program], extra_args=["--inject-crash", "vfs:7"])
    assert (status, out) == (0, b"eio=0 ok=150 other=0 file=still here\n"), err.decode()
    log = err.decode()
    assert "server vfs crashed: InjectedFault" in log
    assert "rs: restarted vfs (restart 1)" in log


def test_kernel_survives_100_crashes_in_a_row(program, run_cloudos) -> None:
    status, out, err = run_cloudos([program], extra_args=["--inject-crash", "vfs:1:100"])
    # Each call that fails has met 4 crashes (its first run and 3 restarts). glibc's
    # start-up makes one VFS call of its own (readlink of /proc/self/exe), which takes
    # the first 4; the loop's first 24 stats take the other 96.
    assert (status, out) == (0, b"eio=24 ok=126 other=0 file=still here\n"), err.decode()
    restarts = re.findall(r"rs: restarted vfs \(restart (\d+)\)", err.decode())
    assert len(restarts) == 100 and restarts[-1] == "100"


NET_AFTER_A_CRASH = b"""before: 5
recv after the crash: -1 ECONNRESET
send after the crash: -1 ECONNRESET
poll after the crash: 1
POLLERR 1 POLLHUP 1
close: 0
write: 5
read: 5
read: again
file: 20
"""


def test_net_server_restarts_empty(tmp_path, run_cloudos) -> None:
    """The net server's 9th call crashes it (the recv after the first bytes): rs restarts
    it with an empty stack; the sockets of the crashed one fail as reset connections do,
    a new connection on the same port works, and the VFS and the process carry on."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    program = tmp_path / "net_faults"
    subprocess.run(["gcc", "-static", "-O1", "-o", str(program), str(HERE / "net_faults.c")],
                   check=True)
    status, out, err = run_cloudos([program], extra_args=["--inject-crash", "net:9"])
    assert (status, out) == (0, NET_AFTER_A_CRASH), err.decode()
    log = err.decode()
    assert "server net crashed: InjectedFault" in log
    assert "rs: restarted net (restart 1)" in log
