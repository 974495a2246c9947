"""Fault isolation: the VFS server crashes on purpose, rs restarts it, clients carry on.

`--inject-crash vfs:N[:COUNT]` makes the VFS crash on its Nth call (COUNT calls in a
row). The caller of a crashed request gets EIO; the kernel, every other process and
the VFS's state (open files, the file systems) survive.
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


def test_one_crash_fails_one_call(program, run_cloudos) -> None:
    status, out, err = run_cloudos([program], extra_args=["--inject-crash", "vfs:7"])
    assert (status, out) == (0, b"eio=1 ok=149 other=0 file=still here\n"), err.decode()
    log = err.decode()
    assert "server vfs crashed: InjectedFault" in log
    assert "rs: restarted vfs (restart 1)" in log


def test_kernel_survives_100_crashes_in_a_row(program, run_cloudos) -> None:
    status, out, err = run_cloudos([program], extra_args=["--inject-crash", "vfs:1:100"])
    # glibc's start-up makes one VFS call of its own (readlink of /proc/self/exe), which
    # takes the first crash; the loop then sees the other 99.
    assert (status, out) == (0, b"eio=99 ok=51 other=0 file=still here\n"), err.decode()
    restarts = re.findall(r"rs: restarted vfs \(restart (\d+)\)", err.decode())
    assert len(restarts) == 100 and restarts[-1] == "100"
