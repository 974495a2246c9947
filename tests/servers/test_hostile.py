"""Hostile input to the VFS server and crashes in the middle of file calls (issue 11).

poll_bits and utimes crashed the VFS; their answers are Linux's (the program runs
natively too). fd_ops meets a crash of the VFS at each of its calls in turn and must
print what it prints without one: a restart leaves every call done once (close always
releases its fd, dup2 and F_DUPFD take effect), never reported failed after it acted.
raw_ipc sends the VFS malformed messages on the process's own FILE capability.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out = tmp_path_factory.mktemp("hostile") / "vfs_hostile"
    subprocess.run(["gcc", "-static", "-O1", "-o", str(out), str(HERE / "vfs_hostile.c")],
                   check=True)
    return out


@pytest.mark.parametrize("section", ["poll_bits", "utimes"])
def test_matches_linux_and_nothing_crashes(program, run_native, run_cloudos, section) -> None:
    native = run_native([program, section])
    status, out, err = run_cloudos([program, section])
    assert (status, out) == (native[0], native[1]), err.decode()
    assert b"crashed" not in err


def test_a_crash_at_any_call_leaves_it_done_once(program, run_cloudos) -> None:
    status, expected, err = run_cloudos([program, "fd_ops"])
    assert status == 0 and b"fds left open: 0" in expected, err.decode()
    crashed = 0
    for call in range(1, 56, 3):  # the section makes about 53 VFS calls
        status, out, err = run_cloudos([program, "fd_ops"],
                                       extra_args=["--inject-crash", f"vfs:{call}"])
        assert (status, out) == (0, expected), f"crash at call {call}:\n{err.decode()}"
        crashed += b"server vfs crashed: InjectedFault" in err
    assert crashed >= 17


def test_malformed_messages_are_answered_not_crashed_on(program, run_cloudos) -> None:
    status, out, err = run_cloudos([program, "raw_ipc"])
    assert status == 0, err.decode()
    assert out.decode() == """\
== raw_ipc
call tag 12345: 0, answer -38 from -2
call tag 0: 0, answer -22 from -2
call tag 3: 0, answer -22 from -2
call tag 7: 0, answer -22 from -2
call tag 162: 0, answer 0 from -2
call tag 1003: 0, answer -22 from -2
call tag -1: 0, answer -38 from -2
notifications sent 1, stat after: 0
granted again: the same token 5000 times
ports: 256, then ENOMEM
"""
    assert b"crashed" not in err and b"restarted" not in err


@pytest.fixture(scope="module")
def net_program(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    out = tmp_path_factory.mktemp("hostile") / "net_hostile"
    subprocess.run(["gcc", "-static", "-O1", "-o", str(out), str(HERE / "net_hostile.c")],
                   check=True)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_socket_calls_never_crash_the_server(net_program, run_cloudos, seed) -> None:
    """(seed 2 found SO_SNDBUFFORCE's doubling overflowing an int: the VFS crashed)"""
    status, out, err = run_cloudos([net_program, str(seed)])
    assert (status, out) == (0, b"done\n"), err.decode()
    assert b"crashed" not in err, err.decode()
